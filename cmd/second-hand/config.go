package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/engine"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/notify"
	"github.com/second-hand/second-hand/pkg/store"
)

// config is everything second-hand can be told, from flags and SECOND_HAND_* variables; a flag
// wins over its variable, which wins over the default.
type config struct {
	Listen       string
	AllowedHosts []string   // the names besides localhost and loopback addresses the page answers for
	Hosts        []hostSpec // the chronyd to watch, in the order given
	Refresh      time.Duration
	Reuse        time.Duration
	Timeout      time.Duration
	Retries      int
	LogLevel     slog.Level

	DataDir   string          // where the history store is
	Sample    time.Duration   // how often each host is recorded; 0: history off
	Retention store.Retention // how long each level of the history is kept
	// OldRetention is where the retention of the raw records came from the flag before the
	// levels, --retention (SECOND_HAND_RETENTION): still read, and said in the log.
	OldRetention string

	// The time-series engine (--prometheus) the overview's other hosts and the history of the
	// hosts not recorded here are read from; empty for none.
	Prometheus        string
	PrometheusLabel   string
	PrometheusTimeout time.Duration
	// The limits each host's clock is held to (its diagnosis), with per-host values.
	MaxClockError hostLimit
	MaxOffset     hostLimit

	// Notifications: where to send them (shoutrrr URLs), how long a state must hold first,
	// and the address people open second-hand at, for the links in messages.
	Notify      []*notify.Target
	NotifyAfter time.Duration
	PublicURL   string

	Healthcheck bool // the "healthcheck" subcommand: ask /healthz of the instance at Listen

	reuseSet bool   // --reuse was given; otherwise it is half of --refresh
	rawFrom  string // where --retention-raw was given
}

// hostSpec is one --chrony value: a name and the address of its chronyd.
type hostSpec struct {
	Name    string
	Address chrony.Address
	given   string // the value as given, for error messages
	from    string // the flag or variable it came from
}

// hostLimit is a threshold: a value for every host, and the hosts given their own.
type hostLimit struct {
	All   time.Duration
	Hosts map[string]time.Duration
	from  string // the flag or variable that gave host values, for error messages
}

// parse reads DURATION[,NAME=DURATION...]: the value for every host, then per host.
func (l *hostLimit) parse(s, from string, lo, hi time.Duration) error {
	one := func(v string) (time.Duration, error) {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < lo || d > hi {
			return 0, fmt.Errorf("want a duration from %s to %s, such as 100ms, optionally followed by host values: 100ms,nas=1s", shortDuration(lo), shortDuration(hi))
		}
		return d, nil
	}
	l.Hosts = nil
	for i, part := range strings.Split(s, ",") {
		name, v, perHost := strings.Cut(part, "=")
		if !perHost && i == 0 {
			d, err := one(part)
			if err != nil {
				return err
			}
			l.All = d
			continue
		}
		if !perHost {
			return fmt.Errorf("%q: after the first value, give NAME=DURATION (100ms,nas=1s)", part)
		}
		d, err := one(v)
		if err != nil {
			return err
		}
		if l.Hosts == nil {
			l.Hosts = map[string]time.Duration{}
		}
		l.Hosts[strings.TrimSpace(name)], l.from = d, from
	}
	return nil
}

// thresholds are the diagnosis' thresholds of every host.
func (c config) thresholds() diagnose.HostThresholds {
	d := diagnose.DefaultThresholds()
	d.MaxClockError, d.MaxOffset = c.MaxClockError.All, c.MaxOffset.All
	out := diagnose.HostThresholds{Default: d, Hosts: map[string]diagnose.Thresholds{}}
	for _, h := range c.Hosts {
		t := d
		if v, ok := c.MaxClockError.Hosts[h.Name]; ok {
			t.MaxClockError = v
		}
		if v, ok := c.MaxOffset.Hosts[h.Name]; ok {
			t.MaxOffset = v
		}
		if t != d {
			out.Hosts[h.Name] = t
		}
	}
	return out
}

// defaults is every default, in one place; the help text prints them from here.
func defaults() config {
	o := chrony.DefaultOptions()
	th := diagnose.DefaultThresholds()
	return config{
		Listen:    "127.0.0.1:8080",
		Hosts:     []hostSpec{{Name: "local", Address: chrony.Auto, given: "auto"}},
		Refresh:   10 * time.Second,
		Timeout:   o.Timeout,
		Retries:   o.Retries,
		LogLevel:  slog.LevelInfo,
		DataDir:   "data",
		Sample:    16 * time.Second,
		Retention: store.DefaultRetention,

		PrometheusLabel:   engine.DefaultHostLabel,
		PrometheusTimeout: engine.DefaultTimeout,
		MaxClockError:     hostLimit{All: th.MaxClockError},
		MaxOffset:         hostLimit{All: th.MaxOffset},

		NotifyAfter: 2 * time.Minute,
	}
}

// usageError is a bad flag, variable or argument: exit status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// option is one setting: its flag, its variable, how its default reads, and how to read it.
// A multi option may be given several times; its variable takes the values separated by
// commas.
type option struct {
	flag, env, def, help string
	multi                bool
	// secret values (notification URLs) are never repeated as given: errors show them
	// through show.
	show func(s string) string
	// split divides a multi option's variable into values; at every comma when nil.
	split func(s string) []string
	set   func(s, from string) error
	reset func() // a multi option's: forget the values its variable gave
}

// shown is a value as an error may repeat it.
func (o option) shown(s string) string {
	if o.show != nil {
		return o.show(s)
	}
	return s
}

func options(c *config) []option {
	d := defaults()
	return []option{
		{flag: "listen", env: "SECOND_HAND_LISTEN", def: d.Listen,
			help: "address to serve HTTP on, host:port (use 0.0.0.0:8080 to serve other hosts)",
			set:  func(s, _ string) error { return parseListen(s, &c.Listen) }},
		{flag: "allowed-hosts", env: "SECOND_HAND_ALLOWED_HOSTS", def: "none", multi: true, reset: func() { c.AllowedHosts = nil },
			help: "names the page answers for besides localhost and loopback addresses, such as the name a reverse proxy passes on " +
				"(its Host header); give the flag once per name, or the variable with the names separated by commas. " +
				"Listening on loopback, a request for any other name is refused (421), so that no web site can read the page through DNS rebinding",
			set: func(s, _ string) error {
				name, err := parseAllowedHost(s)
				if err != nil {
					return err
				}
				c.AllowedHosts = append(c.AllowedHosts, name)
				return nil
			}},
		{flag: "chrony", env: "SECOND_HAND_CHRONY", def: "auto", multi: true, reset: func() { c.Hosts = nil },
			help: "a chronyd to watch, [name=]address; give it once per host (the variable: separated by commas). " +
				"Addresses: " + chrony.AddressForms + "; auto tries the socket in /run/chrony, then UDP 127.0.0.1:323 and [::1]:323. " +
				"Names: " + monitor.NameForm + "; without one, a UDP address's host, or local",
			set: func(s, from string) error {
				h, err := parseHost(s)
				if err != nil {
					return err
				}
				h.from = from
				c.Hosts = append(c.Hosts, h)
				return nil
			}},
		{flag: "refresh", env: "SECOND_HAND_REFRESH", def: shortDuration(d.Refresh),
			help: "how often each panel reloads while the page is visible, 1s to 1h",
			set:  durationIn(&c.Refresh, time.Second, time.Hour)},
		{flag: "reuse", env: "SECOND_HAND_REUSE", def: "half of --refresh",
			help: "how long a report read from chronyd is reused for other viewers, from 0 to half of --refresh; " +
				"concurrent requests always share one read",
			set: func(s, _ string) error {
				d, err := time.ParseDuration(s)
				if err != nil || d < 0 {
					return errors.New("want a duration such as 5s or 0s, at most half of --refresh")
				}
				c.Reuse, c.reuseSet = d, true
				return nil
			}},
		{flag: "timeout", env: "SECOND_HAND_TIMEOUT", def: shortDuration(d.Timeout),
			help: "how long a request to chronyd waits for its first reply; each retry waits twice as long, as in chronyc (10ms to 1m)",
			set:  durationIn(&c.Timeout, 10*time.Millisecond, chrony.MaxTimeout)},
		{flag: "retries", env: "SECOND_HAND_RETRIES", def: strconv.Itoa(d.Retries),
			help: fmt.Sprintf("how many times a request to chronyd is sent again after a timeout, 0 (none) to %d", chrony.MaxRetries),
			set: func(s, _ string) error {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 || n > chrony.MaxRetries {
					return fmt.Errorf("want a whole number from 0 to %d", chrony.MaxRetries)
				}
				c.Retries = n
				return nil
			}},
		{flag: "data-dir", env: "SECOND_HAND_DATA_DIR", def: "./" + d.DataDir,
			help: "the directory of the history store (" + store.FileName + "); made if missing",
			set: func(s, _ string) error {
				if strings.TrimSpace(s) == "" {
					return errors.New("want a directory, such as ./data or /var/lib/second-hand")
				}
				c.DataDir = s
				return nil
			}},
		{flag: "sample", env: "SECOND_HAND_SAMPLE", def: shortDuration(d.Sample),
			help: "how often each chronyd is read for the history, 1s to 1h; 0 turns history off",
			set: func(s, _ string) error {
				v, err := time.ParseDuration(s)
				if err != nil || v != 0 && (v < time.Second || v > time.Hour) {
					return errors.New("want 0 (off) or a duration such as 16s or 1m, from 1s to 1h")
				}
				c.Sample = v
				return nil
			}},
		{flag: "retention-raw", env: "SECOND_HAND_RETENTION_RAW", def: days(d.Retention.Raw),
			help: "how long every recorded point is kept, 1h to 3650d (days: 7d); older ones are kept as the summaries below",
			set:  retentionIn(&c.Retention.Raw, &c.rawFrom)},
		{flag: "retention-5m", env: "SECOND_HAND_RETENTION_5M", def: days(d.Retention.FiveMin),
			help: "how long the summaries of 5 minutes (count, least, greatest, mean, percentiles) are kept, 1h to 3650d",
			set:  retentionIn(&c.Retention.FiveMin, nil)},
		{flag: "retention-1h", env: "SECOND_HAND_RETENTION_1H", def: days(d.Retention.Hour),
			help: "how long the summaries of 1 hour are kept, 1h to 3650d (730d: two years)",
			set:  retentionIn(&c.Retention.Hour, nil)},
		{flag: "retention", env: "SECOND_HAND_RETENTION", def: "none",
			help: "the flag before the levels: the same as --retention-raw, which it cannot be given with",
			set: func(s, from string) error {
				if err := retentionIn(&c.Retention.Raw, nil)(s, from); err != nil {
					return err
				}
				c.OldRetention = from
				return nil
			}},
		{flag: "prometheus", env: "SECOND_HAND_PROMETHEUS", def: "none",
			help: "the HTTP API of a Prometheus-compatible server (Prometheus, VictoriaMetrics, Thanos, Mimir), such as http://prometheus:9090: " +
				"every host with chrony_up series there joins the overview, and hosts this second-hand does not record take their history from it. " +
				"Without --chrony, no chronyd is read directly",
			set: func(s, _ string) error {
				if _, err := engine.New(engine.Config{URL: s, HostLabel: engine.DefaultHostLabel}); err != nil {
					return err
				}
				c.Prometheus = strings.TrimRight(s, "/")
				return nil
			}},
		{flag: "prometheus-host-label", env: "SECOND_HAND_PROMETHEUS_HOST_LABEL", def: d.PrometheusLabel,
			help: "the label that names a host in the engine's series: host (second-hand's /metrics), instance (one chrony_exporter per host)",
			set: func(s, _ string) error {
				if _, err := engine.New(engine.Config{URL: "http://x", HostLabel: s}); err != nil {
					return errors.New("want a label name: letters, digits and _, not starting with a digit or __, such as host or instance")
				}
				c.PrometheusLabel = s
				return nil
			}},
		{flag: "prometheus-timeout", env: "SECOND_HAND_PROMETHEUS_TIMEOUT", def: shortDuration(d.PrometheusTimeout),
			help: "how long one query to the engine may take, here and at the engine (100ms to 1m)",
			set:  durationIn(&c.PrometheusTimeout, 100*time.Millisecond, time.Minute)},
		{flag: "max-clock-error", env: "SECOND_HAND_MAX_CLOCK_ERROR", def: shortDuration(d.MaxClockError.All),
			help: "the diagnosis says a host is failing when the bound on its clock's error (|offset| + root dispersion + root delay / 2) is above this, " +
				"1us to 1h; per host after a comma: 100ms,pi-gps=1ms",
			set: func(s, from string) error { return c.MaxClockError.parse(s, from, time.Microsecond, time.Hour) }},
		{flag: "max-offset", env: "SECOND_HAND_MAX_OFFSET", def: shortDuration(d.MaxOffset.All),
			help: "the diagnosis warns when the system time offset is above this, 1us to 1h; per host after a comma: 10ms,nas=50ms",
			set:  func(s, from string) error { return c.MaxOffset.parse(s, from, time.Microsecond, time.Hour) }},
		{flag: "notify", env: "SECOND_HAND_NOTIFY", def: "none", multi: true, reset: func() { c.Notify = nil }, show: notify.Display, split: splitURLs,
			help: "where to send a message when a host's diagnosis gets worse and when it is ok again: " + notify.Form +
				" (shoutrrr's form: ntfy, gotify, smtp, telegram, discord, slack, matrix, pushover, generic webhooks and more); " +
				"give the flag once per URL, or the variable with the URLs separated by commas. Passwords and tokens in them are never shown",
			set: func(s, _ string) error {
				t, err := notify.Parse(s)
				if err != nil {
					return err
				}
				c.Notify = append(c.Notify, t)
				return nil
			}},
		{flag: "notify-after", env: "SECOND_HAND_NOTIFY_AFTER", def: shortDuration(d.NotifyAfter),
			help: "how long a worse state (or ok again) must hold before a message says so, so that a blip pages nobody; " +
				"also the least time between two messages about a host, 1s to 24h",
			set: durationIn(&c.NotifyAfter, time.Second, 24*time.Hour)},
		{flag: "public-url", env: "SECOND_HAND_PUBLIC_URL", def: "none",
			help: "the address people open second-hand at, such as https://dash.example.org/chrony/: messages link to the host's page under it",
			set: func(s, _ string) error {
				u, err := parsePublicURL(s)
				c.PublicURL = u
				return err
			}},
		{flag: "log-level", env: "SECOND_HAND_LOG_LEVEL", def: "info",
			help: "debug, info, warn or error; debug logs every request",
			set: func(s, _ string) error {
				switch strings.ToLower(s) {
				case "debug":
					c.LogLevel = slog.LevelDebug
				case "info":
					c.LogLevel = slog.LevelInfo
				case "warn", "warning":
					c.LogLevel = slog.LevelWarn
				case "error":
					c.LogLevel = slog.LevelError
				default:
					return errors.New("want debug, info, warn or error")
				}
				return nil
			}},
	}
}

// parseHost reads one --chrony value, [name=]address. The part before the first "=" is a name
// unless it has a "/" (a path or a scheme: the whole value is then an address).
func parseHost(s string) (hostSpec, error) {
	s = strings.TrimSpace(s)
	h := hostSpec{given: s}
	addr := s
	if name, rest, ok := strings.Cut(s, "="); ok && !strings.Contains(name, "/") {
		if err := monitor.ValidateName(name); err != nil {
			return h, err
		}
		h.Name, addr = name, rest
	}
	a, err := chrony.ParseAddress(addr)
	if err != nil {
		return h, errors.New(strings.TrimPrefix(err.Error(), "invalid chronyd address "+strconv.Quote(addr)+": "))
	}
	h.Address = a
	if h.Name == "" {
		name, err := derivedName(a)
		if err != nil {
			return h, err
		}
		h.Name = name
	}
	return h, nil
}

// derivedName names a host given without a name: the host of a UDP address (with any
// character a name cannot hold, such as an IPv6 address's colons, made a "-"), or "local" for
// auto and a socket path.
func derivedName(a chrony.Address) (string, error) {
	if a.Network != "udp" {
		return "local", nil
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, a.Host)
	if err := monitor.ValidateName(name); err != nil {
		return "", fmt.Errorf("%v; give this host a name: name=%s", err, a)
	}
	return name, nil
}

// urlStart is how a URL begins: a scheme and "://".
var urlStart = regexp.MustCompile(`^\s*[A-Za-z][A-Za-z0-9+.-]*://`)

// splitURLs divides a list of URLs separated by commas, keeping the commas inside a URL (a
// list of e-mail recipients, of ntfy tags): a comma separates only where a URL begins after it.
func splitURLs(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if len(out) > 0 && !urlStart.MatchString(part) {
			out[len(out)-1] += "," + part
			continue
		}
		out = append(out, part)
	}
	return out
}

// parsePublicURL reads --public-url: an absolute http(s) URL, made to end in "/" so that a
// host's page is URL + "hosts/NAME/".
func parsePublicURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want the page's address, http:// or https://, such as https://dash.example.org/chrony/")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// hostLink is the page of host under --public-url ("" without it): the root with one host
// (it is that host's page), hosts/NAME/ with several.
func (c config) hostLink(host string) string {
	if c.PublicURL == "" {
		return ""
	}
	if len(c.Hosts) == 1 {
		return c.PublicURL
	}
	return c.PublicURL + "hosts/" + host + "/"
}

// retentionIn reads a retention, 1h to 3650d, into dst, noting where it came from in from.
func retentionIn(dst *time.Duration, from *string) func(string, string) error {
	return func(s, where string) error {
		v, err := parseDays(s)
		if err != nil || v < time.Hour || v > 3650*24*time.Hour {
			return errors.New("want a duration such as 7d, 90d, 730d or 12h, from 1h to 3650d")
		}
		*dst = v
		if from != nil {
			*from = where
		}
		return nil
	}
}

// days prints a whole number of days as 7d.
func days(d time.Duration) string {
	if d%(24*time.Hour) != 0 {
		return shortDuration(d)
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

// parseDays reads a duration that may be given in days: 30d, or what time.ParseDuration reads.
func parseDays(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func durationIn(dst *time.Duration, lo, hi time.Duration) func(string, string) error {
	return func(s, _ string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("want a duration such as 10s, 500ms or 1m30s, from %s to %s", shortDuration(lo), shortDuration(hi))
		}
		*dst = d
		return nil
	}
}

// shortDuration prints 1h rather than Go's 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func parseListen(s string, dst *string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("want host:port, such as 127.0.0.1:8080, [::1]:8080 or 0.0.0.0:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("host %q is not an address or a name", host)
	}
	*dst = s
	return nil
}

// parseAllowedHost reads one --allowed-hosts value: a host name or an address, without a port.
func parseAllowedHost(s string) (string, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.String(), nil
	}
	name := strings.TrimSuffix(strings.ToLower(s), ".")
	if strings.Contains(name, "/") {
		return "", errors.New("want the host name alone, not a URL: such as dashboard.example.org")
	}
	if name == "" || len(name) > 253 {
		return "", errors.New("want a host name such as dashboard.example.org or an address, without a port")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			if r == ':' {
				return "", errors.New("want the name without a port, such as dashboard.example.org")
			}
			return "", fmt.Errorf("%q cannot be in a host name; want a name such as dashboard.example.org or an address", r)
		}
	}
	return name, nil
}

// listensOnLoopback reports whether a --listen address serves loopback only.
func listensOnLoopback(listen string) bool {
	host, _, _ := net.SplitHostPort(listen)
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// flagValue lets the flag package call an option's parser. A multi option's first value on
// the command line replaces what its variable gave.
type flagValue struct {
	opt    *option
	vals   []string
	reset  func()
	onFlag bool
	err    error // a secret option's last error, worded without its value
}

func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	shown := make([]string, len(v.vals))
	for i, s := range v.vals {
		shown[i] = v.opt.shown(s)
	}
	return strings.Join(shown, ",")
}

func (v *flagValue) Set(s string) error {
	if v.opt.multi && !v.onFlag {
		v.reset()
		v.vals = nil
	}
	v.onFlag = true
	if err := v.opt.set(s, "--"+v.opt.flag); err != nil {
		if v.opt.show != nil {
			// The flag package would repeat the value as given: say it here, as it may be shown.
			v.err = usageError{fmt.Errorf("invalid value %s for --%s: %v", v.opt.shown(s), v.opt.flag, err)}
			return errSecretValue
		}
		return err
	}
	v.vals = append(v.vals, s)
	return nil
}

// errSecretValue stands for a secret option's error while the flag package handles it; the
// error itself is in the flagValue.
var errSecretValue = errors.New("invalid value")

// parseConfig reads args and the environment. --help prints the usage to stdout and returns
// flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	c := defaults()
	c.Hosts = nil // set from the variable or the flags, or the default at the end
	opts := options(&c)
	fs := flag.NewFlagSet("second-hand", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var values []*flagValue
	for i := range opts {
		o := &opts[i]
		v := &flagValue{opt: o, reset: o.reset}
		if s := getenv(o.env); s != "" {
			values := []string{s}
			switch {
			case o.split != nil:
				values = o.split(s)
			case o.multi:
				values = strings.Split(s, ",")
			}
			for _, one := range values {
				if err := o.set(one, o.env); err != nil {
					return c, usageError{fmt.Errorf("invalid value %q for %s (the --%s flag): %v", o.shown(one), o.env, o.flag, err)}
				}
				v.vals = append(v.vals, one)
			}
		}
		fs.Var(v, o.flag, o.help)
		values = append(values, v)
	}
	fs.Usage = func() {} // printed below for --help only; errors say what is wrong instead
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, opts)
			return c, err
		}
		for _, v := range values {
			if v.err != nil {
				return c, v.err
			}
		}
		return c, usageError{flagError(err)}
	}
	// Without --chrony, the local chronyd; with --prometheus, none: every host comes from the
	// engine.
	if len(c.Hosts) == 0 && c.Prometheus == "" {
		c.Hosts = defaults().Hosts
	}
	seen := map[string]hostSpec{}
	for _, h := range c.Hosts {
		if first, dup := seen[h.Name]; dup {
			return c, usageError{fmt.Errorf("invalid value %q for %s: the host name %q is already given to %q; "+
				"name each chronyd: --chrony NAME=ADDRESS", h.given, h.from, h.Name, first.given)}
		}
		seen[h.Name] = h
	}
	for _, l := range []*hostLimit{&c.MaxClockError, &c.MaxOffset} {
		for name := range l.Hosts {
			// With --prometheus, a name may be one of the engine's hosts, known only later.
			if _, ok := seen[name]; !ok && c.Prometheus == "" {
				return c, usageError{fmt.Errorf("invalid value for %s: there is no host named %q; the hosts are %s", l.from, name, strings.Join(hostNames(c.Hosts), ", "))}
			}
		}
	}
	switch {
	case !c.reuseSet:
		c.Reuse = c.Refresh / 2
	case c.Reuse > c.Refresh/2:
		return c, usageError{fmt.Errorf("invalid value %v for --reuse (SECOND_HAND_REUSE): at most half of --refresh (%v)", c.Reuse, c.Refresh/2)}
	}
	if c.OldRetention != "" && c.rawFrom != "" {
		return c, usageError{fmt.Errorf("%s and %s both set how long the raw records are kept: --retention is the flag before the levels; "+
			"keep --retention-raw (and --retention-5m, --retention-1h) and remove --retention", c.OldRetention, c.rawFrom)}
	}
	switch rest := fs.Args(); {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] == "healthcheck":
		c.Healthcheck = true
	default:
		return c, usageError{fmt.Errorf("unexpected argument %q: second-hand takes flags and, optionally, the word healthcheck "+
			"(or: second-hand import [--data-dir DIR] [--host NAME] FILE..., or second-hand notify --test [--notify URL]...)", rest[0])}
	}
	return c, nil
}

func hostNames(hs []hostSpec) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

// flagError rewords the flag package's errors to name the flag as users type it (--refresh).
func flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Errorf("unknown flag -%s", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("--%s needs a value", strings.TrimLeft(name, "-"))
	}
	return errors.New(strings.Replace(msg, "for flag -", "for --", 1))
}

func usage(w io.Writer, opts []option) {
	fmt.Fprint(w, `Usage: second-hand [flags]
       second-hand healthcheck    exit 0 if the second-hand at --listen answers /healthz
       second-hand import [--data-dir DIR] [--host NAME] FILE...
                                  read chronyd's tracking.log, measurements.log and statistics.log
                                  into the history of the host NAME
       second-hand notify --test  send a test message to every --notify URL and say how each went
                                  (exit status 1 if any failed)
       second-hand --version      print the version, the Go release and the platform

second-hand serves a read-only web dashboard of one chronyd or several.

Flags (each also read from its environment variable; a flag wins):
`)
	for _, o := range opts {
		fmt.Fprintf(w, "  --%s (%s, default %s)\n      %s\n", o.flag, o.env, o.def, o.help)
	}
}
