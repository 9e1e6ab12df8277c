package panels

import (
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/engine"
)

// SourceDetail is what chronyd says of one source, for its detail fragment: its row of the
// sources report and of the source statistics, where it stood at the last selection (with the
// other sources' intervals), and for an NTP source its last packet and its authentication.
// Each part has its own error: over UDP the socket-only parts explain how to get them while
// the others show.
type SourceDetail struct {
	Key   string // the source in the URL: its address, or a reference clock's ref ID
	Panel string // the panel it opens in: sources or sourcestats
	URL   string // the fragment's own relative URL, with ?in=Panel

	Found      bool
	Source     chrony.Source
	Stats      *chrony.SourceStats
	SourcesErr error

	Selection    []chrony.Selection
	Index        int // of this source in Selection; -1 when it is not there
	SelectionErr error

	NTP     *chrony.NTPData
	NTPErr  error
	Auth    *chrony.AuthData
	AuthErr error

	// History is what the host's record knows, for how long the source has not answered.
	History diagnose.History
}

// DetailID is the id of a source's detail row in a panel: the key with each byte but letters
// and digits written as '-' and its two hexadecimal digits, so that two keys never share an id
// (".." and "?#" would both be "--" with the bytes merely replaced).
func DetailID(panel, key string) string {
	var b strings.Builder
	b.WriteString("detail-" + panel + "-")
	for _, c := range []byte(key) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("-" + hex.EncodeToString([]byte{c}))
	}
	return b.String()
}

// SourceKey is how a source is named in its detail's URL: its address, or a reference
// clock's ref ID (its name); an unresolved source has none.
func SourceKey(name string, addr string) string {
	if addr != "" {
		return addr
	}
	return name
}

// SourceURL is the relative URL of a source's detail from its host's page: sources/ and the
// key as one path segment (SourceSegment).
func SourceURL(key string) string { return "sources/" + SourceSegment(key) }

// SourceSegment writes a source's key as one path segment that every browser resolves under
// sources/, whatever chronyd reported: a reference clock's ID can be "..", "a/b" or "%2e". An
// address or a name of letters, digits, '.', ':', '-' and '_' is written as it is, unless it
// is "." or ".." (which a browser resolves as a step up); any other key is '~' and its bytes in
// hexadecimal.
func SourceSegment(key string) string {
	plain := key != "" && key != "." && key != ".."
	for _, c := range []byte(key) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == ':' || c == '-' || c == '_') {
			plain = false
			break
		}
	}
	if plain {
		return key
	}
	return "~" + hex.EncodeToString([]byte(key))
}

// KeyOfSegment reads a source's key from its URL's segment (SourceSegment); ok is false for a
// segment SourceSegment does not make.
func KeyOfSegment(segment string) (key string, ok bool) {
	if h, escaped := strings.CutPrefix(segment, "~"); escaped {
		b, err := hex.DecodeString(h)
		if err != nil || SourceSegment(string(b)) != segment {
			return "", false
		}
		return string(b), true
	}
	return segment, SourceSegment(segment) == segment
}

// detailToggle is a source's name in a panel's table: a button that opens the source's detail
// in the row below it, and closes it again (the page's script does both). Unresolved sources
// have no detail: their name is plain text.
//
// Both are in every row of two panels rendered at every refresh of every open page, so they
// write their markup directly, as textValue does; every value in it is escaped.
//
// The toggles of a table are one stop of the keyboard's (first is the one Tab reaches); the
// arrows go from one to the next (the page's script, data-roving on the table).
func detailToggle(panelID, key string, name g.Node, first bool) g.Node {
	if !hasDetail(key) {
		return name
	}
	id := DetailID(panelID, key)
	tabindex := "-1"
	if first {
		tabindex = "0"
	}
	return g.Group{
		g.NodeFunc(func(w io.Writer) error {
			_, err := io.WriteString(w, `<button id="toggle-`+strings.TrimPrefix(id, "detail-")+`" type="button" class="source-toggle" tabindex="`+tabindex+`" data-detail="`+
				html.EscapeString(SourceURL(key)+"?in="+panelID)+`" aria-controls="`+id+`" aria-expanded="false" title="Show why this source is or is not used">`)
			return err
		}),
		name,
		g.Raw("</button>"),
	}
}

// hasDetail: a source with this key has a detail (an unresolved source has none).
func hasDetail(key string) bool { return key != "" && !strings.HasPrefix(key, "ID#") }

// detailRow is the row under a source that its detail opens in. htmx keeps it, open or
// closed, when the panel around it is refreshed (hx-preserve).
func detailRow(panelID, key string, cols int) g.Node {
	if !hasDetail(key) {
		return nil
	}
	return g.NodeFunc(func(w io.Writer) error {
		_, err := io.WriteString(w, `<tr id="`+DetailID(panelID, key)+`" class="detail-row" hx-preserve="true" hidden><td colspan="`+strconv.Itoa(cols)+`"></td></tr>`)
		return err
	})
}

// SourceDetailFragment is a source's detail: a verdict in words on top, then the selection,
// the NTP measurements and the authentication. It reloads itself with the page's refresh and
// with its reload button; the close button and a second click on the source close it.
func SourceDetailFragment(r Result[SourceDetail]) g.Node {
	d := r.Data
	m := r.meta()
	title := d.Key
	if d.Found {
		title = sourceLabel(d.Source)
	}
	id := "source-" + strings.TrimPrefix(DetailID(d.Panel, d.Key), "detail-")
	return Div(ID(id), Class("source-detail"), Data("panel", "detail"), Role("region"), Aria("label", "Source "+title),
		g.If(m.next > 0, Data("next-ms", strconv.FormatInt(m.next.Milliseconds(), 10))),
		hx.Get(d.URL), hx.Trigger("panel-refresh"), hx.Swap("outerHTML"), hx.Sync("this:drop"),
		Div(Class("detail-head"),
			H3(g.Text(title)),
			status(m),
			Button(ID(id+"-reload"), Type("button"), Class("reload"), Aria("label", "Reload the detail of "+title),
				hx.Get(d.URL+"&fresh=1"), hx.Target("closest .source-detail"), hx.Swap("outerHTML"),
				hx.Sync("closest .source-detail:drop"), hx.Indicator("closest .source-detail"),
				Span(Aria("hidden", "true"), g.Text("↻ ")), Span(Class("reload-word"), g.Text("Reload"))),
			Button(ID(id+"-close"), Type("button"), Class("close"), Data("close-detail", ""), Aria("label", "Close the detail of "+title),
				Span(Aria("hidden", "true"), g.Text("✕ ")), g.Text("Close")),
		),
		g.Iff(d.SourcesErr != nil, func() g.Node { return sectionError(d.SourcesErr, r.Endpoint) }),
		g.Iff(d.SourcesErr == nil && !d.Found, func() g.Node {
			return P(Class("empty"), g.Text("chronyd has no source "+d.Key+" any more (it was removed, or a pool replaced it)."))
		}),
		g.Iff(d.SourcesErr == nil && d.Found, func() g.Node { return detailBody(d, r.Endpoint, r.At) }),
	)
}

func sourceLabel(s chrony.Source) string {
	if s.Address.IsValid() && s.Address.String() != s.Name {
		return s.Name + " (" + s.Address.String() + ")"
	}
	return s.Name
}

func detailBody(d SourceDetail, endpoint string, at time.Time) g.Node {
	text, h := Verdict(d, at)
	return g.Group{
		P(withHealth("verdict", h), Data("field", "verdict"),
			g.If(h.Symbol() != "", Span(Class("sym"), Aria("hidden", "true"), g.Text(h.Symbol()+" "))), g.Text(text)),
		Div(Class("detail-sections"),
			Section(Class("detail-section"), H4(g.Text("Selection")),
				g.Iff(d.SelectionErr != nil, func() g.Node { return sectionError(d.SelectionErr, endpoint) }),
				g.Iff(d.SelectionErr == nil && d.Index >= 0, func() g.Node { return selectionBody(d) }),
				g.Iff(d.SelectionErr == nil && d.Index < 0, func() g.Node {
					return P(Class("empty"), g.Text("chronyd's selection report has no row for this source yet."))
				}),
			),
			g.Iff(d.Source.Mode != chrony.ModeRefClock, func() g.Node {
				return g.Group{
					Section(Class("detail-section"), H4(g.Text("Last NTP packet")),
						g.Iff(d.NTPErr != nil, func() g.Node { return sectionError(d.NTPErr, endpoint) }),
						g.Iff(d.NTPErr == nil && d.NTP != nil, func() g.Node { return ntpBody(*d.NTP) }),
					),
					Section(Class("detail-section"), H4(g.Text("Authentication")),
						g.Iff(d.AuthErr != nil, func() g.Node { return sectionError(d.AuthErr, endpoint) }),
						g.Iff(d.AuthErr == nil && d.Auth != nil, func() g.Node { return authBody(*d.Auth, d.Source.Reach != 0 || d.Source.Sampled()) }),
					),
				}
			}),
		),
	}
}

// sectionError is a part of the detail that could not be read: for a report chronyd gives
// only on its socket, how to get it; else the error as panels show it.
func sectionError(err error, endpoint string) g.Node {
	var ne *engine.NotExported
	if errors.As(err, &ne) {
		// Not a failure: what a host read from a time-series engine cannot show, and why.
		return Div(Class("access-note"), Data("access", "not-exported"),
			P(g.Text(ne.Report+" is not in the series.")), P(Class("error-fix"), g.Text(ne.Why)))
	}
	if diagnose.IsSocketOnly(err) {
		x := diagnose.Explain(err, endpoint)
		return Div(Class("access-note"), Data("access", "socket-only"),
			P(g.Text(x.Title+".")), P(Class("error-fix"), Strong(g.Text("To see it: ")), g.Text(x.Fix)))
	}
	return errorBox(err, endpoint)
}

// Verdict is the source's verdict (package diagnose judges), with the colour that goes with it.
func Verdict(d SourceDetail, at time.Time) (string, Health) {
	f := diagnose.SourceFacts{Source: d.Source, At: at, History: d.History}
	if d.SelectionErr == nil && d.Index >= 0 && d.Index < len(d.Selection) {
		f.Selection = &d.Selection[d.Index]
	}
	if d.NTPErr == nil {
		f.NTP = d.NTP
	}
	text, tone := diagnose.Verdict(f)
	return text, health(tone)
}

func selectionBody(d SourceDetail) g.Node {
	s := d.Selection[d.Index]
	opts := func(o chrony.SelectOptions) string {
		if n := o.Names(); len(n) > 0 {
			return strings.Join(n, ", ")
		}
		return "none"
	}
	sampled := d.Source.Sampled()
	last, lastRaw := "none yet", "never"
	switch {
	case !sampled || s.LastSampleAgo == chrony.NeverSampled:
	case s.LastSampleAgo < time.Second:
		last, lastRaw = "just before the selection", "0"
	default:
		last, lastRaw = Ago(s.LastSampleAgo)+" before the selection", strconv.FormatInt(int64(s.LastSampleAgo/time.Second), 10)
	}
	var interval g.Node
	switch {
	case s.HasInterval():
		interval = g.Group{value("select-lo", s.Lo, Seconds(s.Lo, true)), g.Text(" to "), value("select-hi", s.Hi, Seconds(s.Hi, true))}
	case !sampled:
		interval = unknownValue("select-interval", "none yet (no sample)")
	default:
		interval = unknownValue("select-interval", "not computed: the source takes no part in the selection")
	}
	leap := textValue("select-leap", s.Leap.String(), s.Leap.String())
	score := textValue("select-score", strconv.FormatFloat(s.Score, 'f', 1, 64), strconv.FormatFloat(s.Score, 'f', 1, 64))
	if !sampled {
		leap = unknownValue("select-leap", "unknown (no packet yet)")
		score = unknownValue("select-score", "none yet")
	}
	return g.Group{
		Dl(Class("facts"),
			selState.show(g.Group{textValue("select-state", string(rune(s.State)), string(rune(s.State))), g.Text(" "), g.Text(s.Reason())}),
			selOptions.show(g.Group{textValue("select-options", s.Configured.Letters(), opts(s.Configured)),
				g.If(s.Effective != s.Configured, g.Group{g.Text("; in effect: "), textValue("select-effective", s.Effective.Letters(), opts(s.Effective))})}),
			selAuth.show(textValue("select-auth", yesNo(s.Authenticated), yesNoWords(s.Authenticated))),
			selLeap.show(leap),
			selScore.show(score),
			selInterval.show(interval),
			selLast.show(textValue("select-last", lastRaw, last)),
		),
		intervals(d.Selection, d.Index),
	}
}

// unknownValue is a value chronyd does not have, in words ("unknown", "none yet"), where chronyc
// prints a placeholder.
func unknownValue(field, words string) g.Node {
	return Span(Class("empty-value"), textValue(field, "", words))
}

var (
	selState    = newDetail("", "State", "Where the source stood at chronyd's last source selection, and why.")
	selOptions  = newDetail("", "Options", "Its selection options in chrony.conf (noselect, prefer, trust, require).")
	selAuth     = newDetail("", "Authentication", "Whether its packets are authenticated (NTS or a symmetric key).")
	selLeap     = newDetail("", "Leap status", "The leap status the source reports.")
	selScore    = newDetail("", "Score", "Its score against the selected source: above 1 it did better in recent selections; at 10 chronyd switches to it.")
	selInterval = newDetail("", "Offset interval", "The interval expected to hold this clock's offset from the true time by this source, given its root distance (+ this clock ahead).")
	selLast     = newDetail("", "Last sample", "How old its newest sample was at the selection.")
)

func yesNo(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func yesNoWords(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// intervals draws every source's offset interval on one scale, this source's marked, with
// the zero of this clock: the picture of a falseticker is an interval far from the others.
func intervals(rows []chrony.Selection, this int) g.Node {
	lo, hi := 0.0, 0.0
	n := 0
	for _, r := range rows {
		if r.Hi > r.Lo {
			lo, hi = math.Min(lo, r.Lo), math.Max(hi, r.Hi)
			n++
		}
	}
	if n == 0 || hi <= lo {
		return nil
	}
	pad := (hi - lo) * 0.05
	lo, hi = lo-pad, hi+pad
	x := func(v float64) float64 { return (v - lo) / (hi - lo) * 1000 }
	const rowH = 16
	var bars []g.Node
	var labels []g.Node
	i := 0
	for k, r := range rows {
		if r.Hi <= r.Lo {
			continue
		}
		cls := "iv"
		if k == this {
			cls = "iv this"
		}
		y := i*rowH + 3
		bars = append(bars, g.El("rect", Class(cls), g.Attr("x", f1(x(r.Lo))), g.Attr("y", strconv.Itoa(y)),
			g.Attr("width", f1(math.Max(x(r.Hi)-x(r.Lo), 2))), g.Attr("height", "10"),
			g.El("title", g.Text(r.Name+": "+Seconds(r.Lo, true)+" to "+Seconds(r.Hi, true)))))
		labels = append(labels, Li(g.If(k == this, Class("this")), g.Text(r.Name+": "+Seconds(r.Lo, true)+" to "+Seconds(r.Hi, true))))
		i++
	}
	h := i*rowH + 6
	zero := x(0)
	return Figure(Class("intervals"),
		g.El("svg", g.Attr("viewBox", "0 0 1000 "+strconv.Itoa(h)), g.Attr("preserveAspectRatio", "none"), Class("intervals-svg"),
			Role("img"), Aria("label", "Each source's offset interval on one scale, this source's marked"),
			g.El("line", Class("zero"), g.Attr("x1", f1(zero)), g.Attr("x2", f1(zero)), g.Attr("y1", "0"), g.Attr("y2", strconv.Itoa(h))),
			g.Group(bars)),
		FigCaption(g.Text("Offset intervals at the last selection, from "+Seconds(lo, true)+" to "+Seconds(hi, true)+"; the line is this clock (0).")),
		Ul(Class("interval-list"), g.Group(labels)),
	)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

var (
	ntpRemote   = newDetail("", "Remote", "The source's address and port.")
	ntpLocal    = newDetail("", "Local address", "The address chronyd used to talk to it.")
	ntpHeader   = newDetail("", "Packet", "Leap status, NTP version, mode and stratum of its last packet.")
	ntpPoll     = newDetail("", "Poll, precision", "Its polling interval and the precision of its clock.")
	ntpRoot     = newDetail("", "Root delay, dispersion", "The delay and error it reports up to its stratum-1 source.")
	ntpRef      = newDetail("", "Reference", "Its reference ID and when it last updated its clock.")
	ntpOffset   = newDetail("", "Offset", "This clock's offset from the source by its last packet (+ this clock ahead; chronyc's ntpdata prints it the other way round, as NTP counts).")
	ntpDelay    = newDetail("", "Peer delay, dispersion", "The round trip to it, and the error of the measurement.")
	ntpResponse = newDetail("", "Response time", "How long the source took to answer; jitter asymmetry estimates how the jitter splits between the two directions.")
	ntpTestsRow = newDetail("", "Tests", "RFC 5905's tests and chrony's on the last packet (chronyc's 111 111 1111: every one passed).")
	ntpModes    = newDetail("", "Interleaved, authenticated", "Whether the last packet was in interleaved mode, and authenticated.")
	ntpStamps   = newDetail("", "Timestamps", "Where the transmit and receive timestamps were taken: by chronyd, the kernel or the network card.")
	ntpCounts   = newDetail("", "Packets", "Sent, received, valid and good packets since the source was added.")
	ntpHW       = newDetail("", "Kernel and card timestamps", "Transmit and receive timestamps taken by the kernel and by the network card (chrony 4.4 and later).")
)

// ntpBody is the source's last packet; for a source no valid packet came from, what is known
// instead: where chronyd sends its requests, how many, and that none was answered.
func ntpBody(n chrony.NTPData) g.Node {
	u := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
	counts := ntpCounts.show(g.Group{textValue("ntp-tx", u(n.TotalTX), u(n.TotalTX)), g.Text(" sent, "), textValue("ntp-rx", u(n.TotalRX), u(n.TotalRX)),
		g.Text(" received, "), textValue("ntp-valid", u(n.TotalValidRX), u(n.TotalValidRX)), g.Text(" valid, "),
		textValue("ntp-good", u(n.TotalGoodRX), u(n.TotalGoodRX)), g.Text(" good")})
	remote := ntpRemote.show(g.Group{textValue("ntp-remote", addrString(n.Remote), addrString(n.Remote)), g.Text(" port "),
		textValue("ntp-port", strconv.Itoa(n.RemotePort), strconv.Itoa(n.RemotePort))})
	if !n.Received() {
		what := "No packet received yet: chronyd has sent it " + plural(int(n.TotalTX), "request", "requests") + ", and none was answered."
		if n.TotalRX > 0 {
			what = "No valid packet yet: " + u(n.TotalRX) + " of its " + u(n.TotalTX) + " requests were answered, none with a valid packet."
		}
		return g.Group{
			P(Class("empty-value"), Data("field", "no-packet"), g.Text(what)),
			Dl(Class("facts"), remote, counts),
		}
	}
	tests := "all passed"
	if f := n.TestFailures(); len(f) > 0 {
		tests = "failed: " + strings.Join(f, "; ")
	}
	return Dl(Class("facts"),
		remote,
		ntpLocal.show(textValue("ntp-local", addrString(n.Local), addrString(n.Local))),
		ntpHeader.show(g.Group{textValue("ntp-leap", n.Leap.String(), n.Leap.String()), g.Text(", version "),
			textValue("ntp-version", strconv.Itoa(n.Version), strconv.Itoa(n.Version)), g.Text(", "),
			textValue("ntp-mode", ntpModeName(n.Mode), ntpModeName(n.Mode)), g.Text(", stratum "),
			textValue("ntp-stratum", strconv.Itoa(n.Stratum), strconv.Itoa(n.Stratum))}),
		ntpPoll.show(g.Group{textValue("ntp-poll", strconv.Itoa(n.PollLog2), Interval(math.Ldexp(1, n.PollLog2))), g.Text(", precision "),
			textValue("ntp-precision", strconv.Itoa(n.PrecisionLog2), Seconds(math.Ldexp(1, n.PrecisionLog2), false))}),
		ntpRoot.show(g.Group{value("ntp-root-delay", n.RootDelaySeconds, Seconds(n.RootDelaySeconds, false)), g.Text(", "),
			value("ntp-root-dispersion", n.RootDispersionSeconds, Seconds(n.RootDispersionSeconds, false))}),
		ntpRef.show(g.Group{textValue("ntp-refid", fmt.Sprintf("%08X", n.RefID), fmt.Sprintf("%08X", n.RefID)), g.Text(", "),
			textValue("ntp-reftime", refTimeRaw(n.RefTime), refTimeShown(n.RefTime))}),
		ntpOffset.show(value("ntp-offset", n.LocalOffsetSeconds(), Seconds(n.LocalOffsetSeconds(), true))),
		ntpDelay.show(g.Group{value("ntp-peer-delay", n.PeerDelaySeconds, Seconds(n.PeerDelaySeconds, false)), g.Text(", "),
			value("ntp-peer-dispersion", n.PeerDispersionSeconds, Seconds(n.PeerDispersionSeconds, false))}),
		ntpResponse.show(g.Group{value("ntp-response", n.ResponseTimeSeconds, Seconds(n.ResponseTimeSeconds, false)), g.Text(", jitter asymmetry "),
			textValue("ntp-asymmetry", strconv.FormatFloat(n.JitterAsymmetry, 'f', 2, 64), strconv.FormatFloat(n.JitterAsymmetry, 'f', 2, 64))}),
		ntpTestsRow.show(g.Group{textValue("ntp-tests", n.TestBits(), n.TestBits()), g.Text(": " + tests)}),
		ntpModes.show(g.Group{textValue("ntp-interleaved", yesNoWord(n.Interleaved), yesNoWords(n.Interleaved)), g.Text(", "),
			textValue("ntp-authenticated", yesNoWord(n.Authenticated), yesNoWords(n.Authenticated))}),
		ntpStamps.show(g.Group{g.Text("transmit "), textValue("ntp-tx-stamping", stampingWord(n.TXStamping), stampingWord(n.TXStamping)),
			g.Text(", receive "), textValue("ntp-rx-stamping", stampingWord(n.RXStamping), stampingWord(n.RXStamping))}),
		counts,
		g.If(n.HasTimestampCounts, ntpHW.show(g.Group{g.Text("kernel "), textValue("ntp-kernel-tx", u(n.TotalKernelTX), u(n.TotalKernelTX)),
			g.Text(" sent, "), textValue("ntp-kernel-rx", u(n.TotalKernelRX), u(n.TotalKernelRX)), g.Text(" received; card "),
			textValue("ntp-hw-tx", u(n.TotalHWTX), u(n.TotalHWTX)), g.Text(" sent, "), textValue("ntp-hw-rx", u(n.TotalHWRX), u(n.TotalHWRX)),
			g.Text(" received")})),
	)
}

// plural is "1 request", "4 requests".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// addrString prints an address as chronyc does: [UNSPEC] for none.
func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return "[UNSPEC]"
	}
	return a.String()
}

// yesNoWord is chronyc's Yes or No.
func yesNoWord(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// ntpModeName is chronyc's word for an NTP mode.
func ntpModeName(m int) string {
	switch m {
	case 1:
		return "Active"
	case 2:
		return "Passive"
	case 4:
		return "Server"
	}
	return "Invalid"
}

// stampingWord is chronyc's word for where a timestamp was taken.
func stampingWord(c byte) string {
	switch c {
	case 'D':
		return "Daemon"
	case 'K':
		return "Kernel"
	case 'H':
		return "Hardware"
	}
	return "Invalid"
}

func refTimeRaw(t time.Time) string {
	if t.IsZero() {
		return "0.000000000"
	}
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

func refTimeShown(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

var (
	authMode    = newDetail("", "Mechanism", "NTS (Network Time Security), a symmetric key from the keyfile, or none.")
	authKey     = newDetail("", "Key", "The key's ID, type (chronyc's number) and length in bits.")
	authKE      = newDetail("", "Key exchange", "NTS-KE sessions tried since the last that succeeded, and how long ago that one was.")
	authCookies = newDetail("", "Cookies", "NTS cookies held and their length; a NAK means the server refused the last cookie.")
)

// authBody is the source's authentication. The advice to protect its packets with NTS is for a
// source that answers: of one that never did, what is wrong is elsewhere.
func authBody(a chrony.AuthData, answers bool) g.Node {
	last := "never"
	lastRaw := "4294967295"
	if a.LastKEAgo != chrony.Never {
		last = diagnose.AgoPhrase(a.LastKEAgo)
		lastRaw = strconv.FormatInt(int64(a.LastKEAgo/time.Second), 10)
	}
	modeRaw := map[chrony.AuthMode]string{chrony.AuthNone: "-", chrony.AuthSymmetric: "SK", chrony.AuthNTS: "NTS"}[a.Mode]
	if modeRaw == "" {
		modeRaw = "?"
	}
	i := strconv.Itoa
	return g.Group{
		Dl(Class("facts"),
			authMode.show(textValue("auth-mode", modeRaw, a.Mode.String())),
			g.If(a.Mode != chrony.AuthNone, g.Group{
				authKey.show(g.Group{g.Text("ID "), textValue("auth-key-id", strconv.FormatUint(uint64(a.KeyID), 10), strconv.FormatUint(uint64(a.KeyID), 10)),
					g.Text(", type "), textValue("auth-key-type", i(a.KeyType), i(a.KeyType)), g.Text(", "),
					textValue("auth-key-bits", i(a.KeyBits), i(a.KeyBits)), g.Text(" bits")}),
				authKE.show(g.Group{textValue("auth-ke-attempts", i(a.KEAttempts), i(a.KEAttempts)), g.Text(" attempts; last success "),
					textValue("auth-last-ke", lastRaw, last)}),
				authCookies.show(g.Group{textValue("auth-cookies", i(a.Cookies), i(a.Cookies)), g.Text(" of "),
					textValue("auth-cookie-length", i(a.CookieLength), i(a.CookieLength)), g.Text(" bytes; NAK "),
					textValue("auth-nak", map[bool]string{false: "0", true: "1"}[a.NAK], yesNoWords(a.NAK))}),
			}),
		),
		g.If(a.Mode == chrony.AuthNone && answers, P(Class("help"),
			g.Text("This source's packets are not authenticated: add nts to its server line (if it serves NTS) to protect them."))),
	}
}
