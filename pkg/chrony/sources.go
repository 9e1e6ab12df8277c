package chrony

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	fb "github.com/facebook/time/ntp/chrony"
)

// SourceMode is how chronyd uses a source.
type SourceMode uint16

const (
	ModeServer   SourceMode = 0 // an NTP server chronyd polls as a client
	ModePeer     SourceMode = 1 // a symmetric NTP peer
	ModeRefClock SourceMode = 2 // a reference clock such as GPS or PPS
)

// Symbol is chronyc's one-character mode: ^ = or #.
func (m SourceMode) Symbol() string {
	switch m {
	case ModeServer:
		return "^"
	case ModePeer:
		return "="
	case ModeRefClock:
		return "#"
	}
	return "?"
}

func (m SourceMode) String() string {
	switch m {
	case ModeServer:
		return "server"
	case ModePeer:
		return "peer"
	case ModeRefClock:
		return "reference clock"
	}
	return fmt.Sprintf("mode %d", uint16(m))
}

// SourceState is where a source stands in chronyd's source selection.
type SourceState uint16

const (
	StateSelected      SourceState = 0 // * the source the clock is synchronised to
	StateNonselectable SourceState = 1 // ? unusable: unreachable, or not enough samples yet
	StateFalseticker   SourceState = 2 // x its time disagrees with the majority
	StateJittery       SourceState = 3 // ~ too variable to be trusted
	StateSelectable    SourceState = 4 // + combined with the selected source
	StateUnselected    SourceState = 5 // - acceptable, but not combined
)

// Symbol is chronyc's one-character state: * ? x ~ + -.
func (s SourceState) Symbol() string {
	switch s {
	case StateSelected:
		return "*"
	case StateNonselectable:
		return "?"
	case StateFalseticker:
		return "x"
	case StateJittery:
		return "~"
	case StateSelectable:
		return "+"
	case StateUnselected:
		return "-"
	}
	return "?"
}

// String names the state in the words of `chronyc sources -v`.
func (s SourceState) String() string {
	switch s {
	case StateSelected:
		return "selected"
	case StateNonselectable:
		return "unusable"
	case StateFalseticker:
		return "falseticker"
	case StateJittery:
		return "too variable"
	case StateSelectable:
		return "combined"
	case StateUnselected:
		return "not combined"
	}
	return fmt.Sprintf("state %d", uint16(s))
}

// NeverSampled is LastSampleAgo for a source chronyd has no sample from.
const NeverSampled = time.Duration(math.MaxInt64)

// Source is one row of chronyd's sources report.
type Source struct {
	Name    string     // the configured name (NTP_SOURCE_NAME), else the address; a reference clock's ref ID
	Address netip.Addr // invalid for reference clocks and unresolved sources
	// Unresolved is a server or peer whose name chronyd has not resolved (yet).
	Unresolved bool
	Mode       SourceMode
	State      SourceState
	Stratum    int
	// PollLog2 is the polling interval as chronyd keeps it, log2 of seconds; negative means
	// several polls a second.
	PollLog2 int
	// Reach is the reachability register: bit 0 is the last poll, set when it was answered.
	Reach uint8
	// LastSampleAgo is how long ago the last sample was received; NeverSampled if never.
	LastSampleAgo time.Duration

	AdjustedOffsetSeconds float64 // the last sample's offset, adjusted for frequency changes since
	MeasuredOffsetSeconds float64 // the offset as measured
	ErrorSeconds          float64 // the error bound of the measurement
}

// Poll is the polling interval as a duration.
func (s Source) Poll() time.Duration {
	return time.Duration(math.Ldexp(float64(time.Second), s.PollLog2))
}

// Sources reads every source, with its configured name.
func (c *Client) Sources(ctx context.Context) ([]Source, error) {
	n, err := c.NumSources(ctx)
	if err != nil {
		return nil, err
	}
	return c.SourcesN(ctx, n)
}

// SourcesN reads the first n sources, n from NumSources: a caller that reads both sources and
// source statistics asks chronyd for the count once.
func (c *Client) SourcesN(ctx context.Context, n int) ([]Source, error) {
	out := make([]Source, 0, n)
	for i := range n {
		var s Source
		var addr wireAddr
		err := c.roundTrip(ctx, sourceDataRequest(i), func(reply []byte) (err error) {
			s, addr, err = decodeSourceData(reply)
			return err
		})
		if err != nil {
			return nil, err
		}
		if s.Mode != ModeRefClock {
			if s.Name, err = c.sourceName(ctx, addr); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// NumSources reads how many sources chronyd has.
func (c *Client) NumSources(ctx context.Context) (int, error) {
	return read(ctx, c, nSourcesRequest(), decodeNSources)
}

func decodeNSources(reply []byte) (int, error) {
	r, err := decodeAs[*fb.ReplySources](reply)
	if err != nil {
		return 0, err
	}
	// chronyd allows a few thousand sources at most; a larger count is not chronyd.
	if r.NSources < 0 || r.NSources > maxSources {
		return 0, protocolErrorf("chronyd reports %d sources", r.NSources)
	}
	return r.NSources, nil
}

// maxSources bounds the source count this client believes, so that a hostile or broken reply
// cannot make it send millions of requests.
const maxSources = 4096

// decodeSourceData returns the source and its wire address, for the name lookup.
func decodeSourceData(reply []byte) (Source, wireAddr, error) {
	r, err := decodeAs[*fb.ReplySourceData](reply)
	if err != nil {
		return Source{}, wireAddr{}, err
	}
	wa := wireAddr{ip: r.IPAddr.IP, family: r.IPAddr.Family}
	s := Source{
		Address:               wa.netip(),
		Unresolved:            wa.family == familyID,
		Mode:                  SourceMode(r.Mode),
		State:                 SourceState(r.State),
		Stratum:               int(r.Stratum),
		PollLog2:              int(r.Poll),
		Reach:                 uint8(r.Reachability),
		LastSampleAgo:         NeverSampled,
		AdjustedOffsetSeconds: r.LatestMeas,
		MeasuredOffsetSeconds: r.OrigLatestMeas,
		ErrorSeconds:          r.LatestMeasErr,
	}
	if r.SinceSample != math.MaxUint32 {
		s.LastSampleAgo = time.Duration(r.SinceSample) * time.Second
	}
	if s.Mode == ModeRefClock {
		// A reference clock's ref ID travels in the address field.
		s.Name = RefIDString(uint32(wa.ip[0])<<24 | uint32(wa.ip[1])<<16 | uint32(wa.ip[2])<<8 | uint32(wa.ip[3]))
		s.Address = netip.Addr{}
		s.Unresolved = false
	}
	return s, wa, nil
}

// sourceName returns the name a source was configured with (NTP_SOURCE_NAME), falling back to
// its address. Names are remembered per connection: an address keeps its name until chronyd
// restarts.
func (c *Client) sourceName(ctx context.Context, addr wireAddr) (string, error) {
	c.mu.Lock()
	name, ok := c.names[addr]
	c.mu.Unlock()
	if ok {
		return name, nil
	}
	name, err := read(ctx, c, sourceNameRequest(addr), decodeSourceName)
	var e *Error
	switch {
	case err == nil:
	case errors.As(err, &e) && e.Status == StatusNoSuchSource:
		// The source went away between the two requests: show its address.
		return addr.String(), nil
	default:
		return "", err
	}
	if name == "" {
		name = addr.String()
	}
	c.mu.Lock()
	c.names[addr] = name
	c.mu.Unlock()
	return name, nil
}

func decodeSourceName(reply []byte) (string, error) {
	r, err := decodeAs[*fb.ReplyNTPSourceName](reply)
	if err != nil {
		return "", err
	}
	return string(bytes.ToValidUTF8([]byte(r.Name), []byte("\uFFFD"))), nil
}

func wireAddrFrom(a netip.Addr) wireAddr {
	var w wireAddr
	switch {
	case a.Is4():
		w.family = familyInet4
		b := a.As4()
		copy(w.ip[:], b[:])
	case a.Is6():
		w.family = familyInet6
		w.ip = a.As16()
	}
	return w
}

func (w wireAddr) netip() netip.Addr {
	switch w.family {
	case familyInet4:
		return netip.AddrFrom4([4]byte(w.ip[:4]))
	case familyInet6:
		return netip.AddrFrom16(w.ip)
	}
	return netip.Addr{}
}

// String prints the address as chronyc does: the IP, or ID#nnnnnnnnnn for an unresolved source.
func (w wireAddr) String() string {
	switch w.family {
	case familyInet4, familyInet6:
		return w.netip().String()
	case familyID:
		return fmt.Sprintf("ID#%010d", uint32(w.ip[0])<<24|uint32(w.ip[1])<<16|uint32(w.ip[2])<<8|uint32(w.ip[3]))
	}
	return "?"
}
