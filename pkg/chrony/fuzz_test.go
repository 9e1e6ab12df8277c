package chrony

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	fb "github.com/facebook/time/ntp/chrony"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
)

// Fuzz targets for every reply decoder and for the address parser. The seeds are the replies
// captured from chronyd 4.3. A crasher that `go test -fuzz` finds is written to
// testdata/fuzz/<target>/ and, committed there, runs as a regular test case from then on.
//
//	go test -run '^$' -fuzz FuzzCheckReply -fuzztime 30s ./pkg/chrony   (`just fuzz` runs them all)

var captures = []string{"tracking", "tracking_unsync", "tracking_local", "n_sources", "rtc_nortc",
	"source_data_0", "source_data_1", "source_data_2", "source_data_3",
	"sourcestats_0", "sourcestats_1", "sourcestats_2", "sourcestats_3",
	"source_name_1", "source_name_2", "source_name_3"}

func seed(f *testing.F) {
	for _, name := range captures {
		f.Add(chronytest.Captured(name))
	}
	// And the replies of every chrony version (testdata/versions).
	versions, _ := filepath.Glob(filepath.Join("testdata", "versions", "*", "*.bin"))
	for _, p := range versions {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add(make([]byte, 28))
}

// FuzzCheckReply: any datagram is accepted, dropped as stale, or refused with an *Error; and
// whatever is accepted decodes without panicking.
func FuzzCheckReply(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for cmd := range monitoring {
			seq := uint32(0)
			if len(b) >= 20 {
				seq = uint32(b[16])<<24 | uint32(b[17])<<16 | uint32(b[18])<<8 | uint32(b[19])
			}
			err := checkReply(b, cmd, seq)
			switch {
			case err == nil:
				if len(b) != monitoring[cmd].replies[parseReplyHeader(b).reply] {
					t.Fatalf("accepted a %d-byte reply to %v", len(b), cmd)
				}
				decodeAccepted(t, cmd, b)
			case err == errStale:
			default:
				if KindOf(err) == 0 {
					t.Fatalf("checkReply returned an untyped error: %v", err)
				}
			}
		}
	})
}

func decodeAccepted(t *testing.T, cmd command, b []byte) {
	var err error
	switch cmd {
	case cmdTracking:
		_, err = decodeTracking(b)
	case cmdNSources:
		_, err = decodeNSources(b)
	case cmdSourceData:
		_, _, err = decodeSourceData(b)
	case cmdSourceStats:
		_, _, err = decodeSourceStats(b)
	case cmdNTPSourceName:
		_, err = decodeSourceName(b)
	case cmdRTCReport:
		_, err = decodeRTC(b)
	case cmdActivity:
		_, err = decodeActivity(b)
	case cmdServerStats:
		_, err = decodeServerStats(b)
	case cmdSelectData:
		_, _, err = decodeSelectData(b)
	case cmdNTPData:
		_, err = decodeNTPData(b)
	case cmdAuthData:
		_, err = decodeAuthData(b)
	case cmdClients:
		_, err = decodeAs[*fb.ReplyClientAccessesByIndex](b)
	}
	if err != nil && KindOf(err) != KindProtocol {
		t.Fatalf("decoding an accepted %v reply: %v", cmd, err)
	}
}

// The decoders on their own: any bytes, no panic, and an error is always a protocol error.
func FuzzDecodeTracking(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeTracking(b); err != nil && KindOf(err) != KindProtocol {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeSources(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := decodeNSources(b); err != nil && KindOf(err) != KindProtocol || n < 0 || n > maxSources {
			t.Fatal(n, err)
		}
		if s, _, err := decodeSourceData(b); err != nil && KindOf(err) != KindProtocol {
			t.Fatal(err)
		} else if err == nil && s.Mode == ModeRefClock && s.Address.IsValid() {
			t.Fatal("a reference clock with an address")
		}
		if name, err := decodeSourceName(b); err != nil && KindOf(err) != KindProtocol {
			t.Fatal(err)
		} else if !isValidUTF8(name) {
			t.Fatalf("source name %q is not valid UTF-8", name)
		}
	})
}

func FuzzDecodeSourceStats(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, _, err := decodeSourceStats(b); err != nil && KindOf(err) != KindProtocol {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeRTC(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRTC(b)
		if err != nil && KindOf(err) != KindProtocol {
			t.Fatal(err)
		}
		if err == nil && !r.Enabled {
			t.Fatal("a decoded RTC report must say it is enabled")
		}
	})
}

// FuzzDecodeNTPData: both layouts, any bytes; what decodes has sane test bits.
func FuzzDecodeNTPData(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeNTPData(b)
		if err != nil && KindOf(err) != KindProtocol {
			t.Fatal(err)
		}
		if err == nil && (d.Tests > 0x3ff || len(d.TestBits()) != 12 || len(d.TestFailures()) > 10) {
			t.Fatalf("tests %x, bits %q", d.Tests, d.TestBits())
		}
	})
}

func FuzzDecodeAuthData(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeAuthData(b); err != nil && KindOf(err) != KindProtocol {
			t.Fatal(err)
		}
	})
}

// FuzzParseAddress: any string parses or fails with the list of valid forms, and what parses
// prints in a form that parses back to the same address.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"", "auto", "unix:///run/chrony/chronyd.sock", "/var/run/chrony/chronyd.sock",
		"udp://127.0.0.1:323", "udp://[::1]:323", "udp://::1", "127.0.0.1", "chronyd:323", "[fe80::1%eth0]:323",
		"tcp://x", "udp://[::1", "host:99999", "a..b", "unix://rel"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !strings.Contains(err.Error(), AddressForms) {
				t.Fatalf("error %q does not list the valid forms", err)
			}
			return
		}
		b, err := ParseAddress(a.String())
		if err != nil || b != a {
			t.Fatalf("%q parsed to %#v, printed %q, which parses to %#v, %v", s, a, a.String(), b, err)
		}
	})
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
