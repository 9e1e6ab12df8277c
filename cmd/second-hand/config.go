package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// config is everything second-hand can be told, from flags and SECOND_HAND_* variables; a flag
// wins over its variable, which wins over the default.
type config struct {
	Listen   string
	Chrony   chrony.Address
	Refresh  time.Duration
	Reuse    time.Duration
	Timeout  time.Duration
	Retries  int
	LogLevel slog.Level

	Healthcheck bool // the "healthcheck" subcommand: ask /healthz of the instance at Listen
}

// usageError is a bad flag, variable or argument: exit status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// option is one setting: its flag, its variable, its default and how to read it.
type option struct {
	flag, env, def, help string
	set                  func(string) error
}

func options(c *config) []option {
	return []option{
		{"listen", "SECOND_HAND_LISTEN", "127.0.0.1:8080",
			"address to serve HTTP on, host:port (use 0.0.0.0:8080 to serve other hosts)",
			func(s string) error { return parseListen(s, &c.Listen) }},
		{"chrony", "SECOND_HAND_CHRONY", "auto",
			"chronyd's address: " + chrony.AddressForms + "; auto tries the socket in /run/chrony, then UDP 127.0.0.1:323 and [::1]:323",
			func(s string) error {
				a, err := chrony.ParseAddress(s)
				if err != nil {
					return errors.New(strings.TrimPrefix(err.Error(), "invalid chronyd address "+strconv.Quote(s)+": "))
				}
				c.Chrony = a
				return nil
			}},
		{"refresh", "SECOND_HAND_REFRESH", "10s",
			"how often each panel reloads while the page is visible, 1s to 1h",
			durationIn(&c.Refresh, time.Second, time.Hour)},
		{"reuse", "SECOND_HAND_REUSE", "half of --refresh",
			"how long a report read from chronyd is reused for other viewers, from 0 to half of --refresh; " +
				"concurrent requests always share one read",
			func(s string) error {
				if s == "half of --refresh" {
					c.Reuse = -1 // decided once --refresh is known
					return nil
				}
				d, err := time.ParseDuration(s)
				if err != nil || d < 0 {
					return errors.New("want a duration such as 5s or 0s, at most half of --refresh")
				}
				c.Reuse = d
				return nil
			}},
		{"timeout", "SECOND_HAND_TIMEOUT", "1s",
			"how long a request to chronyd waits for its first reply; each retry waits twice as long, as in chronyc (10ms to 1m)",
			durationIn(&c.Timeout, 10*time.Millisecond, time.Minute)},
		{"retries", "SECOND_HAND_RETRIES", "2",
			"how many times a request to chronyd is sent again after a timeout, 0 to 10",
			func(s string) error {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 || n > 10 {
					return errors.New("want a whole number from 0 to 10")
				}
				c.Retries = n
				return nil
			}},
		{"log-level", "SECOND_HAND_LOG_LEVEL", "info",
			"debug, info, warn or error; debug logs every request",
			func(s string) error {
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

func durationIn(dst *time.Duration, lo, hi time.Duration) func(string) error {
	return func(s string) error {
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

// flagValue lets the flag package call an option's parser.
type flagValue struct {
	opt *option
	val string
}

func (v *flagValue) String() string {
	if v == nil || v.opt == nil {
		return ""
	}
	return v.val
}

func (v *flagValue) Set(s string) error {
	if err := v.opt.set(s); err != nil {
		return err
	}
	v.val = s
	return nil
}

// parseConfig reads args and the environment. --help prints the usage to stdout and returns
// flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var c config
	opts := options(&c)
	fs := flag.NewFlagSet("second-hand", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for i := range opts {
		o := &opts[i]
		// Defaults, then the environment; flags come after and win.
		if err := o.set(o.def); err != nil {
			panic("second-hand: bad default for --" + o.flag + ": " + err.Error())
		}
		val := o.def
		if s, ok := lookup(getenv, o.env); ok {
			if err := o.set(s); err != nil {
				return c, usageError{fmt.Errorf("invalid value %q for %s (the --%s flag): %v", s, o.env, o.flag, err)}
			}
			val = s
		}
		fs.Var(&flagValue{opt: o, val: val}, o.flag, o.help)
	}
	fs.Usage = func() {} // printed below for --help only; errors say what is wrong instead
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, opts)
			return c, err
		}
		return c, usageError{flagError(err)}
	}
	switch {
	case c.Reuse < 0:
		c.Reuse = c.Refresh / 2
	case c.Reuse > c.Refresh/2:
		return c, usageError{fmt.Errorf("invalid value %v for --reuse (SECOND_HAND_REUSE): at most half of --refresh (%v)", c.Reuse, c.Refresh/2)}
	}
	switch rest := fs.Args(); {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] == "healthcheck":
		c.Healthcheck = true
	default:
		return c, usageError{fmt.Errorf("unexpected argument %q: second-hand takes flags and, optionally, the word healthcheck", rest[0])}
	}
	return c, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	s := getenv(name)
	return s, s != ""
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

second-hand serves a read-only web dashboard of one chronyd.

Flags (each also read from its environment variable; a flag wins):
`)
	for _, o := range opts {
		fmt.Fprintf(w, "  --%s (%s, default %s)\n      %s\n", o.flag, o.env, o.def, o.help)
	}
}
