package main

import (
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
	"syscall"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
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
	if errors.Is(err, chronylab.ErrNotRoot) && !testkit.Strict() {
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

// instance is a second-hand started by a test: in this process (run, on port 0) or as a
// process of the binary.
type instance struct {
	url  string
	log  *testkit.SyncBuffer
	done chan error // the exit: run's error, or the process's
	stop func()     // SIGTERM, or the context's end that stands for it
	cmd  *exec.Cmd  // the process, when it is one
}

// start runs second-hand in this process with args, listening on a free loopback port, and
// returns once it listens. It stops when the test ends.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	return startWith(t, hooks{}, args...)
}

// startWith is start with hooks; its listening hook is start's own.
func startWith(t *testing.T, h hooks, args ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{log: &testkit.SyncBuffer{}, done: make(chan error, 1), stop: cancel}
	addr := make(chan net.Addr, 1)
	// History goes to the test's own directory, unless the test says where.
	argv := append([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)
	go func() {
		h.listening = func(a net.Addr) { addr <- a }
		in.done <- runWith(ctx, argv, func(string) string { return "" }, io.Discard, in.log, h)
	}()
	t.Cleanup(func() {
		cancel()
		err := <-in.done
		in.done <- err
		if t.Failed() {
			t.Logf("second-hand's log:\n%s", testkit.LastLines(in.log.String(), 40))
		}
	})
	select {
	case a := <-addr:
		in.url = "http://" + a.String()
	case err := <-in.done:
		in.done <- err
		t.Fatalf("second-hand did not start: %v\n%s", err, in.log)
	}
	return in
}

// startProcess runs the binary on a free loopback port with args, prefix (such as setpriv to
// run it as another user) before it, and waits until /healthz answers: for the tests that need
// a process of its own (a signal, another user).
func startProcess(t *testing.T, prefix []string, args ...string) *instance {
	t.Helper()
	port := testkit.FreePort(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o777) // for a process run as another user
	argv := append(append(append([]string{}, prefix...), binary, "--listen", "127.0.0.1:"+port, "--data-dir", dir), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	in := &instance{url: "http://127.0.0.1:" + port, cmd: cmd, log: &testkit.SyncBuffer{}, done: make(chan error, 1),
		stop: func() { cmd.Process.Signal(syscall.SIGTERM) }}
	cmd.Stdout, cmd.Stderr = in.log, in.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		err := <-in.done
		in.done <- err
		if t.Failed() {
			t.Logf("second-hand's log:\n%s", testkit.LastLines(in.log.String(), 40))
		}
	})
	testkit.Eventually(t, 10*time.Second, "second-hand to answer /healthz", func() bool {
		select {
		case err := <-in.done:
			t.Fatalf("second-hand exited: %v\n%s", err, in.log)
		default:
		}
		resp, err := http.Get(in.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return in
}

// exit stops the instance as SIGTERM does and returns how it ended, failing the test if it
// does not end within a minute.
func (in *instance) exit(t *testing.T) error {
	t.Helper()
	in.stop()
	select {
	case err := <-in.done:
		in.done <- err // for the cleanup
		return err
	case <-time.After(time.Minute):
		t.Fatal("second-hand did not exit")
		return nil
	}
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

// fragment fetches a panel of the host page at base (the instance's URL with one host, or
// URL/hosts/NAME) read from chronyd now (fresh=1, as the reload button asks, so that the reuse
// window does not hide a change), and fails the test unless it answers 200.
func fragment(t *testing.T, base, panel string) string {
	t.Helper()
	return fresh(t, base+"/panels/"+panel)
}

// until fetches url (with fresh=1) until cond holds for what it shows, and returns that:
// a forced fresh read reaches chronyd at most once a second, so a change shows within one.
func until(t *testing.T, url, what string, cond func(page string) bool) string {
	t.Helper()
	var page string
	testkit.Eventually(t, 30*time.Second, what, func() bool {
		page = fresh(t, url)
		return cond(page)
	})
	return page
}

// alert reports whether a fragment is a panel that failed (data-failed: chronyd not answering,
// or its own report's error).
func alert(page string) bool { return strings.Contains(page, `data-failed="`) }
