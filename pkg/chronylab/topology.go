package chronylab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Options shape a Lab. The zero value is the standard lab.
type Options struct {
	// Dir holds the daemons' directories; a new temporary directory (removed by Close) when
	// empty.
	Dir string
	// PollLog2 is how often the monitored chronyd polls its upstream, as log2 seconds.
	// Default -2: four times a second, so it selects the upstream within a few seconds.
	PollLog2 int
	// SetPoll makes PollLog2 count even when it is 0 (one poll a second).
	SetPoll bool
	// Extra is appended to the monitored chronyd's configuration.
	Extra string
}

// Lab is an upstream chronyd serving its local clock and a monitored chronyd that uses it.
type Lab struct {
	Dir       string
	Upstream  *Daemon
	Monitored *Daemon
	ownDir    bool
}

// Start makes and starts the standard lab. The monitored chronyd has four sources:
//
//	^ localhost       the upstream (local stratum 8), by name, which it selects within seconds
//	^ 127.0.0.3       a server on a port nobody answers: unusable, reach 0
//	= 127.0.0.5       a peer that never answers
//	# GPS             a reference clock (SHM 0) with no device behind it
//
// The upstream listens on 127.0.0.1 and ::1, so "localhost" reaches it whichever address the
// resolver gives first.
//
// and answers commands on its socket and on a UDP port of 127.0.0.1.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	l := &Lab{}
	var err error
	if l.Dir, l.ownDir, err = opts.dir(); err != nil {
		return nil, err
	}
	poll := opts.poll()
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	upNTP, monCmd, deadServer, deadPeer := ports[0], ports[1], ports[2], ports[3]

	l.Upstream, err = NewDaemon(l.Dir, "upstream", Config{Conf: "local stratum 8\nbindaddress ::1\nallow ::1\n", NTPPort: upNTP})
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`server localhost port %d iburst minpoll %d maxpoll %d
server 127.0.0.3 port %d iburst minpoll %d maxpoll %d
peer 127.0.0.5 port %d
refclock SHM 0 refid GPS
%s
`, upNTP, poll, poll, deadServer, poll, poll, deadPeer, opts.Extra)
	l.Monitored, err = NewDaemon(l.Dir, "monitored", Config{Conf: conf, CmdPort: monCmd})
	if err != nil {
		return nil, err
	}
	if err := startAll(ctx, l.Upstream, l.Monitored); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// dir is the lab's directory: Dir, or a new temporary one that the lab removes (own).
func (o Options) dir() (dir string, own bool, err error) {
	if o.Dir != "" {
		return o.Dir, false, nil
	}
	dir, err = os.MkdirTemp("", "chronylab-")
	return dir, err == nil, err
}

// poll is how often the monitored chronyd polls its upstreams, as log2 seconds.
func (o Options) poll() int {
	if !o.SetPoll && o.PollLog2 == 0 {
		return -2
	}
	return o.PollLog2
}

// startAll starts the daemons in order, up to the first that fails.
func startAll(ctx context.Context, daemons ...*Daemon) error {
	for _, d := range daemons {
		if err := d.Start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// closeLab stops the daemons (nil ones were never made) and removes dir when the lab made it.
func closeLab(dir string, own bool, daemons ...*Daemon) error {
	var errs []error
	for _, d := range daemons {
		if d != nil {
			errs = append(errs, d.Stop())
		}
	}
	if own {
		errs = append(errs, os.RemoveAll(dir))
	}
	return errors.Join(errs...)
}

// WaitSynchronised waits until the monitored chronyd has selected the upstream.
func (l *Lab) WaitSynchronised(ctx context.Context) error {
	return WaitSynchronised(ctx, l.Monitored)
}

// WaitSynchronised waits until d reports a reference and a leap status other than "Not
// synchronised".
func WaitSynchronised(ctx context.Context, d *Daemon) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		out, err := d.Chronyc(ctx, "-c", "tracking")
		if err == nil {
			f := strings.Split(strings.TrimSpace(out), ",")
			if len(f) == 14 && f[0] != "00000000" && f[13] != "Not synchronised" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chronylab: %s did not synchronise: %w (last: %s %v)", d.Name, ctx.Err(), strings.TrimSpace(out), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close stops every daemon and removes the lab's directory if Start made it.
func (l *Lab) Close() error { return closeLab(l.Dir, l.ownDir, l.Monitored, l.Upstream) }

// freePorts returns n distinct free UDP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// StartUnsynchronised starts a chronyd in dir/name that never synchronises: its only source is
// a server on a loopback port nobody answers. It answers commands on its socket and on a UDP
// port of 127.0.0.1.
func StartUnsynchronised(ctx context.Context, dir, name string) (*Daemon, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	d, err := NewDaemon(dir, name, Config{Conf: fmt.Sprintf("server 127.0.0.3 port %d iburst minpoll 0 maxpoll 0\n", ports[0]), CmdPort: ports[1]})
	if err != nil {
		return nil, err
	}
	return d, d.Start(ctx)
}
