package panels

import (
	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

// errorBox is a panel's error variant: a calm sentence, the details, the fix.
func errorBox(err error, endpoint string) g.Node {
	x := diagnose.Explain(err, endpoint)
	return Div(Class("panel-error health-bad"), Role("alert"),
		P(Class("error-title"), Span(Class("sym"), Aria("hidden", "true"), g.Text(Bad.Symbol()+" ")), g.Text(x.Title)),
		g.If(x.Detail != "", P(Class("error-detail"), g.Text(x.Detail))),
		g.If(x.Fix != "", P(Class("error-fix"), Strong(g.Text("Fix: ")), g.Text(x.Fix))),
	)
}
