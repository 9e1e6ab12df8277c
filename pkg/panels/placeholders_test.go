package panels

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
)

// The replies of the selection lab (pkg/chrony/testdata/lab: a good upstream 127.0.0.1, an NTS
// one .2, a falseticker .4, a noselect one .6, a server nobody answers .3 and a reference clock
// GPS with no device, captured from chronyd 4.3; see pkg/chrony's TestCaptureLab) and an
// unsynchronised chronyd's tracking (chronytest's tracking_unsync), read by the real client from
// a fake that replays them, then drawn: every placeholder of chronyd's is a word, never a
// measurement.

const labDir = "../chrony/testdata/lab"

// Request codes the lab's fake answers besides chronytest's.
const (
	reqNTPData    = 57
	reqSelectData = 69
)

func labFile(name string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(labDir, name+".bin"))
	return b, err == nil
}

// labHandler answers like the lab's chronyd, with the tracking report given.
func labHandler(tracking []byte) chronytest.Handler {
	return func(req chronytest.Request) [][]byte {
		var name string
		switch req.Command {
		case chronytest.ReqTracking:
			return [][]byte{chronytest.Stamp(tracking, req)}
		case chronytest.ReqNSources:
			n := 0
			for ; ; n++ {
				if _, ok := labFile(fmt.Sprintf("source_data_%d", n)); !ok {
					break
				}
			}
			return [][]byte{chronytest.Reply(req, 2, 0, binary.BigEndian.AppendUint32(nil, uint32(n)))}
		case chronytest.ReqSourceData:
			name = fmt.Sprintf("source_data_%d", req.Index())
		case chronytest.ReqSourceStats:
			name = fmt.Sprintf("sourcestats_%d", req.Index())
		case reqSelectData:
			name = fmt.Sprintf("selectdata_%d", req.Index())
		case reqNTPData:
			name = "ntpdata_" + netip.AddrFrom4([4]byte(req.Data[:4])).String()
		}
		b, ok := labFile(name)
		if name == "" || !ok {
			return [][]byte{chronytest.Reply(req, 1, 4, nil)} // 503 No such source
		}
		return [][]byte{chronytest.Stamp(b, req)}
	}
}

func labClient(t *testing.T, tracking []byte) *chrony.Client {
	t.Helper()
	fake := chronytest.StartUDP(t, labHandler(tracking))
	a, err := chrony.ParseAddress(fake.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chrony.New(a, chrony.Options{Timeout: time.Second, Retries: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUnsynchronisedTrackingInWords: chronyd unsynchronised reports stratum 0, a root delay and
// dispersion of 1 s, a reference time of zero and an offset against no reference: the panel
// says "unknown", "none" and "never", and prints none of them as a measurement.
func TestUnsynchronisedTrackingInWords(t *testing.T) {
	c := labClient(t, chronytest.Captured("tracking_unsync"))
	tr, err := c.Tracking(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Synchronised() || tr.RootDelaySeconds != 1 {
		t.Fatalf("the capture is not an unsynchronised chronyd's: %+v", tr)
	}
	html := render(t, TrackingPanel(Result[chrony.Tracking]{Data: tr, At: at, Now: now}))
	mustContain(t, html, ">Not synchronised<",
		`data-field="stratum" value="">unknown<`, `data-field="system-time" value="">unknown<`,
		`data-field="reference" value="">none<`, `data-field="last-update" value="never">never<`,
		`data-field="root-delay" value="">unknown<`, `data-field="root-dispersion" value="">unknown<`)
	// Placeholders printed as values: stratum 0, 1 s of root delay, 0 ns of offset.
	mustNotContain(t, html, `data-field="stratum" value="0"`, ">1.00 s<", ">0 ns fast<", ">0 ns slow<", ">+0 ns<")
}

// TestSourcesNeverSampledInWords: the lab's dead server (.3) and device-less refclock (GPS)
// have no sample: their rows say "no sample yet" (or "never answered") and "unknown" where
// chronyc prints 0, their
// statistics "no samples"; the others' values stay numbers, one unit for the column.
func TestSourcesNeverSampledInWords(t *testing.T) {
	c := labClient(t, chronytest.Captured("tracking"))
	ctx := context.Background()
	src, err := c.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := c.SourceStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	html := render(t, SourcesPanel(Result[[]chrony.Source]{Data: src, At: at, Now: now}))
	for _, tr := range strings.Split(html, "<tr")[1:] {
		for _, key := range []string{"127.0.0.1", "127.0.0.3", "GPS"} {
			if strings.Contains(tr, `value="`+key+`">`) && !strings.Contains(tr, "detail-row") {
				rows[key] = tr
			}
		}
	}
	for _, key := range []string{"127.0.0.3", "GPS"} {
		mustContain(t, rows[key], `data-field="no-sample"`, `data-field="last-sample" value="never">never<`, `data-field="stratum" value="">unknown<`)
		mustNotContain(t, rows[key], `data-field="adjusted-offset"`, `data-field="stratum" value="0"`)
	}
	mustContain(t, rows["GPS"], ">no sample yet<")
	mustContain(t, rows["127.0.0.3"], ">never answered<")
	mustContain(t, rows["127.0.0.1"], `data-field="adjusted-offset"`, `data-field="stratum" value="8"`)
	sh := render(t, SourceStatsPanel(Result[[]chrony.SourceStats]{Data: stats, At: at, Now: now}))
	// No regression yet: chronyd's 2000 ppm skew and 4 s deviation are not shown.
	mustNotContain(t, sh, ">2000.000 ppm<", ">4.00 s<", ">4000000000<")
	mustContain(t, sh, "no samples")
}

// TestDetailOfASourceThatNeverAnswered: the detail of the lab's dead server shows what is known
// (its requests, none answered) instead of a packet section of placeholders (version 0,
// [UNSPEC], a precision of 1 s, every test failed), and gives no advice about packets that
// never came.
func TestDetailOfASourceThatNeverAnswered(t *testing.T) {
	c := labClient(t, chronytest.Captured("tracking"))
	ctx := context.Background()
	src, err := c.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := c.SelectDataN(ctx, len(src))
	if err != nil {
		t.Fatal(err)
	}
	dead := netip.MustParseAddr("127.0.0.3")
	ntp, err := c.NTPData(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	d := SourceDetail{Key: "127.0.0.3", Panel: "sources", URL: "sources/127.0.0.3?in=sources", Found: true, Selection: sel, Index: -1, NTP: &ntp}
	for i, s := range src {
		if s.Address == dead {
			d.Source = s
		}
		if sel[i].Address == dead {
			d.Index = i
		}
	}
	html := render(t, SourceDetailFragment(Result[SourceDetail]{Data: d, At: at, Now: now}))
	mustContain(t, html, `data-field="no-packet"`, "No packet received yet: chronyd has sent it", "none was answered",
		`data-field="select-score" value="">none yet<`)
	mustNotContain(t, html, "[UNSPEC]", "version 0", "Invalid", ">1.00 s<", "failed:", "add nts")
}

// TestOneSignAcrossRowAndDetail: the lab's falseticker serves a clock 1 s ahead ("offset 1.0"),
// so this clock is 1 s behind it: negative in its row, its statistics and its detail's last
// packet alike (ntpdata counts the other way, and is turned round), and the page says the
// convention once.
func TestOneSignAcrossRowAndDetail(t *testing.T) {
	c := labClient(t, chronytest.Captured("tracking"))
	ctx := context.Background()
	src, err := c.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := c.SourceStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	falseticker := netip.MustParseAddr("127.0.0.4")
	ntp, err := c.NTPData(ctx, falseticker)
	if err != nil {
		t.Fatal(err)
	}
	d := SourceDetail{Key: "127.0.0.4", Panel: "sources", URL: "sources/127.0.0.4?in=sources", Found: true, Index: -1, NTP: &ntp}
	var row []chrony.Source
	var st []chrony.SourceStats
	for i, s := range src {
		if s.Address == falseticker {
			d.Source, row, st = s, []chrony.Source{s}, []chrony.SourceStats{stats[i]}
		}
	}
	sign := func(html, field string) string {
		_, after, ok := strings.Cut(html, `data-field="`+field+`" value="`)
		if !ok {
			t.Fatalf("no %s in:\n%s", field, html)
		}
		if strings.HasPrefix(after, "-") {
			return "-"
		}
		return "+"
	}
	got := map[string]string{
		"sources row":   sign(render(t, SourcesPanel(Result[[]chrony.Source]{Data: row, At: at, Now: now})), "adjusted-offset"),
		"statistics":    sign(render(t, SourceStatsPanel(Result[[]chrony.SourceStats]{Data: st, At: at, Now: now})), "offset"),
		"detail packet": sign(render(t, SourceDetailFragment(Result[SourceDetail]{Data: d, At: at, Now: now})), "ntp-offset"),
	}
	for where, s := range got {
		if s != "-" {
			t.Errorf("%s: this clock 1 s behind the falseticker has sign %s, want -", where, s)
		}
	}
}
