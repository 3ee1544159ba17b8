#!/usr/bin/env bash
# Installs what is missing, builds, runs the unit tests and then the e2e tests (root needed), and
# prints mocha's passing/failing summary of each. Exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh || { echo "test.sh: install/build failed" >&2; exit 1; }

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0

run_suite() { # name, mocha config
  local name=$1 config=$2
  echo "=== $name tests ==="
  node node_modules/.bin/mocha --config "$config" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  ((rc == 0)) || status=1
}

run_suite unit .mocharc.unit.json
if [[ $EUID -eq 0 ]]; then
  run_suite e2e .mocharc.e2e.json
else
  echo "test.sh: e2e tests need root; not run" >&2
  status=1
fi

echo
echo "=== summary ==="
for name in unit e2e; do
  f="$logs/$name.log"
  [[ -f $f ]] || continue
  counts=$(grep -E '^ +[0-9]+ (passing|failing|pending)' "$f" | sed -E 's/^ +//; s/ \(.*\)$//' | paste -sd, - | sed 's/,/, /g')
  echo "$name: ${counts:-no mocha summary (the run crashed)}"
done
if ((status == 0)); then echo "result: PASS"; else echo "result: FAIL"; fi
exit $status
