#!/usr/bin/env python3
"""Writes the recipes of fuzz/seeds/path_cost/ (the layout is in the //! comment of
fuzz/fuzz_targets/path_cost.rs). Deterministic; run from anywhere:

    python3 fuzz/seeds/make-path-cost-seeds.py

Slots with one intermediate: 0 the leaf, 1 the intermediate, 2 the root, 3 the decoys;
with two: 0 leaf, 1 and 2 intermediates, 3 root, 4 decoys.
"""

import os

# Operation kinds.
SUBJECT, SAN, PERMITTED, EXCLUDED, POLICIES, MAPPINGS, CONSTRAINTS, EXTENSIONS, EKU = range(9)
# Name forms (variant bits 0-2) and relations (bits 3-4) of SAN and subtree operations.
DNS, EMAIL, URI, IP4, IP6, DIRNAME, OTHERNAME, REGISTERED = range(8)


def rel(r):
    return r << 3


# Subject attributes (variant): tag bits 0-2, attribute bits 3-4, multi bit 5, content 6-7.
UTF8, PRINTABLE, IA5, TELETEX, BMP, OCTETS, UNIVERSAL, SEQ = range(8)
CN, C, EMAIL_ATTR, PRIVATE = (0 << 3, 1 << 3, 2 << 3, 3 << 3)
MULTI = 0x20
PLAIN, SPACED, DNSLIKE, NOT_UTF8 = (0 << 6, 1 << 6, 2 << 6, 3 << 6)

# Header flags (byte 0).
PEM, LEAF_SELF_SIGNED, NO_AKI, EXPLICIT, MAPPING_INHIBIT, ANY_INHIBIT, USER_POLICY, ALL_ANCHORS = (
    1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80)
# Decoys (byte 3).
OWN_SELF_SIGNED, CA_KEY_BY_ISSUER, OWN_BY_ISSUER, CA_KEY_SELF_SIGNED = range(4)
CLAIM_CA_KEY_ID, TRUSTED, NAME_RESPELLED, NAME_OTHER, DECOY_NO_AKI, OMIT_CA1 = (
    4, 8, 1 << 4, 2 << 4, 0x40, 0x80)


def header(flags=PEM, intermediates=1, purpose=0, decoys=0, decoy=0, extras=0):
    return bytes([flags, (intermediates - 1) | purpose << 4, decoys, decoy, extras])


def op(kind, slot, count, length, variant):
    return bytes([kind, slot, count, length, variant])


def amount(byte, step):
    return byte if byte < 32 else round(32 * 2 ** ((byte - 32) / step))


def n(count):
    """The count byte whose amount is nearest to `count`."""
    return min(range(256), key=lambda b: abs(amount(b, 16) - count))


def ln(length):
    """The length byte whose amount is nearest to `length`."""
    return min(range(256), key=lambda b: abs(amount(b, 13) - length))


SEEDS = {
    # A plain valid chain, PEM, root -> intermediate -> leaf.
    "plain-pem": header(),
    # A plain valid chain of four intermediates, one DER file per certificate.
    "plain-der-four-intermediates": header(flags=0, intermediates=4),
    # Issue 27, HIGH 1: a self-signed leaf naming the intermediate as its issuer, its
    # subject a 2.6 MB commonName and 981 tiny countryNames, against 112 fake CAs of that
    # name (own keys, self-signed, no AKI; the real intermediate left out): budget-exceeded.
    "trap1-megabyte-subject-112-fake-cas": header(PEM | LEAF_SELF_SIGNED | NO_AKI, decoys=n(112),
                                                  decoy=OWN_SELF_SIGNED | DECOY_NO_AKI | OMIT_CA1)
    + op(SUBJECT, 0, 1, ln(2_600_000), UTF8 | CN) + op(SUBJECT, 0, n(1000), 2, PRINTABLE | C),
    # Issue 27, HIGH 2: a 1 MB commonName and 981 countryNames against 5,087 excluded
    # directoryName subtrees: valid.
    "trap2-megabyte-subject-5000-dirname-subtrees": header()
    + op(EXCLUDED, 1, n(5000), 0, DIRNAME | rel(1))
    + op(SUBJECT, 0, 1, ln(1 << 20), UTF8 | CN) + op(SUBJECT, 0, n(1000), 2, PRINTABLE | C),
    # Issue 27, HIGH 2: a URI whose host is 1 MB of A against 10,173 excluded URI
    # subtrees: valid.
    "trap3-megabyte-uri-host-10000-uri-subtrees": header()
    + op(EXCLUDED, 1, n(10000), 0, URI | rel(1)) + op(SAN, 0, 1, ln(1 << 20), URI | rel(0)),
    # Issue 27, HIGH 3: an intermediate asserting anyPolicy with 202,141 mappings of one
    # issuerDomainPolicy: budget-exceeded.
    "trap4-200000-mappings-of-one-policy": header()
    + op(POLICIES, 1, 0, 0, 1) + op(MAPPINGS, 1, n(200000), 0, 0) + op(POLICIES, 0, 0, 0, 1),
    # The same with initial-policy-mapping-inhibit.
    "trap4-200000-mappings-inhibited": header(PEM | MAPPING_INHIBIT)
    + op(POLICIES, 1, 0, 0, 1) + op(MAPPINGS, 1, n(200000), 0, 0) + op(POLICIES, 0, 0, 0, 1),
    # Every SAN form but otherName, inside permitted subtrees of each form and outside
    # 40 excluded ones of each: valid.
    "names-every-form": header()
    + b"".join(op(SAN, 0, 3, 20, form | rel(0)) for form in (DNS, EMAIL, URI, IP4, IP6, DIRNAME, REGISTERED))
    + b"".join(op(PERMITTED, 1, 1, 0, form | rel(0)) for form in (DNS, EMAIL, URI, IP4, IP6, DIRNAME))
    + b"".join(op(EXCLUDED, 1, 40, 0, form | rel(1)) for form in (DNS, EMAIL, URI, IP4, IP6, DIRNAME)),
    # An otherName SAN under an otherName constraint: name-constraint-violation.
    "names-othername-uncheckable": header()
    + op(SAN, 0, 1, 10, OTHERNAME) + op(EXCLUDED, 1, 1, 10, OTHERNAME),
    # A wildcard DNS name one label above an excluded host: name-constraint-violation.
    "names-wildcard-reaches-excluded": header()
    + op(SAN, 0, 1, ln(40), DNS | rel(3)) + op(EXCLUDED, 1, 1, ln(40), DNS | rel(3)),
    # 197 DNS names and 197 URIs whose hosts share a 196-byte suffix with 1,024 excluded
    # bases that differ only in their last letter, from two intermediates: budget-exceeded.
    "names-long-shared-suffixes": header(intermediates=2)
    + op(SAN, 0, n(200), ln(200), DNS | rel(2)) + op(EXCLUDED, 1, n(1024), ln(200), DNS | rel(2))
    + op(SAN, 0, n(200), ln(200), URI | rel(2)) + op(EXCLUDED, 2, n(1024), ln(200), URI | rel(2)),
    # A 64 KB commonName against as many directoryName bases as fit, each the leaf's
    # subject prefix and a 64 KB value that differs at its end: valid.
    "names-directory-prefixes": header()
    + op(SUBJECT, 0, 1, ln(65536), UTF8 | CN) + op(EXCLUDED, 1, n(1024), ln(65536), DIRNAME | rel(2)),
    # A multi-valued RDN of 609 spaced, mixed-case values, and emailAddress attributes
    # under an email constraint: valid.
    "subject-multivalued-and-email": header()
    + op(SUBJECT, 0, n(608), ln(60), UTF8 | CN | MULTI | SPACED)
    + op(SUBJECT, 0, 4, 30, IA5 | EMAIL_ATTR | DNSLIKE)
    + op(PERMITTED, 1, 1, 0, EMAIL | rel(0)),
    # Subject values of every tag, some not UTF-8, in the leaf and the intermediate: valid.
    "subject-every-tag": header()
    + b"".join(op(SUBJECT, 0, 2, ln(40), tag | PRIVATE | NOT_UTF8) for tag in range(8))
    + op(SUBJECT, 1, 3, ln(40), TELETEX | CN | SPACED),
    # 99 copies of the intermediate (its key and key identifier, signed by the root) as
    # trust anchors, each excluding 99 unrelated DNS subtrees and then example.org, over a
    # leaf of 99 DNS names in example.org: 99 candidate paths, each refused by its name
    # constraints, then the real one, refused by the same constraints.
    "decoys-99-parallel-anchors": header(decoys=n(99), decoy=CA_KEY_BY_ISSUER | CLAIM_CA_KEY_ID | TRUSTED)
    + op(EXCLUDED, 3, n(99), 30, DNS | rel(1)) + op(EXCLUDED, 3, 1, 0, DNS | rel(0))
    + op(EXCLUDED, 1, 1, 0, DNS | rel(0)) + op(SAN, 0, n(99), 30, DNS | rel(0)),
    # 99 copies signed by the root, their subject respelled (equal after normalisation),
    # in the chain, with own keys, no AKI: bad signatures until the budget runs out.
    "decoys-99-respelled-own-keys": header(flags=PEM | NO_AKI, decoys=n(99), decoy=OWN_BY_ISSUER | NAME_RESPELLED),
    # Two intermediates, the upper mapping 16 policies many-to-many, the lower asserting
    # some and anyPolicy, the leaf 1,024 policies, explicit policy required for P(1).
    "policies-many-to-many-explicit": header(PEM | EXPLICIT | USER_POLICY, intermediates=2)
    + op(POLICIES, 2, 16, 0, 0x10) + op(MAPPINGS, 2, 16, 0, 2)
    + op(POLICIES, 1, 32, 0, 1) + op(POLICIES, 0, n(1024), 0, 0),
    # policyConstraints, inhibitAnyPolicy and pathLen, with a chain of mappings and CPS
    # qualifiers, anyPolicy inhibited from the start.
    "policies-constraints-and-chains": header(PEM | ANY_INHIBIT, intermediates=2)
    + op(POLICIES, 2, 8, ln(100), 3) + op(MAPPINGS, 2, 8, 0, 3) + op(CONSTRAINTS, 2, 1, 1, 0x17)
    + op(POLICIES, 1, 8, 0, 0x11) + op(CONSTRAINTS, 1, 0, 2, 0x0b) + op(POLICIES, 0, 4, 0, 0x21),
    # A mapping from anyPolicy: bad-policy-mapping.
    "policies-mapping-from-any-policy": header()
    + op(POLICIES, 1, 0, 0, 1) + op(MAPPINGS, 1, 4, 0, 4) + op(POLICIES, 0, 0, 0, 1),
    # code-signing: 1,024 extendedKeyUsage OIDs and the purpose, 981 unknown extensions on
    # the leaf: valid.
    "extensions-many-and-eku": header(purpose=1)
    + op(EKU, 0, n(1024), 0, 1) + op(EKU, 1, 3, 0, 2) + op(EXTENSIONS, 0, n(1000), 8, 0),
    # An unknown critical extension and a duplicate subjectKeyIdentifier.
    "extensions-critical-and-duplicate": header() + op(EXTENSIONS, 1, 1, 1, 1) + op(EXTENSIONS, 0, 0, 0, 2),
    # The leaf expired, validated again with every certificate trusted.
    "time-expired-leaf-all-anchors": header(PEM | ALL_ANCHORS, extras=1),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "path_cost")
os.makedirs(out, exist_ok=True)
for name in os.listdir(out):
    os.remove(os.path.join(out, name))
for name, recipe in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(recipe)
print(f"{len(SEEDS)} recipes in {out}")
