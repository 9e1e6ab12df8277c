# Debian's VictoriaMetrics (single node, 1.79 in bookworm), for the demo stack's fleet profile:
# it receives what Prometheus scrapes by remote write and answers second-hand's PromQL.
# Build from the repository root: docker build -f docker/victoria-metrics.Dockerfile .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends victoria-metrics \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o _victoria-metrics -g _victoria-metrics /victoria-metrics-data
USER _victoria-metrics
EXPOSE 8428
VOLUME /victoria-metrics-data
# A year of history; data older than the default month would be refused.
ENTRYPOINT ["victoria-metrics", "-storageDataPath=/victoria-metrics-data", "-httpListenAddr=:8428", "-retentionPeriod=1y"]
