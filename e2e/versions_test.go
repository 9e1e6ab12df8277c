package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// The chrony versions users run, each as Debian ships it: docker/chronyd.Dockerfile built on
// the suite's base image (.ci/base-images makes trixie's and forky's here).
var chronyVersions = []struct{ suite, version string }{
	{"bookworm", "4.3"},
	{"trixie", "4.6"},
	{"forky", "4.9"},
}

// chronydImage builds docker/chronyd.Dockerfile on suite and checks its chronyd's version.
func chronydImage(t *testing.T, suite, version string) string {
	t.Helper()
	image := "second-hand/chronyd:" + suite
	start := time.Now()
	cmd := exec.Command("docker", "build", "-q", "-f", "docker/chronyd.Dockerfile", "--build-arg", "SUITE="+suite, "-t", image, ".")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", image, err, out)
	}
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "chronyd", image, "-v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "version "+version) {
		t.Fatalf("%s: chronyd -v = %q (%v), want version %s", image, out, err, version)
	}
	t.Logf("%s (%s) built in %v", image, strings.TrimSpace(string(out)), time.Since(start).Round(time.Second))
	return image
}

// getPage fetches url (fresh=1 added) and fails unless it answers 200.
func getPage(t *testing.T, url string) string {
	t.Helper()
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	resp, err := http.Get(url + sep + "fresh=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

func labChronyc(d *chronylab.Daemon, args ...string) ([][]string, error) {
	out, err := d.Chronyc(context.Background(), append([]string{"-c"}, args...)...)
	return chronylab.ParseCSV(out), err
}

// agree reads fetch between two chronyc reads until chronyd did not change in between, and
// fails the test if compare never finds them equal.
func agree(t *testing.T, what string, read func() ([][]string, error), fetch func() string, volatile []int,
	compare func(page string, before, after [][]string) []string) {
	t.Helper()
	diffs := chronylab.Consistent(50, read, func() (string, error) {
		page := fetch()
		if strings.Contains(page, `data-failed="`) {
			return "", fmt.Errorf("%s shows an error:\n%s", what, page)
		}
		return page, nil
	}, volatile, compare)
	if len(diffs) > 0 {
		t.Fatalf("%s never matched chronyc:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// TestEveryChronyVersion: against chronyd 4.3, 4.6 and 4.9, each in a container of its Debian
// release on the host's loopback, read over its Unix socket: the four panels, every source's
// detail (selectdata, ntpdata, authdata), the server panel (serverstats, clients) and the
// activity in the sources panel's head equal what the same version's chronyc prints. Replies
// whose layout changed between these releases (ntpdata, serverstats) are decoded by their own
// version and length.
func TestEveryChronyVersion(t *testing.T) {
	needDocker(t)
	for _, v := range chronyVersions {
		t.Run(v.version, func(t *testing.T) {
			image := chronydImage(t, v.suite, v.version)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			lab, err := chronylab.StartSelection(ctx, "", image)
			needRoot(t, err)
			t.Cleanup(func() { lab.Close() })
			if err := lab.WaitSettled(ctx); err != nil {
				t.Fatal(err)
			}
			if err := chronylab.WaitSynchronised(ctx, lab.Monitored); err != nil {
				t.Fatal(err)
			}
			url := serve(t, [][2]string{{"mon", lab.Monitored.SocketAddress()}, {"up", lab.Good.SocketAddress()}},
				chrony.DefaultOptions(), 10*time.Second)
			mon := lab.Monitored
			named := func(report string) func() ([][]string, error) {
				return func() ([][]string, error) { return labChronyc(mon, "-N", report) }
			}

			agree(t, "the tracking panel", named("tracking"), func() string { return getPage(t, url+"hosts/mon/panels/tracking") },
				chronylab.TrackingVolatile, func(page string, before, after [][]string) []string {
					return chronylab.CompareTracking(testkit.Fields(t, page), before[0], after[0])
				})
			agree(t, "the sources panel", named("sources"), func() string { return getPage(t, url+"hosts/mon/panels/sources") },
				chronylab.SourcesVolatile, func(page string, before, after [][]string) []string {
					return chronylab.CompareSources(testkit.Rows(t, page), before, after)
				})
			agree(t, "the source statistics panel", named("sourcestats"), func() string { return getPage(t, url+"hosts/mon/panels/sourcestats") },
				chronylab.SourceStatsVolatile, func(page string, before, after [][]string) []string {
					return chronylab.CompareSourceStats(testkit.Rows(t, page), before, after)
				})
			if f := testkit.Fields(t, getPage(t, url+"hosts/mon/panels/rtc")); f["rtc"] != "disabled" {
				t.Errorf("RTC panel: %v, want RTC tracking not enabled", f)
			}

			for _, key := range []string{lab.GoodAddr, lab.NTSAddr, lab.FalseAddr, lab.NoSelectAddr, lab.DeadAddr, "GPS"} {
				agree(t, "the detail of "+key, func() ([][]string, error) {
					sel, err := labChronyc(mon, "selectdata", "-a")
					if err != nil || key == "GPS" {
						return [][]string{chronylab.RowOf(sel, 1, key), nil, nil}, err
					}
					ntp, err := labChronyc(mon, "ntpdata")
					if err != nil {
						return nil, err
					}
					auth, err := labChronyc(mon, "authdata")
					return [][]string{chronylab.RowOf(sel, 1, key), chronylab.RowOf(ntp, 0, key), chronylab.RowOf(auth, 0, key)}, err
				}, func() string { return getPage(t, url+"hosts/mon/sources/"+key) },
					chronylab.AuthDataVolatile, func(page string, before, after [][]string) []string {
						f := testkit.Fields(t, page)
						d := chronylab.CompareSelection(f, before[0])
						if key != "GPS" {
							d = append(d, chronylab.CompareNTPData(f, before[1])...)
							d = append(d, chronylab.CompareAuthData(f, before[2], after[2])...)
						}
						return d
					})
			}
			if f := testkit.Fields(t, getPage(t, url+"hosts/mon/sources/"+lab.FalseAddr)); !strings.Contains(f["verdict"], "falseticker") {
				t.Errorf("the falseticker's verdict: %q", f["verdict"])
			}

			agree(t, "the server panel", func() ([][]string, error) {
				stats, err := labChronyc(lab.Good, "serverstats")
				if err != nil {
					return nil, err
				}
				clients, err := labChronyc(lab.Good, "clients")
				return append(stats, clients...), err
			}, func() string { return getPage(t, url+"hosts/up/panels/server") },
				append([]int{2}, chronylab.ClientsVolatile...), func(page string, before, after [][]string) []string {
					d := chronylab.CompareServerStats(testkit.Fields(t, page), before[0], after[0])
					return append(d, chronylab.CompareClients(testkit.Rows(t, page), before[1:], after[1:])...)
				})
			act, err := labChronyc(mon, "activity")
			if err != nil || len(act) != 1 || len(act[0]) != 5 {
				t.Fatalf("chronyc activity: %v %v", act, err)
			}
			if f := testkit.Fields(t, getPage(t, url+"hosts/mon/panels/sources")); f["activity-online"] != act[0][0] {
				t.Errorf("activity: panel %s online, chronyc %v", f["activity-online"], act[0])
			}
		})
	}
}
