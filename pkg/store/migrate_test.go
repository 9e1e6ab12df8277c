package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestMain runs a helper instead of the tests when STORE_TEST_HELPER says which: a process the
// test kills with SIGKILL in the middle of something.
func TestMain(m *testing.M) {
	if what := os.Getenv("STORE_TEST_HELPER"); what != "" {
		if err := helper(what, os.Getenv("STORE_TEST_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper does what, in the store in dir, and blocks forever at the point to kill it: it writes
// dir/progress first.
func helper(what, dir string) error {
	block := func() {
		os.WriteFile(filepath.Join(dir, "progress"), []byte(what), 0o644)
		select {}
	}
	switch what {
	case "migrate":
		// The real steps, then one that waits in the same transaction.
		migrations = append(migrations, Migration{Version: Version() + 1, What: "a step that waits", Up: func(context.Context, *sql.Tx) error {
			block()
			return nil
		}})
		_, err := Open(dir, nil)
		return err
	case "rollup":
		return rollupHelper(dir, block)
	}
	return fmt.Errorf("no helper %q", what)
}

// runHelper starts the test binary as the helper what on dir, waits until it reaches its
// point (its progress file), and kills it with SIGKILL.
func runHelper(t *testing.T, what, dir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STORE_TEST_HELPER="+what, "STORE_TEST_DIR="+dir)
	out := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	progress := filepath.Join(dir, "progress")
	testkit.Eventually(t, time.Minute, "the helper to reach its point", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("the helper %s exited: %v\n%s", what, err, out)
		default:
		}
		_, err := os.Stat(progress)
		return err == nil
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	os.Remove(progress)
}

// v1Store copies testdata/v1 (a store made by the release before store versions) into a new
// directory, and returns it and what that release read from it.
func v1Store(t *testing.T) (string, map[string]History) {
	t.Helper()
	dir := t.TempDir()
	db, err := os.ReadFile("testdata/v1/history.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), db, 0o640); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/v1/history.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]History
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	return dir, want
}

// sameHistory checks that s reads what the release before read, point by point.
func sameHistory(t *testing.T, s *Store, want map[string]History) {
	t.Helper()
	for host, w := range want {
		got, err := s.Range(ctx, host, w.From, w.To)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Samples) == 0 || !reflect.DeepEqual(got, w) {
			t.Errorf("%s: %d samples, %d updates, %d sources, %d gaps read; the release before read %d, %d, %d, %d, and the records differ",
				host, len(got.Samples), len(got.Updates), len(got.Sources), len(got.Gaps), len(w.Samples), len(w.Updates), len(w.Sources), len(w.Gaps))
		}
	}
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMigrateFromV1: the store of the release before versions opens, is upgraded to this
// format, and reads the same records, point by point; opened again, it is not upgraded again.
func TestMigrateFromV1(t *testing.T) {
	dir, want := v1Store(t)
	if v, _ := formatOf(filepath.Join(dir, FileName)); v != 0 {
		t.Fatalf("testdata/v1 has user_version %d, want 0 (the release before versions)", v)
	}
	for range 2 {
		s, err := Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v := s.pragma(t, "user_version"); v != Version() {
			t.Errorf("user_version %d after opening, want %d", v, Version())
		}
		sameHistory(t, s, want)
		s.Close()
	}
}

// TestNewerFormatIsRefused: a store of a format this program does not know is refused with a
// message that says so and what to do, and the file is neither changed nor moved aside.
func TestNewerFormatIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.Append(ctx, "nas", batch(t0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, Version()+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, FileName)
	before := fileBytes(t, path)
	_, err := Open(dir, nil)
	if !errors.Is(err, ErrNewerFormat) || !strings.Contains(err.Error(), fmt.Sprintf("format %d", Version()+1)) ||
		!strings.Contains(err.Error(), "--data-dir") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a newer store: %v", err)
	}
	if !bytes.Equal(fileBytes(t, path), before) {
		t.Error("the newer store's file was changed")
	}
	if aside, _ := filepath.Glob(path + ".damaged-*"); len(aside) > 0 {
		t.Errorf("the newer store was moved aside: %v", aside)
	}
}

// TestFailedMigrationLeavesTheFile: a step that fails after the others have run (a fault
// injected at the end of the list) leaves the store of the release before byte for byte as it
// was, with an error that says so; without the fault it then opens and reads the same records.
func TestFailedMigrationLeavesTheFile(t *testing.T) {
	dir, want := v1Store(t)
	path := filepath.Join(dir, FileName)
	before := fileBytes(t, path)
	real := migrations
	migrations = append(append([]Migration{}, real...), Migration{Version: Version() + 1, What: "a step that fails",
		Up: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE half_done (x)`); err != nil {
				return err
			}
			return errors.New("injected fault")
		}})
	_, err := Open(dir, nil)
	migrations = real
	if err == nil || !strings.Contains(err.Error(), "injected fault") || !strings.Contains(err.Error(), "left in format 0 as it was") {
		t.Fatalf("Open with a failing step: %v", err)
	}
	if !bytes.Equal(fileBytes(t, path), before) {
		t.Error("the file changed although the upgrade failed")
	}
	s := openStore(t, dir)
	sameHistory(t, s, want)
	var n int
	s.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`).Scan(&n)
	if n != 0 {
		t.Error("the failed step's table is in the store")
	}
}

// TestKill9DuringMigration: a process upgrading the store of the release before is killed with
// SIGKILL inside the upgrade's transaction (every step run, before the commit). The store then
// opens, upgrades, and reads the same records.
func TestKill9DuringMigration(t *testing.T) {
	dir, want := v1Store(t)
	runHelper(t, "migrate", dir)
	if v, err := formatOf(filepath.Join(dir, FileName)); err != nil || v != 0 {
		t.Errorf("after the kill: format %d (%v), want the release before's", v, err)
	}
	s := openStore(t, dir)
	if v := s.pragma(t, "user_version"); v != Version() {
		t.Errorf("user_version %d, want %d", v, Version())
	}
	sameHistory(t, s, want)
}

// TestOpenV2: the store of format 2 (testdata/v2, made by the release that wrote that format)
// reads the same records and the same summaries. The migration to format 3 tests from it.
func TestOpenV2(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), fileBytes(t, "testdata/v2/history.db"), 0o640); err != nil {
		t.Fatal(err)
	}
	var want struct {
		Records map[string]History
		Rollups map[string]Summary
	}
	if err := json.Unmarshal(fileBytes(t, "testdata/v2/history.json"), &want); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	sameHistory(t, s, want.Records)
	got := map[string]Summary{}
	for _, level := range []int{Level5m, Level1h} {
		// From the start of the records' first whole day, as makev2 read them.
		err := s.WalkRollups(ctx, "nas", level, want.Records["nas"].From.Add(time.Hour), want.Records["nas"].To, false, func(k MetricKey, r RollupDay) {
			if level == Level5m && k.Name != MetricOffset {
				return
			}
			for i := range r.Len() {
				at, sm := r.Bucket(i)
				got[fmt.Sprintf("%s %s %d %s", k.Name, k.Source.Name, level, at.Format(time.RFC3339))] = sm
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) == 0 || !reflect.DeepEqual(got, want.Rollups) {
		t.Errorf("%d summaries read, the release read %d, and they differ", len(got), len(want.Rollups))
	}
}
