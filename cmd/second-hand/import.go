package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/store"
)

// runImport is `second-hand import [--data-dir DIR] [--host NAME] FILE...`: chronyd's own
// statistics logs into a host's history, so that it starts before second-hand was installed.
func runImport(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("second-hand import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := defaults().DataDir
	if s := getenv("SECOND_HAND_DATA_DIR"); s != "" {
		dir = s
	}
	fs.StringVar(&dir, "data-dir", dir, "the directory of the history store")
	host := fs.String("host", "", "the host the logs are of")
	keep := defaults().Retention
	for _, r := range []struct {
		flag, env string
		dst       *time.Duration
	}{{"retention-5m", "SECOND_HAND_RETENTION_5M", &keep.FiveMin}, {"retention-1h", "SECOND_HAND_RETENTION_1H", &keep.Hour}} {
		set := retentionIn(r.dst, nil)
		if v := getenv(r.env); v != "" {
			if err := set(v, r.env); err != nil {
				return usageError{fmt.Errorf("invalid value %q for %s (the --%s flag): %v", v, r.env, r.flag, err)}
			}
		}
		fs.Func(r.flag, "", func(v string) error { return set(v, "--"+r.flag) })
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, `Usage: second-hand import [--data-dir DIR] [--host NAME] FILE...

Reads chronyd's statistics logs (tracking.log, measurements.log, statistics.log, as written with
"log tracking measurements statistics" in chrony.conf, and their rotated copies) into the history
of the host NAME, so that its history starts before second-hand was installed. Give a period's
three logs together. Importing a file twice adds nothing. A line that cannot be read is reported
with its file and line number, and skipped.

  --data-dir DIR   the history store's directory (SECOND_HAND_DATA_DIR, default ./data)
  --host NAME      the host, as second-hand names it (default: the store's only host, or local)
  --retention-5m, --retention-1h
                   how long the summaries are kept, as second-hand's flags of the same names:
                   the days imported are summarised for them at once (defaults 90d, 730d)
`)
			return nil
		}
		return usageError{fmt.Errorf("import: %v", flagError(err))}
	}
	files := fs.Args()
	if len(files) == 0 {
		return usageError{errors.New("import: name the log files to read, as in: second-hand import [--data-dir DIR] [--host NAME] FILE")}
	}
	st, err := store.Open(dir, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.Notice != "" {
		fmt.Fprintln(stdout, st.Notice)
	}
	name := *host
	if name == "" {
		known := st.Hosts()
		switch len(known) {
		case 0:
			name = "local"
		case 1:
			name = known[0]
		default:
			slices.Sort(known)
			return usageError{fmt.Errorf("import: the store holds the history of %s: say which host the logs are of with --host NAME", strings.Join(known, ", "))}
		}
	}
	if err := monitor.ValidateName(name); err != nil {
		return usageError{fmt.Errorf("invalid value %q for --host: %v", name, err)}
	}
	// A big import takes a while: a line now and then says it is under way.
	shown := 0
	progress := func(records int) {
		if records-shown >= 1_000_000 {
			fmt.Fprintf(stdout, "%d records imported so far\n", records)
			shown = records
		}
	}
	reports, err := history.Import(ctx, st, name, files, keep, progress)
	for _, r := range reports {
		fmt.Fprintf(stdout, "%s: %d records of %v", r.Path, r.Lines, r.Kind)
		if r.Skipped > 0 {
			fmt.Fprintf(stdout, "; %d lines skipped:", r.Skipped)
		}
		fmt.Fprintln(stdout)
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "  %s:%d: %v\n", r.Path, p.Line, p.Err)
		}
		if more := r.Skipped - len(r.Problems); more > 0 {
			fmt.Fprintf(stdout, "  %s: and %d more lines skipped\n", r.Path, more)
		}
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stdout, "imported into the history of %s in %s\n", name, st.Path())
	return nil
}
