#!/usr/bin/env bash
# The Debian packages the test suite runs for real, and the user PostgreSQL runs as.
# One list for CI (.ci/run calls this) and for a developer's machine (the README names it),
# so the two never drift. Installs only what is missing; as root, or through sudo.
set -euo pipefail

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

packages=()
# Throwaway PostgreSQL 15 servers stand in for the clusters' SQL endpoints.
[ -x /usr/lib/postgresql/15/bin/initdb ] || packages+=(postgresql-15)
# The load-balancer configuration and the PgBouncer sync are tested with the real programs.
[ -x /usr/sbin/haproxy ] || packages+=(haproxy)
[ -x /usr/sbin/pgbouncer ] || packages+=(pgbouncer)
# promtool, for the alert rules in deploy/prometheus (the tests use only promtool, never a server).
[ -x /usr/bin/promtool ] || packages+=(prometheus)
# A three-member etcd cluster on loopback for the coordination tests.
[ -x /usr/bin/etcd ] || packages+=(etcd-server)
# The egress-proxy tests send the Cloud API and webhook traffic through tinyproxy.
[ -x /usr/bin/tinyproxy ] || packages+=(tinyproxy)
# The status page's browser tests drive Debian's chromium through playwright-core.
[ -x /usr/bin/chromium ] || packages+=(chromium)

if [ ${#packages[@]} -gt 0 ]; then
  echo "installing ${packages[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi
# PostgreSQL refuses to run as root: the tests run it as this user when they are root.
id postgres >/dev/null 2>&1 || "${as_root[@]}" useradd --system --no-create-home postgres
