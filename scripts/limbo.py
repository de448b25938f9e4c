#!/usr/bin/env python3
"""Runs a path-validation suite in x509-limbo's JSON format (C2SP/x509-limbo, `limbo.json`
or a directory of one-case files) through `keyseal cert verify` and prints how many cases
end as expected, then every case that does not, with keyseal's reason code.

    scripts/limbo.py LIMBO_JSON_OR_DIR [--keyseal PATH] [--only PREFIX] [--profile NAME]

Each case maps onto the flags a user would give: SERVER is `--purpose server` with the
peer name as `--hostname` or `--ip` (so the web-PKI profile applies); CLIENT asking for
emailProtection is `--purpose email` with `--email` (the S/MIME profile), other CLIENT
cases `--purpose client`; `max_chain_depth` is `--max-depth`, `key_usage` and
`extended_key_usage` are `--key-usage` and `--eku`, `crls` are `--crl` files, and a case
without a validation time is checked at 2025-06-01 (limbo's certificates are valid from
1970 for a thousand years). `--profile` overrides the profile for every case. Exit 1 at
the first malformed case; the suite itself is never modified. Standard library only.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

DEFAULT_TIME = "2025-06-01T00:00:00Z"
EKU_OIDS = {
    "serverAuth": "1.3.6.1.5.5.7.3.1",
    "clientAuth": "1.3.6.1.5.5.7.3.2",
    "codeSigning": "1.3.6.1.5.5.7.3.3",
    "emailProtection": "1.3.6.1.5.5.7.3.4",
    "timeStamping": "1.3.6.1.5.5.7.3.8",
    "OCSPSigning": "1.3.6.1.5.5.7.3.9",
}


def key_usage(name: str) -> str:
    """limbo writes key usages in snake case, and nonRepudiation by its later name."""
    head, *rest = name.split("_")
    camel = head + "".join(part.capitalize() for part in rest)
    return "nonRepudiation" if camel == "contentCommitment" else camel


PEER_FLAGS = {"DNS": "--hostname", "IP": "--ip", "RFC822": "--email"}


def load(source: pathlib.Path) -> list:
    if source.is_dir():
        cases = [json.loads(p.read_text()) for p in sorted(source.glob("*.json"))]
        return [c for c in cases if isinstance(c, dict) and "id" in c]
    document = json.loads(source.read_text())
    return document["testcases"] if isinstance(document, dict) and "testcases" in document else document


def write(directory: pathlib.Path, name: str, pems: list) -> pathlib.Path:
    path = directory / name
    path.write_text("".join(pems))
    return path


def arguments(case: dict, directory: pathlib.Path, keyseal: str, profile: str) -> list:
    args = [keyseal, "cert", "verify", str(write(directory, "leaf.pem", [case["peer_certificate"]]))]
    args += ["--trust", str(write(directory, "trust.pem", case["trusted_certs"]))]
    if case.get("untrusted_intermediates"):
        args += ["--chain", str(write(directory, "chain.pem", case["untrusted_intermediates"]))]
    for i, crl in enumerate(case.get("crls") or []):
        args += ["--crl", str(write(directory, f"crl{i}.pem", [crl]))]
    args += ["--at", case.get("validation_time") or DEFAULT_TIME]
    ekus = case.get("extended_key_usage") or []
    if case["validation_kind"] == "SERVER":
        purpose, names = "server", [case.get("expected_peer_name")]
    else:
        purpose = "email" if "emailProtection" in ekus else "client"
        names = case.get("expected_peer_names") or [case.get("expected_peer_name")]
    args += ["--purpose", purpose]
    name = next((n for n in names if n), None)
    if name:
        args += [PEER_FLAGS[name["kind"]], name["value"]]
    if case.get("max_chain_depth") is not None:
        args += ["--max-depth", str(case["max_chain_depth"])]
    for usage in case.get("key_usage") or []:
        args += ["--key-usage", key_usage(usage)]
    implied = {"server": "serverAuth", "client": "clientAuth", "email": "emailProtection"}[purpose]
    for eku in ekus:
        if eku != implied:
            args += ["--eku", EKU_OIDS.get(eku, eku)]
    if profile:
        args += ["--profile", profile]
    return args + ["--json"]


def verdict(args: list) -> tuple:
    run = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if run.returncode == 0:
        return "SUCCESS", ""
    try:
        return "FAILURE", json.loads(run.stdout).get("reason") or "?"
    except json.JSONDecodeError:
        return "FAILURE", f"exit {run.returncode}: {run.stderr.strip()[:120]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=pathlib.Path)
    parser.add_argument("--keyseal", default=str(pathlib.Path(__file__).parent.parent / "target/release/keyseal"))
    parser.add_argument("--only", default="", help="run only the cases whose id starts with this")
    parser.add_argument("--profile", default="", help="rfc5280, web-pki or smime for every case")
    options = parser.parse_args()
    cases = [c for c in load(options.suite) if c["id"].startswith(options.only)]
    wrong = []
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases:
            directory = pathlib.Path(scratch) / case["id"].replace("::", "__")
            directory.mkdir()
            got, reason = verdict(arguments(case, directory, options.keyseal, options.profile))
            if got != case["expected_result"]:
                wrong.append(f"{case['id']}: expected {case['expected_result']}, keyseal {got} {reason}".rstrip())
    print(f"{len(cases) - len(wrong)} of {len(cases)} cases as expected")
    print("\n".join(wrong))
    return 0


if __name__ == "__main__":
    sys.exit(main())
