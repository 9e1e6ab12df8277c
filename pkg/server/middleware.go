package server

import (
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// recoverPanics turns a panic in a handler into a logged error and a 500, and keeps serving.
func (s *Server) recoverPanics() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", c.Request.URL.Path, "panic", v, "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					c.String(http.StatusInternalServerError, "internal error\n")
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// logRequests logs every request at Debug: the panels poll, and that is chatter.
func (s *Server) logRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		s.log.Debug("http", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "bytes", c.Writer.Size(), "duration", time.Since(start))
	}
}

// securityHeaders: the page loads only its own scripts and styles (no inline code, no eval),
// cannot be framed, and sends no referrer.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		c.Next()
	}
}

// checkHost answers only requests for the names this second-hand is known by: localhost, a
// loopback address, or one of allowed. A page on loopback is otherwise readable by any web
// page the user opens, through DNS rebinding: a name of the attacker's made to point at
// 127.0.0.1, whose requests the browser then sends here with the attacker's name as Host.
// Anything else is 421 Misdirected Request, with what to do if the name is the user's own.
func (s *Server) checkHost(allowed []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		name := HostName(c.Request.Host)
		if name == "" || name == "localhost" || slices.Contains(allowed, name) {
			c.Next()
			return
		}
		if a, err := netip.ParseAddr(name); err == nil && a.Unmap().IsLoopback() {
			c.Next()
			return
		}
		s.log.Debug("refused a request for another name", "host", c.Request.Host, "path", c.Request.URL.Path)
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusMisdirectedRequest, "second-hand is not known here as %q, so it does not answer: it answers only for localhost, "+
			"loopback addresses and the names given with --allowed-hosts, so that no other web site can read this page through DNS rebinding.\n"+
			"If %s is a name of this machine (the name a reverse proxy in front of it passes on, or your own), "+
			"start second-hand with --allowed-hosts %s (or SECOND_HAND_ALLOWED_HOSTS=%s), names separated by commas.\n",
			name, name, name, name)
		c.Abort()
	}
}

// HostName is the name in a Host header, without its port and an IPv6 address's brackets,
// in lower case and without a final dot.
func HostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}
