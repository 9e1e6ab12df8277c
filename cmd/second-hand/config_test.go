package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || !c.Chrony.IsAuto() || c.Refresh != 10*time.Second || c.Reuse != 5*time.Second || c.Timeout != time.Second ||
		c.Retries != 2 || c.LogLevel != slog.LevelInfo || c.Healthcheck {
		t.Errorf("defaults = %+v", c)
	}
}

func TestConfigFlagBeatsEnvironment(t *testing.T) {
	c, err := parseConfig([]string{"--refresh", "30s", "--chrony=/run/chrony/chronyd.sock"},
		env(map[string]string{"SECOND_HAND_REFRESH": "5s", "SECOND_HAND_TIMEOUT": "250ms", "SECOND_HAND_LOG_LEVEL": "debug"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Refresh != 30*time.Second || c.Reuse != 15*time.Second || c.Timeout != 250*time.Millisecond || c.LogLevel != slog.LevelDebug ||
		c.Chrony.String() != "unix:///run/chrony/chronyd.sock" {
		t.Errorf("config = %+v", c)
	}
}

func TestConfigErrorsNameTheFlagAndTheForm(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{[]string{"--refresh", "0s"}, nil, []string{`"0s"`, "--refresh", "from 1s to 1h"}},
		{[]string{"--refresh", "soon"}, nil, []string{"--refresh", "such as 10s"}},
		{[]string{"--timeout=2h"}, nil, []string{"--timeout", "10ms to 1m"}},
		{[]string{"--retries", "-1"}, nil, []string{"--retries", "0 to 10"}},
		{[]string{"--listen", "8080"}, nil, []string{"--listen", "host:port"}},
		{[]string{"--chrony", "tcp://x"}, nil, []string{"--chrony", "unsupported scheme", "udp://127.0.0.1:323"}},
		{[]string{"--log-level", "loud"}, nil, []string{"--log-level", "debug, info, warn or error"}},
		{[]string{"--reuse", "6s"}, nil, []string{"--reuse", "at most half of --refresh (5s)"}},
		{[]string{"--reuse", "-1s"}, nil, []string{"--reuse", "such as 5s"}},
		{[]string{"--nope"}, nil, []string{"unknown flag --nope"}},
		{[]string{"--listen"}, nil, []string{"--listen needs a value"}},
		{[]string{"serve"}, nil, []string{`unexpected argument "serve"`}},
		{nil, map[string]string{"SECOND_HAND_REFRESH": "fast"}, []string{"SECOND_HAND_REFRESH", "--refresh", "such as 10s"}},
		{nil, map[string]string{"SECOND_HAND_CHRONY": "udp://:0"}, []string{"SECOND_HAND_CHRONY", "--chrony"}},
	} {
		_, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v %v: error %v, want a usage error", tc.args, tc.env, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v %v: %q does not say %q", tc.args, tc.env, err, w)
			}
		}
	}
}

func TestHelpListsEveryFlagAndVariable(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, w := range []string{"--listen", "SECOND_HAND_LISTEN", "--chrony", "SECOND_HAND_CHRONY", "--refresh", "SECOND_HAND_REFRESH",
		"--reuse", "SECOND_HAND_REUSE", "--timeout", "SECOND_HAND_TIMEOUT", "--retries", "SECOND_HAND_RETRIES", "--log-level", "SECOND_HAND_LOG_LEVEL", "healthcheck"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("--help does not mention %s", w)
		}
	}
}

// TestBadFlagExitsWithStatus2 runs the program: a bad value is exit status 2 and a message on
// stderr, and nothing is served.
func TestBadFlagExitsWithStatus2(t *testing.T) {
	cmd := exec.Command(binary, "--refresh", "never")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want status 2", err)
	}
	if !strings.Contains(stderr.String(), `invalid value "never" for --refresh`) {
		t.Errorf("stderr = %q", stderr.String())
	}
	if out, err := exec.Command(binary, "--help").Output(); err != nil || !strings.Contains(string(out), "Usage: second-hand") {
		t.Errorf("--help = %v %q, want the usage and status 0", err, out)
	}
}

func TestListenErrorNamesTheAddress(t *testing.T) {
	in := startSecondHand(t, nil, "--chrony", "udp://127.0.0.1:9")
	taken := strings.TrimPrefix(in.url, "http://")
	out, err := exec.Command(binary, "--listen", taken).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "cannot listen on "+taken+" (--listen)") {
		t.Errorf("second instance on %s: %v %q", taken, err, out)
	}
}

func TestHealthcheckSubcommand(t *testing.T) {
	in := startSecondHand(t, nil, "--chrony", "udp://127.0.0.1:9")
	addr := strings.TrimPrefix(in.url, "http://")
	if out, err := exec.Command(binary, "--listen", addr, "healthcheck").CombinedOutput(); err != nil {
		t.Errorf("healthcheck of a live instance: %v %s", err, out)
	}
	if err := exec.Command(binary, "--listen", "127.0.0.1:"+freeTCPPort(t), "healthcheck").Run(); err == nil {
		t.Error("healthcheck of nothing succeeded")
	}
}
