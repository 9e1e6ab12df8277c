# Debian's Prometheus, for the demo stack's monitoring and fleet profiles and the end-to-end
# tests: it scrapes second-hand and loads the alert rules of docker/prometheus/ (monitoring), or
# sends what it scrapes to VictoriaMetrics (fleet: --config.file=/etc/prometheus/remote-write.yml).
# Build from the repository root: docker build -f docker/prometheus.Dockerfile .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o prometheus -g prometheus /prometheus
COPY docker/prometheus/prometheus.yml docker/prometheus/remote-write.yml docker/prometheus/second-hand.rules.yml /etc/prometheus/
RUN promtool check config /etc/prometheus/prometheus.yml && promtool check config /etc/prometheus/remote-write.yml
USER prometheus
EXPOSE 9090
VOLUME /prometheus
ENTRYPOINT ["prometheus", "--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.listen-address=:9090"]
