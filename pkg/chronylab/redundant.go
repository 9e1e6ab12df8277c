package chronylab

import (
	"context"
	"fmt"
	"strings"
)

// Redundant is the healthy lab: a monitored chronyd with three upstreams (as chrony's FAQ
// asks), each serving its local clock on an address of its own (127.0.0.11, .12, .13), so
// that the monitored chronyd's diagnosis is ok. Stopping the upstream it selected makes it
// warn (another source can take over); starting it again makes it ok.
type Redundant struct {
	Dir       string
	Upstreams []*Daemon
	Monitored *Daemon
	ownDir    bool
}

// upstreamAddr is the i-th upstream's address (from 0).
func upstreamAddr(i int) string { return fmt.Sprintf("127.0.0.%d", 11+i) }

// StartRedundant makes and starts the healthy lab; opts.Dir, PollLog2, SetPoll and Extra
// apply as in Start.
func StartRedundant(ctx context.Context, opts Options) (*Redundant, error) {
	r := &Redundant{}
	var err error
	if r.Dir, r.ownDir, err = opts.dir(); err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	var conf strings.Builder
	for i := range 3 {
		d, err := NewDaemon(r.Dir, fmt.Sprintf("upstream%d", i+1), Config{Conf: "local stratum 8\n", NTPPort: ports[i], NTPAddr: upstreamAddr(i)})
		if err != nil {
			r.Close()
			return nil, err
		}
		r.Upstreams = append(r.Upstreams, d)
		fmt.Fprintf(&conf, "server %s port %d iburst minpoll %d maxpoll %d\n", upstreamAddr(i), ports[i], opts.poll(), opts.poll())
	}
	conf.WriteString(opts.Extra + "\n")
	if r.Monitored, err = NewDaemon(r.Dir, "monitored", Config{Conf: conf.String(), CmdPort: ports[3]}); err != nil {
		r.Close()
		return nil, err
	}
	if err := startAll(ctx, append(r.Upstreams, r.Monitored)...); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// WaitSynchronised waits until the monitored chronyd has selected an upstream.
func (r *Redundant) WaitSynchronised(ctx context.Context) error {
	return WaitSynchronised(ctx, r.Monitored)
}

// Selected is the upstream the monitored chronyd has selected ('*' in its sources).
func (r *Redundant) Selected(ctx context.Context) (*Daemon, error) {
	out, err := r.Monitored.Chronyc(ctx, "-c", "sources")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 || f[1] != "*" {
			continue
		}
		for i, d := range r.Upstreams {
			if f[2] == upstreamAddr(i) {
				return d, nil
			}
		}
	}
	return nil, fmt.Errorf("chronylab: no upstream selected:\n%s", out)
}

// Address is an upstream's NTP address, as the monitored chronyd's sources name it.
func (r *Redundant) Address(d *Daemon) string {
	for i, u := range r.Upstreams {
		if u == d {
			return upstreamAddr(i)
		}
	}
	return ""
}

// Close stops every daemon and removes the lab's directory if StartRedundant made it.
func (r *Redundant) Close() error {
	return closeLab(r.Dir, r.ownDir, append([]*Daemon{r.Monitored}, r.Upstreams...)...)
}
