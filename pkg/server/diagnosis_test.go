package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/monitor"
)

// coasting is a chronyd synchronised to its only source, which stopped answering two polls
// ago; read over UDP (the socket-only reports refused).
func coasting(now time.Time) *fakeReports {
	return &fakeReports{endpoint: "udp://nas:323",
		tracking: func(context.Context) (chrony.Tracking, error) {
			return chrony.Tracking{RefID: 0xC000020A, RefAddr: netip.MustParseAddr("192.0.2.10"), Stratum: 3, Leap: chrony.LeapNormal,
				RefTime: now.Add(-130 * time.Second), SkewPPM: 0.1, UpdateIntervalSeconds: 64, RootDelaySeconds: 1e-4, RootDispersionSeconds: 1e-4}, nil
		},
		sources: func(context.Context) ([]chrony.Source, error) {
			return []chrony.Source{{Name: "time.lan", Address: netip.MustParseAddr("192.0.2.10"), State: chrony.StateSelected, PollLog2: 6,
				Reach: 0o374, LastSampleAgo: 130 * time.Second}}, nil
		}}
}

// TestDiagnosisRoutes: the diagnosis block's fragment, diagnosis.json (at the root with one
// host, under hosts/NAME/ always), /readyz's lines and /metrics' series say the same.
func TestDiagnosisRoutes(t *testing.T) {
	now := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := fleetHandler(t, []monitor.Host{{Name: "local", Reporter: coasting(now)}}, monitor.Config{Now: clock}, Config{Now: clock})

	page := get(t, h, "GET", "/").Body.String()
	if i, j := strings.Index(page, `id="panel-diagnosis"`), strings.Index(page, `id="panel-tracking"`); i < 0 || j < i {
		t.Errorf("the diagnosis block is not the first panel of the page")
	}

	frag := get(t, h, "GET", "/panels/diagnosis")
	body := frag.Body.String()
	for _, want := range []string{`data-state="failing"`, `data-title="✕ Failing · chronyd · second-hand"`, `data-field="diagnosis-state" value="failing">Failing<`,
		`data-finding="reference-unreachable"`, "Coasting: its reference time.lan (192.0.2.10) stopped answering 2 min ago",
		`data-open-detail="detail-sources-192-2e0-2e2-2e10"`, `hx-get="panels/diagnosis?fresh=1"`, "Not checked:", "selectdata", "opencommands"} {
		if !strings.Contains(body, want) {
			t.Errorf("the diagnosis fragment lacks %q:\n%s", want, body)
		}
	}
	relativeOnly(t, "panels/diagnosis", body)
	if strings.Contains(body, "style=") || strings.Contains(body, "<script") {
		t.Error("the diagnosis fragment has inline style or script")
	}

	for _, path := range []string{"/diagnosis.json", "/hosts/local/diagnosis.json"} {
		rec := get(t, h, "GET", path)
		var d struct {
			Host     string `json:"host"`
			State    string `json:"state"`
			Findings []struct {
				ID, Severity, Text string
				Since              struct {
					At   time.Time `json:"at"`
					From string    `json:"from"`
				}
				Evidence []struct {
					Label  string   `json:"label"`
					Number *float64 `json:"number"`
				}
			} `json:"findings"`
			Unchecked []struct {
				What       string `json:"what"`
				SocketOnly bool   `json:"socket_only"`
			} `json:"unchecked"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%s = %d %v:\n%s", path, rec.Code, err, rec.Body)
		}
		if d.Host != "local" || d.State != "failing" || len(d.Findings) == 0 || d.Findings[0].ID != "reference-unreachable" || d.Findings[0].Severity != "failing" ||
			!d.Findings[0].Since.At.Equal(now.Add(-130*time.Second)) || d.Findings[0].Since.From != "chronyd" || len(d.Unchecked) == 0 || !d.Unchecked[0].SocketOnly {
			t.Errorf("%s = %+v", path, d)
		}
	}
	if rec := get(t, h, "GET", "/hosts/nope/diagnosis.json"); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown host's diagnosis.json = %d", rec.Code)
	}
	if rec := get(t, h, "GET", "/diagnosis.json?fresh=2"); rec.Code != http.StatusBadRequest {
		t.Errorf("diagnosis.json?fresh=2 = %d", rec.Code)
	}

	ready := get(t, h, "GET", "/readyz")
	if ready.Code != 200 || !strings.Contains(ready.Body.String(), "  diagnosis: failing\n  - failing reference-unreachable: Coasting") ||
		!strings.Contains(ready.Body.String(), "  - warning no-redundancy:") {
		t.Errorf("readyz = %d:\n%s", ready.Code, ready.Body)
	}

	metrics := get(t, h, "GET", "/metrics").Body.String()
	for _, want := range []string{`second_hand_diagnosis_state{host="local"} 2`, `second_hand_finding{finding="reference-unreachable",host="local",severity="failing"} 1`,
		`second_hand_finding{finding="no-redundancy",host="local",severity="warning"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestOverviewRowsSayWhy: each row carries its host's first finding and its state, the page's
// title the worst state; with several hosts there is no diagnosis.json at the root.
func TestOverviewRowsSayWhy(t *testing.T) {
	now := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	h := fleetHandler(t, []monitor.Host{{Name: "nas", Reporter: coasting(now)}, {Name: "good", Reporter: &fakeReports{endpoint: "udp://good:323"}}},
		monitor.Config{}, Config{Now: func() time.Time { return now }})
	row := get(t, h, "GET", "/hosts/nas/summary").Body.String()
	for _, want := range []string{`data-state="failing"`, `data-rank="0"`, `data-field="why" value="reference-unreachable">Coasting:`} {
		if !strings.Contains(row, want) {
			t.Errorf("nas's row lacks %q:\n%s", want, row)
		}
	}
	good := get(t, h, "GET", "/hosts/good/summary").Body.String()
	if !strings.Contains(good, `data-state="warning"`) || !strings.Contains(good, "Only one usable source") {
		t.Errorf("good's row:\n%s", good)
	}
	page := get(t, h, "GET", "/").Body.String()
	if !strings.Contains(page, "<title>✕ 1 of 2 failing · second-hand</title>") || !strings.Contains(page, `href="./assets/favicon-failing.`) {
		t.Errorf("the overview's title and icon:\n%s", page[:min(len(page), 900)])
	}
	if i, j := strings.Index(page, `id="host-nas"`), strings.Index(page, `id="host-good"`); i < 0 || j < i {
		t.Error("the failing host is not first")
	}
	if rec := get(t, h, "GET", "/diagnosis.json"); rec.Code != http.StatusNotFound {
		t.Errorf("diagnosis.json with two hosts = %d", rec.Code)
	}
}

// TestThresholdsPerHost: a host's own --max-offset applies to its diagnosis and its colours.
func TestThresholdsPerHost(t *testing.T) {
	off := &fakeReports{tracking: func(context.Context) (chrony.Tracking, error) {
		return chrony.Tracking{RefID: 1, Stratum: 2, Leap: chrony.LeapNormal, RefTime: time.Now(), CorrectionSeconds: 2e-3}, nil
	}}
	th := diagnose.HostThresholds{Default: diagnose.DefaultThresholds(), Hosts: map[string]diagnose.Thresholds{"strict": {MaxOffset: time.Millisecond}}}
	h := fleetHandler(t, []monitor.Host{{Name: "strict", Reporter: off}, {Name: "lax", Reporter: off}}, monitor.Config{}, Config{Thresholds: th})
	strict := get(t, h, "GET", "/hosts/strict/diagnosis.json").Body.String()
	lax := get(t, h, "GET", "/hosts/lax/diagnosis.json").Body.String()
	if !strings.Contains(strict, `"offset-high"`) || strings.Contains(lax, `"offset-high"`) {
		t.Errorf("strict:\n%s\nlax:\n%s", strict, lax)
	}
	if p := get(t, h, "GET", "/hosts/strict/panels/tracking").Body.String(); !strings.Contains(p, `metric health-warn"><dt><span id="tip-system-time-label" class="has-tip" tabindex="-1" aria-describedby="tip-system-time">System time`) {
		t.Errorf("the strict host's offset is not marked:\n%s", p)
	}
}

// TestDiagnosisPanelErrors: chronyd not answering is the diagnosis' first finding, not the
// panel's error; a diagnosis that cannot be made for another reason (second-hand shutting
// down) is the panel's own inline error, as in every panel.
func TestDiagnosisPanelErrors(t *testing.T) {
	down := oneHost(t, &fakeReports{tracking: func(context.Context) (chrony.Tracking, error) {
		return chrony.Tracking{}, &chrony.Error{Kind: chrony.KindUnreachable, Op: "tracking", Addr: "udp://127.0.0.1:323"}
	}}, Config{})
	page := get(t, down, "GET", "/panels/diagnosis").Body.String()
	if !strings.Contains(page, `data-finding="chronyd-unreachable"`) || strings.Contains(page, "panel-error") || !strings.Contains(page, "systemctl status chrony") {
		t.Errorf("chronyd down:\n%s", page)
	}
	closed := oneHost(t, &fakeReports{tracking: func(context.Context) (chrony.Tracking, error) {
		return chrony.Tracking{}, &chrony.Error{Kind: chrony.KindClosed, Addr: "udp://127.0.0.1:323"}
	}}, Config{})
	page = get(t, closed, "GET", "/panels/diagnosis").Body.String()
	if !strings.Contains(page, `class="panel-error health-bad" role="alert"`) || !strings.Contains(page, "second-hand is shutting down") {
		t.Errorf("shutting down:\n%s", page)
	}
}
