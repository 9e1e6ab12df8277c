package chrony

import (
	"context"
	"encoding/binary"
	"errors"
	"time"
)

// RTC is chronyd's RTC report: what it has learnt about the real-time clock, when it tracks it
// (the rtcfile directive).
type RTC struct {
	// Enabled is false when chronyd does not track the RTC (it answered 513 RTC driver not
	// running); the other fields are then zero. This is a normal state, not an error.
	Enabled     bool
	RefTime     time.Time // when the RTC was last measured
	Samples     int
	Runs        int
	SpanSeconds int
	// FastSeconds is how far the RTC is ahead of the system clock (negative: behind).
	FastSeconds float64
	// GainRatePPM is how fast the RTC gains time (negative: loses).
	GainRatePPM float64
}

// RTC reads the RTC report. A chronyd that does not track the RTC is not an error: the report
// comes back with Enabled false.
func (c *Client) RTC(ctx context.Context) (RTC, error) {
	r, err := read(ctx, c, rtcRequest(), decodeRTC)
	var e *Error
	if errors.As(err, &e) && e.Status == StatusNoRTC {
		return RTC{}, nil
	}
	return r, err
}

// decodeRTC reads an RTC reply. The facebook/time library has no decoder for it; the layout
// after the header is: timespec ref_time, u16 samples, u16 runs, u32 span, float rtc_seconds_fast,
// float rtc_gain_rate_ppm.
func decodeRTC(reply []byte) (RTC, error) {
	const want = replyHeaderLen + 12 + 2 + 2 + 4 + 4 + 4
	if len(reply) < want {
		return RTC{}, protocolErrorf("truncated RTC reply: %d bytes, want %d", len(reply), want)
	}
	b := reply[replyHeaderLen:]
	return RTC{
		Enabled:     true,
		RefTime:     decodeTimespec(b[0:12]),
		Samples:     int(binary.BigEndian.Uint16(b[12:])),
		Runs:        int(binary.BigEndian.Uint16(b[14:])),
		SpanSeconds: int(binary.BigEndian.Uint32(b[16:])),
		FastSeconds: decodeFloat(binary.BigEndian.Uint32(b[20:])),
		GainRatePPM: decodeFloat(binary.BigEndian.Uint32(b[24:])),
	}, nil
}
