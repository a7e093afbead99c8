#!/usr/bin/env bash
# The image's Node runs the project. The major version is the one of the Dockerfile's NODE_IMAGE
# (24 today), so bumping the image moves this check with it. Under that Node:
#   - the engine's tests (test/engine/*.test.ts);
#   - the built service's start-up as the image runs it (test/deploy/image.test.ts: the
#     Dockerfile's steps by hand, `npm ci --omit=dev` and the build, then dist/src/server.js,
#     the HEALTHCHECK, /health, /ready and `pcr monitor`);
#   - a failover against the emulator (test/demo.test.ts: an outage, the failover,
#     /connection switching to the standby).
# tap starts each test file with the node that runs tap, and that node is first on PATH, so
# whatever a test starts (npm, the service, the emulator) runs on it too.
#
# The binary comes from the npm registry: the package node-linux-<arch> ships bin/node itself.
# (The `node` package is only a wrapper whose preinstall script runs
# `npm install node-linux-<arch>@<version>` and links its binary; installing the platform
# package directly needs no install script.) Nothing is downloaded from anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(sed -nE 's/^ARG NODE_IMAGE=node:([0-9]+)-.*/\1/p' Dockerfile)
[ -n "$major" ] || { echo "node-lts-check: no node:<major> default for NODE_IMAGE in the Dockerfile" >&2; exit 1; }
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "node-lts-check: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
[ -d node_modules ] || { echo "node-lts-check: run npm ci first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pcr-node$major-XXXXXX")
trap 'rm -rf "$work"' EXIT
npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$work" "node-linux-$arch@$major"
mkdir "$work/bin"
ln -s "$work/node_modules/node-linux-$arch/bin/node" "$work/bin/node"
export PATH="$work/bin:$PATH"

version=$(node -p process.version)
case "$version" in
  "v$major".*) ;;
  *) echo "node-lts-check: got node $version, not $major" >&2; exit 1 ;;
esac
echo "node-lts-check: node $version from the npm registry (node-linux-$arch), the Dockerfile's Node $major"

node node_modules/.bin/tap --disable-coverage test/engine/*.test.ts test/deploy/image.test.ts test/demo.test.ts
