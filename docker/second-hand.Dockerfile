# second-hand: a static binary on an empty image, running as a non-root user.
# Build from the repository root: docker build -f docker/second-hand.Dockerfile .

# htmx from the npm registry, pinned by assets/package-lock.json.
FROM node:20-bookworm-slim AS assets
WORKDIR /src/assets
COPY assets/package.json assets/package-lock.json assets/.npmrc ./
RUN npm ci --ignore-scripts --no-fund --no-audit --loglevel=error

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
COPY assets ./assets
COPY --from=assets /src/assets/node_modules ./assets/node_modules
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/second-hand ./cmd/second-hand
# The history store's directory: writable by whatever user the container runs as (the compose
# file's socket variant runs as chronyd's), sticky so that none removes another's files.
# (COPY keeps the mode of what is inside the directory it copies, not of the directory itself.)
RUN mkdir -p /out/root && mkdir -m 1777 /out/root/data

FROM scratch
COPY --from=build /out/second-hand /second-hand
COPY --from=build /out/root/ /
USER 65532:65532
# Inside a container it must listen beyond loopback; publish the port only to the proxy.
ENV SECOND_HAND_LISTEN=0.0.0.0:8080
# History is kept in /data: mount a volume there to keep it across containers.
ENV SECOND_HAND_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
# No shell or curl here: the binary asks its own /healthz.
HEALTHCHECK --interval=5s --timeout=5s --start-period=5s --retries=3 CMD ["/second-hand", "healthcheck"]
ENTRYPOINT ["/second-hand"]
