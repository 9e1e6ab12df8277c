package diagnose

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// The findings' ids. They are stable: alert rules, scripts and notifications match on them.
const (
	IDChronydUnreachable      = "chronyd-unreachable"
	IDNoSources               = "no-sources"
	IDNoSourceReachable       = "no-source-reachable"
	IDNoSelectableSource      = "no-selectable-source"
	IDWaitingForSamples       = "waiting-for-samples"
	IDMinSources              = "minsources-not-met"
	IDLocalClockOnly          = "local-clock-only"
	IDNotSynchronised         = "not-synchronised"
	IDReferenceUnreachable    = "reference-unreachable"
	IDReferenceUnsynchronised = "reference-unsynchronised"
	IDUpdateLate              = "update-late"
	IDClockErrorHigh          = "clock-error-high"
	IDOffsetHigh              = "offset-high"
	IDNoRedundancy            = "no-redundancy"
	IDFalseticker             = "falseticker"
	IDJittery                 = "source-jittery"
	IDNeverAnswered           = "source-never-answered"
	IDRefclockNoSamples       = "refclock-no-samples"
	IDSourceUnreachable       = "source-unreachable"
	IDSourceUnresolved        = "source-unresolved"
	IDSourcesOffline          = "sources-offline"
	IDNoSelect                = "noselect"
	IDLeapSecond              = "leap-second"
	IDNTSFailing              = "nts-failing"
	IDNTPDrops                = "ntp-drops"
	IDClientLogFull           = "client-log-full"
	IDRestarted               = "restarted"
)

// MaxClockErrorPPM is chronyd's default maxclockerror: how fast, at least, the bound on the
// clock's error grows between updates (chrony.conf(5)).
const MaxClockErrorPPM = 1.0

// RecommendedSources is how many sources chrony's FAQ asks for: "For reliable operation, the
// client should have at least three servers."
const RecommendedSources = 3

// Diagnose judges one host from in. It never reads anything: what in does not hold is listed
// as unchecked.
func Diagnose(in Input) Diagnosis {
	in.Thresholds = in.Thresholds.orDefault()
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	j := &judge{in: in, d: Diagnosis{Host: in.Host, At: in.Tracking.At}}
	j.run()
	slices.SortStableFunc(j.d.Findings, func(a, b Finding) int { return int(b.Severity) - int(a.Severity) })
	for i := range j.d.Findings {
		if f := &j.d.Findings[i]; !f.Since.Known() && f.Since.Why == "" {
			f.Since.Why = "nothing records since when"
		}
	}
	if !j.unknown {
		j.d.State = OK
		for _, f := range j.d.Findings {
			j.d.State = max(j.d.State, f.Severity.State())
		}
	}
	if j.d.Findings == nil {
		j.d.Findings = []Finding{}
	}
	if j.d.Checked == nil {
		j.d.Checked = []string{}
	}
	if j.d.Unchecked == nil {
		j.d.Unchecked = []Unchecked{}
	}
	return j.d
}

// judge holds one diagnosis in the making.
type judge struct {
	in Input
	d  Diagnosis

	t       chrony.Tracking
	at      time.Time // when the sources were read (else tracking)
	sources []chrony.Source
	facts   []fact // one per source
	ref     int    // index of the reference source; -1 for none
	covered map[string]bool
	unknown bool // nothing was read: the state is unknown
}

// fact is what is known of one source.
type fact struct {
	s     chrony.Source
	key   string
	label string
	sel   *chrony.Selection
	ntp   *chrony.NTPData
	auth  *chrony.AuthData
	hist  SourceHistory
}

func (f fact) reachable() bool { return f.s.Reach != 0 }

// stale: the source gave no good sample in its last two polls (its reach register's last two
// bits are clear), or its last sample is older than three polls (it answers, but its packets
// fail chronyd's tests).
func (f fact) stale() bool {
	if f.s.Reach&3 == 0 {
		return true
	}
	poll := f.s.Poll()
	return f.s.LastSampleAgo != chrony.NeverSampled && f.s.LastSampleAgo > 3*poll+time.Second
}

func (f fact) used() bool {
	if f.sel != nil {
		return f.sel.Used()
	}
	return f.s.State == chrony.StateSelected || f.s.State == chrony.StateSelectable
}

func (f fact) noselect() bool {
	return f.sel != nil && (f.sel.State == 'N' || f.sel.Configured&chrony.OptNoSelect != 0)
}

// votes: the source takes part in chronyd's vote on the true time (it could outvote a wrong
// one, or be outvoted): it answers, and chronyd considers its interval.
func (f fact) votes() bool {
	if !f.reachable() || f.s.Unresolved {
		return false
	}
	if f.sel != nil {
		return strings.IndexByte("*+WPUDx~TS", f.sel.State) >= 0
	}
	switch f.s.State {
	case chrony.StateSelected, chrony.StateSelectable, chrony.StateUnselected, chrony.StateFalseticker, chrony.StateJittery:
		return true
	}
	return false
}

func (j *judge) add(f Finding) {
	j.d.Findings = append(j.d.Findings, f)
	if j.covered == nil {
		j.covered = map[string]bool{}
	}
	j.covered[f.ID] = true
}

func (j *judge) run() {
	in := j.in
	if !in.Tracking.OK() {
		j.unanswered()
		return
	}
	j.t = in.Tracking.Val
	j.d.Synchronised = j.t.Synchronised()
	if j.d.Synchronised {
		j.d.MaxErrorSeconds = j.t.MaxErrorSeconds()
	}
	j.at = in.Tracking.At
	j.unchecked()
	j.ref = -1
	if in.Sources.OK() {
		j.sources = in.Sources.Val
		j.at = in.Sources.At
		j.indexSources()
		j.ref = refIndex(j.t, j.sources)
	}
	switch {
	case !j.t.Synchronised():
		j.notSynchronised()
	case j.t.RefID == chrony.RefIDLocal:
		j.localOnly()
	default:
		j.reference()
	}
	j.thresholds()
	j.leap()
	if in.Sources.OK() {
		j.redundancy()
		j.sourceStates()
		j.unanswering()
		j.offline()
		j.noSelect()
		j.nts()
	}
	j.serving()
	j.restart()
	j.checked()
}

// unanswered: the tracking report could not be read.
func (j *judge) unanswered() {
	in := j.in
	err := in.Tracking.Err
	var ce *chrony.Error
	if err == nil || errors.Is(err, ErrNotYet) || errors.As(err, &ce) && ce.Kind == chrony.KindClosed {
		j.unknown = true
		why := "not read yet"
		if err != nil {
			why = err.Error()
		}
		j.d.Unchecked = append(j.d.Unchecked, Unchecked{What: "chronyd's reports", Why: why})
		return
	}
	x := Explain(err, in.Endpoint)
	f := Finding{ID: IDChronydUnreachable, Severity: Critical, Text: x.Title, Fix: x.Fix}
	if x.Detail != "" {
		f.Evidence = append(f.Evidence, text("error", x.Detail))
	}
	if ce != nil && ce.Kind == chrony.KindTimeout {
		f.Evidence = append(f.Evidence, count("requests sent", float64(ce.Attempts)))
	}
	f.Since = j.silentSince()
	if f.Since.Known() {
		// The host's one banner says since when: "not answering since 05:38:34 UTC (1 min)".
		f.Text += ", " + f.Since.Phrase(in.Now)
	}
	f.Text += "."
	if f.Since.Known() && f.Since.From == "history" {
		f.Links = append(f.Links, Link{Label: "the silence in the history", At: f.Since.At})
	}
	j.add(f)
	j.d.Unchecked = append(j.d.Unchecked, Unchecked{What: "the clock and its sources", Why: "chronyd does not answer"})
}

func (j *judge) silentSince() Since {
	h := j.in.History
	switch {
	case h.Known && !h.Silent.IsZero():
		return Since{At: h.Silent, From: "history"}
	case !j.in.Unanswered.IsZero():
		// Its first failed read here: chronyd may have stopped before it.
		return Since{At: j.in.Unanswered, AtLeast: true, From: "second-hand", Why: "second-hand's first read that failed"}
	case h.Known:
		return Since{Why: "the history has not recorded the silence yet"}
	}
	return Since{Why: historyWhy(h)}
}

func historyWhy(h History) string {
	if h.Why != "" {
		return h.Why
	}
	return "there is no history to say"
}

// unchecked lists the reports that could not be read, and why.
func (j *judge) unchecked() {
	in := j.in
	add := func(what string, err error) {
		if err == nil {
			return
		}
		if report, ok := socketOnlyReport(err); ok {
			j.d.Unchecked = append(j.d.Unchecked, Unchecked{What: what, SocketOnly: true,
				Why: "chronyd gives it only on its Unix socket, and second-hand reads it over UDP", Fix: socketFixes[report]})
			return
		}
		x := Explain(err, in.Endpoint)
		j.d.Unchecked = append(j.d.Unchecked, Unchecked{What: what, Why: x.Title, Fix: x.Fix})
	}
	add("sources (sources)", in.Sources.Err)
	add("source statistics (sourcestats)", in.SourceStats.Err)
	add("activity (activity)", in.Activity.Err)
	add("why each source is or is not used (selectdata)", in.Selection.Err)
	add("serving time (serverstats)", in.ServerStats.Err)
	for _, a := range sortedAddrs(in.NTP) {
		if r := in.NTP[a]; r.Err != nil && !IsSocketOnly(r.Err) {
			add("the last packet of "+a.String()+" (ntpdata)", r.Err)
		}
	}
	for _, a := range sortedAddrs(in.Auth) {
		if r := in.Auth[a]; r.Err != nil && !IsSocketOnly(r.Err) {
			add("the authentication of "+a.String()+" (authdata)", r.Err)
		}
	}
}

func sortedAddrs[T any](m map[netip.Addr]T) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

func (j *judge) indexSources() {
	in := j.in
	var rows []chrony.Selection
	if in.Selection.OK() {
		rows = in.Selection.Val
	}
	j.facts = make([]fact, len(j.sources))
	for i, s := range j.sources {
		f := fact{s: s, key: SourceKey(s), label: sourceLabel(s)}
		if k := SelectionFor(rows, i, s.Address, s.Name); k >= 0 {
			f.sel = &rows[k]
		}
		if r, ok := in.NTP[s.Address]; ok && r.OK() && s.Address.IsValid() {
			f.ntp = &r.Val
		}
		if r, ok := in.Auth[s.Address]; ok && r.OK() && s.Address.IsValid() {
			f.auth = &r.Val
		}
		if in.History.Known {
			f.hist = in.History.Sources[f.key]
		}
		j.facts[i] = f
	}
}

// sourceLabel names a source in a sentence: its name, with its address when they differ; a
// reference clock says what it is.
func sourceLabel(s chrony.Source) string {
	switch {
	case s.Mode == chrony.ModeRefClock:
		return "reference clock " + s.Name
	case s.Unresolved:
		return s.Name + " (name not resolved)"
	case s.Address.IsValid() && s.Address.String() != s.Name:
		return s.Name + " (" + s.Address.String() + ")"
	}
	return s.Name
}

func (j *judge) link(f fact) Link { return Link{Label: f.label, Source: f.key} }

// notSynchronised says why chronyd has no reference, as far as its reports tell.
func (j *judge) notSynchronised() {
	since := j.unsyncSince()
	in := j.in
	if !in.Sources.OK() {
		j.add(Finding{ID: IDNotSynchronised, Severity: Critical, Since: since,
			Text: "Not synchronised; the sources report could not be read to say why."})
		return
	}
	if len(j.facts) == 0 {
		j.add(Finding{ID: IDNoSources, Severity: Critical, Since: since,
			Text: "Not synchronised: chronyd has no time sources.",
			Fix:  "Add sources to chrony.conf, such as \"pool pool.ntp.org iburst\" or \"server ntp.example.net iburst\" (three or more), and restart chronyd."})
		return
	}
	var answering []fact
	for _, f := range j.facts {
		if f.reachable() && !f.s.Unresolved {
			answering = append(answering, f)
		}
	}
	if len(answering) == 0 {
		f := Finding{ID: IDNoSourceReachable, Severity: Critical, Since: since,
			Text: fmt.Sprintf("Not synchronised: none of its %s answers.", plural(len(j.facts), "source", "sources"))}
		never, stopped := 0, 0
		for _, s := range j.facts {
			f.Evidence = append(f.Evidence, text(s.label, j.unreachableWords(s)))
			f.Links = append(f.Links, j.link(s))
			if neverSampled(s.s, in.History) {
				never++
			} else {
				stopped++
			}
		}
		if stopped > 0 {
			f.Text = fmt.Sprintf("Not synchronised: none of its %s answers any more.", plural(len(j.facts), "source", "sources"))
		}
		switch {
		case in.Activity.OK() && in.Activity.Val.Offline > 0 && in.Activity.Val.Offline >= len(j.facts):
			f.Text = "Not synchronised: chronyd has set its sources offline, so it does not poll them."
			f.Fix = "Run chronyc online (or remove the offline option from the source lines in chrony.conf)."
		case stopped == 0:
			f.Fix = "None has ever answered: check each source's address and port in chrony.conf (a typo?), that UDP port 123 to it is open in every firewall on the way, and that the name resolves (chronyc -N sources)."
		default:
			f.Fix = "Check that the sources are up and reachable from this host (chronyc ntpdata shows packets sent and received; ping them; UDP port 123 open), or add sources that are."
		}
		j.add(f)
		j.covered[IDNeverAnswered], j.covered[IDSourceUnreachable] = true, true
		j.covered[IDRefclockNoSamples], j.covered[IDSourceUnresolved] = true, true
		return
	}
	// Sources answer, but none is selectable: say why for each.
	waiting, minsources := 0, 0
	f := Finding{ID: IDNoSelectableSource, Severity: Critical, Since: since,
		Text: fmt.Sprintf("Not synchronised: %s %s, but chronyd can use none of them.", plural(len(answering), "source", "sources"),
			pick(len(answering) == 1, "answers", "answer"))}
	for _, s := range answering {
		why := j.whyUnused(s)
		f.Evidence = append(f.Evidence, text(s.label, why))
		f.Links = append(f.Links, j.link(s))
		switch {
		case s.sel != nil && (s.sel.State == 'M' || s.sel.State == 'w'):
			waiting++
		case s.sel == nil && j.fewSamples(s):
			waiting++
		case s.sel != nil && s.sel.State == 'W':
			minsources++
		}
	}
	switch {
	case waiting == len(answering):
		f.ID, f.Severity = IDWaitingForSamples, Warn
		f.Text = "Not synchronised yet: chronyd is collecting samples from its sources (it needs a few of each to judge them)."
		f.Fix = "Nothing to do if chronyd started moments ago; the iburst option of a server line makes the first samples come faster."
	case minsources > 0 && minsources+waiting == len(answering):
		f.ID = IDMinSources
		f.Text = fmt.Sprintf("Not synchronised: chronyd waits for more selectable sources than the %d it has (minsources).", minsources)
		f.Fix = "Add sources, or lower minsources in chrony.conf (its default is 1), or remove a require option from a source that does not answer."
	default:
		f.Fix = "See why each source is not used (its detail), and fix or replace those sources; chrony.conf's maxdistance and maxjitter bound what it accepts."
	}
	j.add(f)
	j.covered[IDFalseticker], j.covered[IDJittery] = true, true
}

// whyUnused is why a source that answers is not used, in words.
func (j *judge) whyUnused(f fact) string {
	var why string
	switch {
	case f.sel != nil:
		why, _ = selectionWhy(f.sel.State)
		if f.sel.State == 'd' {
			why += fmt.Sprintf("; its interval is %s wide", Seconds(f.sel.Hi-f.sel.Lo, false))
		}
	case f.s.State == chrony.StateFalseticker:
		why = "its time disagrees with the majority of the sources (a falseticker)"
	case f.s.State == chrony.StateJittery:
		why = "too much jitter compared with the other sources"
	case j.fewSamples(f):
		why = "waiting for more samples"
	case f.s.LastSampleAgo == chrony.NeverSampled:
		why = "it answers, but none of its packets passed chronyd's tests (a server that is not synchronised itself, at stratum 16, answers so); its ntpdata, on the socket, says which test fails"
	default:
		why = "chronyd cannot use it; its selection report (on the socket) says why"
	}
	if f.ntp != nil && f.ntp.Tests != 0x3ff && f.ntp.TotalRX > 0 {
		why += "; its last packet failed " + strings.Join(f.ntp.TestFailures(), ", ")
	}
	if f.ntp != nil && f.ntp.Leap == chrony.LeapUnsynchronised && f.ntp.TotalRX > 0 {
		why += "; it says it is not synchronised itself (leap status)"
	}
	return why
}

// fewSamples: the source statistics hold fewer samples of the source than chronyd needs to
// judge it (a regression needs three).
func (j *judge) fewSamples(f fact) bool {
	if !j.in.SourceStats.OK() {
		return false
	}
	for _, st := range j.in.SourceStats.Val {
		if Key(st.Name, st.Address) == f.key {
			return st.Samples < 3
		}
	}
	return false
}

func (j *judge) unsyncSince() Since {
	h := j.in.History
	switch {
	case !h.Known:
		return Since{Why: historyWhy(h) + ", and chronyd does not say when it lost its reference"}
	case h.Unsynchronised.IsZero():
		return Since{Why: "the history has not recorded it yet"}
	case !h.Restart.IsZero() && !h.Restart.After(h.Unsynchronised.Add(time.Minute)) && !h.Restart.Before(h.Unsynchronised.Add(-time.Minute)):
		return Since{At: h.Unsynchronised, From: "history", Why: "chronyd started then"}
	case !h.Unsynchronised.After(h.Start):
		return Since{At: h.Unsynchronised, AtLeast: true, From: "history", Why: "the record begins then"}
	}
	return Since{At: h.Unsynchronised, From: "history"}
}

func (j *judge) unreachableWords(f fact) string {
	if f.s.Unresolved {
		return "its name does not resolve (yet)"
	}
	return Unreachable(f.s, j.in.History, j.at)
}

// localOnly: synchronised to its own clock (the local directive) only.
func (j *judge) localOnly() {
	f := Finding{ID: IDLocalClockOnly, Severity: Warn,
		Text: "Synchronised to its own local clock only (the local directive): no time source is used, so its time is only as right as it was set.",
		Fix:  "If this host should follow other clocks, check its sources; if it is meant to be the top of an isolated network, this is expected."}
	for _, s := range j.facts {
		if !s.used() {
			f.Evidence = append(f.Evidence, text(s.label, j.unreachableOrUnused(s)))
		}
	}
	if h := j.in.History; h.Known && !h.Unsynchronised.IsZero() {
		f.Since = Since{Why: "the history records synchronisation, not which reference"}
	}
	j.add(f)
}

func (j *judge) unreachableOrUnused(f fact) string {
	if !f.reachable() || f.s.Unresolved {
		return j.unreachableWords(f)
	}
	return "answers, not used: " + j.whyUnused(f)
}

// reference: synchronised to a source. Is it still answering, and is the last update late?
func (j *judge) reference() {
	t := j.t
	if j.ref < 0 {
		return
	}
	r := j.facts[j.ref]
	if r.sel != nil && r.sel.Leap == chrony.LeapUnsynchronised && r.s.Mode != chrony.ModeRefClock {
		j.add(Finding{ID: IDReferenceUnsynchronised, Severity: Critical,
			Text:     "Synchronised to " + r.label + ", which says it is not synchronised itself.",
			Evidence: []Evidence{text("its leap status", r.sel.Leap.String()), count("its stratum", float64(r.s.Stratum))},
			Fix:      "Check " + r.label + "'s own sources (chronyc tracking on it); add other sources here so that chronyd can leave it.",
			Links:    []Link{j.link(r)}})
	}
	if r.stale() {
		j.coasting(r)
		return
	}
	age := j.in.Tracking.At.Sub(t.RefTime)
	limit := LateAfter(t, r.s.Poll().Seconds(), j.in.Thresholds)
	if !t.RefTime.IsZero() && age > limit {
		j.add(Finding{ID: IDUpdateLate, Severity: Warn,
			Text: fmt.Sprintf("The last clock update was %s ago, more than %d of its update intervals or of %s's polls.", Ago(age), j.in.Thresholds.LatePolls, r.label),
			Evidence: []Evidence{secs("last update", age.Seconds()), secs("update interval", t.UpdateIntervalSeconds),
				secs("polling interval of "+r.label, r.s.Poll().Seconds())},
			Since: Since{At: t.RefTime, From: "chronyd"},
			Fix:   "chronyd gets samples but does not update the clock: check its log for \"Can't synchronise\" or a frequency error, and that no other program steers the clock.",
			Links: []Link{j.link(r)}})
	}
}

// coasting: the reference stopped giving samples. The clock runs on its last estimate of the
// frequency, and the bound on its error grows.
func (j *judge) coasting(r fact) {
	t := j.t
	var others []string
	for i, f := range j.facts {
		if i != j.ref && f.votes() && !f.stale() && f.s.State != chrony.StateFalseticker {
			others = append(others, f.label)
		}
	}
	ratePPM := t.SkewPPM + math.Abs(t.ResidualFrequencyPPM) + MaxClockErrorPPM
	f := Finding{ID: IDReferenceUnreachable, Severity: Critical, Links: []Link{j.link(r)}}
	what := "stopped answering"
	if r.reachable() && r.s.Reach&3 != 0 {
		what = "answers, but gives no good sample"
		if r.ntp != nil && r.ntp.Tests != 0x3ff {
			what += " (its packets fail " + strings.Join(r.ntp.TestFailures(), ", ") + ")"
		}
	}
	if r.s.Mode == chrony.ModeRefClock {
		what = "gives no samples"
	}
	f.Since = unreachableSince(r.s, j.in.History, j.at)
	when := ""
	if f.Since.Known() {
		when = " " + Ago(max(j.at.Sub(f.Since.At), 0)) + " ago"
		f.Links = append(f.Links, Link{Label: "the moment in the history", At: f.Since.At})
	}
	growth := Seconds(ratePPM*1e-6*60, false)
	if len(others) == 0 {
		f.Text = fmt.Sprintf("Coasting: its reference %s %s%s; the clock runs on its last frequency estimate and its error bound grows by about %s a minute.",
			r.label, what, when, growth)
		f.Fix = "Check that " + r.label + " is up and reachable from this host (ping it; UDP port 123 open; chronyc ntpdata " + r.key + "), and add more sources so that chronyd can switch to another."
	} else {
		f.Severity = Warn
		f.Text = fmt.Sprintf("Its reference %s %s%s; chronyd should switch to %s at its next selection.", r.label, what, when, strings.Join(others, " or "))
		f.Fix = "Check that " + r.label + " is up and reachable from this host (ping it; UDP port 123 open; chronyc ntpdata " + r.key + ")."
	}
	f.Evidence = []Evidence{
		text("reach", strconv.FormatUint(uint64(r.s.Reach), 8)),
		secs("last update of the clock", max(j.in.Tracking.At.Sub(t.RefTime), 0).Seconds()),
		secs("maximum clock error now", t.MaxErrorSeconds()),
		{Label: "error bound growth", Value: growth + " a minute (skew + |residual frequency| + maxclockerror " + PPM(MaxClockErrorPPM, false) + ")",
			Number: ptr(ratePPM), Unit: "ppm"},
	}
	if r.s.LastSampleAgo != chrony.NeverSampled {
		f.Evidence = slices.Insert(f.Evidence, 1, secs("its last sample", r.s.LastSampleAgo.Seconds()))
	}
	j.add(f)
}

// thresholds: the bound on the clock's error and the system time offset, against the host's
// thresholds.
func (j *judge) thresholds() {
	if !j.t.Synchronised() {
		return
	}
	th := j.in.Thresholds
	maxErr, off := j.t.MaxErrorSeconds(), j.t.SystemTimeOffsetSeconds()
	if maxErr > th.MaxClockError.Seconds() {
		j.add(Finding{ID: IDClockErrorHigh, Severity: Critical,
			Text: fmt.Sprintf("The clock may be %s off: the bound on its error is above %s.", Seconds(maxErr, false), Seconds(th.MaxClockError.Seconds(), false)),
			Evidence: []Evidence{secs("maximum clock error", maxErr), secs("system time offset", math.Abs(off)),
				secs("root dispersion", j.t.RootDispersionSeconds), secs("root delay", j.t.RootDelaySeconds),
				secs("threshold (--max-clock-error)", th.MaxClockError.Seconds())},
			Since: j.aboveSince(func(s Sample) float64 { return s.MaxErrorSeconds }, th.MaxClockError.Seconds()),
			Fix:   "Use closer or better sources (a smaller root delay and dispersion), or a reference clock; or raise --max-clock-error if this bound is acceptable here."})
	}
	if math.Abs(off) > th.MaxOffset.Seconds() {
		j.add(Finding{ID: IDOffsetHigh, Severity: Warn,
			Text:     fmt.Sprintf("The system clock is %s: more than %s.", FastSlowPhrase(off), Seconds(th.MaxOffset.Seconds(), false)),
			Evidence: []Evidence{secs("system time offset", off), secs("threshold (--max-offset)", th.MaxOffset.Seconds())},
			Since:    j.aboveSince(func(s Sample) float64 { return math.Abs(s.OffsetSeconds) }, th.MaxOffset.Seconds()),
			Fix:      "chronyd slews the clock back slowly; after a large step (a resume, a new RTC) this passes. If it stays, let chronyd step it (makestep 1 3 in chrony.conf) and check that no other program sets the clock."})
	}
}

// aboveSince is since when a value of the recent samples has been above limit: the first of
// the last run of samples above it, at least since the oldest recent sample when all are.
func (j *judge) aboveSince(value func(Sample) float64, limit float64) Since {
	h := j.in.History
	if !h.Known || len(h.Recent) == 0 {
		return Since{Why: historyWhy(h)}
	}
	i := len(h.Recent)
	for i > 0 && value(h.Recent[i-1]) > limit {
		i--
	}
	switch {
	case i == len(h.Recent):
		return Since{Why: "the last sample recorded was below it"}
	case i == 0:
		return Since{At: h.Recent[0].T, AtLeast: true, From: "history", Why: "every recent sample recorded is above it"}
	}
	return Since{At: h.Recent[i].T, From: "history"}
}

// leap: a leap second announced, and for when.
func (j *judge) leap() {
	l := j.t.Leap
	if l != chrony.LeapInsert && l != chrony.LeapDelete {
		return
	}
	day := LeapDay(j.in.Tracking.At)
	what, moment := "inserted", "23:59:60"
	if l == chrony.LeapDelete {
		what, moment = "deleted", "23:59:59 (skipped)"
	}
	j.add(Finding{ID: IDLeapSecond, Severity: Warn,
		Text:     fmt.Sprintf("A leap second is announced: a second is to be %s at %s UTC on %s.", what, moment, day.Format("2006-01-02")),
		Evidence: []Evidence{text("leap status", l.String())},
		Since:    Since{Why: "chronyd does not say when it was announced; the history's events do"},
		Fix:      "Nothing to do if it is right (chrony.conf's leapsecmode says how the clock takes it). If no leap second is due, a source announces a wrong one: find it (chronyc selectdata's Leap column) and remove it."})
}

// LeapDay is the day at whose end an announced leap second takes effect: leap seconds are
// inserted at the end of June 30 or December 31 (UTC), and announced during the month before.
func LeapDay(at time.Time) time.Time {
	at = at.UTC()
	y := at.Year()
	june, dec := time.Date(y, 6, 30, 0, 0, 0, 0, time.UTC), time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC)
	switch {
	case !at.After(june.Add(24*time.Hour - time.Nanosecond)):
		return june
	case !at.After(dec.Add(24*time.Hour - time.Nanosecond)):
		return dec
	}
	return time.Date(y+1, 6, 30, 0, 0, 0, 0, time.UTC)
}

// redundancy: enough sources to outvote a wrong one.
func (j *judge) redundancy() {
	if !j.t.Synchronised() || j.t.RefID == chrony.RefIDLocal {
		return
	}
	var voting []fact
	for _, f := range j.facts {
		if f.votes() {
			voting = append(voting, f)
		}
	}
	n := len(voting)
	if n == 0 || n >= RecommendedSources {
		return
	}
	f := Finding{ID: IDNoRedundancy, Severity: Warn, Since: Since{Why: "a matter of configuration"},
		Evidence: []Evidence{count("sources that answer and are usable", float64(n)), count("recommended (chrony's FAQ)", RecommendedSources)},
		Fix: "Add sources (chrony's FAQ asks for at least three): more server lines (\"server ntp2.example.net iburst\"), or \"pool pool.ntp.org iburst\" (up to 4 of its servers). " +
			"Sources that are not usable (unreachable, noselect) do not count."}
	for _, v := range voting {
		f.Links = append(f.Links, j.link(v))
	}
	if n == 1 {
		f.Text = "Only one usable source (" + voting[0].label + "): if its time is wrong, nothing can tell."
	} else {
		f.Text = "Only two usable sources (" + voting[0].label + " and " + voting[1].label + "): if they disagree, chronyd cannot tell which is right."
	}
	j.add(f)
}

// sourceStates: falsetickers and sources too variable to use.
func (j *judge) sourceStates() {
	for _, kind := range []struct {
		id    string
		state chrony.SourceState
		sel   byte
		one   string
		fix   string
	}{
		{IDFalseticker, chrony.StateFalseticker, 'x', "its time disagrees with the majority of the sources (a falseticker), so chronyd does not use it",
			"Check that source's time (chronyc ntpdata ADDRESS on this host, chronyc tracking on it); if it stays wrong, remove it from chrony.conf or give it the noselect option."},
		{IDJittery, chrony.StateJittery, '~', "its measurements vary too much to be used (more than maxjitter, 1 s by default)",
			"Look at the network path to it (its peer delay varies); a closer source, or a larger maxjitter in chrony.conf if its jitter is expected."},
	} {
		if j.covered[kind.id] {
			continue
		}
		var hit []fact
		for _, f := range j.facts {
			if f.reachable() && (f.s.State == kind.state || f.sel != nil && f.sel.State == kind.sel) {
				hit = append(hit, f)
			}
		}
		if len(hit) == 0 {
			continue
		}
		f := Finding{ID: kind.id, Severity: Warn, Fix: kind.fix}
		var names []string
		var first time.Time
		for _, h := range hit {
			names = append(names, h.label)
			f.Links = append(f.Links, j.link(h))
			f.Evidence = append(f.Evidence, j.sourceEvidence(h)...)
			if hs := h.hist; !hs.StateSince.IsZero() && hs.State == kind.state && (first.IsZero() || hs.StateSince.Before(first)) {
				first = hs.StateSince
			}
		}
		if len(hit) == 1 {
			f.Text = upper(names[0]) + ": " + kind.one + "."
		} else {
			f.Text = strings.Join(names, ", ") + ": " + strings.Replace(strings.Replace(kind.one, "its", "their", 1), "does not use it", "does not use them", 1) + "."
		}
		switch {
		case !first.IsZero():
			f.Since = Since{At: first, From: "history"}
		default:
			f.Since = Since{Why: historyWhy(j.in.History) + " of when chronyd marked it"}
			if j.in.History.Known {
				f.Since.Why = "the history has not recorded the change"
			}
		}
		j.add(f)
	}
}

// upper begins a sentence with a list of sources: a reference clock's label is capitalised,
// a host name is left as it is written.
func upper(s string) string {
	if rest, ok := strings.CutPrefix(s, "reference clock"); ok {
		return "Reference clock" + rest
	}
	return s
}

// sourceEvidence are the numbers of a source: its offset and error, and its interval at the
// last selection.
func (j *judge) sourceEvidence(f fact) []Evidence {
	var out []Evidence
	if f.s.LastSampleAgo != chrony.NeverSampled {
		out = append(out, secs(f.label+": offset", f.s.AdjustedOffsetSeconds), secs(f.label+": error bound", f.s.ErrorSeconds))
	}
	if f.sel != nil && f.sel.Hi > f.sel.Lo {
		out = append(out, text(f.label+": interval", Seconds(f.sel.Lo, true)+" to "+Seconds(f.sel.Hi, true)))
	}
	return out
}

// unanswering: sources that never answered (a typo, a firewall), that stopped, or whose name
// does not resolve, other than the reference (coasting says that).
func (j *judge) unanswering() {
	if j.covered[IDNeverAnswered] {
		return
	}
	var never, stopped, unresolved []fact
	for i, f := range j.facts {
		switch {
		case i == j.ref && j.covered[IDReferenceUnreachable]:
		case f.s.Unresolved:
			unresolved = append(unresolved, f)
		case f.reachable():
		case neverSampled(f.s, j.in.History):
			never = append(never, f)
		default:
			stopped = append(stopped, f)
		}
	}
	var refclocks, servers []fact
	for _, n := range never {
		if n.s.Mode == chrony.ModeRefClock {
			refclocks = append(refclocks, n)
		} else {
			servers = append(servers, n)
		}
	}
	if len(servers) > 0 {
		f := j.neverFinding(IDNeverAnswered, servers)
		f.Text = upper(joinLabels(servers)) + " " + pick(len(servers) == 1, "has", "have") +
			" never answered: a typo in the address, a wrong port or a firewall is more likely than a server that is down."
		f.Fix = "Check the address and port in chrony.conf, that UDP port 123 to it is open in every firewall on the way, and that it serves NTP (chronyd -Q \"server ADDRESS iburst\" tries it once)."
		j.add(f)
	}
	if len(refclocks) > 0 {
		f := j.neverFinding(IDRefclockNoSamples, refclocks)
		f.Text = upper(joinLabels(refclocks)) + " " + pick(len(refclocks) == 1, "has", "have") + " given no sample."
		f.Fix = "Check the refclock line in chrony.conf and the device or program behind it (gpsd, a PPS device, the SHM segment)."
		j.add(f)
	}
	if len(stopped) > 0 {
		f := Finding{ID: IDSourceUnreachable, Severity: Warn}
		var names []string
		var latest Since
		for _, s := range stopped {
			names = append(names, s.label)
			f.Links = append(f.Links, j.link(s))
			f.Evidence = append(f.Evidence, text(s.label, j.unreachableWords(s)))
			if since := unreachableSince(s.s, j.in.History, j.at); since.Known() && (!latest.Known() || since.At.Before(latest.At)) {
				latest = since
			}
		}
		f.Since = latest
		if !latest.Known() {
			f.Since = Since{Why: historyWhy(j.in.History)}
		}
		verb := "has stopped answering"
		if len(stopped) > 1 {
			verb = "have stopped answering"
		}
		f.Text = upper(strings.Join(names, ", ")) + " " + verb + "."
		f.Fix = "Check that it is up and reachable from this host (ping it; UDP port 123 open); replace it in chrony.conf if it is gone for good."
		j.add(f)
	}
	if len(unresolved) > 0 {
		f := Finding{ID: IDSourceUnresolved, Severity: Warn, Since: Since{Why: "chronyd does not say since when"}}
		var names []string
		for _, u := range unresolved {
			names = append(names, u.s.Name)
		}
		f.Text = plural(len(unresolved), "source name does", "source names do") + " not resolve (" + strings.Join(names, ", ") + "): chronyd keeps trying."
		f.Fix = "Check the names in chrony.conf and this host's DNS (getent hosts NAME); chronyd resolves them again by itself."
		j.add(f)
	}
}

// neverFinding is a finding of sources that never answered, with their evidence.
func (j *judge) neverFinding(id string, fs []fact) Finding {
	f := Finding{ID: id, Severity: Warn, Since: j.firstSince(fs)}
	for _, n := range fs {
		f.Links = append(f.Links, j.link(n))
		f.Evidence = append(f.Evidence, text(n.label, j.unreachableWords(n)))
		if n.ntp != nil && n.ntp.TotalTX > 0 {
			f.Evidence = append(f.Evidence, count(n.label+": packets sent", float64(n.ntp.TotalTX)), count(n.label+": received", float64(n.ntp.TotalRX)))
		}
	}
	return f
}

func joinLabels(fs []fact) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.label
	}
	return strings.Join(names, ", ")
}

// firstSince is the earliest moment some source stopped answering (or was first seen without
// ever answering).
func (j *judge) firstSince(fs []fact) Since {
	var out Since
	for _, f := range fs {
		s := unreachableSince(f.s, j.in.History, j.at)
		if s.Known() && (!out.Known() || s.At.Before(out.At)) {
			out = s
		}
	}
	if !out.Known() {
		out.Why = historyWhy(j.in.History) + "; chronyd keeps no time of its start"
		if j.in.History.Known {
			out.Why = "the history has no record of it yet"
		}
	}
	return out
}

// offline: sources chronyd does not poll.
func (j *judge) offline() {
	a := j.in.Activity
	if !a.OK() || a.Val.Offline+a.Val.BurstOffline == 0 || j.covered[IDNoSourceReachable] {
		return
	}
	n := a.Val.Offline + a.Val.BurstOffline
	j.add(Finding{ID: IDSourcesOffline, Severity: Warn,
		Text:     fmt.Sprintf("chronyd has set %s offline: it does not poll %s.", plural(n, "source", "sources"), pick(n == 1, "it", "them")),
		Evidence: []Evidence{count("offline", float64(n)), count("online", float64(a.Val.Online))},
		Since:    Since{Why: "chronyd does not say since when"},
		Fix:      "chronyc online (or remove the offline option from the source lines in chrony.conf)."})
}

// noSelect: sources with the noselect option: information, not a fault.
func (j *judge) noSelect() {
	var names []string
	var links []Link
	for _, f := range j.facts {
		if f.noselect() {
			names = append(names, f.label)
			links = append(links, j.link(f))
		}
	}
	if len(names) == 0 {
		return
	}
	j.add(Finding{ID: IDNoSelect, Severity: Info, Links: links,
		Text:  upper(strings.Join(names, ", ")) + " " + pick(len(names) == 1, "has", "have") + " the noselect option: measured, never used to set the clock.",
		Since: Since{Why: "it is configured so"},
		Fix:   "Nothing to do if that is meant; remove noselect from its line in chrony.conf to use it."})
}

// nts: sources with NTS whose key exchange fails.
func (j *judge) nts() {
	for _, f := range j.facts {
		a := f.auth
		if a == nil || a.Mode != chrony.AuthNTS {
			continue
		}
		failing := a.NAK || a.Cookies == 0 && (a.KEAttempts > 0 || a.LastKEAgo == chrony.Never)
		if !failing {
			continue
		}
		fd := Finding{ID: IDNTSFailing, Severity: Warn, Links: []Link{j.link(f)},
			Evidence: []Evidence{count("NTS-KE attempts since the last success", float64(a.KEAttempts)), count("cookies", float64(a.Cookies)),
				text("NAK", pick(a.NAK, "yes", "no"))},
			Fix: "Check that " + f.label + " answers NTS-KE (TCP port 4460, or its ntsport), that its certificate is trusted here (ntstrustedcerts, or the system's CAs) and that this clock is within the certificate's dates; chronyc authdata shows the attempts."}
		switch {
		case a.NAK:
			fd.Text = "NTS with " + f.label + " fails: it refused the last cookie (NAK)."
		case a.LastKEAgo == chrony.Never:
			fd.Text = fmt.Sprintf("NTS with %s fails: no key exchange has succeeded (%d tried), so it has no cookies.", f.label, a.KEAttempts)
		default:
			fd.Text = fmt.Sprintf("NTS with %s fails: %d key exchanges tried since the last success %s ago, and no cookies left.", f.label, a.KEAttempts, Ago(a.LastKEAgo))
		}
		if a.LastKEAgo != chrony.Never {
			fd.Evidence = append(fd.Evidence, secs("last successful key exchange", a.LastKEAgo.Seconds()))
			fd.Since = Since{At: j.at.Add(-a.LastKEAgo), AtLeast: true, From: "chronyd", Why: "the last key exchange that succeeded"}
		} else {
			fd.Since = Since{Why: "chronyd does not say since when"}
		}
		j.add(fd)
	}
}

// serving: what chronyd drops as a server.
func (j *judge) serving() {
	cur, prev := j.in.ServerStats, j.in.PrevServerStats
	if !cur.OK() || cur.Val.NTPPackets == 0 {
		return
	}
	c := cur.Val
	if prev.OK() && prev.At.Before(cur.At) && c.NTPPackets >= prev.Val.NTPPackets {
		p, secs := prev.Val, cur.At.Sub(prev.At).Seconds()
		if d := c.NTPDropped - min(p.NTPDropped, c.NTPDropped); d > 0 {
			j.add(Finding{ID: IDNTPDrops, Severity: Warn,
				Text: fmt.Sprintf("chronyd dropped %d NTP requests in the last %s (rate limiting).", d, Ago(cur.At.Sub(prev.At))),
				Evidence: []Evidence{{Label: "dropped a second", Value: strconv.FormatFloat(float64(d)/secs, 'f', 1, 64) + "/s", Number: ptr(float64(d) / secs), Unit: "1/s"},
					count("dropped since chronyd started", float64(c.NTPDropped)), count("answered since chronyd started", float64(c.NTPPackets))},
				Since: Since{At: prev.At, AtLeast: true, From: "chronyd", Why: "between its last two reads"},
				Fix:   "If these are your own clients, raise or remove the ratelimit directive in chrony.conf; otherwise a client asks too often (chronyc clients shows which)."})
		}
		if d := c.ClientLogDropped - min(p.ClientLogDropped, c.ClientLogDropped); d > 0 {
			j.add(Finding{ID: IDClientLogFull, Severity: Warn,
				Text:     fmt.Sprintf("chronyd's client log is full: it dropped %d client records in the last %s, so rate limiting and interleaved mode forget clients.", d, Ago(cur.At.Sub(prev.At))),
				Evidence: []Evidence{count("records dropped since chronyd started", float64(c.ClientLogDropped))},
				Since:    Since{At: prev.At, AtLeast: true, From: "chronyd", Why: "between its last two reads"},
				Fix:      "Raise clientloglimit in chrony.conf (its default, 524288 bytes, holds about 4096 clients)."})
		}
		return
	}
	if c.NTPDropped > 0 {
		j.add(Finding{ID: IDNTPDrops, Severity: Info,
			Text:     fmt.Sprintf("chronyd has dropped %d NTP requests since it started (rate limiting).", c.NTPDropped),
			Evidence: []Evidence{count("dropped", float64(c.NTPDropped)), count("answered", float64(c.NTPPackets))},
			Since:    Since{Why: "a second read of the counters says whether it still drops"},
			Fix:      "If these are your own clients, raise or remove the ratelimit directive in chrony.conf."})
	}
}

// restart: chronyd restarted recently, as the history saw it.
func (j *judge) restart() {
	h := j.in.History
	if !h.Known || h.Restart.IsZero() || j.in.Now.Sub(h.Restart) > j.in.Thresholds.RecentRestart {
		return
	}
	j.add(Finding{ID: IDRestarted, Severity: Info,
		Text:  "chronyd restarted " + Ago(max(j.in.Now.Sub(h.Restart), 0)) + " ago.",
		Since: Since{At: h.Restart, From: "history"},
		Links: []Link{{Label: "the restart in the history", At: h.Restart}}})
}

// checked says what was looked at: for a healthy host, why it is believed right.
func (j *judge) checked() {
	add := func(s string) { j.d.Checked = append(j.d.Checked, s) }
	t := j.t
	switch {
	case !t.Synchronised():
		add("not synchronised")
	case t.RefID == chrony.RefIDLocal:
		add("synchronised to its local clock")
	default:
		ref := t.Reference()
		if j.ref >= 0 {
			ref = j.facts[j.ref].label
		}
		add("synchronised to " + ref)
	}
	if j.in.Sources.OK() {
		reachable, agreeing := 0, 0
		for _, f := range j.facts {
			if f.reachable() {
				reachable++
			}
			if f.reachable() && (f.s.State == chrony.StateSelectable || f.s.State == chrony.StateUnselected) {
				agreeing++
			}
		}
		add(fmt.Sprintf("%d of %s reachable", reachable, plural(len(j.facts), "source", "sources")))
		if t.Synchronised() && t.RefID != chrony.RefIDLocal {
			add(fmt.Sprintf("%d agreeing with the selected one", agreeing))
		}
	}
	if t.Synchronised() {
		add("clock error " + Seconds(t.MaxErrorSeconds(), false))
		add("offset " + Seconds(t.SystemTimeOffsetSeconds(), true))
	}
}

// pick is a if cond, else b.
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func ptr(v float64) *float64 { return &v }

func text(label, value string) Evidence { return Evidence{Label: label, Value: value} }

func secs(label string, v float64) Evidence {
	return Evidence{Label: label, Value: Seconds(v, false), Number: ptr(v), Unit: "s"}
}

func count(label string, n float64) Evidence {
	return Evidence{Label: label, Value: strconv.FormatFloat(n, 'f', -1, 64), Number: ptr(n)}
}
