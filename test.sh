#!/usr/bin/env bash
# Installs what the tests need, checks formatting, builds, and runs every test project (./test.sh --long: longer fuzzing).
# Ends with one line "N passed, N failed[, N skipped]" computed from the test results, and exits
# non-zero if anything failed (including a build, a format check, or a test host that crashed).
set -uo pipefail
cd "$(dirname "$0")"

# --long: the fuzzers run ten to forty times as many cases (AURORA_FUZZ_LONG=1); a failure prints the
# seed to replay with AURORA_FUZZ_SEED=N.
for arg in "$@"; do
  case "$arg" in
    --long) export AURORA_FUZZ_LONG=1 ;;
    *) echo "usage: ./test.sh [--long]" >&2; exit 2 ;;
  esac
done

log() { printf '==> %s\n' "$*"; }

# Debian packages the integration tests need, as "command:package" pairs; installed only when
# missing. build.sh packs the distribution with zip; ZooKeeper and PostgreSQL join with the
# replication and PostgreSQL-backend issues (e.g. "zkServer.sh:zookeeper").
required_packages=("zip:zip")

ensure_packages() {
  local missing=() pair
  for pair in "${required_packages[@]}"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
  fi
}

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
ensure_packages

results=$(mktemp -d /tmp/aurora-test-results.XXXXXX)
trap 'rm -rf "$results"' EXIT
extra_failures=0

log "restore"
dotnet restore Aurora.sln --nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }

log "format check (dotnet format --verify-no-changes)"
if ! dotnet format Aurora.sln --verify-no-changes --no-restore -v quiet; then
  echo "format check failed: run 'dotnet format Aurora.sln' and commit the result"
  extra_failures=$((extra_failures + 1))
fi

log "build"
if ! dotnet build Aurora.sln -c Release --no-restore --nologo -v quiet; then
  echo "0 passed, $((extra_failures + 1)) failed"
  exit 1
fi

log "publish dist/bin (the CLI tests run the executables as users do)"
if ! ./build.sh >/dev/null; then
  echo "0 passed, $((extra_failures + 1)) failed"
  exit 1
fi

log "test"
dotnet test Aurora.sln -c Release --no-build --nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" \
  -- RunConfiguration.TestSessionTimeout=1500000
test_exit=$?

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done

if [ "$test_exit" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A test host that crashed or timed out may leave no failed result behind: count it.
  echo "dotnet test exited with $test_exit without a failed test result (crashed test host?)"
  extra_failures=$((extra_failures + 1))
fi
if [ "$files" -eq 0 ]; then
  echo "no test results were written"
  extra_failures=$((extra_failures + 1))
fi
failed=$((failed + extra_failures))

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
