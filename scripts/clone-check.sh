#!/usr/bin/env bash
# A clone stands alone: the committed repository (HEAD), cloned into an empty temporary folder
# so that nothing (no shared/ folder) lies beside it, type-checks and passes the tests that read the
# Cloud API specification (docs/cloud-api/openapi.json) and the repository's own links.
#
# node_modules is this checkout's, by a symlink, not a second `npm ci`: both come from the same
# package-lock.json, so a second install would bring the same files at the cost of half a minute
# and the registry; what is checked here is the repository's files, not its dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD

[ -d node_modules ] || { echo "clone-check: run npm ci first" >&2; exit 1; }
if ! git diff --quiet HEAD -- package.json package-lock.json; then
  echo "clone-check: package.json or package-lock.json differ from HEAD; node_modules may not be the clone's" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pcr-clone-XXXXXX")
trap 'rm -rf "$work"' EXIT
git clone --quiet --no-hardlinks "$checkout" "$work/pcr-sidecar"
cd "$work/pcr-sidecar"
[ "$(ls -A "$work")" = pcr-sidecar ] || { echo "clone-check: the clone is not alone in $work" >&2; exit 1; }
ln -s "$checkout/node_modules" node_modules
echo "clone-check: $(git log -1 --format='%h %s') cloned alone into $work"

node_modules/.bin/tsc --noEmit
# The emulator tests check every answer against the specification through test/helpers/spec.ts.
mapfile -t spec_tests < <(grep -l "helpers/\(spec\|emulator\)\.js" test/emulator/*.test.ts)
[ ${#spec_tests[@]} -gt 0 ] || { echo "clone-check: no specification test found" >&2; exit 1; }
node_modules/.bin/tap --disable-coverage test/repository.test.ts "${spec_tests[@]}"
