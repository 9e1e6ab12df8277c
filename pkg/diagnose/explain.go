package diagnose

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// Explanation is a failure told to a user: what happened, the details, and what to do.
type Explanation struct {
	Title  string
	Detail string
	Fix    string
}

// Explainer is an error that carries its own words: the failures of a time-series engine
// (package engine, which depends on this package and so cannot be named here). Explain gives
// them as they are.
type Explainer interface {
	error
	Explanation() Explanation
}

// Explain turns an error from reading chronyd into words a user can act on. It is the one
// place where error kinds become sentences; the panels and /readyz both use it.
func Explain(err error, endpoint string) Explanation {
	var x Explainer
	if errors.As(err, &x) {
		return x.Explanation()
	}
	var b *chrony.BudgetError
	if errors.As(err, &b) {
		return explainBudget(err, b, endpoint)
	}
	var e *chrony.Error
	if !errors.As(err, &e) {
		return Explanation{Title: "Could not read from chronyd", Detail: err.Error(),
			Fix: "This is not a chronyd error; the server log has more."}
	}
	addr := e.Addr
	if addr == "" {
		addr = endpoint
	}
	detail := ""
	if e.Err != nil {
		detail = e.Err.Error()
	}
	switch e.Kind {
	case chrony.KindUnreachable:
		fix := "Check that chronyd is running (systemctl status chrony). If it listens elsewhere, point --chrony at it: " +
			"the path of its bindcmdaddress socket, or the host and cmdport it answers on over UDP."
		if addr == "auto" {
			fix = "second-hand looked for chronyd's socket in /run/chrony and /var/run/chrony and on UDP port 323 of " +
				"127.0.0.1 and ::1. Start chronyd, or set --chrony to where it listens."
		}
		return Explanation{Title: "chronyd is not answering at " + addr, Detail: detail, Fix: fix}
	case chrony.KindPermission:
		dir := "chronyd's socket directory"
		if p, ok := strings.CutPrefix(addr, "unix://"); ok {
			dir = filepath.Dir(p)
		}
		return Explanation{Title: "Permission denied on chronyd's socket " + addr, Detail: detail,
			Fix: "Use --chrony udp://127.0.0.1:323, which needs no privileges, or run second-hand as a user " +
				"that may create sockets in " + dir + " (root, or chronyd's user _chrony)."}
	case chrony.KindTimeout:
		if e.Ignored > 0 {
			detail = fmt.Sprintf("%d replies arrived that answered other requests (a late reply, or another sequence number) and were ignored", e.Ignored)
		}
		return Explanation{
			Title: fmt.Sprintf("chronyd at %s did not answer the %s request (timed out after %v, %d attempts)",
				addr, e.Op, e.Elapsed.Round(time.Millisecond), e.Attempts),
			Detail: detail,
			Fix:    timeoutFix,
		}
	case chrony.KindNotAuthorised:
		if name, ok := socketOnly[e.Op]; ok && !strings.HasPrefix(addr, "unix://") {
			return Explanation{Title: fmt.Sprintf("chronyd gives the %s report only on its Unix socket; second-hand reads it over UDP at %s", name, addr),
				Fix: SocketFix(name)}
		}
		return Explanation{Title: fmt.Sprintf("chronyd at %s refused the %s request: %v", addr, e.Op, e.Status),
			Fix: "Over UDP, chronyd answers only hosts listed in cmdallow, and some requests only on its Unix socket. " +
				"Add cmdallow for this host, or use the socket: --chrony unix:///run/chrony/chronyd.sock."}
	case chrony.KindProtocol:
		if detail == "" {
			detail = e.Status.String()
		}
		return Explanation{Title: "Unexpected reply from " + addr + " to the " + e.Op + " request", Detail: detail,
			Fix: "Check that " + addr + " is chronyd's command port (323, not NTP's 123) and that chronyd is 2.x to " +
				"4.x: second-hand speaks its command protocol version 6."}
	case chrony.KindStatus:
		return Explanation{Title: fmt.Sprintf("chronyd at %s answered the %s request with %v", addr, e.Op, e.Status),
			Fix: "Usually brief, for example while sources are being added or removed; the panel tries again at the next refresh."}
	case chrony.KindClosed:
		return Explanation{Title: "second-hand is shutting down", Fix: "It stops reading chronyd until it is started again."}
	}
	return Explanation{Title: "Could not read from chronyd at " + addr, Detail: err.Error()}
}

// timeoutFix is what to check when chronyd does not answer in time.
const timeoutFix = "A chronyd on another host answers only hosts it allows: it needs bindcmdaddress 0.0.0.0 (or its " +
	"address) and cmdallow for this host in chrony.conf, and UDP port 323 open between the two."

// explainBudget is a request of the page that gave up on chronyd when its budget ended: waiting
// in line behind other requests to the same chronyd, or for the answer itself.
func explainBudget(err error, b *chrony.BudgetError, endpoint string) Explanation {
	x := Explanation{Title: fmt.Sprintf("chronyd at %s did not answer in %s", endpoint, chrony.Spoken(b.Budget)), Fix: timeoutFix}
	var e *chrony.Error
	if errors.As(err, &e) {
		if e.Addr != "" {
			x.Title = fmt.Sprintf("chronyd at %s did not answer in %s", e.Addr, chrony.Spoken(b.Budget))
		}
		x.Detail = fmt.Sprintf("The %s request waited %s in line behind other requests to this chronyd and was sent %d times.",
			e.Op, chrony.Spoken(e.Waited.Round(time.Millisecond)), e.Attempts)
	} else {
		x.Detail = "Another request of this page was already reading chronyd for it."
	}
	x.Detail += fmt.Sprintf(" second-hand gives each request of the page %s for chronyd (--timeout, doubled at each of --retries), so that the page shows why rather than wait.",
		chrony.Spoken(b.Budget))
	return x
}

// socketOnly are the reports chronyd answers only on its Unix socket (before chrony 4.7, or
// without opencommands), by the client's name of the request, with chronyc's name of them.
var socketOnly = map[string]string{"selectdata": "selectdata", "ntpdata": "ntpdata", "authdata": "authdata",
	"server statistics": "serverstats", "clients": "clients"}

// IsSocketOnly reports whether err is chronyd refusing over UDP a report it gives only on its
// socket: a matter of access, explained in place, not a failure of chronyd.
func IsSocketOnly(err error) bool {
	_, ok := socketOnlyReport(err)
	return ok
}

// socketOnlyReport is chronyc's name of the report err refused as socket-only.
func socketOnlyReport(err error) (string, bool) {
	var e *chrony.Error
	if !errors.As(err, &e) || e.Kind != chrony.KindNotAuthorised {
		return "", false
	}
	name, ok := socketOnly[e.Op]
	return name, ok
}

// socketFixes are SocketFix of each socket-only report, made once: a diagnosis over UDP says
// them at every refresh.
var socketFixes = func() map[string]string {
	m := map[string]string{}
	for _, name := range socketOnly {
		m[name] = SocketFix(name)
	}
	return m
}()

// OpenCommands are the commands chrony 4.7 and later answer over UDP by default.
const OpenCommands = "activity manual rtcdata smoothing sourcename sources sourcestats tracking"

// SocketFix says how to let second-hand read a socket-only report.
func SocketFix(report string) string {
	return "Run second-hand as root or as chronyd's user (_chrony on Debian) with --chrony unix:///run/chrony/chronyd.sock. " +
		"In docker compose, mount chronyd's /run/chrony into second-hand's container and set user: to chronyd's uid:gid. " +
		"With chrony 4.7 or later, chronyd can instead answer it over UDP: add \"opencommands " + OpenCommands + " " + report +
		"\" to chrony.conf (the directive replaces chronyd's list, so it repeats the commands open by default), with cmdallow for this host."
}
