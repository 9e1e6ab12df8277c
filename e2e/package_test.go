package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/testkit"
)

// buildDeb builds second-hand for linux/amd64 as version, and its .deb with nfpm as `just dist`
// does (cmd/second-hand/deb/nfpm.yaml), into dir; it returns the package's path.
func buildDeb(t *testing.T, dir, nfpm, version string) string {
	t.Helper()
	root := repoRoot(t)
	// nfpm.yaml names its files relative to the repository; a copy of that layout per build.
	work := filepath.Join(dir, "work-"+version)
	for _, p := range []string{"cmd/second-hand/deb", "dist/.stage"} {
		if err := os.MkdirAll(filepath.Join(work, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"README.md", "cmd/second-hand/deb/nfpm.yaml", "cmd/second-hand/deb/second-hand.service",
		"cmd/second-hand/deb/second-hand.default", "cmd/second-hand/deb/postinst", "cmd/second-hand/deb/prerm", "cmd/second-hand/deb/postrm"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v"+version, "-o",
		filepath.Join(work, "dist/.stage/second-hand"), "./cmd/second-hand")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pkg := exec.Command(nfpm, "package", "--config", "cmd/second-hand/deb/nfpm.yaml", "--packager", "deb", "--target", dir)
	pkg.Dir = work
	pkg.Env = append(os.Environ(), "VERSION="+version, "ARCH=amd64")
	if out, err := pkg.CombinedOutput(); err != nil {
		t.Fatalf("nfpm: %v\n%s", err, out)
	}
	return filepath.Join(dir, "second-hand_"+version+"_amd64.deb")
}

// docker runs the docker CLI and returns its output, failing the test on an error or when the
// command has not ended within three minutes.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebianPackage installs the amd64 .deb with dpkg in a Debian bookworm container with
// chrony (the chronyd image, whose chronyd serves its local clock), starts chronyd and
// second-hand as the unit would (its ExecStart,
// its Environment and EnvironmentFile; a container runs no systemd), and checks that the page
// shows chronyd's data; it upgrades to the next version, which keeps the history recorded and
// the edited /etc/default/second-hand; then dpkg --purge leaves nothing behind.
func TestDebianPackage(t *testing.T) {
	needDocker(t)
	dir := t.TempDir()
	nfpm := filepath.Join(dir, "nfpm")
	build := exec.Command("go", "build", "-o", nfpm, "github.com/goreleaser/nfpm/v2/cmd/nfpm")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building nfpm (a tool of go.mod): %v\n%s", err, out)
	}
	first, next := buildDeb(t, dir, nfpm, "0.9.0"), buildDeb(t, dir, nfpm, "0.9.1")
	image := chronydImage(t, "bookworm", "4.3")

	name := fmt.Sprintf("second-hand-deb-%d", time.Now().UnixNano())
	// --init: the container's first process reaps what exits (the second-hand stopped below
	// would otherwise stay a zombie that kill -0 still finds).
	docker(t, "run", "-d", "--init", "--name", name, "-p", "127.0.0.1::8080", "-v", dir+":/debs:ro", "--entrypoint", "sleep", image, "infinity")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	sh := func(script string) string { t.Helper(); return docker(t, "exec", name, "sh", "-ec", script) }
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "exec", name, "sh", "-c", "cat /tmp/second-hand.log; ls -la /run/chrony /var/lib/second-hand").CombinedOutput()
			t.Logf("in the container:\n%s", out)
		}
	})
	port := strings.TrimSpace(docker(t, "port", name, "8080/tcp"))
	base := "http://" + port[strings.LastIndex(port, " ")+1:]

	// The unit's way of starting it: Environment= first, then EnvironmentFile= over it.
	unit := sh(`chronyd -x -f /etc/chrony/second-hand/upstream.conf; dpkg -i /debs/` + filepath.Base(first) + ` >/dev/null; cat /lib/systemd/system/second-hand.service`)
	var env []string
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, "Environment="); ok {
			env = append(env, v)
		}
	}
	if !strings.Contains(unit, "ExecStart=/usr/bin/second-hand\n") || !strings.Contains(unit, "EnvironmentFile=-/etc/default/second-hand") {
		t.Fatalf("the unit starts it otherwise than this test does:\n%s", unit)
	}
	start := `set -a; ` + strings.Join(env, "; ") + `; . /etc/default/second-hand; set +a; SECOND_HAND_SAMPLE=1s nohup /usr/bin/second-hand >/tmp/second-hand.log 2>&1 & echo $! >/tmp/second-hand.pid`

	// SIGTERM, and wait until it has exited (it closes the store).
	stop := `pid=$(cat /tmp/second-hand.pid); kill $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done; `

	// The installed files, the conffile, the version.
	sh(`test -x /usr/bin/second-hand; test -f /lib/systemd/system/second-hand.service; test -f /usr/share/doc/second-hand/README.md
	    grep -qx /etc/default/second-hand /var/lib/dpkg/info/second-hand.conffiles`)
	if v := sh(`second-hand --version`); !strings.Contains(v, "second-hand v0.9.0 ") {
		t.Errorf("second-hand --version = %q", v)
	}
	// The user opens it to the container's network, as one would to reach it from elsewhere.
	sh(`sed -i 's/^SECOND_HAND_LISTEN=.*/SECOND_HAND_LISTEN=0.0.0.0:8080/' /etc/default/second-hand`)
	sh(start)
	page := waitPage(t, base+"/panels/tracking?fresh=1", `data-field="stratum"`)
	f := testkit.Fields(t, page)
	if f["stratum"] != "8" || f["synchronised"] != "local" {
		t.Fatalf("the tracking panel of the installed second-hand: %v\n%s", f, sh(`cat /tmp/second-hand.log`))
	}
	t.Logf("installed 0.9.0: the tracking panel shows chronyd (stratum %s, %s)", f["stratum"], f["synchronised"])
	rowsBefore := waitRows(t, base+"/history.csv?range=1h", 3)

	// Upgrade: stop, install the next version, start again.
	sh(stop + `dpkg -i /debs/` + filepath.Base(next) + ` >/dev/null`)
	if v := sh(`second-hand --version`); !strings.Contains(v, "second-hand v0.9.1 ") {
		t.Errorf("after the upgrade, second-hand --version = %q", v)
	}
	if conf := sh(`cat /etc/default/second-hand`); !strings.Contains(conf, "SECOND_HAND_LISTEN=0.0.0.0:8080") {
		t.Errorf("the upgrade replaced the edited /etc/default/second-hand:\n%s", conf)
	}
	sh(start)
	waitPage(t, base+"/panels/tracking?fresh=1", `data-field="stratum"`)
	if after := waitRows(t, base+"/history.csv?range=1h", rowsBefore); after < rowsBefore {
		t.Errorf("history after the upgrade: %d rows, before: %d", after, rowsBefore)
	} else {
		t.Logf("upgraded to 0.9.1: the history store kept its %d rows (now %d)", rowsBefore, after)
	}

	// Purge: nothing left.
	sh(stop + `dpkg --purge second-hand >/dev/null`)
	left := sh(`for p in /usr/bin/second-hand /lib/systemd/system/second-hand.service /etc/default/second-hand /usr/share/doc/second-hand /var/lib/second-hand /var/lib/private/second-hand; do
	    if [ -e "$p" ]; then echo "$p"; fi; done; dpkg-query -W -f='${Status}' second-hand 2>/dev/null || true`)
	if strings.TrimSpace(left) != "" {
		t.Errorf("after dpkg --purge: %q", left)
	}
}

// waitPage fetches url until it answers 200 with want in it, for up to a minute.
func waitPage(t *testing.T, url, want string) string {
	t.Helper()
	var page string
	testkit.Eventually(t, time.Minute, url+" to show "+want, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return resp.StatusCode == 200 && strings.Contains(page, want)
	})
	return page
}

// waitRows waits until the history CSV at url has at least n sample rows and returns how many.
func waitRows(t *testing.T, url string, n int) int {
	t.Helper()
	rows := 0
	testkit.Eventually(t, time.Minute, fmt.Sprintf("%d samples in the history", n), func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		rows = bytes.Count(b, []byte(",sample,"))
		return rows >= n
	})
	return rows
}
