#!/usr/bin/env bash
# Coverage-guided fuzzing of the JSON and request-parsing layer: libFuzzer + AddressSanitizer.
#
#   scripts/fuzz.sh [TARGET...]     every target with a corpus in Tests/FuzzCorpus/ when none is named
#
# Each target runs for FUZZ_SECONDS (default 60) from a copy of its committed corpus in a temp dir
# (the committed corpus is never written), and prints one line: execs, execs/s, coverage, result.
# Inputs that crash, hang or break a property are kept in .build-fuzz/findings/TARGET/ (gitignored);
# replay one with `swift build && .build/debug/mms-fuzz TARGET FILE`. Exits 1 if any target failed.
#
# Env: FUZZ_SECONDS (60), FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (30, seconds per input; inputs take
# milliseconds, but a loaded 2-core machine has stalled one for 15 s), FUZZ_MAX_LEN (8192).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-30}
max_len=${FUZZ_MAX_LEN:-8192}
corpus=Tests/FuzzCorpus
bin=.build-fuzz/release/mms-fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/mms-fuzz.XXXXXX")
# The targets' own files (the request target's data dirs) go to memory when it can: the store fsyncs.
scratch=$work/scratch
if [ -w /dev/shm ]; then scratch=$(mktemp -d /dev/shm/mms-fuzz.XXXXXX); fi
trap 'rm -rf "$work" "$scratch"' EXIT

# ld.gold warns "Cannot export local symbol __asan_…" for every module; harmless, so only shown on failure.
echo "building mms-fuzz (release, -sanitize=fuzzer,address) …"
if ! swift build -c release --product mms-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DMMS_FUZZ \
    --build-path .build-fuzz > "$work/build.log" 2>&1; then
  grep -v "Cannot export local symbol" "$work/build.log" | tail -30
  exit 2
fi

if [ $# -gt 0 ]; then targets=("$@"); else targets=($(cd "$corpus" && ls -d */ | tr -d /)); fi
failed=0
for t in "${targets[@]}"; do
  if [ ! -d "$corpus/$t" ]; then echo "$t: no corpus dir $corpus/$t"; failed=1; continue; fi
  mkdir -p "$work/corpus/$t" "$scratch/$t" ".build-fuzz/findings/$t"
  cp -R "$corpus/$t/." "$work/corpus/$t/"
  log="$work/$t.log"
  status=0
  # SWIFT_BACKTRACE off: Swift's crash handler and ASan's would both report (and fight over) a crash.
  MMS_FUZZ_TARGET="$t" MMS_FUZZ_TMP="$scratch/$t" SWIFT_BACKTRACE=enable=no \
    "$bin" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout" -max_len="$max_len" \
    -dict="$corpus/mms.dict" -print_final_stats=1 -artifact_prefix=".build-fuzz/findings/$t/" "$work/corpus/$t" > "$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  if [ "$status" -eq 0 ]; then
    result="ok"
  else
    failed=1
    kind="crash"
    grep -q "ERROR: libFuzzer: timeout" "$log" && kind="hang (>${timeout}s)"
    grep -q "ERROR: libFuzzer: out-of-memory" "$log" && kind="out of memory (>${rss_mb} MB)"
    found=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
    # Every input starts from fresh state, so a real finding fails again when run alone; a hang that
    # does not was the machine stalling (seen with a load of 8 on 2 cores), not the input.
    again="not run again"
    if [ -n "$found" ]; then
      if MMS_FUZZ_TARGET="$t" MMS_FUZZ_TMP="$scratch/$t" SWIFT_BACKTRACE=enable=no \
          "$bin" -timeout="$timeout" -rss_limit_mb="$rss_mb" -runs=1 "$found" > "$work/$t.again.log" 2>&1; then
        again="did not fail when run alone"
      else
        again="fails again when run alone"
      fi
    fi
    result="FAILED: $kind, $again ${found:+($found)}"
    grep -E "^mms-fuzz $t:|ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY" "$log" | head -5 | sed 's/^/    /'
    cp "$log" ".build-fuzz/findings/$t/last-failure.log"
  fi
  printf '%-10s %10s execs %8s/s  cov %5s  ft %6s  corpus %4s  %s\n' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
exit $failed
