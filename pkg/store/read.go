package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// History is one host's record over a time range, each list in time order with no two records
// at the same time.
type History struct {
	Host     string
	From, To time.Time
	Samples  []Sample
	Updates  []Update
	Sources  []SourceHistory // by name, then address
	Gaps     []Gap           // those that overlap the range
}

// SourceHistory is one source's points.
type SourceHistory struct {
	Source
	Points []SourcePoint
}

// Range reads host's history from from to to, both included.
func (s *Store) Range(ctx context.Context, host string, from, to time.Time) (History, error) {
	h := History{Host: host, From: from, To: to}
	s.mu.Lock()
	var keys []seriesKey
	ids := map[seriesKey]int64{}
	for k, id := range s.series {
		if k.host == host {
			keys = append(keys, k)
			ids[k] = id
		}
	}
	s.mu.Unlock()
	slices.SortFunc(keys, func(a, b seriesKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.source, b.source), cmp.Compare(a.address, b.address))
	})
	lo, hi := ms(from), ms(to)
	for _, k := range keys {
		recs, err := s.read(ctx, ids[k], sizes[k.kind], lo, hi)
		if err != nil {
			return h, fmt.Errorf("cannot read the history store %s: %w", s.path, err)
		}
		switch k.kind {
		case kindSample:
			for _, r := range recs {
				h.Samples = append(h.Samples, decodeSample(r))
			}
		case kindUpdate:
			s.mu.Lock()
			for _, r := range recs {
				h.Updates = append(h.Updates, decodeUpdate(r, s.name))
			}
			s.mu.Unlock()
		case kindSource:
			sh := SourceHistory{Source: Source{Name: k.source, Address: k.address}}
			for _, r := range recs {
				sh.Points = append(sh.Points, decodeSource(r))
			}
			if len(sh.Points) > 0 {
				h.Sources = append(h.Sources, sh)
			}
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT start, end, error FROM gaps WHERE host = ? AND end >= ? AND start <= ? ORDER BY start`, host, lo, hi)
	if err != nil {
		return h, fmt.Errorf("cannot read the history store %s: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var start, end int64
		var msg string
		if err := rows.Scan(&start, &end, &msg); err != nil {
			return h, err
		}
		h.Gaps = append(h.Gaps, Gap{Start: fromMS(start), End: fromMS(end), Error: msg})
	}
	return h, rows.Err()
}

// read returns a series' records from lo to hi (Unix ms), in time order, one per time.
func (s *Store) read(ctx context.Context, series int64, size int, lo, hi int64) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM chunks WHERE series = ? AND t0 >= ? AND t0 <= ? AND t1 >= ? ORDER BY t0, rowid`,
		series, lo-int64(chunkSpan/time.Millisecond), hi, lo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	sorted := true
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		recs, err := records(data, size)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			t := recordTime(r)
			if t < lo || t > hi {
				continue
			}
			if n := len(out); n > 0 && t < recordTime(out[n-1]) {
				sorted = false
			}
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !sorted {
		slices.SortStableFunc(out, func(a, b []byte) int { return cmp.Compare(recordTime(a), recordTime(b)) })
	}
	return dedupe(out), nil
}

// dedupe keeps the first record of each time in sorted records.
func dedupe(recs [][]byte) [][]byte {
	if len(recs) < 2 {
		return recs
	}
	out := recs[:1]
	for _, r := range recs[1:] {
		if recordTime(r) != recordTime(out[len(out)-1]) {
			out = append(out, r)
		}
	}
	return out
}
