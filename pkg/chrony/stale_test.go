package chrony

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// bindSocket binds a datagram socket at path, as dialUnix does, and returns its descriptor:
// closing it without removing the file is what a killed process leaves behind.
func bindSocket(t *testing.T, path string) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestStaleSocketsOfEarlierRunsAreRemoved: in a real chronyd's socket directory, the socket a
// killed second-hand left (named as ours, nobody bound to it) is removed when the client
// first connects there; a socket of ours that another second-hand still uses, chronyc's
// stale socket and a file that is not a socket are left alone.
func TestStaleSocketsOfEarlierRunsAreRemoved(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs chronyd")
	}
	d, err := chronylab.NewDaemon(t.TempDir(), "chronyd", chronylab.Config{Conf: "local stratum 8\n"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		if errors.Is(err, chronylab.ErrNotRoot) && !testkit.Strict() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })

	stale := filepath.Join(d.Dir, "second-hand.0123456789abcdef.sock")
	unix.Close(bindSocket(t, stale))
	live := filepath.Join(d.Dir, "second-hand.fedcba9876543210.sock")
	defer unix.Close(bindSocket(t, live))
	chronycs := filepath.Join(d.Dir, "chronyc.1234.sock")
	unix.Close(bindSocket(t, chronycs))
	notSocket := filepath.Join(d.Dir, "second-hand.aaaaaaaaaaaaaaaa.sock")
	if err := os.WriteFile(notSocket, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	c := newClient(t, d.SocketAddress(), opts(time.Second, 2))
	if _, err := c.Tracking(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range []string{stale, live, chronycs, notSocket} {
		if _, err := os.Lstat(p); err == nil {
			left = append(left, filepath.Base(p))
		}
	}
	if want := []string{filepath.Base(live), filepath.Base(chronycs), filepath.Base(notSocket)}; !slices.Equal(left, want) {
		t.Errorf("left in chronyd's directory: %v, want %v", left, want)
	}
}
