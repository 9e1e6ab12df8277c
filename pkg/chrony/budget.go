package chrony

import (
	"context"
	"strconv"
	"time"
)

// A budget is how long one caller (a request of the page) may spend on chronyd in all: waiting
// for its turn behind the other requests to the same chronyd, and the exchanges themselves.
// A request whose budget ends answers with its error at once, rather than waiting in line
// for as long as the line is.

// BudgetError is the cause of a context whose budget ended.
type BudgetError struct{ Budget time.Duration }

func (e *BudgetError) Error() string { return "no answer within " + Spoken(e.Budget) }

type budgetKey struct{}

type budget struct {
	deadline time.Time
	cause    *BudgetError
}

// WithBudget returns ctx with a budget of d: it ends d from now with a *BudgetError as its
// cause, and work that Detach hands on for it ends then too.
func WithBudget(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	b := budget{deadline: time.Now().Add(d), cause: &BudgetError{Budget: d}}
	return context.WithDeadlineCause(context.WithValue(ctx, budgetKey{}, b), b.deadline, b.cause)
}

// Detach returns a context for work that ctx starts on behalf of others too, such as a read of
// chronyd that later callers join: it is not cancelled when ctx is (the others still want the
// answer), but it ends with ctx's budget, if ctx has one. A shorter deadline of ctx's own (how
// long one caller waits) is not the work's.
func Detach(ctx context.Context) (context.Context, context.CancelFunc) {
	out := context.WithoutCancel(ctx)
	b, ok := ctx.Value(budgetKey{}).(budget)
	if !ok {
		return out, func() {}
	}
	return context.WithDeadlineCause(out, b.deadline, b.cause)
}

// Spoken writes a duration as a sentence would: "7 s", "1.5 s", "300 ms".
func Spoken(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + " s"
}
