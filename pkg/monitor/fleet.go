package monitor

import (
	"errors"
	"fmt"
	"slices"
)

// MaxNameLen is the longest host name: a DNS label's length.
const MaxNameLen = 63

// NameForm describes the names ValidateName accepts, for error messages.
const NameForm = "letters, digits, '.', '-' and '_', at most 63 characters"

// ValidateName checks a host name: it appears in URLs (hosts/NAME/) and in Prometheus labels,
// so it is kept to characters that need no escaping anywhere.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("a host name cannot be empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("host name %q is %d characters long; the most is %d", name, len(name), MaxNameLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("host name %q has %q; use %s", name, r, NameForm)
		}
	}
	if name == "." || name == ".." {
		return fmt.Errorf("host name %q is a path component; use another", name)
	}
	return nil
}

// Host is one configured chronyd: its name and how to read it.
type Host struct {
	Name     string
	Reporter Reporter
}

// Fleet is every configured host, in the order of the configuration.
type Fleet struct {
	monitors []*Monitor
	byName   map[string]*Monitor
}

// NewFleet makes a Monitor for each host. Names must be valid and unique. A fleet may be
// empty: second-hand then reads every host from a time-series engine.
func NewFleet(hosts []Host, cfg Config) (*Fleet, error) {
	f := &Fleet{byName: map[string]*Monitor{}}
	for _, h := range hosts {
		if err := ValidateName(h.Name); err != nil {
			return nil, err
		}
		if _, dup := f.byName[h.Name]; dup {
			return nil, fmt.Errorf("two hosts are named %q", h.Name)
		}
		m := New(h.Name, h.Reporter, cfg)
		f.monitors = append(f.monitors, m)
		f.byName[h.Name] = m
	}
	return f, nil
}

// Monitors are the hosts in configuration order.
func (f *Fleet) Monitors() []*Monitor { return slices.Clone(f.monitors) }

// Names are the hosts' names in configuration order.
func (f *Fleet) Names() []string {
	out := make([]string, len(f.monitors))
	for i, m := range f.monitors {
		out[i] = m.name
	}
	return out
}

// Len is the number of hosts.
func (f *Fleet) Len() int { return len(f.monitors) }

// Lookup finds a host by name.
func (f *Fleet) Lookup(name string) (*Monitor, bool) {
	m, ok := f.byName[name]
	return m, ok
}

// Single is the only host when there is exactly one.
func (f *Fleet) Single() (*Monitor, bool) {
	if len(f.monitors) != 1 {
		return nil, false
	}
	return f.monitors[0], true
}

// Close closes every host's client.
func (f *Fleet) Close() error {
	var errs []error
	for _, m := range f.monitors {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}
