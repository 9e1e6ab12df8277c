package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestEveryVariableIsDocumented: each setting has its row in the README's configuration table
// (flag and variable) and its line, set or commented out, in the .deb's /etc/default/second-hand;
// the notification settings are also in the compose file, commented out, for users to fill in.
func TestEveryVariableIsDocumented(t *testing.T) {
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	readme, defaults, compose := read("../../README.md"), read("deb/second-hand.default"), read("../../docker/docker-compose.yml")
	// --retention is the flag before --retention-raw, kept so that an upgrade keeps starting,
	// and no longer offered to new users.
	old := map[string]bool{"retention": true}
	for _, o := range options(&config{}) {
		if old[o.flag] {
			continue
		}
		if !strings.Contains(readme, "| `--"+o.flag+"` | `"+o.env+"` |") {
			t.Errorf("the README's configuration table has no row for --%s (%s)", o.flag, o.env)
		}
		if !regexp.MustCompile(`(?m)^#?` + o.env + `=`).MatchString(defaults) {
			t.Errorf("/etc/default/second-hand has no line for %s", o.env)
		}
		if strings.HasPrefix(o.env, "SECOND_HAND_NOTIFY") || o.env == "SECOND_HAND_PUBLIC_URL" {
			if !regexp.MustCompile(`(?m)^\s*# ` + o.env + `: \S`).MatchString(compose) {
				t.Errorf("docker-compose.yml has no commented %s", o.env)
			}
		}
	}
}
