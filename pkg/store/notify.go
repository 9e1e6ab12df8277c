package store

import (
	"context"
	"fmt"
	"time"
)

// Notified is what the last notification about a host said (format 3's notify_sent).
type Notified struct {
	Host  string
	State string // the diagnosis' state as a word: "warning", "failing", "ok"
	At    time.Time
	Since time.Time // zero when not known
	What  string
}

// Outgoing is a notification not yet delivered to one URL (format 3's notify_outbox).
type Outgoing struct {
	ID      int64
	Target  string
	Created time.Time
	Title   string
	Body    string
	Link    string
}

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Notifications reads what was last said about each host and the messages not yet delivered,
// oldest first.
func (s *Store) Notifications(ctx context.Context) ([]Notified, []Outgoing, error) {
	var sent []Notified
	rows, err := s.db.QueryContext(ctx, `SELECT host, state, at, since, what FROM notify_sent ORDER BY host`)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read the notifications sent: %w", err)
	}
	for rows.Next() {
		var n Notified
		var at, since int64
		if err := rows.Scan(&n.Host, &n.State, &at, &since, &n.What); err != nil {
			rows.Close()
			return nil, nil, err
		}
		n.At, n.Since = fromMs(at), fromMs(since)
		sent = append(sent, n)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	var out []Outgoing
	rows, err = s.db.QueryContext(ctx, `SELECT id, target, created, title, body, link FROM notify_outbox ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read the notifications not yet delivered: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o Outgoing
		var created int64
		if err := rows.Scan(&o.ID, &o.Target, &created, &o.Title, &o.Body, &o.Link); err != nil {
			return nil, nil, err
		}
		o.Created = fromMs(created)
		out = append(out, o)
	}
	return sent, out, rows.Err()
}

// SaveNotifications records, in one transaction, what is now said about hosts and the messages
// that say it, and returns the messages' IDs in order.
func (s *Store) SaveNotifications(ctx context.Context, sent []Notified, out []Outgoing) ([]int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, n := range sent {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_sent (host, state, at, since, what) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (host) DO UPDATE SET state = excluded.state, at = excluded.at, since = excluded.since, what = excluded.what`,
			n.Host, n.State, unixMs(n.At), unixMs(n.Since), n.What); err != nil {
			return nil, fmt.Errorf("cannot keep the notification sent about %s: %w", n.Host, err)
		}
	}
	ids := make([]int64, len(out))
	for i, o := range out {
		r, err := tx.ExecContext(ctx, `INSERT INTO notify_outbox (target, created, title, body, link) VALUES (?, ?, ?, ?, ?)`,
			o.Target, unixMs(o.Created), o.Title, o.Body, o.Link)
		if err != nil {
			return nil, fmt.Errorf("cannot keep a notification to send: %w", err)
		}
		if ids[i], err = r.LastInsertId(); err != nil {
			return nil, err
		}
	}
	return ids, tx.Commit()
}

// DoneNotification forgets a message that was sent or given up.
func (s *Store) DoneNotification(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM notify_outbox WHERE id = ?`, id)
	return err
}
