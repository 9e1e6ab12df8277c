# second-hand's tasks. `just demo` brings up the dashboard with live data; `just test` runs the
# whole test suite. Both install what they need first (.ci/setup).

set shell := ["bash", "-euo", "pipefail", "-c"]

listen := env_var_or_default("SECOND_HAND_LISTEN", "127.0.0.1:8080")

# List the recipes.
default:
    @just --list

# Install and start what the dashboard (demo) or the test suite (test) needs.
setup what="test":
    .ci/setup {{what}}

# Fetch htmx (pinned by assets/package-lock.json) for the binary to embed.
assets:
    cd assets && npm ci --ignore-scripts --no-fund --no-audit --loglevel=error

# Build second-hand and chrony-lab into bin/.
build: assets
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/second-hand ./cmd/second-hand
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/chrony-lab ./cmd/chrony-lab

# The dashboard with live data: the local chronyd if one answers, else a private loopback lab.
demo: (setup "demo") build
    #!/usr/bin/env bash
    set -euo pipefail
    if chronyc -n tracking >/dev/null 2>&1; then
      echo "demo: the local chronyd answers; showing it"
      exec bin/second-hand --listen {{listen}}
    fi
    echo "demo: no chronyd answers here; starting a private chronyd lab on loopback"
    addr_file=$(mktemp)
    rm -f "$addr_file"
    # As root, second-hand reads the lab's chronyd on its Unix socket, which answers every
    # report (a source's details, the server panel); otherwise over UDP.
    socket=""
    if [ "$(id -u)" = 0 ]; then socket="-socket"; fi
    bin/chrony-lab -addr-file "$addr_file" -poll 2 $socket &
    lab=$!
    trap 'kill $lab 2>/dev/null; wait $lab 2>/dev/null' EXIT
    for _ in $(seq 1 300); do
      [ -s "$addr_file" ] && break
      kill -0 $lab 2>/dev/null || { echo "demo: the lab did not start" >&2; exit 1; }
      sleep 0.1
    done
    echo "demo: open http://{{listen}}/ (Ctrl-C stops it)"
    bin/second-hand --listen {{listen}} --chrony "$(cat "$addr_file")"

# Run the private chronyd lab alone, to point a second-hand at it.
lab: build
    bin/chrony-lab

# The whole test suite: go vet and staticcheck, the Prometheus rules' unit tests (promtool),
# unit and integration tests (real chronyd) with
# the race detector, the end-to-end tests (Docker, nginx, chromium), then 250,000 fuzzed inputs
# per target (10 to 35 s each here). Nothing may skip.
test: (setup "test") assets
    go vet ./...
    go tool staticcheck ./...
    cd e2e && go vet ./... && go tool staticcheck ./...
    cd docker/prometheus && promtool check rules second-hand.rules.yml && promtool test rules second-hand.rules.test.yml && promtool check config scrape-one-host.yml scrape-several-hosts.yml remote-write.yml
    just verify-unit
    # -p 1: one package at a time, so that the load test does not share the two cores.
    SECOND_HAND_STRICT_TESTS=1 go test -race -shuffle=on -count=1 -p 1 ./...
    cd e2e/axe && npm ci --ignore-scripts --no-fund --no-audit --loglevel=error
    cd e2e && SECOND_HAND_STRICT_TESTS=1 go test -count=1 -timeout 40m ./...
    just fuzz 250000x

# systemd-analyze verify the package's unit, and its exposure score (at most 2.0 of 10), with its ExecStart pointed at a binary built here
# (verify checks that the program exists).
verify-unit:
    #!/usr/bin/env bash
    set -euo pipefail
    dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
    CGO_ENABLED=0 go build -o "$dir/second-hand" ./cmd/second-hand
    sed "s|^ExecStart=/usr/bin/second-hand|ExecStart=$dir/second-hand|" cmd/second-hand/deb/second-hand.service > "$dir/second-hand.service"
    out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$dir/second-hand.service" 2>&1 || true)
    if printf '%s\n' "$out" | grep -v -e '^$' -e 'Failed to .*\(dbus\|bus\|connect\)' | grep -q .; then printf '%s\n' "$out" >&2; exit 1; fi
    echo "systemd-analyze verify: second-hand.service is clean"
    # systemd's own exposure score of the unit's sandboxing: 0 is the most locked down, 10 none.
    systemd-analyze security --offline=true --threshold=20 "$dir/second-hand.service" | tail -n 1

# Fuzz every reply decoder and the address parser, each for a bounded number of inputs (or a
# time: `just fuzz 1m`). A crasher lands in pkg/chrony/testdata/fuzz/ and, committed, becomes a
# regular test case. `just test` gives a count, not a time: with a time, Go 1.26's fuzzing
# coordinator can fail a target with "context deadline exceeded" and no crasher when its workers
# are starved at the deadline on a busy machine (go.dev/issue/75804, fixed in Go 1.27).
fuzz time="30s":
    for f in FuzzCheckReply FuzzDecodeTracking FuzzDecodeSources FuzzDecodeSourceStats FuzzDecodeRTC FuzzDecodeNTPData FuzzDecodeAuthData FuzzParseAddress; do \
      go test -run '^$' -fuzz "^$f\$" -fuzztime {{time}} ./pkg/chrony; \
    done

# Only the end-to-end tests: the images of docker/, testcontainers, chromium, the compose file.
e2e: (setup "test")
    cd e2e/axe && npm ci --ignore-scripts --no-fund --no-audit --loglevel=error
    cd e2e && SECOND_HAND_STRICT_TESTS=1 go test -count=1 -timeout 40m -v ./...

# Measure: fragments against raw chrony requests, the reuse window, 5 to 50 sources, page load in
# chromium via nginx, 200 connections with wrk, peak memory, 1,000 hosts' month in VictoriaMetrics
# read with --prometheus, and chronyc for comparison. One table.
bench: (setup "test") assets
    cd e2e && go run ./bench -repo ..

# Release binaries for Linux (amd64, arm64, armv7, 386), named by `git describe`, a Debian
# package of each, and their SHA-256 sums, into dist/. VERSION=... overrides git describe.
dist: assets
    #!/usr/bin/env bash
    set -euo pipefail
    version=${VERSION:-$(git describe --tags --always --dirty)}
    # Debian's version: v1.2.0 is 1.2.0, 3 commits after it 1.2.0+3.gHASH, no tag 0.0.0+gHASH.
    if [[ "$version" =~ ^v?[0-9]+\.[0-9]+ ]]; then
      debversion=$(printf '%s' "$version" | sed -E 's/^v//; s/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/; s/-dirty$/.dirty/')
    else
      debversion="0.0.0+g${version/-dirty/.dirty}"
    fi
    rm -rf dist && mkdir -p dist/.stage
    for target in amd64:amd64: arm64:arm64: arm:armhf:7 386:i386:; do
      IFS=: read -r goarch debarch goarm <<< "$target"
      name="second-hand-$version-linux-$goarch${goarm:+v$goarm}"
      CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm go build -trimpath \
        -ldflags "-s -w -X main.version=$version" -o "dist/$name" ./cmd/second-hand
      cp "dist/$name" dist/.stage/second-hand
      VERSION=$debversion ARCH=$debarch \
        go tool nfpm package --config cmd/second-hand/deb/nfpm.yaml --packager deb --target dist/ >/dev/null
    done
    rm -rf dist/.stage
    (cd dist && sha256sum -- * > SHA256SUMS)
    ls -l dist

# Take the README's screenshots (docs/*.png) through the e2e stack (a host whose chronyd stopped among them; the problems lab; and the engines' test, for the
# overview and a host's page read from Prometheus).
screenshot: (setup "test")
    cd e2e && SECOND_HAND_SCREENSHOTS=../docs go test -count=1 -run '^(TestDashboardThroughNginx|TestFleetThroughNginx|TestDashboardOverSocket|TestEnginesReadSecondHand|TestProblemsLabAtAGlance)$/^(screenshot|detail_over_the_socket|every_host_in_the_overview|chronyd_stops_and_comes_back|lab)$' -v .

# Unit tests only: no chronyd, no Docker, no browser (integration tests skip without root).
unit: assets
    go test -short ./...
