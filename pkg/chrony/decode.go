package chrony

import (
	"errors"
	"io"

	fb "github.com/facebook/time/ntp/chrony"
)

// decodeReply hands a reply that checkReply accepted to github.com/facebook/time/ntp/chrony,
// which decodes every report here but the RTC's. Its decoder is reachable only through
// Client.Communicate, so a one-shot connection plays the reply back to it; the library's own
// request encoding and sequence numbers are not used (this package sends its own requests).
func decodeReply(reply []byte) (fb.ResponsePacket, error) {
	c := fb.Client{Connection: &playback{reply: reply}}
	p, err := c.Communicate(&fb.RequestHead{})
	if err != nil {
		return nil, protocolErrorf("cannot decode reply: %v", err)
	}
	return p, nil
}

// playback is an io.ReadWriter that swallows writes and reads back one reply.
type playback struct {
	reply []byte
	done  bool
}

func (p *playback) Write(b []byte) (int, error) { return len(b), nil }

func (p *playback) Read(b []byte) (int, error) {
	if p.done {
		return 0, io.EOF
	}
	p.done = true
	if len(b) < len(p.reply) {
		return 0, errors.New("reply larger than the decoder's buffer")
	}
	return copy(b, p.reply), nil
}

// decodeAs decodes reply and asserts the report type the request asked for.
func decodeAs[T fb.ResponsePacket](reply []byte) (T, error) {
	var zero T
	p, err := decodeReply(reply)
	if err != nil {
		return zero, err
	}
	t, ok := p.(T)
	if !ok {
		return zero, protocolErrorf("decoder returned %T", p)
	}
	return t, nil
}
