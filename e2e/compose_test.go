package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestComposeFile brings docker/docker-compose.yml up as users do (with the images built from
// docker/), checks second-hand through nginx at /chrony/, Prometheus (monitoring profile), and
// VictoriaMetrics fed by Prometheus' remote write with a second-hand reading it (fleet profile),
// and takes it down again; then the same with docker-compose.socket.yml added.
func TestComposeFile(t *testing.T) {
	needDocker(t)
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		msg := "no docker compose plugin (.ci/setup test builds one): " + err.Error()
		if strict() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, tc := range []struct {
		name     string
		files    []string
		endpoint string
		// With the monitoring profile (Debian's Prometheus scraping second-hand) and the fleet
		// profile (Prometheus' remote write to VictoriaMetrics, a second-hand reading it).
		monitoring bool
	}{
		{"udp", []string{"../docker/docker-compose.yml"}, "udp://chronyd:323", true},
		{"socket", []string{"../docker/docker-compose.yml", "../docker/docker-compose.socket.yml"}, "unix:///run/chrony/chronyd.sock", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, promPort, fleetPort := testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t)
			project := fmt.Sprintf("second-hand-e2e-%d", os.Getpid())
			args := []string{"compose", "-p", project}
			for _, f := range tc.files {
				args = append(args, "-f", f)
			}
			if tc.monitoring {
				args = append(args, "--profile", "monitoring", "--profile", "fleet")
			}
			compose := func(ctx context.Context, more ...string) (string, error) {
				cmd := exec.CommandContext(ctx, "docker", append(append([]string{}, args...), more...)...)
				cmd.Env = append(os.Environ(), "SECOND_HAND_PORT="+port, "SECOND_HAND_PROMETHEUS_PORT="+promPort, "SECOND_HAND_FLEET_PORT="+fleetPort)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			t.Cleanup(func() {
				if out, err := compose(context.Background(), "down", "--volumes", "--timeout", "5"); err != nil {
					t.Errorf("compose down: %v\n%s", err, out)
				}
			})
			start := time.Now()
			if out, err := compose(ctx, "up", "--build", "--detach", "--wait"); err != nil {
				logs, _ := compose(context.Background(), "logs", "--tail", "30")
				t.Fatalf("compose up: %v\n%s\n%s", err, testkit.LastLines(out, 30), logs)
			}
			t.Logf("compose up --build --wait took %v", time.Since(start).Round(time.Second))

			base := "http://127.0.0.1:" + port
			// /chrony redirects to /chrony/, relatively, so that the published port is kept.
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noFollow.Get(base + "/chrony")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/chrony/" {
				t.Errorf("GET /chrony = %d Location %q, want 301 to /chrony/", resp.StatusCode, resp.Header.Get("Location"))
			}
			if code, page := get(t, base+"/chrony/"); code != 200 || !strings.Contains(page, `hx-get="hosts/chronyd/summary"`) ||
				!strings.Contains(page, `hx-get="hosts/chronyd2/summary"`) {
				t.Errorf("GET /chrony/ = %d, want the overview of chronyd and chronyd2:\n%s", code, page)
			}
			// Every panel of both hosts has data once the stack's chronyd answer.
			deadline := time.Now().Add(time.Minute)
			for host, endpoint := range map[string]string{"chronyd": tc.endpoint, "chronyd2": "udp://chronyd2:323"} {
				for _, p := range panelIDs {
					for {
						code, page := get(t, base+"/chrony/hosts/"+host+"/panels/"+p)
						ok := code == 200 && !strings.Contains(page, `role="alert"`) && strings.Contains(page, `hx-swap-oob="true">`+endpoint+"<")
						if ok {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("%s's panel %s through nginx: %d\n%s", host, p, code, page)
						}
						time.Sleep(500 * time.Millisecond)
					}
				}
				if code, page := get(t, base+"/chrony/hosts/"+host+"/panels/tracking"); code != 200 || !strings.Contains(page, `data-field="reference" value="upstream"`) {
					t.Errorf("%s's tracking does not follow the stack's upstream:\n%s", host, page)
				}
			}
			if tc.monitoring {
				checkPrometheus(t, "http://127.0.0.1:"+promPort)
				checkFleet(t, "http://127.0.0.1:"+fleetPort)
			}
		})
	}
}

// checkPrometheus asks the stack's Prometheus, through its query API, for the stratum of each
// monitored chronyd (9: its upstream serves stratum 8) and for up == 1 of its scrape of
// second-hand.
func checkPrometheus(t *testing.T, base string) {
	t.Helper()
	query := func(q string) (string, bool) {
		code, body := get(t, base+"/api/v1/query?query="+url.QueryEscape(q))
		return body, code == 200 && strings.Contains(body, `"status":"success"`)
	}
	var body string
	took := testkit.Eventually(t, 2*time.Minute, "Prometheus to have scraped second-hand", func() bool {
		var ok bool
		body, ok = query(`chrony_tracking_stratum`)
		return ok && strings.Contains(body, `"host":"chronyd"`) && strings.Contains(body, `"host":"chronyd2"`)
	})
	t.Logf("Prometheus had chrony_tracking_stratum %v after the stack was up", took.Round(time.Second))
	for _, host := range []string{"chronyd", "chronyd2"} {
		if !strings.Contains(body, `"host":"`+host+`","instance":"second-hand:8080","job":"second-hand"},"value":[`) || !strings.Contains(body, `,"9"]`) {
			t.Errorf("chrony_tracking_stratum of %s: %s", host, body)
		}
	}
	if body, ok := query(`up{job="second-hand"} == 1`); !ok || !strings.Contains(body, `"instance":"second-hand:8080"`) {
		t.Errorf("up of the second-hand job: %s", body)
	}
	if body, ok := query(`chrony_up`); !ok || strings.Count(body, `,"1"]`) != 2 {
		t.Errorf("chrony_up: %s", body)
	}
	// The rules are loaded.
	if code, body := get(t, base+"/api/v1/rules"); code != 200 || !strings.Contains(body, "ChronyNotSynchronised") {
		t.Errorf("rules: %d %s", code, body)
	}
}

// checkFleet asks the fleet profile's second-hand, which reads no chronyd itself, for its
// overview: both hosts, from what Prometheus sent VictoriaMetrics by remote write, named by
// their instance label; and a host's history from there.
func checkFleet(t *testing.T, base string) {
	t.Helper()
	if code, page := get(t, base+"/"); code != 200 || !strings.Contains(page, `hx-get="engine/hosts"`) {
		t.Fatalf("the fleet's second-hand: %d\n%s", code, page)
	}
	var panel string
	took := testkit.Eventually(t, 2*time.Minute, "VictoriaMetrics' hosts in the fleet's overview", func() bool {
		_, panel = get(t, base+"/engine/hosts")
		return strings.Count(panel, `data-field="status" value="synchronised"`) == 2 &&
			strings.Contains(panel, `id="host-chronyd"`) && strings.Contains(panel, `id="host-chronyd2"`)
	})
	t.Logf("the fleet's overview had both hosts from VictoriaMetrics %v after the stack was up", took.Round(time.Second))
	if !strings.Contains(panel, `data-field="reference" value="upstream"`) {
		t.Errorf("the fleet's rows do not follow the stack's upstream:\n%s", panel)
	}
	if code, page := get(t, base+"/hosts/chronyd2/panels/history?range=1h"); code != 200 || !strings.Contains(page, `data-chart="offset"`) ||
		!strings.Contains(page, "From the Prometheus API at <code>http://victoria-metrics:8428</code>") {
		t.Errorf("chronyd2's history from VictoriaMetrics: %d\n%s", code, page)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
