package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// SyncState is how the system clock stood at a sample.
type SyncState uint8

const (
	Unsynchronised SyncState = 0
	Synchronised   SyncState = 1
	LocalClock     SyncState = 2 // synchronised to chronyd's own local clock only
)

// Sample is the system clock at one read of chronyd's tracking report: the system time offset
// moves between clock updates, so it is kept at every sample.
type Sample struct {
	T                     time.Time
	OffsetSeconds         float64 // system time offset: positive when the clock is ahead
	RootDelaySeconds      float64
	RootDispersionSeconds float64
	State                 SyncState
}

// MaxErrorSeconds is the bound chronyc's documentation gives for the clock's error:
// |offset| + root dispersion + root delay / 2.
func (s Sample) MaxErrorSeconds() float64 {
	return math.Abs(s.OffsetSeconds) + s.RootDispersionSeconds + s.RootDelaySeconds/2
}

// Update is a clock update: the tracking report at a new reference time. T is the reference
// time, when chronyd updated the clock.
type Update struct {
	T                     time.Time
	OffsetSeconds         float64 // the offset measured at the update (chronyc: Last offset)
	FrequencyPPM          float64
	ResidualFrequencyPPM  float64
	SkewPPM               float64
	RMSOffsetSeconds      float64
	RootDelaySeconds      float64
	RootDispersionSeconds float64
	UpdateIntervalSeconds float64
	Stratum               int
	Leap                  uint8 // chronyd's leap status: 0 normal, 1 insert, 2 delete, 3 not synchronised
	RefID                 uint32
	Reference             string // the reference's name, address or letters
}

// SourcePoint is one source at one moment: a new sample it gave (NewSample), or a change of
// its state or reachability, with the statistics chronyd keeps of it then.
type SourcePoint struct {
	T         time.Time
	NewSample bool
	HasStats  bool
	// NoStatus marks a point whose state and reach are not known: one imported from
	// chronyd's logs, which do not have them.
	NoStatus bool

	OffsetSeconds float64 // the sample's offset as measured: positive when the source is ahead
	ErrorSeconds  float64 // its error bound
	State         uint8   // chronyd's selection state (0 selected, 1 unusable, 2 falseticker, 3 jittery, 4 combined, 5 not combined)
	Reach         uint8
	Stratum       int
	PollLog2      int

	Samples          int
	Runs             int
	SpanSeconds      int
	FrequencyPPM     float64
	SkewPPM          float64
	EstOffsetSeconds float64
	StdDevSeconds    float64
}

// Gap is a time when chronyd did not answer, and why.
type Gap struct {
	Start, End time.Time
	Error      string
}

// ServerSample is chronyd's server statistics at one sample: its counters since it started (a
// restart of chronyd starts them over from zero), as chronyd's reply of Version has them
// (fields an older reply lacks are 0: see chrony.ServerStats), and its clients.
type ServerSample struct {
	T       time.Time
	Version uint8

	NTP, NTPDropped          uint64 // NTP requests received and dropped
	NTSKE, NTSKEDropped      uint64 // NTS-KE connections accepted and dropped (2+)
	Authenticated            uint64 // authenticated NTP requests (2+)
	Interleaved              uint64 // interleaved NTP requests (3+)
	ClientLogDropped         uint64 // client log records dropped
	DaemonRX, KernelRX, HwRX uint64 // where the receive timestamps of NTP requests were taken (4)

	// Clients is how many distinct clients chronyd's clients report lists, and Active how many
	// of them sent an NTP request since the sample before; -1 where the report could not be read.
	Clients, Active int32
}

// Source names a source of a host: its configured name and address (empty for a reference
// clock).
type Source struct {
	Name, Address string
}

// The kinds of series, as stored.
const (
	kindSample      = 1
	kindUpdate      = 2
	kindSource      = 3 // a source's points: what the charts read
	kindSourceStats = 4 // their statistics, apart: a month of charts reads half as much
	kindServer      = 5 // chronyd's server statistics (format 2)
)

// The records' encodings: little-endian, fixed width, the time as Unix milliseconds first.
const (
	sampleSize = 8 + 3*8 + 1
	updateSize = 8 + 8*8 + 1 + 1 + 4 + 4
	sourceSize = 8 + 1 + 2*8 + 4
	statsSize  = 8 + 2 + 2 + 4 + 4*8
	serverSize = 8 + 1 + 10*8 + 2*4
)

var le = binary.LittleEndian

func ms(t time.Time) int64      { return t.UnixMilli() }
func fromMS(v int64) time.Time  { return time.UnixMilli(v).UTC() }
func putF(b []byte, v float64)  { le.PutUint64(b, math.Float64bits(v)) }
func getF(b []byte) float64     { return math.Float64frombits(le.Uint64(b)) }
func recordTime(b []byte) int64 { return int64(le.Uint64(b)) }

var sizes = map[int]int{kindSample: sampleSize, kindUpdate: updateSize, kindSource: sourceSize, kindSourceStats: statsSize, kindServer: serverSize}

func (s Sample) encode(b []byte) []byte {
	r := make([]byte, sampleSize)
	le.PutUint64(r, uint64(ms(s.T)))
	putF(r[8:], s.OffsetSeconds)
	putF(r[16:], s.RootDelaySeconds)
	putF(r[24:], s.RootDispersionSeconds)
	r[32] = byte(s.State)
	return append(b, r...)
}

func decodeSample(r []byte) Sample {
	return Sample{T: fromMS(recordTime(r)), OffsetSeconds: getF(r[8:]), RootDelaySeconds: getF(r[16:]),
		RootDispersionSeconds: getF(r[24:]), State: SyncState(r[32])}
}

// encode writes u with its reference's name as refName, an id in the names table.
func (u Update) encode(b []byte, refName uint32) []byte {
	r := make([]byte, updateSize)
	le.PutUint64(r, uint64(ms(u.T)))
	for i, v := range []float64{u.OffsetSeconds, u.FrequencyPPM, u.ResidualFrequencyPPM, u.SkewPPM, u.RMSOffsetSeconds,
		u.RootDelaySeconds, u.RootDispersionSeconds, u.UpdateIntervalSeconds} {
		putF(r[8+8*i:], v)
	}
	r[72] = byte(clamp(u.Stratum, 0, 255))
	r[73] = u.Leap
	le.PutUint32(r[74:], u.RefID)
	le.PutUint32(r[78:], refName)
	return append(b, r...)
}

func decodeUpdate(r []byte, name func(uint32) string) Update {
	f := func(i int) float64 { return getF(r[8+8*i:]) }
	return Update{T: fromMS(recordTime(r)), OffsetSeconds: f(0), FrequencyPPM: f(1), ResidualFrequencyPPM: f(2), SkewPPM: f(3),
		RMSOffsetSeconds: f(4), RootDelaySeconds: f(5), RootDispersionSeconds: f(6), UpdateIntervalSeconds: f(7),
		Stratum: int(r[72]), Leap: r[73], RefID: le.Uint32(r[74:]), Reference: name(le.Uint32(r[78:]))}
}

const (
	flagNewSample = 1
	flagHasStats  = 2
	flagNoStatus  = 4
)

func (p SourcePoint) encode(b []byte) []byte {
	r := make([]byte, sourceSize)
	le.PutUint64(r, uint64(ms(p.T)))
	if p.NewSample {
		r[8] |= flagNewSample
	}
	if p.HasStats {
		r[8] |= flagHasStats
	}
	if p.NoStatus {
		r[8] |= flagNoStatus
	}
	putF(r[9:], p.OffsetSeconds)
	putF(r[17:], p.ErrorSeconds)
	r[25], r[26], r[27], r[28] = p.State, p.Reach, byte(clamp(p.Stratum, 0, 255)), byte(int8(clamp(p.PollLog2, -128, 127)))
	return append(b, r...)
}

// encodeStats writes the point's statistics, kept in a series of their own.
func (p SourcePoint) encodeStats(b []byte) []byte {
	r := make([]byte, statsSize)
	le.PutUint64(r, uint64(ms(p.T)))
	le.PutUint16(r[8:], uint16(clamp(p.Samples, 0, 65535)))
	le.PutUint16(r[10:], uint16(clamp(p.Runs, 0, 65535)))
	le.PutUint32(r[12:], uint32(clamp(p.SpanSeconds, 0, math.MaxInt32)))
	putF(r[16:], p.FrequencyPPM)
	putF(r[24:], p.SkewPPM)
	putF(r[32:], p.EstOffsetSeconds)
	putF(r[40:], p.StdDevSeconds)
	return append(b, r...)
}

func decodeSource(r []byte) SourcePoint {
	return SourcePoint{T: fromMS(recordTime(r)), NewSample: r[8]&flagNewSample != 0, HasStats: r[8]&flagHasStats != 0, NoStatus: r[8]&flagNoStatus != 0,
		OffsetSeconds: getF(r[9:]), ErrorSeconds: getF(r[17:]), State: r[25], Reach: r[26], Stratum: int(r[27]), PollLog2: int(int8(r[28]))}
}

func decodeStats(r []byte, p *SourcePoint) {
	p.Samples, p.Runs, p.SpanSeconds = int(le.Uint16(r[8:])), int(le.Uint16(r[10:])), int(le.Uint32(r[12:]))
	p.FrequencyPPM, p.SkewPPM, p.EstOffsetSeconds, p.StdDevSeconds = getF(r[16:]), getF(r[24:]), getF(r[32:]), getF(r[40:])
}

func (s ServerSample) encode(b []byte) []byte {
	r := make([]byte, serverSize)
	le.PutUint64(r, uint64(ms(s.T)))
	r[8] = s.Version
	for i, v := range []uint64{s.NTP, s.NTPDropped, s.NTSKE, s.NTSKEDropped, s.Authenticated, s.Interleaved, s.ClientLogDropped,
		s.DaemonRX, s.KernelRX, s.HwRX} {
		le.PutUint64(r[9+8*i:], v)
	}
	le.PutUint32(r[89:], uint32(s.Clients))
	le.PutUint32(r[93:], uint32(s.Active))
	return append(b, r...)
}

func decodeServer(r []byte) ServerSample {
	u := func(i int) uint64 { return le.Uint64(r[9+8*i:]) }
	return ServerSample{T: fromMS(recordTime(r)), Version: r[8], NTP: u(0), NTPDropped: u(1), NTSKE: u(2), NTSKEDropped: u(3),
		Authenticated: u(4), Interleaved: u(5), ClientLogDropped: u(6), DaemonRX: u(7), KernelRX: u(8), HwRX: u(9),
		Clients: int32(le.Uint32(r[89:])), Active: int32(le.Uint32(r[93:]))}
}

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }

// records splits a chunk into its records, checking that it holds whole ones.
func records(data []byte, size int) ([][]byte, error) {
	if len(data)%size != 0 {
		return nil, fmt.Errorf("store: a chunk of %d bytes does not hold whole records of %d", len(data), size)
	}
	out := make([][]byte, 0, len(data)/size)
	for i := 0; i < len(data); i += size {
		out = append(out, data[i:i+size])
	}
	return out, nil
}
