"""Sign a file's SHA-256 digest through `keyseal serve` with the official Alibaba Cloud KMS
Python SDK, as a CI job would, and write the DER signature to stdout.

    pip install alibabacloud-kms20160120==3.3.1
    export KEYSEAL_ENDPOINT=localhost:8443        # host:port of keyseal serve, no scheme
    export KEYSEAL_CA=root.pem                    # the root that issued the server's certificate
    export ALIBABA_CLOUD_ACCESS_KEY_ID=... ALIBABA_CLOUD_ACCESS_KEY_SECRET=...   # keyseal access create
    python3 sign.py alias/release KEY_VERSION_ID app.tar.gz > app.tar.gz.sig
    openssl dgst -sha256 -verify pub.pem -signature app.tar.gz.sig app.tar.gz

keyseal serve speaks the KMS OpenAPI 2016-01-20, so the SDK needs nothing of keyseal's:
the endpoint as host:port, https (the server's certificate is checked against KEYSEAL_CA,
given per call as RuntimeOptions(ca=...)), and a region id the SDK requires and keyseal
ignores. Against Alibaba Cloud KMS the same script runs with its endpoint
(kms.REGION.aliyuncs.com) and no KEYSEAL_CA. tests/it/sdk_interop.rs runs this file.
"""
import base64
import hashlib
import os
import sys

from alibabacloud_kms20160120 import models
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi import models as openapi
from darabonba.runtime import RuntimeOptions

key_id, key_version_id, path = sys.argv[1:4]
client = Client(
    openapi.Config(
        access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
        access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
        endpoint=os.environ["KEYSEAL_ENDPOINT"],
        protocol="https",
        region_id="keyseal",
    )
)
runtime = RuntimeOptions(ca=os.environ.get("KEYSEAL_CA"))

with open(path, "rb") as f:
    digest = hashlib.sha256(f.read()).digest()
request = models.AsymmetricSignRequest(
    key_id=key_id,
    key_version_id=key_version_id,
    algorithm="ECDSA_SHA_256",
    digest=base64.b64encode(digest).decode(),
)
response = client.asymmetric_sign_with_options(request, runtime)
sys.stdout.buffer.write(base64.b64decode(response.body.value))
