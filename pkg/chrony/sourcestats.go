package chrony

import (
	"context"
	"net/netip"

	fb "github.com/facebook/time/ntp/chrony"
)

// SourceStats is one row of chronyd's sourcestats report: what its regression over a source's
// recent samples says about that source.
type SourceStats struct {
	Name    string     // as in Source.Name
	Address netip.Addr // invalid for reference clocks and unresolved sources
	RefID   uint32

	Samples     int // samples kept for the source (chronyc: NP)
	Runs        int // runs of residuals with the same sign (NR); few runs mean a poor fit
	SpanSeconds int // time between the oldest and newest sample

	FrequencyPPM       float64 // the source's estimated residual frequency
	FrequencySkewPPM   float64 // the error bound of FrequencyPPM
	OffsetSeconds      float64 // the source's estimated offset
	StdDevSeconds      float64 // the estimated sample standard deviation
	OffsetErrorSeconds float64 // the error bound of OffsetSeconds (not printed by chronyc sourcestats)
}

// SourceStats reads the statistics of every source, with its configured name.
func (c *Client) SourceStats(ctx context.Context) ([]SourceStats, error) {
	n, err := c.NumSources(ctx)
	if err != nil {
		return nil, err
	}
	return c.SourceStatsN(ctx, n)
}

// SourceStatsN reads the statistics of the first n sources, n from NumSources.
func (c *Client) SourceStatsN(ctx context.Context, n int) ([]SourceStats, error) {
	out := make([]SourceStats, 0, n)
	for i := range n {
		var s SourceStats
		var addr wireAddr
		err := c.roundTrip(ctx, sourceStatsRequest(i), func(reply []byte) (err error) {
			s, addr, err = decodeSourceStats(reply)
			return err
		})
		if err != nil {
			return nil, err
		}
		if addr.family != familyUnspec {
			if s.Name, err = c.sourceName(ctx, addr); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func decodeSourceStats(reply []byte) (SourceStats, wireAddr, error) {
	r, err := decodeAs[*fb.ReplySourceStats](reply)
	if err != nil {
		return SourceStats{}, wireAddr{}, err
	}
	wa := wireAddr{ip: r.IPAddr.IP, family: r.IPAddr.Family}
	s := SourceStats{
		Address:            wa.netip(),
		RefID:              r.RefID,
		Samples:            int(r.NSamples),
		Runs:               int(r.NRuns),
		SpanSeconds:        int(r.SpanSeconds),
		FrequencyPPM:       r.ResidFreqPPM,
		FrequencySkewPPM:   r.SkewPPM,
		OffsetSeconds:      r.EstimatedOffset,
		StdDevSeconds:      r.StandardDeviation,
		OffsetErrorSeconds: r.EstimatedOffsetErr,
	}
	if wa.family == familyUnspec {
		// A reference clock has no address; chronyc names it by its ref ID.
		s.Name = RefIDString(r.RefID)
	}
	return s, wa, nil
}
