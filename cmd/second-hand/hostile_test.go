package main

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/panels"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// hostileRefIDs are reference clock IDs a real chronyd accepts in chrony.conf and reports as
// the sources' names: path steps, a slash, a percent-encoded dot, URL delimiters, and the
// starts of spreadsheet formulas.
var hostileRefIDs = []string{"..", ".", "a/b", "%2e", "?#", "=1+1", "@SUM", "-0.1", "+1"}

// TestHostileSourceNames: a real chronyd whose reference clocks have those IDs. Every source's
// detail link in the sources panel resolves, relative to the page, to one path under sources/,
// and answers that source's detail; in the CSV export, the names that would start a formula
// in a spreadsheet start with a quote, and the numbers stay numbers.
func TestHostileSourceNames(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	port, err := chronylab.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	for i, id := range hostileRefIDs {
		fmt.Fprintf(&conf, "refclock SOCK %s refid %s\n", filepath.Join(dir, "hostile", fmt.Sprintf("refclock%d.sock", i)), id)
	}
	d, err := chronylab.NewDaemon(dir, "hostile", chronylab.Config{Conf: conf.String(), CmdPort: port})
	if err != nil {
		t.Fatal(err)
	}
	needLab(t, d.Start(context.Background()))
	t.Cleanup(func() { d.Stop() })
	in := start(t, "--chrony", d.UDPAddress(), "--sample", "1s")

	page, _ := url.Parse(in.url + "/")
	sources := fragment(t, in.url, "sources")
	links := regexp.MustCompile(`data-detail="([^"]*)"`).FindAllStringSubmatch(sources, -1)
	if len(links) != len(hostileRefIDs) {
		t.Fatalf("%d detail links for %d sources:\n%s", len(links), len(hostileRefIDs), sources)
	}
	for _, l := range links {
		ref, err := url.Parse(html.UnescapeString(l[1]))
		if err != nil {
			t.Errorf("link %q: %v", l[1], err)
			continue
		}
		target := page.ResolveReference(ref)
		segment, under := strings.CutPrefix(target.EscapedPath(), "/sources/")
		key, ok := panels.KeyOfSegment(segment)
		if !under || !ok {
			t.Errorf("link %q resolves to %s, not to a source under /sources/", l[1], target)
			continue
		}
		code, body := fetch(t, target.String())
		if code != 200 || !strings.Contains(body, `class="source-detail`) || !strings.Contains(body, html.EscapeString(key)) {
			t.Errorf("%s (the detail of %q) = %d:\n%s", target, key, code, body)
		}
	}

	var rows []map[string]string
	testkit.Eventually(t, time.Minute, "every source recorded", func() bool {
		rows = csvRows(t, in.url+"/history.csv?range=1h")
		n := 0
		for _, r := range rows {
			if r["record"] == "source" {
				n++
			}
		}
		return n >= len(hostileRefIDs)
	})
	names := map[string]bool{}
	for _, r := range rows {
		if r["record"] == "source" {
			names[r["source_name"]] = true
		}
		for _, c := range []string{"system_offset_s", "max_error_s", "offset_s", "error_s", "frequency_ppm"} {
			if v := r[c]; strings.HasPrefix(v, "'") {
				t.Errorf("the number %s = %q was quoted as text", c, v)
			}
		}
	}
	for _, id := range hostileRefIDs {
		want := id
		if strings.ContainsAny(id[:1], "=+-@") {
			want = "'" + id
		}
		if !names[want] {
			t.Errorf("source %q: not in the CSV as %q; names: %v", id, want, names)
		}
	}
}
