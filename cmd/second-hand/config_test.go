package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/testkit"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || len(c.Hosts) != 1 || c.Hosts[0].Name != "local" || !c.Hosts[0].Address.IsAuto() || c.Refresh != 10*time.Second || c.Reuse != 5*time.Second || c.Timeout != time.Second ||
		c.Retries != 2 || c.LogLevel != slog.LevelInfo || c.Healthcheck {
		t.Errorf("defaults = %+v", c)
	}
}

// TestConfigRetention: each level's retention from its flag or variable, the defaults 7, 90 and
// 730 days; the flag before the levels, --retention (or its variable), still sets the raw
// records' and is noted, for a service whose /etc/default still has it.
func TestConfigRetention(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		raw, m5 time.Duration
		h1      time.Duration
		old     string
	}{
		{nil, nil, 7 * day, 90 * day, 730 * day, ""},
		{[]string{"--retention-raw", "14d", "--retention-5m", "30d", "--retention-1h", "1825d"}, nil, 14 * day, 30 * day, 1825 * day, ""},
		{nil, map[string]string{"SECOND_HAND_RETENTION_RAW": "12h", "SECOND_HAND_RETENTION_5M": "10d"}, 12 * time.Hour, 10 * day, 730 * day, ""},
		{[]string{"--retention", "30d"}, nil, 30 * day, 90 * day, 730 * day, "--retention"},
		{nil, map[string]string{"SECOND_HAND_RETENTION": "60d"}, 60 * day, 90 * day, 730 * day, "SECOND_HAND_RETENTION"},
	} {
		c, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		if r := c.Retention; r.Raw != tc.raw || r.FiveMin != tc.m5 || r.Hour != tc.h1 || c.OldRetention != tc.old {
			t.Errorf("%v %v: %+v (old %q), want %v %v %v (old %q)", tc.args, tc.env, r, c.OldRetention, tc.raw, tc.m5, tc.h1, tc.old)
		}
	}
}

func TestConfigFlagBeatsEnvironment(t *testing.T) {
	c, err := parseConfig([]string{"--refresh", "30s", "--chrony=/run/chrony/chronyd.sock"},
		env(map[string]string{"SECOND_HAND_REFRESH": "5s", "SECOND_HAND_TIMEOUT": "250ms", "SECOND_HAND_LOG_LEVEL": "debug"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Refresh != 30*time.Second || c.Reuse != 15*time.Second || c.Timeout != 250*time.Millisecond || c.LogLevel != slog.LevelDebug ||
		len(c.Hosts) != 1 || c.Hosts[0].Address.String() != "unix:///run/chrony/chronyd.sock" {
		t.Errorf("config = %+v", c)
	}
}

// TestConfigAllowedHosts: names and addresses, from the flag (given again and again) or the
// variable (separated by commas), kept as a Host header is compared: lower case, no final dot,
// an IPv6 address without brackets. The flag wins over the variable.
func TestConfigAllowedHosts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want []string
	}{
		{nil, "", nil},
		{[]string{"--allowed-hosts", "Dash.Example.org.", "--allowed-hosts", "[2001:db8::1]"}, "", []string{"dash.example.org", "2001:db8::1"}},
		{nil, "dash.example.org, 192.168.1.5", []string{"dash.example.org", "192.168.1.5"}},
		{[]string{"--allowed-hosts", "mine"}, "theirs,others", []string{"mine"}},
	} {
		c, err := parseConfig(tc.args, env(map[string]string{"SECOND_HAND_ALLOWED_HOSTS": tc.env}), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(c.AllowedHosts, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%v, %q: allowed hosts %q, want %q", tc.args, tc.env, c.AllowedHosts, tc.want)
		}
	}
	for listen, loopback := range map[string]bool{"127.0.0.1:8080": true, "[::1]:80": true, "localhost:8080": true, "127.0.0.2:1": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.5:8080": false, "dash.example.org:80": false} {
		if got := listensOnLoopback(listen); got != loopback {
			t.Errorf("listensOnLoopback(%q) = %v", listen, got)
		}
	}
}

func TestConfigErrorsNameTheFlagAndTheForm(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{[]string{"--refresh", "0s"}, nil, []string{`"0s"`, "--refresh", "from 1s to 1h"}},
		{[]string{"--refresh", "soon"}, nil, []string{"--refresh", "such as 10s"}},
		{[]string{"--timeout=2h"}, nil, []string{"--timeout", "10ms to 1m"}},
		{[]string{"--retries", "-1"}, nil, []string{"--retries", "0 to 10"}},
		{[]string{"--listen", "8080"}, nil, []string{"--listen", "host:port"}},
		{[]string{"--chrony", "tcp://x"}, nil, []string{"--chrony", "unsupported scheme", "udp://127.0.0.1:323"}},
		{[]string{"--log-level", "loud"}, nil, []string{"--log-level", "debug, info, warn or error"}},
		{[]string{"--reuse", "6s"}, nil, []string{"--reuse", "at most half of --refresh (5s)"}},
		{[]string{"--reuse", "-1s"}, nil, []string{"--reuse", "such as 5s"}},
		{[]string{"--nope"}, nil, []string{"unknown flag --nope"}},
		{[]string{"--listen"}, nil, []string{"--listen needs a value"}},
		{[]string{"serve"}, nil, []string{`unexpected argument "serve"`}},
		{nil, map[string]string{"SECOND_HAND_REFRESH": "fast"}, []string{"SECOND_HAND_REFRESH", "--refresh", "such as 10s"}},
		{nil, map[string]string{"SECOND_HAND_CHRONY": "udp://:0"}, []string{"SECOND_HAND_CHRONY", "--chrony"}},
		{[]string{"--retries", "11"}, nil, []string{"--retries", "from 0 to 10"}},
		{[]string{"--allowed-hosts", "dash.example.org:8080"}, nil, []string{"--allowed-hosts", "without a port"}},
		{[]string{"--allowed-hosts", "https://dash.example.org"}, nil, []string{"--allowed-hosts", "not a URL"}},
		{nil, map[string]string{"SECOND_HAND_ALLOWED_HOSTS": "a.example,b example"}, []string{`"b example" for SECOND_HAND_ALLOWED_HOSTS (the --allowed-hosts flag)`, "' ' cannot be in a host name"}},
		{[]string{"--chrony", "my host=udp://10.0.0.1"}, nil, []string{`invalid value "my host=udp://10.0.0.1" for --chrony`, `host name "my host" has ' '`}},
		{[]string{"--chrony", "a:b=udp://10.0.0.1"}, nil, []string{`"a:b=udp://10.0.0.1" for --chrony`, "letters, digits"}},
		{[]string{"--chrony", strings.Repeat("n", 64) + "=auto"}, nil, []string{"--chrony", "the most is 63"}},
		{[]string{"--chrony", "=auto"}, nil, []string{"--chrony", "cannot be empty"}},
		{[]string{"--chrony", "nas=udp://10.0.0.1", "--chrony", "nas=udp://10.0.0.2"}, nil,
			[]string{`invalid value "nas=udp://10.0.0.2" for --chrony`, `"nas" is already given to "nas=udp://10.0.0.1"`, "--chrony NAME=ADDRESS"}},
		{[]string{"--chrony", "udp://10.0.0.1:323", "--chrony", "udp://10.0.0.1:11323"}, nil,
			[]string{`invalid value "udp://10.0.0.1:11323" for --chrony`, `"10.0.0.1" is already given`}},
		{[]string{"--chrony", "auto", "--chrony", "/run/chrony/chronyd.sock"}, nil, []string{`"local" is already given to "auto"`}},
		{nil, map[string]string{"SECOND_HAND_CHRONY": "a=udp://x,a=udp://y"}, []string{`invalid value "a=udp://y" for SECOND_HAND_CHRONY`, "already given"}},
		{nil, map[string]string{"SECOND_HAND_CHRONY": "a=udp://x,b c=udp://y"}, []string{`invalid value "b c=udp://y" for SECOND_HAND_CHRONY (the --chrony flag)`}},
		{[]string{"--retention-raw", "30m"}, nil, []string{"--retention-raw", "from 1h to 3650d"}},
		{[]string{"--retention-5m", "ninety"}, nil, []string{"--retention-5m", "such as 7d, 90d"}},
		{nil, map[string]string{"SECOND_HAND_RETENTION_1H": "4000d"}, []string{"SECOND_HAND_RETENTION_1H", "--retention-1h", "to 3650d"}},
		{[]string{"--retention", "30d", "--retention-raw", "14d"}, nil, []string{"--retention and --retention-raw both", "remove --retention"}},
		{nil, map[string]string{"SECOND_HAND_RETENTION": "30d", "SECOND_HAND_RETENTION_RAW": "14d"}, []string{"SECOND_HAND_RETENTION and SECOND_HAND_RETENTION_RAW both"}},
		{[]string{"--prometheus", "prometheus:9090"}, nil, []string{`invalid value "prometheus:9090" for --prometheus`, "http://prometheus:9090"}},
		{nil, map[string]string{"SECOND_HAND_PROMETHEUS": "ftp://x"}, []string{"SECOND_HAND_PROMETHEUS", "--prometheus", "as a URL"}},
		{[]string{"--prometheus-host-label", "host-name"}, nil, []string{"--prometheus-host-label", "letters, digits and _", "instance"}},
		{[]string{"--prometheus-timeout", "10ms"}, nil, []string{"--prometheus-timeout", "from 100ms to 1m"}},
		{[]string{"--max-clock-error", "soon"}, nil, []string{`"soon" for --max-clock-error`, "from 1µs to 1h", "100ms,nas=1s"}},
		{[]string{"--max-offset", "0s"}, nil, []string{"--max-offset", "from 1µs"}},
		{[]string{"--max-offset", "10ms,5ms"}, nil, []string{"--max-offset", "give NAME=DURATION"}},
		{[]string{"--chrony", "nas=udp://10.0.0.1", "--max-clock-error", "100ms,pi=1ms"}, nil,
			[]string{"invalid value for --max-clock-error", `no host named "pi"`, "the hosts are nas"}},
		{nil, map[string]string{"SECOND_HAND_MAX_OFFSET": "10ms,x=1"}, []string{"SECOND_HAND_MAX_OFFSET", "--max-offset"}},
	} {
		_, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v %v: error %v, want a usage error", tc.args, tc.env, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v %v: %q does not say %q", tc.args, tc.env, err, w)
			}
		}
	}
}

// TestPrometheus: --prometheus, its label and timeout; without --chrony, no chronyd is read
// directly (every host comes from the engine); with it, the hosts given are read beside.
func TestPrometheus(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		env         map[string]string
		url, label  string
		timeout     time.Duration
		polledHosts int
	}{
		{nil, nil, "", "host", 5 * time.Second, 1},
		{[]string{"--prometheus", "http://prometheus:9090/"}, nil, "http://prometheus:9090", "host", 5 * time.Second, 0},
		{[]string{"--prometheus", "http://vm:8428", "--chrony", "nas=udp://10.0.0.1"}, nil, "http://vm:8428", "host", 5 * time.Second, 1},
		{nil, map[string]string{"SECOND_HAND_PROMETHEUS": "https://thanos.lan/", "SECOND_HAND_PROMETHEUS_HOST_LABEL": "instance",
			"SECOND_HAND_PROMETHEUS_TIMEOUT": "20s"}, "https://thanos.lan", "instance", 20 * time.Second, 0},
	} {
		c, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{})
		if err != nil {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
			continue
		}
		if c.Prometheus != tc.url || c.PrometheusLabel != tc.label || c.PrometheusTimeout != tc.timeout || len(c.Hosts) != tc.polledHosts {
			t.Errorf("%v %v: prometheus %q label %q timeout %v, %d hosts; want %q %q %v %d", tc.args, tc.env, c.Prometheus, c.PrometheusLabel,
				c.PrometheusTimeout, len(c.Hosts), tc.url, tc.label, tc.timeout, tc.polledHosts)
		}
	}
}

// TestConfigThresholds: the diagnosis' thresholds, for every host and per host, from flags or
// variables.
func TestConfigThresholds(t *testing.T) {
	c, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if th := c.thresholds().For("local"); th.MaxClockError != 100*time.Millisecond || th.MaxOffset != 10*time.Millisecond {
		t.Errorf("default thresholds = %+v", th)
	}
	c, err = parseConfig([]string{"--chrony", "nas=udp://10.0.0.1", "--chrony", "pi=udp://10.0.0.2", "--max-clock-error", "50ms,pi=1ms"},
		env(map[string]string{"SECOND_HAND_MAX_OFFSET": "5ms, nas=20ms"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	th := c.thresholds()
	if nas, pi := th.For("nas"), th.For("pi"); nas.MaxClockError != 50*time.Millisecond || nas.MaxOffset != 20*time.Millisecond ||
		pi.MaxClockError != time.Millisecond || pi.MaxOffset != 5*time.Millisecond {
		t.Errorf("nas %+v, pi %+v", nas, pi)
	}
}

// TestSeveralHosts: --chrony given several times, or SECOND_HAND_CHRONY with commas, names each
// host as given or from its address.
func TestSeveralHosts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "local=auto"},
		{[]string{"--chrony", "nas=udp://10.0.0.1", "--chrony", "udp://pi.lan:11323", "--chrony", "/run/chrony/chronyd.sock"}, nil,
			"nas=udp://10.0.0.1:323 pi.lan=udp://pi.lan:11323 local=unix:///run/chrony/chronyd.sock"},
		{[]string{"--chrony", "udp://[fe80::1%eth0]:323", "--chrony", "v6=udp://[::1]:323"}, nil,
			"fe80--1-eth0=udp://[fe80::1%eth0]:323 v6=udp://[::1]:323"},
		{nil, map[string]string{"SECOND_HAND_CHRONY": "a=udp://10.0.0.1, b=udp://10.0.0.2"}, "a=udp://10.0.0.1:323 b=udp://10.0.0.2:323"},
		// The flag replaces the variable's list; it does not add to it.
		{[]string{"--chrony", "c=udp://10.0.0.3"}, map[string]string{"SECOND_HAND_CHRONY": "a=udp://10.0.0.1,b=udp://10.0.0.2"}, "c=udp://10.0.0.3:323"},
		// A path with "=" in it is an address, not a name.
		{[]string{"--chrony", "/run/a=b/chronyd.sock"}, nil, "local=unix:///run/a=b/chronyd.sock"},
	} {
		c, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{})
		if err != nil {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
			continue
		}
		var got []string
		for _, h := range c.Hosts {
			got = append(got, h.Name+"="+h.Address.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%v %v: hosts %v, want %s", tc.args, tc.env, got, tc.want)
		}
	}
}

func TestRetriesZeroMeansNone(t *testing.T) {
	for _, n := range []string{"0", "1", "10"} {
		c, err := parseConfig([]string{"--retries", n}, env(nil), &bytes.Buffer{})
		if err != nil || strconv.Itoa(c.Retries) != n {
			t.Errorf("--retries %s: %d %v", n, c.Retries, err)
		}
	}
}

func TestHelpListsEveryFlagAndVariable(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, w := range []string{"--listen", "SECOND_HAND_LISTEN", "--chrony", "SECOND_HAND_CHRONY", "--refresh", "SECOND_HAND_REFRESH",
		"--reuse", "SECOND_HAND_REUSE", "--timeout", "SECOND_HAND_TIMEOUT", "--retries", "SECOND_HAND_RETRIES", "--log-level", "SECOND_HAND_LOG_LEVEL", "healthcheck",
		"--allowed-hosts", "SECOND_HAND_ALLOWED_HOSTS"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("--help does not mention %s", w)
		}
	}
}

// TestBadFlagExitsWithStatus2 runs the program: a bad value is exit status 2 and a message on
// stderr, and nothing is served.
func TestBadFlagExitsWithStatus2(t *testing.T) {
	cmd := exec.Command(binary, "--refresh", "never")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want status 2", err)
	}
	if !strings.Contains(stderr.String(), `invalid value "never" for --refresh`) {
		t.Errorf("stderr = %q", stderr.String())
	}
	if out, err := exec.Command(binary, "--help").Output(); err != nil || !strings.Contains(string(out), "Usage: second-hand") {
		t.Errorf("--help = %v %q, want the usage and status 0", err, out)
	}
}

func TestListenErrorNamesTheAddress(t *testing.T) {
	in := start(t, "--chrony", "udp://127.0.0.1:9")
	taken := strings.TrimPrefix(in.url, "http://")
	dir := t.TempDir()
	cmd := exec.Command(binary, "--listen", taken)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "cannot listen on "+taken+" (--listen)") {
		t.Errorf("second instance on %s: %v %q", taken, err, out)
	}
	// It stopped before touching the disk: no data directory made where it was started.
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("a second-hand that could not listen made ./data")
	}
}

func TestHealthcheckSubcommand(t *testing.T) {
	in := start(t, "--chrony", "udp://127.0.0.1:9")
	addr := strings.TrimPrefix(in.url, "http://")
	if out, err := exec.Command(binary, "--listen", addr, "healthcheck").CombinedOutput(); err != nil {
		t.Errorf("healthcheck of a live instance: %v %s", err, out)
	}
	if err := exec.Command(binary, "--listen", "127.0.0.1:"+testkit.FreePort(t), "healthcheck").Run(); err == nil {
		t.Error("healthcheck of nothing succeeded")
	}
}

// TestRetriesReachTheClient: --retries N sends a request N+1 times to a chronyd that never
// answers; 0 sends it once. Only the RTC report's requests are counted, by their attempt
// number: the recorder's and the diagnosis's reads of other reports at start are not the
// panel's.
func TestRetriesReachTheClient(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		silent := chronytest.StartUDP(t, chronytest.Silent)
		in := start(t, "--chrony", silent.Addr, "--timeout", "10ms", "--retries", strconv.Itoa(n))
		if page := fresh(t, in.url+"/panels/rtc"); !alert(page) {
			t.Fatalf("--retries %d: the RTC panel of a silent chronyd shows no error", n)
		}
		attempts := make([]int, n+2) // the RTC requests by attempt number; the last: beyond n
		for _, r := range silent.Requests() {
			if r.Command == chronytest.ReqRTCReport {
				attempts[min(int(r.Attempt), n+1)]++
			}
		}
		reads := attempts[0]
		want := make([]int, n+2)
		for i := range n + 1 {
			want[i] = reads
		}
		if reads == 0 || !slices.Equal(attempts, want) {
			t.Errorf("--retries %d: the RTC requests by attempt number %v, want %v (each read sent %d times)", n, attempts, want, n+1)
		}
	}
}
