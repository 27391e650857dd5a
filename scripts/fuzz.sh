#!/usr/bin/env bash
# The long fuzzing run (issue 17; docs/security.md): the properties of test/fuzz/ with SCALE times their `npm test`
# iteration counts, and the monitor's config reader under libFuzzer for MONITOR_RUNS inputs. A failure prints
# fast-check's seed (replay it with WHARF_FUZZ_SEED=<seed>) or libFuzzer's report.
#   scripts/fuzz.sh [SCALE [MONITOR_RUNS]]      defaults: 100 and 5000000 (about 20 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-100}
monitor_runs=${2:-5000000}
export WHARF_FUZZ_RUNS_SCALE=$scale
export WHARF_FUZZ_MONITOR_RUNS=$monitor_runs
# No per-test timeout of `npm test`: a long run is long on purpose (fast-check still fails a property after 120 s
# times SCALE, and libFuzzer each input after 10 s).
export WHARF_TEST_TIMEOUT_MS=0
export WHARF_TEST_FILE_TIMEOUT_MS=$((86400 * 1000))
exec node scripts/run-tests.mjs test/fuzz
