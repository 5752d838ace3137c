#!/usr/bin/env bash
# Regenerate docs/example in one go, on this machine, from this checkout: the capacity
# sweep, the tracing sweep, the variants sweep, the comparison sweep, every benchmark, the
# pre-flight, then the figure blocks of the documentation. Figures from different hosts (or
# different hours of a shared host) are not comparable, so nothing of the old example is
# kept. Run it on a machine that runs nothing else, from a clean checkout: the records name
# its git revision, so every output is written apart and replaces docs/example only once
# the sweeps and benchmarks are done (the checkout stays clean while they run).
#
#     scripts/regenerate-example.sh            # about three hours
#
# Each command's output file is named in docs/example/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
make setup chromium >/dev/null
PY=.venv/bin/python
STAGE=$(mktemp -d -t tierbench-example.XXXXXX)
OUT=$STAGE/example
BENCH=$OUT/benchmarks
say() { echo "regenerate-example: $*" >&2; }

rm -rf results
mkdir -p "$BENCH"

say "capacity sweep"
$PY benchmarks/sweep_time.py make capacity > "$BENCH/capacity_time.txt"
cp results/capacity.md results/capacity.csv results/recommendation.md results/recommendation.json "$OUT/"
cp -r results/capacity "$OUT/capacity"
rm -rf "$OUT/capacity/k6" "$OUT/capacity/resources"
cp results/charts/capacity.png results/charts/capacity.gif "$OUT/"

say "tracing sweep"
$PY benchmarks/sweep_time.py make tracing > "$BENCH/tracing_time.txt"
cp results/tracing.md results/tracing.csv "$OUT/"
cp results/charts/tracing.png "$OUT/"
mkdir -p "$OUT/tracing"
cp -r results/tracing/capacity results/tracing/holds "$OUT/tracing/"
rm -rf "$OUT/tracing/capacity/k6" "$OUT/tracing/capacity/resources"

say "variants sweep"
rm -rf variants
$PY benchmarks/sweep_time.py make variants > "$BENCH/variants_time.txt"
mkdir -p "$OUT/variants"
cp variants/results/summary.md variants/results/summary.csv variants/results/warnings.md "$OUT/variants/"
cp variants/results/charts/summary.png "$OUT/variants/"

say "comparison sweep"
$PY benchmarks/sweep_time.py --load-from results make bench > "$BENCH/bench_time.txt" 2> make-bench.txt
cp results/summary.md results/summary.csv results/runs.csv results/steps.csv results/warnings.md "$OUT/"
cp -r results/meta "$OUT/meta"
cp results/charts/comparison.gif results/charts/summary.png "$OUT/"
# One cell's status lines, as a terminal shows them.
grep -E "tierbench: (cell [0-9]+/[0-9]+ )?python-s[: ]" make-bench.txt > "$OUT/progress.txt"
rm -f make-bench.txt
$PY benchmarks/raw_bytes.py results > "$BENCH/raw_bytes.txt"
$PY benchmarks/probe_trust.py "$OUT" > "$BENCH/probe_trust.txt"

say "capacity benchmarks"
for cell in "python m" "ts s"; do
    set -- $cell
    $PY benchmarks/capacity_repeatability.py --runtime "$1" --tier "$2" --runs 5 \
        > "$BENCH/capacity_repeatability_$1_$2.txt"
    $PY benchmarks/step_state.py --runtime "$1" --tier "$2" --cycles 3 \
        > "$BENCH/step_state_$1_$2.txt"
    $PY benchmarks/hold_length.py --runtime "$1" --tier "$2" --repeats 3 \
        > "$BENCH/hold_length_$1_$2.txt"
done

say "pipeline benchmarks"
$PY benchmarks/orchestration_overhead.py --rounds 2 > "$BENCH/overhead.txt"
$PY benchmarks/mock_llm_ceiling.py > "$BENCH/mock_llm.txt"
$PY benchmarks/llm_client_cost.py > "$BENCH/llm_client.txt"
$PY benchmarks/k6_output_cost.py --rounds 15 > "$BENCH/k6_output.txt"
$PY benchmarks/render_fps.py --frames 120 > "$BENCH/render_fps.txt"
$PY benchmarks/tidy_throughput.py --size-gb 1.0 > "$BENCH/tidy.txt"
$PY benchmarks/yardstick_spread.py 1 20 > "$BENCH/yardstick_spread.txt"
$PY benchmarks/yardstick_spread.py 1 8 6 > "$BENCH/yardstick_spread_6s.txt"
.venv/bin/tierbench doctor > "$OUT/doctor.txt"

say "the new example replaces docs/example"
rm -rf docs/example
mv "$OUT" docs/example
rmdir "$STAGE"
OUT=docs/example
BENCH=$OUT/benchmarks
git checkout -- "$OUT/README.md"
$PY scripts/readme_figures.py

say "the test suite, timed (it reads the example just written)"
# The suite checks the pages' figure blocks against their files, these two included: the
# committed ones stand while it runs, the new ones replace them after.
git checkout -- "$BENCH/check_time.txt" "$BENCH/test_time.txt"
$PY scripts/readme_figures.py
$PY benchmarks/sweep_time.py make check > check_time.txt
$PY benchmarks/sweep_time.py make test > test_time.txt
mv check_time.txt test_time.txt "$BENCH/"
$PY scripts/readme_figures.py
say "done: review git diff, then commit docs/example and the pages"
