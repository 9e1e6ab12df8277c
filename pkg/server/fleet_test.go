package server

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// twoHosts is second-hand for "good" and "down", whose chronyd is unreachable.
func twoHosts(t *testing.T) http.Handler {
	t.Helper()
	down := &fakeReports{endpoint: "udp://down:323", tracking: func(context.Context) (chrony.Tracking, error) {
		return chrony.Tracking{}, &chrony.Error{Kind: chrony.KindUnreachable, Op: "tracking", Addr: "udp://down:323"}
	}}
	return fleetHandler(t, []monitor.Host{{Name: "good", Reporter: &fakeReports{endpoint: "udp://good:323"}}, {Name: "down", Reporter: down}},
		monitor.Config{}, Config{})
}

// relativeOnly fails the test if a page holds an absolute URL: it must work under a proxy's
// sub-path.
func relativeOnly(t *testing.T, path, body string) {
	t.Helper()
	for _, bad := range []string{`href="/`, `src="/`, `hx-get="/`, `action="/`} {
		if strings.Contains(body, bad) {
			t.Errorf("%s has an absolute URL (%s)", path, bad)
		}
	}
}

func TestOverviewRoutes(t *testing.T) {
	h := twoHosts(t)
	rec := get(t, h, "GET", "/")
	body := rec.Body.String()
	if rec.Code != 200 || strings.Count(body, `data-panel="summary"`) != 2 {
		t.Fatalf("/ = %d with %d rows", rec.Code, strings.Count(body, `data-panel="summary"`))
	}
	for _, want := range []string{`hx-get="hosts/good/summary"`, `hx-get="hosts/down/summary"`, `href="hosts/good/"`, "checking 2 hosts"} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}
	relativeOnly(t, "/", body)

	// The rows: each its own fragment, the dead one with its reason.
	row := get(t, h, "GET", "/hosts/down/summary").Body.String()
	if !strings.Contains(row, `data-field="status" value="unreachable"`) || !strings.Contains(row, "chronyd is not answering at udp://down:323") {
		t.Errorf("the dead host's row:\n%s", row)
	}
	row = get(t, h, "GET", "/hosts/good/summary").Body.String()
	if !strings.Contains(row, `data-field="status" value="synchronised"`) || !strings.Contains(row, `data-field="sources-reachable" value="1"`) {
		t.Errorf("the good host's row:\n%s", row)
	}
	// Once read, the overview orders them worst first and counts the synchronised.
	body = get(t, h, "GET", "/").Body.String()
	if strings.Index(body, `id="host-down"`) > strings.Index(body, `id="host-good"`) || !strings.Contains(body, "1 of 2 hosts synchronised") {
		t.Errorf("the overview after the rows were read is not worst first, or miscounts:\n%s", body)
	}
	// Rows shown from what was read before ask for their fragment at once all the same.
	if strings.Count(body, `hx-trigger="load, panel-refresh"`) != 2 {
		t.Errorf("the rows of the overview do not all load at once:\n%s", body)
	}

	// A host's page, its fragments, the way to it.
	rec = get(t, h, "GET", "/hosts/good/")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `hx-get="panels/tracking"`) || !strings.Contains(rec.Body.String(), `href="../../assets/`) ||
		!strings.Contains(rec.Body.String(), `href="../../hosts/down/"`) {
		t.Errorf("/hosts/good/ = %d:\n%s", rec.Code, rec.Body)
	}
	relativeOnly(t, "/hosts/good/", rec.Body.String())
	if rec := get(t, h, "GET", "/hosts/good"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "good/" {
		t.Errorf("/hosts/good = %d Location %q, want a relative redirect to good/", rec.Code, rec.Header().Get("Location"))
	}
	for _, p := range []string{"tracking", "sources", "sourcestats", "rtc"} {
		if rec := get(t, h, "GET", "/hosts/good/panels/"+p); rec.Code != 200 || strings.Contains(rec.Body.String(), `data-failed="`) {
			t.Errorf("/hosts/good/panels/%s = %d", p, rec.Code)
		}
	}
	if rec := get(t, h, "GET", "/hosts/down/panels/tracking"); !strings.Contains(rec.Body.String(), `data-failed="`) {
		t.Errorf("/hosts/down/panels/tracking shows no error")
	}

	// What is not there: 404 with the hosts listed, relative to where the page is.
	for path, link := range map[string]string{
		"/hosts/nope/":                `href="../../hosts/good/"`,
		"/hosts/nope":                 `href="../hosts/good/"`,
		"/hosts/nope/panels/tracking": `href="../../../hosts/good/"`,
		"/hosts/good/panels/nope":     `href="../../../hosts/good/"`,
		"/hosts/nope/summary":         `href="../../hosts/good/"`,
		"/panels/tracking":            `href="../hosts/good/"`,
		"/nothing/here":               `href="../hosts/good/"`,
		"/hosts/%3Cscript%3E/summary": "no host named “&lt;script&gt;”",
	} {
		rec := get(t, h, "GET", path)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), link) {
			t.Errorf("%s = %d, want 404 with %s:\n%s", path, rec.Code, link, rec.Body)
		}
		relativeOnly(t, path, rec.Body.String())
	}
}

func TestReadyzPerHost(t *testing.T) {
	h := twoHosts(t)
	rec := get(t, h, "GET", "/readyz")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "good: ready: chronyd at udp://good:323 answers (synchronised)") ||
		!strings.Contains(rec.Body.String(), "down: not ready: chronyd is not answering at udp://down:323") {
		t.Errorf("readyz = %d:\n%s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "GET", "/readyz?host=good"); rec.Code != 200 || strings.Contains(rec.Body.String(), "down") {
		t.Errorf("readyz?host=good = %d:\n%s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "GET", "/readyz?host=down"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz?host=down = %d", rec.Code)
	}
	if rec := get(t, h, "GET", "/readyz?host=nope"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "good, down") {
		t.Errorf("readyz?host=nope = %d %q", rec.Code, rec.Body)
	}
	if rec := get(t, h, "GET", "/readyz?hots=good"); rec.Code != http.StatusBadRequest {
		t.Errorf("readyz?hots=good = %d, want 400", rec.Code)
	}
}

// TestOneHostAtTheRootAndUnderItsName: with one host, the root is its page and /panels/* its
// fragments, as before there were several; hosts/NAME/ works too.
func TestOneHostAtTheRootAndUnderItsName(t *testing.T) {
	h := oneHost(t, &fakeReports{}, Config{})
	root := get(t, h, "GET", "/").Body.String()
	if !strings.Contains(root, `hx-get="panels/tracking"`) || strings.Contains(root, "all hosts") || strings.Contains(root, "summary") {
		t.Errorf("/ with one host is not its page:\n%s", root)
	}
	if rec := get(t, h, "GET", "/hosts/local/"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `href="../../assets/`) {
		t.Errorf("/hosts/local/ = %d", rec.Code)
	}
	if rec := get(t, h, "GET", "/hosts/local/panels/sources"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "time.lan") {
		t.Errorf("/hosts/local/panels/sources = %d", rec.Code)
	}
}

// TestSlowHostsRowWaitsBriefly: a row whose chronyd does not answer within RowWait answers
// "waiting" at once and asks again with since=; that request gets the read it was waiting for.
func TestSlowHostsRowWaitsBriefly(t *testing.T) {
	release := make(chan struct{})
	slow := &fakeReports{tracking: func(context.Context) (chrony.Tracking, error) {
		<-release
		return chrony.Tracking{RefID: 1, Stratum: 4}, nil
	}}
	h := fleetHandler(t, []monitor.Host{{Name: "slow", Reporter: slow}, {Name: "other", Reporter: &fakeReports{}}},
		monitor.Config{}, Config{RowWait: 20 * time.Millisecond})
	row := get(t, h, "GET", "/hosts/slow/summary").Body.String()
	m := regexp.MustCompile(`hx-get="hosts/slow/summary\?since=(\d+)"`).FindStringSubmatch(row)
	if m == nil || !strings.Contains(row, "waiting for chronyd at udp://127.0.0.1:323") || !strings.Contains(row, `data-next-ms="1000"`) {
		t.Fatalf("the slow host's row:\n%s", row)
	}
	// The other host's row does not wait for the slow one.
	if row := get(t, h, "GET", "/hosts/other/summary").Body.String(); !strings.Contains(row, `value="synchronised"`) {
		t.Errorf("the other row:\n%s", row)
	}
	close(release)
	// The read finishes; asking again with since= gets it even with no reuse window.
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		got = get(t, h, "GET", "/hosts/slow/summary?since="+m[1]).Body.String()
		if !strings.Contains(got, "waiting") {
			break
		}
	}
	if !strings.Contains(got, `data-field="stratum" value="4"`) {
		t.Errorf("the row after chronyd answered:\n%s", got)
	}
	if rec := get(t, h, "GET", "/hosts/slow/summary?since=soon"); rec.Code != http.StatusBadRequest {
		t.Errorf("since=soon = %d, want 400", rec.Code)
	}
}

// TestDeadHostsRowAnswersAtOnce: a host whose last read failed is asked again in the
// background; meanwhile its row answers at once with that failure, and asks again shortly.
func TestDeadHostsRowAnswersAtOnce(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int64
	dead := &fakeReports{tracking: func(context.Context) (chrony.Tracking, error) {
		if calls.Add(1) > 1 {
			<-release // the second read hangs as a silent chronyd does
		}
		return chrony.Tracking{}, &chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://dead:323", Attempts: 3}
	}}
	// A row waits a minute for a host not known to be down: this one must not.
	h := fleetHandler(t, []monitor.Host{{Name: "dead", Reporter: dead}, {Name: "other", Reporter: &fakeReports{}}},
		monitor.Config{}, Config{RowWait: time.Minute})
	if row := get(t, h, "GET", "/hosts/dead/summary").Body.String(); !strings.Contains(row, `value="unreachable"`) {
		t.Fatalf("first row:\n%s", row)
	}
	row := get(t, h, "GET", "/hosts/dead/summary").Body.String()
	if !strings.Contains(row, `value="unreachable"`) || !strings.Contains(row, "asking again") || !strings.Contains(row, "summary?since=") {
		t.Errorf("the dead host's row while it is asked again:\n%s", row)
	}
	// The new read goes on in the background.
	testkit.Eventually(t, 30*time.Second, "the second read of the dead host", func() bool { return calls.Load() == 2 })
}
