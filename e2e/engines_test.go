package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/net/html"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/enginelab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestEnginesReadSecondHand: Debian's Prometheus and VictoriaMetrics, each scraping two
// second-hand that watch different chronyd (alpha; beta and gamma) and a chrony_exporter-like
// target (gamma alone, named by its instance label); a third second-hand reading each engine
// shows every host in its overview, a host's history that is the store's for the same values,
// the event of an upstream stopped, and the engine's failure inline when the engine stops while
// the host it reads itself carries on. Everything runs as processes on loopback.
func TestEnginesReadSecondHand(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts chronyd, two engines and five second-hand")
	}
	for _, k := range enginelab.Kinds {
		if _, err := enginelab.Binary(k); err != nil {
			if strict() {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()

	// chronyd: two upstreams on loopback, and three hosts synchronised to them.
	ports := make([]int, 5)
	for i := range ports {
		p, err := chronylab.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	up1, up2 := ports[0], ports[1]
	daemon := func(name string, cfg chronylab.Config) *chronylab.Daemon {
		d, err := chronylab.NewDaemon(dir, name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		needRoot(t, d.Start(ctx))
		t.Cleanup(func() { d.Stop() })
		return d
	}
	daemon("up1", chronylab.Config{Conf: "local stratum 8\n", NTPPort: up1})
	upstream2 := daemon("up2", chronylab.Config{Conf: "local stratum 9\n", NTPPort: up2, NTPAddr: "127.0.0.2"})
	poll := "iburst minpoll -2 maxpoll -2"
	alpha := daemon("alpha", chronylab.Config{CmdPort: ports[2], Conf: fmt.Sprintf("server 127.0.0.1 port %d %s\nserver 127.0.0.2 port %d %s\n", up1, poll, up2, poll)})
	beta := daemon("beta", chronylab.Config{CmdPort: ports[3], Conf: fmt.Sprintf("server 127.0.0.1 port %d %s\n", up1, poll)})
	gamma := daemon("gamma", chronylab.Config{CmdPort: ports[4], Conf: fmt.Sprintf("server 127.0.0.1 port %d %s\n", up1, poll)})
	for _, d := range []*chronylab.Daemon{alpha, beta, gamma} {
		if err := chronylab.WaitSynchronised(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	// Two second-hand recording their hosts every second; a scrape reads what the recorder
	// read (the reuse window, 5 s, is longer than a sample), so the engines and the stores hold
	// the same values. A dead chronyd is known at once (100 ms), within a scrape's timeout.
	bin := buildSecondHand(t, dir)
	live := []string{"--sample", "1s", "--refresh", "10s", "--timeout", "100ms", "--retries", "0"}
	a := startSecondHand(t, bin, dir, "a", append([]string{"--chrony", "alpha=" + alpha.UDPAddress()}, live...)...)
	b := startSecondHand(t, bin, dir, "b", append([]string{"--chrony", "beta=" + beta.UDPAddress(), "--chrony", "gamma=" + gamma.UDPAddress()}, live...)...)
	// The engines start once alpha's store has its first sample, so that no scrape is
	// answered by a read the store does not have.
	testkit.Eventually(t, 30*time.Second, "a's first sample of alpha", func() bool { return len(storeRows(t, a.url+"/history.csv?range=1h")) > 0 })

	scrape := fmt.Sprintf(`  - job_name: second-hand
    static_configs: [{targets: ["%[1]s"]}]
  - job_name: second-hand-b
    params: {host: [beta]}
    static_configs: [{targets: ["%[2]s"]}]
  - job_name: chrony
    params: {host: [gamma]}
    static_configs: [{targets: ["%[2]s"]}]
    relabel_configs:
      - target_label: instance
        replacement: gamma`, a.addr, b.addr)
	engines := map[enginelab.Kind]*enginelab.Engine{}
	for _, k := range enginelab.Kinds {
		e, err := enginelab.Start(ctx, k, enginelab.Options{Dir: filepath.Join(dir, string(k)), Scrape: scrape, Interval: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Stop() })
		engines[k] = e
	}
	prom, vm := engines[enginelab.Prometheus], engines[enginelab.VictoriaMetrics]

	// The readers: one per engine reading no chronyd itself, one reading gamma itself beside
	// Prometheus' hosts, one naming hosts by their instance label.
	reader := []string{"--refresh", "2s", "--sample", "0"}
	readers := map[enginelab.Kind]*secondHand{
		enginelab.Prometheus:      startSecondHand(t, bin, dir, "c-prom", append([]string{"--prometheus", prom.URL, "--chrony", "gamma=" + gamma.UDPAddress()}, reader...)...),
		enginelab.VictoriaMetrics: startSecondHand(t, bin, dir, "c-vm", append([]string{"--prometheus", vm.URL}, reader...)...),
	}
	byInstance := startSecondHand(t, bin, dir, "c-instance", append([]string{"--prometheus", prom.URL, "--prometheus-host-label", "instance"}, reader...)...)

	t.Run("every host in the overview", func(t *testing.T) {
		for kind, c := range readers {
			want := []string{"alpha", "beta", "gamma"}
			if kind == enginelab.Prometheus {
				want = []string{"alpha", "beta"} // gamma it reads itself: a row of its own
			}
			took := testkit.Eventually(t, time.Minute, string(kind)+"'s hosts synchronised in the overview", func() bool {
				panel := fetchBody(t, c.url+"/engine/hosts")
				for _, h := range want {
					if !strings.Contains(panel, `<tr id="host-`+h+`" class="host-row status-synchronised `) {
						return false
					}
				}
				return true
			})
			t.Logf("%s: %v in the overview %v after it started", kind, want, took.Round(time.Millisecond))
		}
		if row := fetchBody(t, readers[enginelab.Prometheus].url+"/hosts/gamma/summary"); !strings.Contains(row, `data-field="status" value="synchronised"`) {
			t.Errorf("gamma, read by the reader itself:\n%s", row)
		}
		// By instance: the chrony_exporter-like target is "gamma", each second-hand's whole
		// scrape its address.
		testkit.Eventually(t, time.Minute, "the hosts by instance", func() bool {
			panel := fetchBody(t, byInstance.url+"/engine/hosts")
			return strings.Contains(panel, `<tr id="host-gamma" class="host-row status-synchronised `) &&
				strings.Contains(panel, `id="host-`+strings.ReplaceAll(a.addr, ":", "-")+`"`)
		})
		if p := fetchBody(t, byInstance.url+"/hosts/gamma/panels/tracking"); !strings.Contains(p, `data-field="reference" value="127.0.0.1"`) {
			t.Errorf("gamma's tracking by instance:\n%s", p)
		}
		inBrowser(t, readers[enginelab.Prometheus])
	})

	t.Run("an upstream stopped is an event", func(t *testing.T) {
		if err := upstream2.Stop(); err != nil {
			t.Fatal(err)
		}
		// "127.0.0.2 unreachable", or while the store's moments say it goes on, "127.0.0.2
		// still unreachable, since ...".
		const want = "127.0.0.2 "
		has := func(page string) bool {
			return strings.Contains(page, want+"unreachable") || strings.Contains(page, want+"still unreachable")
		}
		testkit.Eventually(t, 30*time.Second, "the store's event", func() bool { return has(fetchBody(t, a.url+"/panels/events")) })
		for kind, c := range readers {
			var last string
			if !testkit.Within(time.Minute, func() bool { last = fetchBody(t, c.url+"/hosts/alpha/panels/events"); return has(last) }) {
				t.Fatalf("%s: no %q in alpha's events:\n%s", kind, want, last)
			}
			t.Logf("%s: %q in the events", kind, want)
		}
	})

	t.Run("a host's history is the store's", func(t *testing.T) {
		// Enough values in both engines, then alpha stops: no new value anywhere.
		for kind, e := range engines {
			testkit.Eventually(t, 2*time.Minute, string(kind)+" to hold 30 of alpha's values", func() bool {
				return len(engineValues(t, e.URL, `chrony_tracking_system_time_seconds{host="alpha"}[1h]`)) >= 30
			})
		}
		if err := alpha.Stop(); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 30*time.Second, "a to record alpha's silence", func() bool {
			return strings.Contains(fetchBody(t, a.url+"/panels/events"), "chronyd still not answering")
		})
		for kind, e := range engines {
			testkit.Eventually(t, 30*time.Second, string(kind)+" to have chrony_up 0 of alpha", func() bool {
				v := engineValues(t, e.URL, `chrony_up{host="alpha"}[5s]`)
				return len(v) > 0 && v[len(v)-1].V == 0
			})
		}
		rows := storeRows(t, a.url+"/history.csv?range=1h")
		for kind, c := range readers {
			t.Run(string(kind), func(t *testing.T) {
				compareWithStore(t, engines[kind].URL, rows, lastValuesDrawn(t, engines[kind].URL, c.url+"/hosts/alpha/panels/history?range=1h", rows))
			})
		}
	})

	t.Run("the engine stopped is an error in its panels only", func(t *testing.T) {
		for kind, e := range engines {
			e.Halt()
			c := readers[kind]
			testkit.Eventually(t, 30*time.Second, string(kind)+"'s panel to say it stopped", func() bool {
				panel := fetchBody(t, c.url+"/engine/hosts")
				return strings.Contains(panel, `role="alert"`) && strings.Contains(panel, "The Prometheus API at "+e.URL+" is not answering")
			})
			if p := fetchBody(t, c.url+"/hosts/beta/panels/history"); !strings.Contains(p, e.URL+" is not answering") {
				t.Errorf("%s: beta's history with the engine stopped:\n%s", kind, p)
			}
		}
		// The host the reader reads itself carries on.
		c := readers[enginelab.Prometheus]
		for _, p := range []string{"/hosts/gamma/summary?fresh=1", "/hosts/gamma/panels/tracking?fresh=1", "/hosts/gamma/panels/sources?fresh=1"} {
			if body := fetchBody(t, c.url+p); strings.Contains(body, `role="alert"`) || !strings.Contains(body, "data-field") {
				t.Errorf("%s with the engine stopped:\n%s", p, body)
			}
		}
	})
}

// compareWithStore checks a history panel read from an engine against the store's record of
// the same host (its CSV), from the first value the engine has: the offset's, the maximum
// error's and the root's extremes are the store's, their percentiles within two ranks of the
// store's (the engine counts each value once per scrape, the store once per sample), and the
// frequency's, skew's and RMS offset's extremes are values the store recorded.
// lastValuesDrawn waits until the reader's view of alpha has the offset's extremes the store
// recorded since the engine's first value: a reader's view ends where its last whole column does
// and is kept until a column passes, so one asked just after alpha stopped may end before its
// last values. A view that never gets there fails here, naming what it waited for.
func lastValuesDrawn(t *testing.T, engineURL, url string, rows []map[string]string) string {
	t.Helper()
	var vals []float64
	for _, r := range fromEngineFirst(t, engineURL, rows) {
		if r["record"] == "sample" && r["system_offset_s"] != "" {
			vals = append(vals, num(r["system_offset_s"]))
		}
	}
	if len(vals) == 0 {
		t.Fatal("no offset in the store since the engine's first value")
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	var page string
	var st map[string]float64
	if testkit.Within(2*time.Minute, func() bool {
		page = fetchBody(t, url)
		st = chartStats(t, page)["offset/offset"]
		return strings.Contains(page, `role="alert"`) || (st != nil && near(st["min"], lo) && near(st["max"], hi))
	}) {
		return page
	}
	var raw []float64
	for _, p := range engineValues(t, engineURL, `chrony_tracking_system_time_seconds{host="alpha"}[1h]`) {
		raw = append(raw, -p.V)
	}
	t.Fatalf("waited 2m for the reader's view of the offset to reach the store's extremes %g and %g since the engine's first value: the view's statistics %v; the engine's %d raw offsets span %g to %g\n%s",
		lo, hi, st, len(raw), slices.Min(raw), slices.Max(raw), page)
	return ""
}

// fromEngineFirst is the store's rows from the sample whose offset is the engine's first value.
// VictoriaMetrics keeps 12 significant digits of a value, Prometheus all of them.
func fromEngineFirst(t *testing.T, engineURL string, rows []map[string]string) []map[string]string {
	t.Helper()
	sys := engineValues(t, engineURL, `chrony_tracking_system_time_seconds{host="alpha"}[1h]`)
	if len(sys) == 0 {
		t.Fatal("the engine holds no offset of alpha")
	}
	first := -sys[0].V
	for i, r := range rows {
		if r["record"] == "sample" && r["system_offset_s"] != "" && near(num(r["system_offset_s"]), first) {
			return rows[i:]
		}
	}
	t.Fatalf("the engine's first offset %v is not one the store recorded", first)
	return nil
}

func compareWithStore(t *testing.T, engineURL string, rows []map[string]string, page string) {
	t.Helper()
	if strings.Contains(page, `role="alert"`) {
		t.Fatalf("the history panel shows an error:\n%s", page)
	}
	got := chartStats(t, page)
	sys := engineValues(t, engineURL, `chrony_tracking_system_time_seconds{host="alpha"}[1h]`)
	// The store's samples from the one the engine's first value is.
	since := fromEngineFirst(t, engineURL, rows)
	samples := func(col string) []float64 {
		var out []float64
		for _, r := range since {
			if r["record"] == "sample" && r[col] != "" {
				out = append(out, num(r[col]))
			}
		}
		return out
	}
	// The same values, each once: what the engine scraped is what the store recorded.
	var scraped []float64
	for _, p := range sys {
		scraped = append(scraped, -p.V)
	}
	if a, b := distinct(scraped), distinct(samples("system_offset_s")); !slices.EqualFunc(a, b, near) {
		t.Errorf("the engine's %d distinct offsets and the store's %d are not the same values:\n%v\n%v", len(a), len(b), a, b)
	}
	// The offset and the root delay change only at a clock update, so the engine's scrapes and
	// the store's samples hold the same values. The root dispersion, and the maximum error with
	// it, grow between updates: a scrape reads them at another moment than a sample, so the
	// engine's values may differ from the store's by what they grow between two samples.
	for _, c := range []struct {
		chart, series, col string
		grows              bool
	}{
		{"offset", "offset", "system_offset_s", false}, {"offset", "max error", "max_error_s", true},
		{"root", "root delay", "root_delay_s", false}, {"root", "root dispersion", "root_dispersion_s", true},
	} {
		vals := samples(c.col)
		var step float64
		if c.grows {
			for i := 1; i < len(vals); i++ {
				step = max(step, math.Abs(vals[i]-vals[i-1]))
			}
		}
		sort.Float64s(vals)
		st := got[c.chart+"/"+c.series]
		if st == nil {
			t.Errorf("no statistics of %s", c.series)
			continue
		}
		within := func(v, want float64) bool { return near(v, want) || math.Abs(v-want) <= step }
		if !within(st["min"], vals[0]) || !within(st["max"], vals[len(vals)-1]) {
			t.Errorf("%s: min %v max %v, the store's %v %v (a step between two samples: %v)", c.series, st["min"], st["max"], vals[0], vals[len(vals)-1], step)
		}
		for field, q := range map[string]float64{"p1": 0.01, "p5": 0.05, "p50": 0.5, "p95": 0.95, "p99": 0.99} {
			r := q * float64(len(vals)-1)
			lo, hi := vals[max(int(math.Floor(r))-2, 0)]-step, vals[min(int(math.Ceil(r))+2, len(vals)-1)]+step
			if st[field] < lo-1e-12 || st[field] > hi+1e-12 {
				t.Errorf("%s: %s %v, the store's values about that rank %v to %v", c.series, field, st[field], lo, hi)
			}
		}
		t.Logf("%s: %d values in the store, %v in the engine; min %g max %g median %g", c.series, len(vals), st["n"], st["min"], st["max"], st["p50"])
	}
	for _, c := range []struct{ chart, series, col string }{
		{"frequency", "frequency", "frequency_ppm"}, {"skew", "skew", "skew_ppm"}, {"rms", "RMS offset", "rms_offset_s"},
	} {
		var updates []float64
		for _, r := range rows {
			if r["record"] == "update" && r[c.col] != "" {
				updates = append(updates, num(r[c.col]))
			}
		}
		st := got[c.chart+"/"+c.series]
		for _, field := range []string{"min", "max"} {
			if !slices.ContainsFunc(updates, func(v float64) bool { return near(v, st[field]) }) {
				t.Errorf("%s: the %s %v is no value the store recorded", c.series, field, st[field])
			}
		}
	}
}

// distinct is vals sorted, each value once (as near as VictoriaMetrics keeps them).
func distinct(vals []float64) []float64 {
	s := slices.Clone(vals)
	sort.Float64s(s)
	return slices.CompactFunc(s, near)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))+1e-18 }

func num(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// chartStats reads the statistics tables of a history panel: "chart/series" → field → value.
func chartStats(t *testing.T, page string) map[string]map[string]float64 {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	attr := func(n *html.Node, key string) string {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val
			}
		}
		return ""
	}
	var text func(*html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(n *html.Node, chart string, row map[string]float64)
	walk = func(n *html.Node, chart string, row map[string]float64) {
		if n.Type == html.ElementNode {
			switch {
			case attr(n, "data-chart") != "": // a chart's figure, and its statistics' table
				chart = attr(n, "data-chart")
			case n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody":
				row = map[string]float64{}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && c.Data == "th" {
						out[chart+"/"+strings.TrimSpace(text(c))] = row
					}
				}
			case n.Data == "data" && row != nil:
				row[attr(n, "data-field")] = num(attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, chart, row)
		}
	}
	walk(doc, "", nil)
	return out
}

// storeRows reads a second-hand's CSV export.
func storeRows(t *testing.T, url string) []map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s = %s: %s", url, resp.Status, body)
	}
	records, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, name := range records[0] {
			row[name] = rec[i]
		}
		out = append(out, row)
	}
	return out
}

type point struct {
	T time.Time
	V float64
}

// engineValues are the raw points of a range vector selector, in time order, asked of the
// engine directly.
func engineValues(t *testing.T, url, selector string) []point {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, _, err := v1.NewAPI(c).Query(ctx, selector, time.Now())
	if err != nil {
		t.Fatalf("%s at %s: %v", selector, url, err)
	}
	var out []point
	if m, ok := v.(model.Matrix); ok {
		for _, s := range m {
			for _, p := range s.Values {
				// VictoriaMetrics gives the staleness markers too: a scrape without the series.
				if v := float64(p.Value); !math.IsNaN(v) {
					out = append(out, point{p.Timestamp.Time(), v})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T.Before(out[j].T) })
	return out
}

// inBrowser opens a reader's overview in chromium: its own host's row and the engine's panel
// both populate, and the header counts them all; then the page of a host known only from the
// engine, every panel with its data. Both pass axe's WCAG 2.1 AA rules in both schemes.
func inBrowser(t *testing.T, c *secondHand) {
	t.Helper()
	b := newBrowser(t, 1280, 900)
	b.do(t, chromedp.Navigate(c.url+"/"))
	b.waitFor(t, "every row", `['gamma','alpha','beta'].every(h => { const r = document.getElementById('host-' + h); return r && r.dataset.status === 'synchronised'; })`, 30*time.Second)
	b.waitFor(t, "the count", `document.getElementById('fleet-count').textContent === '3 of 3 hosts synchronised'`, 10*time.Second)
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, "overview-engine.png", png)
	audit(t, b, "the overview with an engine's hosts")

	b.do(t, chromedp.Click(chromedp.CSS(`#host-alpha th a`)))
	b.waitAfterClick(t, "alpha's page", `location.pathname.endsWith('/hosts/alpha/') && !!document.getElementById('panel-tracking')`, 15*time.Second)
	b.waitFor(t, "its panels", `['tracking','sources','sourcestats','server','history','events'].every(id => { const p = document.getElementById('panel-' + id); `+
		`return p && p.querySelector('[data-age-ms]') && !p.querySelector('.loading') && !p.querySelector('[role=alert]'); })`, 30*time.Second)
	if got := eval[string](t, b, `document.querySelector('#panel-sources [data-field=reach-answered]').textContent`); !strings.HasSuffix(got, "of 8") {
		t.Errorf("a source's reach on an engine host's page reads %q", got)
	}
	png, err = chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, "host-engine.png", png)
	audit(t, b, "a host's page from the engine")
	if p := b.problemsSoFar(); len(p) > 0 {
		t.Errorf("the browser logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// secondHand is a second-hand process on loopback.
type secondHand struct {
	addr, url string
}

func buildSecondHand(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "second-hand")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/second-hand")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startSecondHand runs bin on a free loopback port with args and its own data directory, and
// waits until it answers.
func startSecondHand(t *testing.T, bin, dir, name string, args ...string) *secondHand {
	t.Helper()
	addr := "127.0.0.1:" + testkit.FreePort(t)
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--listen", addr, "--data-dir", filepath.Join(dir, name)}, args...)...)
	cmd.Env = append(os.Environ(), "SECOND_HAND_CHRONY=")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("%s's log:\n%s", name, testkit.LastLines(string(out), 20))
		}
	})
	s := &secondHand{addr: addr, url: "http://" + addr}
	testkit.Eventually(t, 30*time.Second, name+" to answer", func() bool {
		select {
		case err := <-done:
			done <- err
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("%s exited: %v\n%s", name, err, out)
		default:
		}
		resp, err := http.Get(s.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return s
}

func fetchBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
