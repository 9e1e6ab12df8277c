package server

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// weekOfHistory is a history service over a store holding a week of the host "local" with
// eight sources: its export is about 20 MB, more than the sockets between a server and a
// client on loopback hold.
func weekOfHistory(t *testing.T) *history.Service {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: writes a week of history")
	}
	dir := t.TempDir()
	st, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := storetest.FillHistory(context.Background(), st, "local", time.Now(), 7, 8); err != nil {
		t.Fatal(err)
	}
	st.Close()
	hist := history.Open(history.Config{Dir: dir, Sample: 16 * time.Second, Retention: 30 * 24 * time.Hour})
	t.Cleanup(func() { hist.Close() })
	return hist
}

// serveHTTP runs h on a loopback port with an HTTP server's write timeout, as second-hand's own.
func serveHTTP(t *testing.T, h http.Handler, writeTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, WriteTimeout: writeTimeout}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestExportOutlivesTheWriteTimeout: the server's write timeout is 200 ms, and the client
// reads the first line of a week's export, then nothing until that timeout has long passed
// (the export meanwhile fills the sockets and waits). Each hour written extends the deadline,
// so the rest arrives whole: every row, and the end of the chunked body.
func TestExportOutlivesTheWriteTimeout(t *testing.T) {
	hist := weekOfHistory(t)
	url := serveHTTP(t, oneHost(t, &fakeReports{}, Config{History: hist}), 200*time.Millisecond)
	start := time.Now()
	resp, err := http.Get(url + "/history.csv?range=7d")
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
	rows, err := csv.NewReader(body).ReadAll()
	if err != nil {
		t.Fatalf("after %d rows: %v, want the whole export", len(rows), err)
	}
	if len(rows) < 7*5400 {
		t.Errorf("%d rows, want a week's (at least %d samples)", len(rows), 7*5400)
	}
	t.Logf("%d rows in %v with a write timeout of 200 ms", len(rows), time.Since(start).Round(time.Millisecond))
}

// TestExportBreaksOffVisibly: the store fails (closed here) while a week's export is being
// written. The response, 200 from its first line, ends as a broken transfer, not as a file
// that looks whole.
func TestExportBreaksOffVisibly(t *testing.T) {
	hist := weekOfHistory(t)
	url := serveHTTP(t, oneHost(t, &fakeReports{}, Config{History: hist}), time.Minute)
	resp, err := http.Get(url + "/history.csv?range=7d")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("history.csv = %s", resp.Status)
	}
	if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
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

// TestConcurrentViewsAnswerInTime: 20 views of a week around 20 moments, asked at once with
// the server's write timeout: each answers 200 with its charts, or, when its turn did not come
// within its request's budget, with the panel's "busy" notice; none fails or is cut off.
func TestConcurrentViewsAnswerInTime(t *testing.T) {
	hist := weekOfHistory(t)
	budget := time.Second
	url := serveHTTP(t, oneHost(t, &fakeReports{}, Config{History: hist, Budget: budget}), budget+10*time.Second)
	now := time.Now()
	results := make([]string, 20)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			at := now.Add(-time.Duration(4*24+i) * time.Hour).UnixMilli()
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
