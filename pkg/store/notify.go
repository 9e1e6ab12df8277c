package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// What was sent about each host, and the messages not delivered yet, are kept here too (for
// package alerting), so that a restart neither repeats a message nor loses one.

// NotifyHost is what was last sent about a host.
type NotifyHost struct {
	Host  string
	State string    // what the message said: ok (resolved), warning, failing
	At    time.Time // when it was sent
	Since time.Time // when the problem it reported began; zero once resolved
	What  string    // the problem in one sentence
}

// NotifyMessage is a message waiting for one notification URL, known by a key of the URL (not
// the URL, which may hold a secret).
type NotifyMessage struct {
	ID      int64
	Target  string
	Created time.Time
	Title   string
	Body    string
	Link    string
}

var notifySchema = []string{
	`CREATE TABLE IF NOT EXISTS notify_hosts (
		host TEXT PRIMARY KEY,
		state TEXT NOT NULL,
		at INTEGER NOT NULL,
		since INTEGER NOT NULL,
		what TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS notify_outbox (
		id INTEGER PRIMARY KEY,
		target TEXT NOT NULL,
		created INTEGER NOT NULL,
		title TEXT NOT NULL,
		body TEXT NOT NULL,
		link TEXT NOT NULL)`,
}

// msOrZero is t in Unix milliseconds, 0 for the zero time.
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func timeOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

// Notifications reads what was sent about each host and the messages waiting, oldest first.
func (s *Store) Notifications(ctx context.Context) ([]NotifyHost, []NotifyMessage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT host, state, at, since, what FROM notify_hosts ORDER BY host`)
	if err != nil {
		return nil, nil, s.readError(err)
	}
	var hosts []NotifyHost
	for rows.Next() {
		var h NotifyHost
		var at, since int64
		if err := rows.Scan(&h.Host, &h.State, &at, &since, &h.What); err != nil {
			rows.Close()
			return nil, nil, s.readError(err)
		}
		h.At, h.Since = timeOrZero(at), timeOrZero(since)
		hosts = append(hosts, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, s.readError(err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT id, target, created, title, body, link FROM notify_outbox ORDER BY id`)
	if err != nil {
		return nil, nil, s.readError(err)
	}
	defer rows.Close()
	var msgs []NotifyMessage
	for rows.Next() {
		var m NotifyMessage
		var created int64
		if err := rows.Scan(&m.ID, &m.Target, &created, &m.Title, &m.Body, &m.Link); err != nil {
			return nil, nil, s.readError(err)
		}
		m.Created = timeOrZero(created)
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.readError(err)
	}
	return hosts, msgs, nil
}

// SaveNotifications records, in one transaction, what is now sent about hosts and the
// messages that carry it, and returns the messages' IDs in order.
func (s *Store) SaveNotifications(ctx context.Context, hosts []NotifyHost, msgs []NotifyMessage) ([]int64, error) {
	ids := make([]int64, 0, len(msgs))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, h := range hosts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notify_hosts (host, state, at, since, what) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (host) DO UPDATE SET state = excluded.state, at = excluded.at, since = excluded.since, what = excluded.what`,
				h.Host, h.State, msOrZero(h.At), msOrZero(h.Since), h.What); err != nil {
				return err
			}
		}
		for _, m := range msgs {
			res, err := tx.ExecContext(ctx, `INSERT INTO notify_outbox (target, created, title, body, link) VALUES (?, ?, ?, ?, ?)`,
				m.Target, msOrZero(m.Created), m.Title, m.Body, m.Link)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		s.noteDamage(err)
		return nil, fmt.Errorf("cannot write to the history store %s: %w", s.path, explain(err))
	}
	return ids, nil
}

// NotificationDone forgets a message that was sent or given up.
func (s *Store) NotificationDone(ctx context.Context, id int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM notify_outbox WHERE id = ?`, id)
		return err
	})
	if err != nil {
		s.noteDamage(err)
		return fmt.Errorf("cannot write to the history store %s: %w", s.path, explain(err))
	}
	return nil
}
