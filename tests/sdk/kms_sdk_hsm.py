"""Creates a ProtectionLevel=HSM key through `keyseal serve` with the official Alibaba Cloud
KMS Python SDK (alibabacloud-kms20160120, pinned in tests/it/sdk_interop.rs) and signs with
it; tests/it/hsm.rs checks the signature with OpenSSL afterwards.

Environment: KEYSEAL_ENDPOINT (host:port), ADMIN_AK/ADMIN_SECRET, OUT (a directory for the
public key, message and signature). Exits non-zero, with a traceback, when a check fails.
"""
import base64
import hashlib
import os

from alibabacloud_kms20160120 import models as m
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi import models as om

config = om.Config(
    access_key_id=os.environ["ADMIN_AK"],
    access_key_secret=os.environ["ADMIN_SECRET"],
    endpoint=os.environ["KEYSEAL_ENDPOINT"],
    protocol="http",
    region_id="cn-hangzhou",
)
admin = Client(config)
out = os.environ["OUT"]
message = b"release v2.0, signed in the HSM"

meta = admin.create_key(m.CreateKeyRequest(key_spec="EC_P256", key_usage="SIGN/VERIFY", protection_level="HSM")).body.key_metadata
assert meta.protection_level == "HSM", meta
described = admin.describe_key(m.DescribeKeyRequest(key_id=meta.key_id)).body.key_metadata
assert described.protection_level == "HSM", described
version = meta.primary_key_version
pem = admin.get_public_key(m.GetPublicKeyRequest(key_id=meta.key_id, key_version_id=version)).body.public_key
digest = base64.b64encode(hashlib.sha256(message).digest()).decode()
signed = admin.asymmetric_sign(
    m.AsymmetricSignRequest(key_id=meta.key_id, key_version_id=version, algorithm="ECDSA_SHA_256", digest=digest)
).body
verified = admin.asymmetric_verify(
    m.AsymmetricVerifyRequest(key_id=meta.key_id, key_version_id=version, algorithm="ECDSA_SHA_256", digest=digest, value=signed.value)
).body
assert verified.value is True, verified
for name, data in [("hsm.pem", pem.encode()), ("message.txt", message), ("hsm.sig", base64.b64decode(signed.value))]:
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print("sdk hsm: all checks passed")
