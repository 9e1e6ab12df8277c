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
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/second-hand/second-hand/pkg/alerting"
	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/engine"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/notify"
	"github.com/second-hand/second-hand/pkg/server"
	"github.com/second-hand/second-hand/pkg/store"
)

// run is the whole program, with everything it touches passed in. It returns when ctx ends
// (SIGTERM or Ctrl-C), after the requests in flight are answered.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, hooks{})
}

// hooks let tests that run the program in-process see into it; run leaves them nil.
type hooks struct {
	listening func(net.Addr)                 // the address it serves on (tests listen on port 0)
	connState func(net.Conn, http.ConnState) // the HTTP server's connections
	// watched is told of each round of the diagnoses behind notifications, and of the hosts
	// it sent a message about.
	watched func(time.Time, []diagnose.Diagnosis, []alerting.Change)
}

// runWith is run with hooks.
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, h hooks) error {
	if len(args) > 0 && args[0] == "import" {
		return runImport(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "notify" {
		return runNotifyTest(ctx, args[1:], getenv, stdout)
	}
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		return printVersion(stdout)
	}
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
		debug.SetMemoryLimit(memoryLimit(len(cfg.Hosts), cfg.Prometheus != ""))
	}
	chronyOpts := chrony.Options{Timeout: cfg.Timeout, Retries: cfg.Retries, Logger: logger}
	var hosts []monitor.Host
	for _, h := range cfg.Hosts {
		client, err := chrony.New(h.Address, chronyOpts)
		if err != nil {
			return err
		}
		hosts = append(hosts, monitor.Host{Name: h.Name, Reporter: client})
	}
	fleet, err := monitor.NewFleet(hosts, monitor.Config{Reuse: cfg.Reuse})
	if err != nil {
		return err
	}
	defer fleet.Close() // removes our socket files in chronyd's directories

	// Listen before anything touches the disk: a port in use stops the program before it
	// makes a data directory or takes its lock.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (--listen): %w", cfg.Listen, err)
	}
	defer ln.Close()

	if cfg.OldRetention != "" {
		logger.Warn("--retention (SECOND_HAND_RETENTION) is the flag before the history had levels: it sets how long the raw records are kept, "+
			"as --retention-raw (SECOND_HAND_RETENTION_RAW) does; use that, with --retention-5m and --retention-1h for the summaries", "from", cfg.OldRetention)
	}
	hist := history.Open(history.Config{Dir: cfg.DataDir, Sample: cfg.Sample, Retention: cfg.Retention, Logger: logger})
	defer hist.Close()
	recordCtx, stopRecording := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRecording()
	hist.Start(recordCtx, fleet)

	var eng *engine.Engine
	if cfg.Prometheus != "" {
		if eng, err = engine.New(engine.Config{URL: cfg.Prometheus, HostLabel: cfg.PrometheusLabel, Timeout: cfg.PrometheusTimeout,
			Reuse: cfg.Reuse, Logger: logger}); err != nil {
			return usageError{fmt.Errorf("invalid value %q for --prometheus (SECOND_HAND_PROMETHEUS): %v", cfg.Prometheus, err)}
		}
		// Say at once whether the engine answers; the page says so too, in the panels that
		// need it, and asks again at each refresh.
		go func() {
			n, err := eng.Ping(ctx)
			if err != nil {
				logger.Warn("the Prometheus API does not answer yet; the panels that need it say so and ask again", "url", cfg.Prometheus, "error", err)
				return
			}
			logger.Info("reading hosts from the Prometheus API", "url", cfg.Prometheus, "host_label", cfg.PrometheusLabel, "hosts", n)
		}()
	}

	// Notifications: every host diagnosed in the background, on the recorder's moments.
	notifier, stopNotifying := startNotifying(ctx, cfg, fleet, hist, chronyOpts.MaxWait(), logger, h)
	defer stopNotifying()

	// A request of the page may spend on chronyd what one exchange may take at most (with the
	// defaults 1 + 2 + 4 = 7 s), waiting in line behind other requests to the same chronyd
	// included; then it answers with the panel's error. The write timeout leaves it 10 s more
	// to render and send that answer, so that no answer is cut off. Exports extend their own.
	budget := chronyOpts.MaxWait()
	srvCfg := server.Config{Refresh: cfg.Refresh, Logger: logger, History: hist, Budget: budget, Thresholds: cfg.thresholds(), Engine: eng,
		Notify: notifier}
	// On loopback the page answers only for its own names (DNS rebinding); beyond loopback, the
	// names given if any.
	if listensOnLoopback(cfg.Listen) || len(cfg.AllowedHosts) > 0 {
		srvCfg.AllowedHosts = append([]string{}, cfg.AllowedHosts...)
	}
	handler := server.New(fleet, srvCfg)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      budget + writeMargin,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		ConnState:         h.connState,
	}
	for _, h := range cfg.Hosts {
		logger.Info("watching chronyd", "host", h.Name, "chronyd", h.Address.String())
	}
	logger.Info("second-hand serving", "version", versionString(), "url", "http://"+ln.Addr().String()+"/", "hosts", len(cfg.Hosts),
		"refresh", cfg.Refresh, "reuse", cfg.Reuse, "timeout", cfg.Timeout, "retries", cfg.Retries,
		"history", historyNote(cfg), "prometheus", engineNote(cfg), "notify", notifyNote(cfg))
	if h.listening != nil {
		h.listening(ln.Addr())
	}

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
	stopRecording()
	stopNotifying()
	return errors.Join(fleet.Close(), hist.Close())
}

func engineNote(cfg config) string {
	if cfg.Prometheus == "" {
		return "none"
	}
	return cfg.Prometheus + " (hosts by their " + cfg.PrometheusLabel + " label)"
}

// startNotifying diagnoses every host in the background and sends what package alerting decides
// to the --notify URLs, keeping what was sent in the history store (in memory with history
// off). The notifier is nil, and nothing runs, without URLs; stop ends it all and waits.
func startNotifying(ctx context.Context, cfg config, fleet *monitor.Fleet, hist *history.Service, budget time.Duration,
	logger *slog.Logger, h hooks) (n *notify.Notifier, stop func()) {
	if len(cfg.Notify) == 0 {
		return nil, func() {}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ledger, every := notifyLedger(cfg, hist)
	n = notify.NewNotifier(cfg.Notify, notify.Options{Logger: logger, Done: alerting.Forget(ledger, logger)})
	w := alerting.New(ctx, fleet.Monitors(), alerting.Config{After: cfg.NotifyAfter, Every: every, Budget: budget, Link: cfg.hostLink,
		Gatherer: diagnose.Gatherer{History: hist.Moments, Thresholds: cfg.thresholds()},
		Ledger:   ledger, Notifier: n, Logger: logger, Watched: h.watched})
	var wg sync.WaitGroup
	wg.Go(func() { n.Run(ctx) })
	wg.Go(func() { w.Run(ctx) })
	var once sync.Once
	return n, func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// notifyLedger is where what was sent is kept, the history store or, with history off, memory;
// and how often the hosts are diagnosed for it: at each sample of the recorder, whose reads it
// shares, or, with no recorder, as often as it would sample by default.
func notifyLedger(cfg config, hist *history.Service) (alerting.Ledger, time.Duration) {
	if cfg.Sample > 0 {
		return alerting.NewStore(hist.Store), cfg.Sample
	}
	return alerting.NewMemory(), defaults().Sample
}

func notifyNote(cfg config) string {
	if len(cfg.Notify) == 0 {
		return "off (no --notify)"
	}
	var to []string
	for _, t := range cfg.Notify {
		to = append(to, t.Display())
	}
	where := "kept in the history store, " + filepath.Join(cfg.DataDir, store.FileName)
	if cfg.Sample == 0 {
		where = "kept in memory (history is off)"
	}
	return fmt.Sprintf("to %s, after %s; what was sent is %s", strings.Join(to, ", "), shortDuration(cfg.NotifyAfter), where)
}

// writeMargin is how long a request has to write its answer beyond its budget for chronyd.
const writeMargin = 10 * time.Second

func historyNote(cfg config) string {
	if cfg.Sample == 0 {
		return "off (--sample 0)"
	}
	r := cfg.Retention
	return fmt.Sprintf("every %v into %s, every point kept %s, 5-minute summaries %s, hourly %s", cfg.Sample,
		filepath.Join(cfg.DataDir, store.FileName), days(r.Raw), days(r.FiveMin), days(r.Hour))
}

// memoryLimit is the soft limit for n hosts: the page's own few MB, and a little per host for
// its client and its reports; with an engine, room for its answers (the latest values of a
// thousand hosts are a few MB of JSON).
func memoryLimit(hosts int, engine bool) int64 {
	limit := 18<<20 + int64(hosts)*(64<<10)
	if engine {
		limit += 16 << 20
	}
	return limit
}

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
