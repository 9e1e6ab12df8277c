package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// diagnosisJSON is diagnosis.json as a script reads it.
type diagnosisJSON struct {
	State    string    `json:"state"`
	ReadAt   time.Time `json:"read_at"`
	Findings []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Text     string `json:"text"`
		Since    struct {
			At      time.Time `json:"at"`
			AtLeast bool      `json:"at_least"`
			From    string    `json:"from"`
			Why     string    `json:"why"`
		} `json:"since"`
		Evidence []struct {
			Label string `json:"label"`
			Value string `json:"value"`
		} `json:"evidence"`
	} `json:"findings"`
	Checked   []string `json:"checked"`
	Unchecked []struct {
		What       string `json:"what"`
		SocketOnly bool   `json:"socket_only"`
	} `json:"unchecked"`
}

func (d diagnosisJSON) finding(id string) (int, bool) {
	for i, f := range d.Findings {
		if f.ID == id {
			return i, true
		}
	}
	return -1, false
}

func (d diagnosisJSON) ids() string {
	var out []string
	for _, f := range d.Findings {
		out = append(out, f.ID+":"+f.Severity)
	}
	return strings.Join(out, " ")
}

// diagnosis reads url's diagnosis.json, read from chronyd now (fresh=1).
func diagnosis(t *testing.T, url string) diagnosisJSON {
	t.Helper()
	var d diagnosisJSON
	if err := json.Unmarshal([]byte(fresh(t, url)), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// untilDiagnosis reads url's diagnosis until cond holds.
func untilDiagnosis(t *testing.T, url, what string, cond func(diagnosisJSON) bool) diagnosisJSON {
	t.Helper()
	var d diagnosisJSON
	testkit.Eventually(t, time.Minute, what, func() bool {
		d = diagnosis(t, url)
		return cond(d)
	})
	return d
}

// reachOf is the reach register chronyd reports for its source name (chronyc -c -N sources).
func reachOf(t *testing.T, d *chronylab.Daemon, name string) (uint8, bool) {
	t.Helper()
	rows, err := readChronyc(d, "sources")
	if err != nil {
		return 0, false
	}
	for _, r := range rows {
		if len(r) > 5 && r[2] == name {
			v, err := strconv.ParseUint(r[5], 8, 8)
			return uint8(v), err == nil
		}
	}
	return 0, false
}

// TestCoastingWithinTwoPolls: the case. The lab's monitored chronyd follows its only
// usable source (a wrong one could not be detected) beside a server and a peer that never
// answered; its upstream stops. Once chronyd's own report shows the upstream's last two polls
// unanswered, the diagnosis says the clock is coasting and the page turns to failing, while
// chronyd still says "synchronised"; when the upstream is back, it recovers.
func TestCoastingWithinTwoPolls(t *testing.T) {
	lab := startLab(t, chronylab.Options{PollLog2: 0, SetPoll: true})
	in := start(t, "--chrony", lab.Monitored.SocketAddress(), "--sample", "1s")
	url := in.url + "/diagnosis.json"

	// Just synchronised, chronyd's error bound is large for a few polls (clock-error-high):
	// wait until it has settled, with the history's first records of the sources.
	before := untilDiagnosis(t, url, "a settled chronyd and the history's first records of the sources", func(d diagnosisJSON) bool {
		i, ok := d.finding("source-never-answered")
		return ok && d.Findings[i].Since.From == "history" && d.State == "warning"
	})
	if _, ok := before.finding("reference-unreachable"); ok {
		t.Fatalf("before the upstream stops: %s %s", before.State, before.ids())
	}
	i, _ := before.finding("no-redundancy")
	j, _ := before.finding("source-never-answered")
	if i < 0 || !strings.Contains(before.Findings[i].Text, "Only one usable source (localhost") ||
		!strings.Contains(before.Findings[j].Text, "127.0.0.3, 127.0.0.5 have never answered") {
		t.Errorf("a single source and a never-answering server and peer: %+v", before.Findings)
	}
	// The server that never answered: since the record began, not a guess from its polls.
	if s := before.Findings[j].Since; !s.AtLeast || s.Why != "the record begins then" {
		t.Errorf("since when 127.0.0.3 has not answered: %+v", s)
	}
	if page := fragment(t, in.url, "diagnosis"); !strings.Contains(page, `data-state="warning"`) || !strings.Contains(page, `data-title="! Warning · chronyd · second-hand"`) {
		t.Errorf("the diagnosis block before:\n%s", page)
	}

	if err := lab.Upstream.Stop(); err != nil {
		t.Fatal(err)
	}
	var reach uint8
	var shown time.Time // chronyd's report shows both polls unanswered to any read from then on
	testkit.Eventually(t, time.Minute, "chronyd to report its upstream's last two polls unanswered", func() bool {
		shown = time.Now()
		r, ok := reachOf(t, lab.Monitored, "localhost")
		reach = r
		return ok && r&3 == 0
	})
	tracking := chronyc(t, lab.Monitored, "tracking")[0]
	// Reads of chronyd are shared, and a fresh one may be answered by a read up to a second
	// old (monitor.DefaultFreshEvery): the diagnosis judged is the first whose reads all began
	// after the report showed it.
	d := untilDiagnosis(t, url, "a diagnosis from reads made after chronyd's report showed two polls unanswered", func(d diagnosisJSON) bool {
		return !d.ReadAt.Before(shown.Add(monitor.DefaultFreshEvery))
	})
	k, ok := d.finding("reference-unreachable")
	if !ok || d.Findings[k].Severity != "failing" || d.State != "failing" || !strings.Contains(d.Findings[k].Text, "Coasting") {
		t.Fatalf("with chronyd's reach %03o (tracking: %v), the diagnosis is %s: %s", reach, tracking, d.State, d.ids())
	}
	t.Logf("chronyd's reach of its upstream %03o, leap status %q: %s (%s)", reach, tracking[13], d.Findings[k].Text, d.Findings[k].Since.From)
	if page := fragment(t, in.url, "diagnosis"); !strings.Contains(page, `data-state="failing"`) || !strings.Contains(page, `data-title="✕ Failing · chronyd · second-hand"`) ||
		!strings.Contains(page, `data-finding="reference-unreachable"`) {
		t.Errorf("the diagnosis block while coasting:\n%s", page)
	}

	if err := lab.Upstream.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := untilDiagnosis(t, url, "the coasting to end when the upstream is back", func(d diagnosisJSON) bool {
		_, coasting := d.finding("reference-unreachable")
		return !coasting && d.State == "warning"
	})
	t.Logf("back: %s %s", after.State, after.ids())
}
