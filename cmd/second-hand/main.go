// Command second-hand serves a web dashboard of one chronyd: tracking, sources, source
// statistics and RTC, read over chronyd's command protocol. Run it with --help for its flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "second-hand:", err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "run 'second-hand --help' for every flag and its environment variable")
			os.Exit(2)
		}
		os.Exit(1)
	}
}
