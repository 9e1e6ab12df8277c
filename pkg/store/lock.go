package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LockName is the file in the data directory that one process at a time holds a lock on.
const LockName = "history.lock"

// ErrInUse is a data directory another process holds.
var ErrInUse = errors.New("the data directory is in use by another second-hand process")

// lockDir takes an exclusive lock on dir for this process: the store keeps ids of its series
// in memory, so two processes writing one file would hand out the same ids. The lock goes with
// the process (even after kill -9); the file stays and holds the pid of its last holder.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w (second-hand must be able to write the data directory: check its owner and mode, or set --data-dir)", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			if pid != "" {
				pid = " (pid " + pid + ")"
			}
			return nil, fmt.Errorf("%w%s: %s; stop it, or give this one its own --data-dir", ErrInUse, pid, dir)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
