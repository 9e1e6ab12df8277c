package chrony

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// DefaultPort is chronyd's command port (cmdport).
const DefaultPort = 323

// SocketDirs are where chronyd puts its Unix socket, chronyd.sock, in the order auto tries
// them.
var SocketDirs = []string{"/run/chrony", "/var/run/chrony"}

// AddressForms lists the forms ParseAddress accepts, for help texts and error messages.
const AddressForms = "auto, unix:///run/chrony/chronyd.sock, udp://127.0.0.1:323, udp://[::1]:323, /path/to/chronyd.sock or host[:port]"

// Address is where chronyd listens for commands: its Unix socket, a UDP address, or Auto.
type Address struct {
	Network string // "unix" or "udp"; empty for auto
	Path    string // the socket path, for "unix"
	Host    string // a host name or IP address, for "udp"
	Port    int    // for "udp"
}

// Auto picks the Unix socket when this process can use it, else UDP on 127.0.0.1, else ::1.
var Auto = Address{}

// IsAuto reports whether a is Auto.
func (a Address) IsAuto() bool { return a.Network == "" }

// String prints a in the URL form that ParseAddress reads back.
func (a Address) String() string {
	switch a.Network {
	case "unix":
		return "unix://" + a.Path
	case "udp":
		return "udp://" + net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
	}
	return "auto"
}

// ParseAddress reads a chronyd address in one of the AddressForms.
func ParseAddress(s string) (Address, error) {
	a, err := parseAddress(strings.TrimSpace(s))
	if err != nil {
		return Address{}, fmt.Errorf("invalid chronyd address %q: %v (use %s)", s, err, AddressForms)
	}
	return a, nil
}

func parseAddress(s string) (Address, error) {
	switch {
	case s == "" || s == "auto":
		return Auto, nil
	case strings.HasPrefix(s, "unix://"):
		return unixAddress(strings.TrimPrefix(s, "unix://"))
	case strings.HasPrefix(s, "/"):
		return unixAddress(s)
	case strings.HasPrefix(s, "udp://"):
		return udpAddress(strings.TrimPrefix(s, "udp://"))
	case strings.Contains(s, "://"):
		return Address{}, fmt.Errorf("unsupported scheme %q", s[:strings.Index(s, "://")])
	}
	return udpAddress(s)
}

func unixAddress(p string) (Address, error) {
	if !strings.HasPrefix(p, "/") {
		return Address{}, fmt.Errorf("a socket path must be absolute")
	}
	if strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		// chrony.conf cannot name such a path either: its lines split at spaces.
		return Address{}, fmt.Errorf("a socket path cannot contain spaces or control characters")
	}
	clean := path.Clean(p)
	if clean == "/" || strings.HasSuffix(p, "/") {
		return Address{}, fmt.Errorf("a socket path must name the socket file, not a directory")
	}
	return Address{Network: "unix", Path: clean}, nil
}

func udpAddress(hp string) (Address, error) {
	if hp == "" {
		return Address{}, fmt.Errorf("no host")
	}
	if strings.ContainsAny(hp, "/?#@ \t") {
		return Address{}, fmt.Errorf("a UDP address is host[:port] with nothing after it")
	}
	// A bare IPv6 address has colons but no brackets and no port.
	if ip, err := netip.ParseAddr(hp); err == nil && ip.Is6() {
		if !validZone(ip.Zone()) {
			return Address{}, fmt.Errorf("bad IPv6 zone %q", ip.Zone())
		}
		return Address{Network: "udp", Host: ip.String(), Port: DefaultPort}, nil
	}
	host, port := hp, DefaultPort
	if strings.HasPrefix(hp, "[") || strings.Contains(hp, ":") {
		h, p, err := net.SplitHostPort(hp)
		if err != nil {
			if !strings.HasPrefix(hp, "[") || !strings.HasSuffix(hp, "]") {
				return Address{}, fmt.Errorf("cannot split host and port: write an IPv6 address in brackets, [::1]:323")
			}
			h, p = hp[1:len(hp)-1], strconv.Itoa(DefaultPort)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Address{}, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		host, port = h, n
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !validZone(ip.Zone()) {
			return Address{}, fmt.Errorf("bad IPv6 zone %q", ip.Zone())
		}
		return Address{Network: "udp", Host: ip.String(), Port: port}, nil
	}
	if !validHostName(host) {
		return Address{}, fmt.Errorf("%q is neither an IP address nor a host name", host)
	}
	return Address{Network: "udp", Host: host, Port: port}, nil
}

// validZone accepts an IPv6 zone that is an interface name or index (eth0, 2); netip accepts
// any text after the %, which would not print back as an address.
func validZone(z string) bool {
	for _, r := range z {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// validHostName accepts DNS names as resolvers do: dot-separated labels of letters, digits,
// hyphens and underscores, none empty or over 63 bytes.
func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
