package server

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
)

// manyLab: five upstream chronyd instances on 127.0.1.1-5, and one monitored chronyd for each
// size, with n sources: the five upstreams and n-5 silent addresses of 127.0.2.0/24. A silent
// source costs the client the same requests as one that answers.
var manyLab = struct {
	once      sync.Once
	err       error
	dir       string
	daemons   []*chronylab.Daemon
	monitored map[int]*chronylab.Daemon
}{}

var sizes = []int{5, 10, 20, 50}

func startMany() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "chronylab-many-")
	if err != nil {
		return err
	}
	manyLab.dir, manyLab.monitored = dir, map[int]*chronylab.Daemon{}
	port, err := chronylab.FreePort()
	if err != nil {
		return err
	}
	var servers []string
	for i := 1; i <= 5; i++ {
		up, err := chronylab.NewDaemon(dir, fmt.Sprintf("upstream%d", i), chronylab.Config{
			Conf: fmt.Sprintf("local stratum %d\n", 7+i), NTPPort: port, NTPAddr: fmt.Sprintf("127.0.1.%d", i)})
		if err != nil {
			return err
		}
		manyLab.daemons = append(manyLab.daemons, up)
		if err := up.Start(ctx); err != nil {
			return err
		}
		servers = append(servers, fmt.Sprintf("server 127.0.1.%d port %d iburst minpoll 4 maxpoll 4", i, port))
	}
	for i := 1; len(servers) < 50; i++ {
		servers = append(servers, fmt.Sprintf("server 127.0.2.%d port %d minpoll 4 maxpoll 4", i, port))
	}
	for _, n := range sizes {
		cmdPort, err := chronylab.FreePort()
		if err != nil {
			return err
		}
		d, err := chronylab.NewDaemon(dir, fmt.Sprintf("monitored%d", n), chronylab.Config{
			Conf: strings.Join(servers[:n], "\n") + "\n", CmdPort: cmdPort})
		if err != nil {
			return err
		}
		manyLab.daemons = append(manyLab.daemons, d)
		if err := d.Start(ctx); err != nil {
			return err
		}
		manyLab.monitored[n] = d
	}
	for _, d := range manyLab.monitored {
		if err := chronylab.WaitSynchronised(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkSourcesScaling serves the sources and source statistics fragments, uncached, for
// chronyd instances with 5, 10, 20 and 50 sources, next to the raw requests they need.
func BenchmarkSourcesScaling(b *testing.B) {
	manyLab.once.Do(func() { manyLab.err = startMany() })
	if manyLab.err != nil {
		b.Skip(manyLab.err)
	}
	for _, n := range sizes {
		addr := manyLab.monitored[n].UDPAddress()
		raw := rawRequests(n)
		for _, panel := range []string{"sources", "sourcestats"} {
			b.Run(fmt.Sprintf("%s/%d/fragment", panel, n), func(b *testing.B) {
				serveFragment(b, fragmentHandler(b, addr, 0), panel)
			})
			b.Run(fmt.Sprintf("%s/%d/raw", panel, n), func(b *testing.B) {
				rawExchange(b, "udp", strings.TrimPrefix(addr, "udp://"), raw[panel])
			})
		}
	}
}
