package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

var execCommand = exec.Command

// helperMain runs inside a network namespace made by TestAutoFindsUDPUnprivileged, so that
// port 323 of its loopback is free: it starts chronyd there and second-hand as nobody with
// --chrony auto, and checks the four panels.
func helperMain() int {
	if err := helperAutoUDP(); err != nil {
		fmt.Println("FAIL:", err)
		return 1
	}
	fmt.Println("ok: auto found chronyd at udp://127.0.0.1:323 as nobody")
	return 0
}

func helperAutoUDP() error {
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set lo up: %v %s", err, out)
	}
	dir, err := os.MkdirTemp("", "auto-lab-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// chronyd's default command port, on loopback only: what a stock chronyd offers.
	d, err := chronylab.NewDaemon(dir, "stock", chronylab.Config{Conf: "local stratum 8\n", CmdPort: 323})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		return err
	}
	defer d.Stop()

	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "--listen", "127.0.0.1:8080")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	log := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	get := func(path string) (string, error) {
		resp, err := http.Get("http://127.0.0.1:8080" + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	for i := 0; ; i++ {
		if _, err := get("/healthz"); err == nil {
			break
		} else if i > 200 {
			return fmt.Errorf("second-hand did not start: %v\n%s", err, log.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	for _, p := range []string{"tracking", "sources", "sourcestats", "rtc"} {
		page, err := get("/panels/" + p)
		if err != nil {
			return err
		}
		if strings.Contains(page, `data-failed="`) {
			return fmt.Errorf("%s panel failed with auto as nobody:\n%s\n%s", p, page, log.String())
		}
		if !strings.Contains(page, `hx-swap-oob="true">udp://127.0.0.1:323<`) {
			return fmt.Errorf("%s panel does not say it used udp://127.0.0.1:323:\n%s", p, page)
		}
	}
	return nil
}
