#!/usr/bin/env bash
# Calibrates the path_cost target's limits: for each recipe given (default: every seed of
# fuzz/seeds/path_cost/), prints the CPU milliseconds and heap growth that reading and
# validating took in the fuzz build (the target's own measure, PATH_COST_VERBOSE, with no
# limit) and, for the same files, the CPU (user + system) and peak memory of the release
# CLI, `keyseal cert verify ... --json` under GNU time, and both verdicts. Run from the repository root after
#   cargo +nightly fuzz build path_cost
#   CARGO_TARGET_DIR=<dir> cargo build --release
# with KEYSEAL=<dir>/release/keyseal (default target/release/keyseal).
set -euo pipefail
cd "$(dirname "$0")"
keyseal="$(realpath "${KEYSEAL:-../target/release/keyseal}")"
fuzzer=target/x86_64-unknown-linux-gnu/release/path_cost
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
if [ $# -eq 0 ]; then
    set -- seeds/path_cost/*
fi
printf '%-48s %9s %9s %9s %7s %8s  %s\n' recipe bytes fuzz-ms fuzz-MiB cli-ms cli-MiB \
    "verdict (fuzz build; CLI)"
for recipe in "$@"; do
    PATH_COST_VERBOSE=1 PATH_COST_LIMIT_MS=100000000 PATH_COST_HEAP_LIMIT_MB=100000 PATH_COST_DUMP="$scratch/files" \
        "$fuzzer" -runs=1 -detect_leaks=0 "$recipe" >"$scratch/log" 2>&1 || true
    line="$(grep -m1 '^path_cost:' "$scratch/log" || true)"
    bytes="$(sed -E 's/^path_cost: ([0-9]+) B.*/\1/' <<<"$line")"
    fuzz_ms="$(sed -E 's/.*validated in ([0-9.]+) ms of CPU.*/\1/' <<<"$line")"
    fuzz_mib="$(sed -E 's/.*heap \+([0-9.]+) MiB.*/\1/' <<<"$line")"
    verdict="$(sed -E 's/.*MiB: //' <<<"$line")"
    read -r -a args <"$scratch/files/command"
    (cd "$scratch/files" && /usr/bin/time -f '%U %S %M' -o "$scratch/time" "$keyseal" "${args[@]}" \
        >"$scratch/report" 2>&1) || true
    cli_reason="$(head -c 4096 "$scratch/report" | grep -o '"reason": *"[a-z-]*"\|"reason": *null' | head -1 |
        sed -E 's/.*: *"?([a-z-]*)"?/\1/' || true)"
    read -r user system rss < <(tail -n 1 "$scratch/time")
    cli_ms="$(awk -v u="$user" -v s="$system" 'BEGIN { printf "%.0f", (u + s) * 1000 }')"
    cli_mib="$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"
    printf '%-48s %9s %9s %9s %7s %8s  %s; %s\n' "$(basename "$recipe")" "$bytes" "$fuzz_ms" "$fuzz_mib" "$cli_ms" "$cli_mib" \
        "$verdict" "$(sed s/^null$/valid/ <<<"${cli_reason:-?}")"
done
