package chrony

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "auto"},
		{"auto", "auto"},
		{"unix:///run/chrony/chronyd.sock", "unix:///run/chrony/chronyd.sock"},
		{"/var/run/chrony/chronyd.sock", "unix:///var/run/chrony/chronyd.sock"},
		{"/run//chrony/./chronyd.sock", "unix:///run/chrony/chronyd.sock"},
		{"udp://127.0.0.1:323", "udp://127.0.0.1:323"},
		{"udp://127.0.0.1", "udp://127.0.0.1:323"},
		{"udp://[::1]:323", "udp://[::1]:323"},
		{"udp://[::1]", "udp://[::1]:323"},
		{"udp://::1", "udp://[::1]:323"},
		{"127.0.0.1", "udp://127.0.0.1:323"},
		{"127.0.0.1:11323", "udp://127.0.0.1:11323"},
		{"[fe80::1%eth0]:323", "udp://[fe80::1%eth0]:323"},
		{"chronyd", "udp://chronyd:323"},
		{"ntp.lan:4000", "udp://ntp.lan:4000"},
		{" udp://chronyd:323 ", "udp://chronyd:323"},
	} {
		a, err := ParseAddress(tc.in)
		if err != nil {
			t.Errorf("ParseAddress(%q): %v", tc.in, err)
			continue
		}
		if got := a.String(); got != tc.want {
			t.Errorf("ParseAddress(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if b, err := ParseAddress(a.String()); err != nil || b != a {
			t.Errorf("ParseAddress(%q) does not read back: %v %v", a, b, err)
		}
	}
}

func TestParseAddressErrors(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"tcp://127.0.0.1:323", "unsupported scheme"},
		{"http://localhost", "unsupported scheme"},
		{"unix://run/chrony.sock", "absolute"},
		{"unix:///run/chrony/", "socket file"},
		{"udp://", "no host"},
		{"udp://127.0.0.1:0", "port"},
		{"udp://127.0.0.1:70000", "port"},
		{"udp://127.0.0.1:ntp", "port"},
		{"udp://127.0.0.1:323/path", "nothing after"},
		{"udp://[::1", "brackets"},
		{"bad host!", "nothing after"},
		{"under_score-.lan", "neither an IP"},
		{"a..b", "neither an IP"},
		// Found by FuzzParseAddress: they parsed, but did not print back as the same address.
		{"::%]0", "zone"},
		{"/ /.", "spaces"},
	} {
		_, err := ParseAddress(tc.in)
		if err == nil {
			t.Errorf("ParseAddress(%q) = nil error, want one about %q", tc.in, tc.why)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.why) || !strings.Contains(msg, AddressForms) {
			t.Errorf("ParseAddress(%q) = %q; want it to say %q and list the valid forms", tc.in, msg, tc.why)
		}
	}
}
