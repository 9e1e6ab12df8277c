package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// Benchmarks against real chronyd on loopback (pkg/chronylab; run as root):
//
//	go test -run '^$' -bench . -benchmem ./pkg/server
//
// BenchmarkFragment serves each panel's fragment through the Gin handler, reading chronyd for
// every request (uncached) or from the reuse window (cached). BenchmarkRaw, in the same run,
// sends only the chrony requests that fragment needs over a bare UDP socket, with no checks,
// decoding or HTML: the protocol's floor. BenchmarkSourcesScaling grows the number of sources.

var benchLab = struct {
	once sync.Once
	lab  *chronylab.Lab
	err  error
}{}

func lab(b *testing.B) *chronylab.Lab {
	b.Helper()
	benchLab.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		benchLab.lab, benchLab.err = chronylab.Start(ctx, chronylab.Options{PollLog2: 4, SetPoll: true})
		if benchLab.err == nil {
			benchLab.err = benchLab.lab.WaitSynchronised(ctx)
		}
	})
	if benchLab.err != nil {
		b.Skip(benchLab.err)
	}
	return benchLab.lab
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchLab.lab != nil {
		benchLab.lab.Close()
	}
	if historyBench.dir != "" {
		os.RemoveAll(historyBench.dir)
	}
	if dayStore.dir != "" {
		os.RemoveAll(dayStore.dir)
	}
	for _, d := range manyLab.daemons {
		d.Stop()
	}
	if manyLab.dir != "" {
		os.RemoveAll(manyLab.dir)
	}
	os.Exit(code)
}

// fragmentHandler is second-hand's handler for chronyd at addr, with the given reuse window.
func fragmentHandler(b *testing.B, addr string, reuse time.Duration) http.Handler {
	b.Helper()
	a, err := chrony.ParseAddress(addr)
	if err != nil {
		b.Fatal(err)
	}
	c, err := chrony.New(a, chrony.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return fleetHandler(b, []monitor.Host{{Name: "local", Reporter: c}}, monitor.Config{Reuse: reuse}, Config{Refresh: 2 * reuse})
}

func serveFragment(b *testing.B, h http.Handler, panel string) {
	b.Helper()
	serve(b, h, "/panels/"+panel)
}

// serve serves path b.N times, after two requests that open the socket and learn the names.
func serve(b *testing.B, h http.Handler, path string) {
	b.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i < 2; i++ { // warm: socket open, names known
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || strings.Contains(rec.Body.String(), `role="alert"`) {
			b.Fatalf("%s: %d\n%s", path, rec.Code, rec.Body)
		}
	}
}

func BenchmarkFragment(b *testing.B) {
	l := lab(b)
	for _, transport := range []struct{ name, addr string }{
		{"udp", l.Monitored.UDPAddress()},
		{"unix", l.Monitored.SocketAddress()},
	} {
		for _, panel := range panelPaths {
			b.Run(fmt.Sprintf("%s/%s/uncached", panel, transport.name), func(b *testing.B) {
				serveFragment(b, fragmentHandler(b, transport.addr, 0), panel)
			})
		}
	}
	for _, panel := range panelPaths {
		b.Run(panel+"/cached", func(b *testing.B) {
			serveFragment(b, fragmentHandler(b, l.Monitored.UDPAddress(), time.Hour), panel)
		})
	}
}

// BenchmarkSummaryRow serves a host's row of the fleet overview (tracking and sources) from the
// reuse window, as a hundred viewers of the overview are served between two reads of chronyd.
func BenchmarkSummaryRow(b *testing.B) {
	l := lab(b)
	h := fragmentHandler(b, l.Monitored.UDPAddress(), time.Hour)
	serve(b, h, "/hosts/local/summary")
}

// rawRequest is a request as chronyd wants it, built here by hand: version 6, type 1, the
// command, a sequence number, the data, zeros up to the reply's length.
func rawRequest(cmd uint16, data []byte, length int) []byte {
	b := make([]byte, max(20+len(data), length))
	b[0], b[1] = 6, 1
	binary.BigEndian.PutUint16(b[4:], cmd)
	copy(b[20:], data)
	return b
}

func index(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }

// rawRequests are the chrony requests each fragment needs with the lab's four sources (names
// are remembered, so a warm fragment sends none).
func rawRequests(sources int) map[string][][]byte {
	m := map[string][][]byte{
		"tracking": {rawRequest(33, nil, 104)},
		"rtc":      {rawRequest(35, nil, 56)},
	}
	m["sources"] = [][]byte{rawRequest(14, nil, 32)}
	m["sourcestats"] = [][]byte{rawRequest(14, nil, 32)}
	for i := range sources {
		m["sources"] = append(m["sources"], rawRequest(15, index(i), 76))
		m["sourcestats"] = append(m["sourcestats"], rawRequest(34, index(i), 84))
	}
	return m
}

func rawExchange(b *testing.B, network, addr string, reqs [][]byte) {
	b.Helper()
	var c net.Conn
	var err error
	if network == "unix" {
		c, err = unixClient(b, addr)
	} else {
		c, err = net.Dial("udp", addr)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range reqs {
			binary.BigEndian.PutUint32(r[8:], uint32(i))
			if _, err := c.Write(r); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// unixClient binds a socket beside chronyd's, as every client of the socket must.
func unixClient(b *testing.B, path string) (net.Conn, error) {
	local := fmt.Sprintf("%s/bench.%d.sock", path[:strings.LastIndex(path, "/")], time.Now().UnixNano())
	c, err := net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"}, &net.UnixAddr{Name: path, Net: "unixgram"})
	b.Cleanup(func() { os.Remove(local) })
	return c, err
}

func BenchmarkRaw(b *testing.B) {
	l := lab(b)
	reqs := rawRequests(4)
	for _, panel := range panelPaths {
		b.Run(panel+"/udp", func(b *testing.B) {
			rawExchange(b, "udp", strings.TrimPrefix(l.Monitored.UDPAddress(), "udp://"), reqs[panel])
		})
		b.Run(panel+"/unix", func(b *testing.B) {
			rawExchange(b, "unix", l.Monitored.Socket(), reqs[panel])
		})
	}
}

// historyBench is a store holding 30 days of one host with 8 sources polled every 64 s, made
// once (storetest.FillHistory).
var historyBench = struct {
	once sync.Once
	dir  string
	end  time.Time
	err  error
}{}

func historyStore(b *testing.B) (string, time.Time) {
	b.Helper()
	historyBench.once.Do(func() {
		historyBench.dir, historyBench.err = os.MkdirTemp("", "second-hand-history-bench-")
		if historyBench.err != nil {
			return
		}
		st, err := store.Open(historyBench.dir, nil)
		if err != nil {
			historyBench.err = err
			return
		}
		defer st.Close()
		historyBench.end = time.Now()
		historyBench.err = storetest.FillHistory(context.Background(), st, "local", historyBench.end, 30, 8)
	})
	if historyBench.err != nil {
		b.Fatal(historyBench.err)
	}
	return historyBench.dir, historyBench.end
}

// BenchmarkHistoryFragment renders the history panel of 30 days and of 1 hour from that store,
// through the handler, each time from the store: a write between requests (out of the range,
// with the timer stopped) makes every view a new one, as a recorder's write does. It reports
// the fragment's size.
func BenchmarkHistoryFragment(b *testing.B) {
	dir, end := historyStore(b)
	for _, rng := range []history.Range{history.Ranges[4], history.Ranges[0]} {
		b.Run(rng.Name, func(b *testing.B) {
			hist := history.Open(history.Config{Dir: dir, Sample: 16 * time.Second, Retention: store.Retention{Raw: 31 * 24 * time.Hour}})
			defer hist.Close()
			now := end.Add(-rng.D / 4)
			h := fleetHandler(b, []monitor.Host{{Name: "local", Reporter: &fakeReports{}}}, monitor.Config{},
				Config{History: hist, Now: func() time.Time { return now }})
			req := httptest.NewRequest("GET", "/panels/history?range="+rng.Name, nil)
			old := store.Batch{Samples: []store.Sample{{T: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}}}
			var size int
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				old.Samples[0].T = old.Samples[0].T.Add(time.Duration(i) * time.Second)
				if err := hist.Append(context.Background(), "local", old); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), `class="line s0"`) {
					b.Fatalf("%d\n%.3000s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/fragment")
		})
	}
}

// BenchmarkScrape serves /metrics for the lab's chronyd (tracking, sources, source statistics,
// activity, RTC; server statistics over the socket) with the reuse window off, each scrape
// reading chronyd, and from the reuse window.
func BenchmarkScrape(b *testing.B) {
	l := lab(b)
	for _, tc := range []struct {
		name  string
		reuse time.Duration
	}{{"uncached", 0}, {"cached", time.Hour}} {
		b.Run(tc.name, func(b *testing.B) {
			serve(b, fragmentHandler(b, l.Monitored.UDPAddress(), tc.reuse), "/metrics?host=local")
		})
	}
}
