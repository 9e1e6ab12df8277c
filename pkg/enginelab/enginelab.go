// Package enginelab runs real time-series engines on loopback for tests and the bench, as
// chronylab runs chronyd: Debian's prometheus (2.42) and victoria-metrics (1.79), each a
// process of its own on a free port of 127.0.0.1 with its own data directory, scraping what the
// test gives it, and loaded with made-up history (promtool's backfill, VictoriaMetrics' import
// API). Nothing here is used by second-hand itself.
package enginelab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Kind is which engine.
type Kind string

const (
	Prometheus      Kind = "prometheus"
	VictoriaMetrics Kind = "victoria-metrics"
)

// Kinds are both engines, for tables of tests.
var Kinds = []Kind{Prometheus, VictoriaMetrics}

// Options shape an engine.
type Options struct {
	// Dir holds the engine's data, configuration and log; a new temporary directory (removed
	// by Stop) when empty.
	Dir string
	// Scrape is the scrape_configs list of a Prometheus configuration (both engines read it),
	// as YAML indented under "scrape_configs:"; none when empty.
	Scrape string
	// Interval is the scrape interval (default 1 s).
	Interval time.Duration
	// Backfill is history to load before the engine answers: promtool's blocks for
	// Prometheus, the import API for VictoriaMetrics.
	Backfill []Series
	// RemoteWrite is a URL Prometheus sends what it scrapes to (Prometheus only).
	RemoteWrite string
	// Flags are more command-line flags.
	Flags []string
}

// Series is one series of made-up history: a metric, its labels and its points.
type Series struct {
	Metric string
	Labels map[string]string
	Points []Point
}

// Point is a value at a time.
type Point struct {
	T time.Time
	V float64
}

// Engine is one running engine.
type Engine struct {
	Kind Kind
	URL  string // http://127.0.0.1:PORT
	Dir  string

	own  bool
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// ErrMissing is the error of an engine that is not installed.
var ErrMissing = errors.New("enginelab: not installed")

// Binary finds kind's program, as Debian installs it.
func Binary(kind Kind) (string, error) {
	p, err := exec.LookPath(string(kind))
	if err != nil {
		return "", fmt.Errorf("%w: %s (apt-get install %s, as .ci/setup test does)", ErrMissing, kind, kind)
	}
	return p, nil
}

// Start runs kind with opts and waits until it answers queries.
func Start(ctx context.Context, kind Kind, opts Options) (*Engine, error) {
	bin, err := Binary(kind)
	if err != nil {
		return nil, err
	}
	e := &Engine{Kind: kind, Dir: opts.Dir}
	if e.Dir == "" {
		if e.Dir, err = os.MkdirTemp("", "enginelab-"+string(kind)+"-"); err != nil {
			return nil, err
		}
		e.own = true
	} else if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	e.URL = "http://" + addr
	interval := opts.Interval
	if interval <= 0 {
		interval = time.Second
	}
	conf := filepath.Join(e.Dir, "prometheus.yml")
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n", interval, min(interval, 10*time.Second), interval)
	if opts.Scrape != "" {
		b.WriteString("scrape_configs:\n" + opts.Scrape + "\n")
	}
	if opts.RemoteWrite != "" {
		fmt.Fprintf(&b, "remote_write:\n  - url: %q\n    queue_config: {batch_send_deadline: 1s}\n", opts.RemoteWrite)
	}
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	data := filepath.Join(e.Dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	switch kind {
	case Prometheus:
		if len(opts.Backfill) > 0 {
			if err := backfillPrometheus(ctx, e.Dir, data, opts.Backfill); err != nil {
				return nil, err
			}
		}
		e.args = []string{bin, "--config.file=" + conf, "--storage.tsdb.path=" + data, "--web.listen-address=" + addr,
			"--storage.tsdb.retention.time=100y", "--log.level=warn"}
	case VictoriaMetrics:
		// Data is visible to queries at once (not after 30 s), kept for ever (the backfill
		// is older than the default month), and nothing is cached (tests read what they wrote).
		e.args = []string{bin, "-storageDataPath=" + data, "-httpListenAddr=" + addr, "-retentionPeriod=100y",
			"-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=WARN", "-promscrape.config.strictParse=false"}
		if opts.Scrape != "" {
			e.args = append(e.args, "-promscrape.config="+conf)
		}
	default:
		return nil, fmt.Errorf("enginelab: unknown engine %q", kind)
	}
	e.args = append(e.args, opts.Flags...)
	if err := e.Start(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	if kind == VictoriaMetrics && len(opts.Backfill) > 0 {
		if err := e.importVM(ctx, opts.Backfill); err != nil {
			e.Stop()
			return nil, err
		}
	}
	return e, nil
}

// Start runs the engine again after Stop, on the same port and data.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd != nil {
		return fmt.Errorf("enginelab: %s is running", e.Kind)
	}
	logf, err := os.OpenFile(e.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(e.args[0], e.args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("enginelab: starting %s: %w", e.Kind, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	e.cmd, e.done = cmd, done
	// Ready when a query answers.
	for {
		resp, err := http.Get(e.URL + "/api/v1/query?query=1")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			e.cmd = nil
			log, _ := os.ReadFile(e.LogFile())
			return fmt.Errorf("enginelab: %s exited at start:\n%s", e.Kind, lastLines(string(log), 15))
		case <-ctx.Done():
			return fmt.Errorf("enginelab: %s did not answer at %s: %w", e.Kind, e.URL, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the engine (SIGTERM, SIGKILL after 10 s) and, for a directory Start made,
// removes it.
func (e *Engine) Stop() error {
	e.Halt()
	if e.own {
		return os.RemoveAll(e.Dir)
	}
	return nil
}

// Halt ends the engine and keeps its data, so that Start runs it again.
func (e *Engine) Halt() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.done
	}
	e.cmd = nil
}

// CPU is the processor time the engine's process has used so far (user and system), for the
// bench: what a query costs the engine, whatever else the machine is doing.
func (e *Engine) CPU() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", e.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command's name, which is in parentheses: utime and stime are the
	// 12th and 13th, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// LogFile is where the engine's output goes.
func (e *Engine) LogFile() string { return filepath.Join(e.Dir, string(e.Kind)+".log") }

// backfillPrometheus writes series as OpenMetrics text and makes blocks of it in data with
// promtool, before Prometheus starts.
func backfillPrometheus(ctx context.Context, dir, data string, series []Series) error {
	path := filepath.Join(dir, "backfill.om")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := WriteOpenMetrics(w, series); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	defer os.Remove(path)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		return fmt.Errorf("%w: promtool (apt-get install prometheus)", ErrMissing)
	}
	out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", path, data).CombinedOutput()
	if err != nil {
		return fmt.Errorf("enginelab: promtool tsdb create-blocks-from openmetrics: %v\n%s", err, lastLines(string(out), 10))
	}
	return nil
}

// WriteOpenMetrics writes series as promtool's backfill reads them: each metric's series
// together under its TYPE line, timestamps in seconds, then # EOF.
func WriteOpenMetrics(w io.Writer, series []Series) error {
	byMetric := map[string][]Series{}
	var metrics []string
	for _, s := range series {
		if _, ok := byMetric[s.Metric]; !ok {
			metrics = append(metrics, s.Metric)
		}
		byMetric[s.Metric] = append(byMetric[s.Metric], s)
	}
	for _, m := range metrics {
		if _, err := fmt.Fprintf(w, "# TYPE %s gauge\n", m); err != nil {
			return err
		}
		for _, s := range byMetric[m] {
			name := m + labelText(s.Labels)
			for _, p := range s.Points {
				if _, err := fmt.Fprintf(w, "%s %s %s\n", name, strconv.FormatFloat(p.V, 'g', -1, 64),
					strconv.FormatFloat(float64(p.T.UnixMilli())/1000, 'f', 3, 64)); err != nil {
					return err
				}
			}
		}
	}
	_, err := io.WriteString(w, "# EOF\n")
	return err
}

// WritePrometheusText writes series in Prometheus' text format with timestamps in
// milliseconds, as VictoriaMetrics' /api/v1/import/prometheus reads it.
func WritePrometheusText(w io.Writer, series []Series) error {
	for _, s := range series {
		name := s.Metric + labelText(s.Labels)
		for _, p := range s.Points {
			if _, err := fmt.Fprintf(w, "%s %s %d\n", name, strconv.FormatFloat(p.V, 'g', -1, 64), p.T.UnixMilli()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Engine) importVM(ctx context.Context, series []Series) error {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<16)
		err := WritePrometheusText(w, series)
		if err == nil {
			err = w.Flush()
		}
		pw.CloseWithError(err)
	}()
	return e.Import(ctx, pr)
}

// Import sends Prometheus text with timestamps to VictoriaMetrics' import API and makes it
// visible to queries at once.
func (e *Engine) Import(ctx context.Context, r io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/api/v1/import/prometheus", r)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("enginelab: import: %s: %s", resp.Status, body)
	}
	resp, err = http.Get(e.URL + "/internal/force_flush")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func labelText(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(labels[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
