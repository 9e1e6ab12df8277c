package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestSlowClientsCannotStarveOthers: 300 connections that send half a request header and then
// nothing (slowloris) do not keep a normal request from being served, and the server closes
// them once its header timeout passes.
func TestSlowClientsCannotStarveOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: waits for the server's header timeout")
	}
	in := start(t, "--chrony", chronytest.StartUDP(t, chronytest.Replay).Addr)
	addr := strings.TrimPrefix(in.url, "http://")
	var slow []net.Conn
	for range 300 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("opening slow connection %d: %v", len(slow), err)
		}
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	resp, err := client.Get(in.url + "/panels/tracking")
	if err != nil {
		t.Fatalf("a normal request with 300 slow clients connected: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `data-field="stratum"`) {
		t.Fatalf("normal request = %d", resp.StatusCode)
	}
	t.Logf("normal request served in %v with 300 half-open connections", time.Since(start).Round(time.Millisecond))
	closed := 0
	for _, c := range slow {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			closed++ // EOF or reset: the server gave up on it
		}
	}
	t.Logf("the server closed %d of 300 half-open connections after %v", closed, time.Since(start).Round(time.Second))
	if closed != len(slow) {
		t.Errorf("%d of %d half-open connections are still open: no header timeout", len(slow)-closed, len(slow))
	}
}

// TestHeaderSizeLimit: the request line and headers are limited to 20 KiB, as the README says
// (MaxHeaderBytes of 16 KiB, and the 4 KiB Go's server reads beyond it): 19 KiB are served,
// 21 KiB and 64 KiB refused with 431.
func TestHeaderSizeLimit(t *testing.T) {
	in := start(t, "--chrony", chronytest.StartUDP(t, chronytest.Replay).Addr)
	for _, tc := range []struct {
		size int
		want string
	}{{19 << 10, "200"}, {21 << 10, "431"}, {64 << 10, "431"}} {
		c, err := net.Dial("tcp", strings.TrimPrefix(in.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		head := "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
		req := head + strings.Repeat("a", tc.size-len(head)-4) + "\r\n\r\n"
		go io.WriteString(c, req)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		status, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.Contains(status, " "+tc.want+" ") {
			t.Errorf("%d bytes of request line and headers: %q %v, want %s", len(req), status, err, tc.want)
		}
	}
}

// TestGracefulShutdownUnderLoad: the shutdown signal arrives while 40 requests wait for a
// chronyd that holds its answer; every one of them completes with its whole body once chronyd
// answers, and run returns without error. The fake holds the answer until the 40 requests are
// sent and the shutdown has begun: no request can finish before it.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	fake := chronytest.StartUDP(t, func(req chronytest.Request) [][]byte {
		if req.Command == chronytest.ReqRTCReport {
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-release
		}
		return chronytest.Replay(req)
	})
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
	})
	// The server's connections that have begun a request.
	var active atomic.Int64
	h := hooks{connState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateActive {
			active.Add(1)
		}
	}}
	// No retry while the fake holds its answer.
	in := startWith(t, h, "--chrony", fake.Addr, "--timeout", "1m", "--retries", "0")
	const n = 40
	var wg sync.WaitGroup
	results := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(in.url + "/panels/rtc")
			if err != nil {
				results <- "request failed: " + err.Error()
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			switch {
			case err != nil:
				results <- "body cut off: " + err.Error()
			case resp.StatusCode != 200:
				results <- "status " + resp.Status
			case int64(len(body)) != resp.ContentLength || !strings.HasSuffix(string(body), "</code>"):
				results <- "incomplete body"
			default:
				results <- "ok"
			}
		}()
	}
	<-arrived // the first request is reading chronyd; the others wait for its read
	testkit.Eventually(t, time.Minute, "the server to take the 40 requests", func() bool { return active.Load() >= n })
	in.stop()
	// Shutdown closes the listener first: once a new connection is refused, it has begun.
	testkit.Eventually(t, time.Minute, "the shutdown to begin", func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(in.url, "http://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	released = true
	close(release)
	wg.Wait()
	close(results)
	counts := map[string]int{}
	for r := range results {
		counts[r]++
	}
	if counts["ok"] != n {
		t.Errorf("responses during shutdown: %v, want %d complete", counts, n)
	}
	if err := in.exit(t); err != nil {
		t.Errorf("run after the shutdown signal: %v, want nil", err)
	}
}

// TestDNSRebindingIsRefused: second-hand on loopback answers a request that names another host
// (what a browser sends to a rebound name of an attacker's) with 421 and how to allow the
// name; --allowed-hosts allows it, and localhost and loopback addresses always work.
func TestDNSRebindingIsRefused(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Replay)
	ask := func(in *instance, host string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", in.url+"/panels/tracking", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	plain := start(t, "--chrony", fake.Addr)
	allowing := start(t, "--chrony", fake.Addr, "--allowed-hosts", "dash.example.org")
	port := portOf(plain.url)
	for _, tc := range []struct {
		in   *instance
		host string
		want int
	}{
		{plain, "attacker.example:" + port, http.StatusMisdirectedRequest},
		{plain, "dash.example.org", http.StatusMisdirectedRequest},
		{plain, "localhost:" + port, http.StatusOK},
		{plain, "127.0.0.1:" + port, http.StatusOK},
		{plain, "[::1]:" + port, http.StatusOK},
		{allowing, "dash.example.org", http.StatusOK},
		{allowing, "attacker.example", http.StatusMisdirectedRequest},
		{allowing, "localhost", http.StatusOK},
	} {
		code, body := ask(tc.in, tc.host)
		if code != tc.want {
			t.Errorf("Host %q: %d, want %d\n%s", tc.host, code, tc.want, body)
		}
		if code == http.StatusMisdirectedRequest && !strings.Contains(body, "--allowed-hosts") {
			t.Errorf("Host %q: the refusal does not say how to allow the name:\n%s", tc.host, body)
		}
	}
}

// portOf is the port of an instance's URL.
func portOf(url string) string { return url[strings.LastIndex(url, ":")+1:] }
