package store

import (
	"cmp"
	"context"
	"database/sql"
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
	Servers  []ServerSample  `json:",omitempty"`
	Gaps     []Gap           // those that overlap the range
	Damaged  []Damage        // stretches whose records could not be read, skipped
}

// Damage is a chunk of a series the store could not read (its bytes do not hold whole
// records): its stretch is skipped, and the rest of the range is read.
type Damage struct {
	Start, End time.Time
	Series     string // which records: "samples", "clock updates", "points of ntp1.lan (192.168.1.1)"
}

// SourceHistory is one source's points.
type SourceHistory struct {
	Source
	Points []SourcePoint
}

// Visitor receives a host's records as Walk reads them: the samples, then the clock updates,
// then each source's points, then the server statistics, then the gaps, each kind in time order and one record per time.
// A nil function skips its kind.
type Visitor struct {
	Sample func(Sample)
	Update func(Update)
	Source func(Source, SourcePoint)
	Server func(ServerSample)
	Gap    func(Gap)
	// End is called after the last record of the series, before the gaps.
	End func()
	// Damaged receives each damaged chunk of the series read (Damage), after End.
	Damaged func(Damage)
	// NoSourceStats leaves the sources' statistics out of their points: the charts do without.
	NoSourceStats bool
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
		Server:  func(r ServerSample) { h.Servers = append(h.Servers, r) },
		Gap:     func(g Gap) { h.Gaps = append(h.Gaps, g) },
		Damaged: func(d Damage) { h.Damaged = append(h.Damaged, d) },
	})
	return h, err
}

// Walk reads host's history from from to to, both included, record by record: a month of a
// host is read without holding it all decoded at once.
func (s *Store) Walk(ctx context.Context, host string, from, to time.Time, v Visitor) error {
	s.mu.Lock()
	snap := s.snapshot(host)
	s.mu.Unlock()
	return s.walk(ctx, s.db, snap, host, from, to, v)
}

// querier is where a walk reads: the database, or a transaction (a rollup reads the records it
// summarises in the transaction that writes the summary).
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// hostSeries is what a walk needs of the store's series and names, taken with s.mu held.
type hostSeries struct {
	keys []seriesKey // in the order a walk reads them
	ids  map[seriesKey]int64
	byID map[uint32]string
}

// snapshot is host's series; call it with s.mu held.
func (s *Store) snapshot(host string) hostSeries {
	h := hostSeries{ids: map[seriesKey]int64{}, byID: maps.Clone(s.byID)}
	for k, id := range s.series {
		if k.host == host {
			h.keys = append(h.keys, k)
			h.ids[k] = id
		}
	}
	slices.SortFunc(h.keys, func(a, b seriesKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.source, b.source), cmp.Compare(a.address, b.address))
	})
	return h
}

func (s *Store) walk(ctx context.Context, q querier, snap hostSeries, host string, from, to time.Time, v Visitor) error {
	keys, ids, byID := snap.keys, snap.ids, snap.byID
	lo, hi := ms(from), ms(to)
	name := func(id uint32) string { return byID[id] }
	var damage []Damage
	for _, k := range keys {
		onDamage := func(t0, t1 int64) {
			damage = append(damage, Damage{Start: fromMS(t0), End: fromMS(t1), Series: k.describe()})
		}
		var each func([]byte)
		switch {
		case k.kind == kindSample && v.Sample != nil:
			each = func(r []byte) { v.Sample(decodeSample(r)) }
		case k.kind == kindUpdate && v.Update != nil:
			each = func(r []byte) { v.Update(decodeUpdate(r, name)) }
		case k.kind == kindSource && v.Source != nil:
			src := Source{Name: k.source, Address: k.address}
			var stats []byte
			if sk := (seriesKey{k.host, kindSourceStats, k.source, k.address}); !v.NoSourceStats && ids[sk] != 0 {
				statsKey := sk
				if err := s.read(ctx, q, ids[sk], statsSize, lo, hi, func(r []byte) { stats = append(stats, r...) }, func(t0, t1 int64) {
					damage = append(damage, Damage{Start: fromMS(t0), End: fromMS(t1), Series: statsKey.describe()})
				}); err != nil {
					return s.readError(err)
				}
			}
			each = func(r []byte) {
				p := decodeSource(r)
				// Both series are in time order: the statistics of a point have its time.
				for len(stats) > 0 && recordTime(stats) < recordTime(r) {
					stats = stats[statsSize:]
				}
				if len(stats) > 0 && recordTime(stats) == recordTime(r) {
					decodeStats(stats, &p)
				}
				v.Source(src, p)
			}
		case k.kind == kindServer && v.Server != nil:
			each = func(r []byte) { v.Server(decodeServer(r)) }
		default:
			continue
		}
		if err := s.read(ctx, q, ids[k], sizes[k.kind], lo, hi, each, onDamage); err != nil {
			return s.readError(err)
		}
	}
	if v.End != nil {
		v.End()
	}
	if v.Damaged != nil {
		for _, d := range damage {
			v.Damaged(d)
		}
	}
	if v.Gap == nil {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT start, end, error FROM gaps WHERE host = ? AND end >= ? AND start <= ? ORDER BY start`, host, lo, hi)
	if err != nil {
		return s.readError(err)
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

// read calls each with a series' records from lo to hi (Unix ms), in time order, one per
// time. Chunks that follow one another in time (compacted ones always do) are read straight
// from SQLite's rows; others are gathered and sorted first. A chunk whose bytes do not hold
// whole records is skipped and given to damaged (its first and last time), and logged once.
func (s *Store) read(ctx context.Context, q querier, series int64, size int, lo, hi int64, each func([]byte), damaged func(t0, t1 int64)) error {
	const where = `FROM chunks WHERE series = ? AND t0 >= ? AND t0 <= ? AND t1 >= ? ORDER BY t0, rowid`
	args := []any{series, lo - int64(chunkSpan/time.Millisecond), hi, lo}
	ordered, err := inOrder(ctx, q, `SELECT t0, t1 `+where, args)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT t0, t1, data `+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var buf []byte
	last := int64(math.MinInt64)
	for rows.Next() {
		var t0, t1 int64
		var data sql.RawBytes
		if err := rows.Scan(&t0, &t1, &data); err != nil {
			return err
		}
		if len(data)%size != 0 {
			s.logDamage(series, t0, len(data), size)
			damaged(t0, t1)
			continue
		}
		for i := 0; i < len(data); i += size {
			t := recordTime(data[i:])
			if t < lo || t > hi {
				continue
			}
			if !ordered {
				buf = append(buf, data[i:i+size]...)
				continue
			}
			if t != last { // one record per time: the first
				each(data[i : i+size])
				last = t
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if ordered {
		return nil
	}
	recs, _ := records(buf, size)
	slices.SortStableFunc(recs, func(a, b []byte) int { return cmp.Compare(recordTime(a), recordTime(b)) })
	for _, r := range dedupe(recs) {
		each(r)
	}
	return nil
}

// inOrder reports whether the chunks a query selects follow one another in time.
func inOrder(ctx context.Context, q querier, query string, args []any) (bool, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	last := int64(math.MinInt64)
	ordered := true
	for rows.Next() {
		var t0, t1 int64
		if err := rows.Scan(&t0, &t1); err != nil {
			return false, err
		}
		if t0 < last {
			ordered = false
		}
		last = t1
	}
	return ordered, rows.Err()
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

// WalkHistory visits a record read whole, as Walk visits the store.
func WalkHistory(h History, v Visitor) {
	if v.Sample != nil {
		for _, s := range h.Samples {
			v.Sample(s)
		}
	}
	if v.Update != nil {
		for _, u := range h.Updates {
			v.Update(u)
		}
	}
	if v.Source != nil {
		for _, src := range h.Sources {
			for _, p := range src.Points {
				v.Source(src.Source, p)
			}
		}
	}
	if v.Server != nil {
		for _, r := range h.Servers {
			v.Server(r)
		}
	}
	if v.End != nil {
		v.End()
	}
	if v.Gap != nil {
		for _, g := range h.Gaps {
			v.Gap(g)
		}
	}
}
