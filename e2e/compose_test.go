package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestComposeFile brings docker/docker-compose.yml up as users do (with the images built from
// docker/), checks second-hand through nginx at /chrony/, and takes it down again; then the
// same with docker-compose.socket.yml added.
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
	}{
		{"udp", []string{"../docker/docker-compose.yml"}, "udp://chronyd:323"},
		{"socket", []string{"../docker/docker-compose.yml", "../docker/docker-compose.socket.yml"}, "unix:///run/chrony/chronyd.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := testkit.FreePort(t)
			project := fmt.Sprintf("second-hand-e2e-%d", os.Getpid())
			args := []string{"compose", "-p", project}
			for _, f := range tc.files {
				args = append(args, "-f", f)
			}
			compose := func(ctx context.Context, more ...string) (string, error) {
				cmd := exec.CommandContext(ctx, "docker", append(append([]string{}, args...), more...)...)
				cmd.Env = append(os.Environ(), "SECOND_HAND_PORT="+port)
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
		})
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
