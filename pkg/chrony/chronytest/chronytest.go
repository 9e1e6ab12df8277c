// Package chronytest is a fake chronyd for tests, for what a real chronyd cannot be made to
// do: stay silent, answer late, answer garbage or a wrong reply, refuse with any status. It
// speaks the command protocol on its own (it does not use package chrony), listens on UDP
// 127.0.0.1 or on a Unix socket in a directory the test owns, records every request, and by
// default answers with replies captured from a real chronyd 4.3 (testdata/).
package chronytest

import (
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

//go:embed testdata/*.bin
var captured embed.FS

// Captured returns a reply captured from chronyd 4.3, by file name without ".bin"
// ("tracking", "source_data_1", ...). See TestCaptureReplies in package chrony.
func Captured(name string) []byte {
	b, err := captured.ReadFile("testdata/" + name + ".bin")
	if err != nil {
		panic(fmt.Sprintf("chronytest: no captured reply %q", name))
	}
	return b
}

// Request codes of the monitoring requests, and chronyd's reply codes for them.
const (
	ReqNSources      = 14
	ReqSourceData    = 15
	ReqTracking      = 33
	ReqSourceStats   = 34
	ReqRTCReport     = 35
	ReqNTPSourceName = 65
)

// Request is one request the fake received.
type Request struct {
	Version  uint8
	Command  uint16
	Attempt  uint16
	Sequence uint32
	Data     []byte // after the 20-byte header, padding included
	Raw      []byte // the whole datagram
}

// Index is the source index of a SOURCE_DATA or SOURCESTATS request.
func (r Request) Index() int { return int(int32(binary.BigEndian.Uint32(r.Data))) }

// A Handler answers a request with the datagrams to send back: none for silence, several to
// send garbage before a reply.
type Handler func(Request) [][]byte

// Server is a fake chronyd on one socket.
type Server struct {
	Addr string // as second-hand's --chrony takes it: udp://127.0.0.1:port or unix:///path

	conn    net.PacketConn
	path    string
	mu      sync.Mutex
	handler Handler
	reqs    []Request
	delay   time.Duration
	wg      sync.WaitGroup
}

// NewUDP starts a fake on a free UDP port of 127.0.0.1.
func NewUDP(h Handler) (*Server, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: "udp://" + c.LocalAddr().String(), conn: c, handler: h}
	s.start()
	return s, nil
}

// NewUnix starts a fake on dir/chronyd.sock. dir must exist.
func NewUnix(dir string, h Handler) (*Server, error) {
	path := filepath.Join(dir, "chronyd.sock")
	c, err := net.ListenPacket("unixgram", path)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: "unix://" + path, conn: c, path: path, handler: h}
	s.start()
	return s, nil
}

// SetHandler replaces how the fake answers, from the next request on.
func (s *Server) SetHandler(h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// SetDelay makes the fake wait d before answering each request (in the background, so that
// later requests are read meanwhile).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Close stops the fake and removes its socket file.
func (s *Server) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	if s.path != "" {
		os.Remove(s.path)
	}
	return err
}

func (s *Server) start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 4096)
		for {
			n, from, err := s.conn.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			if n < 20 {
				continue
			}
			b := buf[:n]
			req := Request{
				Version:  b[0],
				Command:  binary.BigEndian.Uint16(b[4:]),
				Attempt:  binary.BigEndian.Uint16(b[6:]),
				Sequence: binary.BigEndian.Uint32(b[8:]),
				Data:     append([]byte(nil), b[20:]...),
				Raw:      append([]byte(nil), b...),
			}
			s.mu.Lock()
			s.reqs = append(s.reqs, req)
			h, delay := s.handler, s.delay
			s.mu.Unlock()
			out := h(req)
			send := func() {
				for _, d := range out {
					s.conn.WriteTo(d, from)
				}
			}
			if delay > 0 {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					time.Sleep(delay)
					send()
				}()
				continue
			}
			send()
		}
	}()
}

// Stamp returns a copy of a captured reply re-addressed to req: its sequence number set to the
// request's, so that the client accepts it.
func Stamp(reply []byte, req Request) []byte {
	out := append([]byte(nil), reply...)
	binary.BigEndian.PutUint32(out[16:], req.Sequence)
	return out
}

// Reply builds a reply to req with the given reply code, status and data.
func Reply(req Request, reply, status uint16, data []byte) []byte {
	out := make([]byte, 28, 28+len(data))
	out[0] = 6
	out[1] = 2
	binary.BigEndian.PutUint16(out[4:], req.Command)
	binary.BigEndian.PutUint16(out[6:], reply)
	binary.BigEndian.PutUint16(out[8:], status)
	binary.BigEndian.PutUint32(out[16:], req.Sequence)
	return append(out, data...)
}

// Status answers every request with a status code and no data, as chronyd refuses.
func Status(status uint16) Handler {
	return func(req Request) [][]byte { return [][]byte{Reply(req, 1, status, nil)} }
}

// Silent never answers.
func Silent(Request) [][]byte { return nil }

// Replay answers like the chronyd the captures came from: four sources, synchronised, no RTC.
func Replay(req Request) [][]byte {
	var name string
	switch req.Command {
	case ReqTracking:
		name = "tracking"
	case ReqNSources:
		name = "n_sources"
	case ReqSourceData:
		name = fmt.Sprintf("source_data_%d", req.Index())
	case ReqSourceStats:
		name = fmt.Sprintf("sourcestats_%d", req.Index())
	case ReqRTCReport:
		name = "rtc_nortc"
	case ReqNTPSourceName:
		name = sourceNameFile(req.Data[:20])
	}
	if _, err := captured.Open("testdata/" + name + ".bin"); name == "" || err != nil {
		return [][]byte{Reply(req, 1, 4, nil)} // 503 No such source
	}
	return [][]byte{Stamp(Captured(name), req)}
}

// sourceNameFile finds the captured name reply for an address among the captured sources.
func sourceNameFile(addr []byte) string {
	for i := 0; ; i++ {
		b, err := captured.ReadFile(fmt.Sprintf("testdata/source_data_%d.bin", i))
		if err != nil {
			return ""
		}
		if string(b[28:48]) == string(addr) {
			return fmt.Sprintf("source_name_%d", i)
		}
	}
}

// Forward relays each request to a real chronyd's UDP command port and answers with its reply,
// so that a test can put one fault in front of real data.
func Forward(target string) (Handler, error) {
	addr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	return func(req Request) [][]byte {
		c, err := net.DialUDP("udp", nil, addr)
		if err != nil {
			return nil
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(req.Raw); err != nil {
			return nil
		}
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		return [][]byte{buf[:n]}
	}, nil
}

// StartUDP starts a fake on UDP for a test and stops it when the test ends.
func StartUDP(tb testing.TB, h Handler) *Server {
	tb.Helper()
	s, err := NewUDP(h)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// StartUnix starts a fake on dir/chronyd.sock for a test and stops it when the test ends.
func StartUnix(tb testing.TB, dir string, h Handler) *Server {
	tb.Helper()
	s, err := NewUnix(dir, h)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
