"""Drives `keyseal serve` with the official Alibaba Cloud KMS Python SDK
(alibabacloud-kms20160120 3.3.1, pinned in tests/it/sdk_interop.rs), as a cloud user would.

Environment: KEYSEAL_ENDPOINT (host:port), ADMIN_AK/ADMIN_SECRET (allowed everything),
SIGNER_AK/SIGNER_SECRET (only kms:AsymmetricSign on alias/release), DENIED_AK/DENIED_SECRET
(everything but AsymmetricSign, denied explicitly), DISABLED_AK/DISABLED_SECRET (a disabled
key), OUT (a directory for the public keys and signatures OpenSSL checks afterwards).
Exits non-zero, with a traceback, on the first assertion that fails.
"""
import base64
import hashlib
import os

from alibabacloud_kms20160120 import models as m
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi import models as om
from alibabacloud_tea_openapi.exceptions import ClientException

ENDPOINT = os.environ["KEYSEAL_ENDPOINT"]
OUT = os.environ["OUT"]


def client(prefix, signature_algorithm=None):
    config = om.Config(
        access_key_id=os.environ[prefix + "_AK"],
        access_key_secret=os.environ[prefix + "_SECRET"],
        endpoint=ENDPOINT,
        protocol="http",
        region_id="cn-hangzhou",
    )
    if signature_algorithm:
        config.signature_algorithm = signature_algorithm
    return Client(config)


def refused(code, call):
    try:
        call()
    except ClientException as err:
        assert err.code == code, f"expected {code}, got {err.code}: {err.message}"
        return
    raise AssertionError(f"expected {code}, the call succeeded")


admin = client("ADMIN")
digest = hashlib.sha256(b"release v1.0").digest()
message_path = os.path.join(OUT, "message.txt")
with open(message_path, "wb") as f:
    f.write(b"release v1.0")

# Keys of every spec and usage, versions, public keys, signatures for every algorithm.
signing = {"RSA_2048": ["RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256"], "EC_P256": ["ECDSA_SHA_256"], "EC_P256K": ["ECDSA_SHA_256"]}
keys = {}
for spec, algorithms in signing.items():
    meta = admin.create_key(m.CreateKeyRequest(key_spec=spec, key_usage="SIGN/VERIFY", description=f"sdk {spec} a+b/c")).body.key_metadata
    assert meta.key_spec == spec and meta.key_state == "Enabled" and meta.description == f"sdk {spec} a+b/c"
    first = meta.primary_key_version
    second = admin.create_key_version(m.CreateKeyVersionRequest(key_id=meta.key_id)).body.key_version.key_version_id
    versions = admin.list_key_versions(m.ListKeyVersionsRequest(key_id=meta.key_id)).body
    assert versions.total_count == 2, versions
    for version in (first, second):
        described = admin.describe_key_version(m.DescribeKeyVersionRequest(key_id=meta.key_id, key_version_id=version)).body.key_version
        assert described.key_id == meta.key_id and described.key_version_id == version, described
        assert len(described.creation_date) == 20 and described.creation_date.endswith("Z"), described
    keys[spec] = meta.key_id
    for version in (first, second):
        pem = admin.get_public_key(m.GetPublicKeyRequest(key_id=meta.key_id, key_version_id=version)).body.public_key
        assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
        for algorithm in algorithms:
            digest_b64 = base64.b64encode(digest).decode()
            signed = admin.asymmetric_sign(m.AsymmetricSignRequest(key_id=meta.key_id, key_version_id=version, algorithm=algorithm, digest=digest_b64)).body
            assert signed.key_id == meta.key_id and signed.key_version_id == version
            verified = admin.asymmetric_verify(m.AsymmetricVerifyRequest(key_id=meta.key_id, key_version_id=version, algorithm=algorithm, digest=digest_b64, value=signed.value)).body
            assert verified.value is True, verified
            other = base64.b64encode(hashlib.sha256(b"tampered").digest()).decode()
            wrong = admin.asymmetric_verify(m.AsymmetricVerifyRequest(key_id=meta.key_id, key_version_id=version, algorithm=algorithm, digest=other, value=signed.value)).body
            assert wrong.value is False, wrong
            stem = os.path.join(OUT, f"{spec}-{version}-{algorithm}")
            with open(stem + ".pem", "w") as f:
                f.write(pem)
            with open(stem + ".sig", "wb") as f:
                f.write(base64.b64decode(signed.value))

# Encryption both ways.
enc = admin.create_key(m.CreateKeyRequest(key_spec="RSA_2048", key_usage="ENCRYPT/DECRYPT")).body.key_metadata
for algorithm in ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"):
    plaintext = base64.b64encode(b"database password").decode()
    blob = admin.asymmetric_encrypt(m.AsymmetricEncryptRequest(key_id=enc.key_id, key_version_id=enc.primary_key_version, algorithm=algorithm, plaintext=plaintext)).body.ciphertext_blob
    opened = admin.asymmetric_decrypt(m.AsymmetricDecryptRequest(key_id=enc.key_id, key_version_id=enc.primary_key_version, algorithm=algorithm, ciphertext_blob=blob)).body.plaintext
    assert opened == plaintext

# Aliases and paging.
ec = keys["EC_P256"]
admin.create_alias(m.CreateAliasRequest(alias_name="alias/release", key_id=ec))
refused("AliasAlreadyExists", lambda: admin.create_alias(m.CreateAliasRequest(alias_name="alias/release", key_id=ec)))
aliases = admin.list_aliases(m.ListAliasesRequest()).body
assert aliases.total_count == 1 and aliases.aliases.alias[0].key_id == ec
admin.create_alias(m.CreateAliasRequest(alias_name="alias/temp", key_id=ec))
admin.update_alias(m.UpdateAliasRequest(alias_name="alias/temp", key_id=keys["EC_P256K"]))
assert admin.describe_key(m.DescribeKeyRequest(key_id="alias/temp")).body.key_metadata.key_id == keys["EC_P256K"]
admin.delete_alias(m.DeleteAliasRequest(alias_name="alias/temp"))
page = admin.list_keys(m.ListKeysRequest(page_number=2, page_size=2)).body
assert page.total_count == 4 and page.page_number == 2 and len(page.keys.key) == 2, page

# State changes and errors.
ec_version = admin.describe_key(m.DescribeKeyRequest(key_id=ec)).body.key_metadata.primary_key_version
sign_ec = lambda c, key=ec: c.asymmetric_sign(m.AsymmetricSignRequest(key_id=key, key_version_id=ec_version, algorithm="ECDSA_SHA_256", digest=base64.b64encode(digest).decode()))
admin.disable_key(m.DisableKeyRequest(key_id=ec))
refused("Rejected.Disabled", lambda: sign_ec(admin))
admin.enable_key(m.EnableKeyRequest(key_id=ec))
sign_ec(admin)
admin.schedule_key_deletion(m.ScheduleKeyDeletionRequest(key_id=keys["EC_P256K"], pending_window_in_days=7))
assert admin.describe_key(m.DescribeKeyRequest(key_id=keys["EC_P256K"])).body.key_metadata.key_state == "PendingDeletion"
admin.cancel_key_deletion(m.CancelKeyDeletionRequest(key_id=keys["EC_P256K"]))
refused("Forbidden.KeyNotFound", lambda: admin.describe_key(m.DescribeKeyRequest(key_id="00000000-0000-4000-8000-000000000000")))
refused("Forbidden.KeyVersionNotFound", lambda: admin.get_public_key(m.GetPublicKeyRequest(key_id=ec, key_version_id="nope")))
refused("Forbidden.KeyVersionNotFound", lambda: admin.describe_key_version(m.DescribeKeyVersionRequest(key_id=ec, key_version_id="nope")))
refused("Rejected.UnsupportedOperation", lambda: admin.asymmetric_sign(m.AsymmetricSignRequest(key_id=ec, key_version_id=ec_version, algorithm="RSA_PSS_SHA_256", digest=base64.b64encode(digest).decode())))
refused("InvalidParameter", lambda: admin.asymmetric_sign(m.AsymmetricSignRequest(key_id=ec, key_version_id=ec_version, algorithm="ECDSA_SHA_256", digest=base64.b64encode(b"short").decode())))
refused("InvalidParameter", lambda: admin.schedule_key_deletion(m.ScheduleKeyDeletionRequest(key_id=ec, pending_window_in_days=3)))

# The older HMAC-SHA1 (RPC-style) signature works too, for a read and for a private-key
# operation; the signature it gets is checked by OpenSSL afterwards with the others.
legacy = client("ADMIN", signature_algorithm="v2")
assert legacy.describe_key(m.DescribeKeyRequest(key_id="alias/release")).body.key_metadata.key_id == ec
legacy_signed = legacy.asymmetric_sign(m.AsymmetricSignRequest(key_id="alias/release", key_version_id=ec_version, algorithm="ECDSA_SHA_256", digest=base64.b64encode(digest).decode())).body
assert legacy_signed.key_id == ec and legacy_signed.key_version_id == ec_version, legacy_signed
stem = os.path.join(OUT, f"hmac-sha1-EC_P256-{ec_version}-ECDSA_SHA_256")
with open(stem + ".pem", "w") as f:
    f.write(admin.get_public_key(m.GetPublicKeyRequest(key_id=ec, key_version_id=ec_version)).body.public_key)
with open(stem + ".sig", "wb") as f:
    f.write(base64.b64decode(legacy_signed.value))
refused("Forbidden.KeyVersionNotFound", lambda: legacy.asymmetric_sign(m.AsymmetricSignRequest(key_id=ec, key_version_id="nope", algorithm="ECDSA_SHA_256", digest=base64.b64encode(digest).decode())))

# Policies: sign-only on alias/release; an explicit Deny; a disabled access key.
signer = client("SIGNER")
sign_ec(signer, "alias/release")
refused("Forbidden.NoPermission", lambda: sign_ec(signer, ec))
refused("Forbidden.NoPermission", lambda: signer.get_public_key(m.GetPublicKeyRequest(key_id="alias/release", key_version_id=ec_version)))
refused("Forbidden.NoPermission", lambda: signer.create_key(m.CreateKeyRequest(key_spec="EC_P256", key_usage="SIGN/VERIFY")))
denied = client("DENIED")
denied.describe_key(m.DescribeKeyRequest(key_id="alias/release"))
refused("Forbidden.NoPermission", lambda: sign_ec(denied, "alias/release"))
refused("InvalidAccessKeyId.Inactive", lambda: client("DISABLED").describe_key(m.DescribeKeyRequest(key_id=ec)))
bad = om.Config(access_key_id=os.environ["ADMIN_AK"], access_key_secret="wrong secret", endpoint=ENDPOINT, protocol="http", region_id="cn-hangzhou")
refused("SignatureDoesNotMatch", lambda: Client(bad).describe_key(m.DescribeKeyRequest(key_id=ec)))
unknown = om.Config(access_key_id="LTAInobody", access_key_secret="x", endpoint=ENDPOINT, protocol="http", region_id="cn-hangzhou")
refused("InvalidAccessKeyId.NotFound", lambda: Client(unknown).describe_key(m.DescribeKeyRequest(key_id=ec)))
print("sdk interop: all checks passed")
