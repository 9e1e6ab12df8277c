package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

// Kind says what went wrong asking the engine, in terms a user can act on.
type Kind int

const (
	KindUnreachable Kind = iota // nothing answers at the URL
	KindTimeout                 // no answer within the timeout (here, or the engine's own)
	KindRejected                // 4xx: the engine refused the query, and says why
	KindFailed                  // 5xx: the engine failed
	KindBadAnswer               // what answered does not speak the Prometheus API

	kindCount
)

// Kinds are every kind, for counting failures.
var Kinds = []Kind{KindUnreachable, KindTimeout, KindRejected, KindFailed, KindBadAnswer}

func (k Kind) String() string {
	switch k {
	case KindUnreachable:
		return "unreachable"
	case KindTimeout:
		return "timeout"
	case KindRejected:
		return "rejected"
	case KindFailed:
		return "failed"
	case KindBadAnswer:
		return "bad answer"
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Error is every error of a query. Its fields let the page explain it (panels.Explain); its
// Error method is a sentence naming the URL and what failed.
type Error struct {
	Kind    Kind
	URL     string        // the engine's
	Op      string        // query, query_range, label values
	Query   string        // the PromQL, for the log
	Status  int           // the HTTP status, when the engine answered one
	Message string        // the engine's own words (4xx, 5xx), or the network's
	Timeout time.Duration // for KindTimeout: how long it was waited for
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindUnreachable:
		return fmt.Sprintf("the Prometheus API at %s is not answering: %s", e.URL, e.Message)
	case KindTimeout:
		return fmt.Sprintf("the Prometheus API at %s did not answer a %s within %v", e.URL, e.Op, e.Timeout)
	case KindRejected:
		return fmt.Sprintf("the Prometheus API at %s refused a %s (%d): %s", e.URL, e.Op, e.Status, e.Message)
	case KindFailed:
		return fmt.Sprintf("the Prometheus API at %s failed a %s (%d): %s", e.URL, e.Op, e.Status, e.Message)
	}
	return fmt.Sprintf("the Prometheus API at %s answered a %s with something else than the API: %s", e.URL, e.Op, e.Message)
}

// classify makes err, the failure of a query that took took, an *Error; status is the HTTP
// status of the answer, 0 for none.
func classify(url, op, query string, status int, took time.Duration, ctx context.Context, err error) *Error {
	e := &Error{URL: url, Op: op, Query: query, Status: status}
	var apiErr *v1.Error
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || errors.As(err, &netErr) && netErr.Timeout():
		e.Kind, e.Timeout = KindTimeout, took.Round(time.Millisecond)
	case errors.As(err, &apiErr) && apiErr.Type == v1.ErrTimeout:
		e.Kind, e.Timeout, e.Message = KindTimeout, took.Round(time.Millisecond), apiErr.Msg
	case errors.As(err, &apiErr) && status >= 400 && status < 500:
		e.Kind, e.Message = KindRejected, engineMessage(apiErr)
	case errors.As(err, &apiErr) && status >= 500:
		e.Kind, e.Message = KindFailed, engineMessage(apiErr)
		// Prometheus answers its own query timeout with 503 and errorType timeout.
		if strings.Contains(apiErr.Detail, `"errorType":"timeout"`) {
			e.Kind, e.Timeout = KindTimeout, took.Round(time.Millisecond)
		}
	case errors.As(err, &apiErr):
		e.Kind, e.Message = KindBadAnswer, engineMessage(apiErr)
	default:
		e.Kind, e.Message = KindUnreachable, err.Error()
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Err != nil {
			e.Message = opErr.Err.Error()
		}
	}
	return e
}

// engineMessage is the engine's own explanation: the "error" of its JSON answer, or the start
// of the body it sent.
func engineMessage(e *v1.Error) string {
	if e.Detail == "" {
		return e.Msg
	}
	var body struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(e.Detail), &body) == nil && body.Error != "" {
		return body.Error
	}
	d := strings.TrimSpace(e.Detail)
	if len(d) > 300 {
		d = d[:300] + "…"
	}
	return d
}

// HostError is a host the engine knows but whose chronyd it has no values of now: chronyd
// did not answer its exporter's last scrape (chrony_up 0), or the host has no series within
// the engine's lookback (its exporter or the scrape stopped).
type HostError struct {
	URL                 string
	Host, Job, Instance string
	Fresh               bool      // it has series now, and chrony_up is 0
	At                  time.Time // the last scrape, when Fresh
}

func (e *HostError) Error() string {
	if e.Fresh {
		return fmt.Sprintf("chronyd did not answer the last scrape of %s (chrony_up 0 at %s)", e.where(), e.At.UTC().Format("15:04:05 MST"))
	}
	return fmt.Sprintf("the Prometheus API at %s has no series of %s in the last 5 minutes", e.URL, e.where())
}

func (e *HostError) where() string {
	if e.Instance == "" {
		return e.Host
	}
	return e.Host + " (instance " + e.Instance + ", job " + e.Job + ")"
}

// Err is the host's HostError, or nil when its chronyd answered the last scrape.
func (h Host) Err(url string) error {
	if h.Fresh && h.Up {
		return nil
	}
	return &HostError{URL: url, Host: h.Label, Job: h.Job, Instance: h.Instance, Fresh: h.Fresh, At: h.At}
}

// NotExported is a report the series do not carry: the page says so where it would be.
type NotExported struct {
	Report string // what is missing, as the page names it
	Why    string // and why, with what would bring it
}

func (e *NotExported) Error() string { return e.Report + " is not in the series: " + e.Why }

// Explanation tells what went wrong asking the engine: the URL, what failed, the engine's own
// words, and what to do (diagnose.Explain gives it).
func (e *Error) Explanation() diagnose.Explanation {
	x := diagnose.Explanation{Detail: e.Message}
	switch e.Kind {
	case KindUnreachable:
		x.Title = "The Prometheus API at " + e.URL + " is not answering"
		x.Fix = "Check that Prometheus (or VictoriaMetrics) is running there and that this host can reach it; --prometheus gives its address. The panels read from chronyd carry on."
	case KindTimeout:
		x.Title = fmt.Sprintf("The Prometheus API at %s did not answer a %s within %v", e.URL, e.Op, e.Timeout)
		x.Fix = "The engine is busy or the range is long for it: try again, a shorter range, or a longer --prometheus-timeout."
	case KindRejected:
		x.Title = fmt.Sprintf("The Prometheus API at %s refused a %s (%d)", e.URL, e.Op, e.Status)
		x.Fix = "The engine's words above say why. A 404 means --prometheus is not the API's base (Prometheus: http://HOST:9090; VictoriaMetrics: http://HOST:8428; behind a proxy, its path); a limit of the engine's (points, series, query length) can be raised in its flags."
	case KindFailed:
		x.Title = fmt.Sprintf("The Prometheus API at %s failed a %s (%d)", e.URL, e.Op, e.Status)
		x.Fix = "The engine's words above say why; its own log has more. The panel asks again at the next refresh."
	default:
		x.Title = "What answers at " + e.URL + " does not speak the Prometheus API"
		x.Fix = "--prometheus must be the base of a Prometheus-compatible HTTP API (where /api/v1/query answers)."
	}
	return x
}

// Explanation tells why a host has no values now, and where to look.
func (e *HostError) Explanation() diagnose.Explanation {
	if e.Fresh {
		return diagnose.Explanation{Title: e.Error(),
			Fix: "Its exporter answers but chronyd does not answer it: check chronyd on " + e.Host + ", and the exporter's access to it (its --chrony, or chrony_exporter's --chrony.address)."}
	}
	return diagnose.Explanation{Title: e.Error(),
		Fix: "Its exporter or the engine's scrape of it stopped: look at the target in Prometheus (Status, Targets) or in vmagent."}
}

// Explanation says what the series do not carry, and why.
func (e *NotExported) Explanation() diagnose.Explanation {
	return diagnose.Explanation{Title: e.Report + " is not in the series", Fix: e.Why}
}
