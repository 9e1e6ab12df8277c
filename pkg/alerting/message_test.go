package alerting

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

func link(host string) string { return "https://dash.example.org/hosts/" + host + "/" }

// coasting is a host whose selected source stopped answering, with more findings than a
// message tells in full.
func coasting(host string) diagnose.Diagnosis {
	n := 180e-6
	return diagnose.Diagnosis{Host: host, State: diagnose.Failing, Findings: []diagnose.Finding{
		{ID: "reference-unreachable", Severity: diagnose.Critical, Text: "Coasting: its selected source 192.0.2.10 gave no sample in its last 2 polls.",
			Evidence: []diagnose.Evidence{{Label: "last sample", Value: "4 min ago"}, {Label: "max clock error", Value: "180 µs", Number: &n, Unit: "s"}},
			Since:    diagnose.Since{At: t0.Add(-4 * time.Minute), From: "chronyd"}, Fix: "Check that 192.0.2.10 answers NTP: chronyc ntpdata 192.0.2.10."},
		{ID: "no-redundancy", Severity: diagnose.Warn, Text: "Only one usable source.", Since: diagnose.Since{Why: "nothing records since when"}, Fix: "Add two servers."},
		{ID: "source-never-answered", Severity: diagnose.Warn, Text: "127.0.0.3 has never answered.", Fix: "Check its address."},
		{ID: "refclock-no-samples", Severity: diagnose.Warn, Text: "GPS has no sample.", Fix: "Check the device."},
		{ID: "offset-high", Severity: diagnose.Warn, Text: "Offset 12 ms.", Fix: "Wait."},
		{ID: "restarted", Severity: diagnose.Info, Text: "chronyd restarted.", Fix: ""},
	}}
}

// TestComposeOneHost: a host's message names the host and its state, tells its first findings
// in full (evidence, since when, fix), counts the others, and links its page.
func TestComposeOneHost(t *testing.T) {
	now := t0
	m := Compose([]Change{{Host: "nas", Diagnosis: coasting("nas"), Since: t0.Add(-5 * time.Minute)}}, now, link)
	if m.Title != "✕ nas: failing · second-hand" {
		t.Errorf("title %q", m.Title)
	}
	for _, want := range []string{
		"nas is failing since 11:55:00 UTC (5 min).",
		"failing: Coasting: its selected source 192.0.2.10 gave no sample in its last 2 polls.",
		"Evidence: last sample 4 min ago; max clock error 180 µs.",
		"Since 11:56:00 UTC (4 min).",
		"Fix: Check that 192.0.2.10 answers NTP: chronyc ntpdata 192.0.2.10.",
		"warning: Only one usable source.", "Since when is not known: nothing records since when.", "Fix: Add two servers.",
		"warning: 127.0.0.3 has never answered.",
		"And 2 more findings.",
		"https://dash.example.org/hosts/nas/",
	} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the body lacks %q:\n%s", want, m.Body)
		}
	}
	if strings.Contains(m.Body, "GPS") || strings.Contains(m.Body, "restarted") {
		t.Errorf("the body tells more than three findings, or information:\n%s", m.Body)
	}
	if m.Link != link("nas") {
		t.Errorf("link %q", m.Link)
	}
	if m := Compose([]Change{{Host: "nas", Diagnosis: coasting("nas")}}, now, nil); strings.Contains(m.Body, "http") || m.Link != "" {
		t.Errorf("without --public-url, no link:\n%s", m.Body)
	}
}

// TestComposeResolution: ok again, when, after how long, and what it was.
func TestComposeResolution(t *testing.T) {
	ok := diagnose.Diagnosis{Host: "nas", State: diagnose.OK, Checked: []string{"3 of 3 sources reachable", "clock error 45.0 µs"}}
	c := Change{Host: "nas", Diagnosis: ok, Resolved: true, Since: t0, Over: t0.Add(6*time.Minute + 10*time.Second),
		Before: Sent{State: diagnose.Failing, What: "Coasting: its selected source 192.0.2.10 gave no sample in its last 2 polls."}}
	m := Compose([]Change{c}, t0.Add(8*time.Minute), link)
	if m.Title != "✓ nas: resolved · second-hand" {
		t.Errorf("title %q", m.Title)
	}
	want := "nas is ok again since 12:06:10 UTC, after 6 min failing (from 12:00:00 UTC). It was: Coasting: its selected source 192.0.2.10 gave no sample in its last 2 polls.\n" +
		"Checked: 3 of 3 sources reachable, clock error 45.0 µs.\n\nhttps://dash.example.org/hosts/nas/"
	if m.Body != want {
		t.Errorf("body:\n%s\nwant:\n%s", m.Body, want)
	}
}

// TestComposeDigest: many hosts in one message: how many of each, a line per host (at most
// twenty of each), each kind of problem's fix once.
func TestComposeDigest(t *testing.T) {
	var cs []Change
	for i := range 23 {
		h := fmt.Sprintf("h%02d", i)
		d := diag(h, diagnose.Failing)
		d.Findings[0].Text = "chronyd at udp://" + h + ":323 does not answer."
		cs = append(cs, Change{Host: h, Diagnosis: d, Since: t0.Add(-2 * time.Minute)})
	}
	cs = append(cs, Change{Host: "pi", Diagnosis: diag("pi", diagnose.Warning), Since: t0.Add(-3 * time.Minute)},
		Change{Host: "nas", Diagnosis: diagnose.Diagnosis{Host: "nas", State: diagnose.OK}, Resolved: true, Since: t0.Add(-time.Hour), Over: t0.Add(-2 * time.Minute), Before: Sent{State: diagnose.Warning}})
	m := Compose(cs, t0, link)
	if m.Title != "✕ 23 hosts failing, 1 host warning, 1 host resolved · second-hand" {
		t.Errorf("title %q", m.Title)
	}
	for _, want := range []string{
		"23 hosts failing, 1 host warning, 1 host resolved.\n\nFailing:\n- h00: chronyd at udp://h00:323 does not answer. (since 11:58:00 UTC) https://dash.example.org/hosts/h00/\n",
		"- h19: chronyd at udp://h19:323 does not answer.", "- and 3 more\n",
		"Fix for chronyd-unreachable (as for h00): Start chronyd.\n",
		"Warning:\n- pi: Only two usable sources. (since 11:57:00 UTC) https://dash.example.org/hosts/pi/\nFix for no-redundancy (as for pi): Add a server.\n",
		"Resolved:\n- nas: ok again after 58 min warning https://dash.example.org/hosts/nas/",
	} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the digest lacks %q:\n%s", want, m.Body)
		}
	}
	if strings.Contains(m.Body, "h20:") || strings.Count(m.Body, "Fix for chronyd-unreachable") != 1 {
		t.Errorf("the digest lists more than twenty hosts, or a fix twice:\n%s", m.Body)
	}
}
