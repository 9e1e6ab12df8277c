package diagnose

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// State is a host's overall state: the worst of its findings. Its zero value is Unknown, so
// that a diagnosis never claims more than was made; Metric is its number in /metrics.
type State int

const (
	Unknown State = iota // nothing read yet
	OK                   // nothing wrong was found in what was read
	Warning              // the clock is right, but something needs a look
	Failing              // the clock is not right, or may not be: no reference, too large an error, chronyd silent
)

// Metric is the state's value in the second_hand_diagnosis_state series: 0 ok, 1 warning,
// 2 failing, 3 unknown.
func (s State) Metric() int {
	switch s {
	case OK:
		return 0
	case Warning:
		return 1
	case Failing:
		return 2
	}
	return 3
}

func (s State) String() string {
	switch s {
	case OK:
		return "ok"
	case Warning:
		return "warning"
	case Failing:
		return "failing"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("state %d", int(s))
}

// Word is the state as a page's headline says it.
func (s State) Word() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "Warning"
	case Failing:
		return "Failing"
	}
	return "Unknown"
}

// Symbol goes with the state's colour, for those who cannot tell colours apart.
func (s State) Symbol() string {
	switch s {
	case OK:
		return "✓"
	case Warning:
		return "!"
	case Failing:
		return "✕"
	}
	return "?"
}

// Rank orders states worst first: failing, warning, unknown, ok.
func (s State) Rank() int {
	switch s {
	case Failing:
		return 0
	case Warning:
		return 1
	case Unknown:
		return 2
	}
	return 3
}

// MarshalText writes the state's name, so that JSON says "failing", not 2.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Severity is how much a finding matters.
type Severity int

const (
	Info     Severity = 0 // worth knowing; the state stays ok
	Warn     Severity = 1 // makes the state warning
	Critical Severity = 2 // makes the state failing
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warn:
		return "warning"
	case Critical:
		return "failing"
	}
	return fmt.Sprintf("severity %d", int(s))
}

// State is the host state a finding of this severity leads to.
func (s Severity) State() State {
	switch s {
	case Critical:
		return Failing
	case Warn:
		return Warning
	}
	return OK
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one thing found: what, how bad, the numbers it rests on, since when, the fix.
type Finding struct {
	// ID is stable, for alerts and scripts: "reference-unreachable", "no-redundancy".
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Text is one sentence in plain words.
	Text string `json:"text"`
	// Evidence are the numbers and facts the finding rests on.
	Evidence []Evidence `json:"evidence,omitempty"`
	Since    Since      `json:"since"`
	// Fix is what to do: a chrony.conf line, a command, or a network check.
	Fix string `json:"fix,omitempty"`
	// Links point at what shows it: a source's detail, a moment in the history's charts.
	Links []Link `json:"links,omitempty"`
}

// Evidence is one labelled value. Number and Unit are set for a measured value (in seconds,
// ppm, or a count), Value is how a person reads it.
type Evidence struct {
	Label  string   `json:"label"`
	Value  string   `json:"value"`
	Number *float64 `json:"number,omitempty"`
	Unit   string   `json:"unit,omitempty"`
}

// Since is since when a finding holds. Exact when a record says when it began (the history,
// or chronyd's own report such as a source's last sample); otherwise At is only a bound ("at
// least since"), or zero when nothing says, and Why says which and why.
type Since struct {
	At      time.Time `json:"at,omitzero"`
	AtLeast bool      `json:"at_least,omitempty"`
	// From is where the moment comes from: "history", "chronyd" (a report's own age).
	From string `json:"from,omitempty"`
	Why  string `json:"why,omitempty"`
}

// Known reports whether any moment is given.
func (s Since) Known() bool { return !s.At.IsZero() }

// Phrase says it in words, as of now: "since 12:03:10 UTC (4 min)", "for at least 2 min (...)".
func (s Since) Phrase(now time.Time) string {
	if s.At.IsZero() {
		if s.Why == "" {
			return ""
		}
		return "since when is not known: " + s.Why
	}
	d := max(now.Sub(s.At), 0)
	clock := s.At.UTC().Format("15:04:05 UTC")
	if d >= 24*time.Hour {
		clock = s.At.UTC().Format("2006-01-02 15:04 UTC")
	}
	if s.AtLeast {
		out := "for at least " + Ago(d)
		if s.Why != "" {
			out += " (" + s.Why + ")"
		}
		return out
	}
	return "since " + clock + " (" + Ago(d) + ")"
}

// Link is what a finding points at: a source's detail (its key: address, or a reference
// clock's letters) or a moment in the history's charts, or both.
type Link struct {
	Label  string    `json:"label"`
	Source string    `json:"source,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// Unchecked is something the diagnosis could not look at, and why: a report chronyd gives only
// on its Unix socket, read over UDP; a report that failed.
type Unchecked struct {
	What string `json:"what"`
	Why  string `json:"why"`
	Fix  string `json:"fix,omitempty"`
	// SocketOnly marks a report chronyd refused over UDP because it answers it only on its
	// socket: a matter of access, not a fault.
	SocketOnly bool `json:"socket_only,omitempty"`
}

// Diagnosis is what is known of a host's clock: its state, its findings worst first, what was
// checked and what could not be.
type Diagnosis struct {
	Host     string    `json:"host"`
	State    State     `json:"state"`
	Findings []Finding `json:"findings"`
	// Checked says in words what was looked at and found right: "3 sources reachable", "2
	// agreeing with the selected one", "clock error 45 µs".
	Checked   []string    `json:"checked"`
	Unchecked []Unchecked `json:"unchecked"`
	// MaxErrorSeconds is the bound on the clock's error, for ordering hosts; NaN-free: 0 when
	// not synchronised or not read.
	MaxErrorSeconds float64   `json:"max_error_seconds"`
	Synchronised    bool      `json:"synchronised"`
	At              time.Time `json:"read_at,omitzero"` // when the tracking report was read
}

// First is the finding that says most: the worst, first in order.
func (d Diagnosis) First() (Finding, bool) {
	if len(d.Findings) == 0 {
		return Finding{}, false
	}
	return d.Findings[0], true
}

// Headline is the state and the first finding, or what was checked, in one line.
func (d Diagnosis) Headline() string {
	if f, ok := d.First(); ok && f.Severity > Info {
		return f.Text
	}
	return d.Summary()
}

// Summary is what was checked, in one line.
func (d Diagnosis) Summary() string { return strings.Join(d.Checked, ", ") }

// Has reports whether a finding of id was made.
func (d Diagnosis) Has(id string) bool {
	for _, f := range d.Findings {
		if f.ID == id {
			return true
		}
	}
	return false
}

// Finding returns the finding of id.
func (d Diagnosis) Finding(id string) (Finding, bool) {
	for _, f := range d.Findings {
		if f.ID == id {
			return f, true
		}
	}
	return Finding{}, false
}

// JSON is the diagnosis as diagnosis.json gives it.
func (d Diagnosis) JSON() ([]byte, error) { return json.MarshalIndent(d, "", "  ") }
