package chronylab

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// These functions compare what a second-hand panel shows with `chronyc -c -N` (CSV, full
// precision, configured names) for the same chronyd. A panel's values come as fields: its
// data-field names and their machine-readable values (the value of <data>, the datetime of
// <time>, the text of anything else). Each function returns the differences, empty when the
// panel agrees.
//
// Some values change by themselves between two reads, so chronyc is read before and after the
// panel; the caller reads again while the stable columns differ (see EqualExcept).

// Columns of chronyc -c output that change between two reads without a new sample.
var (
	TrackingVolatile = []int{4, 11} // System time and root dispersion grow until the next update
	SourcesVolatile  = []int{6}     // the age of the last sample
	// The estimated offset, extrapolated to the time of each request.
	SourceStatsVolatile = []int{6}
)

// ParseCSV splits chronyc -c output into rows and columns.
func ParseCSV(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, ","))
		}
	}
	return rows
}

// EqualExcept compares two chronyc outputs, ignoring the given columns.
func EqualExcept(a, b [][]string, skip ...int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] && !contains(skip, j) {
				return false
			}
		}
	}
	return true
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

type diffs []string

func (d *diffs) add(format string, args ...any) { *d = append(*d, fmt.Sprintf(format, args...)) }

func (d *diffs) same(field, got, want string) {
	if got != want {
		d.add("%s: panel %q, chronyc %q", field, got, want)
	}
}

// num compares a full-precision value with chronyc's printed one, to the printed precision.
// scale turns the panel's value into chronyc's (-1 where chronyc prints the opposite sign).
func (d *diffs) num(field, got, printed string, scale float64) {
	d.between(field, got, printed, printed, scale)
}

// between checks a value that chronyd computes at each request and that grows between
// chronyc's two reads: it must lie between them.
func (d *diffs) between(field, got, before, after string, scale float64) {
	g, err := strconv.ParseFloat(got, 64)
	if err != nil {
		d.add("%s: panel value %q is not a number", field, got)
		return
	}
	g *= scale
	b, errB := strconv.ParseFloat(before, 64)
	a, errA := strconv.ParseFloat(after, 64)
	if errB != nil || errA != nil {
		d.add("%s: chronyc printed %q, %q", field, before, after)
		return
	}
	tol := 0.5 * math.Pow10(-decimals(before))
	if g < math.Min(a, b)-tol-1e-12 || g > math.Max(a, b)+tol+1e-12 {
		d.add("%s: panel %v, chronyc %s then %s", field, g, before, after)
	}
}

func decimals(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// CompareTracking checks the tracking panel against chronyc -c -N tracking: ref ID, name,
// stratum, ref time, correction ("System time", the opposite sign of the panel's offset), last
// offset, RMS offset, frequency, residual frequency, skew, root delay, root dispersion, update
// interval, leap status.
func CompareTracking(f map[string]string, before, after []string) []string {
	var d diffs
	if len(before) != 14 || len(after) != 14 {
		d.add("chronyc tracking printed %d and %d columns, want 14", len(before), len(after))
		return d
	}
	b, a := before, after
	ref := b[1]
	if ref == "" && b[0] == "7F7F0101" {
		ref = "LOCL"
	}
	d.same("reference", f["reference"], ref)
	if b[3] == "0.000000000" {
		d.same("ref-time", f["ref-time"], "0")
	} else if t, err := time.Parse(time.RFC3339Nano, f["ref-time"]); err != nil {
		d.add("ref-time %q: %v", f["ref-time"], err)
	} else {
		d.same("ref-time", fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()), b[3])
	}
	d.num("frequency", f["frequency"], b[7], 1)
	if b[13] == "Not synchronised" {
		// chronyc prints chronyd's placeholders (stratum 0, root delay 1 s, zeros); the panel
		// says they are not known: no value.
		for _, field := range []string{"stratum", "system-time", "max-error", "last-offset", "rms-offset", "residual-frequency",
			"skew", "root-delay", "root-dispersion", "update-interval"} {
			d.same(field+" (a placeholder)", f[field], "")
		}
	} else {
		d.same("stratum", f["stratum"], b[2])
		d.between("system-time", f["system-time"], b[4], a[4], -1)
		d.num("last-offset", f["last-offset"], b[5], 1)
		d.num("rms-offset", f["rms-offset"], b[6], 1)
		d.num("residual-frequency", f["residual-frequency"], b[8], 1)
		d.num("skew", f["skew"], b[9], 1)
		d.num("root-delay", f["root-delay"], b[10], 1)
		d.between("root-dispersion", f["root-dispersion"], b[11], a[11], 1)
		d.num("update-interval", f["update-interval"], b[12], 1)
	}
	d.same("leap", f["leap"], b[13])
	synced := "false"
	if b[13] != "Not synchronised" {
		synced = "true"
		if b[0] == "7F7F0101" {
			synced = "local"
		}
	}
	d.same("synchronised", f["synchronised"], synced)
	return d
}

// CompareSources checks the sources panel's rows against chronyc -c -N sources: mode, state,
// name, stratum, poll, reach, last rx, adjusted offset, measured offset, error.
func CompareSources(rows []map[string]string, before, after [][]string) []string {
	var d diffs
	if len(rows) != len(before) || len(after) != len(before) {
		d.add("panel lists %d sources, chronyc %d", len(rows), len(before))
		return d
	}
	for i, r := range rows {
		b, a := before[i], after[i]
		if len(b) != 10 || len(a) != 10 {
			d.add("chronyc sources row %d has %d columns, want 10", i, len(b))
			continue
		}
		name := b[2]
		d.same(name+" mode", r["mode"], b[0])
		d.same(name+" state", r["state"], b[1])
		d.same(name+" name", r["name"], b[2])
		if b[3] == "0" && b[6] == "4294967295" {
			d.same(name+" stratum (a placeholder)", r["stratum"], "")
		} else {
			d.same(name+" stratum", r["stratum"], b[3])
		}
		d.same(name+" poll", r["poll"], b[4])
		d.same(name+" reach", r["reach"], b[5])
		if b[6] == "4294967295" {
			// Never sampled: chronyc prints zeros, the panel "no sample yet".
			d.same(name+" last sample", r["last-sample"], "never")
			d.same(name+" offset", r["no-sample"], "no sample yet")
			continue
		}
		d.between(name+" last sample", r["last-sample"], b[6], a[6], 1)
		d.num(name+" adjusted offset", r["adjusted-offset"], b[7], 1)
		d.num(name+" measured offset", r["measured-offset"], b[8], 1)
		d.num(name+" error", r["error"], b[9], 1)
	}
	return d
}

// CompareSourceStats checks the source statistics panel's rows against chronyc -c -N
// sourcestats: name, samples, runs, span, frequency, skew, offset, std dev.
func CompareSourceStats(rows []map[string]string, before, after [][]string) []string {
	var d diffs
	if len(rows) != len(before) || len(after) != len(before) {
		d.add("panel lists %d sources, chronyc %d", len(rows), len(before))
		return d
	}
	for i, r := range rows {
		b := before[i]
		if len(b) != 8 {
			d.add("chronyc sourcestats row %d has %d columns, want 8", i, len(b))
			continue
		}
		d.same(b[0]+" name", r["name"], b[0])
		d.same(b[0]+" samples", r["samples"], b[1])
		if b[1] == "0" {
			// No samples: chronyc prints placeholders (2000 ppm, 4 s), the panel "no samples".
			d.same(b[0]+" statistics", r["no-samples"], "no samples")
			continue
		}
		d.same(b[0]+" runs", r["runs"], b[2])
		d.num(b[0]+" span", r["span"], b[3], 1)
		// The estimated offset is for the time of the request: it moves with the frequency.
		d.between(b[0]+" offset", r["offset"], b[6], after[i][6], 1)
		if n, _ := strconv.Atoi(b[1]); n < 3 {
			// Before chronyd's first regression: placeholders (2000 ppm, 4 s), no values shown.
			d.same(b[0]+" estimates", r["no-estimate"], "not yet")
			continue
		}
		d.num(b[0]+" frequency", r["frequency"], b[4], 1)
		d.num(b[0]+" skew", r["frequency-skew"], b[5], 1)
		d.num(b[0]+" std dev", r["std-dev"], b[7], 1)
	}
	return d
}

// Consistent reads chronyc (read) before and after what second-hand shows (fetch), until
// chronyd did not change in between but for its volatile columns, and compares the two with
// compare. It returns nil once they agree, or the last differences after tries attempts.
func Consistent[T any](tries int, read func() ([][]string, error), fetch func() (T, error), volatile []int,
	compare func(shown T, before, after [][]string) []string) []string {
	var last []string
	for try := 0; try < tries; try++ {
		if try > 0 {
			time.Sleep(50 * time.Millisecond) // let chronyd finish what changed it
		}
		before, err := read()
		if err != nil {
			return []string{err.Error()}
		}
		shown, err := fetch()
		if err != nil {
			return []string{err.Error()}
		}
		after, err := read()
		if err != nil {
			return []string{err.Error()}
		}
		if !EqualExcept(before, after, volatile...) {
			last = []string{fmt.Sprintf("chronyd changed between reads:\n%v\n%v", before, after)}
			continue
		}
		if last = compare(shown, before, after); len(last) == 0 {
			return nil
		}
	}
	return last
}

// CompareSummary checks an overview row against chronyc -c -N tracking (before and after)
// and sources: status, system time offset, maximum clock error, stratum, reference, leap
// status, and reachable sources "x of y".
func CompareSummary(f map[string]string, before, after []string, sources [][]string) []string {
	var d diffs
	if len(before) != 14 || len(after) != 14 {
		d.add("chronyc tracking printed %d and %d columns, want 14", len(before), len(after))
		return d
	}
	b, a := before, after
	status := "synchronised"
	switch {
	case b[13] == "Not synchronised":
		status = "not synchronised"
	case b[0] == "7F7F0101":
		status = "local clock"
	}
	d.same("status", f["status"], status)
	d.same("leap", f["leap"], b[13])
	reachable := 0
	for _, s := range sources {
		if len(s) == 10 && s[5] != "0" {
			reachable++
		}
	}
	d.same("sources-reachable", f["sources-reachable"], strconv.Itoa(reachable))
	d.same("sources-total", f["sources-total"], strconv.Itoa(len(sources)))
	if status == "not synchronised" {
		return d
	}
	ref := b[1]
	if ref == "" && b[0] == "7F7F0101" {
		ref = "LOCL"
	}
	d.same("reference", f["reference"], ref)
	d.same("stratum", f["stratum"], b[2])
	d.between("system-time", f["system-time"], b[4], a[4], -1)
	// |system time| + root dispersion + root delay / 2, from chronyc's printed values: the
	// first two grow between the reads.
	bound := func(r []string) string {
		sys, _ := strconv.ParseFloat(r[4], 64)
		delay, _ := strconv.ParseFloat(r[10], 64)
		disp, _ := strconv.ParseFloat(r[11], 64)
		return strconv.FormatFloat(math.Abs(sys)+disp+delay/2, 'f', 9, 64)
	}
	d.between("max-error", f["max-error"], bound(b), bound(a), 1)
	return d
}

// Volatile columns of the socket-only reports.
var (
	AuthDataVolatile    = []int{5}       // the time since the last NTS-KE session
	ServerStatsVolatile = []int{2}       // command packets: every chronyc and second-hand request counts
	ClientsVolatile     = []int{6, 7, 9} // command hits, drops... of the readers themselves, and the last command's age
)

// RowOf finds the row of chronyc -c output whose column col is key.
func RowOf(rows [][]string, col int, key string) []string {
	for _, r := range rows {
		if len(r) > col && r[col] == key {
			return r
		}
	}
	return nil
}

// CompareSelection checks a source's detail against its row of chronyc -c selectdata -a:
// state, authentication, configured and effective options, last sample age, score, interval,
// leap status.
func CompareSelection(f map[string]string, row []string) []string {
	var d diffs
	if len(row) != 18 {
		d.add("chronyc selectdata printed %d columns, want 18: %v", len(row), row)
		return d
	}
	d.same("select-state", f["select-state"], row[0])
	d.same("select-auth", f["select-auth"], row[2])
	d.same("select-options", f["select-options"], strings.Join(row[3:8], ""))
	effective := f["select-effective"]
	if effective == "" {
		effective = f["select-options"]
	}
	d.same("select-effective", effective, strings.Join(row[8:13], ""))
	if f["select-score"] == "" {
		// A source with no sample: chronyc prints placeholders (a last sample at the selection,
		// score 1.0, an interval of 0 to 0, leap "Not synchronised"); the detail says none yet.
		d.same("select-last (no sample)", f["select-last"], "never")
		d.same("select-lo (no sample)", f["select-lo"], "")
		if row[15] != "0.000000000" || row[16] != "0.000000000" {
			d.add("chronyc selectdata has an interval for a source the detail says has no sample: %v", row)
		}
		return d
	}
	d.same("select-last", f["select-last"], row[13])
	d.num("select-score", f["select-score"], row[14], 1)
	if f["select-lo"] == "" {
		// No interval (a noselect source): chronyc prints 0 to 0.
		d.same("select-lo (no interval)", row[15]+" "+row[16], "0.000000000 0.000000000")
	} else {
		d.num("select-lo", f["select-lo"], row[15], 1)
		d.num("select-hi", f["select-hi"], row[16], 1)
	}
	d.same("select-leap", f["select-leap"], row[17])
	return d
}

// CompareNTPData checks a source's detail against its row of chronyc -c ntpdata (34 columns
// from chrony 4.3, 38 from 4.4 with the kernel and card timestamp counts).
func CompareNTPData(f map[string]string, row []string) []string {
	var d diffs
	if len(row) != 34 && len(row) != 38 {
		d.add("chronyc ntpdata printed %d columns, want 34 or 38: %v", len(row), row)
		return d
	}
	if row[32] == "0" {
		// No valid packet: chronyc prints placeholders; the detail says so, with the packets
		// sent and received.
		for field, col := range map[string]int{"ntp-remote": 0, "ntp-port": 2, "ntp-tx": 30, "ntp-rx": 31, "ntp-valid": 32, "ntp-good": 33} {
			d.same(field, f[field], row[col])
		}
		if f["no-packet"] == "" || f["ntp-version"] != "" {
			d.add("the detail of a source with no valid packet shows its placeholders, or does not say so")
		}
		return d
	}
	for field, col := range map[string]int{"ntp-remote": 0, "ntp-port": 2, "ntp-local": 3, "ntp-leap": 5, "ntp-version": 6,
		"ntp-mode": 7, "ntp-stratum": 8, "ntp-poll": 9, "ntp-precision": 11, "ntp-refid": 15, "ntp-reftime": 17,
		"ntp-asymmetry": 22, "ntp-interleaved": 26, "ntp-authenticated": 27, "ntp-tx-stamping": 28, "ntp-rx-stamping": 29,
		"ntp-tx": 30, "ntp-rx": 31, "ntp-valid": 32, "ntp-good": 33} {
		d.same(field, f[field], row[col])
	}
	for field, col := range map[string]int{"ntp-root-delay": 13, "ntp-root-dispersion": 14,
		"ntp-peer-delay": 19, "ntp-peer-dispersion": 20, "ntp-response": 21} {
		d.num(field, f[field], row[col], 1)
	}
	// The detail says this clock's offset (+ ahead); ntpdata's is NTP's, the other way round.
	d.num("ntp-offset", f["ntp-offset"], row[18], -1)
	d.same("ntp-tests", f["ntp-tests"], row[23]+" "+row[24]+" "+row[25])
	if len(row) == 38 {
		for field, col := range map[string]int{"ntp-kernel-tx": 34, "ntp-kernel-rx": 35, "ntp-hw-tx": 36, "ntp-hw-rx": 37} {
			d.same(field, f[field], row[col])
		}
	} else if f["ntp-kernel-tx"] != "" {
		d.add("the detail shows kernel timestamp counts that this chronyd's ntpdata does not have")
	}
	return d
}

// CompareAuthData checks a source's detail against its rows of chronyc -c authdata before and
// after (the age of the last key exchange grows in between).
func CompareAuthData(f map[string]string, before, after []string) []string {
	var d diffs
	if len(before) != 10 || len(after) != 10 {
		d.add("chronyc authdata printed %d and %d columns, want 10", len(before), len(after))
		return d
	}
	d.same("auth-mode", f["auth-mode"], before[1])
	if before[1] == "-" {
		// No authentication: chronyc prints zeros for the key and the exchanges; the detail
		// shows the mechanism alone.
		return d
	}
	for field, col := range map[string]int{"auth-key-id": 2, "auth-key-type": 3, "auth-key-bits": 4,
		"auth-ke-attempts": 6, "auth-nak": 7, "auth-cookies": 8, "auth-cookie-length": 9} {
		d.same(field, f[field], before[col])
	}
	if before[5] == "4294967295" {
		d.same("auth-last-ke", f["auth-last-ke"], before[5])
	} else {
		d.between("auth-last-ke", f["auth-last-ke"], before[5], after[5], 1)
	}
	return d
}

// CompareServerStats checks the server panel against chronyc -c serverstats before and after
// (commands keep coming in between): 5 columns (chrony 2 and 3), 8, 11 (4.1 to 4.4) or 17
// (4.5 and later).
func CompareServerStats(f map[string]string, before, after []string) []string {
	var d diffs
	if len(before) != len(after) {
		d.add("chronyc serverstats printed %d then %d columns", len(before), len(after))
		return d
	}
	cols := map[string]int{"server-ntp": 0, "server-ntp-drops": 3, "server-cmd-drops": 5}
	switch len(before) {
	case 11, 17:
		// NTP, NTS-KE, command packets; dropped NTP, NTS-KE, command; client log drops;
		// authenticated; interleaved; timestamps held; their span.
		cols = map[string]int{"server-ntp": 0, "server-nke": 1, "server-ntp-drops": 3, "server-nke-drops": 4,
			"server-cmd-drops": 5, "server-auth": 7, "server-interleaved": 8, "server-timestamps": 9}
	default:
		d.add("chronyc serverstats printed %d columns, want 11 or 17: %v", len(before), before)
		return d
	}
	for field, col := range cols {
		d.same(field, f[field], before[col])
	}
	d.between("server-cmd", f["server-cmd"], before[2], after[2], 1)
	return d
}

// CompareClients checks the server panel's clients against chronyc -c clients: each client's
// address, NTP hits, drops, interval and the age of its last NTP request (which grows between
// the two reads).
func CompareClients(rows []map[string]string, before, after [][]string) []string {
	var d diffs
	shown := 0
	for _, r := range rows {
		if r["client"] == "" {
			continue
		}
		shown++
		b, a := RowOf(before, 0, r["client"]), RowOf(after, 0, r["client"])
		if b == nil || a == nil || len(b) < 6 {
			d.add("client %s is not in chronyc's clients", r["client"])
			continue
		}
		d.same(r["client"]+" client-ntp", r["client-ntp"], b[1])
		d.same(r["client"]+" client-drops", r["client-drops"], b[2])
		interval := b[3]
		if interval == "127" || interval == "-" {
			interval = "-"
		}
		d.same(r["client"]+" client-interval", r["client-interval"], interval)
		if b[5] == "4294967295" {
			d.same(r["client"]+" client-last", r["client-last"], b[5])
		} else {
			d.between(r["client"]+" client-last", r["client-last"], b[5], a[5], 1)
		}
	}
	if shown != min(len(before), 50) {
		d.add("the panel lists %d clients, chronyc %d", shown, len(before))
	}
	return d
}
