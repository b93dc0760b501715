#!/usr/bin/env bash
# The project's test command: `npm test` (everything) or `npm run test:unit` (= scripts/test.sh --unit).
#
#   1. installs the npm dependencies if node_modules is missing (npm ci);
#   2. makes sure Mosquitto and InfluxDB 1.x are installed (Debian packages `mosquitto` and `influxdb`):
#      installs them with apt when run as root, otherwise prints the command to run and exits 1;
#   3. type-checks (tsc --noEmit) and lints (eslint) the whole project;
#   4. runs every test/**/*.test.ts with Node's own test runner (through tsx), two files at a time, so the
#      output ends with the runner's summary lines (tests / pass / fail ...).
# Exits non-zero if any step fails. Type-check and lint failures are reported before the tests run and the
# tests still run, so one run shows everything.
#
# Unit vs integration tests (the convention):
#   a test file is an INTEGRATION test if it lives under test/integration/ or imports the real-service
#   harness test/harness/services.ts (which starts Mosquitto / influxd on free loopback ports).
#   Everything else is a unit test: no services, no network. `--unit` runs only the unit tests and skips
#   step 2.
#
# Options: --unit   unit tests only
#          -h       this help
# Environment: TEST_TIMEOUT_MS  per-test time-out (default 900000 = 15 min), so a hung test cannot hang CI.
set -uo pipefail

usage() { sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'; }

unit_only=0
for arg in "$@"; do
  case "$arg" in
    --unit) unit_only=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "scripts/test.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# 1. Dependencies.
if [ ! -d node_modules ]; then
  echo "==> node_modules missing: npm ci"
  npm ci || { echo "scripts/test.sh: npm ci failed" >&2; exit 1; }
fi

# 2. Real services for the integration tests.
# An executable file named $1 in PATH or an sbin dir (bash's `command -v` also reports non-executable files).
have() {
  local dir dirs
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}" /usr/local/sbin /usr/sbin /sbin; do
    [ -n "$dir" ] && [ -f "$dir/$1" ] && [ -x "$dir/$1" ] && return 0
  done
  return 1
}
if [ "$unit_only" -eq 0 ] && ! { have mosquitto && have influxd; }; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> installing mosquitto and influxdb (apt)"
    # Keep the packages' own system services from starting (they would bind 0.0.0.0:8086 and :1883):
    # a temporary policy-rc.d, unless the machine already has one.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
    fi
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y mosquitto influxdb
    apt_status=$?
    [ "$own_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ "$apt_status" -ne 0 ] || ! { have mosquitto && have influxd; }; then
      echo "scripts/test.sh: installing mosquitto and influxdb failed" >&2
      exit 1
    fi
  else
    echo "The integration tests need Mosquitto and InfluxDB 1.x. Install them with:" >&2
    echo "sudo apt-get install -y mosquitto influxdb" >&2
    echo "(or run the unit tests only: npm run test:unit)" >&2
    exit 1
  fi
fi

# 3. Static checks.
failed_checks=()
echo "==> tsc --noEmit"
npx tsc --noEmit -p tsconfig.json || failed_checks+=("type-check (tsc)")
echo "==> eslint"
npx eslint . || failed_checks+=("lint (eslint)")
if [ "${#failed_checks[@]}" -gt 0 ]; then
  echo "scripts/test.sh: FAILED: ${failed_checks[*]} (see above); running the tests anyway" >&2
fi

# 4. Tests. Node 20's --test does not expand globs for .ts files, so list them.
is_integration() {
  case "$1" in test/integration/*) return 0 ;; esac
  grep -qE "harness/services(\.ts)?['\"]" "$1"
}
files=()
while IFS= read -r f; do
  if [ "$unit_only" -eq 1 ] && is_integration "$f"; then continue; fi
  files+=("$f")
done < <(find test -type f -name '*.test.ts' -not -path '*/node_modules/*' | LC_ALL=C sort)

if [ "${#files[@]}" -eq 0 ]; then
  echo "scripts/test.sh: no test files found under test/" >&2
  exit 1
fi
echo "==> ${#files[@]} test files$([ "$unit_only" -eq 1 ] && echo ' (unit only)')"

node --import tsx --test --test-reporter=spec --test-concurrency=2 \
  --test-timeout="${TEST_TIMEOUT_MS:-900000}" "${files[@]}"
test_status=$?

if [ "${#failed_checks[@]}" -gt 0 ]; then
  exit 1
fi
exit "$test_status"
