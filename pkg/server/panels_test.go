package server

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// TestPanelTable: the host page draws every panel of the table, in its order (the diagnosis,
// what happened, tracking, sources, then the rest), each with its fragment's URL and reload
// button; the route serves each by its id and takes only its query parameters.
func TestPanelTable(t *testing.T) {
	h := oneHost(t, &fakeReports{}, Config{})
	page := get(t, h, "GET", "/").Body.String()
	last := -1
	for _, p := range hostPanels {
		i := strings.Index(page, `id="panel-`+p.ID+`"`)
		if i < 0 {
			t.Errorf("the page has no %s panel", p.ID)
			continue
		}
		if i < last {
			t.Errorf("the %s panel is out of the table's order", p.ID)
		}
		last = i
		for _, want := range []string{`hx-get="panels/` + p.ID + `"`, `id="reload-` + p.ID + `"`, `id="` + p.ID + `-title">` + p.Title + `<`} {
			if !strings.Contains(page, want) {
				t.Errorf("the %s panel's shell lacks %q", p.ID, want)
			}
		}
		rec := get(t, h, "GET", "/panels/"+p.ID)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="panel-`+p.ID+`"`) {
			t.Errorf("/panels/%s = %d:\n%s", p.ID, rec.Code, rec.Body)
		}
		for _, q := range p.Query {
			if q == "fresh" {
				if rec := get(t, h, "GET", "/panels/"+p.ID+"?fresh=1"); rec.Code != http.StatusOK {
					t.Errorf("/panels/%s?fresh=1 = %d", p.ID, rec.Code)
				}
			}
		}
		if rec := get(t, h, "GET", "/panels/"+p.ID+"?nope=1"); rec.Code != http.StatusBadRequest {
			t.Errorf("/panels/%s?nope=1 = %d, want 400", p.ID, rec.Code)
		}
	}
	order := []string{"diagnosis", "events", "tracking", "sources"}
	for i, id := range order {
		if hostPanels[i].ID != id {
			t.Errorf("panel %d is %s, want %s: %v", i, hostPanels[i].ID, id, order)
		}
	}
}

// TestStaleWhileNotAnswering: once chronyd stops answering, each panel keeps the last values
// it read, marked stale, with a one-line error and no alert of its own; a report that fails for
// its own reason (chronyd refuses it) still says so in full, whether chronyd answers the others
// or not; and once chronyd answers again, the values are fresh.
func TestStaleWhileNotAnswering(t *testing.T) {
	var down atomic.Bool
	silent := &chrony.Error{Kind: chrony.KindTimeout, Op: "sources", Addr: "udp://127.0.0.1:323", Attempts: 3}
	h := oneHost(t, &fakeReports{
		tracking: func(context.Context) (chrony.Tracking, error) {
			if down.Load() {
				return chrony.Tracking{}, &chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://127.0.0.1:323", Attempts: 3}
			}
			return chrony.Tracking{RefID: 1, Stratum: 2, Leap: chrony.LeapNormal}, nil
		},
		sources: func(context.Context) ([]chrony.Source, error) {
			if down.Load() {
				return nil, silent
			}
			return []chrony.Source{{Name: "time.lan", Reach: 0o377}}, nil
		},
		rtc: func(context.Context) (chrony.RTC, error) {
			return chrony.RTC{}, &chrony.Error{Kind: chrony.KindStatus, Op: "RTC", Status: 19, Addr: "udp://127.0.0.1:323"}
		},
	}, Config{})
	for _, p := range []string{"tracking", "sources", "rtc"} {
		get(t, h, "GET", "/panels/"+p)
	}
	down.Store(true)
	for _, tc := range []struct {
		panel, value string
	}{{"tracking", `data-field="stratum" value="2"`}, {"sources", `value="time.lan">time.lan<`}} {
		body := get(t, h, "GET", "/panels/"+tc.panel).Body.String()
		for _, want := range []string{" is-stale", `data-failed="not-answering"`, "did not answer the " + tc.panel + " request",
			"showing the values read at", `<div class="stale-values">`, tc.value} {
			if !strings.Contains(body, want) {
				t.Errorf("%s while chronyd does not answer lacks %q:\n%s", tc.panel, want, body)
			}
		}
		if strings.Contains(body, `role="alert"`) || strings.Contains(body, "Fix: ") {
			t.Errorf("%s while chronyd does not answer has an alert of its own:\n%s", tc.panel, body)
		}
	}
	// The RTC report failed for its own reason before: it has no values to keep, and its own
	// error stands in full.
	if body := get(t, h, "GET", "/panels/rtc").Body.String(); !strings.Contains(body, `data-failed="report"`) || !strings.Contains(body, `role="alert"`) ||
		strings.Contains(body, "is-stale") {
		t.Errorf("rtc, failing for its own reason:\n%s", body)
	}
	down.Store(false)
	for _, p := range []string{"tracking", "sources"} {
		body := get(t, h, "GET", "/panels/"+p).Body.String()
		if strings.Contains(body, "is-stale") || strings.Contains(body, `data-failed="`) || strings.Contains(body, "stale-values") {
			t.Errorf("%s once chronyd answers again:\n%s", p, body)
		}
	}
}
