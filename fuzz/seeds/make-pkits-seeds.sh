#!/usr/bin/env bash
# Makes the NIST PKITS seeds of the path_validation target, fuzz/seeds/path_validation/pkits-*,
# from fixtures/pkits/ (the DER certificates and CRLs, and pkits.json, which lists each
# case's leaf, other certificates, CRLs and RFC 5280 §6.1.1 policy inputs). The cases chosen
# exercise policy processing (408xx–412xx: explicit policy, user-initial-policy-set, policy
# mapping, inhibitPolicyMapping, inhibitAnyPolicy), CRL processing (404xx, 414xx
# distribution points and onlySomeReasons, 415xx delta CRLs) and name constraints (413xx).
#
# A seed is the target's header, then DER back to back: the leaf, the case's other
# certificates, its CRLs, the trust anchor's CRL, and the trust anchor last (the target
# makes the last certificate the anchor). The header: byte 0 is purpose "any" with the
# case's initial-explicit-policy, -policy-mapping-inhibit and -any-policy-inhibit bits, and
# the policy-set bit when the case names a user-initial-policy-set; then the time,
# 2024-01-01T00:00:00Z (tests/it/pkits.rs uses it too; PKITS is valid 2010–2030), as a
# big-endian i64; then, with a policy set, its bit mask over the test policies
# 2.16.840.1.101.3.2.1.48.1..6 (see fuzz/fuzz_targets/path_validation.rs).
#
# Cases with "revocation": false in pkits.json get no CRLs, as in tests/it/pkits.rs.
# Deterministic: the same fixtures always give the same bytes. Needs jq.
# Run by make-seeds.sh; can be run alone (it replaces only the pkits-* seeds).
set -euo pipefail

seeds="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$seeds/../.." && pwd)"
pkits="$repo/fixtures/pkits"
pv="$seeds/path_validation"
mkdir -p "$pv"
rm -f "$pv"/pkits-*

# The cases, by pkits.json name (ids repeat: one PKITS test can run with several inputs).
cases=(
    # 404xx: basic CRL processing
    missing_crl_test1
    invalid_revoked_ca_test2
    invalid_bad_crl_issuer_name_test5
    valid_two_crls_test7
    invalid_unknown_crl_entry_extension_test8
    invalid_old_crl_nextupdate_test11
    valid_generalizedtime_crl_nextupdate_test13
    invalid_negative_serial_number_test15
    valid_long_serial_number_test17
    invalid_separate_certificate_and_crl_keys_test21
    # 408xx: certificate policies, user-initial-policy-set, initial-explicit-policy
    all_certs_same_policy_test1_with_constraint_mismatch
    all_certs_same_policy_test1_with_constraints2
    all_certificates_no_policies_test2_force_explicit
    different_policies_test3_force_explicit_with_user_set
    overlapping_policies_test6_with_testpol2_explicit
    different_policies_test9
    all_certificates_same_policies_test13_with_testpol1_2
    any_policy_test14_with_testpol2
    # 409xx: requireExplicitPolicy
    valid_require_explicit_policy_test2
    invalid_require_explicit_policy_test3
    invalid_self_issued_require_explicit_policy_test8
    # 410xx: policy mappings
    valid_policy_mapping_test2_inhibit_mapping_testpol1
    valid_policy_mapping_test3_with_testpol2
    valid_policy_mapping_test5_with_testpol6
    invalid_mapping_from_any_policy_test7
    invalid_mapping_to_any_policy_test8
    valid_policy_mapping_test11
    valid_policy_mapping_test14
    # 411xx: inhibitPolicyMapping
    invalid_inhibit_policy_mapping_test5
    valid_self_issued_inhibit_policy_mapping_test7
    # 412xx: inhibitAnyPolicy
    inhibit_any_policy_test3_initial_inhibit
    invalid_inhibit_any_policy_test5
    valid_self_issued_inhibit_any_policy_test9
    # 413xx: name constraints (DN, rfc822, DNS, URI)
    invalid_dn_nameconstraints_test17
    invalid_self_issued_dn_nameconstraints_test20
    invalid_rfc822_nameconstraints_test22
    invalid_dn_and_rfc822_nameconstraints_test28
    valid_dns_nameconstraints_test30
    invalid_uri_nameconstraints_test37
    # 414xx: distribution points, scoped and indirect CRLs, onlySomeReasons
    invalid_distributionpoint_test6
    invalid_distributionpoint_test9
    invalid_onlycontainsusercerts_crl_test11
    valid_onlycontainscacerts_crl_test13
    invalid_onlysomereasons_test17
    valid_onlysomereasons_test19
    valid_idp_with_indirectcrl_test24
    # 415xx: delta CRLs
    invalid_deltacrlindicator_no_base_set_test1
    valid_deltacrl_test5
    invalid_deltacrl_test9
)

at=1704067200 # 2024-01-01T00:00:00Z
any=5         # the index of "any" in Purpose::ALL
# Byte 0's policy bits and the policy-set byte's OID bits; keep in step with the target.
policy_set_follows=$((0x10)) any_policy_inhibit=$((0x20)) mapping_inhibit=$((0x40)) explicit_policy=$((0x80))
test_policy_prefix="2.16.840.1.101.3.2.1.48."

# bytes HEX: writes the bytes a hex string spells.
bytes() { printf "$(sed 's/../\\x&/g' <<<"$1")"; }

for name in "${cases[@]}"; do
    case_json="$(jq -ce --arg name "$name" 'first(.[] | select(.name == $name))' "$pkits/pkits.json")" || {
        echo "make-pkits-seeds.sh: no case $name in pkits.json" >&2
        exit 1
    }
    id="$(jq -r .id <<<"$case_json")"
    flags=$any
    [ "$(jq -r '.params.initial_explicit_policy // false' <<<"$case_json")" = true ] && flags=$((flags | explicit_policy))
    [ "$(jq -r '.params.initial_policy_mapping_inhibit // false' <<<"$case_json")" = true ] && flags=$((flags | mapping_inhibit))
    [ "$(jq -r '.params.initial_any_policy_inhibit // false' <<<"$case_json")" = true ] && flags=$((flags | any_policy_inhibit))
    set_hex=""
    mask=0
    while read -r oid; do
        [ -n "$oid" ] || continue
        case "$oid" in
            "$test_policy_prefix"[1-6]) mask=$((mask | 1 << (${oid#"$test_policy_prefix"} - 1))) ;;
            *) echo "make-pkits-seeds.sh: $name: policy $oid has no bit in the target's policy-set byte" >&2; exit 1 ;;
        esac
    done < <(jq -r '.params.user_initial_policy_set // [] | .[]' <<<"$case_json")
    if [ "$mask" -ne 0 ]; then
        flags=$((flags | policy_set_follows))
        set_hex="$(printf '%02x' "$mask")"
    fi
    crls=()
    if [ "$(jq -r '.revocation' <<<"$case_json")" != false ]; then
        mapfile -t crls < <(jq -r '.crls // [] | .[]' <<<"$case_json")
        crls+=(TrustAnchorRootCRL.crl)
    fi
    mapfile -t others < <(jq -r '.other_certs // [] | .[]' <<<"$case_json")
    {
        bytes "$(printf '%02x%016x%s' "$flags" "$at" "$set_hex")"
        cat "$pkits/certs/$(jq -r .cert <<<"$case_json")"
        for cert in "${others[@]}"; do cat "$pkits/certs/$cert"; done
        for crl in "${crls[@]}"; do cat "$pkits/crls/$crl"; done
        cat "$pkits/certs/TrustAnchorRootCertificate.crt"
    } >"$pv/pkits-$id-$name"
done

printf '  %-16s %3d files %7d bytes (NIST PKITS)\n' path_validation "${#cases[@]}" "$(cat "$pv"/pkits-* | wc -c)"
