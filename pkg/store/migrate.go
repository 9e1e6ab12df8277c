package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The store's format has a version, kept in SQLite's user_version, and changes only through
// the ordered steps below: opening a store runs the steps its version lacks, all of them in one
// transaction, so that a step that fails (or a kill -9 during one) leaves the file as it was.
// A store of a version this program does not know (written by a newer second-hand) is refused,
// and not touched.
//
// To change the format (a table for notifications, a field in a record): add a Migration at
// the end of migrations with the next Version, whose Up makes the change in the transaction it
// is given (execAll for plain statements), and a test that opens a store of the version before
// (testdata/vN, made by that release) and finds its history whole. Never edit a step that has
// been released: a store that ran it will not run it again.

// Migration is one step of the store's format, from Version-1 to Version.
type Migration struct {
	Version int
	What    string // what it adds, for the log
	Up      func(ctx context.Context, tx *sql.Tx) error
}

// migrations are the store's format, step by step.
var migrations = []Migration{
	{Version: 1, What: "series of samples, clock updates and sources' points in chunks of fixed-width records; gaps", Up: execAll(schemaV1...)},
	{Version: 2, What: "rollups: summaries of 5 minutes and 1 hour with mergeable histograms; chronyd's server statistics", Up: execAll(schemaV2...)},
	{Version: 3, What: "notifications sent: what was last told about each host, and the messages not yet delivered", Up: execAll(schemaV3...)},
}

// Version is the format this program writes: the last migration's.
func Version() int { return migrations[len(migrations)-1].Version }

// ErrNewerFormat is a store written by a newer second-hand, in a format this one does not know.
var ErrNewerFormat = errors.New("the history store was written by a newer second-hand")

// execAll is a migration's Up that runs statements in order.
func execAll(stmts ...string) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%w, in: %.60s", err, stmt)
			}
		}
		return nil
	}
}

// The format of the release before versions (format 1): a store of that release has
// user_version 0 and these tables, which the step makes only where they are missing.
var schemaV1 = []string{
	`CREATE TABLE IF NOT EXISTS series (
		id INTEGER PRIMARY KEY,
		host TEXT NOT NULL,
		kind INTEGER NOT NULL,
		source TEXT NOT NULL DEFAULT '',
		address TEXT NOT NULL DEFAULT '',
		UNIQUE (host, kind, source, address))`,
	`CREATE TABLE IF NOT EXISTS chunks (
		series INTEGER NOT NULL,
		t0 INTEGER NOT NULL,
		t1 INTEGER NOT NULL,
		n INTEGER NOT NULL,
		data BLOB NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks (series, t0)`,
	`CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)`,
	`CREATE TABLE IF NOT EXISTS gaps (
		host TEXT NOT NULL,
		start INTEGER NOT NULL,
		end INTEGER NOT NULL,
		error TEXT NOT NULL,
		PRIMARY KEY (host, start)) WITHOUT ROWID`,
}

// Format 2: rollups (see rollup.go). Server statistics are a new kind of series in the chunks
// of format 1, which needs no change to its tables.
var schemaV2 = []string{
	// A metric is one rolled-up quantity of a host: the system time offset, a source's
	// offsets, the NTP requests per second.
	`CREATE TABLE metrics (
		id INTEGER PRIMARY KEY,
		host TEXT NOT NULL,
		name TEXT NOT NULL,
		source TEXT NOT NULL DEFAULT '',
		address TEXT NOT NULL DEFAULT '',
		UNIQUE (host, name, source, address))`,
	// A day of a metric's summaries at one level (1: 5 minutes, 2: 1 hour), and apart, so
	// that drawing reads none of them, its intervals' histograms. The key is the metric, the
	// level and the day in one integer (rollupID), the table's rowid: the rows are kept in its
	// order, so a year of a metric is read in order, and as a table's (not an index's) rows
	// they fill their pages.
	`CREATE TABLE rollups (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`,
	`CREATE TABLE rollup_hists (id INTEGER PRIMARY KEY, hists BLOB NOT NULL)`,
	// How far each host's record is rolled up (done, Unix ms at a day's start), and the
	// earliest record written since behind that (redo).
	`CREATE TABLE rollup_state (
		host TEXT PRIMARY KEY,
		done INTEGER NOT NULL,
		redo INTEGER)`,
}

// Format 3: what the notifications (--notify) last said about each host, and the messages
// not yet delivered, so that a restart neither repeats a message nor loses one (see notify.go).
var schemaV3 = []string{
	// state is the diagnosis' state the last message told ("ok" once resolved); times are
	// Unix ms, since 0 when not known.
	`CREATE TABLE notify_sent (
		host TEXT PRIMARY KEY,
		state TEXT NOT NULL,
		at INTEGER NOT NULL,
		since INTEGER NOT NULL DEFAULT 0,
		what TEXT NOT NULL DEFAULT '') WITHOUT ROWID`,
	// One row per message and notification URL (target: the URL's key, without secrets),
	// deleted once sent or given up. AUTOINCREMENT: an ID is never given twice, even after
	// the outbox was emptied.
	`CREATE TABLE notify_outbox (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		target TEXT NOT NULL,
		created INTEGER NOT NULL,
		title TEXT NOT NULL,
		body TEXT NOT NULL,
		link TEXT NOT NULL DEFAULT '')`,
}

// formatOf reads the store's version from its file's header (user_version is the 4 bytes at
// offset 60, big-endian) without opening it: a store this program cannot read must not be
// touched, not even by the pragmas an open sets. 0 for a new file, or one that is not SQLite's
// (its damage is found when it is opened). migrate reads the version again in its
// transaction, which sees what a WAL not yet checkpointed holds.
func formatOf(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h [100]byte
	if n, _ := io.ReadFull(f, h[:]); n < len(h) || string(h[:16]) != "SQLite format 3\x00" {
		return 0, nil
	}
	return int(int32(binary.BigEndian.Uint32(h[60:]))), nil
}

// newerError is the message for a store of a format this program does not know.
func newerError(path string, v int) error {
	return fmt.Errorf("%w: %s is in store format %d, and this second-hand (format %d) does not know it; "+
		"run that newer second-hand, or give this one another --data-dir. The file is left as it is", ErrNewerFormat, path, v, Version())
}

// migrate brings the store to Version in one transaction: every step, or none.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var from int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&from); err != nil {
		return err
	}
	if from > Version() {
		return newerError(s.path, from)
	}
	if from == Version() {
		return nil
	}
	var tables int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table'`).Scan(&tables); err != nil {
		return err
	}
	for _, m := range migrations {
		if m.Version <= from {
			continue
		}
		if err := m.Up(ctx, tx); err != nil {
			return fmt.Errorf("upgrading the history store %s to format %d (%s) failed, and it is left in format %d as it was: %w",
				s.path, m.Version, m.What, from, err)
		}
	}
	// PRAGMA takes no parameters; Version is a constant of this program.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, Version())); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if tables > 0 {
		s.log.Info("history: the store's format was upgraded", "path", s.path, "from", max(from, 1), "to", Version())
	}
	return nil
}
