// Package store keeps each host's history in one SQLite file (modernc.org/sqlite: pure Go, so
// the binary stays static) in WAL mode: every write is a transaction that commits at once, so
// a kill -9 loses nothing that was written.
//
// A series (one host's samples, clock updates, or one source's points) is kept as chunks:
// rows of fixed-width binary records. The recorder writes a small chunk at each sample; Compact
// merges a series' chunks into one per hour, in time order and without duplicates, so that 30
// days of a series are 720 rows to read rather than hundreds of thousands. That is the one
// thing hand-written here: SQLite is fast at rows and slow at a million of them.
//
// A file that SQLite finds damaged is moved aside under a timestamped name and a new one is
// started; no file of the user's is ever deleted.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the store's file in the data directory.
const FileName = "history.db"

// chunkSpan is the longest time one chunk covers: the recorder's chunks cover an instant,
// Compact's and imports' one hour each.
const chunkSpan = time.Hour

// Store is the history of every host, in one file.
type Store struct {
	db   *sql.DB
	path string
	log  *slog.Logger

	// Notice says what happened when the store was opened, for the history panel: a damaged
	// file moved aside. Empty when nothing did.
	Notice string

	lock *os.File // held while the store is open: see lockDir

	mu     sync.Mutex
	series map[seriesKey]int64
	names  map[string]uint32
	byID   map[uint32]string

	metrics map[metricKey]int64  // the rollups' metrics
	rolled  map[string]rollState // how far each host is summarised
	rollGen map[string]int64     // changes of each host's summaries ("": of every host's)

	damageMu      sync.Mutex
	damagedChunks map[[2]int64]bool // (series, t0) of the damaged chunks logged
	bad           error             // SQLite found the file damaged while it was open
}

type seriesKey struct {
	host    string
	kind    int
	source  string
	address string
}

// Open opens (or makes) the store in dir. A damaged file is moved aside under a timestamped
// name and a new one made; Notice says so. A directory that cannot be written is an error that
// names it.
func Open(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot make the data directory %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := openLocked(filepath.Join(dir, FileName), log)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func openLocked(path string, log *slog.Logger) (*Store, error) {
	s, err := open(path, log)
	if err == nil || !isDamage(err) {
		return s, err
	}
	damage := err
	aside, err := moveAside(path)
	if err != nil {
		return nil, fmt.Errorf("the history store %s is damaged (%v), and it could not be moved aside: %w", path, damage, err)
	}
	log.Error("the history store was damaged; it is kept aside and a new one started", "damage", damage, "kept", aside, "new", path)
	s, err = open(path, log)
	if err != nil {
		return nil, err
	}
	s.Notice = fmt.Sprintf("The history store was damaged (%v). It was moved aside to %s, untouched, and a new one was started on %s.",
		damageWords(damage), aside, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return s, nil
}

// damageWords is what SQLite said of a damaged file, without the path the notice names anyway.
func damageWords(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// damageError is a file SQLite opened but found damaged.
type damageError struct{ err error }

func (e damageError) Error() string { return e.err.Error() }
func (e damageError) Unwrap() error { return e.err }

func isDamage(err error) bool {
	var d damageError
	return errors.As(err, &d)
}

// code is SQLite's primary result code of err, or 0.
func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() & 0xff
	}
	return 0
}

// damaged reports whether err says the file is not a sound database.
func damaged(err error) bool {
	c := code(err)
	return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
}

func open(path string, log *slog.Logger) (*Store, error) {
	// The format first, read only: a newer second-hand's store is refused before anything
	// here could write to it.
	switch v, err := formatOf(path); {
	case err != nil:
		return nil, fmt.Errorf("cannot open the history store %s: %w", path, explain(err))
	case v > Version():
		return nil, newerError(path, v)
	}
	// auto_vacuum(INCREMENTAL) takes effect in a new file (it must come before the first
	// table); a file made before it keeps NONE until Reclaim rewrites it. It is set on new
	// files only: on another, even unchanged, it writes the file's header.
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-1024)"
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		dsn += "&_pragma=auto_vacuum(INCREMENTAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot open the history store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	fail := func(err error) (*Store, error) {
		db.Close()
		if damaged(err) {
			return nil, damageError{fmt.Errorf("%s: %w", path, err)}
		}
		return nil, fmt.Errorf("cannot open the history store %s: %w", path, explain(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return fail(err)
	}
	if check != "ok" {
		db.Close()
		return nil, damageError{fmt.Errorf("%s: quick_check: %s", path, check)}
	}
	s := &Store{db: db, path: path, log: log, series: map[seriesKey]int64{}, names: map[string]uint32{}, byID: map[uint32]string{},
		metrics: map[metricKey]int64{}, rolled: map[string]rollState{}, rollGen: map[string]int64{}}
	if err := s.migrate(ctx); err != nil {
		if errors.Is(err, ErrNewerFormat) {
			db.Close()
			return nil, err
		}
		return fail(err)
	}
	if err := s.load(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// load reads the series and the names into memory: both are few.
func (s *Store) load(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, host, kind, source, address FROM series`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var k seriesKey
		if err := rows.Scan(&id, &k.host, &k.kind, &k.source, &k.address); err != nil {
			rows.Close()
			return err
		}
		s.series[k] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT id, text FROM names`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id uint32
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			return err
		}
		s.names[text], s.byID[id] = id, text
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return s.loadRollups(ctx)
}

// describe names a series' records for a user: "samples of nas", "points of ntp1.lan
// (192.168.1.10) of nas".
func (k seriesKey) describe() string {
	what := map[int]string{kindSample: "samples", kindUpdate: "clock updates", kindSource: "points", kindSourceStats: "statistics", kindServer: "server statistics"}[k.kind]
	if k.kind == kindSource || k.kind == kindSourceStats {
		src := k.source
		if k.address != "" && k.address != k.source {
			src += " (" + k.address + ")"
		}
		what += " of " + src
	}
	return what + " of " + k.host
}

// logDamage logs a chunk whose bytes do not hold whole records, once: it is skipped at every
// read, and the rest is read.
func (s *Store) logDamage(series, t0 int64, n, size int) {
	s.damageMu.Lock()
	if s.damagedChunks == nil {
		s.damagedChunks = map[[2]int64]bool{}
	}
	seen := s.damagedChunks[[2]int64{series, t0}]
	s.damagedChunks[[2]int64{series, t0}] = true
	s.damageMu.Unlock()
	if seen {
		return
	}
	what := fmt.Sprintf("series %d", series)
	s.mu.Lock()
	for k, id := range s.series {
		if id == series {
			what = k.describe()
		}
	}
	s.mu.Unlock()
	s.log.Error("history: a damaged chunk of the store is skipped; the rest is read", "series", what,
		"hour", fromMS(t0).Truncate(time.Hour).Format("2006-01-02 15:04 MST"), "bytes", n, "record", size, "path", s.path)
}

// readError is an error reading the store, with its path, noted if it says the file is damaged.
func (s *Store) readError(err error) error {
	s.noteDamage(err)
	return fmt.Errorf("cannot read the history store %s: %w", s.path, err)
}

// noteDamage remembers and logs, once, that SQLite found the file damaged while it was open:
// it is set aside only when the store is opened again.
func (s *Store) noteDamage(err error) {
	if !damaged(err) {
		return
	}
	s.damageMu.Lock()
	first := s.bad == nil
	if first {
		s.bad = err
	}
	s.damageMu.Unlock()
	if first {
		s.log.Error("history: the store is damaged; restart second-hand: it will move the damaged file aside, untouched, and start a new one",
			"path", s.path, "error", err)
	}
}

// Damaged is what SQLite said when it found the file damaged while it was open; nil while it
// has not.
func (s *Store) Damaged() error {
	s.damageMu.Lock()
	defer s.damageMu.Unlock()
	return s.bad
}

// moveAside renames the damaged file, and its WAL and shared-memory files, to
// NAME.damaged-YYYYMMDDTHHMMSSZ.
func moveAside(path string) (string, error) {
	aside := path + ".damaged-" + time.Now().UTC().Format("20060102T150405Z")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+suffix, aside+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return aside, nil
}

// explain adds the fix to the errors a user can act on.
func explain(err error) error {
	switch code(err) {
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w (the disk is full: free some space, or point --data-dir at a disk with room)", err)
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
		return fmt.Errorf("%w (second-hand must be able to write the data directory: check its owner and mode, or set --data-dir)", err)
	}
	return err
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the file; what was written is kept.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// Hosts are the hosts the store holds history of.
func (s *Store) Hosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for k := range s.series {
		if !seen[k.host] {
			seen[k.host] = true
			out = append(out, k.host)
		}
	}
	return out
}

// Sources are the sources the store holds points of for host.
func (s *Store) Sources(host string) []Source {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Source
	for k := range s.series {
		if k.host == host && k.kind == kindSource {
			out = append(out, Source{Name: k.source, Address: k.address})
		}
	}
	return out
}
