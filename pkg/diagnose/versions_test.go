package diagnose

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

// TestCapturedVersions diagnoses the selection lab of pkg/chronylab (a good server, an NTS
// server, a falseticker, a noselect server, a dead server and a reference clock with no
// device) from the replies chronyd 4.3, 4.6 and 4.9 gave (pkg/chrony/testdata/versions, see
// TestCaptureVersion there): selectdata, ntpdata, authdata, activity and serverstats, whose
// layouts differ between those releases, decoded by the real client from a fake chronyd on
// loopback that replays them. The sources report of the same moment is written from chronyc's
// selectdata of each capture (the sources report was not captured per version). Every version
// must give the same findings.
func TestCapturedVersions(t *testing.T) {
	for _, version := range []string{"4.3", "4.6", "4.9"} {
		t.Run(version, func(t *testing.T) {
			dir := filepath.Join("..", "chrony", "testdata", "versions", version)
			fake := chronytest.StartUDP(t, replayVersion(t, dir))
			a, err := chrony.ParseAddress(fake.Addr)
			if err != nil {
				t.Fatal(err)
			}
			c, err := chrony.New(a, chrony.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			in := Input{Host: "lab", Endpoint: fake.Addr, Now: now, History: History{Why: "history is off"}}
			sel, err := c.SelectDataN(ctx, 6)
			in.Selection = Report[[]chrony.Selection]{Val: sel, At: now, Err: err}
			act, err := c.Activity(ctx)
			in.Activity = Report[chrony.Activity]{Val: act, At: now, Err: err}
			ss, err := c.ServerStats(ctx)
			in.ServerStats = Report[chrony.ServerStats]{Val: ss, At: now, Err: err}
			in.Sources = Read(sourcesOf(sel), now)
			in.Tracking = Read(chrony.Tracking{RefID: 0x7F000002, RefAddr: addr("127.0.0.2"), Stratum: 9, Leap: chrony.LeapNormal,
				RefTime: now.Add(-5 * time.Second), UpdateIntervalSeconds: 16, RootDelaySeconds: 1e-5, RootDispersionSeconds: 2e-5}, now)
			ntp, _ := in.Wanted()
			// Every NTP source's authentication, to decode each layout; the rules need only NTS's.
			auth := []netip.Addr{addr("127.0.0.1"), addr("127.0.0.2"), addr("127.0.0.4"), addr("127.0.0.6"), addr("127.0.0.3")}
			in.NTP, in.Auth = map[netip.Addr]Report[chrony.NTPData]{}, map[netip.Addr]Report[chrony.AuthData]{}
			for _, a := range ntp {
				d, err := c.NTPData(ctx, a)
				in.NTP[a] = Report[chrony.NTPData]{Val: d, At: now, Err: err}
			}
			for _, a := range auth {
				d, err := c.AuthData(ctx, a)
				in.Auth[a] = Report[chrony.AuthData]{Val: d, At: now, Err: err}
			}
			for what, err := range map[string]error{"selectdata": in.Selection.Err, "activity": in.Activity.Err, "serverstats": in.ServerStats.Err} {
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			if got := fmt.Sprint(ntp); !strings.Contains(got, "127.0.0.4") || !strings.Contains(got, "127.0.0.6") {
				t.Errorf("ntpdata wanted of %v, want the falseticker's and the noselect source's", ntp)
			}
			d := Diagnose(in)
			checkDiagnosis(t, d, expect{state: Warning,
				ids: []string{"falseticker", "source-never-answered", "refclock-no-samples", "noselect"},
				text: []string{"127.0.0.4: its time disagrees with the majority", "127.0.0.4: interval: -1.00 s to -1.00 s",
					"127.0.0.3 has never answered", "Reference clock GPS has given no sample", "127.0.0.6 has the noselect option"}})
			if !strings.Contains(d.Summary(), "4 of 6 sources reachable") {
				t.Errorf("checked: %s", d.Summary())
			}
			if n := in.Auth[addr("127.0.0.2")].Val; n.Mode != chrony.AuthNTS || n.Cookies != 8 {
				t.Errorf("authdata of the NTS source = %+v, want NTS with 8 cookies", n)
			}
		})
	}
}

// sourcesOf writes the sources report of the selection lab from its selection rows: the
// report's state is the letter's (chronyc's S column, `sources -v`), and the dead server and
// the reference clock never answered.
func sourcesOf(rows []chrony.Selection) []chrony.Source {
	var out []chrony.Source
	for _, r := range rows {
		s := chrony.Source{Name: r.Name, Address: r.Address, Mode: chrony.ModeServer, PollLog2: 4, Reach: 0o377, Stratum: 9,
			LastSampleAgo: r.LastSampleAgo, State: chrony.StateNonselectable}
		switch r.State {
		case '*':
			s.State = chrony.StateSelected
		case '+':
			s.State = chrony.StateSelectable
		case 'x':
			s.State = chrony.StateFalseticker
		case '~':
			s.State = chrony.StateJittery
		case 'W', 'P', 'U', 'D':
			s.State = chrony.StateUnselected
		}
		if !r.Address.IsValid() {
			s.Mode = chrony.ModeRefClock
		}
		if r.Name == "GPS" || r.Name == "127.0.0.3" {
			s.Reach, s.LastSampleAgo, s.Stratum = 0, chrony.NeverSampled, 0
		}
		out = append(out, s)
	}
	return out
}

// replayVersion answers as the captured chronyd of dir: selectdata by index, ntpdata and
// authdata by address, activity, serverstats; names are unknown (so sources go by address).
func replayVersion(t *testing.T, dir string) chronytest.Handler {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name+".bin"))
		if err != nil {
			return nil
		}
		return b
	}
	return func(req chronytest.Request) [][]byte {
		var name string
		switch req.Command {
		case 69:
			name = fmt.Sprintf("selectdata_%d", req.Index())
		case 57, 67:
			a := netip.AddrFrom4([4]byte(req.Data[:4]))
			if binary.BigEndian.Uint16(req.Data[16:]) != 1 {
				break
			}
			name = map[uint16]string{57: "ntpdata_", 67: "authdata_"}[req.Command] + a.String()
		case 44:
			name = "activity"
		case 54:
			name = "serverstats"
		}
		if b := read(name); b != nil {
			return [][]byte{chronytest.Stamp(b, req)}
		}
		return [][]byte{chronytest.Reply(req, 1, 4, nil)} // 503 No such source
	}
}
