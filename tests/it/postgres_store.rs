//! The PostgreSQL store (`--store postgresql://…`) against a real PostgreSQL started by the
//! tests (`common::postgres`): what only it has — several replicas on one database, an
//! outage, TLS and passwords, migrating a SQLite store. The behaviour both stores share is
//! tested on both by the other modules (`common::postgres::both`).

use crate::common::postgres::{self, cluster};
use crate::common::{path, peer};

#[test]
fn a_postgres_store_keeps_keys_signs_and_audits() {
    let ks = postgres::store();
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let message = ks.file("m.txt");
    std::fs::write(&message, b"release").unwrap();
    let (sig, pem) = (ks.file("m.sig"), ks.file("pub.pem"));
    ks.sign_file(&key_id, &version, "ECDSA_SHA_256", &message, &sig);
    ks.public_key(&key_id, &version, &pem);
    let (ok, text) =
        peer("openssl", &["dgst", "-sha256", "-verify", path(&pem), "-signature", path(&sig), path(&message)]);
    assert!(ok, "{text}");
    let verified = ks.ok_text(&["audit", "verify"]);
    assert!(verified.contains("audit log intact: 3 entries"), "{verified}");
    assert!(!std::fs::exists(ks.store()).unwrap(), "nothing was written to a store directory");
    let _ = cluster();
}
