"""What the official KMS SDK signs, for tests/it/acs3_sdk.rs.

Reads {"cases": [...]} as JSON on stdin; each case names an action, its parameters, the
host, a fixed date and nonce, an access key (and optionally an STS security token), and
the headers RemoteKms signs for the same request. For each case it prints, as one JSON
list on stdout (with "drive": false in a case, only "resign"):

- "sdk": the request the SDK's own KMS client (alibabacloud-kms20160120) builds for the
  action, captured just before it would go on the wire, with the date and nonce pinned:
  method, path, query, headers, its Authorization and the canonical request it hashed.
- "resign": the Authorization and canonical request that the SDK's ACS3 signing
  function (alibabacloud_tea_openapi.utils.Utils.get_authorization, which that client
  calls) makes for RemoteKms's headers; the older alibabacloud_openapi_util copy of the
  function is checked to agree.

Nothing is sent anywhere: the transport is replaced by a function that records the
request and stops.
"""

import json
import re
import sys
import types

from alibabacloud_kms20160120 import models
from alibabacloud_kms20160120.client import Client
from alibabacloud_openapi_util.client import Client as LegacyUtil
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.utils import Utils
from darabonba.core import DaraCore
from darabonba.runtime import RuntimeOptions

SCHEME = "ACS3-HMAC-SHA256"


class Captured(Exception):
    """Raised by the fake transport once it holds the request."""


def recording_signer():
    """Wraps Utils.get_authorization so each call also records the canonical request it
    hashed (the bytes the SDK itself hashed, not a reconstruction)."""
    original_auth = Utils.get_authorization
    original_hash = Utils.hash
    signed = []

    def get_authorization(request, sign_type, payload, ak, secret):
        hashed = []

        def recording_hash(raw, kind):
            hashed.append(raw)
            return original_hash(raw, kind)

        Utils.hash = staticmethod(recording_hash)
        try:
            authorization = original_auth(request, sign_type, payload, ak, secret)
        finally:
            Utils.hash = staticmethod(original_hash)
        signed.append({"authorization": authorization, "canonical_request": hashed[-1].decode("utf-8")})
        return authorization

    Utils.get_authorization = staticmethod(get_authorization)
    return signed


def snake(action):
    """AsymmetricSign -> asymmetric_sign, the SDK's method naming."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def drive_sdk(case, signed):
    """The request the SDK's KMS client builds for the case."""
    Utils.get_timestamp = staticmethod(lambda: case["date"])
    Utils.get_nonce = staticmethod(lambda: case["nonce"])
    captured = []

    def transport(request, runtime):
        captured.append(request)
        raise Captured()

    DaraCore.do_action = staticmethod(transport)
    config = open_api_models.Config(
        access_key_id=case["access_key_id"],
        access_key_secret=case["secret"],
        security_token=case.get("security_token"),
        endpoint=case["host"],
        protocol="https",
        region_id="cn-hangzhou",
    )
    client = Client(config)
    request = getattr(models, case["action"] + "Request")().from_map(case["params"])
    del signed[:]
    try:
        getattr(client, snake(case["action"]) + "_with_options")(request, RuntimeOptions())
    except Exception as err:  # the SDK wraps Captured in its retry exception
        if not captured:
            raise SystemExit(f"the SDK failed before sending {case['action']}: {err!r}")
    sent = captured[0]
    headers = {name.lower(): value for name, value in sent.headers.items() if name.lower() != "authorization"}
    return {
        "method": sent.method,
        "pathname": sent.pathname,
        "query": dict(sent.query),
        "headers": headers,
        "body": sent.body if isinstance(sent.body, str) or sent.body is None else repr(sent.body),
        "authorization": sent.headers["Authorization"],
        "canonical_request": signed[-1]["canonical_request"],
    }


def resign(case, signed):
    """The SDK's signing function over RemoteKms's headers for the case."""
    request = types.SimpleNamespace(
        method="POST", pathname="/", query=dict(case["params"]), headers=dict(case["headers"])
    )
    payload = case["headers"]["x-acs-content-sha256"]
    del signed[:]
    authorization = Utils.get_authorization(request, SCHEME, payload, case["access_key_id"], case["secret"])
    legacy = LegacyUtil.get_authorization(request, SCHEME, payload, case["access_key_id"], case["secret"])
    if legacy != authorization:
        raise SystemExit(f"the two SDK signers disagree: {authorization} vs {legacy}")
    return {"authorization": authorization, "canonical_request": signed[-1]["canonical_request"]}


def main():
    cases = json.load(sys.stdin)["cases"]
    signed = recording_signer()
    answers = [
        {"sdk": drive_sdk(case, signed) if case.get("drive", True) else None, "resign": resign(case, signed)}
        for case in cases
    ]
    json.dump(answers, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
