#!/bin/sh
# verify.sh — check a downloaded release signed with keyseal.
#
#   sh verify.sh [--public-key PUB.pem] [DIR]
#
# DIR (default: the current directory) holds the downloaded files, SHA256SUMS and
# SHA256SUMS.sig (and keyseal.bundle.json, if keyseal is to be used). PUB.pem is the
# release signer's public key, obtained from the project out of band (its website, its
# repository) — never from the same download. Files listed in SHA256SUMS that were not
# downloaded are skipped; every file present must match. A file is found by its path in
# SHA256SUMS, or, downloaded alone, by its file name when no other entry has that name
# (as `keyseal verify FILE` finds it): `linux/amd64/app` saved as `app`.
#
# With keyseal on the PATH and a bundle present, `keyseal verify` does everything. Without
# it, sha256sum checks the files and openssl checks the signature over SHA256SUMS. The
# script says which checks it did and which it could not do, and exits non-zero on any
# failure, including a signature it could not check.
#
# Time stamps: a bundle signed with `keyseal sign --tsa` carries an RFC 3161 token. Both
# paths here check the signature with the pinned key, which does not expire, so neither
# needs the token nor checks it (the script says so when there is one). To check a
# certificate chain at the token's time, use `keyseal verify --trust ROOT.pem --tsa-trust
# TSA-ROOT.pem`.
set -u

usage() {
    sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
}

public_key=""
dir="."
while [ $# -gt 0 ]; do
    case "$1" in
        --public-key) [ $# -ge 2 ] || { echo "verify.sh: --public-key needs a file" >&2; exit 2; }; public_key="$2"; shift 2 ;;
        --public-key=*) public_key="${1#--public-key=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "verify.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) dir="$1"; shift ;;
    esac
done

case "$public_key" in
    ""|/*) ;;
    *) public_key="$(pwd)/$public_key" ;;
esac
cd "$dir" 2>/dev/null || { echo "verify.sh: cannot enter $dir" >&2; exit 2; }
[ -f SHA256SUMS ] || { echo "verify.sh: no SHA256SUMS in $dir" >&2; exit 2; }
if [ -n "$public_key" ] && [ ! -f "$public_key" ]; then
    echo "verify.sh: no such public key file: $public_key" >&2
    exit 2
fi

# The entries of the manifest whose files are here, as "HASH  LOCAL-NAME" lines: by their
# path, or by their file name alone when no other entry has it (names may contain spaces;
# escaped names, lines starting with a backslash, are left to sha256sum).
names=$(sed -n 's/^[0-9a-f]\{64\}  //p' SHA256SUMS)
found=$(sed -n 's/^\([0-9a-f]\{64\}\)  /\1 /p' SHA256SUMS | while IFS= read -r line; do
    hash=${line%% *}
    name=${line#* }
    if [ -f "$name" ]; then
        printf '%s  %s\n' "$hash" "$name"
        continue
    fi
    base=${name##*/}
    [ "$base" != "$name" ] && [ -f "$base" ] || continue
    same=$(printf '%s\n' "$names" | awk -F/ -v base="$base" '$NF == base' | wc -l)
    [ "$same" -eq 1 ] && printf '%s  %s\n' "$hash" "$base"
done)
present=$(printf '%s\n' "$found" | sed -n 's/^[0-9a-f]\{64\}  //p')
if [ -z "$present" ]; then
    echo "verify.sh: none of the files listed in SHA256SUMS is in $dir" >&2
    exit 1
fi

if command -v keyseal >/dev/null 2>&1 && [ -f keyseal.bundle.json ] && [ -n "$public_key" ]; then
    echo "checking with keyseal: bundle, signature over SHA256SUMS with the pinned key, and every file present"
    # Each present file as an argument, spaces and all.
    set --
    while IFS= read -r name; do
        set -- "$@" "$name"
    done <<EOF_NAMES
$present
EOF_NAMES
    if keyseal verify --bundle keyseal.bundle.json --public-key "$public_key" "$@"; then
        echo "verify.sh: OK (checked by keyseal)"
        exit 0
    fi
    echo "verify.sh: FAILED (keyseal verify said no; see above)" >&2
    exit 1
fi

status=0
command -v keyseal >/dev/null 2>&1 || echo "keyseal not found: checking with sha256sum and openssl instead"
if [ -f keyseal.bundle.json ] && grep -q '"timestamp"' keyseal.bundle.json; then
    echo "time stamp: the bundle has one; NOT checked here (not needed: the pinned key does not expire; keyseal verify --tsa-trust checks it)"
fi

echo "files: checking every present file against SHA256SUMS with sha256sum"
if ! command -v sha256sum >/dev/null 2>&1; then
    echo "verify.sh: sha256sum not found; the files could NOT be checked" >&2
    status=1
else
    # Files found by their path: SHA256SUMS as it is. Lone downloads found by file name:
    # their lines, under the name they have here.
    renamed=$(printf '%s\n' "$found" | while IFS= read -r line; do
        grep -qxF -- "$line" SHA256SUMS || printf '%s\n' "$line"
    done)
    if [ "$renamed" != "$found" ] && ! sha256sum -c --ignore-missing SHA256SUMS; then
        echo "verify.sh: a file does not match SHA256SUMS" >&2
        status=1
    fi
    if [ -n "$renamed" ] && ! printf '%s\n' "$renamed" | sha256sum -c -; then
        echo "verify.sh: a file does not match SHA256SUMS" >&2
        status=1
    fi
fi

if [ -z "$public_key" ]; then
    echo "verify.sh: the signature over SHA256SUMS was NOT checked: pass --public-key PUB.pem" >&2
    status=1
elif [ ! -f SHA256SUMS.sig ]; then
    echo "verify.sh: no SHA256SUMS.sig; the signature could NOT be checked" >&2
    status=1
elif ! command -v openssl >/dev/null 2>&1; then
    echo "verify.sh: openssl not found; the signature could NOT be checked" >&2
    status=1
else
    echo "signature: checking SHA256SUMS.sig over SHA256SUMS with openssl and $public_key"
    # RSA-PSS needs saying so; the bundle, when present, names the algorithm.
    if [ -f keyseal.bundle.json ] && grep -q '"RSA_PSS_SHA_256"' keyseal.bundle.json; then
        set -- -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1
    else
        set --
    fi
    if ! openssl dgst -sha256 -verify "$public_key" -signature SHA256SUMS.sig "$@" SHA256SUMS; then
        echo "verify.sh: the signature over SHA256SUMS does not verify with $public_key" >&2
        status=1
    fi
fi

if [ "$status" -eq 0 ]; then
    echo "verify.sh: OK (checked by sha256sum and openssl)"
else
    echo "verify.sh: FAILED" >&2
fi
exit "$status"
