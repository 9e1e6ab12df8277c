package chrony

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what went wrong talking to chronyd, in the terms a user can act on.
type Kind int

const (
	// KindUnreachable: nothing answers at the address (no socket file, connection refused,
	// a host name that does not resolve).
	KindUnreachable Kind = iota + 1
	// KindPermission: this process may not use chronyd's Unix socket or its directory.
	KindPermission
	// KindTimeout: chronyd did not answer within the timeout, after every retry.
	KindTimeout
	// KindNotAuthorised: chronyd answered, but refused this request to this client (a remote
	// chronyd without cmdallow, or a command chronyd only allows on its Unix socket).
	KindNotAuthorised
	// KindProtocol: what answered is not speaking chronyd's command protocol 6, or its reply
	// is malformed.
	KindProtocol
	// KindStatus: chronyd refused the request with another status code.
	KindStatus
	// KindClosed: the client was closed.
	KindClosed

	kindCount // one past the last kind
)

// Kinds are every kind, for counting failures by kind.
var Kinds = []Kind{KindUnreachable, KindPermission, KindTimeout, KindNotAuthorised, KindProtocol, KindStatus, KindClosed}

func (k Kind) String() string {
	switch k {
	case KindUnreachable:
		return "unreachable"
	case KindPermission:
		return "permission denied"
	case KindTimeout:
		return "timeout"
	case KindNotAuthorised:
		return "not authorised"
	case KindProtocol:
		return "protocol error"
	case KindStatus:
		return "refused"
	case KindClosed:
		return "closed"
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Error is every error the client returns. Its fields let a caller explain the failure; its
// Error method is a sentence that names the address and the request.
type Error struct {
	Kind     Kind
	Op       string        // the request, such as "tracking"
	Addr     string        // the address tried, such as "udp://127.0.0.1:323"
	Status   Status        // chronyd's status code, for KindNotAuthorised, KindStatus and some KindProtocol
	Attempts int           // requests sent, for KindTimeout
	Ignored  int           // replies to other requests (late, or another sequence number) dropped, for KindTimeout
	Elapsed  time.Duration // time spent waiting for replies, for KindTimeout
	Waited   time.Duration // time spent waiting in line behind other requests to the same chronyd
	Err      error         // the underlying error, if any
}

func (e *Error) Error() string {
	op := e.Op
	if op == "" {
		op = "request"
	}
	switch e.Kind {
	case KindUnreachable:
		return fmt.Sprintf("chronyd is not answering at %s: %v", e.Addr, e.Err)
	case KindPermission:
		return fmt.Sprintf("permission denied on %s: %v", e.Addr, e.Err)
	case KindTimeout:
		var b *BudgetError
		if errors.As(e.Err, &b) {
			return fmt.Sprintf("chronyd at %s did not answer in %s: the %s request waited %v in line and was sent %d times",
				e.Addr, Spoken(b.Budget), op, e.Waited.Round(time.Millisecond), e.Attempts)
		}
		msg := fmt.Sprintf("chronyd at %s did not answer the %s request: timed out after %v (%d attempts)",
			e.Addr, op, e.Elapsed.Round(time.Millisecond), e.Attempts)
		if e.Ignored > 0 {
			msg += fmt.Sprintf("; %d replies to other requests were ignored", e.Ignored)
		}
		return msg
	case KindNotAuthorised, KindStatus:
		return fmt.Sprintf("chronyd at %s refused the %s request: %v", e.Addr, op, e.Status)
	case KindProtocol:
		if e.Err == nil {
			return fmt.Sprintf("protocol error from %s (%s request): %v", e.Addr, op, e.Status)
		}
		return fmt.Sprintf("protocol error from %s (%s request): %v", e.Addr, op, e.Err)
	case KindClosed:
		return fmt.Sprintf("chrony client for %s is closed", e.Addr)
	}
	return fmt.Sprintf("chrony %s request to %s: %v", op, e.Addr, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err, or 0 when err is not from this package.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func protocolErrorf(format string, args ...any) *Error {
	return &Error{Kind: KindProtocol, Err: fmt.Errorf(format, args...)}
}

// statusKind sorts chronyd's refusals: "not for you" is worth its own words, a refusal of the
// request itself means the two sides do not speak the same protocol.
func statusKind(s Status) Kind {
	switch s {
	case StatusUnauth, StatusNoHostAccess:
		return KindNotAuthorised
	case StatusInvalid, StatusBadPktVersion, StatusBadPktLength:
		return KindProtocol
	}
	return KindStatus
}
