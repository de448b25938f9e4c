#!/usr/bin/env bash
# Checks the Rust version Cargo.toml declares (`rust-version`, the oldest toolchain keyseal
# builds with) against the locked dependencies: none may need a newer one. Clippy's
# `incompatible_msrv` lint checks keyseal's own use of the standard library against the
# same declaration (.ci/run runs clippy with -D warnings). Language features are not
# checked: that needs the old toolchain itself, which this machine cannot download.
set -euo pipefail
cd "$(dirname "$0")/.."
metadata="$(mktemp)"
trap 'rm -f "$metadata"' EXIT
cargo metadata --locked --format-version 1 >"$metadata"
python3 - "$metadata" <<'PY'
import json, sys

meta = json.load(open(sys.argv[1]))
def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
def shown(parts):
    return ".".join(str(part) for part in parts)
ours = next(p for p in meta["packages"] if p["id"] in meta["workspace_members"])
declared = ours.get("rust_version")
if not declared:
    sys.exit("check-msrv: Cargo.toml declares no rust-version")
needs = [(version(p["rust_version"]), p["name"], p["version"]) for p in meta["packages"] if p.get("rust_version")]
newer = sorted(need for need in needs if need[0] > version(declared))
if newer:
    listed = ", ".join(f"{name} {v} needs {shown(need)}" for need, name, v in newer)
    sys.exit(f"check-msrv: rust-version is {declared}, but {listed}: raise rust-version (and the README and docs/development.md)")
print(f"check-msrv: rust-version {declared}; the locked dependencies need at most {shown(max(needs)[0])}")
PY
