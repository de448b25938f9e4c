#!/usr/bin/env bash
# Fuzz smoke test, for CI: builds every fuzz target, replays each target's past crashes
# (fuzz/regressions/<target>/, once each), then fuzzes it for FUZZ_SECONDS (default 20) on
# a scratch copy of its seeds (fuzz/seeds/<target>/ is never modified), with a 2 GiB RSS
# limit and a 10 s limit per input. Exits non-zero if any target crashes, times out on an
# input or runs out of memory; the input that did it is kept in fuzz/artifacts/<target>/
# and printed as base64 so it survives a throw-away CI clone.
#
# Environment: FUZZ_SECONDS (per target), FUZZ_TARGETS (space-separated subset; default
# all), FUZZ_TOOLCHAIN (default: nightly if rustup has it, else the default toolchain),
# PATH_COST_LIMIT_MS (path_cost's CPU limit per input; default 8000 here, more generous
# than the target's own 5000, for a slower or loaded CI machine, yet under -timeout=10).
# A toolchain that is not nightly builds with RUSTC_BOOTSTRAP=1, which lets it take the
# -Z flags cargo fuzz passes (its AddressSanitizer runtime ships with stable too).
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-20}"
export PATH_COST_LIMIT_MS="${PATH_COST_LIMIT_MS:-8000}"

if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    cargo=(cargo "+$FUZZ_TOOLCHAIN")
elif cargo +nightly --version >/dev/null 2>&1; then
    cargo=(cargo +nightly)
else
    cargo=(cargo)
fi
version="$("${cargo[@]}" --version)"
case "$version" in
    *nightly*) ;;
    *)
        echo "smoke.sh: $version is not nightly; building with RUSTC_BOOTSTRAP=1" >&2
        export RUSTC_BOOTSTRAP=1
        ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

"${cargo[@]}" fuzz build
targets="${FUZZ_TARGETS:-$("${cargo[@]}" fuzz list | tr '\n' ' ')}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in $targets; do
    corpus="$scratch/corpus/$target"
    mkdir -p "$corpus" "artifacts/$target"
    if [ -d "seeds/$target" ]; then
        cp -R "seeds/$target/." "$corpus/"
    fi
    limits=(-rss_limit_mb=2048 -timeout=10)
    if [ -d "regressions/$target" ]; then
        echo "=== $target: replaying regressions/$target"
        if ! "${cargo[@]}" fuzz run "$target" "regressions/$target"/* -- "${limits[@]}" \
            >"$scratch/$target.regressions.log" 2>&1; then
            failed+=("$target")
            tail -n 60 "$scratch/$target.regressions.log"
            continue
        fi
    fi
    echo "=== $target: fuzzing ${seconds}s"
    touch "$scratch/$target.start"
    if "${cargo[@]}" fuzz run "$target" "$corpus" -- \
        -max_total_time="$seconds" "${limits[@]}" -print_final_stats=1 \
        >"$scratch/$target.log" 2>&1; then
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done )|cov: ' "$scratch/$target.log" | tail -4
    else
        failed+=("$target")
        tail -n 80 "$scratch/$target.log"
        find "artifacts/$target" -type f -newer "$scratch/$target.start" | while read -r artifact; do
            echo "--- $artifact ($(wc -c <"$artifact") bytes), base64:"
            head -c 65536 "$artifact" | base64
        done
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke test FAILED: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz smoke test passed: $targets"
