package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// dayStore is a store holding a day of the host "local" with two sources, made once for the
// tests that copy it.
var dayStore = struct {
	once sync.Once
	dir  string
	err  error
}{}

// dayOfHistory is a history service over a copy of dayStore: its export is about 1 MB, more
// than the small sockets of serveHTTP and smallClient hold.
func dayOfHistory(t *testing.T) *history.Service {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: writes a day of history")
	}
	dayStore.once.Do(func() {
		if dayStore.dir, dayStore.err = os.MkdirTemp("", "second-hand-day-"); dayStore.err != nil {
			return
		}
		st, err := store.Open(dayStore.dir, nil)
		if err != nil {
			dayStore.err = err
			return
		}
		defer st.Close()
		dayStore.err = storetest.FillHistory(context.Background(), st, "local", time.Now(), 1, 2)
	})
	if dayStore.err != nil {
		t.Fatal(dayStore.err)
	}
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(dayStore.dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, store.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	hist := history.Open(history.Config{Dir: dir, Sample: 16 * time.Second, Retention: store.Retention{Raw: 30 * 24 * time.Hour}})
	t.Cleanup(func() { hist.Close() })
	return hist
}

// serveHTTP runs h on a loopback port with an HTTP server's write timeout, as second-hand's own,
// and a send buffer of 64 KiB a connection (the kernel doubles it), so that a megabyte fills it.
func serveHTTP(t *testing.T, h http.Handler, writeTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, WriteTimeout: writeTimeout, ConnContext: func(ctx context.Context, c net.Conn) context.Context {
		c.(*net.TCPConn).SetWriteBuffer(64 << 10)
		return ctx
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// smallClient is an HTTP client whose connections have a receive buffer of 64 KiB.
var smallClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		c.(*net.TCPConn).SetReadBuffer(64 << 10)
	}
	return c, err
}}}

// TestExportOutlivesTheWriteTimeout: the server's write timeout is 200 ms, and the client
// reads the first line of a day's export, then nothing until that timeout has long passed
// (the export meanwhile fills the sockets and waits). Each hour written extends the deadline,
// so the rest arrives whole: every row, and the end of the chunked body.
func TestExportOutlivesTheWriteTimeout(t *testing.T) {
	hist := dayOfHistory(t)
	url := serveHTTP(t, oneHost(t, &fakeReports{}, Config{History: hist}), 200*time.Millisecond)
	start := time.Now()
	resp, err := smallClient.Get(url + "/history.csv?range=7d")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("history.csv = %s, %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	body := bufio.NewReader(resp.Body)
	if header, err := body.ReadString('\n'); err != nil || !strings.HasPrefix(header, "time_utc,record,") {
		t.Fatalf("first line %q, %v", header, err)
	}
	// What this waits for is the write deadline the server set when the request came (200 ms)
	// to pass: the export is then waiting to write, with a deadline it extended since.
	<-time.After(time.Until(start.Add(time.Second)))
	var lines lineCounter
	if _, err := io.Copy(&lines, body); err != nil {
		t.Fatalf("after %d rows: %v, want the whole export", lines.n, err)
	}
	if lines.n < 5400 || !lines.ended {
		t.Errorf("%d rows (the last ended: %v), want a day's (at least %d samples)", lines.n, lines.ended, 5400)
	}
	t.Logf("%d rows in %v with a write timeout of 200 ms", lines.n, time.Since(start).Round(time.Millisecond))
}

// TestExportBreaksOffVisibly: the store fails (closed here) while a day's export is being
// written. The response, 200 from its first line, ends as a broken transfer, not as a file
// that looks whole.
func TestExportBreaksOffVisibly(t *testing.T) {
	hist := dayOfHistory(t)
	url := serveHTTP(t, oneHost(t, &fakeReports{}, Config{History: hist}), time.Minute)
	resp, err := smallClient.Get(url + "/history.csv?range=7d")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("history.csv = %s", resp.Status)
	}
	if _, err := io.CopyN(io.Discard, resp.Body, 64<<10); err != nil {
		t.Fatal(err)
	}
	hist.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("the rest of the export (%d bytes) ended with %v, want a broken transfer (unexpected EOF)", n, err)
	}
}

// TestExportOfAStoreThatCannotBeReadIs503: nothing can be read, nothing has been sent: a 503
// that says why, not an empty file.
func TestExportOfAStoreThatCannotBeReadIs503(t *testing.T) {
	rec := get(t, oneHost(t, &fakeReports{}, Config{History: history.Open(history.Config{})}), "GET", "/history.csv")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "history is off") ||
		rec.Header().Get("Content-Disposition") != "" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("history.csv with history off = %d %q %q:\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"), rec.Body)
	}
}

// TestConcurrentViewsAnswerInTime: 20 views of a week (a day of it recorded) around 20 moments, asked at once with
// the server's write timeout: each answers 200 with its charts, or, when its turn did not come
// within its request's budget, with the panel's "busy" notice; none fails or is cut off.
func TestConcurrentViewsAnswerInTime(t *testing.T) {
	hist := dayOfHistory(t)
	budget := time.Second
	url := serveHTTP(t, oneHost(t, &fakeReports{}, Config{History: hist, Budget: budget}), budget+10*time.Second)
	now := time.Now()
	results := make([]string, 20)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			at := now.Add(-time.Duration(1+i) * time.Hour).UnixMilli()
			resp, err := http.Get(fmt.Sprintf("%s/panels/history?range=7d&at=%d", url, at))
			if err != nil {
				results[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			switch {
			case err != nil || resp.StatusCode != 200:
				results[i] = fmt.Sprintf("%d %v", resp.StatusCode, err)
			case strings.Contains(string(body), `data-field="busy"`):
				results[i] = "busy"
			case strings.Contains(string(body), `<svg`):
				results[i] = "drawn"
			default:
				results[i] = "neither drawn nor busy: " + string(body)
			}
		})
	}
	wg.Wait()
	counts := map[string]int{}
	for _, r := range results {
		counts[r]++
	}
	t.Logf("20 views of a week at once, a budget of %v each: %v", budget, counts)
	if counts["drawn"]+counts["busy"] != len(results) || counts["drawn"] == 0 {
		t.Errorf("results: %v", counts)
	}
}

// lineCounter counts the lines written to it, and whether the last one ended.
type lineCounter struct {
	n     int
	ended bool
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte("\n"))
	if len(p) > 0 {
		c.ended = p[len(p)-1] == '\n'
	}
	return len(p), nil
}
