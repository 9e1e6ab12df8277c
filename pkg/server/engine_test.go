package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/engine"
	"github.com/second-hand/second-hand/pkg/enginelab"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// engineHistory is ten minutes of two hosts as second-hand exports them: "far", synchronised
// with a source, and "mute", whose chronyd stopped answering its exporter (chrony_up 0).
func engineHistory(end time.Time) []enginelab.Series {
	var out []enginelab.Series
	series := func(metric string, v float64, labels ...string) {
		s := enginelab.Series{Metric: metric, Labels: map[string]string{"job": "second-hand", "instance": "127.0.0.1:9"}}
		for i := 0; i+1 < len(labels); i += 2 {
			s.Labels[labels[i]] = labels[i+1]
		}
		for t := end.Add(-10 * time.Minute); t.Before(end); t = t.Add(10 * time.Second) {
			s.Points = append(s.Points, enginelab.Point{T: t, V: v})
		}
		out = append(out, s)
	}
	far, mute := []string{"host", "far"}, []string{"host", "mute"}
	src := append(far, "source_address", "192.168.1.10", "source_name", "nas.lan")
	// A label is whatever its exporter wrote: it stays text on the page.
	hostile := append(far, "source_address", "192.168.1.66", "source_name", `<img src=x onerror=alert(1)>`)
	series("chrony_sources_reachability_ratio", 0, hostile...)
	series("chrony_up", 1, far...)
	series("chrony_tracking_info", 1, append(far, "tracking_address", "192.168.1.10", "tracking_name", "nas.lan", "tracking_refid", "C0A8010A")...)
	series("chrony_tracking_stratum", 3, far...)
	series("chrony_tracking_leap_status", 0, far...)
	series("chrony_tracking_system_time_seconds", -2e-6, far...)
	series("chrony_tracking_root_delay_seconds", 4e-3, far...)
	series("chrony_tracking_root_dispersion_seconds", 1e-3, far...)
	series("chrony_tracking_max_error_seconds", 3.002e-3, far...)
	series("chrony_tracking_frequency_ppms", -12.5, far...)
	ref := enginelab.Series{Metric: "chrony_tracking_reference_timestamp_seconds", Labels: map[string]string{"job": "second-hand", "instance": "127.0.0.1:9", "host": "far"}}
	for t := end.Add(-10 * time.Minute); t.Before(end); t = t.Add(10 * time.Second) {
		ref.Points = append(ref.Points, enginelab.Point{T: t, V: float64(t.Add(-5*time.Second).UnixMilli()) / 1000})
	}
	out = append(out, ref)
	series("chrony_sources_reachability_ratio", 1, src...)
	series("chrony_sources_state_info", 1, append(src, "source_state", "sync", "source_mode", "client")...)
	series("chrony_sources_last_sample_offset_seconds", 5e-6, src...)
	series("chrony_sources_last_sample_age_seconds", 12, src...)
	series("chrony_sources_polling_interval_seconds", 64, src...)
	series("chrony_sourcestats_samples", 8, src...)
	series("chrony_up", 0, mute...)
	return out
}

// withEngine is second-hand for the engine's hosts, reading "good" itself (a fake chronyd).
func withEngine(t *testing.T) (http.Handler, *enginelab.Engine) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts VictoriaMetrics")
	}
	lab, err := enginelab.Start(context.Background(), enginelab.VictoriaMetrics, enginelab.Options{Dir: t.TempDir(), Backfill: engineHistory(time.Now())})
	if errors.Is(err, enginelab.ErrMissing) && !testkit.Strict() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Stop() })
	e, err := engine.New(engine.Config{URL: lab.URL, HostLabel: "host", Timeout: 10 * time.Second, Reuse: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return fleetHandler(t, []monitor.Host{{Name: "good", Reporter: &fakeReports{endpoint: "udp://good:323"}}}, monitor.Config{}, Config{Engine: e}), lab
}

// TestEngineHosts: the overview shows the engine's hosts beside the one second-hand reads,
// in one panel worst first; a host known only from the engine has its page, whose panels show
// what its series carry and say what they cannot; when the engine stops, its panels say so
// naming it, and the host second-hand reads itself carries on.
func TestEngineHosts(t *testing.T) {
	h, lab := withEngine(t)
	body := get(t, h, "GET", "/").Body.String()
	for _, want := range []string{`id="panel-engine"`, `hx-get="engine/hosts"`, `hx-get="hosts/good/summary"`, "checking hosts"} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %s:\n%s", want, body)
		}
	}
	relativeOnly(t, "/", body)

	panel := get(t, h, "GET", "/engine/hosts").Body.String()
	mute, far := strings.Index(panel, `id="host-mute"`), strings.Index(panel, `id="host-far"`)
	if mute < 0 || far < 0 || mute > far || strings.Contains(panel, `id="host-good"`) {
		t.Errorf("the engine's panel: want mute (not answering) before far, and not good:\n%s", panel)
	}
	for _, want := range []string{`href="hosts/far/"`, `data-field="reference" value="nas.lan"`, `data-field="sources-reachable" value="1"`,
		"chronyd did not answer the last scrape of mute", "2 hosts with chrony_up series"} {
		if !strings.Contains(panel, want) {
			t.Errorf("the engine's panel lacks %s:\n%s", want, panel)
		}
	}
	if strings.Contains(panel, `hx-get="hosts/far/summary"`) {
		t.Error("an engine host's row asks for a fragment of its own")
	}

	page := get(t, h, "GET", "/hosts/far/")
	if page.Code != 200 || !strings.Contains(page.Body.String(), "what it cannot show") || !strings.Contains(page.Body.String(), `href="../../hosts/good/"`) {
		t.Errorf("/hosts/far/ = %d:\n%s", page.Code, page.Body)
	}
	relativeOnly(t, "/hosts/far/", page.Body.String())
	for p, want := range map[string]string{
		"panels/diagnosis":        `data-state="`,
		"panels/tracking":         `data-field="reference" value="nas.lan"`,
		"panels/sources":          `data-field="reach-answered" value="8"`,
		"panels/sourcestats":      `data-field="samples" value="8"`,
		"panels/server":           "is not in the series",
		"panels/history?range=1h": `data-chart="offset"`,
		"panels/events":           "panel-events",
		"sources/nas.lan":         "selectdata, ntpdata and authdata",
	} {
		rec := get(t, h, "GET", "/hosts/far/"+p)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) || strings.Contains(rec.Body.String(), `role="alert"`) {
			t.Errorf("far's %s = %d, want %s and no alert:\n%s", p, rec.Code, want, rec.Body)
		}
	}
	if rec := get(t, h, "GET", "/hosts/far/panels/sources"); strings.Contains(rec.Body.String(), "<img") || !strings.Contains(rec.Body.String(), "&lt;img src=x") {
		t.Errorf("a source name from a label is not escaped:\n%s", rec.Body)
	}
	e, err := engine.New(engine.Config{URL: lab.URL, HostLabel: "host"})
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(t, fleetHandler(t, nil, monitor.Config{}, Config{Engine: e}), "GET", "/readyz"); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), "every host is read from the Prometheus API") {
		t.Errorf("/readyz with no chronyd read directly: %d %s", rec.Code, rec.Body)
	}
	// The diagnosis, from the series: on the page first, for scripts, and as the row's Why.
	if rec := get(t, h, "GET", "/hosts/far/diagnosis.json"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"host": "far"`) ||
		!strings.Contains(rec.Body.String(), "selectdata") {
		t.Errorf("far's diagnosis.json = %d:\n%s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "GET", "/hosts/mute/panels/diagnosis"); !strings.Contains(rec.Body.String(), `data-state="failing"`) ||
		!strings.Contains(rec.Body.String(), "chrony_up 0") {
		t.Errorf("mute's diagnosis:\n%s", rec.Body)
	}
	if !strings.Contains(panel, `<tr id="host-mute" class="host-row status-unreachable state-failing"`) || !strings.Contains(panel, `data-field="why"`) {
		t.Errorf("the engine's rows have no diagnosis:\n%s", panel)
	}
	if rec := get(t, h, "GET", "/hosts/mute/panels/tracking"); !strings.Contains(rec.Body.String(), "chrony_up 0") {
		t.Errorf("mute's tracking does not say chronyd did not answer:\n%s", rec.Body)
	}
	// Beyond the store's month, from the engine.
	if rec := get(t, h, "GET", "/hosts/far/panels/history?range=1y"); !strings.Contains(rec.Body.String(), `id="range-1y" type="button" class="range" aria-pressed="true"`) ||
		!strings.Contains(rec.Body.String(), `data-chart="offset"`) || strings.Contains(rec.Body.String(), `role="alert"`) {
		t.Errorf("far's history over a year:\n%s", rec.Body)
	}
	if rec := get(t, h, "GET", "/hosts/far/history.csv"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), lab.URL) {
		t.Errorf("far's CSV = %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "GET", "/hosts/nowhere/"); rec.Code != http.StatusNotFound {
		t.Errorf("/hosts/nowhere/ = %d, want 404", rec.Code)
	}

	lab.Halt()
	// The overview answers from its last read of the engine at once, and reads again behind:
	// the failure comes with the next answer.
	testkit.Eventually(t, 30*time.Second, "the engine's panel to say it stopped", func() bool {
		panel = get(t, h, "GET", "/engine/hosts").Body.String()
		return strings.Contains(panel, `role="alert"`) && strings.Contains(panel, "The Prometheus API at "+lab.URL+" is not answering")
	})
	if rec := get(t, h, "GET", "/hosts/far/panels/history"); !strings.Contains(rec.Body.String(), lab.URL+" is not answering") {
		t.Errorf("with the engine stopped, far's history:\n%s", rec.Body)
	}
	if row := get(t, h, "GET", "/hosts/good/summary").Body.String(); !strings.Contains(row, `data-field="status" value="synchronised"`) {
		t.Errorf("the host second-hand reads itself, with the engine stopped:\n%s", row)
	}
}

// fakeHistory is a history.Reader that records the range it was asked for.
type fakeHistory struct {
	status history.Status
	asked  *history.Range
}

var _ history.Reader = fakeHistory{}

func (f fakeHistory) Status(string) history.Status { return f.status }
func (f fakeHistory) View(_ context.Context, host string, rng history.Range, _, now time.Time) (history.View, error) {
	*f.asked = rng
	return history.View{Host: host, Range: rng, From: now.Add(-rng.D), To: now}, nil
}
func (f fakeHistory) Events(context.Context, string, time.Time) (history.EventLog, error) {
	return history.EventLog{}, nil
}
func (f fakeHistory) Trend(context.Context, string, time.Time) (history.Trend, bool) {
	return history.Trend{}, false
}

// TestEveryRangeIsAskedOfTheReader: each range, 90 days to two years too, is asked as it is of
// the store (its summaries) and of an engine, with the same buttons; another is refused with
// the list.
func TestEveryRangeIsAskedOfTheReader(t *testing.T) {
	for _, engine := range []string{"", "http://prometheus:9090"} {
		for _, rng := range history.Ranges {
			q, msg := parseQuery("range="+rng.Name, "range")
			if msg != "" {
				t.Fatal(msg)
			}
			var asked history.Range
			var page strings.Builder
			if err := historyPanel(context.Background(), fakeHistory{status: history.Status{Engine: engine}, asked: &asked}, "h", q, time.Now(), time.Second).Render(&page); err != nil {
				t.Fatal(err)
			}
			if asked != rng {
				t.Errorf("engine %q, range %s: asked %+v", engine, rng.Name, asked)
			}
			if n := strings.Count(page.String(), `class="range"`); n != len(history.Ranges) {
				t.Errorf("engine %q, range %s: %d range buttons, want %d", engine, rng.Name, n, len(history.Ranges))
			}
		}
	}
	if _, msg := parseQuery("range=3y", "range"); !strings.Contains(msg, "30d, 90d, 1y or 2y") {
		t.Errorf("range=3y: %q", msg)
	}
}
