// Package engine reads chronyd's series from a time-series engine over the Prometheus HTTP API
// (Prometheus, VictoriaMetrics, Thanos, Mimir): the hosts that have chrony_up series, their
// latest values, and their history as the same views, events and trends as this second-hand's
// own store (package history), so that the page draws either without knowing which. The
// series are those of second-hand's /metrics or chrony_exporter, named by a host label.
//
// Every query is bounded: a timeout (sent to the engine too), a step derived from the range
// and the chart's columns, a handful of queries per view whatever the number of sources, and
// answers shared between the viewers who ask at once and reused for a short while.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/singleflight"
)

// Config is how the engine is reached and read.
type Config struct {
	URL       string        // the HTTP API's base, such as http://prometheus:9090
	HostLabel string        // the label that names a host: host (second-hand's), instance (chrony_exporter's)
	Timeout   time.Duration // how long one query may take, here and at the engine
	// Reuse is how long an answer is reused for whoever asks next: the overview, a host's
	// latest values, its events. Views are reused until a column passes, up to ViewReuse.
	Reuse  time.Duration
	Logger *slog.Logger
	// Transport is the HTTP transport; nil for client_golang's default.
	Transport http.RoundTripper
}

// Defaults.
const (
	DefaultHostLabel = "host"
	DefaultTimeout   = 5 * time.Second
	// ViewReuse bounds how long a history view is reused: a 30-day view's last column is
	// 90 minutes wide, but its newest values should not be older than this.
	ViewReuse = 5 * time.Minute
	// TrendReuse is how long the overview's sparklines (24 hours, a quarter of an hour per
	// column) are reused: one query for every host's, at most once a minute.
	TrendReuse = time.Minute
)

// Engine reads one engine. It is safe for concurrent use.
type Engine struct {
	cfg Config
	api v1.API
	log *slog.Logger

	flights singleflight.Group
	mu      sync.Mutex
	answers map[string]answer

	// fleetWide lets one read of every host at a time (the fleet's latest values, the
	// sparklines) be decoded: each answer is megabytes for a thousand hosts, and both are read
	// behind the overview, so they would otherwise often be in memory at once.
	fleetWide chan struct{}

	counts  Counts
	dialect atomic.Int32 // dialectUnknown until the engine has said which it speaks
	last    atomic.Pointer[Fleet]
	named   atomic.Pointer[map[string]string] // second-hand's names of the hosts, to their labels' values, as last read
}

// Counts are the queries sent to the engine, by endpoint, and those that failed, by kind.
type Counts struct {
	Query, QueryRange, Labels atomic.Int64
	Failures                  [kindCount]atomic.Int64
}

type answer struct {
	val any
	err error
	at  time.Time
	ttl time.Duration
}

// maxAnswers bounds the answers kept: views of hosts and ranges, events, hosts' latest values.
const maxAnswers = 512

// labelName is a Prometheus label name, as both engines read it in a query.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// New returns the Engine at cfg.URL; nothing is asked of it until a page needs it.
func New(cfg Config) (*Engine, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want the engine's HTTP API as a URL, such as http://prometheus:9090 or http://victoria-metrics:8428")
	}
	if !labelName.MatchString(cfg.HostLabel) || strings.HasPrefix(cfg.HostLabel, "__") {
		return nil, fmt.Errorf("host label %q is not a Prometheus label name (letters, digits and _, not starting with a digit or __)", cfg.HostLabel)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	c, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: cfg.Transport})
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, api: v1.NewAPI(statusClient{c}), log: cfg.Logger, answers: map[string]answer{}, fleetWide: make(chan struct{}, 1)}, nil
}

// wide waits for the turn of a read of every host, and returns its end.
func (e *Engine) wide() func() {
	e.fleetWide <- struct{}{}
	return func() { <-e.fleetWide }
}

// URL is the engine's address, for the page and for error messages.
func (e *Engine) URL() string { return e.cfg.URL }

// HostLabel is the label that names a host.
func (e *Engine) HostLabel() string { return e.cfg.HostLabel }

// Counts are the engine's query counters.
func (e *Engine) Counts() *Counts { return &e.counts }

// shared answers key from an answer made less than ttl ago, else joins the query in flight
// for it, else runs read. The read is not cancelled when its first caller goes away: it is
// the others' too, and its queries have their own timeouts.
func shared[T any](ctx context.Context, e *Engine, key string, ttl time.Duration, read func(context.Context) (T, error)) (T, error) {
	now := time.Now()
	e.mu.Lock()
	if a, ok := e.answers[key]; ok && now.Sub(a.at) < a.ttl {
		e.mu.Unlock()
		v, _ := a.val.(T)
		return v, a.err
	}
	e.mu.Unlock()
	ch := e.flights.DoChan(key, func() (any, error) {
		v, err := read(context.WithoutCancel(ctx))
		e.mu.Lock()
		if len(e.answers) >= maxAnswers {
			clear(e.answers)
		}
		e.answers[key] = answer{val: v, err: err, at: time.Now(), ttl: ttl}
		e.mu.Unlock()
		return v, err
	})
	select {
	case r := <-ch:
		v, _ := r.Val.(T)
		return v, r.Err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}

// answer is key's answer, however old.
func (e *Engine) answer(key string) (answer, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.answers[key]
	return a, ok
}

// fresh is key's answer when it was made less than its reuse window ago and did not fail.
func fresh[T any](e *Engine, key string) (T, bool) {
	e.mu.Lock()
	a, ok := e.answers[key]
	e.mu.Unlock()
	v, isT := a.val.(T)
	if !ok || !isT || a.err != nil || time.Since(a.at) >= a.ttl {
		var zero T
		return zero, false
	}
	return v, true
}

// revalidated answers key as shared does, except that once there is an answer it is given at
// once, however old, while a new one is asked for in the background for the callers after:
// the overview of a fleet waits for the engine only the first time, and its age says how old
// it is. A failure is an answer too: the callers after it see it.
func revalidated[T any](ctx context.Context, e *Engine, key string, ttl time.Duration, read func(context.Context) (T, error)) (T, error) {
	e.mu.Lock()
	a, ok := e.answers[key]
	e.mu.Unlock()
	if !ok {
		return shared(ctx, e, key, ttl, read)
	}
	if time.Since(a.at) >= a.ttl {
		go shared(context.WithoutCancel(ctx), e, key, ttl, read)
	}
	v, _ := a.val.(T)
	return v, a.err
}

// statusKey carries, in a query's context, where the HTTP status of its response goes: the
// API client reports 4xx and 5xx answers without it.
type statusKey struct{}

type statusClient struct{ api.Client }

func (c statusClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	resp, body, err := c.Client.Do(ctx, req)
	if p, ok := ctx.Value(statusKey{}).(*int); ok && resp != nil {
		*p = resp.StatusCode
	}
	return resp, body, err
}

// call runs one query of op with the engine's timeout, counts it, and turns its failure into
// an *Error.
func call[T any](ctx context.Context, e *Engine, op, query string, counter *atomic.Int64, do func(ctx context.Context) (T, v1.Warnings, error)) (T, error) {
	counter.Add(1)
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	status := 0
	ctx = context.WithValue(ctx, statusKey{}, &status)
	start := time.Now()
	v, warnings, err := do(ctx)
	took := time.Since(start)
	if err != nil {
		ee := classify(e.cfg.URL, op, query, status, took, ctx, err)
		e.counts.Failures[ee.Kind].Add(1)
		e.log.Debug("engine query failed", "op", op, "query", query, "took", took, "error", ee)
		var zero T
		return zero, ee
	}
	if len(warnings) > 0 {
		e.log.Debug("engine query warnings", "op", op, "query", query, "warnings", warnings)
	}
	e.log.Debug("engine query", "op", op, "query", query, "took", took)
	return v, nil
}

// instant evaluates query at t.
func (e *Engine) instant(ctx context.Context, query string, t time.Time) (model.Vector, error) {
	return call(ctx, e, "query", query, &e.counts.Query, func(ctx context.Context) (model.Vector, v1.Warnings, error) {
		v, w, _, err := e.api.Query(ctx, query, t, v1.WithTimeout(e.cfg.Timeout))
		if err != nil {
			return nil, w, err
		}
		vec, ok := v.(model.Vector)
		if !ok {
			return nil, w, &v1.Error{Type: v1.ErrBadResponse, Msg: "the answer to an instant query is a " + v.Type().String() + ", not a vector"}
		}
		return vec, w, nil
	})
}

// ranged evaluates query over r.
func (e *Engine) ranged(ctx context.Context, query string, r v1.Range) (model.Matrix, error) {
	return call(ctx, e, "query_range", query, &e.counts.QueryRange, func(ctx context.Context) (model.Matrix, v1.Warnings, error) {
		v, w, _, err := e.api.QueryRange(ctx, query, r, v1.WithTimeout(e.cfg.Timeout))
		if err != nil {
			return nil, w, err
		}
		m, ok := v.(model.Matrix)
		if !ok {
			return nil, w, &v1.Error{Type: v1.ErrBadResponse, Msg: "the answer to a range query is a " + v.Type().String() + ", not a matrix"}
		}
		return m, w, nil
	})
}

// labelValues are the values of label on series matching match between start and end.
func (e *Engine) labelValues(ctx context.Context, label, match string, start, end time.Time) ([]string, error) {
	vals, err := call(ctx, e, "label values", match, &e.counts.Labels, func(ctx context.Context) (model.LabelValues, v1.Warnings, error) {
		v, w, _, err := e.api.LabelValues(ctx, label, []string{match}, start, end)
		return v, w, err
	})
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out, err
}

// Ping asks the engine for its hosts, to say at start whether it answers.
func (e *Engine) Ping(ctx context.Context) (int, error) {
	hosts, err := e.labelValues(ctx, e.cfg.HostLabel, "chrony_up", time.Now().Add(-HostsSeen), time.Now())
	return len(hosts), err
}

// The dialects of PromQL the engines speak, as far as second-hand cares: where a sample's
// time comes from. Prometheus' timestamp() is the time of the sample; VictoriaMetrics' is the
// time of the evaluation, and tlast_over_time is the sample's.
const (
	dialectUnknown int32 = iota
	dialectPromQL
	dialectMetricsQL
)

// sampleTime is an expression of the time of the latest sample of sel (within the engines'
// lookback, 5 minutes), with more after the selector (" offset 5m").
func (e *Engine) sampleTime(ctx context.Context, sel, more string) (string, error) {
	d, err := e.dialectOf(ctx)
	if err != nil {
		return "", err
	}
	if d == dialectMetricsQL {
		return "tlast_over_time(" + sel + "[5m]" + more + ")", nil
	}
	return "timestamp(" + sel + more + ")", nil
}

// dialectOf asks the engine once which it is: Prometheus (and Thanos, Mimir) give their
// version in buildinfo, VictoriaMetrics an empty answer.
func (e *Engine) dialectOf(ctx context.Context) (int32, error) {
	if d := e.dialect.Load(); d != dialectUnknown {
		return d, nil
	}
	info, err := call(ctx, e, "buildinfo", "", &e.counts.Query, func(ctx context.Context) (v1.BuildinfoResult, v1.Warnings, error) {
		b, err := e.api.Buildinfo(ctx)
		return b, nil, err
	})
	d := dialectPromQL
	var ee *Error
	switch {
	case err == nil && info.Version == "":
		d = dialectMetricsQL
	case errors.As(err, &ee) && ee.Kind == KindRejected:
		// No buildinfo (an older or another engine): it speaks PromQL as Prometheus does.
	case err != nil:
		return dialectUnknown, err
	}
	e.dialect.Store(d)
	return d, nil
}
