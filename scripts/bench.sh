#!/usr/bin/env bash
# `make bench` (`make bench QUICK=1`, `scripts/bench.sh --quick`): every scripts/bench_*.py in turn.
# Each prints `bench: <name> <value> <unit>` lines; all of them, from every script, are collected
# into bench/results.json (with --quick into bench/results-quick.json, so a quick look never
# overwrites the full record). --quick passes --quick to the scripts that take it: the 200k
# figures only (no 1M runs, no 10x event log). Timings depend on the machine and its load; they
# are figures, not tests. The total is printed as `bench: make_bench_seconds` (target < 1800).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BENCH_BIN:-.venv/bin}
quick=${QUICK:-}
[[ $quick == 0 ]] && quick=
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    *) echo "usage: scripts/bench.sh [--quick]" >&2; exit 2 ;;
  esac
done
results=bench/results.json
[[ -n $quick ]] && results=bench/results-quick.json
results=${BENCH_RESULTS:-$results}
# BENCH_SCRIPTS (space separated) runs other scripts instead; the test of this file uses it.
read -r -a scripts <<< "${BENCH_SCRIPTS:-$(echo scripts/bench_*.py)}"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
started=$SECONDS
# The project's bytecode first, as the image has it (decision 0742): with PYTHONDONTWRITEBYTECODE
# set and .pyc files older than the sources, every task process of a task-path run would compile
# each module it imports, and the task path would be measured slower than it runs.
"$BIN/python" -m compileall -q src
for script in "${scripts[@]}"; do
  name=$(basename "$script" .py)
  args=()
  if [[ -n $quick ]] && grep -q -- '"--quick"' "$script"; then args=(--quick); fi
  echo "== $script ${args[*]}"
  script_started=$SECONDS
  "$BIN/python" "$script" "${args[@]}" | tee "$logs/$name.out"
  echo "bench: script_${name}_seconds $((SECONDS - script_started)) s" | tee -a "$logs/$name.out"
done
echo "bench: make_bench_seconds $((SECONDS - started)) s" | tee "$logs/zz-total.out"
"$BIN/python" scripts/collect_bench_results.py --out "$results" ${quick:+--quick} "$logs"/*.out
