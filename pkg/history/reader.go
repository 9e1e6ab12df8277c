package history

import (
	"context"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

// Reader is where the page reads a host's history: this second-hand's own store (*Service), or
// a time-series engine that scrapes second-hand or chrony_exporter (package engine). Both give
// the same views, events and trends, so that the panels draw either without knowing which.
type Reader interface {
	// Status is what the history panel says besides the history itself.
	Status(host string) Status
	// View is host's history over rng ending now, or centred on at when at is set and not
	// within the last half range.
	View(ctx context.Context, host string, rng Range, at, now time.Time) (View, error)
	// Events is what happened to host, newest first, and where reading stopped if it did.
	Events(ctx context.Context, host string, now time.Time) (EventLog, error)
	// Trend is host's last 24 hours of system time offset; ok is false when there is nothing
	// to draw.
	Trend(ctx context.Context, host string, now time.Time) (Trend, bool)
}

var _ Reader = (*Service)(nil)

// SourceName is how the charts and events name a source: its name, and its address when that
// differs.
func SourceName(s store.Source) string { return sourceLabel(s) }
