#!/usr/bin/env bash
# Mutation testing of the security-critical files (issue 35): cargo-mutants changes one
# thing at a time in a file (a condition inverted, a match arm deleted, a function made to
# return a default) and runs the tests that cover the file; a mutant the tests do not
# notice ("missed") is a regression that could land unseen. Prints the score of each file,
# caught (timeouts count as caught) over viable mutants; the goal is 90 % or more.
#
#   scripts/mutants.sh                  every group below (hours on 2 cores)
#   scripts/mutants.sh name auth        the groups named
#   scripts/mutants.sh --changed BASE   only the listed files that differ from git rev BASE,
#                                       and only their changed lines (what CI could afford)
#   scripts/mutants.sh --iterate name   again, testing only the mutants not caught last time
#                                       (after adding tests for the survivors)
#   scripts/mutants.sh --list           the groups, their files and tests; nothing is run
#
# It measures HEAD plus the uncommitted changes to tracked files, in a git worktree of its
# own (target/mutants/tree) with a target directory of its own (target/mutants/target,
# the `mutants` profile of Cargo.toml: keyseal unoptimised, dependencies optimised), so
# the checkout is never modified and runs after the first are incremental. Results, per
# group, are under target/mutants/out/<group>/mutants.out (missed.txt lists survivors).
# Mutants that cannot change behaviour are excluded in .cargo/mutants.toml, one reason each.
# Needs cargo-mutants (cargo install --locked cargo-mutants; 27.1 was used).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

# group | files (globs, space-separated) | the tests that exercise them: --lib for the unit
# tests, --test NAME for the module NAME of the end-to-end crate (tests/it/NAME.rs)
groups=(
    "name|src/x509/name.rs|--lib --test pkits --test rfc5280_profile --test hostile_paths"
    "path|src/x509/path/*.rs|--lib --test pkits --test rfc5280_profile --test verifier --test hostile_paths"
    "x509-policy|src/x509/policy.rs|--lib --test pkits --test hostile_paths"
    "crl|src/x509/crl/*.rs|--lib --test pkits --test rfc5280_profile"
    "identity|src/x509/identity.rs|--lib --test verifier"
    "webpki|src/x509/webpki.rs src/x509/smime.rs|--lib --test verifier --test real_chains"
    "kms-policy|src/server/policy.rs|--lib --test remote"
    "auth|src/server/auth.rs|--lib --test remote --test acs3_sdk --test sts"
    "authorize|src/server/authorize.rs|--lib --test remote"
    "manifest|src/release/manifest.rs|--lib --test release"
    "release-verify|src/release/verify.rs|--lib --test release --test verifier --test timestamped_release --test hostile_input"
    "tsa-verify|src/tsa/verify.rs|--lib --test timestamp --test timestamped_release"
    "formats|src/release/sshsig.rs src/release/cms.rs src/crypto/ecdsa_pair.rs src/release/verify_formats.rs src/release/formats.rs|--lib --test release --test timestamped_release"
    "openpgp|src/release/openpgp.rs|--lib --test release"
    "crypto|src/crypto/public_key.rs src/crypto/keys.rs src/crypto/keys/*.rs src/x509/signature.rs|--lib --test wycheproof --test wycheproof_x509 --test provider_differential --test pkits"
    "hsm|src/crypto/pkcs11/*.rs src/kms/local/hsm.rs|--lib --test hsm"
)

field() { cut -d'|' -f"$1" <<<"$2"; }

changed_base=""
list_only=false
iterate=()
wanted=()
while [ $# -gt 0 ]; do
    case "$1" in
        --changed) changed_base="$2"; shift 2 ;;
        --list) list_only=true; shift ;;
        --iterate) iterate=(--iterate); shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) echo "mutants.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) wanted+=("$1"); shift ;;
    esac
done

if $list_only; then
    for group in "${groups[@]}"; do
        printf '%-15s %-28s %s\n' "$(field 1 "$group")" "$(field 2 "$group")" "$(field 3 "$group")"
    done
    exit 0
fi

command -v cargo-mutants >/dev/null ||
    { echo "mutants.sh: cargo-mutants is not installed: cargo install --locked cargo-mutants" >&2; exit 2; }

work="$root/target/mutants"
tree="$work/tree"
mkdir -p "$work/out"
export CARGO_TARGET_DIR="$work/target"

# A worktree at HEAD with the working tree's uncommitted changes to tracked files.
if [ -e "$tree" ]; then
    git worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"
fi
git worktree prune
git worktree add --quiet --detach "$tree" HEAD
git diff HEAD --binary | (cd "$tree" && git apply --allow-empty)

diff_file=""
if [ -n "$changed_base" ]; then
    diff_file="$work/changed.diff"
    git diff "$changed_base" -- src > "$diff_file"
fi

selected() {
    [ ${#wanted[@]} -eq 0 ] && return 0
    local name
    for name in "${wanted[@]}"; do [ "$name" = "$1" ] && return 0; done
    return 1
}

summary="$work/summary.txt"
: > "$summary"
for group in "${groups[@]}"; do
    name="$(field 1 "$group")"
    selected "$name" || continue
    read -r -a tests <<<"$(field 3 "$group")"
    files=()
    for file in $(cd "$tree" && eval ls $(field 2 "$group")); do
        if [ -n "$diff_file" ] && ! grep -q "^+++ b/$file\$" "$diff_file"; then
            continue
        fi
        files+=(--file "$file")
    done
    [ ${#files[@]} -eq 0 ] && continue
    in_diff=()
    [ -n "$diff_file" ] && in_diff=(--in-diff "$diff_file")
    out="$work/out/$name"
    mkdir -p "$out"
    # cargo-mutants lists unviable mutants among the "previously caught" that --iterate
    # skips; keep every run's unviable ones, so the score does not count them as caught.
    if [ -f "$out/mutants.out/unviable.txt" ]; then
        touch "$out/unviable-all.txt"
        sort -u "$out/mutants.out/unviable.txt" "$out/unviable-all.txt" > "$out/unviable-all.new"
        mv "$out/unviable-all.new" "$out/unviable-all.txt"
    fi
    echo "== $name: $(field 2 "$group") against ${tests[*]}" >&2
    # The end-to-end tests are one binary (tests/it); --test NAME selects its module NAME
    # by a test-name filter, and --lib the unit tests (all named ...::tests::...). The
    # binaries go to every cargo invocation (-C), so that each mutant's build compiles and
    # links only these; the filters go to the test binaries (after the second --).
    cargo_args=()
    filters=()
    set -- "${tests[@]}"
    while [ $# -gt 0 ]; do
        case "$1" in
            --lib) cargo_args+=(-C --lib); filters+=("::tests::"); shift ;;
            --test) filters+=("$2::"); shift 2 ;;
            *) echo "mutants.sh: group $name: unknown test selection $1" >&2; exit 2 ;;
        esac
    done
    if [ ${#filters[@]} -gt $([ "${cargo_args[*]}" = "-C --lib" ] && echo 1 || echo 0) ]; then
        cargo_args+=(-C --test -C it)
    fi
    (cd "$tree" && cargo mutants --in-place --profile mutants --no-shuffle \
        --output "$out" "${iterate[@]}" "${files[@]}" "${in_diff[@]}" "${cargo_args[@]}" \
        -- -- "${filters[@]}") >&2 || true
    # outcomes.json: one outcome per mutant, and the baseline.
    python3 - "$out/mutants.out/outcomes.json" "$name" >>"$summary" <<'EOF'
import json, os, sys
from collections import Counter
outcomes = json.load(open(sys.argv[1]))["outcomes"]
per_file = {}
for o in outcomes:
    scenario = o["scenario"]
    if not isinstance(scenario, dict) or "Mutant" not in scenario:
        continue
    file = scenario["Mutant"]["file"]
    per_file.setdefault(file, Counter())[o["summary"]] += 1
# With --iterate, the mutants caught by earlier runs are listed here and not run again.
previously = os.path.join(os.path.dirname(sys.argv[1]), "previously_caught.txt")
unviable_path = os.path.join(os.path.dirname(os.path.dirname(sys.argv[1])), "unviable-all.txt")
unviable = set(open(unviable_path).read().splitlines()) if os.path.exists(unviable_path) else set()
if os.path.exists(previously):
    for line in open(previously):
        if line.strip():
            kind = "Unviable" if line.rstrip("\n") in unviable else "CaughtMutant"
            per_file.setdefault(line.split(":", 1)[0], Counter())[kind] += 1
for file, c in sorted(per_file.items()):
    caught = c["CaughtMutant"] + c["Timeout"]
    viable = caught + c["MissedMutant"]
    score = 100.0 * caught / viable if viable else 100.0
    print(f"{file:34} {sys.argv[2]:15} mutants {sum(c.values()):4}  caught {c['CaughtMutant']:4}  "
          f"timeouts {c['Timeout']:3}  missed {c['MissedMutant']:3}  unviable {c['Unviable']:3}  score {score:5.1f} %")
EOF
done
git worktree remove --force "$tree" >/dev/null 2>&1 || true
echo
cat "$summary"
if grep -q "score" "$summary" && awk '{ if ($(NF-1) + 0 < 90) bad = 1 } END { exit !bad }' "$summary"; then
    echo "mutants.sh: a file scores under 90 %: see target/mutants/out/<group>/mutants.out/missed.txt" >&2
    exit 1
fi
