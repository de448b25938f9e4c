// Verifies a Sigstore bundle over an artifact with sigstore-js (@sigstore/verify), the way
// a downloader would: against a pinned public key (looked up by the bundle's hint), or
// against a trusted_root.json (certificate authorities and time-stamping authorities).
// Transparency logs are not required (keyseal keeps none); --timestamps N requires N
// verified RFC 3161 time stamps.
//
//   node verify.js BUNDLE ARTIFACT (--key PUB.pem | --trusted-root ROOT.json) [--timestamps N]
//
// Prints "verified" and exits 0, or prints the error's code and message and exits 1.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [bundlePath, artifactPath, ...rest] = process.argv.slice(2);
const option = (name) => {
  const at = rest.indexOf(name);
  return at < 0 ? undefined : rest[at + 1];
};

const emptyRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
};

try {
  const root = option('--trusted-root')
    ? TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(option('--trusted-root'), 'utf8')))
    : emptyRoot;
  const keys = {};
  if (option('--key')) {
    const der = crypto.createPublicKey(fs.readFileSync(option('--key'), 'utf8')).export({ type: 'spki', format: 'der' });
    keys[crypto.createHash('sha256').update(der).digest('base64')] = { rawBytes: der };
  }
  const timestamps = Number(option('--timestamps') || 0);
  const verifier = new Verifier(toTrustMaterial(root, keys), {
    tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: timestamps,
  });
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  verifier.verify(toSignedEntity(bundle, fs.readFileSync(artifactPath)));
  console.log('verified');
} catch (error) {
  console.log(`refused: ${error.code || error.name}: ${error.message}`);
  process.exit(1);
}
