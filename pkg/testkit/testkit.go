// Package testkit holds the helpers that the tests of every package and of the e2e module
// share: free ports, waiting on a polled condition, counting goroutines and descriptors until
// they settle, a log buffer, and the last lines of a log. Nothing here is used outside tests.
package testkit

import (
	"bytes"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Strict reports whether tests must not skip for want of root, Docker or chromium, as
// `just test` and CI ask with SECOND_HAND_STRICT_TESTS=1.
func Strict() bool { return os.Getenv("SECOND_HAND_STRICT_TESTS") != "" }

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// Eventually polls cond until it holds, failing the test after timeout: for conditions no
// event announces (a count of requests in another process, a page's state).
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	if !Within(timeout, cond) {
		t.Fatalf("waited %v for %s", timeout, what)
	}
	return time.Since(start)
}

// Within polls cond as Eventually does and says whether it held before timeout: for a caller
// that reports what it saw when it did not.
func Within(timeout time.Duration, cond func() bool) bool {
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// Settle returns the number of goroutines and open file descriptors of this process once
// they have come down to at most the given ones (0: once they stop changing), or after about
// 5 s: goroutines and connections take a moment to end after their work is done.
func Settle(goroutines, fds int) (int, int) {
	var g, f int
	for i := 0; i < 100; i++ {
		runtime.GC()
		pg, pf := g, f
		g, f = runtime.NumGoroutine(), OpenFDs()
		if goroutines > 0 && g <= goroutines && f <= fds {
			break
		}
		if goroutines == 0 && i > 2 && g == pg && f == pf {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return g, f
}

// OpenFDs counts this process's open file descriptors.
func OpenFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// LastLines is the last n lines of s.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// SyncBuffer is a bytes.Buffer safe for a writer and a reader at once: a log under test.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
