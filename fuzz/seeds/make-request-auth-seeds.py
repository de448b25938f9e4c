"""Makes fuzz/seeds/request_auth/: real requests of the official Alibaba Cloud KMS Python
SDK (alibabacloud-kms20160120, as tests/it/sdk_interop.rs pins it), ACS3-HMAC-SHA256 and the
older HMAC-SHA1 ("v2") form, captured by a one-shot HTTP server on 127.0.0.1 and written
in the request_auth target's layout: a flags byte, then the request as HTTP/1.1 text.

Each request is written twice: `<name>` with flags 0x0f (the fuzz target swaps in its own
access key, body hash, signature and clock, so the request authenticates and the checks
behind the signature run) and `<name>-raw` with flags 0x08 (as sent, at its own time: it
is refused for its made-up access key). One more, `acs3-asymmetric-sign-form-body`, is
the AsymmetricSign request with its Digest moved into a form-encoded body, the way the
API also takes parameters. The access key below is made up; no request leaves the machine.

Usage: target/sdk-venv/bin/python fuzz/seeds/make-request-auth-seeds.py
(the venv `cargo test` or .ci/run creates). Rerunning gives new nonces and dates.
"""
import base64
import hashlib
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from alibabacloud_kms20160120 import models as m
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi import models as om

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "request_auth")
captured = []


class Capture(BaseHTTPRequestHandler):
    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        head = f"{self.command} {self.path} HTTP/1.1\r\n"
        for name, value in self.headers.items():
            head += f"{name}: {value}\r\n"
        captured.append(head.encode() + b"\r\n" + body)
        reply = b'{"RequestId":"00000000-0000-0000-0000-000000000000"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = handle_one

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Capture)
threading.Thread(target=server.serve_forever, daemon=True).start()


def client(signature_algorithm=None):
    config = om.Config(
        access_key_id="LTAI5tSeedAccessKeyFuzz",
        access_key_secret="seed-secret-not-the-fuzz-fixtures",
        endpoint=f"127.0.0.1:{server.server_port}",
        protocol="http",
        region_id="cn-hangzhou",
    )
    if signature_algorithm:
        config.signature_algorithm = signature_algorithm
    return Client(config)


key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
digest = base64.b64encode(hashlib.sha256(b"release v1.0").digest()).decode()
calls = {
    "acs3-create-key": lambda c: c.create_key(m.CreateKeyRequest(key_spec="EC_P256", key_usage="SIGN/VERIFY", description="sdk a+b/c é")),
    "acs3-describe-key": lambda c: c.describe_key(m.DescribeKeyRequest(key_id=key_id)),
    "acs3-asymmetric-sign": lambda c: c.asymmetric_sign(m.AsymmetricSignRequest(key_id="alias/release", key_version_id="v1", algorithm="ECDSA_SHA_256", digest=digest)),
    "acs3-list-keys": lambda c: c.list_keys(m.ListKeysRequest(page_number=2, page_size=10)),
}
legacy = {
    "v1-describe-key": lambda c: c.describe_key(m.DescribeKeyRequest(key_id=key_id)),
    "v1-get-public-key": lambda c: c.get_public_key(m.GetPublicKeyRequest(key_id="alias/release", key_version_id="v1")),
}

shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
for table, sdk in ((calls, client()), (legacy, client("v2"))):
    for name, call in table.items():
        captured.clear()
        try:
            call(sdk)
        except Exception:  # the capture server's reply is not a real response
            pass
        request = captured[0]
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(b"\x0f" + request)
        with open(os.path.join(OUT, name + "-raw"), "wb") as f:
            f.write(b"\x08" + request)
        print(name, len(request), "bytes")
        if name == "acs3-asymmetric-sign":
            head, _ = request.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            method, target, version = lines[0].split(b" ")
            path, query = target.split(b"?", 1)
            kept = [p for p in query.split(b"&") if not p.startswith(b"Digest=")]
            moved = b"&".join(p for p in query.split(b"&") if p.startswith(b"Digest="))
            headers = [h for h in lines[1:] if not h.lower().startswith(b"content-length:")]
            headers += [b"Content-Type: application/x-www-form-urlencoded", b"Content-Length: %d" % len(moved)]
            form = b" ".join([method, path + b"?" + b"&".join(kept), version])
            with open(os.path.join(OUT, "acs3-asymmetric-sign-form-body"), "wb") as f:
                f.write(b"\x0f" + b"\r\n".join([form] + headers) + b"\r\n\r\n" + moved)
server.shutdown()
