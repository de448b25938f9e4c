"""The official KMS SDK with STS credentials against `keyseal serve`, for tests/it/sts.rs:
both signature forms are refused with InvalidParameter, naming where the token was.

Environment: KEYSEAL_ENDPOINT (host:port), AK/SECRET (an access key of the server, allowed
everything), TOKEN (an STS security token). Prints one line per form and exits non-zero,
with a traceback, on the first check that fails.
"""
import os

from alibabacloud_kms20160120 import models as m
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi import models as om
from alibabacloud_tea_openapi.exceptions import ClientException


def client(signature_algorithm=None, security_token=None):
    config = om.Config(
        access_key_id=os.environ["AK"],
        access_key_secret=os.environ["SECRET"],
        security_token=security_token,
        endpoint=os.environ["KEYSEAL_ENDPOINT"],
        protocol="http",
        region_id="cn-hangzhou",
    )
    if signature_algorithm:
        config.signature_algorithm = signature_algorithm
    return Client(config)


for form, algorithm, where in [("ACS3-HMAC-SHA256", None, "x-acs-security-token"), ("HMAC-SHA1", "v2", "SecurityToken")]:
    # The same access key works without the token, so the token is what is refused.
    client(algorithm).list_keys(m.ListKeysRequest())
    try:
        client(algorithm, os.environ["TOKEN"]).list_keys(m.ListKeysRequest())
    except ClientException as err:
        assert err.code == "InvalidParameter", f"{form}: {err.code}: {err.message}"
        assert f"{where}: keyseal serve takes long-term access keys only" in err.message, err.message
        assert os.environ["TOKEN"] not in err.message, "the token is echoed"
        print(f"{form}: refused: {err.code}")
    else:
        raise AssertionError(f"{form}: a request with an STS token was accepted")
