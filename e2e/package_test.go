package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
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
// its Environment and EnvironmentFile, and its MemoryMax as the container's memory limit; a
// container runs no systemd), and checks that the page
// shows chronyd's data; it upgrades to the next version, which keeps the history recorded and
// the edited /etc/default/second-hand; with 30 days of history of 8 sources, three 30-day CSV
// exports at once complete under that limit, and second-hand is still the same process; then
// dpkg --purge leaves nothing behind.
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
	// would otherwise stay a zombie that kill -0 still finds). The unit's MemoryMax is the
	// container's memory, with no swap to spill into.
	limit := unitMemoryMax(t)
	docker(t, "run", "-d", "--init", "--name", name, "--memory", limit, "--memory-swap", limit,
		"-p", "127.0.0.1::8080", "-v", dir+":/debs:ro", "--entrypoint", "sleep", image, "infinity")
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
	start := `set -a; ` + strings.Join(env, "; ") + `; . /etc/default/second-hand; set +a; SECOND_HAND_SAMPLE=1s SECOND_HAND_RETENTION_RAW=31d nohup /usr/bin/second-hand >/tmp/second-hand.log 2>&1 & echo $! >/tmp/second-hand.pid`

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

	// A month of history of a host with 8 sources, and three of its 30-day exports at once:
	// each arrives whole, within the unit's memory, and second-hand is still the process it was.
	month := t.TempDir()
	st, err := store.Open(month, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := storetest.FillHistory(t.Context(), st, "local", time.Now(), 30, 8); err != nil {
		t.Fatal(err)
	}
	st.Close()
	sh(stop + `rm -f /var/lib/second-hand/history.db*`)
	docker(t, "cp", filepath.Join(month, store.FileName), name+":/var/lib/second-hand/"+store.FileName)
	sh(start)
	waitPage(t, base+"/panels/tracking?fresh=1", `data-field="stratum"`)
	pid := strings.TrimSpace(sh(`cat /tmp/second-hand.pid`))
	rows := make([]int, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range rows {
		wg.Go(func() { rows[i], errs[i] = exportRows(base + "/history.csv?range=30d") })
	}
	wg.Wait()
	for i := range rows {
		if errs[i] != nil || rows[i] < 29*5400 {
			t.Errorf("30-day export %d of 3 at once under MemoryMax=%s: %d sample rows, %v", i+1, limit, rows[i], errs[i])
		}
	}
	if got := strings.TrimSpace(sh(`kill -0 ` + pid + ` && echo alive || echo gone`)); got != "alive" {
		t.Errorf("second-hand (pid %s) after three 30-day exports at once: %s\n%s", pid, got, sh(`cat /tmp/second-hand.log`))
	}
	if oom := strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.OOMKilled}}", name)); oom != "false" {
		t.Errorf("the container's OOMKilled is %s", oom)
	}
	waitPage(t, base+"/healthz", "ok")
	t.Logf("three 30-day exports at once under MemoryMax=%s: %v sample rows each; second-hand (pid %s) still serving", limit, rows, pid)

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

// unitMemoryMax is the unit's MemoryMax (256M), in docker's form (256m).
func unitMemoryMax(t *testing.T) string {
	t.Helper()
	unit, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd/second-hand/deb/second-hand.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "MemoryMax="); ok {
			return strings.ToLower(strings.TrimSpace(v))
		}
	}
	t.Fatal("the unit has no MemoryMax")
	return ""
}

// exportRows downloads a CSV export whole and counts its sample rows; a transfer cut short or
// a row that does not parse is an error.
func exportRows(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("%s: %s", url, resp.Status)
	}
	r := csv.NewReader(resp.Body)
	r.ReuseRecord = true
	n := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if len(rec) > 1 && rec[1] == "sample" {
			n++
		}
	}
}
