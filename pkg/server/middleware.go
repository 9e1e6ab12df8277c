package server

import (
	"net/http"
	"runtime/debug"
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
