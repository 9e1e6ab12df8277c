package chrony

import (
	"context"
	"encoding/binary"
	"net/netip"
	"time"
)

// NTPData is chronyd's ntpdata report of one NTP source: the last valid packet from it, the
// measurement it made, and packet counts. chronyd answers it on its Unix socket only (or over
// UDP with "opencommands ntpdata", chrony 4.7 and later).
type NTPData struct {
	Remote     netip.Addr
	RemotePort int
	Local      netip.Addr
	Leap       LeapStatus
	Version    int
	Mode       int // NTP mode of the packet: 4 server, 1 or 2 symmetric
	Stratum    int
	PollLog2   int
	// PrecisionLog2 is the server's clock precision, log2 of seconds.
	PrecisionLog2         int
	RootDelaySeconds      float64
	RootDispersionSeconds float64
	RefID                 uint32
	RefTime               time.Time
	OffsetSeconds         float64
	PeerDelaySeconds      float64
	PeerDispersionSeconds float64
	ResponseTimeSeconds   float64
	JitterAsymmetry       float64
	// Tests are the results of RFC 5905's tests and chrony's own, bit 9 first (as chronyc
	// prints them: three, three and four bits); a set bit passed. TestFailures names the ones
	// that failed.
	Tests         uint16
	Interleaved   bool
	Authenticated bool
	// TXStamping and RXStamping say where the timestamps were taken: 'D' by chronyd, 'K' by the
	// kernel, 'H' by the network card.
	TXStamping, RXStamping byte
	TotalTX, TotalRX       uint32
	TotalValidRX           uint32
	TotalGoodRX            uint32
	// Version 2 (chrony 4.4 and later): how many timestamps the kernel and the card took.
	HasTimestampCounts           bool
	TotalKernelTX, TotalKernelRX uint32
	TotalHWTX, TotalHWRX         uint32
}

// NTPData reads the ntpdata report of the NTP source at addr.
func (c *Client) NTPData(ctx context.Context, addr netip.Addr) (NTPData, error) {
	return read(ctx, c, ntpDataRequest(wireAddrFrom(addr)), decodeNTPData)
}

// decodeNTPData reads both layouts of the reply (RPY_NTP_DATA, chrony 4.3; RPY_NTP_DATA2,
// 4.4 and later). It is written here rather than taken from the facebook/time library, whose
// layout of the newer reply leaves out total_good_count and so reads every count after it one
// field too early.
func decodeNTPData(reply []byte) (NTPData, error) {
	if len(reply) < replyHeaderLen {
		return NTPData{}, protocolErrorf("truncated ntpdata reply: %d bytes", len(reply))
	}
	code := replyCode(binary.BigEndian.Uint16(reply[6:]))
	want, ok := monitoring[cmdNTPData].replies[code]
	if !ok {
		return NTPData{}, protocolErrorf("reply type %d is not an ntpdata reply", code)
	}
	if len(reply) != want {
		return NTPData{}, protocolErrorf("ntpdata reply of %d bytes, want %d", len(reply), want)
	}
	b := reply[replyHeaderLen:]
	u16 := func(o int) uint16 { return binary.BigEndian.Uint16(b[o:]) }
	u32 := func(o int) uint32 { return binary.BigEndian.Uint32(b[o:]) }
	f := func(o int) float64 { return decodeFloat(u32(o)) }
	addr := func(o int) netip.Addr {
		var w wireAddr
		copy(w.ip[:], b[o:o+16])
		w.family = u16(o + 16)
		return w.netip()
	}
	flags := u16(92)
	d := NTPData{
		Remote:                addr(0),
		Local:                 addr(20),
		RemotePort:            int(u16(40)),
		Leap:                  LeapStatus(b[42]),
		Version:               int(b[43]),
		Mode:                  int(b[44]),
		Stratum:               int(b[45]),
		PollLog2:              int(int8(b[46])),
		PrecisionLog2:         int(int8(b[47])),
		RootDelaySeconds:      f(48),
		RootDispersionSeconds: f(52),
		RefID:                 u32(56),
		RefTime:               decodeTimespec(b[60:72]),
		OffsetSeconds:         f(72),
		PeerDelaySeconds:      f(76),
		PeerDispersionSeconds: f(80),
		ResponseTimeSeconds:   f(84),
		JitterAsymmetry:       f(88),
		Tests:                 flags & 0x3ff,
		Interleaved:           flags&0x4000 != 0,
		Authenticated:         flags&0x8000 != 0,
		TXStamping:            b[94],
		RXStamping:            b[95],
		TotalTX:               u32(96),
		TotalRX:               u32(100),
		TotalValidRX:          u32(104),
		TotalGoodRX:           u32(108),
	}
	if code == rpyNTPData2 {
		d.HasTimestampCounts = true
		d.TotalKernelTX, d.TotalKernelRX, d.TotalHWTX, d.TotalHWRX = u32(112), u32(116), u32(120), u32(124)
	}
	return d, nil
}

// ntpTests names the tests of an ntpdata reply by bit, from bit 9 (chronyc's first column) to
// bit 0: RFC 5905's packet tests, then chrony's.
var ntpTests = [10]string{
	"test 1: not a duplicate packet",
	"test 2: answers the request that was sent",
	"test 3: its timestamps are all set",
	"test 5: authentication",
	"test 6: the server is synchronised",
	"test 7: root delay and dispersion within the maximum",
	"test A: delay within maxdelay, and sane timestamps",
	"test B: delay ratio within maxdelayratio",
	"test C: delay within maxdelaydevratio (or maxdelayquant)",
	"test D: no synchronisation loop (the server is not synchronised to this host)",
}

// TestBits are the test results as chronyc prints them: "111 111 1111".
func (d NTPData) TestBits() string {
	out := make([]byte, 0, 12)
	for i := 9; i >= 0; i-- {
		if d.Tests&(1<<i) != 0 {
			out = append(out, '1')
		} else {
			out = append(out, '0')
		}
		if i == 7 || i == 4 {
			out = append(out, ' ')
		}
	}
	return string(out)
}

// TestFailures names the tests the last packet failed; none for a good one.
func (d NTPData) TestFailures() []string {
	var out []string
	for i := 9; i >= 0; i-- {
		if d.Tests&(1<<i) == 0 {
			out = append(out, ntpTests[9-i])
		}
	}
	return out
}
