#!/usr/bin/env bash
# Supply-chain check: `cargo deny check` (advisories, licences, bans, sources, as deny.toml
# configures them) on the main crate and on the fuzz workspace, fully offline as far as
# the advisory database goes: it is read from the snapshot committed in
# supply-chain/advisory-db/ (see its README.md), never cloned.
#
# cargo-deny looks for each database in <db-path>/<name>-<hash>/ and takes the time of the
# last fetch from .git/FETCH_HEAD there; a committed tree cannot hold a .git folder, so
# the snapshot is copied under target/advisory-dbs/ in that layout on every run. The
# directory name is cargo-deny's for the URL in deny.toml's db-urls (the URL's last path
# segment and an XxHash64 of it); `cargo deny -L debug` prints it ("Opening advisory
# database at ...") if a cargo-deny upgrade ever changes it.
#
# The snapshot's age is checked here rather than by cargo-deny's maximum-db-staleness
# (which would fail CI on a date, with no network to refresh from): past
# MAX_SNAPSHOT_DAYS (default 90) it prints a warning to refresh it.
#
# Needs cargo-deny (`cargo install cargo-deny --version 0.20.2 --locked`; .ci/run does it).
# Reaches only crates.io, for `cargo fetch`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
    echo "deny.sh: cargo-deny is not installed: cargo install cargo-deny --version 0.20.2 --locked" >&2
    exit 2
fi

snapshot="supply-chain/advisory-db"
database="target/advisory-dbs/advisory-db-3157b0e258782691"
rm -rf "$database"
mkdir -p "$database/.git"
cp -R "$snapshot/." "$database/"
touch "$database/.git/FETCH_HEAD"

taken="$(sed -n 's/^taken: //p' "$snapshot/SNAPSHOT")"
age_days=$(( ($(date -u +%s) - $(date -u -d "$taken" +%s)) / 86400 ))
if [ "$age_days" -gt "${MAX_SNAPSHOT_DAYS:-90}" ]; then
    echo "deny.sh: WARNING: the advisory snapshot was taken $taken, $age_days days ago:" \
        "refresh it (supply-chain/advisory-db/README.md)" >&2
fi
echo "deny.sh: advisory snapshot taken $taken ($age_days days ago)," \
    "$(find "$snapshot/crates" -name 'RUSTSEC-*.md' | wc -l) advisories"
# A partial snapshot holds the advisories of the crates named in COVERED only: say which
# locked crates it has never been checked for (a new dependency), so they get a refresh.
if [ -f "$snapshot/COVERED" ]; then
    uncovered="$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.lock fuzz/Cargo.lock | sort -u |
        grep -vx -e keyseal -e keyseal-fuzz | comm -23 - <(sort -u "$snapshot/COVERED") | paste -sd ' ')"
    if [ -n "$uncovered" ]; then
        echo "deny.sh: WARNING: the advisory snapshot does not cover $uncovered:" \
            "their advisories are not checked until it is refreshed (supply-chain/advisory-db/README.md)" >&2
    fi
fi

# cargo metadata (which cargo-deny runs offline) needs every platform's crates, not only
# the ones this machine builds.
cargo fetch --locked --quiet
cargo fetch --locked --quiet --manifest-path fuzz/Cargo.toml

status=0
echo "=== cargo deny check: keyseal"
cargo deny --offline --locked check || status=1
echo "=== cargo deny check: fuzz workspace"
cargo deny --offline --locked --manifest-path fuzz/Cargo.toml --config deny.toml check || status=1
exit "$status"
