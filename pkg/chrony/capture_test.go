package chrony

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestCaptureReplies refreshes testdata/ from a running chronyd; it is skipped unless
// CHRONY_CAPTURE names one, and the files it writes are the ones the decoding tests replay:
//
//	CHRONY_CAPTURE=udp://127.0.0.1:11323 go test -run TestCaptureReplies ./pkg/chrony
//
// It also saves `chronyc -c` output taken right after, for the decoding tests to compare with;
// capture from a lab polling every 16 s (chrony-lab -poll 4) so nothing changes in between.
//
// With CHRONY_CAPTURE_SUFFIX it captures only tracking: _unsync from a chronyd whose only
// source never answers, _local from the lab's upstream, which serves its local clock.
//
// The committed files were captured from chronyd 4.3 (Debian bookworm) in the lab of
// pkg/chronylab: a monitored chronyd synchronised to a local upstream, with a reference clock
// (SHM 0, refid GPS), a peer and a named server that never answers, and no rtcfile.
func TestCaptureReplies(t *testing.T) {
	target := os.Getenv("CHRONY_CAPTURE")
	if target == "" {
		t.Skip("set CHRONY_CAPTURE to a chronyd address to capture replies into testdata/")
	}
	addr, err := ParseAddress(target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(addr, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	host := []string{"-h", addr.Path}
	if addr.Network == "udp" {
		host = []string{"-h", addr.Host, "-p", strconv.Itoa(addr.Port)}
	}
	chronyc := func(report, suffix string) {
		t.Helper()
		out, err := exec.Command("chronyc", append(append([]string{"-c", "-n", "-N"}, host...), report)...).Output()
		if err != nil {
			t.Fatalf("chronyc %s: %v", report, err)
		}
		if err := os.WriteFile(filepath.Join("chronytest", "testdata", "chronyc_"+report+suffix+".csv"), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	save := func(name string, req request) {
		t.Helper()
		err := c.roundTrip(ctx, req, func(reply []byte) error {
			return os.WriteFile(filepath.Join("chronytest", "testdata", name+".bin"), reply, 0o644)
		})
		if err != nil && KindOf(err) != KindStatus {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if suffix := os.Getenv("CHRONY_CAPTURE_SUFFIX"); suffix != "" {
		// Only tracking, for another state of chronyd: tracking_unsync from a chronyd whose
		// only source never answers.
		save("tracking"+suffix, trackingRequest())
		chronyc("tracking", suffix)
		return
	}
	save("tracking", trackingRequest())
	save("n_sources", nSourcesRequest())
	n, err := c.NumSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		save(fmt.Sprintf("source_data_%d", i), sourceDataRequest(i))
		save(fmt.Sprintf("sourcestats_%d", i), sourceStatsRequest(i))
	}
	sources, err := c.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sources {
		if s.Mode != ModeRefClock {
			save(fmt.Sprintf("source_name_%d", i), sourceNameRequest(wireAddrFrom(s.Address)))
		}
	}
	// chronyc's own view of the same moment, for the decoding tests to compare with.
	for _, report := range []string{"tracking", "sources", "sourcestats"} {
		chronyc(report, "")
	}
	// No rtcfile: chronyd answers 513 RTC driver not running; keep the whole reply.
	var raw []byte
	buf := make([]byte, maxDatagram)
	cn, err := dial(ctx, c.conn.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.close()
	out, _ := rtcRequest().encode(nil, 0, 42)
	cn.nc.SetDeadline(time.Now().Add(time.Second))
	if _, err := cn.nc.Write(out); err != nil {
		t.Fatal(err)
	}
	m, err := cn.nc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	raw = buf[:m]
	if err := os.WriteFile(filepath.Join("chronytest", "testdata", "rtc_nortc.bin"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
