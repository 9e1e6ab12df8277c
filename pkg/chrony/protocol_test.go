package chrony

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
)

func asError(err error, e **Error) bool { return errors.As(err, e) }

// encodeFloatForTest is chronyd's float encoding, written from the format's description: a
// 7-bit signed exponent and a 25-bit signed coefficient, value = coef * 2^(exp-25).
func encodeFloatForTest(x float64) []byte {
	var exp int
	if x != 0 {
		_, exp = math.Frexp(x) // x = frac * 2^exp, 0.5 <= |frac| < 1
		exp++                  // leave room for the sign bit of the coefficient
	}
	coef := int64(math.Round(math.Ldexp(x, 25-exp)))
	if coef >= 1<<24 { // rounding overflowed
		coef >>= 1
		exp++
	}
	v := uint32(exp&0x7f)<<25 | uint32(coef)&0x1ffffff
	return binary.BigEndian.AppendUint32(nil, v)
}

func TestDecodeFloat(t *testing.T) {
	for _, x := range []float64{0, 1, -1, 0.5, 1.5, 12.25, -3.75, 2000, 1e-9, -4.2e-7, 3.6e-3, 123456.789, 1e9} {
		got := decodeFloat(binary.BigEndian.Uint32(encodeFloatForTest(x)))
		if math.Abs(got-x) > math.Abs(x)*math.Ldexp(1, -23) {
			t.Errorf("decodeFloat(encode(%g)) = %g", x, got)
		}
	}
	// Fixed points from the format itself: exponent 1, coefficient 2^23 is 0.5 * ... = 0.5.
	if got := decodeFloat(1<<25 | 1<<23); got != 0.5 {
		t.Errorf("decodeFloat(exp 1, coef 2^23) = %g, want 0.5", got)
	}
	if got := decodeFloat(0x7f<<25 | 0x1ffffff); got != math.Ldexp(-1, -26) {
		t.Errorf("decodeFloat(exp -1, coef -1) = %g, want -2^-26", got)
	}
}

func TestRequestEncoding(t *testing.T) {
	for _, tc := range []struct {
		req  request
		want int // max(header + data, reply length): chronyd answers no shorter request
	}{
		{trackingRequest(), 104},
		{nSourcesRequest(), 32},
		{sourceDataRequest(3), 76},
		{sourceStatsRequest(3), 84},
		{rtcRequest(), 56},
		{sourceNameRequest(wireAddr{family: familyInet4}), 284},
		{selectDataRequest(2), 76},
		{ntpDataRequest(wireAddr{family: familyInet4}), 172},
		{authDataRequest(wireAddr{family: familyInet6}), 52},
		{clientsRequest(0), 520},
	} {
		b, err := tc.req.encode(nil, 2, 0xdeadbeef)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != tc.want {
			t.Errorf("%v request is %d bytes, want %d", tc.req.cmd, len(b), tc.want)
		}
		if b[0] != 6 || b[1] != 1 || b[2] != 0 || b[3] != 0 {
			t.Errorf("%v header = % x", tc.req.cmd, b[:4])
		}
		if got := command(binary.BigEndian.Uint16(b[4:])); got != tc.req.cmd {
			t.Errorf("command = %d, want %d", got, tc.req.cmd)
		}
		if binary.BigEndian.Uint16(b[6:]) != 2 || binary.BigEndian.Uint32(b[8:]) != 0xdeadbeef {
			t.Errorf("%v attempt/sequence not stamped: % x", tc.req.cmd, b[6:12])
		}
	}
}

// TestOnlyMonitoringRequests is the read-only guarantee: the table of requests this package can
// build holds the monitoring requests (reports that change nothing) and nothing else, and
// anything outside it (here every
// other command code chronyd knows, among them makestep, settime, burst, add and delete source)
// is refused before it reaches a socket. TestClientSendsOnlyMonitoringRequests checks the wire.
func TestOnlyMonitoringRequests(t *testing.T) {
	// N_SOURCES, SOURCE_DATA, TRACKING, SOURCESTATS, RTCREPORT, ACTIVITY, SERVER_STATS,
	// NTP_DATA, NTP_SOURCE_NAME, AUTH_DATA, CLIENT_ACCESSES_BY_INDEX3 (with reset 0, below),
	// SELECT_DATA: each only reads.
	allowed := map[command]bool{14: true, 15: true, 33: true, 34: true, 35: true, 44: true, 54: true, 57: true, 65: true,
		67: true, 68: true, 69: true}
	if len(monitoring) != len(allowed) {
		t.Errorf("monitoring table has %d requests, want the %d monitoring ones", len(monitoring), len(allowed))
	}
	for cmd := range monitoring {
		if !allowed[cmd] {
			t.Errorf("monitoring table holds command %d, which is not a monitoring request", cmd)
		}
	}
	for cmd := command(0); cmd < 80; cmd++ {
		if allowed[cmd] {
			continue
		}
		if _, err := (request{cmd: cmd}).encode(nil, 0, 1); err == nil {
			t.Errorf("command %d was encoded; only monitoring requests may be", cmd)
		}
	}
	// The clients request can clear chronyd's counters (chronyc clients -r): its reset word
	// is always 0.
	for _, first := range []uint32{0, 8, 4096} {
		b, err := clientsRequest(first).encode(nil, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if reset := binary.BigEndian.Uint32(b[requestHeaderLen+12:]); reset != 0 {
			t.Errorf("clients request from %d has reset %d", first, reset)
		}
	}
}

func TestCheckReply(t *testing.T) {
	req := chronytest.Request{Command: uint16(cmdTracking), Sequence: 77}
	good := chronytest.Stamp(chronytest.Captured("tracking"), req)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name  string
		reply []byte
		kind  Kind // 0: accepted
		stale bool // dropped as a reply to another request
		st    Status
	}{
		{"good", good, 0, false, 0},
		{"other sequence", mod(func(b []byte) []byte { b[19]++; return b }), 0, true, 0},
		{"short", good[:20], KindProtocol, false, 0},
		{"truncated", good[:90], KindProtocol, false, 0},
		{"oversized", append(append([]byte(nil), good...), 0, 0, 0, 0), KindProtocol, false, 0},
		{"version 5", mod(func(b []byte) []byte { b[0] = 5; return b }), KindProtocol, false, 0},
		{"request type", mod(func(b []byte) []byte { b[1] = 1; return b }), KindProtocol, false, 0},
		{"other command", mod(func(b []byte) []byte { b[5] = 34; return b }), KindProtocol, false, 0},
		{"other reply type", mod(func(b []byte) []byte { b[7] = 6; return b }), KindProtocol, false, 0},
		{"unauthorised", chronytest.Reply(req, 1, 2, nil), KindNotAuthorised, false, StatusUnauth},
		{"bad version", mod(func(b []byte) []byte { b[0] = 7; b[9] = 18; return b[:28] }), KindProtocol, false, StatusBadPktVersion},
		{"bad length", chronytest.Reply(req, 1, 19, nil), KindProtocol, false, StatusBadPktLength},
		{"invalid", chronytest.Reply(req, 1, 3, nil), KindProtocol, false, StatusInvalid},
		{"no such source", chronytest.Reply(req, 1, 4, nil), KindStatus, false, StatusNoSuchSource},
		{"garbage", []byte("HTTP/1.1 400 Bad Request\r\n\r\n garbage garbage"), KindProtocol, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkReply(tc.reply, cmdTracking, 77)
			switch {
			case tc.stale:
				if err != errStale {
					t.Fatalf("checkReply = %v, want it dropped as stale", err)
				}
			case tc.kind == 0:
				if err != nil {
					t.Fatalf("checkReply = %v, want accepted", err)
				}
			default:
				var e *Error
				if !errors.As(err, &e) || e.Kind != tc.kind || e.Status != tc.st {
					t.Fatalf("checkReply = %#v, want kind %v status %v", err, tc.kind, tc.st)
				}
			}
		})
	}
}

func TestRefIDString(t *testing.T) {
	for id, want := range map[uint32]string{
		0x47505300: "GPS", 0x50505300: "PPS", 0x4C4F434C: "LOCL", RefIDLocal: "7F7F0101", 0x7F000001: "7F000001",
	} {
		if got := RefIDString(id); got != want {
			t.Errorf("RefIDString(%08X) = %q, want %q", id, got, want)
		}
	}
}
