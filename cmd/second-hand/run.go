package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/server"
)

// run is the whole program, with everything it touches passed in so that tests can run it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.Healthcheck {
		return healthcheck(ctx, cfg.Listen)
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// A soft memory limit: the live heap is a few MB, but under a burst of requests Go's default
	// lets the heap grow to twice what it was; the GC works a little harder instead. GOMEMLIMIT
	// overrides it.
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	chronyOpts := chrony.Options{Timeout: cfg.Timeout, Retries: cfg.Retries, Logger: logger}
	client := chrony.New(cfg.Chrony, chronyOpts)
	defer client.Close() // removes our socket file in chronyd's directory

	handler := server.New(client, server.Config{Refresh: cfg.Refresh, Reuse: cfg.Reuse, Logger: logger})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// A fragment may wait for chronyd through every retry.
		WriteTimeout:   chronyOpts.MaxWait() + 10*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (--listen): %w", cfg.Listen, err)
	}
	logger.Info("second-hand serving", "url", "http://"+ln.Addr().String()+"/", "chronyd", cfg.Chrony.String(),
		"refresh", cfg.Refresh, "reuse", cfg.Reuse, "timeout", cfg.Timeout, "retries", cfg.Retries)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), chronyOpts.MaxWait()+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return client.Close()
}

const defaultMemoryLimit = 18 << 20

// healthcheck asks the second-hand listening at listen for /healthz, for Docker's HEALTHCHECK,
// which has no shell or curl in the image.
func healthcheck(ctx context.Context, listen string) error {
	host, port, _ := net.SplitHostPort(listen)
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
