package chrony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Options tune a Client. Every field is used as given: DefaultOptions holds chronyc's values,
// and Validate says what is out of range.
type Options struct {
	// Timeout is how long the first attempt of a request waits for its reply; each retry
	// waits twice as long as the attempt before it.
	Timeout time.Duration
	// Retries is how many times a request is sent again after a timeout: 0 sends it once.
	Retries int
	// Logger receives debug lines about connections; nil discards them.
	Logger *slog.Logger
}

// The bounds Validate enforces, and chronyc's defaults.
const (
	MinTimeout = time.Millisecond
	MaxTimeout = time.Minute
	MaxRetries = 10
)

// DefaultOptions are chronyc's: a first timeout of 1 s, doubling, and 2 retries.
func DefaultOptions() Options { return Options{Timeout: time.Second, Retries: 2} }

// Validate reports a Timeout or Retries out of range.
func (o Options) Validate() error {
	switch {
	case o.Timeout < MinTimeout || o.Timeout > MaxTimeout:
		return fmt.Errorf("chrony: timeout %v is not from %v to %v", o.Timeout, MinTimeout, MaxTimeout)
	case o.Retries < 0 || o.Retries > MaxRetries:
		return fmt.Errorf("chrony: %d retries is not from 0 to %d", o.Retries, MaxRetries)
	}
	return nil
}

// MaxWait is the longest a request can take with these options when chronyd never answers:
// the sum of every attempt's timeout.
func (o Options) MaxWait() time.Duration {
	return o.Timeout * time.Duration(1<<(o.Retries+1)-1)
}

// Client reads reports from one chronyd. It keeps one socket open and sends one request at a
// time, as chronyc does; it is safe for concurrent use. Close it to remove its socket file.
type Client struct {
	addr Address
	opts Options

	turn chan struct{} // held while a request is in flight

	mu     sync.Mutex
	conn   *conn
	closed bool
	names  map[wireAddr]string // configured source names, by address; reset on reconnect
	swept  map[string]bool     // socket directories cleared of earlier runs' sockets

	requests atomic.Uint64
	failures [kindCount]atomic.Uint64
}

// Counts is what a client has asked of chronyd: requests sent (each once, whatever its
// retries), and those that failed, by kind.
type Counts struct {
	Requests uint64
	Failures map[Kind]uint64
}

// Counts are the client's counters so far.
func (c *Client) Counts() Counts {
	out := Counts{Requests: c.requests.Load(), Failures: map[Kind]uint64{}}
	for k := range c.failures {
		if n := c.failures[k].Load(); n > 0 {
			out.Failures[Kind(k)] = n
		}
	}
	return out
}

// New returns a client for chronyd at addr. It opens no socket until the first request.
func New(addr Address, opts Options) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		addr:  addr,
		opts:  opts,
		turn:  make(chan struct{}, 1),
		names: map[wireAddr]string{},
		swept: map[string]bool{},
	}, nil
}

// Endpoint names the address in use: the configured one, or for Auto the one it found
// ("auto" until a request has found one).
func (c *Client) Endpoint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		return c.conn.addr.String()
	}
	return c.addr.String()
}

// Close closes the socket and removes the client's socket file. A request in flight returns
// an error of KindClosed; later requests fail the same way.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn == nil {
		return nil
	}
	err := c.conn.close()
	c.conn = nil
	return err
}

// read sends one request and returns its reply decoded, with roundTrip's retries and checks.
func read[T any](ctx context.Context, c *Client, req request, decode func(reply []byte) (T, error)) (T, error) {
	var v T
	err := c.roundTrip(ctx, req, func(reply []byte) (err error) {
		v, err = decode(reply)
		return err
	})
	return v, err
}

// roundTrip sends one request and hands its validated reply to decode, which must not keep
// it: the buffer is reused by the next request. It opens (or reopens) the socket as needed;
// for Auto it moves on to the next candidate address while the current one is unreachable.
func (c *Client) roundTrip(ctx context.Context, req request, decode func(reply []byte) error) error {
	// Requests to one chronyd go one at a time: a caller's budget (its context) bounds its wait
	// in line as well as its exchange.
	start := time.Now()
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		c.failures[KindTimeout].Add(1)
		return &Error{Kind: KindTimeout, Op: req.cmd.String(), Addr: c.Endpoint(), Waited: time.Since(start), Err: context.Cause(ctx)}
	}
	defer func() { <-c.turn }()
	waited := time.Since(start)
	c.requests.Add(1)
	reply, err := c.send(ctx, req)
	if err == nil {
		err = decode(reply)
	}
	if k := KindOf(err); k > 0 && k < kindCount {
		c.failures[k].Add(1)
	}
	if e, ok := err.(*Error); ok {
		e.Op, e.Waited = req.cmd.String(), waited
		if e.Addr == "" {
			e.Addr = c.Endpoint()
		}
	}
	return err
}

// send is roundTrip's exchange, called with the turn held.
func (c *Client) send(ctx context.Context, req request) ([]byte, error) {
	var tried []string
	candidates := c.candidates()
	// Keep to the address in use while it answers; Auto looks again from the first candidate
	// only once that one fails.
	start := 0
	c.mu.Lock()
	if c.conn != nil {
		for i, a := range candidates {
			if a == c.conn.addr {
				start = i
			}
		}
	}
	c.mu.Unlock()
	candidates = slices.Concat(candidates[start:], candidates[:start])
	for i := 0; i < len(candidates); {
		cn, fresh, err := c.connect(ctx, candidates[i])
		if err == nil {
			var reply []byte
			reply, err = cn.exchange(ctx, req, c.opts.Timeout, c.opts.Retries)
			if err == nil {
				return reply, nil
			}
			kind := KindOf(err)
			if kind == KindUnreachable || kind == KindTimeout {
				c.drop(cn)
			}
			if c.isClosed() {
				err = &Error{Kind: KindClosed}
			}
			if kind == KindUnreachable && !fresh {
				continue // a socket left from before chronyd restarted: open a new one, once
			}
		}
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Kind: KindUnreachable, Err: err}
		}
		if e.Addr == "" {
			e.Addr = candidates[i].String()
		}
		if !c.addr.IsAuto() || (e.Kind != KindUnreachable && e.Kind != KindPermission) {
			return nil, e
		}
		tried = append(tried, fmt.Sprintf("%s: %v", candidates[i], e.Err))
		i++
	}
	return nil, &Error{Kind: KindUnreachable, Addr: "auto",
		Err: fmt.Errorf("tried %s", strings.Join(tried, "; "))}
}

// connect returns the open socket if it is for a, or opens one. fresh reports a new socket.
func (c *Client) connect(ctx context.Context, a Address) (cn *conn, fresh bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, &Error{Kind: KindClosed, Addr: a.String()}
	}
	if c.conn != nil {
		if c.conn.addr == a {
			defer c.mu.Unlock()
			return c.conn, false, nil
		}
		c.conn.close()
		c.conn = nil
	}
	sweep := a.Network == "unix" && !c.swept[filepath.Dir(a.Path)]
	if sweep {
		c.swept[filepath.Dir(a.Path)] = true
	}
	c.mu.Unlock()

	if sweep {
		for _, path := range removeStaleSockets(filepath.Dir(a.Path)) {
			c.opts.Logger.Info("removed a socket an earlier run of second-hand left in chronyd's socket directory", "socket", path)
		}
	}
	cn, err = dial(ctx, a)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		cn.close()
		return nil, false, &Error{Kind: KindClosed, Addr: a.String()}
	}
	c.conn = cn
	clear(c.names) // chronyd may have restarted with other sources
	c.opts.Logger.Debug("connected to chronyd", "address", a.String(), "socket", cn.local)
	return cn, true, nil
}

// drop closes cn if it is still the client's socket, so the next request opens a new one.
func (c *Client) drop(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == cn {
		c.conn = nil
	}
	cn.close()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// candidates lists the addresses to try: the configured one, or for Auto the sockets this
// process can use, then UDP on 127.0.0.1 and ::1.
func (c *Client) candidates() []Address {
	if !c.addr.IsAuto() {
		return []Address{c.addr}
	}
	var out []Address
	seen := map[string]bool{}
	for _, dir := range SocketDirs {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		path := filepath.Join(dir, "chronyd.sock")
		if fi, err := os.Stat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
			continue
		}
		// We must be able to create our own socket next to chronyd's.
		if unix.Access(dir, unix.W_OK|unix.X_OK) != nil {
			continue
		}
		out = append(out, Address{Network: "unix", Path: path})
	}
	return append(out,
		Address{Network: "udp", Host: "127.0.0.1", Port: autoPort},
		Address{Network: "udp", Host: "::1", Port: autoPort})
}

// autoPort is the UDP port Auto tries; tests point it at a fake.
var autoPort = DefaultPort
