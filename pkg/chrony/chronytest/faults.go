package chronytest

import (
	"encoding/binary"
	"sync/atomic"
)

// Faults, for what a real chronyd cannot be made to do. Each wraps a Handler (usually Replay)
// and spoils its replies in one way.

// Only applies fault to requests with the given command, and rest to the others, so that one
// report fails while the others are answered.
func Only(command uint16, fault, rest Handler) Handler {
	return func(req Request) [][]byte {
		if req.Command == command {
			return fault(req)
		}
		return rest(req)
	}
}

// Garbage answers with bytes that are not a chronyd reply at all.
func Garbage(Request) [][]byte {
	return [][]byte{[]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nthis is not chronyd")}
}

// Truncated cuts every reply short by 10 bytes.
func Truncated(h Handler) Handler {
	return each(h, func(b []byte) []byte { return b[:max(len(b)-10, 28)] })
}

// Oversized pads every reply with 64 more bytes.
func Oversized(h Handler) Handler {
	return each(h, func(b []byte) []byte { return append(b, make([]byte, 64)...) })
}

// WrongSequence answers with another sequence number, as a late reply to another request would.
func WrongSequence(h Handler) Handler {
	return each(h, func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[16:], binary.BigEndian.Uint32(b[16:])+1)
		return b
	})
}

// WrongCommand answers as if to another request (tracking becomes sourcestats and the rest
// becomes tracking), with the right sequence number.
func WrongCommand(h Handler) Handler {
	return each(h, func(b []byte) []byte {
		cmd := uint16(ReqTracking)
		if binary.BigEndian.Uint16(b[4:]) == ReqTracking {
			cmd = ReqSourceStats
		}
		binary.BigEndian.PutUint16(b[4:], cmd)
		return b
	})
}

// WrongVersion answers with protocol version 5.
func WrongVersion(h Handler) Handler {
	return each(h, func(b []byte) []byte { b[0] = 5; return b })
}

// Flap alternates: one request answered by good, the next by bad.
func Flap(good, bad Handler) Handler {
	var n atomic.Uint64
	return func(req Request) [][]byte {
		if n.Add(1)%2 == 1 {
			return good(req)
		}
		return bad(req)
	}
}

func each(h Handler, f func([]byte) []byte) Handler {
	return func(req Request) [][]byte {
		out := h(req)
		for i, d := range out {
			out[i] = f(append([]byte(nil), d...))
		}
		return out
	}
}
