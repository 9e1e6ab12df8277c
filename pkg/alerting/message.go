package alerting

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/notify"
)

// The most a message says: the findings of one host told in full, and the hosts a digest lists.
const (
	fullFindings = 3
	digestHosts  = 20
)

// Compose writes the message about changes (from one Round), made at now: one host's in full,
// several hosts' as a digest. link is a host's page ("" for none: no --public-url).
func Compose(changes []Change, now time.Time, link func(host string) string) notify.Message {
	if link == nil {
		link = func(string) string { return "" }
	}
	if len(changes) == 1 {
		return single(changes[0], now, link(changes[0].Host))
	}
	return digest(changes, now, link)
}

// Title of one host's message: its state's symbol and word, as the tab says it.
func title(c Change) string {
	if c.Resolved {
		return "✓ " + c.Host + ": resolved · second-hand"
	}
	return c.Diagnosis.State.Symbol() + " " + c.Host + ": " + c.Diagnosis.State.String() + " · second-hand"
}

func single(c Change, now time.Time, link string) notify.Message {
	var b strings.Builder
	if c.Resolved {
		resolution(&b, c)
	} else {
		d := c.Diagnosis
		fmt.Fprintf(&b, "%s is %s", c.Host, d.State)
		if at := sinceOf(c); !at.IsZero() {
			fmt.Fprintf(&b, " since %s (%s)", clock(at, now), diagnose.Ago(now.Sub(at)))
		}
		if c.Before.state() != diagnose.OK && !c.Since.IsZero() {
			fmt.Fprintf(&b, "; it has not been ok since %s", clock(c.Since, now))
		}
		b.WriteString(".\n")
		var problems []diagnose.Finding
		for _, f := range d.Findings {
			if f.Severity > diagnose.Info {
				problems = append(problems, f)
			}
		}
		for _, f := range problems[:min(len(problems), fullFindings)] {
			finding(&b, f, now)
		}
		if n := len(problems) - fullFindings; n > 0 {
			fmt.Fprintf(&b, "\nAnd %s.\n", plural(n, "more finding"))
		}
	}
	if link != "" {
		b.WriteString("\n" + link + "\n")
	}
	return notify.Message{Title: title(c), Body: strings.TrimRight(b.String(), "\n"), Link: link}
}

// finding is one finding in full: what, its evidence, since when, the fix.
func finding(b *strings.Builder, f diagnose.Finding, now time.Time) {
	fmt.Fprintf(b, "\n%s: %s\n", f.Severity, f.Text)
	if len(f.Evidence) > 0 {
		parts := make([]string, len(f.Evidence))
		for i, e := range f.Evidence {
			parts[i] = e.Label + " " + e.Value
		}
		fmt.Fprintf(b, "Evidence: %s.\n", strings.Join(parts, "; "))
	}
	if p := f.Since.Phrase(now); p != "" {
		fmt.Fprintf(b, "%s.\n", capital(p))
	}
	if f.Fix != "" {
		fmt.Fprintf(b, "Fix: %s\n", f.Fix)
	}
}

// resolution: ok again, after how long, and what it was.
func resolution(b *strings.Builder, c Change) {
	fmt.Fprintf(b, "%s is ok again", c.Host)
	if !c.Over.IsZero() {
		fmt.Fprintf(b, " since %s", clock(c.Over, c.Over))
	}
	if !c.Since.IsZero() && !c.Over.IsZero() {
		fmt.Fprintf(b, ", after %s %s (from %s)", diagnose.Ago(c.Over.Sub(c.Since)), c.Before.State, clock(c.Since, c.Over))
	}
	b.WriteString(".")
	if c.Before.What != "" {
		fmt.Fprintf(b, " It was: %s", c.Before.What)
	}
	b.WriteString("\n")
	if s := c.Diagnosis.Summary(); s != "" {
		fmt.Fprintf(b, "Checked: %s.\n", s)
	}
}

// digest is one message for several hosts: how many of each, then a line per host (its first
// finding, since when, its page) under its state, and the fix of each kind of problem once.
func digest(changes []Change, now time.Time, link func(string) string) notify.Message {
	groups := map[string][]Change{}
	var order []string
	for _, c := range changes {
		k := "resolved"
		if !c.Resolved {
			k = c.Diagnosis.State.String()
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	var counts []string
	for _, k := range order {
		counts = append(counts, fmt.Sprintf("%s %s", plural(len(groups[k]), "host"), k))
	}
	worst := changes[0]
	sym := "✓"
	if !worst.Resolved {
		sym = worst.Diagnosis.State.Symbol()
	}
	t := sym + " " + strings.Join(counts, ", ") + " · second-hand"

	var b strings.Builder
	fmt.Fprintf(&b, "%s.\n", capital(strings.Join(counts, ", ")))
	for _, k := range order {
		cs := groups[k]
		fmt.Fprintf(&b, "\n%s:\n", capital(k))
		type fix struct{ id, host, text string }
		var fixes []fix
		for i, c := range cs {
			if i == digestHosts {
				fmt.Fprintf(&b, "- and %d more\n", len(cs)-i)
				break
			}
			line := "- " + c.Host + ": "
			if c.Resolved {
				line += "ok again"
				if !c.Since.IsZero() && !c.Over.IsZero() {
					line += fmt.Sprintf(" after %s %s", diagnose.Ago(c.Over.Sub(c.Since)), c.Before.State)
				}
			} else {
				line += headline(c.Diagnosis)
				if at := sinceOf(c); !at.IsZero() {
					line += fmt.Sprintf(" (since %s)", clock(at, now))
				}
			}
			if l := link(c.Host); l != "" {
				line += " " + l
			}
			b.WriteString(line + "\n")
			if f, ok := c.Diagnosis.First(); ok && !c.Resolved && f.Fix != "" &&
				!slices.ContainsFunc(fixes, func(x fix) bool { return x.id == f.ID }) {
				fixes = append(fixes, fix{f.ID, c.Host, f.Fix})
			}
		}
		// Hosts with the same problem have the same fix but for their addresses: said once.
		for _, f := range fixes {
			fmt.Fprintf(&b, "Fix for %s (as for %s): %s\n", f.id, f.host, f.text)
		}
	}
	return notify.Message{Title: t, Body: strings.TrimRight(b.String(), "\n")}
}

// sinceOf is since when a host has been in the state a message tells: when its problem began,
// or, for a problem grown worse, when its first finding began if a record says so.
func sinceOf(c Change) time.Time {
	if c.Before.state() == diagnose.OK {
		return c.Since
	}
	if f, ok := c.Diagnosis.First(); ok && f.Since.Known() && !f.Since.AtLeast {
		return f.Since.At
	}
	return time.Time{}
}

// clock is a moment in UTC: the time of day, with the date when it is not today's.
func clock(t, now time.Time) string {
	if t.UTC().Format("2006-01-02") != now.UTC().Format("2006-01-02") {
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return t.UTC().Format("15:04:05 UTC")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
