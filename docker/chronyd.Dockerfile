# Debian's chronyd for the demo stack and the end-to-end tests. It runs in the foreground (-d)
# and never touches the clock (-x), so it needs no capabilities beyond Docker's defaults.
# The command picks a configuration: upstream.conf or monitored.conf (docker/chrony/).
# Build from the repository root: docker build -f docker/chronyd.Dockerfile .
# SUITE picks Debian's release, and so chrony's version: bookworm 4.3, trixie 4.6, forky 4.9.
# (Testing's Release files expire within days of publication, and a mirror snapshot serves them
# after that: apt is told not to refuse them for their age.)
ARG SUITE=bookworm
FROM debian:${SUITE}-slim

# A fixed uid and gid for chronyd's user, so that a second-hand container sharing the socket
# directory (mode 0750, owned by this user) can run as it: user "200:200".
RUN groupadd --system --gid 200 _chrony \
 && useradd --system --uid 200 --gid 200 --home-dir /var/lib/chrony --no-create-home --shell /usr/sbin/nologin _chrony \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chrony \
 && rm -rf /var/lib/apt/lists/* /etc/chrony/chrony.conf \
 && install -d -m 0750 -o _chrony -g _chrony /run/chrony
# chronyd refuses a socket directory that others can read; a volume mounted here starts as a
# copy of this one, so it has the right owner and mode.

COPY docker/chrony/ /etc/chrony/second-hand/

# Healthy once chronyd answers on its socket.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=6 \
  CMD ["chronyc", "-n", "-h", "/run/chrony/chronyd.sock", "tracking"]
ENTRYPOINT ["chronyd", "-d", "-x", "-f"]
CMD ["/etc/chrony/second-hand/monitored.conf"]
