//! Issuing certificates: a self-signed root (`init`), an intermediate CA or an end-entity
//! certificate signed by a CA (`issue`), and registering an existing CA certificate whose
//! key is a KMS key version (`import`). Every check runs before the KMS is asked to sign;
//! the signed certificate is verified against the CA key before it is stored; the index
//! entry and the audit entry are written in one transaction.

use crate::ca::csr::{Csr, read_csr};
use crate::ca::index::{self, CaRecord, CertRecord};
use crate::ca::key_policy::{KeySource, check_subject_key};
use crate::ca::profile::{ExtensionInputs, FixedProfile, Profile, extensions};
use crate::ca::signer::{KmsSignature, KmsSigner};
use crate::ca::subject::{San, check_csr_subject, check_name, check_not_issuer};
use crate::ca::{CaCode, CaError};
use crate::clock::format_unix;
use crate::crypto::spec::Algorithm;
use crate::kms::audit::{self, AuditEntry};
use crate::kms::signing_key::public_key_of;
use crate::kms::store::Store;
use crate::kms::{Kms, SigningKey};
use crate::x509::signature::verify_signed;
use der::{Decode, Encode, EncodePem};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage as KeyUsageExt, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// How long a certificate lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// From now, this many days.
    Days(u32),
    /// Until this Unix time.
    NotAfter(i64),
}

/// Who is acting: the KMS that signs, the store that keeps the index and audit log, the
/// principal recorded, and the time.
pub struct Authority<'a> {
    /// Signs with CA keys and hands out public keys.
    pub kms: &'a dyn Kms,
    /// Holds the index and the audit log.
    pub store: &'a Store,
    /// Recorded in the audit log.
    pub principal: &'a str,
    /// Unix seconds; the validity of what is issued starts here.
    pub now: i64,
}

impl<'a> Authority<'a> {
    /// The CA acting for `principal` at `now`, on a store whose CA tables are up to date.
    pub fn new(kms: &'a dyn Kms, store: &'a Store, principal: &'a str, now: i64) -> Result<Authority<'a>, CaError> {
        Ok(Authority { kms, store: index::ready(store)?, principal, now })
    }
}

/// `keyseal ca init`: a self-signed root.
#[derive(Debug, Clone)]
pub struct InitRequest {
    /// The CA's name in the store.
    pub name: String,
    /// Its KMS key.
    pub key_id: String,
    /// Its KMS key version.
    pub key_version_id: String,
    /// Signing algorithm; by default PKCS#1 v1.5 for RSA, ECDSA for EC.
    pub algorithm: Option<Algorithm>,
    /// Subject (and issuer) DN.
    pub subject: Name,
    /// Validity.
    pub lifetime: Lifetime,
    /// pathLenConstraint.
    pub path_len: Option<u8>,
    /// CRL distribution point for what it issues.
    pub crl_url: Option<String>,
}

/// Where the certified public key comes from.
#[derive(Debug, Clone)]
pub enum SubjectKey {
    /// A KMS key version (via GetPublicKey).
    Kms {
        /// KeyId, alias or ARN.
        key_id: String,
        /// The version.
        key_version_id: String,
    },
    /// A PKCS#10 request (PEM or DER) whose self-signature is checked.
    Csr(Vec<u8>),
}

/// `keyseal ca issue`.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The issuing CA's name.
    pub ca: String,
    /// What the certificate is for.
    pub profile: Profile,
    /// Subject DN; for a CSR, its own subject when absent.
    pub subject: Option<Name>,
    /// The certified key.
    pub key: SubjectKey,
    /// Validity.
    pub lifetime: Lifetime,
    /// Subject alternative names.
    pub sans: Vec<San>,
    /// For an intermediate: the name to register it under, so it can issue in turn.
    pub new_ca_name: Option<String>,
    /// For an intermediate: its pathLenConstraint.
    pub path_len: Option<u8>,
    /// For an intermediate: its signing algorithm (default from its key spec).
    pub algorithm: Option<Algorithm>,
    /// For an intermediate: the CRL distribution point for what it issues.
    pub crl_url: Option<String>,
    /// Shorten a validity that would outlive the issuer instead of refusing.
    pub clamp: bool,
}

/// What was issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The index entry.
    pub record: CertRecord,
    /// PEM of the certificate.
    pub pem: String,
    /// Set when the validity was shortened to the issuer's, saying so.
    pub clamped: Option<String>,
    /// The extensions the CSR asked for, by name: none is copied (the profile and the
    /// SANs given decide), and the caller may want to say so.
    pub ignored_extension_requests: Vec<String>,
}

/// A random, positive, 20-byte serial number (the top bit clear so it stays positive, the
/// next one set so it keeps all 20 bytes), unused in this store.
fn new_serial(store: &Store) -> Result<Vec<u8>, CaError> {
    loop {
        let mut bytes = [0u8; 20];
        getrandom::fill(&mut bytes).map_err(|e| CaError::internal(format!("the OS random generator failed: {e}")))?;
        bytes[0] = (bytes[0] & 0x7f) | 0x40;
        let hex = hex::encode_upper(bytes);
        if store.read(|tx| index::get_cert(tx, &hex))?.is_none() {
            return Ok(bytes.to_vec());
        }
    }
}

/// An X.509 Time for a Unix time (UTCTime until 2049, GeneralizedTime after, as RFC 5280 asks).
pub fn x509_time(unix: i64) -> Result<Time, CaError> {
    let duration = std::time::Duration::from_secs(
        u64::try_from(unix).map_err(|_| CaError::new(CaCode::BadValidity, "a date before 1970"))?,
    );
    let date = der::DateTime::from_unix_duration(duration)?;
    if date.year() < 2050 {
        Ok(Time::UtcTime(der::asn1::UtcTime::from_date_time(date)?))
    } else {
        Ok(Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(date)))
    }
}

fn not_after(lifetime: Lifetime, now: i64) -> Result<i64, CaError> {
    let end = match lifetime {
        Lifetime::Days(0) => return Err(CaError::new(CaCode::BadValidity, "--days must be at least 1")),
        Lifetime::Days(days) => now + i64::from(days) * 86_400,
        Lifetime::NotAfter(end) => end,
    };
    if end <= now {
        return Err(CaError::new(
            CaCode::BadValidity,
            format!("the certificate would end ({}) before it starts ({})", format_unix(end), format_unix(now)),
        ));
    }
    Ok(end)
}

/// Builds and signs a certificate, then checks its signature with the CA's public key.
fn build(
    signer: &KmsSigner<'_>,
    profile: FixedProfile,
    serial: &[u8],
    validity: (i64, i64),
    subject_key: SubjectPublicKeyInfoOwned,
) -> Result<Certificate, CaError> {
    let validity = Validity::new(x509_time(validity.0)?, x509_time(validity.1)?);
    let builder = CertificateBuilder::new(profile, SerialNumber::new(serial)?, validity, subject_key)
        .map_err(|e| CaError::internal(format!("cannot prepare the certificate: {e}")))?;
    let certificate = builder.build::<_, KmsSignature>(signer).map_err(|e| {
        signer
            .take_error()
            .map(CaError::from)
            .unwrap_or_else(|| CaError::internal(format!("cannot sign the certificate: {e}")))
    })?;
    let issuer_key = SubjectPublicKeyInfoOwned::from_der(signer.public_key())?;
    let signed = certificate.tbs_certificate().to_der()?;
    let signature = certificate.signature().as_bytes().unwrap_or_default();
    verify_signed(&issuer_key, certificate.signature_algorithm(), &signed, signature).map_err(|e| {
        CaError::internal(format!("the new certificate's signature does not verify ({e}); nothing was stored"))
    })?;
    Ok(certificate)
}

fn record(
    ca_name: &str,
    profile: Profile,
    certificate: &Certificate,
    key: Option<(&str, &str)>,
    now: i64,
) -> Result<CertRecord, CaError> {
    let tbs = certificate.tbs_certificate();
    Ok(CertRecord {
        serial: hex::encode_upper(tbs.serial_number().as_bytes()),
        ca_name: ca_name.to_string(),
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        profile: profile.as_str().to_string(),
        not_before: tbs.validity().not_before.to_unix_duration().as_secs() as i64,
        not_after: tbs.validity().not_after.to_unix_duration().as_secs() as i64,
        key_id: key.map(|k| k.0.to_string()),
        key_version_id: key.map(|k| k.1.to_string()),
        status: "valid".to_string(),
        revoked_at: None,
        revocation_reason: None,
        certificate: certificate.to_der()?,
        issued: now,
    })
}

/// The registry entry of a new CA: its name, its KMS key version and its own certificate.
fn ca_record(name: &str, key: &SigningKey, certificate: &CertRecord, crl_url: Option<String>, now: i64) -> CaRecord {
    CaRecord {
        name: name.to_string(),
        key_id: key.key_id.clone(),
        key_version_id: key.key_version_id.clone(),
        algorithm: key.algorithm,
        serial: certificate.serial.clone(),
        certificate: certificate.certificate.clone(),
        crl_number: 0,
        crl_url,
        created: now,
    }
}

fn audit_entry(authority: &Authority<'_>, action: &str, key: &SigningKey, detail: String) -> AuditEntry {
    let request_id = crate::kms::ids::new_uuid().unwrap_or_default();
    let mut entry = AuditEntry::new(authority.now, &request_id, authority.principal, action);
    entry.key_id = Some(key.key_id.clone());
    entry.key_version_id = Some(key.key_version_id.clone());
    entry.algorithm = Some(key.algorithm.to_string());
    entry.detail = Some(detail);
    entry
}

fn pem(certificate: &Certificate) -> Result<String, CaError> {
    Ok(certificate.to_pem(der::pem::LineEnding::LF)?)
}

fn refuse_taken_name(store: &Store, name: &str) -> Result<(), CaError> {
    if name.trim().is_empty() || name.chars().any(|c| c.is_control() || c == '/') {
        return Err(CaError::new(
            CaCode::BadName,
            format!("{name:?} is not a usable CA name; use letters, digits, '-' and '_'"),
        ));
    }
    if store.read(|tx| index::get_ca(tx, name))?.is_some() {
        return Err(CaError::new(
            CaCode::CaExists,
            format!("there is already a CA named {name}; choose another name (`keyseal ca list` shows them)"),
        ));
    }
    Ok(())
}

/// Creates a self-signed root CA for a KMS key version.
pub fn init(authority: &Authority<'_>, request: &InitRequest) -> Result<Issued, CaError> {
    refuse_taken_name(authority.store, &request.name)?;
    let key = SigningKey::resolve(authority.kms, &request.key_id, &request.key_version_id, request.algorithm)?;
    let end = not_after(request.lifetime, authority.now)?;
    let own_key = SubjectPublicKeyInfoOwned::from_der(&key.public_spki)?;
    check_subject_key(&own_key, KeySource::Kms { key_id: &key.key_id, key_version_id: &key.key_version_id })?;
    let extensions = extensions(
        Profile::RootCa,
        &ExtensionInputs {
            subject_key: &own_key,
            issuer_key: &own_key,
            path_len: request.path_len,
            sans: &[],
            crl_url: None,
        },
    )?;
    let profile = FixedProfile { issuer: request.subject.clone(), subject: request.subject.clone(), extensions };
    let signer = KmsSigner::new(authority.kms, &key);
    let serial = new_serial(authority.store)?;
    let certificate = build(&signer, profile, &serial, (authority.now, end), own_key)?;
    let record =
        record(&request.name, Profile::RootCa, &certificate, Some((&key.key_id, &key.key_version_id)), authority.now)?;
    let ca = ca_record(&request.name, &key, &record, request.crl_url.clone(), authority.now);
    let entry = audit_entry(
        authority,
        "InitCa",
        &key,
        format!("ca={} serial={} subject={}", ca.name, record.serial, record.subject),
    );
    authority.store.write(|tx| {
        index::insert_ca(tx, &ca)?;
        index::insert_cert(tx, &record)?;
        audit::append(tx, &entry)?;
        Ok(())
    })?;
    Ok(Issued { pem: pem(&certificate)?, record, clamped: None, ignored_extension_requests: Vec::new() })
}

/// The issuing CA: its record, certificate, and checks that it can still issue.
fn issuer(authority: &Authority<'_>, name: &str) -> Result<(CaRecord, Certificate), CaError> {
    let ca = authority.store.read(|tx| index::get_ca(tx, name))?.ok_or_else(|| {
        CaError::new(
            CaCode::CaNotFound,
            format!("there is no CA named {name}; create one with `keyseal ca init` (`keyseal ca list` shows them)"),
        )
    })?;
    let certificate = Certificate::from_der(&ca.certificate)?;
    check_is_ca(&certificate)?;
    if authority.store.read(|tx| index::get_cert(tx, &ca.serial))?.is_some_and(|c| c.status == "revoked") {
        return Err(CaError::new(
            CaCode::RevokedIssuer,
            format!("CA {name}'s certificate is revoked; it can no longer issue"),
        ));
    }
    let validity = certificate.tbs_certificate().validity();
    if (validity.not_after.to_unix_duration().as_secs() as i64) < authority.now {
        return Err(CaError::new(
            CaCode::ExpiredIssuer,
            format!("CA {name}'s certificate expired at {}; it can no longer issue", validity.not_after),
        ));
    }
    if (validity.not_before.to_unix_duration().as_secs() as i64) > authority.now {
        return Err(CaError::new(
            CaCode::IssuerNotYetValid,
            format!("CA {name}'s certificate is not valid before {}", validity.not_before),
        ));
    }
    Ok((ca, certificate))
}

/// Refuses a certificate that cannot issue: basicConstraints CA:TRUE and, when keyUsage is
/// present, keyCertSign are required (RFC 5280 §4.2.1.9, §4.2.1.3).
pub fn check_is_ca(certificate: &Certificate) -> Result<(), CaError> {
    let tbs = certificate.tbs_certificate();
    let who = crate::x509::display::describe_certificate(certificate);
    let constraints = tbs.get_extension::<BasicConstraints>()?.map(|(_, bc)| bc);
    if !constraints.is_some_and(|bc| bc.ca) {
        return Err(CaError::chain(
            crate::x509::Reason::NotACa,
            format!("{who} is not a CA certificate (no basicConstraints CA:TRUE); it cannot issue certificates"),
        ));
    }
    if let Some((_, usage)) = tbs.get_extension::<KeyUsageExt>()?
        && !usage.0.contains(KeyUsages::KeyCertSign)
    {
        return Err(CaError::chain(
            crate::x509::Reason::NotACa,
            format!("{who} has a keyUsage without keyCertSign; it cannot issue certificates"),
        ));
    }
    Ok(())
}

/// Issues an intermediate CA or end-entity certificate signed by `request.ca`.
pub fn issue(authority: &Authority<'_>, request: &IssueRequest) -> Result<Issued, CaError> {
    let (ca, ca_certificate) = issuer(authority, &request.ca)?;
    check_request_shape(authority, request, &ca_certificate)?;
    // The intake policy runs before the KMS is asked anything about the issuer, and the
    // subject is checked before a --key-id version's public key is fetched, so a refused
    // request leaves no trace: no audit entry of a signing, no serial, no index entry.
    let (subject, subject_key, kms_key, ignored_extension_requests) = match &request.key {
        SubjectKey::Csr(bytes) => {
            let csr = read_csr(bytes)?;
            let subject = certified_subject(request, Some(&csr), &ca_certificate)?;
            (subject, csr.public_key, None, csr.requested_extensions)
        }
        SubjectKey::Kms { key_id, key_version_id } => {
            let subject = certified_subject(request, None, &ca_certificate)?;
            let key = subject_kms_key_version(authority.kms, request, key_id, key_version_id)?;
            (subject, SubjectPublicKeyInfoOwned::from_der(&key.public_spki)?, Some(key), Vec::new())
        }
    };
    let issuer_key_version = SigningKey::resolve(authority.kms, &ca.key_id, &ca.key_version_id, Some(ca.algorithm))?;

    let issuer_end = ca_certificate.tbs_certificate().validity().not_after.to_unix_duration().as_secs() as i64;
    let mut end = not_after(request.lifetime, authority.now)?;
    let mut clamped = None;
    if end > issuer_end {
        if !request.clamp {
            return Err(CaError::new(
                CaCode::OutlivesIssuer,
                format!(
                    "the certificate would end {} but its issuer {} ends {}; ask for fewer days, or pass --clamp to end it with the issuer",
                    format_unix(end),
                    request.ca,
                    format_unix(issuer_end)
                ),
            ));
        }
        clamped =
            Some(format!("not-after clamped from {} to the issuer's {}", format_unix(end), format_unix(issuer_end)));
        end = issuer_end;
    }

    let issuer_key = SubjectPublicKeyInfoOwned::from_der(&issuer_key_version.public_spki)?;
    let extensions = extensions(
        request.profile,
        &ExtensionInputs {
            subject_key: &subject_key,
            issuer_key: &issuer_key,
            path_len: request.path_len,
            sans: &request.sans,
            crl_url: ca.crl_url.as_deref(),
        },
    )?;
    let profile = FixedProfile { issuer: ca_certificate.tbs_certificate().subject().clone(), subject, extensions };
    let signer = KmsSigner::new(authority.kms, &issuer_key_version);
    let serial = new_serial(authority.store)?;
    let certificate = build(&signer, profile, &serial, (authority.now, end), subject_key)?;
    let key_ref = kms_key.as_ref().map(|k| (k.key_id.as_str(), k.key_version_id.as_str()));
    let record = record(&request.ca, request.profile, &certificate, key_ref, authority.now)?;
    let new_ca = match (&request.new_ca_name, &kms_key) {
        (Some(name), Some(CertifiedKey { signing: Some(key), .. })) => {
            Some(ca_record(name, key, &record, request.crl_url.clone(), authority.now))
        }
        _ => None,
    };
    let entry = audit_entry(
        authority,
        "IssueCertificate",
        &issuer_key_version,
        format!("ca={} serial={} subject={} profile={}", request.ca, record.serial, record.subject, record.profile),
    );
    authority.store.write(|tx| {
        if let Some(new_ca) = &new_ca {
            if index::get_ca(tx, &new_ca.name)?.is_some() {
                return Err(crate::kms::KmsError::new(
                    crate::kms::ErrorCode::InvalidParameter,
                    format!("a CA named {} appeared meanwhile", new_ca.name),
                ));
            }
            index::insert_ca(tx, new_ca)?;
        }
        index::insert_cert(tx, &record)?;
        audit::append(tx, &entry)?;
        Ok(())
    })?;
    Ok(Issued { pem: pem(&certificate)?, record, clamped, ignored_extension_requests })
}

/// The KMS key version `key_id`/`key_version_id` that `request` certifies, its public key
/// held to the intake policy: a CA key for an intermediate (it will sign), any key for an
/// end entity.
fn subject_kms_key_version(
    kms: &dyn Kms,
    request: &IssueRequest,
    key_id: &str,
    key_version_id: &str,
) -> Result<CertifiedKey, CaError> {
    let key = if request.profile.is_ca() {
        let signing = SigningKey::resolve(kms, key_id, key_version_id, request.algorithm)?;
        CertifiedKey {
            key_id: signing.key_id.clone(),
            key_version_id: signing.key_version_id.clone(),
            public_spki: signing.public_spki.clone(),
            signing: Some(signing),
        }
    } else {
        let (meta, key_version_id, public_spki) = public_key_of(kms, key_id, key_version_id)?;
        CertifiedKey { key_id: meta.key_id, key_version_id, public_spki, signing: None }
    };
    let source = KeySource::Kms { key_id: &key.key_id, key_version_id: &key.key_version_id };
    check_subject_key(&SubjectPublicKeyInfoOwned::from_der(&key.public_spki)?, source)?;
    Ok(key)
}

/// A KMS key version a certificate is issued to.
struct CertifiedKey {
    key_id: String,
    key_version_id: String,
    public_spki: Vec<u8>,
    /// For an intermediate CA: the key resolved for the signing it will do.
    signing: Option<SigningKey>,
}

/// The certificate's subject: `--subject` when given (it replaces a CSR's, which then need
/// not pass the subject rules), else the CSR's, held to the rules `--subject` obeys; never
/// the issuing CA's own name.
fn certified_subject(request: &IssueRequest, csr: Option<&Csr>, ca_certificate: &Certificate) -> Result<Name, CaError> {
    let subject = match (&request.subject, csr) {
        (Some(given), _) => {
            // `parse_subject` checked it already; a library caller may have built it.
            check_name(given).map_err(|why| CaError::new(CaCode::BadSubject, format!("the subject {given}: {why}")))?;
            given.clone()
        }
        (None, Some(csr)) => {
            check_csr_subject(&csr.subject)?;
            csr.subject.clone()
        }
        (None, None) => return Err(CaError::new(CaCode::BadSubject, "--subject is required with --key-id")),
    };
    check_not_issuer(&subject, ca_certificate.tbs_certificate().subject(), &request.ca)?;
    Ok(subject)
}

/// Checks that do not need the KMS: intermediates are named and have a KMS key, the
/// issuer's pathLen allows another CA, SANs fit the profile.
fn check_request_shape(
    authority: &Authority<'_>,
    request: &IssueRequest,
    ca_certificate: &Certificate,
) -> Result<(), CaError> {
    if request.profile.is_ca() {
        if let SubjectKey::Csr(_) = request.key {
            return Err(CaError::new(
                CaCode::CsrForCa,
                "an intermediate CA must have a KMS key (--key-id/--key-version-id) so it can sign; a CSR's key is not in the KMS",
            ));
        }
        if let Some((_, constraints)) = ca_certificate.tbs_certificate().get_extension::<BasicConstraints>()?
            && constraints.path_len_constraint == Some(0)
        {
            return Err(CaError::chain(
                crate::x509::Reason::PathLengthExceeded,
                format!(
                    "CA {}'s pathLenConstraint is 0: it may issue end-entity certificates only, not another CA",
                    request.ca
                ),
            ));
        }
        match &request.new_ca_name {
            Some(name) => refuse_taken_name(authority.store, name)?,
            None => {
                return Err(CaError::new(
                    CaCode::MissingName,
                    "an intermediate CA needs --name, the name it will issue under",
                ));
            }
        }
    } else if request.new_ca_name.is_some() || request.path_len.is_some() {
        return Err(CaError::new(
            CaCode::NotACaProfile,
            format!("--name and --path-len are for --profile intermediate-ca, not {}", request.profile.as_str()),
        ));
    }
    if let Some(san) = request.sans.iter().find(|san| !request.profile.allows_san(san.kind)) {
        return Err(CaError::new(
            CaCode::BadSan,
            format!("a {} SAN does not fit the {} profile", san.kind.as_str(), request.profile.as_str()),
        ));
    }
    Ok(())
}

/// Registers an existing CA certificate whose key is a KMS key version, so it can issue.
pub fn import(
    authority: &Authority<'_>,
    name: &str,
    certificate_pem: &[u8],
    key_id: &str,
    key_version_id: &str,
    algorithm: Option<Algorithm>,
) -> Result<CaRecord, CaError> {
    refuse_taken_name(authority.store, name)?;
    let chain = crate::x509::load_pem_chain(certificate_pem).map_err(|e| CaError::chain(e.reason, e.message))?;
    let certificate = &chain[0];
    check_is_ca(certificate)?;
    let key = SigningKey::resolve(authority.kms, key_id, key_version_id, algorithm)?;
    if certificate.tbs_certificate().subject_public_key_info().to_der()? != key.public_spki {
        return Err(CaError::chain(
            crate::x509::Reason::KeyMismatch,
            format!(
                "{} certifies another key than KMS key {} version {}",
                crate::x509::describe(certificate),
                key.key_id,
                key.key_version_id
            ),
        ));
    }
    let record =
        record(name, Profile::IntermediateCa, certificate, Some((&key.key_id, &key.key_version_id)), authority.now)?;
    let ca = ca_record(name, &key, &record, None, authority.now);
    let entry = audit_entry(
        authority,
        "ImportCa",
        &key,
        format!("ca={name} serial={} subject={}", record.serial, record.subject),
    );
    authority.store.write(|tx| {
        index::insert_ca(tx, &ca)?;
        if index::get_cert(tx, &record.serial)?.is_none() {
            index::insert_cert(tx, &record)?;
        }
        audit::append(tx, &entry)?;
        Ok(())
    })?;
    Ok(ca)
}
