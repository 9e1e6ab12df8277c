package chrony

import "context"

// Reporter is anything that answers chronyd's reports: the Client, and whatever wraps it (a
// cache, a fake in tests).
type Reporter interface {
	Tracking(ctx context.Context) (Tracking, error)
	Sources(ctx context.Context) ([]Source, error)
	SourceStats(ctx context.Context) ([]SourceStats, error)
	RTC(ctx context.Context) (RTC, error)
	// Endpoint names the chronyd address in use, for the page and for error messages.
	Endpoint() string
}

var _ Reporter = (*Client)(nil)
