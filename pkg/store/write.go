package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Batch is what one write adds for one host: the records of one sample, or of one stretch of
// an imported log. Gaps are upserted by start: a gap that goes on is written again with a
// later end.
type Batch struct {
	Samples []Sample
	Updates []Update
	Sources []SourceRecord
	Servers []ServerSample
	Gaps    []Gap
}

// SourceRecord is a point of one source.
type SourceRecord struct {
	Source Source
	Point  SourcePoint
}

// Empty reports whether the batch holds nothing.
func (b Batch) Empty() bool {
	return len(b.Samples) == 0 && len(b.Updates) == 0 && len(b.Sources) == 0 && len(b.Servers) == 0 && len(b.Gaps) == 0
}

// earliest is the time of the batch's earliest record (Unix ms), gaps aside.
func (b Batch) earliest() (int64, bool) {
	t, ok := int64(0), false
	first := func(u time.Time) {
		if m := ms(u); !ok || m < t {
			t, ok = m, true
		}
	}
	for _, r := range b.Samples {
		first(r.T)
	}
	for _, r := range b.Updates {
		first(r.T)
	}
	for _, r := range b.Sources {
		first(r.Point.T)
	}
	for _, r := range b.Servers {
		first(r.T)
	}
	return t, ok
}

// Append writes a batch for host in one transaction, committed before it returns.
func (s *Store) Append(ctx context.Context, host string, b Batch) error {
	if b.Empty() {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(b.Samples) > 0 {
			var data []byte
			for _, r := range b.Samples {
				data = r.encode(data)
			}
			if err := s.addChunks(ctx, tx, seriesKey{host: host, kind: kindSample}, sampleSize, data); err != nil {
				return err
			}
		}
		if len(b.Updates) > 0 {
			var data []byte
			for _, u := range b.Updates {
				id, err := s.nameID(ctx, tx, u.Reference)
				if err != nil {
					return err
				}
				data = u.encode(data, id)
			}
			if err := s.addChunks(ctx, tx, seriesKey{host: host, kind: kindUpdate}, updateSize, data); err != nil {
				return err
			}
		}
		if len(b.Servers) > 0 {
			var data []byte
			for _, r := range b.Servers {
				data = r.encode(data)
			}
			if err := s.addChunks(ctx, tx, seriesKey{host: host, kind: kindServer}, serverSize, data); err != nil {
				return err
			}
		}
		bySource, stats := map[Source][]byte{}, map[Source][]byte{}
		var order []Source
		for _, r := range b.Sources {
			if _, ok := bySource[r.Source]; !ok {
				order = append(order, r.Source)
			}
			bySource[r.Source] = r.Point.encode(bySource[r.Source])
			if r.Point.HasStats {
				stats[r.Source] = r.Point.encodeStats(stats[r.Source])
			}
		}
		for _, src := range order {
			k := seriesKey{host: host, kind: kindSource, source: src.Name, address: src.Address}
			if err := s.addChunks(ctx, tx, k, sourceSize, bySource[src]); err != nil {
				return err
			}
			if len(stats[src]) > 0 {
				k.kind = kindSourceStats
				if err := s.addChunks(ctx, tx, k, statsSize, stats[src]); err != nil {
					return err
				}
			}
		}
		if t, ok := b.earliest(); ok {
			// Behind the summaries: that day is summarised again.
			if err := s.noteBehind(ctx, tx, host, t); err != nil {
				return err
			}
		}
		for _, g := range b.Gaps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO gaps (host, start, end, error) VALUES (?, ?, ?, ?)
				ON CONFLICT (host, start) DO UPDATE SET end = max(end, excluded.end), error = excluded.error`,
				host, ms(g.Start), ms(g.End), g.Error); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.noteDamage(err)
		return fmt.Errorf("cannot write to the history store %s: %w", s.path, explain(err))
	}
	return nil
}

// inTx runs f in a transaction and commits it; the series and names f made are forgotten
// again if it does not commit.
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	err = f(tx)
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if err != nil {
		// Ids handed out in a transaction that rolled back would point nowhere, and the rollup
		// state it moved did not move: read them again.
		clear(s.series)
		clear(s.names)
		clear(s.byID)
		clear(s.metrics)
		clear(s.rolled)
		if lerr := s.load(ctx); lerr != nil {
			s.log.Error("reloading the store's series after a failed write", "error", lerr)
		}
	}
	return err
}

// seriesID finds or makes a series; call it with s.mu held, in tx.
func (s *Store) seriesID(ctx context.Context, tx *sql.Tx, k seriesKey) (int64, error) {
	if id, ok := s.series[k]; ok {
		return id, nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO series (host, kind, source, address) VALUES (?, ?, ?, ?)`, k.host, k.kind, k.source, k.address)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	s.series[k] = id
	return id, nil
}

// nameID finds or makes the id of a text; call it with s.mu held, in tx.
func (s *Store) nameID(ctx context.Context, tx *sql.Tx, text string) (uint32, error) {
	if id, ok := s.names[text]; ok {
		return id, nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO names (text) VALUES (?)`, text)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	s.names[text], s.byID[uint32(id)] = uint32(id), text
	return uint32(id), nil
}

// addChunks writes records to a series, one chunk per hour they fall in, each chunk's records
// in time order.
func (s *Store) addChunks(ctx context.Context, tx *sql.Tx, k seriesKey, size int, data []byte) error {
	id, err := s.seriesID(ctx, tx, k)
	if err != nil {
		return err
	}
	recs, err := records(data, size)
	if err != nil {
		return err
	}
	slices.SortStableFunc(recs, func(a, b []byte) int { return cmp.Compare(recordTime(a), recordTime(b)) })
	for len(recs) > 0 {
		hour := hourOf(recordTime(recs[0]))
		n := 1
		for n < len(recs) && hourOf(recordTime(recs[n])) == hour {
			n++
		}
		chunk := make([]byte, 0, n*size)
		for _, r := range recs[:n] {
			chunk = append(chunk, r...)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chunks (series, t0, t1, n, data) VALUES (?, ?, ?, ?, ?)`,
			id, recordTime(recs[0]), recordTime(recs[n-1]), n, chunk); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

func hourOf(msec int64) int64 { return msec / int64(chunkSpan/time.Millisecond) }
