package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// Rollups keep a host's history for years in a fixed size: beyond a raw window (7 days by
// default), each quantity the charts draw is kept as summaries of 5 minutes (for 90 days) and
// of 1 hour (for 2 years): the count, least, greatest, mean and spread (the sum of squared
// differences from the mean) of its values, and a histogram of them (histogram.go) from which
// percentiles merge. A day of one metric at one level is one row.
//
// Summaries are made from the raw records, a day at a time once the day is over, each day in
// one transaction with the rollup state: a kill -9 loses at most the day being made, which the
// next pass makes again. A record written behind what is summarised (an import, a source's
// late point) marks its day to be made again, in the transaction that writes it.

// The levels of rollups.
const (
	Level5m = 1 // 5-minute summaries
	Level1h = 2 // 1-hour summaries
)

// LevelSpan is each level's interval.
var LevelSpan = map[int]time.Duration{Level5m: 5 * time.Minute, Level1h: time.Hour}

const day = 24 * time.Hour

// rollupSettle is how long after a day ends it is summarised: the recorder writes a source's
// point when it reads it, which can be a while after the sample's time.
const rollupSettle = time.Hour

// Retention is how long each level of the history is kept.
type Retention struct {
	Raw, FiveMin, Hour time.Duration
}

// DefaultRetention is what --retention-raw, --retention-5m and --retention-1h default to.
var DefaultRetention = Retention{Raw: 7 * day, FiveMin: 90 * day, Hour: 730 * day}

// Longest is the longest of the levels' retentions: how long anything is kept.
func (r Retention) Longest() time.Duration { return max(r.Raw, r.FiveMin, r.Hour) }

// The metrics rolled up: a host's clock, each source's offsets, what chronyd served.
const (
	MetricOffset         = "offset"
	MetricMaxError       = "max_error"
	MetricRootDelay      = "root_delay"
	MetricRootDispersion = "root_dispersion"
	MetricFrequency      = "frequency"
	MetricSkew           = "skew"
	MetricRMSOffset      = "rms_offset"
	MetricSource         = "source_offset" // with error bars (Lo, Hi) and reachability (Level)

	MetricNTPRate          = "ntp_rate"          // NTP requests per second
	MetricNTPDropRate      = "ntp_drop_rate"     // NTP requests dropped per second
	MetricNTSKERate        = "nke_rate"          // NTS-KE connections per second
	MetricLogDropRate      = "log_drop_rate"     // client log records dropped per second
	MetricAuthShare        = "auth_share"        // % of NTP requests authenticated
	MetricInterleavedShare = "interleaved_share" // % in interleaved mode
	MetricKernelShare      = "kernel_share"      // % of receive timestamps taken by the kernel
	MetricHardwareShare    = "hardware_share"    // by the network card
	MetricClients          = "clients"           // clients in chronyd's clients log
	MetricActiveClients    = "active_clients"    // of them, those that sent a request since the sample before
)

// MetricKey is one rolled-up quantity of a host; Source is set for MetricSource.
type MetricKey struct {
	Name   string
	Source Source
}

type metricKey struct {
	host string
	MetricKey
}

// Summary is what a level keeps of an interval's values.
type Summary struct {
	N        int
	Min, Max float64
	Mean, M2 float64 // M2: the sum of squared differences from the mean
	// Lo and Hi are a source's error bars' extent: the least offset - error, the greatest
	// offset + error. Others have Min and Max there.
	Lo, Hi float64
	// Level is a source's worst reachability in the interval (0 none of its last 8 polls
	// answered, 1 some, 2 all), -1 where not known.
	Level int8
}

// Merge adds b's values to s's (Chan et al.'s pairwise update of the mean and M2).
func (s *Summary) Merge(b Summary) {
	if b.Level >= 0 && (s.Level < 0 || b.Level < s.Level) {
		s.Level = b.Level
	}
	if b.N == 0 {
		return
	}
	if s.N == 0 {
		lvl := s.Level
		*s = b
		s.Level = lvl
		return
	}
	n := float64(s.N + b.N)
	d := b.Mean - s.Mean
	s.Mean += d * float64(b.N) / n
	s.M2 += b.M2 + d*d*float64(s.N)*float64(b.N)/n
	s.N += b.N
	s.Min, s.Max = math.Min(s.Min, b.Min), math.Max(s.Max, b.Max)
	s.Lo, s.Hi = math.Min(s.Lo, b.Lo), math.Max(s.Hi, b.Hi)
}

// StdDev is the values' standard deviation.
func (s Summary) StdDev() float64 {
	if s.N == 0 {
		return 0
	}
	return math.Sqrt(s.M2 / float64(s.N))
}

// A row's bytes: a version, the number of intervals, the width of an interval, the day's
// histogram (length-prefixed), then each interval's summary: its place in the day, its count,
// and its least, greatest, mean and spread as 32-bit floats (7 digits, more than the page
// shows), and for a source its error bars' extent and worst reachability. Its intervals'
// histograms are in a table of their own (rollup_hists), each length-prefixed, so that drawing
// reads none of them.
const (
	rowFormat  = 1
	narrowSize = 2 + 4 + 4*4
	wideSize   = narrowSize + 4 + 4 + 1 // a source's
)

// RollupDay is a day of one metric's summaries at one level.
type RollupDay struct {
	Level   int
	Day     time.Time
	data    []byte
	buckets []byte
	width   int
	hists   []byte
}

func parseRollupDay(level int, dayMS int64, data, hists []byte) (RollupDay, error) {
	r := RollupDay{Level: level, Day: fromMS(dayMS), data: data, hists: hists}
	if len(data) < 4 || data[0] != rowFormat || data[3] != narrowSize && data[3] != wideSize {
		return r, fmt.Errorf("a rollup row of an unknown layout")
	}
	n, w := int(le.Uint16(data[1:])), int(data[3])
	hl, k := binary.Uvarint(data[4:])
	if k <= 0 || 4+k+int(hl)+n*w != len(data) {
		return r, fmt.Errorf("a rollup row of %d bytes does not hold %d intervals", len(data), n)
	}
	r.buckets, r.width = data[4+k+int(hl):], w
	return r, nil
}

// Len is how many intervals of the day have values.
func (r RollupDay) Len() int { return len(r.buckets) / r.width }

// Bucket is the i-th interval with values: its start and its summary.
func (r RollupDay) Bucket(i int) (time.Time, Summary) {
	b := r.buckets[i*r.width:]
	f32 := func(o int) float64 { return float64(math.Float32frombits(le.Uint32(b[o:]))) }
	s := Summary{N: int(le.Uint32(b[2:])), Min: f32(6), Max: f32(10), Mean: f32(14), M2: f32(18), Level: -1}
	s.Lo, s.Hi = s.Min, s.Max
	if r.width == wideSize {
		s.Lo, s.Hi, s.Level = f32(22), f32(26), int8(b[30])
	}
	return r.Day.Add(time.Duration(le.Uint16(b)) * LevelSpan[r.Level]), s
}

// DayHist is the encoded histogram of every value of the day (Hist.AddEncoded).
func (r RollupDay) DayHist() []byte {
	hl, k := binary.Uvarint(r.data[4:])
	return r.data[4+k : 4+k+int(hl)]
}

// BucketHists calls f with each interval's encoded histogram, in order (when the row was read
// with them).
func (r RollupDay) BucketHists(f func(i int, hist []byte)) {
	b := r.hists
	for i := 0; len(b) > 0; i++ {
		hl, k := binary.Uvarint(b)
		if k <= 0 || k+int(hl) > len(b) {
			return
		}
		f(i, b[k:k+int(hl)])
		b = b[k+int(hl):]
	}
}

// dayAcc gathers a metric's values of one day in 5-minute intervals.
type dayAcc struct {
	vals   [][]float64 // per 5-minute interval
	lo, hi []float64
	level  []int8
	carry  int8 // a source's reachability as last recorded, carried into the next intervals
	last   int  // the interval of the last level recorded, -1 before any
	source bool // a source's: with error bars and reachability
}

const perDay5m = int(day / (5 * time.Minute))

func newDayAcc() *dayAcc {
	a := &dayAcc{vals: make([][]float64, perDay5m), lo: make([]float64, perDay5m), hi: make([]float64, perDay5m),
		level: make([]int8, perDay5m), carry: -1, last: -1}
	for i := range a.lo {
		a.lo[i], a.hi[i], a.level[i] = math.Inf(1), math.Inf(-1), -1
	}
	return a
}

func (a *dayAcc) add(i int, v, lo, hi float64) {
	if v != v || math.IsInf(v, 0) {
		return
	}
	a.vals[i] = append(a.vals[i], v)
	a.lo[i], a.hi[i] = math.Min(a.lo[i], lo), math.Max(a.hi[i], hi)
}

// reach records a source's reachability level at interval i: the intervals since the last
// one recorded had the level then.
func (a *dayAcc) reach(i int, level int8) {
	if a.last >= 0 {
		for k := a.last + 1; k <= i; k++ {
			a.worst(k, a.carry)
		}
	}
	a.worst(i, level)
	a.carry, a.last = level, i
}

func (a *dayAcc) worst(i int, level int8) {
	if level >= 0 && (a.level[i] < 0 || level < a.level[i]) {
		a.level[i] = level
	}
}

// finish carries the last reachability to the end of the day.
func (a *dayAcc) finish() {
	if a.last >= 0 {
		for k := a.last + 1; k < perDay5m; k++ {
			a.worst(k, a.carry)
		}
	}
}

// ReachLevel is a reachability register as the strips draw it: 2 all of the last 8 polls
// answered, 0 none, 1 some.
func ReachLevel(r uint8) int8 {
	switch r {
	case 0xff:
		return 2
	case 0:
		return 0
	}
	return 1
}

// ServerRate is what chronyd served between two samples of its server statistics.
type ServerRate struct {
	NTP, NTPDropped, NTSKE, LogDropped float64 // per second; NaN where the reply lacks it
	// Shares, in %: of NTP requests, authenticated and interleaved; of receive timestamps,
	// taken by the kernel and by the network card. NaN where not known (no request, or a
	// reply without them).
	Authenticated, Interleaved, Kernel, Hardware float64
}

// maxRateInterval is the longest time between two samples that a rate is taken over: longer,
// and second-hand was not recording.
const maxRateInterval = time.Hour

// ServerRates is the rates between two consecutive samples; ok is false where none can be
// taken: a counter went down (chronyd restarted and started them over), the samples are not
// in order, or too far apart.
func ServerRates(prev, cur ServerSample) (ServerRate, bool) {
	dt := cur.T.Sub(prev.T)
	if dt <= 0 || dt > maxRateInterval || cur.Version != prev.Version {
		return ServerRate{}, false
	}
	pc := []uint64{prev.NTP, prev.NTPDropped, prev.NTSKE, prev.NTSKEDropped, prev.Authenticated, prev.Interleaved, prev.ClientLogDropped, prev.DaemonRX, prev.KernelRX, prev.HwRX}
	cc := []uint64{cur.NTP, cur.NTPDropped, cur.NTSKE, cur.NTSKEDropped, cur.Authenticated, cur.Interleaved, cur.ClientLogDropped, cur.DaemonRX, cur.KernelRX, cur.HwRX}
	for i := range pc {
		if cc[i] < pc[i] {
			return ServerRate{}, false
		}
	}
	secs := dt.Seconds()
	nan := math.NaN()
	r := ServerRate{NTP: float64(cur.NTP-prev.NTP) / secs, NTPDropped: float64(cur.NTPDropped-prev.NTPDropped) / secs,
		LogDropped: float64(cur.ClientLogDropped-prev.ClientLogDropped) / secs, NTSKE: nan, Authenticated: nan, Interleaved: nan, Kernel: nan, Hardware: nan}
	share := func(part, of uint64) float64 {
		if of == 0 {
			return nan
		}
		return 100 * float64(part) / float64(of)
	}
	ntp := cur.NTP - prev.NTP
	if cur.Version >= 2 {
		r.NTSKE = float64(cur.NTSKE-prev.NTSKE) / secs
		r.Authenticated = share(cur.Authenticated-prev.Authenticated, ntp)
	}
	if cur.Version >= 3 {
		r.Interleaved = share(cur.Interleaved-prev.Interleaved, ntp)
	}
	if cur.Version >= 4 {
		rx := (cur.DaemonRX - prev.DaemonRX) + (cur.KernelRX - prev.KernelRX) + (cur.HwRX - prev.HwRX)
		r.Kernel, r.Hardware = share(cur.KernelRX-prev.KernelRX, rx), share(cur.HwRX-prev.HwRX, rx)
	}
	return r, true
}

// ServerValues are the metrics of a rate and the sample it ends at, as the rollups and the
// charts take them: name and value, NaN where not known.
func ServerValues(r ServerRate, cur ServerSample) [10]struct {
	Name  string
	Value float64
} {
	count := func(n int32) float64 {
		if n < 0 {
			return math.NaN()
		}
		return float64(n)
	}
	return [10]struct {
		Name  string
		Value float64
	}{{MetricNTPRate, r.NTP}, {MetricNTPDropRate, r.NTPDropped}, {MetricNTSKERate, r.NTSKE}, {MetricLogDropRate, r.LogDropped},
		{MetricAuthShare, r.Authenticated}, {MetricInterleavedShare, r.Interleaved}, {MetricKernelShare, r.Kernel},
		{MetricHardwareShare, r.Hardware}, {MetricClients, count(cur.Clients)}, {MetricActiveClients, count(cur.Active)}}
}

// rollState is how far a host is summarised.
type rollState struct {
	done int64 // Unix ms: every day before it is summarised
	redo int64 // Unix ms: a record written since, behind done; 0 for none
}

// noteBehind marks host's day of t to be summarised again, when it already is: call it in
// the transaction that writes a record of time t, with s.mu held.
func (s *Store) noteBehind(ctx context.Context, tx *sql.Tx, host string, t int64) error {
	st, ok := s.rolled[host]
	if !ok || t >= st.done || st.redo != 0 && st.redo <= t {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rollup_state SET redo = ? WHERE host = ?`, t, host); err != nil {
		return err
	}
	st.redo = t
	s.rolled[host] = st
	return nil
}

// loadRollups reads the rollup state and the metrics; call it with s.mu held, or before the
// store is shared.
func (s *Store) loadRollups(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT host, done, coalesce(redo, 0) FROM rollup_state`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var host string
		var st rollState
		if err := rows.Scan(&host, &st.done, &st.redo); err != nil {
			rows.Close()
			return err
		}
		s.rolled[host] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT id, host, name, source, address FROM metrics`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k metricKey
		if err := rows.Scan(&id, &k.host, &k.Name, &k.Source.Name, &k.Source.Address); err != nil {
			return err
		}
		s.metrics[k] = id
	}
	return rows.Err()
}

// metricID finds or makes a metric; call it with s.mu held, in tx.
func (s *Store) metricID(ctx context.Context, tx *sql.Tx, k metricKey) (int64, error) {
	if id, ok := s.metrics[k]; ok {
		return id, nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO metrics (host, name, source, address) VALUES (?, ?, ?, ?)`, k.host, k.Name, k.Source.Name, k.Source.Address)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	s.metrics[k] = id
	return id, nil
}

// rollupHook, when set (by tests), is called in each day's transaction after its rows are
// written, before the commit.
var rollupHook func(host string, day time.Time)

// Rollup summarises every host's days that are over (an hour after midnight UTC) and not yet
// summarised, or written to since, keeping the levels whose retention reaches them. Each day
// is its own transaction: the recorder and the pages wait for one day's work at most.
func (s *Store) Rollup(ctx context.Context, now time.Time, keep Retention) error {
	for _, host := range s.Hosts() {
		if err := s.RollupHost(ctx, host, now, keep); err != nil {
			return err
		}
	}
	return nil
}

// RollupHost summarises host's days that are over and not yet summarised, or written to
// since; days older than every level's retention are skipped.
func (s *Store) RollupHost(ctx context.Context, host string, now time.Time, keep Retention) error {
	s.mu.Lock()
	st, known := s.rolled[host]
	snap := s.snapshot(host)
	s.mu.Unlock()
	from := st.done
	if st.redo != 0 && st.redo < from {
		from = st.redo
	}
	if !known {
		first, err := s.firstRecord(ctx, snap)
		if err != nil || first == 0 {
			return err
		}
		from = first
	}
	start := fromMS(from).Truncate(day)
	if oldest := now.Add(-max(keep.FiveMin, keep.Hour) - day).Truncate(day); start.Before(oldest) {
		start = oldest
	}
	until := now.Add(-rollupSettle).Truncate(day) // days before it are over
	for d := start; d.Before(until); d = d.Add(day) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.rollDay(ctx, host, d, now, keep); err != nil {
			s.noteDamage(err)
			return fmt.Errorf("summarising the history of %s on %s: %w", host, d.Format("2006-01-02"), explain(err))
		}
	}
	if !known && !start.Before(until) {
		// Nothing over yet: remember where to start.
		return s.inTx(ctx, func(tx *sql.Tx) error { return s.setRolled(ctx, tx, host, rollState{done: ms(start)}) })
	}
	return nil
}

// firstRecord is the time of host's earliest record, 0 when it has none.
func (s *Store) firstRecord(ctx context.Context, snap hostSeries) (int64, error) {
	var first int64
	for _, id := range snap.ids {
		var t sql.NullInt64
		if err := s.db.QueryRowContext(ctx, `SELECT min(t0) FROM chunks WHERE series = ?`, id).Scan(&t); err != nil {
			return 0, s.readError(err)
		}
		if t.Valid && (first == 0 || t.Int64 < first) {
			first = t.Int64
		}
	}
	return first, nil
}

func (s *Store) setRolled(ctx context.Context, tx *sql.Tx, host string, st rollState) error {
	redo := sql.NullInt64{Int64: st.redo, Valid: st.redo != 0}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rollup_state (host, done, redo) VALUES (?, ?, ?)
		ON CONFLICT (host) DO UPDATE SET done = excluded.done, redo = excluded.redo`, host, st.done, redo); err != nil {
		return err
	}
	s.rolled[host] = st
	return nil
}

// rollDay summarises host's day d, in one transaction with the state: the records are read in
// it, so that no write comes between the reading and the summary.
func (s *Store) rollDay(ctx context.Context, host string, d, now time.Time, keep Retention) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		accs, err := s.summariseDay(ctx, tx, s.snapshot(host), host, d)
		if err != nil {
			return err
		}
		levels := []int{}
		if d.Add(day).After(now.Add(-keep.FiveMin)) {
			levels = append(levels, Level5m)
		}
		if d.Add(day).After(now.Add(-keep.Hour)) {
			levels = append(levels, Level1h)
		}
		keys := make([]MetricKey, 0, len(accs))
		for k := range accs {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b MetricKey) int { return compareMetric(a, b) })
		for _, k := range keys {
			id, err := s.metricID(ctx, tx, metricKey{host, k})
			if err != nil {
				return err
			}
			for _, level := range levels {
				data, hists := encodeDay(accs[k], level)
				if le.Uint16(data[1:]) == 0 {
					continue // a metric without a value that day (chronyd's logs have no RMS offset)
				}
				key := rollupID(id, level, d)
				if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO rollups (id, data) VALUES (?, ?)`, key, data); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO rollup_hists (id, hists) VALUES (?, ?)`, key, hists); err != nil {
					return err
				}
			}
		}
		if rollupHook != nil {
			rollupHook(host, d)
		}
		s.rollGen[host]++
		st := s.rolled[host]
		end := ms(d.Add(day))
		if st.redo != 0 && st.redo >= ms(d) && st.redo < end {
			st.redo = 0
			if end < st.done {
				st.redo = end // the days after, to the old end, are made again next
			}
		}
		st.done = max(st.done, end)
		return s.setRolled(ctx, tx, host, st)
	})
}

func compareMetric(a, b MetricKey) int {
	switch {
	case a.Name != b.Name:
		return compareStr(a.Name, b.Name)
	case a.Source.Name != b.Source.Name:
		return compareStr(a.Source.Name, b.Source.Name)
	}
	return compareStr(a.Source.Address, b.Source.Address)
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// summariseDay reads host's records of day d (and the server statistics of the hour before,
// for the first rate) into an accumulator per metric.
func (s *Store) summariseDay(ctx context.Context, q querier, snap hostSeries, host string, d time.Time) (map[MetricKey]*dayAcc, error) {
	accs := map[MetricKey]*dayAcc{}
	get := func(k MetricKey) *dayAcc {
		a := accs[k]
		if a == nil {
			a = newDayAcc()
			accs[k] = a
		}
		return a
	}
	dayMS, end := ms(d), d.Add(day)
	slot := func(t time.Time) (int, bool) {
		d := ms(t) - dayMS
		i := int(d / int64(5*time.Minute/time.Millisecond))
		return i, d >= 0 && i < perDay5m
	}
	add := func(name string, t time.Time, v float64) {
		if i, ok := slot(t); ok {
			get(MetricKey{Name: name}).add(i, v, v, v)
		}
	}
	var prev *ServerSample
	err := s.walk(ctx, q, snap, host, d.Add(-maxRateInterval), end.Add(-time.Millisecond), Visitor{
		Sample: func(r Sample) {
			add(MetricOffset, r.T, r.OffsetSeconds)
			add(MetricMaxError, r.T, r.MaxErrorSeconds())
			add(MetricRootDelay, r.T, r.RootDelaySeconds)
			add(MetricRootDispersion, r.T, r.RootDispersionSeconds)
		},
		Update: func(u Update) {
			add(MetricFrequency, u.T, u.FrequencyPPM)
			add(MetricSkew, u.T, u.SkewPPM)
			add(MetricRMSOffset, u.T, u.RMSOffsetSeconds)
		},
		Source: func(src Source, p SourcePoint) {
			i, ok := slot(p.T)
			if !ok {
				return
			}
			a := get(MetricKey{Name: MetricSource, Source: src})
			a.source = true
			if p.NewSample {
				a.add(i, p.OffsetSeconds, p.OffsetSeconds-p.ErrorSeconds, p.OffsetSeconds+p.ErrorSeconds)
			}
			if !p.NoStatus {
				a.reach(i, ReachLevel(p.Reach))
			}
		},
		Server: func(cur ServerSample) {
			defer func() { prev = &cur }()
			if _, ok := slot(cur.T); !ok || prev == nil {
				return
			}
			if r, ok := ServerRates(*prev, cur); ok {
				for _, v := range ServerValues(r, cur) {
					add(v.Name, cur.T, v.Value)
				}
			}
		},
		NoSourceStats: true,
	})
	for _, a := range accs {
		a.finish()
	}
	return accs, err
}

// encodeDay makes a day's row at level: its summaries and their histograms.
func encodeDay(a *dayAcc, level int) (data, hists []byte) {
	hists = []byte{} // never NULL
	width := narrowSize
	if a.source {
		width = wideSize
	}
	per := int(LevelSpan[level] / (5 * time.Minute))
	var dayBins []int
	var buckets []byte
	n := 0
	var bins []int
	for b := 0; b < perDay5m/per; b++ {
		sm := Summary{Min: math.Inf(1), Max: math.Inf(-1), Lo: math.Inf(1), Hi: math.Inf(-1), Level: -1}
		bins = bins[:0]
		for i := b * per; i < (b+1)*per; i++ {
			for _, v := range a.vals[i] {
				sm.N++
				d := v - sm.Mean
				sm.Mean += d / float64(sm.N)
				sm.M2 += d * (v - sm.Mean)
				sm.Min, sm.Max = math.Min(sm.Min, v), math.Max(sm.Max, v)
				bins = append(bins, binOf(v))
			}
			sm.Lo, sm.Hi = math.Min(sm.Lo, a.lo[i]), math.Max(sm.Hi, a.hi[i])
			if l := a.level[i]; l >= 0 && (sm.Level < 0 || l < sm.Level) {
				sm.Level = l
			}
		}
		if sm.N == 0 && sm.Level < 0 {
			continue
		}
		if sm.N == 0 {
			sm.Min, sm.Max, sm.Lo, sm.Hi = 0, 0, 0, 0
		}
		n++
		r := make([]byte, width)
		le.PutUint16(r, uint16(b))
		le.PutUint32(r[2:], uint32(sm.N))
		f32 := func(o int, v float64) { le.PutUint32(r[o:], math.Float32bits(float32(v))) }
		f32(6, sm.Min)
		f32(10, sm.Max)
		f32(14, sm.Mean)
		f32(18, sm.M2)
		if width == wideSize {
			f32(22, sm.Lo)
			f32(26, sm.Hi)
			r[30] = byte(sm.Level)
		}
		buckets = append(buckets, r...)
		dayBins = append(dayBins, bins...)
		h := appendHist(nil, bins)
		hists = binary.AppendUvarint(hists, uint64(len(h)))
		hists = append(hists, h...)
	}
	dh := appendHist(nil, dayBins)
	data = []byte{rowFormat, 0, 0, byte(width)}
	le.PutUint16(data[1:], uint16(n))
	data = binary.AppendUvarint(data, uint64(len(dh)))
	data = append(data, dh...)
	return append(data, buckets...), hists
}

// A rollup row's key: the metric's id, the level (2 bits) and the day's number since 1970 (24
// bits: to the year 47900), so that a metric's rows at a level follow one another by day.
const dayMask = 1<<24 - 1

func rollupID(metric int64, level int, d time.Time) int64 {
	return metric<<26 | int64(level)<<24 | dayNumber(d)
}

// dayNumber is the UTC day of t since 1970, within dayMask.
func dayNumber(t time.Time) int64 {
	return min(max(t.UnixMilli()/int64(day/time.Millisecond), 0), dayMask)
}

// Metrics are host's rolled-up metrics.
func (s *Store) Metrics(host string) []MetricKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []MetricKey
	for k := range s.metrics {
		if k.host == host {
			out = append(out, k.MetricKey)
		}
	}
	slices.SortFunc(out, compareMetric)
	return out
}

// RollupGeneration changes whenever host's summaries do (a day summarised, or summaries
// removed): what was computed from them is good while it stays the same.
func (s *Store) RollupGeneration(host string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rollGen[host] + s.rollGen[""]
}

// RolledUntil is the end of host's summarised days: the rollups hold the days before it.
func (s *Store) RolledUntil(host string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.rolled[host]
	if !ok || st.done == 0 {
		return time.Time{}
	}
	return fromMS(st.done)
}

// WalkRollups calls f with each day of host's summaries at level that holds intervals from
// from to to, metric by metric and in time order; with hists, the rows carry their intervals'
// histograms (BucketHists), which drawing does not need. A RollupDay is good during the call
// only (its bytes are SQLite's).
func (s *Store) WalkRollups(ctx context.Context, host string, level int, from, to time.Time, hists bool, f func(MetricKey, RollupDay)) error {
	keys := s.Metrics(host)
	s.mu.Lock()
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = s.metrics[metricKey{host, k}]
	}
	s.mu.Unlock()
	query := `SELECT id, data, x'' FROM rollups WHERE id >= ? AND id <= ? ORDER BY id`
	if hists {
		query = `SELECT r.id, r.data, h.hists FROM rollups r JOIN rollup_hists h USING (id) WHERE r.id >= ? AND r.id <= ? ORDER BY r.id`
	}
	for i, k := range keys {
		rows, err := s.db.QueryContext(ctx, query, rollupID(ids[i], level, from.Truncate(day)), rollupID(ids[i], level, to))
		if err != nil {
			return s.readError(err)
		}
		for rows.Next() {
			var key int64
			var data, h sql.RawBytes // r is f's only during the call: no copy of a year of rows
			if err := rows.Scan(&key, &data, &h); err != nil {
				rows.Close()
				return s.readError(err)
			}
			d := (key & dayMask) * int64(day/time.Millisecond)
			r, err := parseRollupDay(level, d, data, h)
			if err != nil {
				s.log.Error("history: a damaged rollup row is skipped", "host", host, "metric", k.Name, "day", fromMS(d).Format("2006-01-02"), "error", err)
				continue
			}
			f(k, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return s.readError(err)
		}
	}
	return nil
}

// ExpireLevels removes what each level keeps no longer: raw records older than keep.Raw (but
// never a host's days not yet summarised), summaries of 5 minutes older than keep.FiveMin and
// of 1 hour older than keep.Hour, gaps older than all of them. It returns how many chunks and
// rows went.
func (s *Store) ExpireLevels(ctx context.Context, now time.Time, keep Retention) (int64, error) {
	var removed int64
	for _, host := range s.Hosts() {
		s.mu.Lock()
		snap := s.snapshot(host)
		st := s.rolled[host]
		s.mu.Unlock()
		before := ms(now.Add(-keep.Raw))
		if st.done < before {
			before = st.done // not yet summarised: kept
		}
		if st.redo != 0 && st.redo < before {
			before = st.redo
		}
		for _, id := range snap.ids {
			n, err := s.deleteBatches(ctx, `DELETE FROM chunks WHERE rowid IN (SELECT rowid FROM chunks WHERE series = ? AND t1 < ? LIMIT 1000)`, id, before)
			removed += n
			if err != nil {
				return removed, err
			}
		}
	}
	for level, keepFor := range map[int]time.Duration{Level5m: keep.FiveMin, Level1h: keep.Hour} {
		for _, table := range []string{"rollups", "rollup_hists"} {
			n, err := s.deleteBatches(ctx, `DELETE FROM `+table+` WHERE id IN
				(SELECT id FROM `+table+` WHERE (id >> 24) & 3 = ? AND id & ? < ? LIMIT 1000)`, level, dayMask, dayNumber(now.Add(-keepFor-day)))
			removed += n
			if n > 0 {
				s.mu.Lock()
				s.rollGen[""]++ // every host's
				s.mu.Unlock()
			}
			if err != nil {
				return removed, err
			}
		}
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM gaps WHERE end < ?`, ms(now.Add(-keep.Longest()))); err != nil {
		return removed, fmt.Errorf("removing old history: %w", explain(err))
	}
	return removed, nil
}

// deleteBatches runs a delete of at most a thousand rows until it deletes none.
func (s *Store) deleteBatches(ctx context.Context, stmt string, args ...any) (int64, error) {
	var removed int64
	for {
		var n int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, stmt, args...)
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
			return removed, nil
		}
		if err := ctx.Err(); err != nil {
			return removed, err
		}
	}
}
