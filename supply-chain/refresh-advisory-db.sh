#!/usr/bin/env bash
# Replaces the advisory snapshot in supply-chain/advisory-db/ with the whole current RustSec
# database (every crate, so new dependencies are covered too), on a machine that reaches
# GitHub. Run it from anywhere; it works inside the repository only:
#
#   bash supply-chain/refresh-advisory-db.sh            # clones into target/rustsec-advisory-db
#   bash supply-chain/refresh-advisory-db.sh --from target/some-checkout
#
# `--from` takes an existing checkout of the database (a directory inside the repository,
# e.g. one copied in by hand); it must have crates/ and LICENSE.txt. Afterwards run
# `bash supply-chain/deny.sh`, review `git diff --stat supply-chain/advisory-db`, and
# remove any `ignore` entry in deny.toml that the new data makes unnecessary.
set -euo pipefail
cd "$(dirname "$0")/.."

upstream="target/rustsec-advisory-db"
if [ "${1:-}" = "--from" ]; then
    upstream="${2:?--from needs a directory}"
else
    rm -rf "$upstream"
    git clone --quiet --depth 1 https://github.com/rustsec/advisory-db "$upstream"
fi
case "$(cd "$upstream" && pwd -P)/" in
    "$(pwd -P)"/*) ;;
    *) echo "refresh-advisory-db.sh: $upstream is outside the repository" >&2; exit 2 ;;
esac
[ -d "$upstream/crates" ] && [ -f "$upstream/LICENSE.txt" ] || {
    echo "refresh-advisory-db.sh: $upstream has no crates/ or LICENSE.txt" >&2
    exit 2
}

commit="unknown"
committed="unknown"
if git -C "$upstream" rev-parse HEAD >/dev/null 2>&1; then
    commit="$(git -C "$upstream" rev-parse HEAD)"
    committed="$(git -C "$upstream" show -s --format=%cs HEAD)"
fi

snapshot="supply-chain/advisory-db"
rm -rf "$snapshot/crates" "$snapshot/COVERED"
mkdir -p "$snapshot"
# Only the advisories with an assigned id: RUSTSEC-0000-0000 files are drafts.
(cd "$upstream" && find crates -name 'RUSTSEC-*.md' ! -name 'RUSTSEC-0000-0000.md') | sort |
    while read -r path; do
        mkdir -p "$snapshot/$(dirname "$path")"
        cp "$upstream/$path" "$snapshot/$path"
        echo "$path $commit"
    done >"$snapshot/MANIFEST"
cp "$upstream/LICENSE.txt" "$snapshot/LICENSE.txt"
newest="$(sed -n 's/^date = "\(.*\)"$/\1/p' "$snapshot"/crates/*/*.md | sort | tail -n 1)"
cat >"$snapshot/SNAPSHOT" <<EOF
taken: $(date -u +%F)
source: rustsec/advisory-db $commit (committed $committed)
newest-advisory: $newest
coverage: all
EOF
echo "refresh-advisory-db.sh: $(wc -l <"$snapshot/MANIFEST") advisories from $commit; update the date and coverage in $snapshot/README.md"
