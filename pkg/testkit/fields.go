package testkit

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The page marks what it shows for machines: every element with data-field. A <data> element
// gives its value attribute, a <time> its datetime, anything else its text. Fields and Rows
// read them, for tests that compare a page with chronyc.

// Fields reads every field of a fragment into one map (the last of a name wins).
func Fields(t testing.TB, page string) map[string]string {
	t.Helper()
	doc := parse(t, page)
	out := map[string]string{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if f, v, ok := fieldOf(n); ok {
			out[f] = v
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// Rows reads a panel's table: the fields of each row of its body (not the rows a source's
// detail opens in).
func Rows(t testing.TB, page string) []map[string]string {
	t.Helper()
	doc := parse(t, page)
	var out []map[string]string
	var walk func(n *html.Node, row map[string]string)
	walk = func(n *html.Node, row map[string]string) {
		if n.Type == html.ElementNode && n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody" && attr(n, "class") != "detail-row" {
			row = map[string]string{}
			out = append(out, row)
		}
		if f, v, ok := fieldOf(n); ok && row != nil {
			row[f] = v
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, row)
		}
	}
	walk(doc, nil)
	return out
}

func parse(t testing.TB, page string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("the page is not HTML: %v", err)
	}
	return doc
}

func fieldOf(n *html.Node) (string, string, bool) {
	f := attr(n, "data-field")
	if n.Type != html.ElementNode || f == "" {
		return "", "", false
	}
	switch n.Data {
	case "data":
		return f, attr(n, "value"), true
	case "time":
		return f, attr(n, "datetime"), true
	}
	return f, text(n), true
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}
