package engine

import (
	"context"
	"net/netip"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/store"
)

// What the series do not carry, for a diagnosis: package diagnose lists them with why.
var (
	noSelection = &NotExported{Report: "chronyd's selection report (selectdata)",
		Why: "chronyd gives it only to a client that asks it on its socket; a second-hand that reads this chronyd there judges with it."}
	noActivity = &NotExported{Report: "chronyd's activity report",
		Why: "chrony_exporter does not export it (second-hand's /metrics does: chrony_activity_sources)."}
	noServer = &NotExported{Report: "chronyd's server statistics",
		Why: "they come from chronyd's socket only: second-hand exports them when it reads the socket, chrony_exporter with its serverstats collector."}
	noSources = &NotExported{Report: "each source",
		Why: "the overview reads only how many of a host's sources answered; the host's page judges its sources."}
)

// Input is what the series say of the host, for its diagnosis (package diagnose): its
// reports as the series rebuild them, and, not read with why, what they do not carry. The
// reachability register of each source is rebuilt from the two things the series say of it:
// how many of the last 8 polls were answered (the ratio) and whether the last one was.
func (r HostReport) Input(url string, now time.Time, th diagnose.Thresholds) diagnose.Input {
	in := r.Host.Input(url, now, th)
	if !in.Tracking.OK() {
		return in
	}
	at := r.At
	var srcs []chrony.Source
	for _, s := range r.SourceList {
		srcs = append(srcs, s.report())
	}
	in.Sources = diagnose.Read(srcs, at)
	in.SourceStats = diagnose.Read(r.Stats, at)
	in.Selection = diagnose.Failed[[]chrony.Selection](noSelection, at)
	if r.Activity != nil {
		in.Activity = diagnose.Read(*r.Activity, at)
	} else {
		in.Activity = diagnose.Failed[chrony.Activity](noActivity, at)
	}
	if r.HasServer {
		in.ServerStats = diagnose.Read(r.Server, at)
		if !r.PrevAt.IsZero() {
			in.PrevServerStats = diagnose.Read(r.Prev, r.PrevAt)
		}
	} else {
		in.ServerStats = diagnose.Failed[chrony.ServerStats](noServer, at)
	}
	return in
}

// Input of a host of the fleet, for the overview's row: its tracking, and its sources not read
// (the overview reads only how many answered).
func (h Host) Input(url string, now time.Time, th diagnose.Thresholds) diagnose.Input {
	in := diagnose.Input{Host: h.Name, Endpoint: url, Now: now, Thresholds: th,
		History: diagnose.History{Why: "the series' record is read for a host's page, not for the overview"}}
	if err := h.Err(url); err != nil {
		at := h.At
		if at.IsZero() {
			at = now
		}
		in.Tracking = diagnose.Failed[chrony.Tracking](err, at)
		return in
	}
	in.Tracking = diagnose.Read(h.Tracking, h.At)
	in.Sources = diagnose.Failed[[]chrony.Source](noSources, h.At)
	return in
}

// report is the source as chronyd's sources report has it.
func (s Source) report() chrony.Source {
	c := chrony.Source{Name: s.Name, Mode: s.Mode, State: s.State, Stratum: s.Stratum, PollLog2: s.PollLog2,
		Reach: register(s.Answered, s.LastAnswered), LastSampleAgo: chrony.NeverSampled,
		AdjustedOffsetSeconds: s.OffsetSeconds, MeasuredOffsetSeconds: s.OffsetSeconds, ErrorSeconds: s.ErrorSeconds}
	if a, err := netip.ParseAddr(s.Address); err == nil {
		c.Address = a
	}
	if s.Sampled {
		c.LastSampleAgo = s.LastSampleAgo
	}
	return c
}

// register rebuilds a reachability register from how many of the last 8 polls were answered
// and whether the last one was: the answered ones next to the last, which is how a source
// that answers now and then looks most of the time. Which of the older polls answered, the
// series do not say.
func register(answered int, last bool) uint8 {
	answered = min(max(answered, 0), 8)
	if last {
		return uint8(1<<answered - 1)
	}
	return uint8((1<<answered - 1) << 1)
}

// Moments is what the series' record says of when things happened to host, for its
// diagnosis: when it lost synchronisation, when chronyd stopped answering, when each source
// became unreachable or entered its state; read from the same queries as its events (the last
// day to 10 s, the month before to 5 min).
func (h *History) Moments(ctx context.Context, host string, now time.Time) diagnose.History {
	rec, err := h.record(ctx, host, now)
	if err != nil {
		return diagnose.History{Why: "the series' record cannot be read: " + err.Error()}
	}
	return momentsOf(rec)
}

func momentsOf(rec store.History) diagnose.History {
	m := diagnose.History{Known: true, Start: rec.From, Sources: map[string]diagnose.SourceHistory{}}
	if n := len(rec.Samples); n > 0 && rec.Samples[n-1].State == store.Unsynchronised {
		m.Unsynchronised = rec.Samples[n-1].T
	}
	if n := len(rec.Gaps); n > 0 && !rec.Gaps[n-1].End.Before(rec.To) {
		m.Silent = rec.Gaps[n-1].Start
	}
	for _, src := range rec.Sources {
		if len(src.Points) == 0 {
			continue
		}
		addr, _ := netip.ParseAddr(src.Address)
		ps := src.Points
		last := ps[len(ps)-1]
		sh := diagnose.SourceHistory{FirstSeen: ps[0].T, State: chrony.SourceState(last.State), StateSince: last.T}
		for i := len(ps) - 1; i >= 0 && ps[i].State == last.State; i-- {
			sh.StateSince = ps[i].T
		}
		if last.Reach == 0 {
			sh.Unreachable = last.T
			for i := len(ps) - 1; i >= 0 && ps[i].Reach == 0; i-- {
				sh.Unreachable = ps[i].T
			}
		}
		m.Sources[diagnose.Key(src.Name, addr)] = sh
	}
	return m
}
