package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/assets"
	"github.com/second-hand/second-hand/pkg/panels"
)

func (s *Server) handlePage() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		s.render(c, http.StatusOK, panels.Page(panels.PageProps{
			Endpoint:  s.reports.Endpoint(),
			Refresh:   s.cfg.Refresh,
			StyleURL:  "assets/" + assets.Style.Name,
			ScriptURL: "assets/" + assets.Script.Name,
			HTMXURL:   "assets/" + assets.HTMX.Name,
			IconURL:   "assets/" + assets.Icon.Name,
		}))
	}
}

// handlePanel serves one panel's fragment: read the report, render it or its error. It never
// answers an error status because of chronyd: htmx swaps only 2xx responses, and the error
// belongs inside the panel.
func handlePanel[T any](s *Server, name string, fetch func(context.Context, bool) (T, time.Time, error), render func(panels.Result[T]) g.Node) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		fresh, msg := panelQuery(c.Request.URL.RawQuery)
		if msg != "" {
			c.String(http.StatusBadRequest, msg+"\n")
			return
		}
		data, at, err := fetch(c.Request.Context(), fresh)
		s.noteResult(name, err)
		endpoint := s.reports.Endpoint()
		now := s.cfg.Now()
		s.render(c, http.StatusOK, g.Group{
			render(panels.Result[T]{Data: data, Err: err, At: at, Now: now, Endpoint: endpoint,
				Next: panels.NextRefresh(now, s.cfg.Refresh)}),
			panels.EndpointUpdate(endpoint),
		})
	}
}

// panelQuery accepts only fresh=1 (the reload button's "read chronyd now") or nothing, and
// says what is wrong otherwise.
func panelQuery(raw string) (fresh bool, msg string) {
	if raw == "" {
		return false, ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return false, "bad request: malformed query string (a panel takes only fresh=1)"
	}
	for key, vals := range q {
		if key != "fresh" {
			return false, fmt.Sprintf("bad request: unknown query parameter %q (a panel takes only fresh=1)", key)
		}
		if len(vals) != 1 || (vals[0] != "1" && vals[0] != "0") {
			return false, "bad request: fresh must be 1 or 0"
		}
	}
	return q.Get("fresh") == "1", ""
}

func (s *Server) handleHealthz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusOK, "ok\n")
	}
}

// handleReadyz is ready when chronyd answers a tracking request.
func (s *Server) handleReadyz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
		defer cancel()
		t, _, err := s.reports.Tracking(ctx, false)
		endpoint := s.reports.Endpoint()
		if err != nil {
			x := panels.Explain(err, endpoint)
			msg := "not ready: " + x.Title
			if x.Detail != "" {
				msg += ": " + x.Detail
			}
			if x.Fix != "" {
				msg += "\nfix: " + x.Fix
			}
			c.String(http.StatusServiceUnavailable, msg+"\n")
			return
		}
		state := "synchronised"
		if !t.Synchronised() {
			state = "not synchronised"
		}
		c.String(http.StatusOK, "ready: chronyd at %s answers (%s)\n", endpoint, state)
	}
}

func (s *Server) handleAsset() gin.HandlerFunc {
	return func(c *gin.Context) {
		a, ok := assets.Lookup(c.Param("name"))
		if !ok {
			s.handleNotFound()(c)
			return
		}
		h := c.Writer.Header()
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", a.ETag)
		h.Set("Vary", "Accept-Encoding")
		if c.GetHeader("If-None-Match") == a.ETag {
			c.Status(http.StatusNotModified)
			return
		}
		body := a.Body
		if a.Gzip != nil && acceptsGzip(c.GetHeader("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			body = a.Gzip
		}
		c.Data(http.StatusOK, a.ContentType, body)
	}
}

// acceptsGzip reads Accept-Encoding: gzip is welcome unless its quality is 0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			v, err := strconv.ParseFloat(q, 64)
			return err == nil && v > 0
		}
		return true
	}
	return false
}

func (s *Server) handleNotFound() gin.HandlerFunc {
	return func(c *gin.Context) {
		s.render(c, http.StatusNotFound, simplePage("Not found",
			"There is nothing at this address. The dashboard is at the start of this site."))
	}
}

func (s *Server) handleMethodNotAllowed() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Allow", "GET, HEAD")
		s.render(c, http.StatusMethodNotAllowed, simplePage("Method not allowed",
			"second-hand only reads: it answers GET and HEAD."))
	}
}

// simplePage is the page for HTTP errors that are not chronyd's: short, escaped, no script.
func simplePage(title, text string) g.Node {
	return Doctype(HTML(Lang("en"),
		Head(Meta(Charset("utf-8")), TitleEl(g.Text(title+" · second-hand"))),
		Body(H1(g.Text(title)), P(g.Text(text)), P(A(Href("./"), g.Text("second-hand"))))))
}
