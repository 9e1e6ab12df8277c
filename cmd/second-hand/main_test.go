package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/second-hand/second-hand/pkg/chronylab"
)

// binary is second-hand built once for the tests that run it as a process (signals, another
// user). It lives in a directory anyone may read, so that it can run as nobody.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "second-hand-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "second-hand")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building second-hand: %v\n%s", err, out)
		os.Exit(1)
	}
	if os.Getenv("SECOND_HAND_HELPER") != "" {
		os.Exit(helperMain())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needLab skips a test that needs real chronyd when this user cannot run it, unless
// SECOND_HAND_STRICT_TESTS is set (as `just test` and CI set it): then it fails.
func needLab(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, chronylab.ErrNotRoot) && os.Getenv("SECOND_HAND_STRICT_TESTS") == "" {
		t.Skip(err)
	}
	t.Fatal(err)
}

// integration skips a test under -short: it runs real chronyd processes.
func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: this test runs real chronyd")
	}
}

func startLab(t *testing.T, opts chronylab.Options) *chronylab.Lab {
	t.Helper()
	integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lab, err := chronylab.Start(ctx, opts)
	needLab(t, err)
	t.Cleanup(func() { lab.Close() })
	if err := lab.WaitSynchronised(ctx); err != nil {
		t.Fatal(err)
	}
	return lab
}

// instance is a second-hand process started by a test.
type instance struct {
	url    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSecondHand runs the binary on a free loopback port with args, prefix (such as setpriv
// to run it as another user) before it, and waits until /healthz answers.
func startSecondHand(t *testing.T, prefix []string, args ...string) *instance {
	t.Helper()
	port := freeTCPPort(t)
	argv := append(append(append([]string{}, prefix...), binary, "--listen", "127.0.0.1:"+port), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	in := &instance{url: "http://127.0.0.1:" + port, cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = in.stderr, in.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-in.done
		if t.Failed() {
			t.Logf("second-hand's log:\n%s", in.stderr)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(in.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return in
		}
		select {
		case err := <-in.done:
			t.Fatalf("second-hand exited: %v\n%s", err, in.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("second-hand did not answer /healthz: %v\n%s", err, in.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeTCPPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// fragment fetches a panel read from chronyd now (fresh=1, as the reload button asks, so that
// the reuse window does not hide a change) and fails the test unless it answers 200.
func fragment(t *testing.T, in *instance, panel string) string {
	t.Helper()
	code, body := fetch(t, in.url+"/panels/"+panel+"?fresh=1")
	if code != http.StatusOK {
		t.Fatalf("/panels/%s = %d", panel, code)
	}
	return body
}

// The page marks what it shows for machines: every element with data-field. A <data> element
// gives its value attribute, a <time> its datetime, anything else its text.
func fieldOf(n *html.Node) (string, string, bool) {
	f := attr(n, "data-field")
	if n.Type != html.ElementNode || f == "" {
		return "", "", false
	}
	switch n.Data {
	case "data":
		return f, attr(n, "value"), true
	case "time":
		return f, attr(n, "datetime"), true
	}
	return f, text(n), true
}

func parse(t *testing.T, page string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// fields reads every field of a panel into one map.
func fields(t *testing.T, page string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if f, v, ok := fieldOf(n); ok {
			out[f] = v
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(parse(t, page))
	return out
}

// rows reads a panel's table: the fields of each row of its body.
func rows(t *testing.T, page string) []map[string]string {
	t.Helper()
	var out []map[string]string
	var walk func(n *html.Node, row map[string]string)
	walk = func(n *html.Node, row map[string]string) {
		if n.Type == html.ElementNode && n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody" {
			row = map[string]string{}
			out = append(out, row)
		}
		if f, v, ok := fieldOf(n); ok && row != nil {
			row[f] = v
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, row)
		}
	}
	walk(parse(t, page), nil)
	return out
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}
