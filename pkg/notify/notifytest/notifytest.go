// Package notifytest runs real receivers of notifications on loopback for tests: an HTTP
// server that keeps every request (what ntfy and a generic webhook receive), and Debian's SMTP
// server aiosmtpd, which keeps every e-mail in a Maildir. Tests assert on what arrived.
package notifytest

import (
	"bytes"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/testkit"
)

// Request is one request an HTTP receiver got.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// HTTP is an HTTP server on 127.0.0.1 that answers 200 to everything and keeps each request.
type HTTP struct {
	URL  string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT

	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []Request
	failing int // requests still to refuse with 503
	arrived chan struct{}
}

// Fail makes the receiver answer the next n requests 503 Service Unavailable (and keep none of
// them), as a receiver that is down for a while.
func (r *HTTP) Fail(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failing = n
}

// StartHTTP starts a receiver for the test; it stops when the test ends.
func StartHTTP(t testing.TB) *HTTP {
	t.Helper()
	r := &HTTP{arrived: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		if r.failing > 0 {
			r.failing--
			r.mu.Unlock()
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		r.reqs = append(r.reqs, Request{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: string(body)})
		r.mu.Unlock()
		select {
		case r.arrived <- struct{}{}:
		default:
		}
		// What ntfy answers; a webhook's caller reads nothing of it.
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","event":"message"}`)
	}))
	r.URL, r.Host = r.srv.URL, r.srv.Listener.Addr().String()
	t.Cleanup(r.srv.Close)
	return r
}

// Requests are the requests received so far, to paths under prefix ("" for all).
func (r *HTTP) Requests(prefix string) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	for _, q := range r.reqs {
		if strings.HasPrefix(q.Path, prefix) {
			out = append(out, q)
		}
	}
	return out
}

// Wait waits until n requests under prefix have arrived (at most timeout) and returns them.
func (r *HTTP) Wait(t testing.TB, prefix string, n int, timeout time.Duration) []Request {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := r.Requests(prefix); len(got) >= n {
			return got
		}
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("waited %v for %d requests to %s%s; got %d: %v", timeout, n, r.URL, prefix, len(r.Requests(prefix)), r.Requests(prefix))
		}
	}
}

// Mail is one e-mail an SMTP receiver got.
type Mail struct {
	Subject, From, To string
	Body              string
}

// SMTP is Debian's aiosmtpd on 127.0.0.1, keeping every e-mail in a Maildir.
type SMTP struct {
	Host string // 127.0.0.1
	Port string
	dir  string
}

// python is Debian's interpreter, which has the package python3-aiosmtpd (another python3 on
// the PATH may not).
const python = "/usr/bin/python3"

// StartSMTP starts aiosmtpd for the test; it stops when the test ends. Without it the test is
// skipped, or fails under SECOND_HAND_STRICT_TESTS.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	if err := exec.Command(python, "-c", "import aiosmtpd").Run(); err != nil {
		msg := "no SMTP server to send to: apt-get install python3-aiosmtpd (.ci/setup test installs it)"
		if testkit.Strict() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &SMTP{Host: "127.0.0.1", Port: testkit.FreePort(t), dir: filepath.Join(t.TempDir(), "maildir")}
	log := &testkit.SyncBuffer{}
	cmd := exec.Command(python, "-m", "aiosmtpd", "-n", "-u", "-l", net.JoinHostPort(s.Host, s.Port),
		"-c", "aiosmtpd.handlers.Mailbox", s.dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	testkit.Eventually(t, 20*time.Second, "aiosmtpd to listen", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("aiosmtpd exited: %v\n%s", err, log)
		default:
		}
		c, err := net.Dial("tcp", net.JoinHostPort(s.Host, s.Port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return s
}

// Mails are the e-mails received so far, oldest first.
func (s *SMTP) Mails(t testing.TB) []Mail {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.dir, "new"))
	if err != nil {
		return nil
	}
	type dated struct {
		m  Mail
		at time.Time
	}
	var all []dated
	dec := new(mime.WordDecoder)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(s.dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is no e-mail: %v\n%s", e.Name(), err, b)
		}
		body, _ := io.ReadAll(msg.Body)
		subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatalf("subject %q: %v", msg.Header.Get("Subject"), err)
		}
		info, _ := e.Info()
		all = append(all, dated{Mail{Subject: subject, From: msg.Header.Get("From"), To: msg.Header.Get("To"), Body: string(body)}, info.ModTime()})
	}
	slices.SortStableFunc(all, func(a, b dated) int { return a.at.Compare(b.at) })
	out := make([]Mail, len(all))
	for i, d := range all {
		out[i] = d.m
	}
	return out
}

// Wait waits until n e-mails have arrived (at most timeout) and returns them.
func (s *SMTP) Wait(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	var got []Mail
	testkit.Eventually(t, timeout, "e-mails to arrive", func() bool {
		got = s.Mails(t)
		return len(got) >= n
	})
	return got
}

// URL is shoutrrr's URL of an e-mail to to through this server: no TLS, no login.
func (s *SMTP) URL(to string) string {
	return "smtp://" + net.JoinHostPort(s.Host, s.Port) + "/?from=second-hand@example.org&fromname=second-hand&to=" + to +
		"&encryption=None&usestarttls=no&auth=None"
}
