#!/usr/bin/env bash
# Makes the fuzz seed corpora in fuzz/seeds/<target>/ from real material: a keyseal
# store with root → intermediate → leaf chains for RSA (PKCS#1 v1.5 and PSS), P-256 and
# secp256k1, a server certificate issued from an OpenSSL CSR, revocations and CRLs,
# signed release bundles and manifests; plus OpenSSL-made chains keyseal cannot issue
# itself (P-384, RSA-3072/SHA-512, Ed25519, name constraints and policies), CSRs and a CRL;
# and, through make-pkits-seeds.sh, path_validation seeds from NIST PKITS (fixtures/pkits/);
# make-policy-seeds.sh and make-request-auth-seeds.py make policy_document and request_auth.
#
# Usage: fuzz/seeds/make-seeds.sh [path/to/keyseal]   (default: target/release/keyseal,
# built with `cargo build --release` if missing). Needs openssl, sha256sum and jq. The
# committed seeds came from one run; rerunning replaces them with new keys and times.
set -euo pipefail

seeds="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$seeds/../.." && pwd)"
bin="${1:-$repo/target/release/keyseal}"
if [ ! -x "$bin" ]; then
    (cd "$repo" && cargo build --release --locked)
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export KEYSEAL_STORE="$work/store" KEYSEAL_PASSPHRASE="fuzz seed passphrase"
unset KEYSEAL_KEY_FILE KEYSEAL_ENDPOINT

ks() { "$bin" "$@" </dev/null; }
# create_key SPEC: prints "KEYID VERSION".
create_key() {
    local out
    out="$(ks kms create-key --key-spec "$1" --key-usage SIGN/VERIFY)"
    printf '%s %s\n' \
        "$(sed -n 's/.*"KeyId": "\([^"]*\)".*/\1/p' <<<"$out")" \
        "$(sed -n 's/.*"PrimaryKeyVersion": "\([^"]*\)".*/\1/p' <<<"$out")"
}
der() { openssl x509 -in "$1" -outform DER; }
crl_der() { openssl crl -in "$1" -outform DER; }
# header PURPOSE_INDEX UNIX_TIME: path_validation's 9-byte header (purpose, big-endian i64).
header() {
    local hex
    hex="$(printf '%02x%016x' "$1" "$2")"
    printf "$(sed 's/../\\x&/g' <<<"$hex")"
}

for target in bundle manifest certificates crl csr path_validation timestamp; do
    rm -rf "${seeds:?}/$target"
    mkdir -p "$seeds/$target"
done

now="$(date +%s)"
soon=$((now + 86400))

# --- keyseal chains: root -> intermediate -> code-signing leaf --------------------------
# name spec algorithm
chains=(
    "rsa-pkcs1 RSA_2048 RSA_PKCS1_SHA_256"
    "rsa-pss RSA_2048 RSA_PSS_SHA_256"
    "p256 EC_P256 ECDSA_SHA_256"
    "secp256k1 EC_P256K ECDSA_SHA_256"
)
for entry in "${chains[@]}"; do
    read -r name spec algorithm <<<"$entry"
    d="$work/$name"
    mkdir -p "$d"
    read -r root_key root_version < <(create_key "$spec")
    read -r inter_key inter_version < <(create_key "$spec")
    read -r leaf_key leaf_version < <(create_key "$spec")
    echo "$leaf_key $leaf_version" >"$d/leaf.key"
    ks ca init --name "$name-root" --key-id "$root_key" --key-version-id "$root_version" --algorithm "$algorithm" \
        --subject "CN=Fuzz $name Root CA,O=Example Corp,OU=Security,C=NL,emailAddress=pki@example.com" \
        --days 3650 --path-len 1 --out "$d/root.pem" >/dev/null
    ks ca issue --ca "$name-root" --profile intermediate-ca --name "$name-ca" --key-id "$inter_key" \
        --key-version-id "$inter_version" --algorithm "$algorithm" --subject "CN=Fuzz $name Release CA,O=Example Corp" \
        --days 1825 --path-len 0 --crl-url "http://pki.example.com/$name.crl" --out "$d/intermediate.pem" >/dev/null
    ks ca issue --ca "$name-ca" --profile code-signing --key-id "$leaf_key" --key-version-id "$leaf_version" \
        --subject "CN=Fuzz $name Signing,O=Example Corp" --days 365 --san "email:release@example.com" \
        --out "$d/leaf.pem" >/dev/null
    cat "$d/leaf.pem" "$d/intermediate.pem" "$d/root.pem" >"$d/chain.pem"
    cp "$d/chain.pem" "$seeds/certificates/$name-chain.pem"
    der "$d/leaf.pem" >"$seeds/certificates/$name-leaf.der"
done

# A server certificate for an OpenSSL P-256 CSR, with DNS and IP SANs.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/web.key" 2>/dev/null
openssl req -new -key "$work/web.key" -subj "/CN=www.example.com/O=Example Corp" -out "$work/web.csr"
ks ca issue --ca p256-ca --profile server --csr "$work/web.csr" --san dns:www.example.com --san dns:example.com \
    --san ip:192.0.2.7 --days 90 \
    --out "$work/p256/server.pem" >/dev/null

# Revocations and CRLs: the RSA and P-256 leaves revoked, every CA's CRL.
for name in rsa-pkcs1 p256; do
    serial="$(openssl x509 -in "$work/$name/leaf.pem" -noout -serial | cut -d= -f2)"
    ks ca revoke --ca "$name-ca" --serial "$serial" --reason key-compromise >/dev/null
done
for entry in "${chains[@]}"; do
    read -r name _ <<<"$entry"
    ks ca crl --ca "$name-ca" --out "$work/$name/ca.crl.pem" --der "$work/$name/ca.crl.der" >/dev/null
    ks ca crl --ca "$name-root" --out "$work/$name/root.crl.pem" >/dev/null
    cp "$work/$name/ca.crl.der" "$seeds/crl/$name-ca.der"
done
cat "$work/p256/ca.crl.pem" "$work/p256/root.crl.pem" >"$seeds/crl/p256-both.pem"
cp "$work/secp256k1/ca.crl.pem" "$seeds/crl/secp256k1-ca.pem"

# --- OpenSSL-made material ----------------------------------------------------------------
o="$work/openssl"
mkdir -p "$o"
cat >"$o/ext.cnf" <<'EOF'
[req]
distinguished_name = req_dn
[req_dn]
[root]
basicConstraints = critical, CA:TRUE, pathlen:2
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;DNS:example.com, permitted;email:example.com, permitted;IP:192.0.2.0/255.255.255.0, excluded;DNS:bad.example.com, permitted;URI:.example.com
certificatePolicies = 2.5.29.32.0
[inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
extendedKeyUsage = serverAuth, clientAuth, codeSigning, emailProtection, timeStamping
crlDistributionPoints = URI:http://pki.example.com/inter.crl
authorityInfoAccess = OCSP;URI:http://ocsp.example.com/, caIssuers;URI:http://pki.example.com/root.cer
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth, codeSigning, emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = DNS:www.example.com, DNS:*.example.com, email:ops@example.com, IP:192.0.2.10, URI:https://www.example.com/x, dirName:leaf_dn, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:ops@example.com
issuerAltName = email:ca@example.com
[leaf_dn]
CN = Directory Name
O = Example Corp
[tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
[ca_conf]
database = index.txt
default_md = sha384
crlnumber = crlnumber
default_crl_days = 30
EOF
# ossl_chain NAME KEYGEN-ARGS... : a root, intermediate and leaf (one key algorithm) with
# the extensions above; digest from $md.
ossl_chain() {
    local name="$1"
    shift
    local p="$o/$name"
    for role in root inter leaf; do
        openssl genpkey "$@" -out "$p-$role.key" 2>/dev/null
    done
    openssl req -x509 -new -key "$p-root.key" "${md[@]}" -subj "/C=NL/O=Example Corp/CN=OpenSSL $name Root" \
        -days 3650 -extensions root -config "$o/ext.cnf" -out "$p-root.pem" 2>/dev/null
    openssl req -new -key "$p-inter.key" "${md[@]}" -subj "/C=NL/O=Example Corp/CN=OpenSSL $name Inter" \
        -config "$o/ext.cnf" -out "$p-inter.csr" 2>/dev/null
    openssl x509 -req -in "$p-inter.csr" -CA "$p-root.pem" -CAkey "$p-root.key" "${md[@]}" -days 1825 \
        -set_serial 0x1000 -extfile "$o/ext.cnf" -extensions inter -out "$p-inter.pem" 2>/dev/null
    openssl req -new -key "$p-leaf.key" "${md[@]}" -subj "/C=NL/O=Example Corp/CN=www.example.com" \
        -config "$o/ext.cnf" -out "$p-leaf.csr" 2>/dev/null
    openssl x509 -req -in "$p-leaf.csr" -CA "$p-inter.pem" -CAkey "$p-inter.key" "${md[@]}" -days 365 \
        -set_serial 0x2000 -extfile "$o/ext.cnf" -extensions leaf -out "$p-leaf.pem" 2>/dev/null
    cat "$p-leaf.pem" "$p-inter.pem" "$p-root.pem" >"$p-chain.pem"
}
md=(-sha384)
ossl_chain p384 -algorithm EC -pkeyopt ec_paramgen_curve:P-384
md=(-sha512)
ossl_chain rsa3072 -algorithm RSA -pkeyopt rsa_keygen_bits:3072
md=()
ossl_chain ed25519 -algorithm ED25519
cp "$o/p384-chain.pem" "$seeds/certificates/openssl-p384-chain.pem"
cp "$o/rsa3072-chain.pem" "$seeds/certificates/openssl-rsa-sha512-chain.pem"
der "$o/ed25519-leaf.pem" >"$seeds/certificates/openssl-ed25519-leaf.der"
# A timestamping leaf under the P-384 intermediate.
openssl req -new -key "$o/p384-leaf.key" -sha384 -subj "/CN=Example TSA" -config "$o/ext.cnf" -out "$o/tsa.csr" 2>/dev/null
openssl x509 -req -in "$o/tsa.csr" -CA "$o/p384-inter.pem" -CAkey "$o/p384-inter.key" -sha384 -days 365 \
    -set_serial 0x3000 -extfile "$o/ext.cnf" -extensions tsa -out "$o/tsa.pem" 2>/dev/null

# An OpenSSL CRL from the P-384 intermediate with a revoked entry (reason, invalidity date).
(
    cd "$o"
    : >index.txt
    echo 01 >crlnumber
    openssl ca -config ext.cnf -name ca_conf -keyfile p384-inter.key -cert p384-inter.pem -revoke p384-leaf.pem \
        -crl_reason keyCompromise 2>/dev/null || true
    openssl ca -config ext.cnf -name ca_conf -keyfile p384-inter.key -cert p384-inter.pem -gencrl \
        -out p384-inter.crl.pem 2>/dev/null
)
if [ ! -s "$o/p384-inter.crl.pem" ]; then
    # `openssl ca -revoke` needs a full CA config on some versions; fall back to an empty CRL.
    (cd "$o" && : >index.txt && openssl ca -config ext.cnf -name ca_conf -keyfile p384-inter.key \
        -cert p384-inter.pem -gencrl -out p384-inter.crl.pem 2>/dev/null)
fi
cp "$o/p384-inter.crl.pem" "$seeds/crl/openssl-p384.pem"

# CSRs: PEM and DER, RSA (PKCS#1 v1.5 and PSS), P-256, P-384, secp256k1, Ed25519.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$o/csr-rsa.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$o/csr-k1.key" 2>/dev/null
csr_subject="/C=NL/O=Example Corp/CN=csr.example.com/emailAddress=csr@example.com"
openssl req -new -key "$o/csr-rsa.key" -subj "$csr_subject" -addext "subjectAltName=DNS:csr.example.com" \
    -out "$seeds/csr/rsa.pem"
openssl req -new -key "$o/csr-rsa.key" -subj "$csr_subject" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -outform DER -out "$seeds/csr/rsa-pss.der"
cp "$work/web.csr" "$seeds/csr/p256.pem"
openssl req -new -key "$o/p384-leaf.key" -sha384 -subj "$csr_subject" -outform DER -out "$seeds/csr/p384.der"
openssl req -new -key "$o/csr-k1.key" -subj "$csr_subject" -out "$seeds/csr/secp256k1.pem"
openssl req -new -key "$o/ed25519-leaf.key" -subj "$csr_subject" -outform DER -out "$seeds/csr/ed25519.der"

# --- releases: bundles and manifests ------------------------------------------------------
rel="$work/release"
mkdir -p "$rel/tree/docs/ünïcödé dir" "$rel/tree/bin"
printf 'hello\n' >"$rel/tree/README"
printf '\177ELF pretend binary' >"$rel/tree/bin/app"
: >"$rel/tree/empty"
printf 'read me\n' >"$rel/tree/docs/ünïcödé dir/read me.txt"
printf 'a backslash\n' >"$rel/tree/back\\slash"
for entry in "${chains[@]}"; do
    read -r name _ algorithm <<<"$entry"
    read -r leaf_key leaf_version <"$work/$name/leaf.key"
    out="$rel/out-$name"
    ks sign "$rel/tree" --key-id "$leaf_key" --key-version-id "$leaf_version" --algorithm "$algorithm" \
        --cert "$work/$name/chain.pem" --out "$out" >/dev/null
    cp "$out/keyseal.bundle.json" "$seeds/bundle/$name.json"
    # The Sigstore bundle beside it, where the algorithm has a Sigstore form.
    if [ -f "$out/SHA256SUMS.sigstore.json" ]; then
        cp "$out/SHA256SUMS.sigstore.json" "$seeds/bundle/$name.sigstore.json"
    fi
done
# One bundle without a certificate chain.
read -r plain_key plain_version < <(create_key EC_P256)
ks sign "$rel/tree" --key-id "$plain_key" --key-version-id "$plain_version" --out "$rel/out-plain" >/dev/null
cp "$rel/out-plain/keyseal.bundle.json" "$seeds/bundle/no-chain.json"
cp "$rel/out-plain/SHA256SUMS.sigstore.json" "$seeds/bundle/no-chain.sigstore.json"
# An attestation (a DSSE envelope in a Sigstore bundle) about the same files.
printf '{"spdxVersion": "SPDX-2.3"}\n' >"$rel/predicate.json"
ks attest "$rel/tree" --key-id "$plain_key" --key-version-id "$plain_version" --predicate-type https://spdx.dev/Document \
    --predicate "$rel/predicate.json" --out "$rel/attestation.sigstore.json" >/dev/null
cp "$rel/attestation.sigstore.json" "$seeds/bundle/attestation.sigstore.json"
cp "$rel/out-plain/SHA256SUMS" "$seeds/manifest/keyseal-SHA256SUMS"
# coreutils' own output: binary markers (` *`) and its escaping of a backslash name.
(cd "$rel/tree" && find . -type f -printf '%P\0' | sort -z | xargs -0 sha256sum -b) >"$seeds/manifest/sha256sum-binary"
(cd "$rel/tree" && sha256sum 'back\slash' README) >"$seeds/manifest/sha256sum-escaped"

# --- path validation: header + DER certificates (+ DER CRLs) ------------------------------
pv="$seeds/path_validation"
purpose() { # the index of a purpose name in Purpose::ALL
    case "$1" in
        code-signing) echo 0 ;; server) echo 1 ;; client) echo 2 ;; email) echo 3 ;;
        timestamping) echo 4 ;; any) echo 5 ;;
    esac
}
for entry in "${chains[@]}"; do
    read -r name _ <<<"$entry"
    d="$work/$name"
    { header "$(purpose code-signing)" "$soon"; der "$d/leaf.pem"; der "$d/intermediate.pem"; der "$d/root.pem"; } \
        >"$pv/$name"
done
# Revoked leaf, with the intermediate's and the root's CRLs.
d="$work/p256"
{
    header "$(purpose code-signing)" "$soon"
    der "$d/leaf.pem"; der "$d/intermediate.pem"; der "$d/root.pem"; crl_der "$d/ca.crl.pem"; crl_der "$d/root.crl.pem"
} >"$pv/p256-revoked-crl"
d="$work/secp256k1"
{
    header "$(purpose code-signing)" "$soon"
    der "$d/leaf.pem"; der "$d/intermediate.pem"; der "$d/root.pem"; crl_der "$d/ca.crl.pem"
} >"$pv/secp256k1-crl"
{ header "$(purpose server)" "$soon"; der "$work/p256/server.pem"; der "$work/p256/intermediate.pem"; der "$work/p256/root.pem"; } \
    >"$pv/p256-server"
# Leaf, then the intermediates in the wrong order and a stray, then the root.
{
    header "$(purpose any)" "$soon"
    der "$work/rsa-pss/leaf.pem"; der "$work/p256/intermediate.pem"; der "$work/rsa-pss/intermediate.pem"
    der "$work/rsa-pss/root.pem"
} >"$pv/rsa-pss-shuffled"
for name in p384 rsa3072 ed25519; do
    { header "$(purpose server)" "$soon"; der "$o/$name-leaf.pem"; der "$o/$name-inter.pem"; der "$o/$name-root.pem"; } \
        >"$pv/openssl-$name"
done
{
    header "$(purpose email)" "$soon"
    der "$o/p384-leaf.pem"; der "$o/p384-inter.pem"; der "$o/p384-root.pem"; crl_der "$o/p384-inter.crl.pem"
} >"$pv/openssl-p384-crl"
{ header "$(purpose timestamping)" "$soon"; der "$o/tsa.pem"; der "$o/p384-inter.pem"; der "$o/p384-root.pem"; } \
    >"$pv/openssl-tsa"
# Expired: the time is ten years on.
{ header "$(purpose code-signing)" $((now + 3650 * 86400)); der "$work/p256/leaf.pem"; der "$work/p256/intermediate.pem"; der "$work/p256/root.pem"; } \
    >"$pv/p256-expired"

# --- time stamps: keyseal TSA replies (with and without certificates and nonce, SHA-256
# and SHA-512 imprints), a rejection, and a bare token ------------------------------------
read -r tsa_key tsa_version < <(create_key EC_P256)
ks ca issue --ca p256-root --profile timestamping --key-id "$tsa_key" --key-version-id "$tsa_version" \
    --subject "CN=Seed TSA,O=Example" --days 3650 --out "$work/tsa.pem" >/dev/null
ts="$seeds/timestamp"
printf 'time-stamped data\n' >"$work/ts-data"
ks timestamp query --data "$work/ts-data" --cert-req --out "$work/q1.tsq" >/dev/null
ks timestamp query --data "$work/ts-data" --hash sha512 --no-nonce --out "$work/q2.tsq" >/dev/null
printf 'not a request' >"$work/q3.tsq"
for n in 1 2 3; do
    ks timestamp reply --key-id "$tsa_key" --key-version-id "$tsa_version" --cert "$work/tsa.pem" \
        --in "$work/q$n.tsq" --out "$work/r$n.tsr" >/dev/null || true
done
cp "$work/r1.tsr" "$ts/keyseal-ecdsa-certreq.tsr"
cp "$work/r2.tsr" "$ts/keyseal-sha512-nonce-less.tsr"
cp "$work/r3.tsr" "$ts/rejection-bad-data-format.tsr"
# The bare token (a ContentInfo), as a bundle's timestamp.token holds it.
openssl ts -reply -in "$work/r1.tsr" -token_out -out "$ts/keyseal-bare-token.der" 2>/dev/null

# NIST PKITS cases (policy inputs, CRL processing, name constraints); the same bytes on every run.
"$seeds/make-pkits-seeds.sh" >/dev/null

# Policy documents with the requests they govern; the same bytes on every run.
"$seeds/make-policy-seeds.sh"
# Requests as the official KMS SDK sends them, from its virtual environment (.ci/run and
# `cargo test` create it); skipped, keeping the committed ones, where it is missing.
if [ -x "$repo/target/sdk-venv/bin/python" ]; then
    "$repo/target/sdk-venv/bin/python" "$seeds/make-request-auth-seeds.py" >/dev/null
else
    echo "no target/sdk-venv: fuzz/seeds/request_auth/ left as it is" >&2
fi

echo "seeds written under $seeds:"
for target in bundle manifest certificates crl csr path_validation policy_document request_auth timestamp; do
    printf '  %-16s %3d files %7d bytes\n' "$target" "$(find "$seeds/$target" -type f | wc -l)" \
        "$(cat "$seeds/$target"/* | wc -c)"
done
