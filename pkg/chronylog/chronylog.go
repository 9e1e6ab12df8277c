// Package chronylog reads chronyd's statistics logs: tracking.log, measurements.log and
// statistics.log, as chronyd writes them with "log tracking measurements statistics" in
// chrony.conf. Each file is a table whose header block (a rule, the column names, a rule)
// repeats every logbanner lines. Columns are found by their names in the header, so that a
// column a newer chronyd adds is skipped rather than misread; a line that cannot be read is
// reported with its number and skipped, and the rest is read.
package chronylog

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Kind is which log a file is.
type Kind int

const (
	Unknown Kind = iota
	TrackingLog
	MeasurementsLog
	StatisticsLog
)

func (k Kind) String() string {
	switch k {
	case TrackingLog:
		return "tracking.log"
	case MeasurementsLog:
		return "measurements.log"
	case StatisticsLog:
		return "statistics.log"
	}
	return "unknown log"
}

// Tracking is a line of tracking.log: a clock update.
type Tracking struct {
	T                     time.Time
	Reference             string // the address of the reference, or its ID for a reference clock
	Stratum               int
	FrequencyPPM          float64 // positive: the clock runs fast
	SkewPPM               float64
	OffsetSeconds         float64 // the offset at the update: positive when the clock is ahead
	Leap                  byte    // N, +, - or ?
	Combined              int
	OffsetSDSeconds       float64
	RemainingCorrection   float64 // positive: the clock is slow
	RootDelaySeconds      float64
	RootDispersionSeconds float64
	MaxErrorSeconds       float64
}

// Measurement is a line of measurements.log: a packet from an NTP source.
type Measurement struct {
	T                     time.Time
	Address               string
	Leap                  byte
	Stratum               int
	Tests                 string // the test bits, "111 111 1111"
	LocalPoll, RemotePoll int
	Score                 float64
	OffsetSeconds         float64 // NTP's theta: positive when the local clock is slow of the source
	PeerDelaySeconds      float64
	PeerDispersionSeconds float64
	RootDelaySeconds      float64
	RootDispersionSeconds float64
	RefID                 uint32
}

// Statistic is a line of statistics.log: chronyd's regression over a source's samples.
type Statistic struct {
	T                  time.Time
	Source             string // the address, or the reference clock's ID
	StdDevSeconds      float64
	EstOffsetSeconds   float64 // positive when the local clock is fast
	OffsetSDSeconds    float64
	FrequencyPPM       float64 // chronyd writes the frequency and skew as fractions; these are ppm
	SkewPPM            float64
	Stress             float64
	Samples, BestStart int
	Runs               int
	Asymmetry          float64
}

// Problem is a line that could not be read.
type Problem struct {
	Line int
	Text string // the line, cut to MaxProblemText bytes
	Err  error
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %v: %q", p.Line, p.Err, p.Text) }

// File is what was read from one log.
type File struct {
	Kind         Kind
	Tracking     []Tracking
	Measurements []Measurement
	Statistics   []Statistic
	Problems     []Problem
}

// Lines is the number of records read.
func (f File) Lines() int { return len(f.Tracking) + len(f.Measurements) + len(f.Statistics) }

// The column names a header may hold; the names with spaces are joined by "_" before a
// header is split.
var multiword = []string{"Date (UTC)", "IP Address", "Freq ppm", "Skew ppm", "Offset sd", "Rem. corr.", "Root delay",
	"Root disp.", "Max. error", "Peer del.", "Peer disp.", "Root del.", "Std dev'n", "Est offset", "Diff freq", "Est skew"}

// MaxLine is the longest line read: chronyd's are under 200 bytes. A longer one (a file that
// is not a log, a disk's garbage) is reported and skipped without being held in memory.
const MaxLine = 4096

// MaxProblemText is how much of a line a Problem keeps.
const MaxProblemText = 120

// Record is one line of a log: Kind says which of the three is set.
type Record struct {
	Kind        Kind
	Tracking    Tracking
	Measurement Measurement
	Statistic   Statistic
}

// Reader reads a log a line at a time, in memory that does not grow with the file: a record
// at a time, the problems as they are found.
type Reader struct {
	br      *bufio.Reader
	kind    Kind
	cols    columns
	line    int
	records int
	done    bool

	// Problem receives each line that cannot be read (it is skipped); nil drops them.
	Problem func(Problem)
}

// NewReader reads the log r. name (a path) says which log it is when its first lines come
// before a header; the header says otherwise.
func NewReader(r io.Reader, name string) *Reader {
	k := kindOfName(name)
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), kind: k, cols: defaultColumns[k]}
}

// Kind is which log is being read, as far as known.
func (r *Reader) Kind() Kind { return r.kind }

// Line is the number of the line last read.
func (r *Reader) Line() int { return r.line }

func (r *Reader) problem(text string, err error) {
	if r.Problem == nil {
		return
	}
	if len(text) > MaxProblemText {
		text = text[:MaxProblemText] + "…"
	}
	r.Problem(Problem{Line: r.line, Text: text, Err: err})
}

// readLine reads the next line without its end; long is the length of a line over MaxLine,
// which is skipped.
func (r *Reader) readLine() (line string, long int, err error) {
	b, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(b) > MaxLine {
		n := len(b)
		start := string(b[:min(len(b), MaxProblemText+1)])
		for err == bufio.ErrBufferFull {
			b, err = r.br.ReadSlice('\n')
			n += len(b)
		}
		if err == nil {
			n-- // the end of the line
		}
		if err == io.EOF && n > 0 {
			err = nil
		}
		return start, n, err
	}
	if err == io.EOF {
		if len(b) == 0 {
			return "", 0, io.EOF
		}
		return string(b), 0, errCutShort
	}
	if err != nil {
		return "", 0, err
	}
	return string(b[:len(b)-1]), 0, nil
}

var errCutShort = fmt.Errorf("the last line is cut short (it has no end of line)")

// Next returns the next record, skipping the lines that cannot be read (given to Problem),
// and io.EOF after the last.
func (r *Reader) Next() (Record, error) {
	for !r.done {
		line, long, err := r.readLine()
		if err == io.EOF {
			break
		}
		if err != nil && err != errCutShort {
			return Record{}, err
		}
		r.line++
		switch {
		case long > 0:
			r.problem(line, fmt.Errorf("the line is %d bytes long, more than any of chronyd's (%d at most are read)", long, MaxLine))
			continue
		case err == errCutShort:
			// chronyd ends every line; one without an end was cut short, by a crash or a copy.
			r.problem(line, err)
			r.done = true
			continue
		}
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "="):
			continue
		case strings.Contains(line, "Date (UTC)"):
			kind, c, err := header(line)
			if err != nil {
				r.problem(line, err)
				continue
			}
			if r.kind != Unknown && kind != r.kind && r.records > 0 {
				return Record{}, fmt.Errorf("line %d: a %v header in a file of %v lines", r.line, kind, r.kind)
			}
			r.kind, r.cols = kind, c
			continue
		}
		if r.cols == nil {
			r.problem(line, fmt.Errorf("a line before any header, in a file whose name does not say which log it is"))
			continue
		}
		rec, err := parse(r.kind, r.cols, strings.Fields(line))
		if err != nil {
			r.problem(line, err)
			continue
		}
		r.records++
		return rec, nil
	}
	r.done = true
	return Record{}, io.EOF
}

// Parse reads one log whole. name (a path) says which log it is when its first lines come
// before a header; the header says otherwise. For a log of any size, use a Reader.
func Parse(r io.Reader, name string) (File, error) {
	var f File
	lr := NewReader(r, name)
	lr.Problem = func(p Problem) { f.Problems = append(f.Problems, p) }
	for {
		rec, err := lr.Next()
		f.Kind = lr.Kind()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return f, err
		}
		switch rec.Kind {
		case TrackingLog:
			f.Tracking = append(f.Tracking, rec.Tracking)
		case MeasurementsLog:
			f.Measurements = append(f.Measurements, rec.Measurement)
		case StatisticsLog:
			f.Statistics = append(f.Statistics, rec.Statistic)
		}
	}
}

func kindOfName(name string) Kind {
	base := filepath.Base(name)
	switch {
	case strings.HasPrefix(base, "tracking"):
		return TrackingLog
	case strings.HasPrefix(base, "measurements"):
		return MeasurementsLog
	case strings.HasPrefix(base, "statistics"):
		return StatisticsLog
	}
	return Unknown
}

// columns maps a column's name to its field index in a line.
type columns map[string]int

// The headers chronyd 4.x writes, for files whose first lines come before their header.
var defaultColumns = map[Kind]columns{}

func init() {
	for _, h := range []string{
		"   Date (UTC) Time     IP Address   St   Freq ppm   Skew ppm     Offset L Co  Offset sd Rem. corr. Root delay Root disp. Max. error",
		"   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx",
		"   Date (UTC) Time     IP Address    Std dev'n Est offset  Offset sd  Diff freq   Est skew  Stress  Ns  Bs  Nr  Asym",
	} {
		k, c, err := header(h)
		if err != nil {
			panic(err)
		}
		defaultColumns[k] = c
	}
}

// header reads a header line: which log, and where each column is.
func header(line string) (Kind, columns, error) {
	for _, w := range multiword {
		line = strings.ReplaceAll(line, w, strings.ReplaceAll(w, " ", "_"))
	}
	c := columns{}
	for i, name := range strings.Fields(line) {
		c[name] = i
	}
	for _, need := range []string{"Date_(UTC)", "Time", "IP_Address"} {
		if _, ok := c[need]; !ok {
			return Unknown, nil, fmt.Errorf("a header without the %q column", strings.ReplaceAll(need, "_", " "))
		}
	}
	switch {
	case has(c, "Freq_ppm", "Offset"):
		return TrackingLog, c, nil
	case has(c, "Peer_del.", "Offset"):
		return MeasurementsLog, c, nil
	case has(c, "Std_dev'n", "Est_offset"):
		return StatisticsLog, c, nil
	}
	return Unknown, nil, fmt.Errorf("a header of no log this reads (tracking, measurements, statistics)")
}

func has(c columns, names ...string) bool {
	for _, n := range names {
		if _, ok := c[n]; !ok {
			return false
		}
	}
	return true
}

// fields reads one line's fields by column name, remembering the first error.
type fields struct {
	cols columns
	f    []string
	err  error
}

func (r *fields) str(name string) string {
	i, ok := r.cols[name]
	if !ok {
		return ""
	}
	if i >= len(r.f) {
		if r.err == nil {
			r.err = fmt.Errorf("the line ends before its %q column (%d fields of %d)", strings.ReplaceAll(name, "_", " "), len(r.f), len(r.cols))
		}
		return ""
	}
	return r.f[i]
}

func (r *fields) float(name string) float64 {
	s := r.str(name)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case r.err != nil:
	case err != nil:
		r.err = fmt.Errorf("%s %q is not a number", strings.ReplaceAll(name, "_", " "), s)
	case math.IsNaN(v) || math.IsInf(v, 0):
		r.err = fmt.Errorf("%s %q is not a finite number", strings.ReplaceAll(name, "_", " "), s)
	case math.Abs(v) > limitOf(name):
		r.err = fmt.Errorf("%s %s is out of range (at most %g either way)", strings.ReplaceAll(name, "_", " "), s, limitOf(name))
	}
	return v
}

// The largest magnitude a column may hold: what no chronyd writes, or the store cannot keep.
var limits = map[string]float64{
	// Times in seconds: 30 years.
	"Offset": 1e9, "Offset_sd": 1e9, "Rem._corr.": 1e9, "Root_delay": 1e9, "Root_disp.": 1e9, "Max._error": 1e9,
	"Peer_del.": 1e9, "Peer_disp.": 1e9, "Root_del.": 1e9, "Std_dev'n": 1e9, "Est_offset": 1e9,
	// Frequencies: chronyd's skew is a million ppm before its first measurement.
	"Freq_ppm": 1e7, "Skew_ppm": 1e7, "Diff_freq": 10, "Est_skew": 10,
	// Whole numbers: NTP's strata, polls as log2 seconds, the statistics' counts.
	"St": 16, "LP": 32, "RP": 32, "Ns": 65535, "Bs": 65535, "Nr": 65535, "Co": 65535,
}

func limitOf(name string) float64 {
	if l, ok := limits[name]; ok {
		return l
	}
	return math.MaxFloat64
}

func (r *fields) int(name string) int {
	s := r.str(name)
	if s == "" {
		return 0
	}
	v, err := strconv.Atoi(s)
	switch {
	case r.err != nil:
	case err != nil:
		r.err = fmt.Errorf("%s %q is not a whole number", strings.ReplaceAll(name, "_", " "), s)
	case math.Abs(float64(v)) > limitOf(name) || (v < 0 && name != "LP" && name != "RP"):
		r.err = fmt.Errorf("%s %d is out of range", strings.ReplaceAll(name, "_", " "), v)
	}
	return v
}

func (r *fields) time() time.Time {
	d, t := r.str("Date_(UTC)"), r.str("Time")
	v, err := time.Parse("2006-01-02 15:04:05", d+" "+t)
	switch {
	case r.err != nil:
	case err != nil:
		r.err = fmt.Errorf("%q is not a date and time", d+" "+t)
	case v.Year() < 1990 || v.Year() > 2200:
		r.err = fmt.Errorf("%q is out of range (years 1990 to 2200)", d+" "+t)
	}
	return v.UTC()
}

func (r *fields) byte(name string) byte {
	s := r.str(name)
	if len(s) != 1 {
		if r.err == nil {
			r.err = fmt.Errorf("%s %q is not one character", name, s)
		}
		return 0
	}
	return s[0]
}

// parse reads a line of a log of kind k.
func parse(k Kind, cols columns, words []string) (Record, error) {
	r := &fields{cols: cols, f: words}
	rec := Record{Kind: k}
	switch k {
	case TrackingLog:
		t := Tracking{T: r.time(), Reference: r.str("IP_Address"), Stratum: r.int("St"), FrequencyPPM: r.float("Freq_ppm"),
			SkewPPM: r.float("Skew_ppm"), OffsetSeconds: r.float("Offset"), Leap: r.byte("L"), Combined: r.int("Co"),
			OffsetSDSeconds: r.float("Offset_sd"), RemainingCorrection: r.float("Rem._corr."), RootDelaySeconds: r.float("Root_delay"),
			RootDispersionSeconds: r.float("Root_disp."), MaxErrorSeconds: r.float("Max._error")}
		if r.err == nil && len(words) < len(cols) {
			r.err = fmt.Errorf("the line has %d fields, its header %d", len(words), len(cols))
		}
		if r.err != nil {
			return rec, r.err
		}
		rec.Tracking = t
	case MeasurementsLog:
		m := Measurement{T: r.time(), Address: r.str("IP_Address"), Leap: r.byte("L"), Stratum: r.int("St"),
			Tests: r.str("123") + " " + r.str("567") + " " + r.str("ABCD"), LocalPoll: r.int("LP"), RemotePoll: r.int("RP"),
			Score: r.float("Score"), OffsetSeconds: r.float("Offset"), PeerDelaySeconds: r.float("Peer_del."),
			PeerDispersionSeconds: r.float("Peer_disp."), RootDelaySeconds: r.float("Root_del."), RootDispersionSeconds: r.float("Root_disp.")}
		if s := r.str("Refid"); s != "" {
			v, err := strconv.ParseUint(s, 16, 32)
			if err != nil && r.err == nil {
				r.err = fmt.Errorf("column Refid: %q is not 8 hex digits", s)
			}
			m.RefID = uint32(v)
		}
		// MTxRx is the last column and takes three fields ("4B K K"): the line must reach it.
		if i, ok := cols["MTxRx"]; ok && r.err == nil && len(words) < i+3 {
			r.err = fmt.Errorf("the line ends before its MTxRx column")
		}
		if r.err != nil {
			return rec, r.err
		}
		rec.Measurement = m
	case StatisticsLog:
		s := Statistic{T: r.time(), Source: r.str("IP_Address"), StdDevSeconds: r.float("Std_dev'n"), EstOffsetSeconds: r.float("Est_offset"),
			OffsetSDSeconds: r.float("Offset_sd"), FrequencyPPM: 1e6 * r.float("Diff_freq"), SkewPPM: 1e6 * r.float("Est_skew"),
			Stress: r.float("Stress"), Samples: r.int("Ns"), BestStart: r.int("Bs"), Runs: r.int("Nr"), Asymmetry: r.float("Asym")}
		if r.err == nil && len(words) < len(cols) {
			r.err = fmt.Errorf("the line has %d fields, its header %d", len(words), len(cols))
		}
		if r.err != nil {
			return rec, r.err
		}
		rec.Statistic = s
	default:
		return rec, fmt.Errorf("a line of an unknown log")
	}
	return rec, nil
}
