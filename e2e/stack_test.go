package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// stack is the deployment of docker/docker-compose.yml, started by testcontainers: an upstream
// chronyd, the monitored chronyd (and with two hosts a second one), second-hand and nginx on
// one network.
type stack struct {
	upstream, chronyd, chronyd2, secondHand, nginx testcontainers.Container
	url                                            string // second-hand through nginx: http://localhost:port/chrony/
	refresh, maxWait                               time.Duration
}

type stackOptions struct {
	socket   bool // read chronyd over its Unix socket, shared through a volume, instead of UDP
	twoHosts bool // watch chronyd and chronyd2, as the compose file does
}

func startStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	needDocker(t)
	buildImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	nw, err := network.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nw.Remove(context.Background()) })

	s := &stack{refresh: 2 * time.Second, maxWait: 300*time.Millisecond + 600*time.Millisecond}
	run := func(name string, req testcontainers.ContainerRequest) testcontainers.Container {
		t.Helper()
		req.Networks = []string{nw.Name}
		req.NetworkAliases = map[string][]string{nw.Name: {name}}
		c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
		if c != nil {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("%s's log:\n%s", name, containerLog(c))
				}
				testcontainers.TerminateContainer(c)
			})
		}
		if err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
		return c
	}
	var mounts testcontainers.ContainerMounts
	env := map[string]string{
		"SECOND_HAND_CHRONY":  "udp://chronyd:323",
		"SECOND_HAND_REFRESH": s.refresh.String(),
		"SECOND_HAND_TIMEOUT": "300ms", // with one retry: 300 + 600 ms at most
		"SECOND_HAND_RETRIES": "1",
		"SECOND_HAND_SAMPLE":  "1s", // history from the first seconds
	}
	user := ""
	if opts.socket {
		volume := "second-hand-e2e-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
		mounts = testcontainers.ContainerMounts{testcontainers.VolumeMount(volume, "/run/chrony")}
		env["SECOND_HAND_CHRONY"] = "unix:///run/chrony/chronyd.sock"
		user = "200:200" // chronyd's user in the chronyd image: its socket directory is 0750
		t.Cleanup(func() {
			if p, err := testcontainers.NewDockerProvider(); err == nil {
				p.Client().VolumeRemove(context.Background(), volume, client.VolumeRemoveOptions{Force: true})
				p.Close()
			}
		})
	}
	s.upstream = run("upstream", testcontainers.ContainerRequest{
		Image: images.chronyd, Cmd: []string{"/etc/chrony/second-hand/upstream.conf"},
		WaitingFor: wait.ForHealthCheck().WithStartupTimeout(time.Minute),
	})
	s.chronyd = run("chronyd", testcontainers.ContainerRequest{
		Image: images.chronyd, Mounts: mounts,
		WaitingFor: wait.ForHealthCheck().WithStartupTimeout(time.Minute),
	})
	if opts.twoHosts {
		s.chronyd2 = run("chronyd2", testcontainers.ContainerRequest{
			Image:      images.chronyd,
			WaitingFor: wait.ForHealthCheck().WithStartupTimeout(time.Minute),
		})
		env["SECOND_HAND_CHRONY"] = "chronyd=" + env["SECOND_HAND_CHRONY"] + ",udp://chronyd2:323"
	}
	s.secondHand = run("second-hand", testcontainers.ContainerRequest{
		Image: images.secondHand, Env: env, User: user, ExposedPorts: []string{"8080/tcp"}, Mounts: mounts,
		WaitingFor: wait.ForHTTP("/readyz").WithPort("8080/tcp").WithStartupTimeout(time.Minute),
	})
	s.nginx = run("nginx", testcontainers.ContainerRequest{
		Image: images.nginx, ExposedPorts: []string{"80/tcp"},
		WaitingFor: wait.ForHTTP("/chrony/").WithPort("80/tcp").WithStartupTimeout(time.Minute),
	})
	host, err := s.nginx.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.nginx.MappedPort(ctx, "80/tcp")
	if err != nil {
		t.Fatal(err)
	}
	s.url = fmt.Sprintf("http://%s:%s/chrony/", host, port.Port())
	waitSynchronised(t, s.chronyd)
	if s.chronyd2 != nil {
		waitSynchronised(t, s.chronyd2)
	}
	return s
}

func containerLog(c testcontainers.Container) string {
	r, err := c.Logs(context.Background())
	if err != nil {
		return err.Error()
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return testkit.LastLines(string(b), 40)
}

// chronyc runs chronyc -c -N inside the monitored chronyd's container, over its socket.
func chronyc(t *testing.T, c testcontainers.Container, report string) [][]string {
	t.Helper()
	code, r, err := c.Exec(context.Background(), []string{"chronyc", "-c", "-n", "-N", "-h", "/run/chrony/chronyd.sock", report}, tcexec.Multiplexed())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	io.Copy(&out, r)
	if code != 0 {
		t.Fatalf("chronyc %s exited %d: %s", report, code, out.String())
	}
	return chronylab.ParseCSV(out.String())
}

func waitSynchronised(t *testing.T, c testcontainers.Container) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		tr := chronyc(t, c, "tracking")
		if len(tr) == 1 && len(tr[0]) == 14 && tr[0][13] != "Not synchronised" && tr[0][0] != "00000000" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the monitored chronyd did not synchronise: %v", tr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
