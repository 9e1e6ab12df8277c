package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
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

// Visitor receives a host's records as Walk reads them: the samples, then the clock updates,
// then each source's points, then the gaps, each kind in time order and one record per time.
// A nil function skips its kind.
type Visitor struct {
	Sample func(Sample)
	Update func(Update)
	Source func(Source, SourcePoint)
	Gap    func(Gap)
}

// Range reads host's history from from to to, both included.
func (s *Store) Range(ctx context.Context, host string, from, to time.Time) (History, error) {
	h := History{Host: host, From: from, To: to}
	err := s.Walk(ctx, host, from, to, Visitor{
		Sample: func(r Sample) { h.Samples = append(h.Samples, r) },
		Update: func(r Update) { h.Updates = append(h.Updates, r) },
		Source: func(src Source, p SourcePoint) {
			if n := len(h.Sources); n == 0 || h.Sources[n-1].Source != src {
				h.Sources = append(h.Sources, SourceHistory{Source: src})
			}
			last := &h.Sources[len(h.Sources)-1]
			last.Points = append(last.Points, p)
		},
		Gap: func(g Gap) { h.Gaps = append(h.Gaps, g) },
	})
	return h, err
}

// Walk reads host's history from from to to, both included, record by record: a month of a
// host is read without holding it all decoded at once.
func (s *Store) Walk(ctx context.Context, host string, from, to time.Time, v Visitor) error {
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
	var buf []byte
	for _, k := range keys {
		var err error
		size := sizes[k.kind]
		buf, err = s.read(ctx, ids[k], size, lo, hi, buf[:0])
		if err != nil {
			return fmt.Errorf("cannot read the history store %s: %w", s.path, err)
		}
		switch {
		case k.kind == kindSample && v.Sample != nil:
			for i := 0; i < len(buf); i += size {
				v.Sample(decodeSample(buf[i : i+size]))
			}
		case k.kind == kindUpdate && v.Update != nil:
			s.mu.Lock()
			byID := maps.Clone(s.byID)
			s.mu.Unlock()
			name := func(id uint32) string { return byID[id] }
			for i := 0; i < len(buf); i += size {
				v.Update(decodeUpdate(buf[i:i+size], name))
			}
		case k.kind == kindSource && v.Source != nil:
			src := Source{Name: k.source, Address: k.address}
			for i := 0; i < len(buf); i += size {
				v.Source(src, decodeSource(buf[i:i+size]))
			}
		}
	}
	if v.Gap == nil {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT start, end, error FROM gaps WHERE host = ? AND end >= ? AND start <= ? ORDER BY start`, host, lo, hi)
	if err != nil {
		return fmt.Errorf("cannot read the history store %s: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var start, end int64
		var msg string
		if err := rows.Scan(&start, &end, &msg); err != nil {
			return err
		}
		v.Gap(Gap{Start: fromMS(start), End: fromMS(end), Error: msg})
	}
	return rows.Err()
}

// read appends to buf a series' records from lo to hi (Unix ms), in time order, one per time.
func (s *Store) read(ctx context.Context, series int64, size int, lo, hi int64, buf []byte) ([]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM chunks WHERE series = ? AND t0 >= ? AND t0 <= ? AND t1 >= ? ORDER BY t0, rowid`,
		series, lo-int64(chunkSpan/time.Millisecond), hi, lo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sorted := true
	last := int64(math.MinInt64)
	for rows.Next() {
		var data sql.RawBytes
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		if len(data)%size != 0 {
			return nil, fmt.Errorf("store: a chunk of %d bytes does not hold whole records of %d", len(data), size)
		}
		for i := 0; i < len(data); i += size {
			t := recordTime(data[i:])
			if t < lo || t > hi {
				continue
			}
			if t < last {
				sorted = false
			}
			last = t
			buf = append(buf, data[i:i+size]...)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !sorted {
		recs, _ := records(buf, size)
		slices.SortStableFunc(recs, func(a, b []byte) int { return cmp.Compare(recordTime(a), recordTime(b)) })
		sortedBuf := make([]byte, 0, len(buf))
		for _, r := range recs {
			sortedBuf = append(sortedBuf, r...)
		}
		buf = sortedBuf
	}
	// One record per time: the first.
	out := buf[:0]
	for i := 0; i < len(buf); i += size {
		if len(out) == 0 || recordTime(buf[i:]) != recordTime(out[len(out)-size:]) {
			out = append(out, buf[i:i+size]...)
		}
	}
	return out, nil
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
