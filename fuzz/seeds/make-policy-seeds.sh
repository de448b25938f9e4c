#!/usr/bin/env bash
# Makes fuzz/seeds/policy_document/ in the target's layout (action line, resources line —
# `|` between resources, `,` between the names of one —, then policy documents separated
# by NUL bytes): the policies README.md, ci-templates/README.md and the tests attach, with
# the requests they are meant to allow or refuse, plus wildcard stress cases. The same
# bytes on every run; make-seeds.sh runs it.
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)/policy_document"
rm -rf "$out"
mkdir -p "$out"

key="acs:kms:local:0:key/1234abcd-12ab-34cd-56ef-1234567890ab"
alias="acs:kms:local:0:alias/release"
sign_only='{"Version": "1", "Statement": [{"Effect": "Allow",
  "Action": ["kms:AsymmetricSign", "kms:GetPublicKey", "kms:DescribeKey"],
  "Resource": ["acs:kms:*:*:alias/release"]}]}'
admin='{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}'
deny_key='{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:AsymmetricSign","Resource":"acs:kms:*:*:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}'
deny_sign='{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:AsymmetricSign","Resource":"*"}]}'

# seed NAME ACTION RESOURCES DOCUMENT...
seed() {
    local name="$1" action="$2" resources="$3"
    shift 3
    {
        printf '%s\n%s\n' "$action" "$resources"
        local first=1
        for document in "$@"; do
            [ "$first" -eq 1 ] || printf '\0'
            first=0
            printf '%s' "$document"
        done
    } >"$out/$name"
}

# the tour's sign-only policy (docs/tour.md): signing through the alias, with the key it points at.
seed sign-via-alias kms:AsymmetricSign "$key,$alias" "$sign_only"
seed sign-by-key-id kms:AsymmetricSign "$key" "$sign_only"
seed decrypt-via-alias kms:AsymmetricDecrypt "$key,$alias" "$sign_only"
seed create-key kms:CreateKey "acs:kms:local:0:key" "$sign_only"
# Admin, with an explicit Deny on one key's ARN (tests/it/remote.rs) or on signing (sdk_interop).
seed admin-list-aliases kms:ListAliases "acs:kms:local:0:alias" "$admin"
seed deny-key-via-alias kms:AsymmetricSign "$key,$alias" "$admin" "$deny_key"
seed deny-sign-two-resources KMS:asymmetricsign "$key,$alias|acs:kms:local:0:alias/other" "$deny_sign"
seed admin-and-sign-only kms:GetPublicKey "$key,$alias" "$sign_only" "$admin"
# Documents that do not parse (Condition, Version 2, a Statement object) beside one that does.
seed unparsable kms:DescribeKey "$key" \
    '{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}' \
    '{"Version":"2","Statement":[]}' \
    '{"Version":"1","Statement":{"Effect":"Deny","Action":"kms:*","Resource":"*"}}' \
    "$sign_only"
# Wildcards that a backtracking matcher would take exponential time over.
stars="$(printf '*?%.0s' $(seq 1 40))"
long="$(printf 'a%.0s' $(seq 1 300))"
seed wildcard-stress "kms:$long" "acs:kms:local:0:key/$long" \
    "{\"Version\":\"1\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kms:${stars}b\",\"Resource\":\"${stars}b\"},{\"Effect\":\"Deny\",\"Action\":\"*a*a*a*a*a*a*a*a*a*a*b\",\"Resource\":\"*\"}]}"
