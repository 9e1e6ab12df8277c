// Command chrony-lab runs the private loopback chronyd lab of pkg/chronylab until it is
// interrupted, for the demo and for trying second-hand by hand. It prints the monitored
// chronyd's addresses and, with -addr-file, writes one of them (UDP, or with -socket its Unix
// socket) to a file once it is synchronised.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chrony-lab:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chrony-lab", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory for the daemons (default: a new temporary directory, removed at exit)")
	addrFile := fs.String("addr-file", "", "write the monitored chronyd's UDP address here once it is synchronised")
	socket := fs.Bool("socket", false, "with -addr-file, write its Unix socket's address instead (a client must run as root to use it)")
	poll := fs.Int("poll", 0, "log2 of the monitored chronyd's polling interval of its upstream, in seconds")
	problems := fs.Bool("problems", false, "run instead a lab with problems: a chronyd with seven sources (a falseticker, a noselect one, a server, a peer and a reference clock that never answer) and one that never synchronises")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *problems {
		return runProblems(ctx, *dir, stdout)
	}

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lab, err := chronylab.Start(startCtx, chronylab.Options{Dir: *dir, PollLog2: *poll, SetPoll: true})
	if err != nil {
		return err
	}
	defer lab.Close()
	if err := lab.WaitSynchronised(startCtx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chrony lab in %s\nmonitored chronyd: %s and %s\n",
		lab.Dir, lab.Monitored.UDPAddress(), lab.Monitored.SocketAddress())
	if *addrFile != "" {
		addr := lab.Monitored.UDPAddress()
		if *socket {
			addr = lab.Monitored.SocketAddress()
		}
		if err := os.WriteFile(*addrFile, []byte(addr+"\n"), 0o644); err != nil {
			return err
		}
		defer os.Remove(*addrFile)
	}
	<-ctx.Done()
	return nil
}

// runProblems runs the selection lab with a peer, and a chronyd that never synchronises, until
// ctx ends: a page with problems to look at.
func runProblems(ctx context.Context, dir string, stdout io.Writer) error {
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	lab, err := chronylab.StartSelectionWith(startCtx, chronylab.SelectionOptions{Dir: dir, Peer: true})
	if err != nil {
		return err
	}
	defer lab.Close()
	unsync, err := chronylab.StartUnsynchronised(startCtx, lab.Dir, "unsynchronised")
	if err != nil {
		return err
	}
	defer unsync.Stop()
	if err := lab.WaitSettled(startCtx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chrony lab with problems in %s\nseven sources: %s and %s\nnever synchronised: %s\n",
		lab.Dir, lab.Monitored.SocketAddress(), lab.Monitored.UDPAddress(), unsync.UDPAddress())
	<-ctx.Done()
	return nil
}
