// Package panels renders second-hand's HTML with gomponents: the page and its four panels
// (tracking, sources, source statistics, RTC). Each panel is a function from plain data to a
// node, and the same function renders the panel inside the page (loading) and as the htmx
// fragment that replaces it (data or error). It knows nothing of HTTP or Gin.
//
// Everything read from chronyd is treated as untrusted text: it is only ever rendered with
// g.Text or as an attribute value, both of which escape.
package panels
