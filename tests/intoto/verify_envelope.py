"""Verifies a keyseal .intoto.jsonl envelope with securesystemslib (the in-toto project's
crypto library), as in-toto tooling does: the first line's DSSE envelope, one signature,
with the signer's public key (PEM) and signature scheme. Prints the predicate type, or
exits 1 saying why not.

    python verify_envelope.py ENVELOPE.intoto.jsonl PUB.pem SCHEME
"""
import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

envelope_path, key_path, scheme = sys.argv[1:4]
with open(envelope_path) as lines:
    document = json.loads(lines.readline())
keyid = document["signatures"][0]["keyid"]
envelope = Envelope.from_dict(document)  # takes the dict apart
with open(key_path, "rb") as pem:
    public_key = load_pem_public_key(pem.read())
# securesystemslib matches signatures to keys by keyid (keyseal writes the key's hint);
# the signature itself is what is checked.
key = SSlibKey.from_crypto(public_key, keyid=keyid, scheme=scheme)
try:
    envelope.verify([key], 1)
except Exception as error:  # VerificationError and the like
    print(f"refused: {type(error).__name__}: {error}")
    sys.exit(1)
print(json.loads(envelope.payload)["predicateType"])
