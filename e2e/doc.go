// Package e2e tests the shipped stack end to end: it builds the images in docker/, starts an
// upstream chronyd, the monitored chronyd, second-hand and nginx on one Docker network with
// testcontainers-go, and drives Debian's chromium through nginx at /chrony/.
package e2e
