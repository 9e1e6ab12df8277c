package panels

import (
	"strings"

	"github.com/second-hand/second-hand/pkg/diagnose"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"
)

// Access is whether second-hand can read one of chronyd's reports, and if not why.
type Access struct {
	Report     string // chronyc's name of it
	Readable   bool
	Unknown    bool   // nothing to ask about (ntpdata with no NTP source)
	SocketOnly bool   // chronyd gives it only on its socket, and second-hand reads over UDP
	Reason     string // why not, when not
}

// AccessLine sums up access in one line, for /readyz: what can be read, and what cannot
// with why.
func AccessLine(as []Access) string {
	var yes, no []string
	socket := false
	for _, a := range as {
		switch {
		case a.Readable:
			yes = append(yes, a.Report)
		case a.Unknown:
		case a.SocketOnly:
			no = append(no, a.Report)
			socket = true
		default:
			no = append(no, a.Report+" ("+a.Reason+")")
		}
	}
	line := "reads " + strings.Join(yes, ", ")
	if len(yes) == 0 {
		line = "reads no report"
	}
	if len(no) > 0 {
		line += "; cannot read " + strings.Join(no, ", ")
		if socket {
			line += ": chronyd gives them only on its Unix socket. " + diagnose.SocketFix("<report>")
		}
	}
	return line
}

// AccessNote is the page footer's note of the reports second-hand can read from this
// chronyd, and how to get the others.
func AccessNote(endpoint string, as []Access) g.Node {
	var no []string
	socket := false
	for _, a := range as {
		if !a.Readable && !a.Unknown {
			no = append(no, a.Report)
			socket = socket || a.SocketOnly
		}
	}
	if len(no) == 0 {
		return P(ID("access-note"), Class("access"), Data("field", "access"),
			g.Text("Access: second-hand reads every report of chronyd at "+endpoint+", the socket-only ones included."))
	}
	return Div(ID("access-note"), Class("access"), Data("field", "access"),
		P(g.Text("Access: from chronyd at "+endpoint+", second-hand cannot read "), Strong(g.Text(strings.Join(no, ", "))),
			g.If(socket, g.Text(": chronyd gives these only on its Unix socket, so the per-source detail and the server panel show less."))),
		g.If(socket, P(Class("error-fix"), g.Text(diagnose.SocketFix("REPORT")))),
	)
}

// accessLoader is the footer's placeholder: it loads the note once the page has loaded.
func accessLoader() g.Node {
	return P(ID("access-note"), Class("access"), hx.Get("access"), hx.Trigger("load delay:1s"), hx.Swap("outerHTML"),
		g.Text("Access: checking which of chronyd's reports second-hand can read…"))
}
