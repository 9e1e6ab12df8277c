package history

import (
	"math"

	"github.com/second-hand/second-hand/pkg/store"
)

// serving gathers what chronyd served, as rates between its samples of server statistics:
// the charts a host that serves time has below its clock's.
type serving struct {
	ntp, drop, logDrop, nke acc
	auth, interleaved       acc
	kernel, hardware        acc
	clients, active         acc
	prev                    *store.ServerSample
}

func newServing() *serving {
	s := &serving{}
	for _, a := range s.accs() {
		a.cols = make([]Col, Columns)
	}
	return s
}

func (s *serving) accs() []*acc {
	return []*acc{&s.ntp, &s.drop, &s.logDrop, &s.nke, &s.auth, &s.interleaved, &s.kernel, &s.hardware, &s.clients, &s.active}
}

// acc is the series of a rolled-up metric, nil for one that is not the server's.
func (s *serving) acc(metric string) *acc {
	switch metric {
	case store.MetricNTPRate:
		return &s.ntp
	case store.MetricNTPDropRate:
		return &s.drop
	case store.MetricLogDropRate:
		return &s.logDrop
	case store.MetricNTSKERate:
		return &s.nke
	case store.MetricAuthShare:
		return &s.auth
	case store.MetricInterleavedShare:
		return &s.interleaved
	case store.MetricKernelShare:
		return &s.kernel
	case store.MetricHardwareShare:
		return &s.hardware
	case store.MetricClients:
		return &s.clients
	case store.MetricActiveClients:
		return &s.active
	}
	return nil
}

// add takes a sample of the server statistics: the rates since the one before, in col.
func (s *serving) add(col int, cur store.ServerSample) {
	prev := s.prev
	s.prev = &cur
	if prev == nil {
		return
	}
	r, ok := store.ServerRates(*prev, cur)
	if !ok {
		return // chronyd restarted: its counters started over
	}
	for _, v := range store.ServerValues(r, cur) {
		s.acc(v.Name).add(col, v.Value)
	}
}

// any reports whether a series has a value other than zero: chronyd served something.
func nonZero(as ...*acc) bool {
	for _, a := range as {
		for _, c := range a.cols {
			if c.Has && (c.Max != 0 || c.Min != 0) {
				return true
			}
		}
	}
	return false
}

// charts are the serving charts, for a host that served anything in the range: NTP requests
// and what was dropped, NTS-KE connections, the shares of authenticated and interleaved
// requests, where timestamps were taken (chrony 4.5 and later), and the clients.
func (s *serving) charts(part func(*acc) Part) []Chart {
	if !nonZero(&s.ntp, &s.nke) {
		return nil
	}
	out := []Chart{lineChart("served", "NTP requests served", "/s",
		"NTP requests chronyd received per second between two samples, those it dropped (rate limiting), and the records its clients log dropped (clientloglimit). Not taken across a restart of chronyd, whose counters start over.",
		[]string{"requests", "dropped", "client log drops"}, part(&s.ntp), part(&s.drop), part(&s.logDrop))}
	if nonZero(&s.nke) {
		out = append(out, lineChart("nke", "NTS-KE connections", "/s", "NTS key exchange connections chronyd accepted per second.", []string{"NTS-KE"}, part(&s.nke)))
	}
	if s.auth.has() || s.interleaved.has() {
		out = append(out, lineChart("shares", "Authenticated and interleaved requests", "%",
			"The share of NTP requests that were authenticated (NTS or a symmetric key), and that came in interleaved mode.",
			[]string{"authenticated", "interleaved"}, part(&s.auth), part(&s.interleaved)))
	}
	if s.kernel.has() || s.hardware.has() {
		out = append(out, lineChart("stamps", "Receive timestamps", "%",
			"Where chronyd took the receive timestamps of NTP requests: the kernel's share and the network card's (the rest are chronyd's own). Reported by chrony 4.5 and later.",
			[]string{"kernel", "hardware"}, part(&s.kernel), part(&s.hardware)))
	}
	if s.clients.has() {
		c := lineChart("clients", "Clients", "",
			"How many clients chronyd's clients log lists at each sample, and how many of them sent a request since the sample before (the log is kept in limited memory: clientloglimit).",
			[]string{"in the log", "active"}, part(&s.clients), part(&s.active))
		c.Min = math.Min(c.Min, 0)
		out = append(out, c)
	}
	return out
}
