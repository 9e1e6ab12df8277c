package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/testkit"
	"github.com/testcontainers/testcontainers-go"
)

func TestMain(m *testing.M) {
	// The reaper's image cannot be pulled here, and the tests clean up after themselves.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	// Inside a container (this machine has /.dockerenv), testcontainers looks for the engine's
	// host at a gateway that refuses connections; the engine is local.
	if _, err := os.Stat("/.dockerenv"); err == nil && os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	}
	os.Exit(m.Run())
}

// strict is set by `just test` and CI: there, a missing Docker engine or browser fails the
// tests instead of skipping them.
func strict() bool { return testkit.Strict() }

// needDocker skips (or in strict mode fails) when no Docker engine answers.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the end-to-end tests build images and start containers")
	}
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		p, err := testcontainers.ProviderDefault.GetProvider()
		if err != nil {
			return err
		}
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return p.Health(ctx)
	}()
	if err == nil {
		return
	}
	msg := "no Docker engine answers, so the end-to-end tests cannot run (start dockerd, or run .ci/setup test): " + err.Error()
	if strict() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// repoRoot is the build context of the images: the repository, one level up from e2e/.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// imageTag is the tag of the images the tests build: "e2e", or SECOND_HAND_E2E_TAG, so that two
// checkouts testing at once on one engine do not run each other's images.
func imageTag() string {
	if tag := os.Getenv("SECOND_HAND_E2E_TAG"); tag != "" {
		return tag
	}
	return "e2e"
}

// images builds the three images of docker/ once per test run. Docker's layer cache makes a
// rebuild with no change take seconds.
var images = struct {
	once                       sync.Once
	err                        error
	chronyd, secondHand, nginx string
	took                       time.Duration
}{}

func buildImages(t *testing.T) {
	t.Helper()
	images.once.Do(func() {
		start := time.Now()
		p, err := testcontainers.NewDockerProvider()
		if err != nil {
			images.err = err
			return
		}
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		var log strings.Builder
		build := func(dockerfile, repo string) string {
			if images.err != nil {
				return ""
			}
			tag, err := p.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
				Context: repoRoot(t), Dockerfile: dockerfile, Repo: repo, Tag: imageTag(), KeepImage: true,
				BuildLogWriter: io.Writer(&log),
			}})
			if err != nil {
				images.err = fmt.Errorf("building %s: %w\n%s", dockerfile, err, testkit.LastLines(log.String(), 30))
			}
			return tag
		}
		images.chronyd = build("docker/chronyd.Dockerfile", "second-hand/chronyd")
		images.secondHand = build("docker/second-hand.Dockerfile", "second-hand/second-hand")
		images.nginx = build("docker/nginx.Dockerfile", "second-hand/nginx")
		images.took = time.Since(start)
	})
	if images.err != nil {
		t.Fatal(images.err)
	}
	t.Logf("images built (or found in the cache) in %v", images.took.Round(time.Second))
}
