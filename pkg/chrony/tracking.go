package chrony

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"time"

	fb "github.com/facebook/time/ntp/chrony"
)

// LeapStatus is the leap second status chronyd reports in tracking.
type LeapStatus uint16

const (
	LeapNormal         LeapStatus = 0
	LeapInsert         LeapStatus = 1
	LeapDelete         LeapStatus = 2
	LeapUnsynchronised LeapStatus = 3
)

// String prints the status in chronyc's words.
func (l LeapStatus) String() string {
	switch l {
	case LeapNormal:
		return "Normal"
	case LeapInsert:
		return "Insert second"
	case LeapDelete:
		return "Delete second"
	case LeapUnsynchronised:
		return "Not synchronised"
	}
	return fmt.Sprintf("Unknown (%d)", uint16(l))
}

// RefIDLocal is the reference ID of chronyd's local clock (the "local" directive),
// 127.127.1.1; chronyc prints it as 7F7F0101 and NTP calls it LOCL.
const RefIDLocal = 0x7F7F0101

// Tracking is chronyd's tracking report: how the system clock is doing against its reference.
type Tracking struct {
	RefID   uint32     // the reference ID; an NTP source's is its IPv4 address (or a hash)
	RefAddr netip.Addr // the reference source's address; invalid when it is not an NTP source
	RefName string     // the reference source's configured name, else its address; "" with no NTP reference
	Stratum int
	Leap    LeapStatus
	RefTime time.Time // when the clock was last updated; zero for never

	// CorrectionSeconds is what chronyd is still applying to the system clock: positive when
	// the clock is slow. chronyc prints it as "System time".
	CorrectionSeconds     float64
	LastOffsetSeconds     float64
	RMSOffsetSeconds      float64
	FrequencyPPM          float64 // positive: the clock would run fast without correction
	ResidualFrequencyPPM  float64
	SkewPPM               float64
	RootDelaySeconds      float64
	RootDispersionSeconds float64
	UpdateIntervalSeconds float64
}

// Synchronised reports whether chronyd has a reference it is synchronised to.
func (t Tracking) Synchronised() bool {
	return t.Leap != LeapUnsynchronised && t.RefID != 0
}

// SystemTimeOffsetSeconds is how far the system clock is ahead of NTP time (negative: behind).
// chronyc prints it as "System time: x seconds fast/slow of NTP time".
func (t Tracking) SystemTimeOffsetSeconds() float64 { return -t.CorrectionSeconds }

// MaxErrorSeconds bounds how far the system clock may be from true time: the absolute system
// time offset, plus the root dispersion, plus half the root delay (chronyc's documentation of
// the tracking report gives this bound).
func (t Tracking) MaxErrorSeconds() float64 {
	return math.Abs(t.SystemTimeOffsetSeconds()) + t.RootDispersionSeconds + t.RootDelaySeconds/2
}

// Reference names what the clock follows: LOCL for the local clock, the four letters of a
// reference clock, the configured name or address of an NTP source, or "" for none.
func (t Tracking) Reference() string {
	switch {
	case t.RefName != "":
		return t.RefName
	case t.RefAddr.IsValid():
		return t.RefAddr.String()
	case t.RefID == 0:
		return ""
	case t.RefID == RefIDLocal:
		return "LOCL"
	}
	return RefIDString(t.RefID)
}

// Tracking reads the tracking report, and the configured name of the reference source.
func (c *Client) Tracking(ctx context.Context) (Tracking, error) {
	t, err := read(ctx, c, trackingRequest(), decodeTracking)
	if err != nil {
		return Tracking{}, err
	}
	if t.RefAddr.IsValid() {
		t.RefName, err = c.sourceName(ctx, wireAddrFrom(t.RefAddr))
		if err != nil {
			return Tracking{}, err
		}
	}
	return t, nil
}

func decodeTracking(reply []byte) (Tracking, error) {
	r, err := decodeAs[*fb.ReplyTracking](reply)
	if err != nil {
		return Tracking{}, err
	}
	var addr netip.Addr
	if a, ok := netip.AddrFromSlice(r.IPAddr); ok {
		addr = a.Unmap()
	}
	return Tracking{
		RefID:                 r.RefID,
		RefAddr:               addr,
		Stratum:               int(r.Stratum),
		Leap:                  LeapStatus(r.LeapStatus),
		RefTime:               normaliseTime(r.RefTime),
		CorrectionSeconds:     r.CurrentCorrection,
		LastOffsetSeconds:     r.LastOffset,
		RMSOffsetSeconds:      r.RMSOffset,
		FrequencyPPM:          r.FreqPPM,
		ResidualFrequencyPPM:  r.ResidFreqPPM,
		SkewPPM:               r.SkewPPM,
		RootDelaySeconds:      r.RootDelay,
		RootDispersionSeconds: r.RootDispersion,
		UpdateIntervalSeconds: r.LastUpdateInterval,
	}, nil
}

// normaliseTime maps the Unix epoch, which is how chronyd's "never" decodes, to the zero time.
func normaliseTime(t time.Time) time.Time {
	if t.Unix() == 0 && t.Nanosecond() == 0 {
		return time.Time{}
	}
	return t.UTC()
}

// RefIDString prints a reference ID as chronyc does for reference clocks: its printable ASCII
// letters ("GPS", "PPS", "LOCL"), or eight hex digits when it is not text.
func RefIDString(id uint32) string {
	var b []byte
	for shift := 24; shift >= 0; shift -= 8 {
		ch := byte(id >> shift)
		switch {
		case ch == 0:
			continue
		case ch < 0x20 || ch > 0x7e:
			return fmt.Sprintf("%08X", id)
		}
		b = append(b, ch)
	}
	return string(b)
}

// RefIDHex prints a reference ID as chronyc's first column does: eight hex digits.
func RefIDHex(id uint32) string { return fmt.Sprintf("%08X", id) }
