package chrony

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// conn is an open, connected datagram socket to one chronyd address.
type conn struct {
	nc    net.Conn
	addr  Address // the concrete address, never Auto
	local string  // the path of our own bound socket, for "unix"; removed on close

	// Buffers for one exchange at a time (the client's turn guards them).
	out, in []byte

	closeOnce sync.Once
	closeErr  error
}

// close closes the socket and removes our socket file. It is safe to call more than once and
// from another goroutine while an exchange is waiting: the read returns at once.
func (c *conn) close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.nc.Close()
		if c.local != "" {
			if err := os.Remove(c.local); err != nil && !errors.Is(err, os.ErrNotExist) && c.closeErr == nil {
				c.closeErr = err
			}
		}
	})
	return c.closeErr
}

// dial opens a socket to a, which must not be Auto. Errors are *Error with the address set.
func dial(ctx context.Context, a Address) (*conn, error) {
	var c *conn
	var err error
	switch a.Network {
	case "udp":
		c, err = dialUDP(ctx, a)
	case "unix":
		c, err = dialUnix(a)
	default:
		err = &Error{Kind: KindUnreachable, Err: fmt.Errorf("no network for address %v", a)}
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Addr == "" {
			e.Addr = a.String()
		}
		return nil, err
	}
	return c, nil
}

func dialUDP(ctx context.Context, a Address) (*conn, error) {
	ip, err := netip.ParseAddr(a.Host)
	if err != nil {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", a.Host)
		if err != nil {
			return nil, &Error{Kind: KindUnreachable, Err: fmt.Errorf("cannot resolve %s: %w", a.Host, unwrapDNS(err))}
		}
		ip = ips[0].Unmap()
	}
	nc, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(a.Port))))
	if err != nil {
		return nil, socketError(err)
	}
	return &conn{nc: nc, addr: a}, nil
}

func unwrapDNS(err error) error {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return errors.New(dnsErr.Err)
	}
	return err
}

// socketPrefix and socketSuffix frame the name of the client's own socket: socketPrefix, 16
// hexadecimal digits, socketSuffix.
const (
	socketPrefix = "second-hand."
	socketSuffix = ".sock"
)

// isOurSocketName reports whether name is one dialUnix makes.
func isOurSocketName(name string) bool {
	hexPart, ok := strings.CutPrefix(name, socketPrefix)
	if !ok {
		return false
	}
	hexPart, ok = strings.CutSuffix(hexPart, socketSuffix)
	if !ok || len(hexPart) != 16 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// removeStaleSockets removes from dir the sockets an earlier run of this program left behind
// when it was killed (kill -9 runs no cleanup): files named as dialUnix names them, that are
// sockets of this user, and that nobody is bound to any more (a connect is refused). A socket
// that another second-hand still uses answers the connect and is kept. It returns the paths
// removed.
func removeStaleSockets(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !isOurSocketName(e.Name()) || e.Type() != os.ModeSocket {
			continue
		}
		path := filepath.Join(dir, e.Name())
		var st unix.Stat_t
		if unix.Lstat(path, &st) != nil || st.Uid != uint32(os.Geteuid()) {
			continue
		}
		if !nobodyBound(path) {
			continue
		}
		if os.Remove(path) == nil {
			removed = append(removed, path)
		}
	}
	return removed
}

// nobodyBound reports whether connecting a datagram socket to path is refused: the socket file
// is left from a process that has gone.
func nobodyBound(path string) bool {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return errors.Is(unix.Connect(fd, &unix.SockaddrUnix{Name: path}), unix.ECONNREFUSED)
}

// dialUnix binds a socket of our own in chronyd's socket directory, because chronyd answers
// with sendto() to the path the client bound, and connects it to chronyd's socket. The name is
// random, so that processes never collide, and the file is removed on every failure here and
// when the conn is closed.
func dialUnix(a Address) (*conn, error) {
	dir := filepath.Dir(a.Path)
	var rnd [8]byte
	crand.Read(rnd[:])
	local := filepath.Join(dir, socketPrefix+hex.EncodeToString(rnd[:])+socketSuffix)
	if len(local) >= len(syscall.RawSockaddrUnix{}.Path) {
		return nil, &Error{Kind: KindUnreachable, Err: fmt.Errorf("socket directory %s is too long for a Unix socket path", dir)}
	}

	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Kind: KindUnreachable, Err: os.NewSyscallError("socket", err)}
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: local}); err != nil {
		unix.Close(fd)
		return nil, socketError(fmt.Errorf("cannot create a socket in %s: %w", dir, err))
	}
	fail := func(err error) (*conn, error) {
		unix.Close(fd)
		os.Remove(local)
		return nil, err
	}
	// chronyd runs as another user (_chrony) and must be able to write to our socket.
	if err := makeWritable(local); err != nil {
		return fail(&Error{Kind: KindPermission, Err: err})
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: a.Path}); err != nil {
		return fail(socketError(fmt.Errorf("cannot connect to %s: %w", a.Path, err)))
	}
	f := os.NewFile(uintptr(fd), local)
	nc, err := net.FileConn(f) // duplicates fd
	f.Close()
	if err != nil {
		os.Remove(local)
		return nil, &Error{Kind: KindUnreachable, Err: err}
	}
	return &conn{nc: nc, addr: a, local: local}, nil
}

// makeWritable sets mode 0666 on the socket we just bound. chronyd owns the directory and
// could swap the path for a symlink between bind and chmod; so the path is opened without
// following links, checked to be our socket, and changed through that descriptor.
func makeWritable(path string) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open our socket %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("cannot stat our socket %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Uid != uint32(os.Geteuid()) {
		return fmt.Errorf("%s was replaced after it was created; refusing to change its mode", path)
	}
	if err := os.Chmod("/proc/self/fd/"+strconv.Itoa(fd), 0o666); err != nil {
		return fmt.Errorf("cannot make our socket %s writable for chronyd: %w", path, err)
	}
	return nil
}

// socketError sorts an error from socket calls into the kinds a user can act on.
func socketError(err error) *Error {
	switch {
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &Error{Kind: KindPermission, Err: err}
	default:
		return &Error{Kind: KindUnreachable, Err: err}
	}
}

// exchange sends req and waits for its reply, the way chronyc does: the first attempt waits
// opts.Timeout, each retry waits twice as long as the one before, and every attempt carries a
// fresh random sequence number, so that a late reply to an earlier attempt or request is
// recognised and dropped. ctx bounds the whole exchange. The reply is valid until the next
// exchange.
func (c *conn) exchange(ctx context.Context, req request, timeout time.Duration, retries int) ([]byte, error) {
	if c.in == nil {
		c.in = make([]byte, maxDatagram)
	}
	buf := c.in
	if ctx.Done() != nil {
		// Cancelling ctx interrupts a read at once rather than at the attempt's deadline.
		stop := context.AfterFunc(ctx, func() { c.nc.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	start := time.Now()
	out := c.out
	defer func() { c.out = out }()
	attempts, ignored := 0, 0
	callers := false // the caller's deadline, not the attempts', ended the exchange
	for attempt := 0; attempt <= retries; attempt++ {
		if ctx.Err() != nil {
			break
		}
		seq := rand.Uint32()
		var err error
		if out, err = req.encode(out, uint16(attempt), seq); err != nil {
			return nil, &Error{Kind: KindProtocol, Err: err}
		}
		deadline := time.Now().Add(timeout << attempt)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			callers = true
			if !d.After(time.Now()) {
				break // the caller's time is up; its timer may not have fired yet
			}
			deadline = d
		} else {
			callers = false
		}
		if err := c.nc.SetDeadline(deadline); err != nil {
			return nil, socketError(err)
		}
		if ctx.Err() != nil { // cancelled before the deadline above replaced AfterFunc's
			break
		}
		if _, err := c.nc.Write(out); err != nil {
			if isTimeout(err) {
				continue
			}
			return nil, socketError(err)
		}
		attempts++
		for {
			n, err := c.nc.Read(buf)
			if err != nil {
				if isTimeout(err) {
					break // next attempt
				}
				return nil, socketError(err)
			}
			switch err := checkReply(buf[:n], req.cmd, seq); {
			case err == nil:
				return buf[:n], nil
			case err == errStale:
				ignored++
				continue
			default:
				return nil, err
			}
		}
	}
	if callers {
		// The caller's deadline has passed; its context says why (a budget) once its timer fires.
		<-ctx.Done()
	}
	return nil, &Error{Kind: KindTimeout, Attempts: attempts, Ignored: ignored, Elapsed: time.Since(start), Err: context.Cause(ctx)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
