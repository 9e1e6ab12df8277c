package diagnose

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/monitor"
)

// TestExplainBudget: a request whose budget ended, waiting in line, in its exchange, or for a
// read another request started, is told the same way: chronyd did not answer in the budget,
// with how long it waited and what to check.
func TestExplainBudget(t *testing.T) {
	budget := &chrony.BudgetError{Budget: 7 * time.Second}
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"in line", &chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://10.0.0.1:323", Waited: 7 * time.Second, Err: budget},
			[]string{"chronyd at udp://10.0.0.1:323 did not answer in 7 s", "waited 7 s in line", "sent 0 times"}},
		{"in the exchange", &chrony.Error{Kind: chrony.KindTimeout, Op: "sources", Addr: "udp://10.0.0.1:323", Attempts: 3, Err: budget},
			[]string{"did not answer in 7 s", "waited 0 ms in line behind other requests to this chronyd and was sent 3 times"}},
		{"another's read", fmt.Errorf("%w: %w", monitor.ErrStillReading, budget),
			[]string{"chronyd at udp://endpoint:323 did not answer in 7 s", "Another request of this page"}},
		{"a budget of 300 ms", &chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://10.0.0.1:323", Err: &chrony.BudgetError{Budget: 300 * time.Millisecond}},
			[]string{"did not answer in 300 ms"}},
	} {
		x := Explain(tc.err, "udp://endpoint:323")
		all := x.Title + " | " + x.Detail + " | " + x.Fix
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: %q does not say %q", tc.name, all, w)
			}
		}
		if !strings.Contains(x.Fix, "cmdallow") {
			t.Errorf("%s: no fix: %q", tc.name, x.Fix)
		}
	}
	if x := Explain(errors.New("plain"), "e"); strings.Contains(x.Title, "did not answer in") {
		t.Errorf("an error with no budget: %q", x.Title)
	}
}
