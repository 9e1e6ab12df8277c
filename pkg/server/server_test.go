package server

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/assets"
	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/monitor"
)

// fakeReports is a monitor.Reporter made of functions; nil ones answer small reports.
type fakeReports struct {
	tracking    func(context.Context) (chrony.Tracking, error)
	sources     func(context.Context) ([]chrony.Source, error)
	sourceStats func(context.Context) ([]chrony.SourceStats, error)
	rtc         func(context.Context) (chrony.RTC, error)
	selection   func(context.Context) ([]chrony.Selection, error)
	ntpData     func(context.Context, netip.Addr) (chrony.NTPData, error)
	endpoint    string
}

// notAuthorised is what chronyd answers over UDP to a report it gives only on its socket.
func notAuthorised(op string) error {
	return &chrony.Error{Kind: chrony.KindNotAuthorised, Status: chrony.StatusUnauth, Op: op}
}

var _ monitor.Reporter = (*fakeReports)(nil)

func (f *fakeReports) Tracking(ctx context.Context) (chrony.Tracking, error) {
	if f.tracking == nil {
		return chrony.Tracking{RefID: 1, Stratum: 2}, nil
	}
	return f.tracking(ctx)
}

func (f *fakeReports) NumSources(context.Context) (int, error) { return 1, nil }

func (f *fakeReports) SourcesN(ctx context.Context, _ int) ([]chrony.Source, error) {
	if f.sources == nil {
		return []chrony.Source{{Name: "time.lan", Reach: 0o377}}, nil
	}
	return f.sources(ctx)
}

func (f *fakeReports) SourceStatsN(ctx context.Context, _ int) ([]chrony.SourceStats, error) {
	if f.sourceStats == nil {
		return []chrony.SourceStats{{Name: "time.lan", Samples: 7}}, nil
	}
	return f.sourceStats(ctx)
}

func (f *fakeReports) RTC(ctx context.Context) (chrony.RTC, error) {
	if f.rtc == nil {
		return chrony.RTC{}, nil
	}
	return f.rtc(ctx)
}

func (f *fakeReports) Endpoint() string {
	if f.endpoint == "" {
		return "udp://127.0.0.1:323"
	}
	return f.endpoint
}

func (f *fakeReports) Close() error { return nil }

// oneHost is second-hand's handler for one host read through r, named "local" as a
// configuration without names calls it.
func oneHost(t testing.TB, r monitor.Reporter, cfg Config) http.Handler {
	t.Helper()
	return fleetHandler(t, []monitor.Host{{Name: "local", Reporter: r}}, monitor.Config{}, cfg)
}

func fleetHandler(t testing.TB, hosts []monitor.Host, mc monitor.Config, cfg Config) http.Handler {
	t.Helper()
	f, err := monitor.NewFleet(hosts, mc)
	if err != nil {
		t.Fatal(err)
	}
	return New(f, cfg)
}

func get(t *testing.T, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var unreachable = &chrony.Error{Kind: chrony.KindUnreachable, Op: "source statistics", Addr: "udp://127.0.0.1:323",
	Err: errors.New("connection refused")}

func TestPageLoadsWithoutChronyd(t *testing.T) {
	called := false
	h := oneHost(t, &fakeReports{tracking: func(context.Context) (chrony.Tracking, error) {
		called = true
		return chrony.Tracking{}, unreachable
	}}, Config{Refresh: 5 * time.Second})
	rec := get(t, h, "GET", "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d", rec.Code)
	}
	if called {
		t.Error("the page queried chronyd; it must only load the panels' fragments")
	}
	body := rec.Body.String()
	for _, want := range []string{"panels/tracking", "panels/sources", "panels/sourcestats", "panels/rtc",
		"assets/" + assets.HTMX.Name, "assets/" + assets.Style.Name, `data-refresh-ms="5000"`, "udp://127.0.0.1:323"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
}

// TestOneFailingPanel: a failing report answers 200 with that panel's error, and the other
// panels are untouched.
func TestOneFailingPanel(t *testing.T) {
	h := oneHost(t, &fakeReports{sourceStats: func(context.Context) ([]chrony.SourceStats, error) {
		return nil, unreachable
	}}, Config{})
	for _, tc := range []struct {
		path    string
		failing bool
	}{
		{"/panels/tracking", false}, {"/panels/sources", false}, {"/panels/sourcestats", true}, {"/panels/rtc", false},
	} {
		rec := get(t, h, "GET", tc.path)
		if rec.Code != http.StatusOK {
			t.Errorf("%s = %d, want 200 whatever chronyd says", tc.path, rec.Code)
		}
		body := rec.Body.String()
		hasError := strings.Contains(body, `data-failed="`)
		if hasError != tc.failing {
			t.Errorf("%s: error shown = %v, want %v", tc.path, hasError, tc.failing)
		}
		if tc.failing && !strings.Contains(body, "Not answering (connection refused)") {
			t.Errorf("%s: the error does not say what the request met:\n%s", tc.path, body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", tc.path, rec.Header().Get("Cache-Control"))
		}
		if !strings.Contains(body, `hx-swap-oob="true">udp://127.0.0.1:323<`) {
			t.Errorf("%s: no out-of-band endpoint update", tc.path)
		}
	}
}

// TestPanicIsContained: a panic while reading a report is that panel's error; a panic in a
// handler is a 500; either way the server goes on serving.
func TestPanicIsContained(t *testing.T) {
	f := &fakeReports{sources: func(context.Context) ([]chrony.Source, error) { panic("boom") }}
	h := oneHost(t, f, Config{})
	if rec := get(t, h, "GET", "/panels/sources"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "panic: boom") {
		t.Errorf("panicking report = %d %q, want the panel's error", rec.Code, rec.Body)
	}
	h = oneHost(t, &panickyEndpoint{f}, Config{})
	if rec := get(t, h, "GET", "/panels/tracking"); rec.Code != http.StatusInternalServerError {
		t.Errorf("panicking handler = %d, want 500", rec.Code)
	}
	if rec := get(t, h, "GET", "/healthz"); rec.Code != http.StatusOK {
		t.Errorf("after a panic, healthz = %d, want 200", rec.Code)
	}
}

type panickyEndpoint struct{ *fakeReports }

func (*panickyEndpoint) Endpoint() string { panic("endpoint") }

func TestProbes(t *testing.T) {
	ok := oneHost(t, &fakeReports{}, Config{})
	if rec := get(t, ok, "GET", "/healthz"); rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Errorf("healthz = %d %q", rec.Code, rec.Body)
	}
	if rec := get(t, ok, "GET", "/readyz"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "local: ready: chronyd at udp://127.0.0.1:323 answers") {
		t.Errorf("readyz = %d %q", rec.Code, rec.Body)
	}
	down := oneHost(t, &fakeReports{tracking: func(context.Context) (chrony.Tracking, error) { return chrony.Tracking{}, unreachable }}, Config{})
	if rec := get(t, down, "GET", "/healthz"); rec.Code != 200 {
		t.Errorf("healthz with chronyd down = %d, want 200: the process is alive", rec.Code)
	}
	rec := get(t, down, "GET", "/readyz")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "not answering at udp://127.0.0.1:323") ||
		!strings.Contains(rec.Body.String(), "fix: ") {
		t.Errorf("readyz with chronyd down = %d %q, want 503 with the reason and the fix", rec.Code, rec.Body)
	}
}

func TestAssets(t *testing.T) {
	h := oneHost(t, &fakeReports{}, Config{})
	rec := get(t, h, "GET", "/assets/"+assets.HTMX.Name, "Accept-Encoding", "gzip, br")
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("htmx = %d, encoding %q", rec.Code, rec.Header().Get("Content-Encoding"))
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control = %q, want a year and immutable", cc)
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !strings.Contains(string(body), `version:"2.0.11"`) {
		t.Errorf("served htmx is not 2.0.11")
	}
	if rec := get(t, h, "GET", "/assets/"+assets.Style.Name, "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip sent although refused")
	}
	if rec := get(t, h, "GET", "/assets/"+assets.Style.Name, "If-None-Match", assets.Style.ETag); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", rec.Code)
	}
	if rec := get(t, h, "GET", "/assets/style.css"); rec.Code != http.StatusNotFound {
		t.Errorf("unhashed name = %d, want 404", rec.Code)
	}
	if !regexp.MustCompile(`^htmx-2\.0\.11\.[0-9a-f]{12}\.min\.js$`).MatchString(assets.HTMX.Name) {
		t.Errorf("htmx is served as %q, want a content-hashed name", assets.HTMX.Name)
	}
}

func TestHTTPErrors(t *testing.T) {
	h := oneHost(t, &fakeReports{}, Config{})
	rec := get(t, h, "POST", "/panels/tracking")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST = %d Allow %q, want 405 with Allow: GET, HEAD", rec.Code, rec.Header().Get("Allow"))
	}
	if rec := get(t, h, "GET", "/nope"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "Not found") {
		t.Errorf("GET /nope = %d", rec.Code)
	}
	if rec := get(t, h, "GET", "/panels/tracking?fresh=maybe"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "fresh must be 1 or 0") {
		t.Errorf("bad fresh = %d %q", rec.Code, rec.Body)
	}
	for _, q := range []string{"fresh=%zz", "fresh=1;x=2", "fresh=1&fresh=1"} {
		if rec := get(t, h, "GET", "/panels/tracking?"+q); rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Body.String(), "bad request: ") {
			t.Errorf("?%s = %d %q, want 400 saying what is wrong", q, rec.Code, rec.Body)
		}
	}
	if rec := get(t, h, "GET", "/panels/tracking?chrony=udp://10.0.0.1:323"); rec.Code != http.StatusBadRequest {
		t.Errorf("a query naming another chronyd = %d, want 400", rec.Code)
	}
	if rec := get(t, h, "HEAD", "/"); rec.Code != 200 {
		t.Errorf("HEAD / = %d", rec.Code)
	}
	if rec := get(t, h, "GET", "/panels/tracking/"); rec.Code != http.StatusNotFound {
		t.Errorf("trailing slash = %d, want 404 (no redirect out of a proxy's sub-path)", rec.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := oneHost(t, &fakeReports{}, Config{})
	for _, path := range []string{"/", "/panels/tracking", "/nope"} {
		rec := get(t, h, "GET", path)
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP = %q", path, csp)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Referrer-Policy") == "" {
			t.Errorf("%s: headers %v", path, rec.Header())
		}
	}
}

func (f *fakeReports) Activity(context.Context) (chrony.Activity, error) {
	return chrony.Activity{Online: 1}, nil
}
func (f *fakeReports) ServerStats(context.Context) (chrony.ServerStats, error) {
	return chrony.ServerStats{Version: 4}, nil
}
func (f *fakeReports) Counts() chrony.Counts { return chrony.Counts{} }
func (f *fakeReports) SelectDataN(ctx context.Context, _ int) ([]chrony.Selection, error) {
	if f.selection == nil {
		return nil, notAuthorised("selectdata")
	}
	return f.selection(ctx)
}
func (f *fakeReports) NTPData(ctx context.Context, a netip.Addr) (chrony.NTPData, error) {
	if f.ntpData == nil {
		return chrony.NTPData{}, notAuthorised("ntpdata")
	}
	return f.ntpData(ctx, a)
}
func (f *fakeReports) AuthData(context.Context, netip.Addr) (chrony.AuthData, error) {
	return chrony.AuthData{}, notAuthorised("authdata")
}
func (f *fakeReports) Clients(context.Context, int) ([]chrony.ClientAccess, error) {
	return nil, notAuthorised("clients")
}
