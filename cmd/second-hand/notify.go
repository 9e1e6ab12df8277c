package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/second-hand/second-hand/pkg/notify"
)

// runNotifyTest is `second-hand notify --test`: one test message to every notification URL
// (--notify, or SECOND_HAND_NOTIFY as the service has it), each URL's result on a line of its
// own, secrets hidden; an error (exit status 1) when any failed.
func runNotifyTest(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var rest []string
	test := false
	for _, a := range args {
		if a == "--test" || a == "-test" {
			test = true
			continue
		}
		rest = append(rest, a)
	}
	if !test {
		return usageError{errors.New("second-hand notify takes --test: second-hand notify --test [--notify URL]... " +
			"sends a test message to every notification URL")}
	}
	cfg, err := parseConfig(rest, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(cfg.Notify) == 0 {
		return usageError{errors.New("no notification URL to test: give --notify URL, or set SECOND_HAND_NOTIFY")}
	}
	host, _ := os.Hostname()
	errs := make([]error, len(cfg.Notify))
	var wg sync.WaitGroup
	for i, t := range cfg.Notify {
		wg.Go(func() {
			errs[i] = t.Send(ctx, notify.Message{
				Title: "second-hand: a test message",
				Body: fmt.Sprintf("A test message from second-hand %s on %s: its messages to %s reach you.\n"+
					"They come when a host's diagnosis gets worse (and stays so for %s), and when it is ok again.", versionString(), host, t, shortDuration(cfg.NotifyAfter)),
				Link: cfg.PublicURL,
			}, 0)
		})
	}
	wg.Wait()
	failed := 0
	for i, t := range cfg.Notify {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(stdout, "%s (%s): failed: %v\n", t, t.Display(), errs[i])
			continue
		}
		fmt.Fprintf(stdout, "%s (%s): sent\n", t, t.Display())
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d notification URLs failed", failed, len(cfg.Notify))
	}
	return nil
}
