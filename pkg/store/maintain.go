package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Compact merges each series' chunks of every hour before now's into one, in time order and
// without duplicates. Each hour of each series is its own short transaction, so readers and
// the recorder never wait for long.
func (s *Store) Compact(ctx context.Context, now time.Time) error {
	s.mu.Lock()
	type target struct {
		id   int64
		size int
	}
	var targets []target
	for k, id := range s.series {
		targets = append(targets, target{id, sizes[k.kind]})
	}
	s.mu.Unlock()
	current := hourOf(ms(now))
	hourMS := int64(chunkSpan / time.Millisecond)
	for _, t := range targets {
		rows, err := s.db.QueryContext(ctx, `SELECT t0 / ? AS h FROM chunks WHERE series = ? GROUP BY h HAVING count(*) > 1 AND h < ?`,
			hourMS, t.id, current)
		if err != nil {
			s.noteDamage(err)
			return fmt.Errorf("compacting the history store: %w", err)
		}
		var hours []int64
		for rows.Next() {
			var h int64
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			hours = append(hours, h)
		}
		rows.Close()
		for _, h := range hours {
			if err := s.mergeHour(ctx, t.id, t.size, h*hourMS, (h+1)*hourMS); err != nil {
				s.noteDamage(err)
				return fmt.Errorf("compacting the history store: %w", explain(err))
			}
		}
	}
	return nil
}

// mergeHour replaces the chunks of a series that start in [lo, hi) with one. A damaged chunk
// (bytes that do not hold whole records) is left as it is: never merged, never deleted.
func (s *Store) mergeHour(ctx context.Context, series int64, size int, lo, hi int64) error {
	var damaged [][2]int64 // t0 and length of each, logged once the transaction is over
	defer func() {
		for _, d := range damaged {
			s.logDamage(series, d[0], int(d[1]), size)
		}
	}()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT rowid, t0, data FROM chunks WHERE series = ? AND t0 >= ? AND t0 < ?`, series, lo, hi)
		if err != nil {
			return err
		}
		var ids []int64
		var recs [][]byte
		for rows.Next() {
			var id, t0 int64
			var data []byte
			if err := rows.Scan(&id, &t0, &data); err != nil {
				rows.Close()
				return err
			}
			rs, err := records(data, size)
			if err != nil {
				damaged = append(damaged, [2]int64{t0, int64(len(data))})
				continue
			}
			ids = append(ids, id)
			recs = append(recs, rs...)
		}
		rows.Close()
		if len(ids) < 2 {
			return nil
		}
		slices.SortStableFunc(recs, func(a, b []byte) int { return cmp.Compare(recordTime(a), recordTime(b)) })
		recs = dedupe(recs)
		data := make([]byte, 0, len(recs)*size)
		for _, r := range recs {
			data = append(data, r...)
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE rowid = ?`, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO chunks (series, t0, t1, n, data) VALUES (?, ?, ?, ?, ?)`,
			series, recordTime(recs[0]), recordTime(recs[len(recs)-1]), len(recs), data)
		return err
	})
}

// Expire removes what ended before before, a thousand chunks per transaction, so that the
// recorder and the pages are never held up for long.
func (s *Store) Expire(ctx context.Context, before time.Time) (int64, error) {
	var removed int64
	for {
		var n int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE rowid IN (SELECT rowid FROM chunks WHERE t1 < ? LIMIT 1000)`, ms(before))
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			s.noteDamage(err)
			return removed, fmt.Errorf("removing old history: %w", explain(err))
		}
		removed += n
		if n == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return removed, err
		}
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM gaps WHERE end < ?`, ms(before)); err != nil {
		return removed, fmt.Errorf("removing old history: %w", explain(err))
	}
	return removed, nil
}

// Maintain keeps the store, once now and then every interval until ctx ends: compacts it,
// summarises the days that are over, removes what each level keeps no longer, and gives the
// pages freed back to the file system.
func (s *Store) Maintain(ctx context.Context, keep Retention, interval time.Duration) {
	for {
		s.MaintainOnce(ctx, time.Now(), keep)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// MaintainOnce is one round of Maintain, at now; it logs what fails.
func (s *Store) MaintainOnce(ctx context.Context, now time.Time, keep Retention) {
	if err := s.Compact(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Error("history store", "error", err)
	}
	if err := s.Rollup(ctx, now, keep); err != nil && ctx.Err() == nil {
		s.log.Error("history store", "error", err)
	}
	n, err := s.ExpireLevels(ctx, now, keep)
	if err != nil && ctx.Err() == nil {
		s.log.Error("history store", "error", err)
	}
	if n > 0 {
		s.log.Debug("history store: removed old records", "chunks and rows", n)
		if err := s.freePages(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("history store", "error", err)
		}
	}
}

// freePages gives the file's free pages back to the file system a few megabytes at a time,
// each step its own transaction: after a big import, the raw records of years go at once, and
// one incremental_vacuum of them would hold the recorder's writes for minutes. A store made
// before auto_vacuum (NONE) keeps its pages until an import rewrites it (Reclaim).
func (s *Store) freePages(ctx context.Context) error {
	for ctx.Err() == nil {
		var free int
		if err := s.db.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
			return err
		}
		var mode int
		if err := s.db.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
			return err
		}
		if free == 0 || mode != 2 {
			return nil
		}
		if err := s.drain(ctx, `PRAGMA incremental_vacuum(2048)`); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Size is the store's size on disk, its WAL included.
func (s *Store) Size() (int64, error) {
	var pages, pageSize int64
	if err := s.db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		return 0, err
	}
	if err := s.db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		return 0, err
	}
	return pages * pageSize, nil
}

// Reclaim gives the pages the file no longer uses back to the file system, so that it is the
// size of what it holds: after an import, whose records are written first and their
// duplicates dropped by compaction. A store made by this version frees them with an
// incremental vacuum (auto_vacuum INCREMENTAL); one made before is rewritten once with VACUUM,
// which makes it incremental from then on.
func (s *Store) Reclaim(ctx context.Context) error {
	var mode int
	if err := s.db.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return fmt.Errorf("reclaiming free pages of the history store: %w", err)
	}
	var err error
	if mode == 0 {
		// The new mode is written by the VACUUM that follows it, on the same connection.
		conn, cerr := s.db.Conn(ctx)
		if cerr != nil {
			return cerr
		}
		defer conn.Close()
		if _, err = conn.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err == nil {
			_, err = conn.ExecContext(ctx, `VACUUM`)
		}
	} else {
		err = s.drain(ctx, `PRAGMA incremental_vacuum`)
	}
	if err == nil {
		err = s.drain(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if err != nil {
		s.noteDamage(err)
		return fmt.Errorf("reclaiming free pages of the history store: %w", explain(err))
	}
	return nil
}

// drain runs a pragma that works as its rows are read.
func (s *Store) drain(ctx context.Context, pragma string) error {
	rows, err := s.db.QueryContext(ctx, pragma)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}
