//! The certificate index in the embedded store: every CA (its KMS key and certificate)
//! and every certificate issued (serial, subject, issuer, purpose, validity, KMS key
//! reference, status, revocation).

use crate::crypto::spec::Algorithm;
use crate::kms::KmsError;
use crate::kms::db::{Row, Tx};
use crate::kms::store::{Schema, Store, Table};
use crate::params;
use serde::Serialize;

/// The CA's tables in the store: its CAs and the index of every certificate issued.
pub const SCHEMA: Schema = Schema {
    name: "ca",
    migrations: &[
        // 1: the CAs and the certificates they issued.
        "CREATE TABLE cas (
            name           TEXT PRIMARY KEY,
            key_id         TEXT NOT NULL,
            key_version_id TEXT NOT NULL,
            algorithm      TEXT NOT NULL,
            serial         TEXT NOT NULL,
            certificate    BLOB NOT NULL,
            crl_number     INTEGER NOT NULL DEFAULT 0,
            crl_url        TEXT,
            created        INTEGER NOT NULL
         );
         CREATE TABLE certificates (
            serial            TEXT PRIMARY KEY,
            ca_name           TEXT NOT NULL,
            subject           TEXT NOT NULL,
            issuer            TEXT NOT NULL,
            profile           TEXT NOT NULL,
            not_before        INTEGER NOT NULL,
            not_after         INTEGER NOT NULL,
            key_id            TEXT,
            key_version_id    TEXT,
            status            TEXT NOT NULL,
            revoked_at        INTEGER,
            revocation_reason TEXT,
            certificate       BLOB NOT NULL,
            issued            INTEGER NOT NULL
         );
         CREATE INDEX certificates_by_ca ON certificates(ca_name, issued);",
    ],
    postgres: &[
        // 1: SQLite's 1.
        "CREATE TABLE cas (
            name           TEXT PRIMARY KEY,
            key_id         TEXT NOT NULL,
            key_version_id TEXT NOT NULL,
            algorithm      TEXT NOT NULL,
            serial         TEXT NOT NULL,
            certificate    BYTEA NOT NULL,
            crl_number     BIGINT NOT NULL DEFAULT 0,
            crl_url        TEXT,
            created        BIGINT NOT NULL
         );
         CREATE TABLE certificates (
            serial            TEXT PRIMARY KEY,
            ca_name           TEXT NOT NULL,
            subject           TEXT NOT NULL,
            issuer            TEXT NOT NULL,
            profile           TEXT NOT NULL,
            not_before        BIGINT NOT NULL,
            not_after         BIGINT NOT NULL,
            key_id            TEXT,
            key_version_id    TEXT,
            status            TEXT NOT NULL,
            revoked_at        BIGINT,
            revocation_reason TEXT,
            certificate       BYTEA NOT NULL,
            issued            BIGINT NOT NULL
         );
         CREATE INDEX certificates_by_ca ON certificates(ca_name, issued);",
    ],
    tables: &[
        Table { name: "cas", columns: CA_COLUMNS, select: "ORDER BY name" },
        Table { name: "certificates", columns: CERT_COLUMNS, select: "ORDER BY serial" },
    ],
};

/// `store`, with the CA's tables brought up to date: how every CA operation reaches the
/// index. Call it outside the store's transactions.
pub fn ready(store: &Store) -> Result<&Store, KmsError> {
    store.ensure(&SCHEMA)?;
    Ok(store)
}

/// A CA the store can sign with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaRecord {
    /// The name `--ca` refers to it by.
    pub name: String,
    /// Its KMS key.
    pub key_id: String,
    /// Its KMS key version.
    pub key_version_id: String,
    /// The algorithm it signs with.
    pub algorithm: Algorithm,
    /// Its own certificate's serial (hex).
    pub serial: String,
    /// Its certificate, DER.
    #[serde(skip)]
    pub certificate: Vec<u8>,
    /// The number of the last CRL it issued.
    pub crl_number: u64,
    /// Where its CRL is published, written into the certificates it issues.
    pub crl_url: Option<String>,
    /// Unix seconds; RFC 3339 in JSON.
    #[serde(serialize_with = "crate::clock::serialize_rfc3339")]
    pub created: i64,
}

/// One issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertRecord {
    /// Serial number, upper-case hex.
    pub serial: String,
    /// The CA that issued it (a root lists itself).
    pub ca_name: String,
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// The profile it was issued with.
    pub profile: String,
    /// Unix seconds; RFC 3339 in JSON, as every time keyseal prints.
    #[serde(serialize_with = "crate::clock::serialize_rfc3339")]
    pub not_before: i64,
    /// Unix seconds; RFC 3339 in JSON.
    #[serde(serialize_with = "crate::clock::serialize_rfc3339")]
    pub not_after: i64,
    /// The certified KMS key, when it came from the KMS (not a CSR).
    pub key_id: Option<String>,
    /// The certified KMS key version.
    pub key_version_id: Option<String>,
    /// `valid` or `revoked` (expiry is read from the dates).
    pub status: String,
    /// Unix seconds; RFC 3339 in JSON.
    #[serde(serialize_with = "crate::clock::serialize_rfc3339_option")]
    pub revoked_at: Option<i64>,
    /// The revocation reason, e.g. `key-compromise`.
    pub revocation_reason: Option<String>,
    /// The certificate, DER.
    #[serde(skip)]
    pub certificate: Vec<u8>,
    /// Unix seconds; RFC 3339 in JSON.
    #[serde(serialize_with = "crate::clock::serialize_rfc3339")]
    pub issued: i64,
}

const CA_COLUMNS: &str = "name, key_id, key_version_id, algorithm, serial, certificate, crl_number, crl_url, created";

fn ca_from_row(row: &Row) -> Result<CaRecord, KmsError> {
    Ok(CaRecord {
        name: row.get(0)?,
        key_id: row.get(1)?,
        key_version_id: row.get(2)?,
        algorithm: row.parse(3)?,
        serial: row.get(4)?,
        certificate: row.get(5)?,
        crl_number: row.get(6)?,
        crl_url: row.get(7)?,
        created: row.get(8)?,
    })
}

/// The CA named `name`.
pub fn get_ca(tx: &dyn Tx, name: &str) -> Result<Option<CaRecord>, KmsError> {
    tx.query_opt(&format!("SELECT {CA_COLUMNS} FROM cas WHERE name = ?1"), params![name], ca_from_row)
}

/// Every CA, by name.
pub fn list_cas(tx: &dyn Tx) -> Result<Vec<CaRecord>, KmsError> {
    tx.query_map(&format!("SELECT {CA_COLUMNS} FROM cas ORDER BY name"), params![], ca_from_row)
}

/// Registers a CA.
pub fn insert_ca(tx: &dyn Tx, ca: &CaRecord) -> Result<(), KmsError> {
    tx.execute(
        &format!("INSERT INTO cas ({CA_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            ca.name,
            ca.key_id,
            ca.key_version_id,
            ca.algorithm.as_str(),
            ca.serial,
            ca.certificate,
            ca.crl_number,
            ca.crl_url,
            ca.created
        ],
    )?;
    Ok(())
}

/// Records the number of the CRL just issued.
pub fn set_crl_number(tx: &dyn Tx, name: &str, number: u64) -> Result<(), KmsError> {
    tx.execute("UPDATE cas SET crl_number = ?2 WHERE name = ?1", params![name, number])?;
    Ok(())
}

const CERT_COLUMNS: &str = "serial, ca_name, subject, issuer, profile, not_before, not_after, key_id, key_version_id, status, revoked_at, revocation_reason, certificate, issued";

fn cert_from_row(row: &Row) -> Result<CertRecord, KmsError> {
    Ok(CertRecord {
        serial: row.get(0)?,
        ca_name: row.get(1)?,
        subject: row.get(2)?,
        issuer: row.get(3)?,
        profile: row.get(4)?,
        not_before: row.get(5)?,
        not_after: row.get(6)?,
        key_id: row.get(7)?,
        key_version_id: row.get(8)?,
        status: row.get(9)?,
        revoked_at: row.get(10)?,
        revocation_reason: row.get(11)?,
        certificate: row.get(12)?,
        issued: row.get(13)?,
    })
}

/// Adds an issued certificate.
pub fn insert_cert(tx: &dyn Tx, cert: &CertRecord) -> Result<(), KmsError> {
    tx.execute(
        &format!("INSERT INTO certificates ({CERT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
        params![
            cert.serial,
            cert.ca_name,
            cert.subject,
            cert.issuer,
            cert.profile,
            cert.not_before,
            cert.not_after,
            cert.key_id,
            cert.key_version_id,
            cert.status,
            cert.revoked_at,
            cert.revocation_reason,
            cert.certificate,
            cert.issued
        ],
    )?;
    Ok(())
}

/// The certificate with this serial (upper-case hex).
pub fn get_cert(tx: &dyn Tx, serial: &str) -> Result<Option<CertRecord>, KmsError> {
    tx.query_opt(&format!("SELECT {CERT_COLUMNS} FROM certificates WHERE serial = ?1"), params![serial], cert_from_row)
}

/// Certificates issued by `ca` (or by every CA), oldest first.
pub fn list_certs(tx: &dyn Tx, ca: Option<&str>) -> Result<Vec<CertRecord>, KmsError> {
    match ca {
        Some(ca) => tx.query_map(
            &format!("SELECT {CERT_COLUMNS} FROM certificates WHERE ca_name = ?1 ORDER BY issued, serial"),
            params![ca],
            cert_from_row,
        ),
        None => tx.query_map(
            &format!("SELECT {CERT_COLUMNS} FROM certificates ORDER BY issued, serial"),
            params![],
            cert_from_row,
        ),
    }
}

/// Marks a certificate revoked.
pub fn revoke(tx: &dyn Tx, serial: &str, at: i64, reason: &str) -> Result<(), KmsError> {
    tx.execute(
        "UPDATE certificates SET status = 'revoked', revoked_at = ?2, revocation_reason = ?3 WHERE serial = ?1",
        params![serial, at, reason],
    )?;
    Ok(())
}

/// What this store's CA index says of a certificate: its record when the index holds this
/// very certificate (same serial, same DER), else `None` (issued elsewhere, or unknown).
pub fn lookup(tx: &dyn Tx, certificate_der: &[u8], serial: &[u8]) -> Result<Option<CertRecord>, KmsError> {
    Ok(get_cert(tx, &hex::encode_upper(serial))?.filter(|record| record.certificate == certificate_der))
}
