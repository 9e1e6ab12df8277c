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
	"syscall"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
)

// TestSlowClientsCannotStarveOthers: 300 connections that send half a request header and then
// nothing (slowloris) do not keep a normal request from being served, and the server closes
// them once its header timeout passes.
func TestSlowClientsCannotStarveOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: waits for the server's header timeout")
	}
	in := startSecondHand(t, nil, "--chrony", chronytest.StartUDP(t, chronytest.Replay).Addr)
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

// TestHeaderSizeLimit: a request with 64 KiB of headers is refused with 431.
func TestHeaderSizeLimit(t *testing.T) {
	in := startSecondHand(t, nil, "--chrony", chronytest.StartUDP(t, chronytest.Replay).Addr)
	c, err := net.Dial("tcp", strings.TrimPrefix(in.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	go io.WriteString(c, req)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(status, "431") {
		t.Errorf("64 KiB of headers: %q %v, want 431", status, err)
	}
}

// TestGracefulShutdownUnderLoad: SIGTERM while 40 requests wait for a slow chronyd; every one
// of them completes with its whole body, and the process exits 0.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Replay)
	fake.SetDelay(50 * time.Millisecond) // each request holds the client for 50 ms; 40 take 2 s
	in := startSecondHand(t, nil, "--chrony", fake.Addr)
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
	time.Sleep(300 * time.Millisecond) // the requests are in flight, most of them waiting
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(results)
	counts := map[string]int{}
	for r := range results {
		counts[r]++
	}
	if counts["ok"] != n {
		t.Errorf("responses during shutdown: %v, want %d complete", counts, n)
	}
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
		in.done <- err
	case <-time.After(15 * time.Second):
		t.Fatal("second-hand did not exit after SIGTERM")
	}
	if !strings.Contains(in.stderr.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", in.stderr)
	}
}
