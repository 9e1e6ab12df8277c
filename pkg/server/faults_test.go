package server

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// These tests put a fake chronyd (pkg/chrony/chronytest) behind the real client and server,
// for what a real chronyd cannot be made to do: stay silent, answer late, answer garbage or a
// wrong reply, refuse with each status, flap.

type fault struct {
	name    string
	handler chronytest.Handler
	panel   string // the panel that must show the error; "" when none may
	want    string // what its error must say
	slow    bool   // fails by timing out
}

var (
	replay = chronytest.Replay
	faults = []fault{
		{"silent", chronytest.Only(chronytest.ReqTracking, chronytest.Silent, replay), "tracking", "did not answer the tracking request (timed out", true},
		{"garbage", chronytest.Only(chronytest.ReqSourceStats, chronytest.Garbage, replay), "sourcestats", "Unexpected reply", false},
		{"truncated", chronytest.Only(chronytest.ReqTracking, chronytest.Truncated(replay), replay), "tracking", "truncated reply: 94 bytes, a tracking reply has 104", false},
		{"oversized", chronytest.Only(chronytest.ReqTracking, chronytest.Oversized(replay), replay), "tracking", "oversized reply: 168 bytes", false},
		{"wrong sequence", chronytest.Only(chronytest.ReqTracking, chronytest.WrongSequence(replay), replay), "tracking", "replies arrived that answered other requests", true},
		{"wrong command", chronytest.Only(chronytest.ReqSourceStats, chronytest.WrongCommand(replay), replay), "sourcestats", "reply is for tracking, not for the source statistics request", false},
		{"wrong version", chronytest.Only(chronytest.ReqTracking, chronytest.WrongVersion(replay), replay), "tracking", "reply speaks protocol version 5", false},
		{"UNAUTH", chronytest.Only(chronytest.ReqTracking, chronytest.Status(2), replay), "tracking", "refused the tracking request: 501 Not authorised", false},
		{"INVALID", chronytest.Only(chronytest.ReqSourceStats, chronytest.Status(3), replay), "sourcestats", "502 Invalid command", false},
		{"NOSUCHSOURCE", chronytest.Only(chronytest.ReqSourceData, chronytest.Status(4), replay), "sources", "answered the source data request with 503 No such source", false},
		{"BADPKTVERSION", chronytest.Only(chronytest.ReqTracking, chronytest.Status(18), replay), "tracking", "517 Protocol version mismatch", false},
		{"BADPKTLENGTH", chronytest.Only(chronytest.ReqRTCReport, chronytest.Status(19), replay), "rtc", "518 Packet length mismatch", false},
		{"NORTC", chronytest.Only(chronytest.ReqRTCReport, chronytest.Status(13), replay), "", "", false},
	}
	panelPaths = []string{"tracking", "sources", "sourcestats", "rtc"}
)

// fakeStack is second-hand's handler over a real client over a fake chronyd.
type fakeStack struct {
	fake   *chronytest.Server
	client *chrony.Client
	h      http.Handler
	dir    string // the fake's socket directory, for "unix"
}

func newFakeStack(t *testing.T, network string, h chronytest.Handler, opts chrony.Options) *fakeStack {
	t.Helper()
	s := &fakeStack{}
	if network == "unix" {
		s.dir = t.TempDir()
		s.fake = chronytest.StartUnix(t, s.dir, h)
	} else {
		s.fake = chronytest.StartUDP(t, h)
	}
	addr, err := chrony.ParseAddress(s.fake.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s.client, err = chrony.New(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.h = oneHost(t, s.client, Config{})
	t.Cleanup(func() { s.client.Close() })
	return s
}

func (s *fakeStack) panel(t *testing.T, name string) string {
	t.Helper()
	rec := get(t, s.h, "GET", "/panels/"+name)
	if rec.Code != http.StatusOK {
		t.Fatalf("/panels/%s = %d, want 200 whatever chronyd does", name, rec.Code)
	}
	return rec.Body.String()
}

var quick = chrony.Options{Timeout: 20 * time.Millisecond, Retries: 1}

// TestFaults: for each fault, the faulted panel says what went wrong, and the other three
// panels show chronyd's data; over UDP and over a Unix socket.
func TestFaults(t *testing.T) {
	for _, network := range []string{"udp", "unix"} {
		for _, f := range faults {
			t.Run(network+"/"+f.name, func(t *testing.T) {
				s := newFakeStack(t, network, f.handler, quick)
				for _, p := range panelPaths {
					body := s.panel(t, p)
					failing := strings.Contains(body, `data-failed="`)
					if p != f.panel {
						if failing {
							t.Errorf("%s failed, though only %q was faulted:\n%s", p, f.panel, body)
						}
						continue
					}
					if !failing || !strings.Contains(body, f.want) {
						t.Errorf("%s: want its error saying %q, got:\n%s", p, f.want, body)
					}
				}
				if f.name == "NORTC" {
					if body := s.panel(t, "rtc"); !strings.Contains(body, `data-field="rtc" value="disabled"`) {
						t.Errorf("513 is a state, not an error:\n%s", body)
					}
				}
			})
		}
	}
}

// TestLateReplyIsNotTheAnswer: chronyd's reply to the first attempt of a tracking request
// (with other data: stratum 15) arrives only after the client sent the second attempt: the
// fake holds it back until then, and sends it just before the second attempt's own reply.
// Taking it would show stratum 15.
func TestLateReplyIsNotTheAnswer(t *testing.T) {
	for _, network := range []string{"udp", "unix"} {
		t.Run(network, func(t *testing.T) {
			var held [][]byte
			s := newFakeStack(t, network, func(req chronytest.Request) [][]byte {
				out := replay(req)
				if req.Command != chronytest.ReqTracking {
					return out
				}
				if req.Attempt == 0 {
					late := append([]byte(nil), out[0]...)
					late[28+24+1] = 15 // the stratum, after the ref ID and the address
					held = [][]byte{late}
					return nil
				}
				return append(held, out...)
			}, chrony.Options{Timeout: 100 * time.Millisecond, Retries: 3})
			body := s.panel(t, "tracking")
			if !strings.Contains(body, `data-field="stratum" value="9"`) {
				t.Errorf("the tracking panel did not show the second attempt's answer:\n%s", body)
			}
		})
	}
}

// TestFlapping: chronyd alternates between answering and sending garbage. Every response is a
// 200 with either data or the error, and the panel is never stuck on either.
func TestFlapping(t *testing.T) {
	s := newFakeStack(t, "udp", chronytest.Only(chronytest.ReqTracking, chronytest.Flap(replay, chronytest.Garbage), replay), quick)
	seen := map[bool]int{}
	for range 20 {
		body := s.panel(t, "tracking")
		seen[strings.Contains(body, `data-failed="`)]++
	}
	if seen[true] != 10 || seen[false] != 10 {
		t.Errorf("error/data responses = %v, want 10 of each", seen)
	}
}

// TestNoLeaksAfter10000FailingRequests sends 10,000 panel requests that fail, through every
// fault, and then counts goroutines, open file descriptors and socket files. Run it with -v for
// the figures.
func TestNoLeaksAfter10000FailingRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, network := range []string{"udp", "unix"} {
		t.Run(network, func(t *testing.T) {
			type stackFault struct {
				s *fakeStack
				f fault
			}
			var stacks []stackFault
			for _, f := range faults {
				if f.panel == "" {
					continue
				}
				opts := quick
				if f.slow {
					opts = chrony.Options{Timeout: time.Millisecond, Retries: 0}
				}
				stacks = append(stacks, stackFault{newFakeStack(t, network, f.handler, opts), f})
			}
			round := func() int {
				n := 0
				for _, sf := range stacks {
					body := sf.s.panel(t, sf.f.panel)
					if !strings.Contains(body, `data-failed="`) {
						t.Fatalf("%s: the request did not fail:\n%s", sf.f.name, body)
					}
					n++
				}
				return n
			}
			round() // sockets opened, caches filled
			g0, fd0 := testkit.Settle(0, 0)
			failed := 0
			for failed < 10000 {
				failed += round()
			}
			g1, fd1 := testkit.Settle(g0, fd0)
			var socks []string
			for _, sf := range stacks {
				if sf.s.dir != "" {
					m, _ := filepath.Glob(filepath.Join(sf.s.dir, "second-hand.*"))
					socks = append(socks, m...)
				}
			}
			t.Logf("%s: %d failing requests: goroutines %d -> %d, open fds %d -> %d, client socket files %d (one per open client at most)",
				network, failed, g0, g1, fd0, fd1, len(socks))
			if g1 > g0 {
				t.Errorf("goroutines grew from %d to %d", g0, g1)
			}
			if fd1 > fd0 {
				t.Errorf("open file descriptors grew from %d to %d", fd0, fd1)
			}
			if len(socks) > len(stacks) {
				t.Errorf("%d socket files for %d clients: %v", len(socks), len(stacks), socks)
			}
			for _, sf := range stacks {
				sf.s.client.Close()
			}
			for _, sf := range stacks {
				if sf.s.dir != "" {
					if m, _ := filepath.Glob(filepath.Join(sf.s.dir, "second-hand.*")); len(m) != 0 {
						t.Errorf("after Close: %v left", m)
					}
				}
			}
		})
	}
}

// TestRequestsCannotRedirect: nothing in a request (query, headers, Host) makes second-hand
// talk to another address; the configured chronyd gets only monitoring requests.
func TestRequestsCannotRedirect(t *testing.T) {
	decoy := chronytest.StartUDP(t, replay)
	s := newFakeStack(t, "udp", replay, quick)
	decoyHost := strings.TrimPrefix(decoy.Addr, "udp://")
	for _, target := range []string{
		"/panels/tracking?chrony=" + decoy.Addr,
		"/panels/tracking?fresh=1&address=" + decoyHost,
		"/panels/sources",
		"/panels/server",
		"/sources/127.0.0.1",
		"/sources/GPS?fresh=1",
		"/readyz",
		"/",
	} {
		for _, hdr := range [][]string{nil, {"Host", decoyHost}, {"X-Forwarded-Host", decoyHost}, {"X-Chrony", decoy.Addr}} {
			get(t, s.h, "GET", target, hdr...)
		}
	}
	if n := len(decoy.Requests()); n != 0 {
		t.Errorf("the decoy chronyd got %d requests", n)
	}
	// The monitoring requests: those of the four panels, activity, server statistics,
	// ntpdata, source names, authdata, clients, selectdata.
	allowed := map[uint16]bool{14: true, 15: true, 33: true, 34: true, 35: true, 44: true, 54: true, 57: true, 65: true,
		67: true, 68: true, 69: true}
	for _, r := range s.fake.Requests() {
		if !allowed[r.Command] {
			t.Errorf("chronyd got command %d", r.Command)
		}
	}
	if len(s.fake.Requests()) == 0 {
		t.Error("the configured chronyd got nothing")
	}
}
