//! What path validation costs on hostile chains of up to 10 MB (issue 27): the input is a
//! small *recipe* that this target amplifies into a real, signed chain — a trusted root,
//! one to four intermediates, a leaf, and optional decoy issuer candidates — with large
//! names, name constraints, certificate policies and policy mappings. It then does what
//! `keyseal cert verify LEAF --chain CHAIN --trust TRUST --json` does (read the files with
//! `x509::cert::load_certificates`, `x509::validate`, serialise the report) and fails
//! when that took more than a limit of CPU time on this thread, or grew the heap by more
//! than a limit. Building the chain (encoding and signing) is not measured. A watchdog
//! thread stops an input as soon as it passes a limit (it aborts, saying what it stopped),
//! so that a trap is reported at the limit, not by libFuzzer's `-timeout` a minute later.
//!
//! The limits (see fuzz/README.md, "path_cost", for the calibration):
//! - `PATH_COST_LIMIT_MS`, default 5000: CPU milliseconds (this thread's, from
//!   `CLOCK_THREAD_CPUTIME_ID`, so waiting for a busy CPU does not count) for reading and
//!   validating one input in this instrumented build, which is 7 to 25 times slower than a
//!   release build: 5 s here is 0.2 to 0.7 s of release CPU, under the issue's 1 s. The
//!   slowest seed takes about 1.1 s here.
//! - `PATH_COST_HEAP_LIMIT_MB`, default 256: growth of the heap's peak while doing so
//!   (counted by this target's global allocator, in requested bytes).
//!
//! `PATH_COST_VERBOSE=1` prints each input's sizes, timings and verdict, and
//! `PATH_COST_REPORT_MS=<ms>` those of inputs that took at least that long; with
//! `PATH_COST_DUMP=<dir>` the files are also written there, with the `keyseal` arguments
//! that validate them (`<dir>/command`), to replay an input on a release build
//! (fuzz/calibrate-path-cost.sh does that for a list of recipes).
//!
//! Every certificate is DER made here and signed with P-256 keys from fixed scalars
//! (deterministic ECDSA), so signatures verify and every check of a path runs. Validity
//! is 2020-01-01 to 2049-12-31 and the verification time is 2030-01-01.
//!
//! # The recipe
//!
//! A missing byte reads as 0. An *amount* byte `b` means `b` below 32, else
//! `32 * 2^((b-32)/16)` rounded (112 at 61, 1,024 at 112, 5,087 at 149, 10,173 at 165,
//! 202,141 at 234, 502,060 at 255); a *length* byte `b` means `b` below 32, else
//! `32 * 2^((b-32)/13)` rounded (1,048,576 at 227, 2,460,925 at 243, 2.6 M at 244).
//! Counts are cut so that the files stay within 10 MB in all and 8 MiB each (the CLI's
//! limit per certificate file).
//!
//! Header, 5 bytes:
//! - byte 0, flags: bit 0 files are PEM (else one DER file per certificate); bit 1 the
//!   leaf is self-signed with its own key (still naming intermediate 1 as its issuer);
//!   bit 2 no authorityKeyIdentifier anywhere (issuers found by name only); bits 3, 4, 5
//!   initial-explicit-policy, initial-policy-mapping-inhibit, initial-any-policy-inhibit;
//!   bit 6 user-initial-policy-set {P(1)} (else any); bit 7 validate a second time with
//!   every certificate a trust anchor;
//! - byte 1: bits 0–1 the number of intermediates minus one (1–4); bits 4–7 the purpose,
//!   `Purpose::ALL[(5 + n) % 6]` (0 is `any`);
//! - byte 2: decoy count (amount, at most 1,024): copies of intermediate 1, each with its
//!   own serial, that path building must try as issuers of the leaf;
//! - byte 3, decoys: bits 0–1 key and signer: 0 own key, self-signed (fake CAs); 1
//!   intermediate 1's key, signed by intermediate 1's issuer (each one a full candidate
//!   path); 2 own key, signed by intermediate 1's issuer; 3 intermediate 1's key,
//!   self-signed; bit 2 they claim intermediate 1's subjectKeyIdentifier; bit 3 they are
//!   trust anchors (`--trust`) instead of `--chain`; bits 4–5 their subject: 0, 3
//!   intermediate 1's, 1 intermediate 1's written differently (equal after RFC 5280 §7.1
//!   normalisation), 2 another name; bit 6 no authorityKeyIdentifier; bit 7 intermediate 1
//!   itself is left out;
//! - byte 4: bits 0–1 the time: all valid, the leaf expired, intermediate 1 not yet
//!   valid, the root expired; bit 2 the leaf is a CA.
//!
//! Then up to 32 operations of 5 bytes, `kind slot count length variant`. `slot` (modulo
//! intermediates + 3): 0 the leaf, 1..=n intermediate i (1 issued the leaf), n+1 the root
//! (trust anchor), n+2 the decoys. `kind` (modulo 9):
//! - 0 subject: `count` attributes appended to the subject, values of `length` bytes;
//!   variant bits 0–2 the value's tag (UTF8String, PrintableString, IA5String,
//!   TeletexString, BMPString, OCTET STRING, VisibleString, SEQUENCE), bits 3–4 the
//!   attribute (commonName, countryName, emailAddress, a private OID), bit 5 all in one
//!   multi-valued RDN (else one RDN each), bits 6–7 the content ('x'…, "Ab  "… with case
//!   and runs of spaces, a DNS name (`u@…` for emailAddress), bytes that are not UTF-8);
//! - 1 subjectAltName, 2 permitted subtrees, 3 excluded subtrees: `count` names or bases;
//!   variant bits 0–2 the form (dNSName, rfc822Name, URI, iPAddress v4, iPAddress v6,
//!   directoryName, otherName, registeredID), bits 3–4 the relation `r` of the generated
//!   names, which is what makes a comparison long or short: a SAN host is `L.Example.ORG`
//!   (r 0), `L.other.test` (1), `h<i>.L.example.org` (2), `*.L.example.org` (3), where `L`
//!   is `length` bytes (dotted labels of 63 `a`s for DNS and email; for URIs one label of
//!   `A`s in r 0 and 1, dotted labels of `A`s in r 2 and 3); a base is `example.org`
//!   (0, `.example.org` for email and URIs: holds r 0, 2, 3), `excluded-<i>.example` (1),
//!   `L.example.orh` (2: shares all of `L` with the names, then differs), the r-2 name
//!   `h<i>.L.example.org` itself (3); directory names: SAN `O=Example,CN=San <i>,CN=x…`,
//!   bases `O=Example` (0), `O=Elsewhere,CN=Excluded <i>,C=AA` (1), `O=Example,CN=Leaf,
//!   CN=x…<i>` (2: the leaf's subject prefix and a long value that differs at its end),
//!   `O=Example,CN=Leaf` (3); bit 5 flips the extension's criticality (a SAN becomes
//!   critical, name constraints not);
//! - 4 certificatePolicies: `count` policies P(o+i) (`1.3.6.1.4.1.55555.1.<o+i>`, or
//!   `1.3.6.1.4.1.55556.<o+i>` with bit 3), `o` = variant bits 4–7; bit 0 anyPolicy too,
//!   bit 1 each with a CPS qualifier of `length` bytes, bit 2 critical;
//! - 5 policyMappings: `count` mappings; variant bits 0–1 the fan-out: one issuer policy
//!   P(1) to many P(2+i), many P(2+i) to one P(1), many to many (m = √count issuer
//!   policies P(1..m), each to all of P(m+1..2m)), a chain P(1+i) to P(2+i); bit 2 one
//!   more mapping from anyPolicy; bit 3 critical; bit 4 the subject policies in the other
//!   arc (`55556`); bit 5 every mapping twice;
//! - 6 constraints: variant bit 0 requireExplicitPolicy = count % 4, bit 1
//!   inhibitPolicyMapping = length % 4, bit 2 inhibitAnyPolicy = (variant >> 4) % 4, bit 3
//!   pathLenConstraint = count % 4;
//! - 7 other extensions: `count` unknown non-critical extensions of `length` bytes each;
//!   variant bit 0 one more, critical; bit 1 a second subjectKeyIdentifier;
//! - 8 extendedKeyUsage: `count` private OIDs, variant bit 0 the purpose's OID too, bit 1
//!   anyExtendedKeyUsage, bit 2 critical.
//!
//! Operations on the same slot and extension add to one extension. The seeds in
//! `fuzz/seeds/path_cost/` are written, and each described, by
//! `fuzz/seeds/make-path-cost-seeds.py`.
#![no_main]

use keyseal::x509::cert::{AttributeBudget, count_certificates, load_certificates};
use keyseal::x509::path::{MAX_TRUSTED_CERTIFICATES, MAX_UNTRUSTED_CERTIFICATES};
use keyseal::x509::{Cert, Purpose, Reason, ValidationOptions, validate};
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Measuring: this thread's CPU time, and the heap's peak through a counting allocator.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only counters move.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The time of a CPU-time clock.
fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write to.
    let status = unsafe { libc::clock_gettime(clock, &mut now) };
    assert_eq!(status, 0, "clock_gettime({clock})");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    cpu_time(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// The CPU-time clock of this thread, which another thread can read.
fn this_thread_clock() -> libc::clockid_t {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `clock` is a valid clockid_t to write to; pthread_self() is this live thread.
    let status = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
    assert_eq!(status, 0, "pthread_getcpuclockid");
    clock
}

/// The measurement under way, for the watchdog.
struct Watched {
    clock: libc::clockid_t,
    cpu_at_start: Duration,
    heap_at_start: usize,
    /// The input, for the message.
    what: String,
}

static WATCHED: Mutex<Option<Watched>> = Mutex::new(None);

/// Starts, once, a thread that looks every 20 ms at the measurement under way and aborts
/// the process when it has passed either limit, saying so: an input that would run for a
/// minute is reported at the limit, with what it is, rather than by libFuzzer's
/// `-timeout` or `-rss_limit_mb` (libFuzzer takes the abort for a crash and keeps the
/// input).
fn start_watchdog() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        std::thread::spawn(|| {
            let settings = settings();
            loop {
                std::thread::sleep(Duration::from_millis(20));
                let watched = WATCHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let Some(watched) = watched.as_ref() else { continue };
                let cpu = cpu_time(watched.clock).saturating_sub(watched.cpu_at_start);
                let heap = PEAK.load(Ordering::Relaxed).saturating_sub(watched.heap_at_start);
                if cpu > settings.cpu_limit || heap > settings.heap_limit {
                    eprintln!(
                        "path_cost: too slow or too big, stopped after {:.0} ms of CPU (PATH_COST_LIMIT_MS={}) with the heap +{:.1} MiB (PATH_COST_HEAP_LIMIT_MB={}), still reading and validating {}",
                        cpu.as_secs_f64() * 1e3,
                        settings.cpu_limit.as_millis(),
                        heap as f64 / f64::from(1 << 20),
                        settings.heap_limit >> 20,
                        watched.what
                    );
                    std::process::abort();
                }
            }
        });
    });
}

struct Settings {
    cpu_limit: Duration,
    heap_limit: usize,
    verbose: bool,
    report: Duration,
    dump: Option<std::path::PathBuf>,
}

fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let number = |name: &str, default: u64| {
            std::env::var(name).ok().map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?}")))
        };
        Settings {
            cpu_limit: Duration::from_millis(number("PATH_COST_LIMIT_MS", 5000)),
            heap_limit: number("PATH_COST_HEAP_LIMIT_MB", 256) as usize * (1 << 20),
            verbose: std::env::var_os("PATH_COST_VERBOSE").is_some_and(|v| v != "0"),
            report: Duration::from_millis(number("PATH_COST_REPORT_MS", u64::MAX / 2)),
            dump: std::env::var_os("PATH_COST_DUMP").map(Into::into),
        }
    })
}

// ---------------------------------------------------------------------------------------
// DER, written by hand: fast for megabytes, and free to say what no builder would.

fn push_length(out: &mut Vec<u8>, length: usize) {
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = (length as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_length(out, content.len());
    out.extend_from_slice(content);
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    push_tlv(&mut out, tag, content);
    out
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// An OID's contents (no tag or length) from dotted text.
fn oid(text: &str) -> Vec<u8> {
    let arcs: Vec<u64> = text.split('.').map(|a| a.parse().expect("a dotted OID")).collect();
    let mut out = Vec::new();
    push_arc(&mut out, arcs[0] * 40 + arcs[1]);
    for &arc in &arcs[2..] {
        push_arc(&mut out, arc);
    }
    out
}

fn push_arc(out: &mut Vec<u8>, arc: u64) {
    let mut groups = vec![(arc & 0x7f) as u8];
    let mut rest = arc >> 7;
    while rest > 0 {
        groups.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.extend(groups.iter().rev());
}

/// The OID `prefix.arc` as a whole TLV.
fn push_oid_under(out: &mut Vec<u8>, prefix: &[u8], arc: u64) {
    let mut content = prefix.to_vec();
    push_arc(&mut content, arc);
    push_tlv(out, OID, &content);
}

struct Oids {
    common_name: Vec<u8>,
    country: Vec<u8>,
    organization: Vec<u8>,
    email: Vec<u8>,
    private_attribute: Vec<u8>,
    policy: Vec<u8>,
    other_policy: Vec<u8>,
    other_name: Vec<u8>,
    registered: Vec<u8>,
    extension: Vec<u8>,
    usage: Vec<u8>,
    any_policy: Vec<u8>,
    cps: Vec<u8>,
    ecdsa_sha256: Vec<u8>,
}

fn oids() -> &'static Oids {
    static OIDS: OnceLock<Oids> = OnceLock::new();
    OIDS.get_or_init(|| Oids {
        common_name: oid("2.5.4.3"),
        country: oid("2.5.4.6"),
        organization: oid("2.5.4.10"),
        email: oid("1.2.840.113549.1.9.1"),
        private_attribute: oid("1.3.6.1.4.1.55555.7"),
        policy: oid("1.3.6.1.4.1.55555.1"),
        other_policy: oid("1.3.6.1.4.1.55556"),
        other_name: oid("1.3.6.1.4.1.55555.8"),
        registered: oid("1.3.6.1.4.1.55555.9"),
        extension: oid("1.3.6.1.4.1.55555.99"),
        usage: oid("1.3.6.1.4.1.55555.3"),
        any_policy: oid("2.5.29.32.0"),
        cps: oid("1.3.6.1.5.5.7.2.1"),
        ecdsa_sha256: oid("1.2.840.10045.4.3.2"),
    })
}

/// One attribute, `SEQUENCE { type, value }`.
fn attribute(kind: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
    let mut content = tlv(OID, kind);
    push_tlv(&mut content, tag, value);
    tlv(SEQUENCE, &content)
}

/// One RDN of one attribute.
fn rdn(kind: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
    tlv(SET, &attribute(kind, tag, value))
}

fn extension(out: &mut Vec<u8>, id: &[u8], critical: bool, value: &[u8]) {
    let mut content = tlv(OID, id);
    if critical {
        content.extend_from_slice(&[0x01, 0x01, 0xff]);
    }
    push_tlv(&mut content, 0x04, value);
    push_tlv(out, SEQUENCE, &content);
}

// ---------------------------------------------------------------------------------------
// Keys and signatures.

struct Key {
    signing: SigningKey,
    spki: Vec<u8>,
    id: Vec<u8>,
}

const ROOT_KEY: usize = 0;
const LEAF_KEY: usize = 5;
const DECOY_KEYS: usize = 16;
const DECOY_KEY: usize = 8;

fn ca_key(intermediate: usize) -> usize {
    intermediate // 1..=4
}

fn keys() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..DECOY_KEY + DECOY_KEYS)
            .map(|index| {
                let mut scalar = [0x22u8; 32];
                scalar[0] = 0x01;
                scalar[31] = index as u8 + 1;
                let signing = SigningKey::from_slice(&scalar).expect("a valid scalar");
                let spki = signing.verifying_key().to_public_key_der().expect("SPKI").as_bytes().to_vec();
                let id = Sha256::digest(&spki)[..20].to_vec();
                Key { signing, spki, id }
            })
            .collect()
    })
}

/// A DER ECDSA P-256 signature is at most 72 bytes.
const MAX_SIGNATURE: usize = 72;
const CACHED_SIGNATURES: usize = 1 << 14;

/// One cached signature: the key, the SHA-256 of what was signed, the DER signature.
type CachedSignature = (usize, [u8; 32], [u8; MAX_SIGNATURE], usize);

thread_local! {
    /// Signatures by key and SHA-256 of the to-be-signed bytes, direct-mapped: a mutated
    /// recipe usually leaves most certificates as they were, and ECDSA signing dominates
    /// building small ones. Allocated once: an input that leaves more allocations than it
    /// frees makes libFuzzer run it again to look for a leak.
    static SIGNATURES: RefCell<Vec<CachedSignature>> =
        RefCell::new(vec![(usize::MAX, [0; 32], [0; MAX_SIGNATURE], 0); CACHED_SIGNATURES]);
}

fn sign(key: usize, tbs: &[u8]) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(tbs).into();
    SIGNATURES.with(|cache| {
        let mut cache = cache.borrow_mut();
        let at = (usize::from(u16::from_le_bytes([digest[0], digest[1]])) ^ key) % CACHED_SIGNATURES;
        let entry = &mut cache[at];
        if entry.0 != key || entry.1 != digest {
            let signature: DerSignature = keys()[key].signing.sign_prehash(&digest).expect("ECDSA signing");
            let bytes = signature.as_bytes();
            entry.0 = key;
            entry.1 = digest;
            entry.2[..bytes.len()].copy_from_slice(bytes);
            entry.3 = bytes.len();
        }
        entry.2[..entry.3].to_vec()
    })
}

// ---------------------------------------------------------------------------------------
// The recipe.

fn count(byte: u8) -> usize {
    if byte < 32 { byte as usize } else { (32.0 * 2f64.powf(f64::from(byte - 32) / 16.0)).round() as usize }
}

fn length(byte: u8) -> usize {
    if byte < 32 { byte as usize } else { (32.0 * 2f64.powf(f64::from(byte - 32) / 13.0)).round() as usize }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let byte = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum File {
    Leaf = 0,
    Chain = 1,
    Trust = 2,
}

/// What the files may still hold, in DER bytes.
struct Space {
    total: usize,
    files: [usize; 3],
}

impl Space {
    /// The most bytes one field may grow by, when it is copied into `places`.
    fn room(&self, places: &[(File, usize)]) -> usize {
        let mut copies = [0usize; 3];
        for &(file, times) in places {
            copies[file as usize] += times;
        }
        let mut room = self.total / copies.iter().sum::<usize>().max(1);
        for (left, times) in self.files.iter().zip(copies) {
            if times > 0 {
                room = room.min(left / times);
            }
        }
        room
    }

    fn charge(&mut self, places: &[(File, usize)], bytes: usize) {
        for &(file, times) in places {
            self.total = self.total.saturating_sub(bytes * times);
            self.files[file as usize] = self.files[file as usize].saturating_sub(bytes * times);
        }
    }
}

/// What the operations add to one certificate (or to every decoy).
#[derive(Default)]
struct Slot {
    rdns: Vec<u8>,
    multi: Vec<Vec<u8>>,
    san: Option<Vec<u8>>,
    san_critical: bool,
    permitted: Option<Vec<u8>>,
    excluded: Option<Vec<u8>>,
    nc_critical: bool,
    policies: Option<Vec<u8>>,
    policies_critical: bool,
    mappings: Option<Vec<u8>>,
    mappings_critical: bool,
    require_explicit: Option<u8>,
    inhibit_mapping: Option<u8>,
    inhibit_any: Option<u8>,
    path_len: Option<u8>,
    eku: Option<Vec<u8>>,
    eku_critical: bool,
    extra: Vec<u8>,
}

struct Recipe {
    pem: bool,
    leaf_self_signed: bool,
    no_aki: bool,
    explicit_policy: bool,
    mapping_inhibit: bool,
    any_policy_inhibit: bool,
    user_policy: bool,
    all_anchors: bool,
    intermediates: usize,
    purpose: Purpose,
    decoys: usize,
    decoy_kind: u8,
    decoy_claims_ca_key_id: bool,
    decoys_trusted: bool,
    decoy_name: u8,
    decoy_no_aki: bool,
    omit_ca1: bool,
    time: u8,
    leaf_is_ca: bool,
    /// Leaf, intermediates 1..=n, root, decoys.
    slots: Vec<Slot>,
}

const MAX_DECOYS: usize = 1024;
const MAX_OPERATIONS: usize = 32;
/// All files together, and each file (`bounded::read`'s limit for certificate files).
const TOTAL_BYTES: usize = 10_000_000;
const FILE_BYTES: usize = 8 << 20;

impl Recipe {
    fn root(&self) -> usize {
        self.intermediates + 1
    }

    fn decoy_slot(&self) -> usize {
        self.intermediates + 2
    }

    fn decoy_file(&self) -> File {
        if self.decoys_trusted { File::Trust } else { File::Chain }
    }

    /// Where the bytes of `slot`'s subject end up: its own certificate, the issuer field of
    /// what it signs, and the decoys that copy or name it.
    fn subject_places(&self, slot: usize) -> Vec<(File, usize)> {
        let (n, decoys) = (self.intermediates, self.decoys);
        if slot == 0 {
            return vec![(File::Leaf, 1)];
        }
        if slot == self.decoy_slot() {
            return vec![(self.decoy_file(), decoys)];
        }
        // Its own subject (and issuer, for the root), then the issuer field of what it signs.
        let mut places = if slot == self.root() {
            vec![(File::Trust, 2), (File::Chain, 1)]
        } else {
            vec![(File::Chain, 1), (if slot == 1 { File::Leaf } else { File::Chain }, 1)]
        };
        // Decoys copy intermediate 1's subject, and name its issuer as theirs.
        if (slot == 1 && self.decoy_name != 2) || slot == 2 || (n == 1 && slot == self.root()) {
            places.push((self.decoy_file(), decoys));
        }
        places
    }

    fn extension_places(&self, slot: usize) -> Vec<(File, usize)> {
        if slot == 0 {
            vec![(File::Leaf, 1)]
        } else if slot == self.decoy_slot() {
            vec![(self.decoy_file(), self.decoys)]
        } else if slot == self.root() {
            vec![(File::Trust, 1)]
        } else {
            vec![(File::Chain, 1)]
        }
    }

    fn parse(data: &[u8]) -> Recipe {
        let mut input = Reader { data, at: 0 };
        let flags = input.byte();
        let shape = input.byte();
        let decoy_count = input.byte();
        let decoy = input.byte();
        let extras = input.byte();
        let intermediates = 1 + usize::from(shape & 3);
        let purpose = Purpose::ALL[(5 + usize::from(shape >> 4)) % Purpose::ALL.len()].1;
        let mut recipe = Recipe {
            pem: flags & 1 != 0,
            leaf_self_signed: flags & 2 != 0,
            no_aki: flags & 4 != 0,
            explicit_policy: flags & 8 != 0,
            mapping_inhibit: flags & 0x10 != 0,
            any_policy_inhibit: flags & 0x20 != 0,
            user_policy: flags & 0x40 != 0,
            all_anchors: flags & 0x80 != 0,
            intermediates,
            purpose,
            decoys: count(decoy_count).min(MAX_DECOYS),
            decoy_kind: decoy & 3,
            decoy_claims_ca_key_id: decoy & 4 != 0,
            decoys_trusted: decoy & 8 != 0,
            decoy_name: (decoy >> 4) & 3,
            decoy_no_aki: decoy & 0x40 != 0,
            omit_ca1: decoy & 0x80 != 0,
            time: extras & 3,
            leaf_is_ca: extras & 4 != 0,
            slots: (0..intermediates + 3).map(|_| Slot::default()).collect(),
        };
        // What PEM adds: 64 characters a line for 48 bytes, and the BEGIN and END lines.
        let pem = recipe.pem;
        let scale = |bytes: usize| if pem { bytes / 65 * 48 } else { bytes };
        let certificates = intermediates + 2 + recipe.decoys;
        let overhead = certificates * 1_000 + 64 * 1024;
        let mut space = Space {
            total: scale(TOTAL_BYTES).saturating_sub(overhead),
            files: [
                scale(FILE_BYTES) - 16 * 1024,
                scale(FILE_BYTES).saturating_sub(overhead),
                scale(FILE_BYTES).saturating_sub(overhead),
            ],
        };
        for _ in 0..MAX_OPERATIONS {
            if input.at >= data.len() {
                break;
            }
            let operation = [input.byte(), input.byte(), input.byte(), input.byte(), input.byte()];
            recipe.apply(operation, &mut space);
        }
        recipe
    }

    fn apply(&mut self, [kind, slot, amount, size, variant]: [u8; 5], space: &mut Space) {
        let slot = usize::from(slot) % self.slots.len();
        let (n, len) = (count(amount), length(size));
        let places = if kind % 9 == 0 { self.subject_places(slot) } else { self.extension_places(slot) };
        if places.iter().all(|p| p.1 == 0) {
            return;
        }
        let room = space.room(&places);
        let used = {
            let target = &mut self.slots[slot];
            match kind % 9 {
                0 => add_attributes(target, n, len, variant, room),
                1 => {
                    target.san_critical |= variant & 0x20 != 0;
                    let field = target.san.get_or_insert_with(Vec::new);
                    let long = Long::new((variant >> 3) & 3, len);
                    fill(field, n, room, |out, i| general_name(out, variant & 7, (variant >> 3) & 3, &long, i))
                }
                2 | 3 => {
                    target.nc_critical |= variant & 0x20 != 0;
                    let field = if kind % 9 == 2 { &mut target.permitted } else { &mut target.excluded };
                    let field = field.get_or_insert_with(Vec::new);
                    let long = Long::new((variant >> 3) & 3, len);
                    fill(field, n, room, |out, i| {
                        let mut base = Vec::new();
                        subtree_base(&mut base, variant & 7, (variant >> 3) & 3, &long, i);
                        push_tlv(out, SEQUENCE, &base);
                    })
                }
                4 => {
                    target.policies_critical |= variant & 4 != 0;
                    let field = target.policies.get_or_insert_with(Vec::new);
                    let offset = u64::from(variant >> 4);
                    let prefix = if variant & 8 != 0 { &oids().other_policy } else { &oids().policy };
                    let mut used = fill(field, n, room, |out, i| {
                        let mut info = Vec::new();
                        push_oid_under(&mut info, prefix, offset + i as u64);
                        if variant & 2 != 0 {
                            let mut qualifier = tlv(OID, &oids().cps);
                            let mut uri = b"https://cps.example.org/".to_vec();
                            uri.resize(uri.len() + len, b'q');
                            push_tlv(&mut qualifier, 0x16, &uri);
                            push_tlv(&mut info, SEQUENCE, &tlv(SEQUENCE, &qualifier));
                        }
                        push_tlv(out, SEQUENCE, &info);
                    });
                    if variant & 1 != 0 {
                        let before = field.len();
                        push_tlv(field, SEQUENCE, &tlv(OID, &oids().any_policy));
                        used += field.len() - before;
                    }
                    used
                }
                5 => {
                    target.mappings_critical |= variant & 8 != 0;
                    let field = target.mappings.get_or_insert_with(Vec::new);
                    let to = if variant & 0x10 != 0 { &oids().other_policy } else { &oids().policy };
                    let side = (n as f64).sqrt().ceil().max(1.0) as usize;
                    let twice = if variant & 0x20 != 0 { 2 } else { 1 };
                    let mut used = fill(field, n * twice, room, |out, i| {
                        let i = i / twice;
                        let (from, onto) = match variant & 3 {
                            0 => (1, 2 + i),
                            1 => (2 + i, 1),
                            2 => (1 + i / side, 1 + side + i % side),
                            _ => (1 + i, 2 + i),
                        };
                        let mut mapping = Vec::new();
                        push_oid_under(&mut mapping, &oids().policy, from as u64);
                        push_oid_under(&mut mapping, to, onto as u64);
                        push_tlv(out, SEQUENCE, &mapping);
                    });
                    if variant & 4 != 0 {
                        let before = field.len();
                        let mut mapping = tlv(OID, &oids().any_policy);
                        push_oid_under(&mut mapping, &oids().policy, 1);
                        push_tlv(field, SEQUENCE, &mapping);
                        used += field.len() - before;
                    }
                    used
                }
                6 => {
                    if variant & 1 != 0 {
                        target.require_explicit = Some(amount % 4);
                    }
                    if variant & 2 != 0 {
                        target.inhibit_mapping = Some(size % 4);
                    }
                    if variant & 4 != 0 {
                        target.inhibit_any = Some((variant >> 4) % 4);
                    }
                    if variant & 8 != 0 {
                        target.path_len = Some(amount % 4);
                    }
                    0
                }
                7 => {
                    let mut used = fill(&mut target.extra, n, room, |out, i| {
                        let mut id = oids().extension.clone();
                        push_arc(&mut id, i as u64);
                        extension(out, &id, false, &tlv(0x04, &vec![0x5a; len]));
                    });
                    let before = target.extra.len();
                    if variant & 1 != 0 {
                        let mut id = oids().extension.clone();
                        push_arc(&mut id, 1_000_000);
                        extension(&mut target.extra, &id, true, &[0x05, 0x00]);
                    }
                    if variant & 2 != 0 {
                        extension(&mut target.extra, &oid("2.5.29.14"), false, &tlv(0x04, &[0x11; 20]));
                    }
                    used += target.extra.len() - before;
                    used
                }
                _ => {
                    target.eku_critical |= variant & 4 != 0;
                    let field = target.eku.get_or_insert_with(Vec::new);
                    let mut used = fill(field, n, room, |out, i| push_oid_under(out, &oids().usage, i as u64));
                    let before = field.len();
                    if variant & 1 != 0 {
                        push_tlv(field, OID, &oid(purpose_oid(self.purpose)));
                    }
                    if variant & 2 != 0 {
                        push_tlv(field, OID, &oid("2.5.29.37.0"));
                    }
                    used += field.len() - before;
                    used
                }
            }
        };
        space.charge(&places, used);
    }
}

fn purpose_oid(purpose: Purpose) -> &'static str {
    match purpose.as_str() {
        "server" => "1.3.6.1.5.5.7.3.1",
        "client" => "1.3.6.1.5.5.7.3.2",
        "code-signing" => "1.3.6.1.5.5.7.3.3",
        "email" => "1.3.6.1.5.5.7.3.4",
        "timestamping" => "1.3.6.1.5.5.7.3.8",
        _ => "2.5.29.37.0",
    }
}

/// Appends up to `n` items to `field` while they fit in `room` bytes; returns the bytes
/// added.
fn fill(field: &mut Vec<u8>, n: usize, room: usize, mut item: impl FnMut(&mut Vec<u8>, usize)) -> usize {
    let start = field.len();
    for i in 0..n {
        let before = field.len();
        item(field, i);
        if field.len() - start > room {
            field.truncate(before);
            break;
        }
    }
    field.len() - start
}

const VALUE_TAGS: [u8; 8] = [0x0c, 0x13, 0x16, 0x14, 0x1e, 0x04, 0x1a, 0x30];

fn add_attributes(slot: &mut Slot, n: usize, len: usize, variant: u8, room: usize) -> usize {
    let o = oids();
    let tag = VALUE_TAGS[usize::from(variant & 7)];
    let kind = match (variant >> 3) & 3 {
        0 => &o.common_name,
        1 => &o.country,
        2 => &o.email,
        _ => &o.private_attribute,
    };
    let multi = variant & 0x20 != 0;
    let content = variant >> 6;
    let email = (variant >> 3) & 3 == 2;
    // One value for all (single-valued RDNs may repeat), or distinct ones (a SET OF in DER
    // holds no duplicates).
    let mut value = attribute_value(content, len, email);
    if !multi {
        let one = rdn(kind, tag, &value);
        return fill(&mut slot.rdns, n, room, |out, _| out.extend_from_slice(&one));
    }
    let mut used = 0;
    for i in 0..n {
        let digits = i.to_string();
        let keep = value.len().saturating_sub(digits.len());
        value.truncate(keep);
        value.extend_from_slice(digits.as_bytes());
        let atv = attribute(kind, tag, &value);
        if used + atv.len() > room {
            break;
        }
        used += atv.len();
        slot.multi.push(atv);
    }
    used
}

fn attribute_value(content: u8, len: usize, email: bool) -> Vec<u8> {
    match content {
        0 => vec![b'x'; len],
        1 => repeat(b"Ab  ", len),
        2 => {
            let mut host = if email { b"u@".to_vec() } else { Vec::new() };
            host.extend(dotted(len));
            host.extend_from_slice(if len > 0 { b".example.org" } else { b"example.org" });
            host
        }
        _ => repeat(&[0xc3, 0x28], len),
    }
}

/// `pattern` over and over, `len` bytes.
fn repeat(pattern: &[u8], len: usize) -> Vec<u8> {
    let mut out = pattern.repeat(len / pattern.len() + 1);
    out.truncate(len);
    out
}

/// `len` bytes of DNS labels: 63 `a`s, a dot, and so on.
fn dotted(len: usize) -> Vec<u8> {
    let mut label = [b'a'; 64];
    label[63] = b'.';
    repeat(&label, len)
}

/// The long part of a URI's host: one label of `A`s (relations 0 and 1, as a hostile
/// certificate has it), or dotted labels of `A`s (2 and 3, which bases share and must be
/// well-formed DNS names).
fn uri_long(relation: u8, len: usize) -> Vec<u8> {
    if relation < 2 {
        vec![b'A'; len]
    } else {
        let mut label = [b'A'; 64];
        label[63] = b'.';
        repeat(&label, len)
    }
}

/// The host of a generated name (see the module comment).
fn name_host(relation: u8, i: usize, long: &[u8]) -> Vec<u8> {
    let mut host = Vec::with_capacity(long.len() + 32);
    match relation {
        0 => {}
        1 => {}
        2 => host.extend_from_slice(format!("h{i}.").as_bytes()),
        _ => host.extend_from_slice(b"*."),
    }
    host.extend_from_slice(long);
    if !long.is_empty() {
        host.push(b'.');
    }
    host.extend_from_slice(match relation {
        0 => b"Example.ORG".as_slice(),
        1 => b"other.test",
        _ => b"example.org",
    });
    host
}

fn base_host(relation: u8, i: usize, long: &[u8], leading_dot: bool) -> Vec<u8> {
    let dot: &[u8] = if leading_dot { b"." } else { b"" };
    match relation {
        0 => [dot, b"example.org"].concat(),
        1 => [dot, format!("excluded-{i}.example").as_bytes()].concat(),
        2 => {
            let mut host = dot.to_vec();
            host.extend_from_slice(long);
            if !long.is_empty() {
                host.push(b'.');
            }
            host.extend_from_slice(b"example.or");
            host.push(b'h' + (i % 8) as u8);
            host
        }
        _ => name_host(2, i, long),
    }
}

fn simple_name(rdns: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
    let mut content = Vec::new();
    for (kind, tag, value) in rdns {
        content.extend(rdn(kind, *tag, value));
    }
    tlv(SEQUENCE, &content)
}

/// One GeneralName of a subjectAltName.
/// The long parts of the names one operation generates, made once for all its items (an
/// item that does not use them must not pay for them: a length byte can ask for 4.6 MB).
struct Long {
    /// Dotted labels of `a` (DNS names, email domains).
    dns: Vec<u8>,
    /// `A`s, one label or dotted (URI hosts, see [`uri_long`]).
    uri: Vec<u8>,
    /// `x`s (directory names).
    x: Vec<u8>,
}

impl Long {
    fn new(relation: u8, len: usize) -> Long {
        Long { dns: dotted(len), uri: uri_long(relation, len), x: vec![b'x'; len] }
    }
}

fn general_name(out: &mut Vec<u8>, form: u8, relation: u8, long: &Long, i: usize) {
    let len = long.x.len();
    let o = oids();
    match form {
        0 => push_tlv(out, 0x82, &name_host(relation, i, &long.dns)),
        1 => {
            let mut address = format!("u{i}@").into_bytes();
            address.extend(name_host(relation, i, &long.dns));
            push_tlv(out, 0x81, &address);
        }
        2 => {
            let mut uri = b"https://".to_vec();
            uri.extend(name_host(relation, i, &long.uri));
            uri.push(b'/');
            push_tlv(out, 0x86, &uri);
        }
        3 => {
            let first = if relation & 1 == 0 { 10 } else { 192 };
            push_tlv(out, 0x87, &[first, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        }
        4 => {
            let mut address = [0u8; 16];
            address[0] = 0xfd;
            address[12..].copy_from_slice(&(i as u32).to_be_bytes());
            push_tlv(out, 0x87, &address);
        }
        5 => {
            let index = format!("San {i}");
            let mut rdns: Vec<(&[u8], u8, &[u8])> =
                vec![(&o.organization, 0x13, b"Example"), (&o.common_name, 0x0c, index.as_bytes())];
            if len > 0 {
                rdns.push((&o.common_name, 0x0c, &long.x));
            }
            push_tlv(out, 0xa4, &simple_name(&rdns));
        }
        6 => other_name(out, len),
        _ => {
            let mut id = o.registered.clone();
            push_arc(&mut id, i as u64);
            push_tlv(out, 0x88, &id);
        }
    }
}

fn other_name(out: &mut Vec<u8>, len: usize) {
    let mut content = tlv(OID, &oids().other_name);
    push_tlv(&mut content, 0xa0, &tlv(0x0c, &vec![b'o'; len]));
    push_tlv(out, 0xa0, &content);
}

/// The base of one GeneralSubtree.
fn subtree_base(out: &mut Vec<u8>, form: u8, relation: u8, long: &Long, i: usize) {
    let len = long.x.len();
    let o = oids();
    match form {
        0 => push_tlv(out, 0x82, &base_host(relation, i, &long.dns, false)),
        1 => {
            let base = if relation == 3 {
                let mut address = format!("u{i}@").into_bytes();
                address.extend(name_host(2, i, &long.dns));
                address
            } else {
                base_host(relation, i, &long.dns, true)
            };
            push_tlv(out, 0x81, &base);
        }
        2 => push_tlv(out, 0x86, &base_host(relation, i, &long.uri, relation != 3)),
        3 | 4 => {
            let base: Vec<u8> = match (form, relation) {
                (3, 0) => vec![10, 0, 0, 0, 255, 0, 0, 0],
                (3, 1) => vec![192, 0, (i >> 8) as u8, i as u8, 255, 255, 255, 255],
                (3, _) => vec![0; 8],
                (_, 1) => {
                    let mut base = vec![0u8; 32];
                    base[0] = 0x20;
                    base[12..16].copy_from_slice(&(i as u32).to_be_bytes());
                    base[16..].fill(0xff);
                    base
                }
                _ => {
                    let mut base = vec![0u8; 32];
                    base[0] = 0xfd;
                    base[16] = 0xff;
                    base
                }
            };
            push_tlv(out, 0x87, &base);
        }
        5 => {
            let index = format!("Excluded {i}");
            let name = match relation {
                0 => simple_name(&[(&o.organization, 0x13, b"Example")]),
                1 => simple_name(&[
                    (&o.organization, 0x13, b"Elsewhere"),
                    (&o.common_name, 0x0c, index.as_bytes()),
                    (&o.country, 0x13, b"AA"),
                ]),
                2 => {
                    let mut value = long.x.clone();
                    if let Some(last) = value.last_mut() {
                        *last = b'0' + (i % 10) as u8;
                    }
                    simple_name(&[
                        (&o.organization, 0x13, b"Example"),
                        (&o.common_name, 0x0c, b"Leaf"),
                        (&o.common_name, 0x0c, &value),
                    ])
                }
                _ => simple_name(&[(&o.organization, 0x13, b"Example"), (&o.common_name, 0x0c, b"Leaf")]),
            };
            push_tlv(out, 0xa4, &name);
        }
        6 => other_name(out, len),
        _ => {
            let mut id = o.registered.clone();
            push_arc(&mut id, i as u64);
            push_tlv(out, 0x88, &id);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The chain.

/// `O=Example,CN=<common name>` (or written differently) with the slot's attributes.
fn subject(
    organization: &[u8],
    organization_tag: u8,
    common_name: &[u8],
    common_name_tag: u8,
    slots: &[&Slot],
) -> Vec<u8> {
    let o = oids();
    let mut content = rdn(&o.organization, organization_tag, organization);
    content.extend(rdn(&o.common_name, common_name_tag, common_name));
    for slot in slots {
        content.extend_from_slice(&slot.rdns);
    }
    let mut multi: Vec<&Vec<u8>> = slots.iter().flat_map(|s| &s.multi).collect();
    if !multi.is_empty() {
        multi.sort();
        multi.dedup();
        let set: Vec<u8> = multi.into_iter().flatten().copied().collect();
        push_tlv(&mut content, SET, &set);
    }
    tlv(SEQUENCE, &content)
}

fn validity(not_before: &[u8], not_after: &[u8]) -> Vec<u8> {
    let mut content = tlv(0x17, not_before);
    push_tlv(&mut content, 0x17, not_after);
    tlv(SEQUENCE, &content)
}

const AT: i64 = 1_893_456_000; // 2030-01-01T00:00:00Z

struct Issue<'a> {
    serial: u32,
    issuer: &'a [u8],
    subject: &'a [u8],
    validity: Vec<u8>,
    key: usize,
    signer: usize,
    /// The subjectKeyIdentifier, if any.
    key_id: Option<&'a [u8]>,
    /// The authorityKeyIdentifier's keyIdentifier, if any.
    authority: Option<&'a [u8]>,
    ca: bool,
    slots: &'a [&'a Slot],
}

fn certificate(issue: Issue<'_>) -> Vec<u8> {
    let o = oids();
    let mut extensions = Vec::new();
    let path_len = issue.slots.iter().find_map(|s| s.path_len);
    let mut basic = Vec::new();
    if issue.ca {
        basic.extend_from_slice(&[0x01, 0x01, 0xff]);
        if let Some(limit) = path_len {
            push_tlv(&mut basic, 0x02, &[limit]);
        }
    }
    extension(&mut extensions, &oid("2.5.29.19"), true, &tlv(SEQUENCE, &basic));
    let usage: &[u8] = if issue.ca { &[0x03, 0x02, 0x01, 0x06] } else { &[0x03, 0x02, 0x07, 0x80] };
    extension(&mut extensions, &oid("2.5.29.15"), true, usage);
    if let Some(id) = issue.key_id {
        extension(&mut extensions, &oid("2.5.29.14"), false, &tlv(0x04, id));
    }
    if let Some(id) = issue.authority {
        extension(&mut extensions, &oid("2.5.29.35"), false, &tlv(SEQUENCE, &tlv(0x80, id)));
    }
    for slot in issue.slots {
        if let Some(names) = &slot.san {
            extension(&mut extensions, &oid("2.5.29.17"), slot.san_critical, &tlv(SEQUENCE, names));
        }
        if slot.permitted.is_some() || slot.excluded.is_some() {
            let mut content = Vec::new();
            if let Some(permitted) = &slot.permitted {
                push_tlv(&mut content, 0xa0, permitted);
            }
            if let Some(excluded) = &slot.excluded {
                push_tlv(&mut content, 0xa1, excluded);
            }
            extension(&mut extensions, &oid("2.5.29.30"), !slot.nc_critical, &tlv(SEQUENCE, &content));
        }
        if let Some(policies) = &slot.policies {
            extension(&mut extensions, &oid("2.5.29.32"), slot.policies_critical, &tlv(SEQUENCE, policies));
        }
        if let Some(mappings) = &slot.mappings {
            extension(&mut extensions, &oid("2.5.29.33"), slot.mappings_critical, &tlv(SEQUENCE, mappings));
        }
        if slot.require_explicit.is_some() || slot.inhibit_mapping.is_some() {
            let mut content = Vec::new();
            if let Some(skip) = slot.require_explicit {
                push_tlv(&mut content, 0x80, &[skip]);
            }
            if let Some(skip) = slot.inhibit_mapping {
                push_tlv(&mut content, 0x81, &[skip]);
            }
            extension(&mut extensions, &oid("2.5.29.36"), true, &tlv(SEQUENCE, &content));
        }
        if let Some(skip) = slot.inhibit_any {
            extension(&mut extensions, &oid("2.5.29.54"), true, &tlv(0x02, &[skip]));
        }
        if let Some(usages) = &slot.eku {
            extension(&mut extensions, &oid("2.5.29.37"), slot.eku_critical, &tlv(SEQUENCE, usages));
        }
        extensions.extend_from_slice(&slot.extra);
    }
    let algorithm = tlv(SEQUENCE, &tlv(OID, &o.ecdsa_sha256));
    let mut tbs = vec![0xa0, 0x03, 0x02, 0x01, 0x02];
    let mut serial = vec![0x01];
    serial.extend_from_slice(&issue.serial.to_be_bytes());
    push_tlv(&mut tbs, 0x02, &serial);
    tbs.extend_from_slice(&algorithm);
    tbs.extend_from_slice(issue.issuer);
    tbs.extend_from_slice(&issue.validity);
    tbs.extend_from_slice(issue.subject);
    tbs.extend_from_slice(&keys()[issue.key].spki);
    push_tlv(&mut tbs, 0xa3, &tlv(SEQUENCE, &extensions));
    let tbs = tlv(SEQUENCE, &tbs);
    let signature = sign(issue.signer, &tbs);
    let mut bits = vec![0x00];
    bits.extend_from_slice(&signature);
    let mut content = tbs;
    content.extend_from_slice(&algorithm);
    push_tlv(&mut content, 0x03, &bits);
    tlv(SEQUENCE, &content)
}

/// The files `keyseal cert verify` would be given.
struct Files {
    leaf: Vec<u8>,
    chain: Vec<Vec<u8>>,
    trust: Vec<Vec<u8>>,
    certificates: usize,
}

fn build(recipe: &Recipe) -> Files {
    let k = keys();
    let n = recipe.intermediates;
    let slots = &recipe.slots;
    let (ok_from, ok_to) = (b"200101000000Z".as_slice(), b"491231235959Z".as_slice());
    let (later, earlier) = (b"350101000000Z".as_slice(), b"250101000000Z".as_slice());
    let root_validity = if recipe.time == 3 { validity(ok_from, earlier) } else { validity(ok_from, ok_to) };
    let ca1_validity = if recipe.time == 2 { validity(later, ok_to) } else { validity(ok_from, ok_to) };
    let leaf_validity = if recipe.time == 1 { validity(ok_from, earlier) } else { validity(ok_from, ok_to) };

    let root_name = subject(b"Example", 0x13, b"Root", 0x0c, &[&slots[n + 1]]);
    let ca_names: Vec<Vec<u8>> =
        (1..=n).map(|i| subject(b"Example", 0x13, format!("CA {i}").as_bytes(), 0x0c, &[&slots[i]])).collect();
    let name_of = |slot: usize| if slot == n + 1 { &root_name } else { &ca_names[slot - 1] };
    let key_of = |slot: usize| if slot == n + 1 { ROOT_KEY } else { ca_key(slot) };
    let aki = |key: usize| (!recipe.no_aki).then_some(k[key].id.as_slice());

    let mut chain_certs = Vec::new();
    let mut trust_certs = Vec::new();
    trust_certs.push(certificate(Issue {
        serial: 1,
        issuer: &root_name,
        subject: &root_name,
        validity: root_validity,
        key: ROOT_KEY,
        signer: ROOT_KEY,
        key_id: Some(&k[ROOT_KEY].id),
        authority: None,
        ca: true,
        slots: &[&slots[n + 1]],
    }));
    for i in (1..=n).rev() {
        let cert = certificate(Issue {
            serial: 1 + i as u32,
            issuer: name_of(i + 1),
            subject: name_of(i),
            validity: if i == 1 { ca1_validity.clone() } else { validity(ok_from, ok_to) },
            key: key_of(i),
            signer: key_of(i + 1),
            key_id: Some(&k[key_of(i)].id),
            authority: aki(key_of(i + 1)),
            ca: true,
            slots: &[&slots[i]],
        });
        if !(i == 1 && recipe.omit_ca1) {
            chain_certs.push(cert);
        }
    }
    let decoy_slot = &slots[n + 2];
    let mut decoys = Vec::new();
    for d in 0..recipe.decoys {
        let own = DECOY_KEY + d % DECOY_KEYS;
        let (key, signer) = match recipe.decoy_kind {
            0 => (own, own),
            1 => (key_of(1), key_of(2)),
            2 => (own, key_of(2)),
            _ => (key_of(1), key_of(1)),
        };
        let name = match recipe.decoy_name {
            1 => subject(b" EXAMPLE ", 0x0c, b"ca  1", 0x13, &[&slots[1], decoy_slot]),
            2 => subject(b"Example", 0x13, format!("Decoy {d}").as_bytes(), 0x0c, &[decoy_slot]),
            _ => subject(b"Example", 0x13, b"CA 1", 0x0c, &[&slots[1], decoy_slot]),
        };
        let key_id = if recipe.decoy_claims_ca_key_id { &k[key_of(1)].id } else { &k[key].id };
        decoys.push(certificate(Issue {
            serial: 100 + d as u32,
            issuer: name_of(2),
            subject: &name,
            validity: ca1_validity.clone(),
            key,
            signer,
            key_id: Some(key_id),
            authority: if recipe.decoy_no_aki { None } else { aki(signer) },
            ca: true,
            slots: &[decoy_slot],
        }));
    }
    let leaf_key = if recipe.leaf_self_signed { LEAF_KEY } else { key_of(1) };
    let leaf = certificate(Issue {
        serial: 9,
        issuer: name_of(1),
        subject: &subject(b"Example", 0x13, b"Leaf", 0x0c, &[&slots[0]]),
        validity: leaf_validity,
        key: LEAF_KEY,
        signer: leaf_key,
        key_id: Some(&k[LEAF_KEY].id),
        authority: aki(leaf_key),
        ca: recipe.leaf_is_ca,
        slots: &[&slots[0]],
    });
    if recipe.decoys_trusted {
        trust_certs.extend(decoys);
    } else {
        chain_certs.extend(decoys);
    }
    let certificates = 1 + chain_certs.len() + trust_certs.len();
    let files = |certs: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
        if !recipe.pem {
            return certs;
        }
        if certs.is_empty() {
            return Vec::new();
        }
        let mut file = Vec::new();
        for der in &certs {
            file.extend_from_slice(&pem(der));
        }
        vec![file]
    };
    Files {
        leaf: if recipe.pem { pem(&leaf) } else { leaf },
        chain: files(chain_certs),
        trust: files(trust_certs),
        certificates,
    }
}

fn pem(der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = Vec::with_capacity(text.len() * 65 / 64 + 64);
    out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    out
}

fn options(recipe: &Recipe) -> ValidationOptions {
    let mut options = ValidationOptions::new(AT, recipe.purpose);
    options.policy.initial_explicit_policy = recipe.explicit_policy;
    options.policy.initial_policy_mapping_inhibit = recipe.mapping_inhibit;
    options.policy.initial_any_policy_inhibit = recipe.any_policy_inhibit;
    if recipe.user_policy {
        options.policy.user_initial_policy_set.push("1.3.6.1.4.1.55555.1.1".parse().expect("an OID"));
    }
    options
}

/// Writes the files and the `keyseal` command that validates them into `dir`.
fn dump(dir: &std::path::Path, recipe: &Recipe, files: &Files) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("the dump directory");
    let ext = if recipe.pem { "pem" } else { "der" };
    let write = |name: String, bytes: &[u8]| {
        std::fs::write(dir.join(&name), bytes).expect("a dump file");
        name
    };
    let mut command = format!("cert verify {}", write(format!("leaf.{ext}"), &files.leaf));
    for (i, file) in files.chain.iter().enumerate() {
        command += &format!(" --chain {}", write(format!("chain-{i}.{ext}"), file));
    }
    for (i, file) in files.trust.iter().enumerate() {
        command += &format!(" --trust {}", write(format!("trust-{i}.{ext}"), file));
    }
    command += &format!(" --at {AT} --purpose {}", recipe.purpose.as_str());
    if recipe.explicit_policy {
        command += " --require-explicit-policy";
    }
    if recipe.mapping_inhibit {
        command += " --inhibit-policy-mapping";
    }
    if recipe.any_policy_inhibit {
        command += " --inhibit-any-policy";
    }
    if recipe.user_policy {
        command += " --policy 1.3.6.1.4.1.55555.1.1";
    }
    command += " --json\n";
    if recipe.all_anchors {
        command += "# and again with every file as --trust (the recipe's flag bit 7)\n";
    }
    std::fs::write(dir.join("command"), command).expect("the command file");
}

/// What reading and validating cost, and what came of it.
struct Outcome {
    cpu: Duration,
    heap: usize,
    verdict: String,
}

/// What `keyseal cert verify --json` does with the files: read every certificate, give up
/// on one that does not parse (exit 2), validate, print the report.
fn read_and_validate(recipe: &Recipe, files: &Files, what: String) -> Outcome {
    let options = options(recipe);
    start_watchdog();
    let clock = this_thread_clock();
    let mut watched = WATCHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let heap_before = LIVE.load(Ordering::Relaxed);
    PEAK.store(heap_before, Ordering::Relaxed);
    let started = thread_cpu();
    *watched = Some(Watched { clock, cpu_at_start: started, heap_at_start: heap_before, what });
    drop(watched);
    let verdict = (|| {
        // As the CLI reads one flag's files (cli::cert::CertificateFiles): counted before
        // any is decoded, then decoded within one budget of name attributes.
        let read = |files: &[Vec<u8>], max: usize| -> Result<Vec<Cert>, String> {
            let given: usize = files.iter().map(|file| count_certificates(file)).sum();
            if given > max {
                return Err(format!("too-many-certificates: {given} given"));
            }
            let (mut all, mut budget) = (Vec::new(), AttributeBudget::default());
            for file in files {
                for cert in load_certificates(file) {
                    let cert = cert.map_err(|e| e.to_string())?;
                    budget.charge(&cert).map_err(|e| e.to_string())?;
                    all.push(cert);
                }
            }
            Ok(all)
        };
        let leaf = read(std::slice::from_ref(&files.leaf), MAX_UNTRUSTED_CERTIFICATES + 1)?
            .into_iter()
            .next()
            .ok_or("no leaf")?;
        let given: usize = files.chain.iter().map(|file| count_certificates(file)).sum();
        if given > MAX_UNTRUSTED_CERTIFICATES {
            return Ok(format!("{} (before decoding)", Reason::TooManyCertificates.code()));
        }
        let chain = read(&files.chain, MAX_UNTRUSTED_CERTIFICATES)?;
        let mut trust = read(&files.trust, MAX_TRUSTED_CERTIFICATES)?;
        let report = validate(&leaf, &chain, &trust, &options);
        let json = serde_json::to_vec(&report).map_err(|e| e.to_string())?;
        let mut verdict = match report.reason {
            None => format!("valid ({} B of report)", json.len()),
            Some(reason) => format!("{} ({} B of report)", reason.code(), json.len()),
        };
        if recipe.all_anchors {
            trust.extend(chain);
            let report = validate(&leaf, &[], &trust, &options);
            let json = serde_json::to_vec(&report).map_err(|e| e.to_string())?;
            verdict += &format!("; all trusted: {}", report.reason.map_or("valid", |r| r.code()));
            drop(json);
        }
        Ok::<String, String>(verdict)
    })();
    let cpu = thread_cpu().saturating_sub(started);
    let heap = PEAK.load(Ordering::Relaxed).saturating_sub(heap_before);
    WATCHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    Outcome { cpu, heap, verdict: verdict.unwrap_or_else(|e| format!("unreadable: {}", shorten(&e))) }
}

fn shorten(text: &str) -> String {
    text.chars().take(200).collect()
}

fuzz_target!(|data: &[u8]| {
    let settings = settings();
    let recipe = Recipe::parse(data);
    let built = std::time::Instant::now();
    let files = build(&recipe);
    let build_time = built.elapsed();
    let sizes = (
        files.leaf.len(),
        files.chain.iter().map(Vec::len).sum::<usize>(),
        files.trust.iter().map(Vec::len).sum::<usize>(),
    );
    let total = sizes.0 + sizes.1 + sizes.2;
    let largest = files.chain.iter().chain(&files.trust).map(Vec::len).chain([sizes.0]).max().unwrap_or(0);
    assert!(total <= TOTAL_BYTES && largest <= FILE_BYTES, "the recipe outgrew its caps: {sizes:?}");
    if let Some(dir) = &settings.dump {
        dump(dir, &recipe, &files);
    }
    let what = format!(
        "{total} B (leaf {}, chain {}, trust {}; {} certificates), built in {:.0} ms",
        sizes.0,
        sizes.1,
        sizes.2,
        files.certificates,
        build_time.as_secs_f64() * 1e3,
    );
    let outcome = read_and_validate(&recipe, &files, what.clone());
    let summary = format!(
        "{what}; read and validated in {:.1} ms of CPU, heap +{:.1} MiB: {}",
        outcome.cpu.as_secs_f64() * 1e3,
        outcome.heap as f64 / f64::from(1 << 20),
        outcome.verdict
    );
    if settings.verbose || outcome.cpu >= settings.report {
        eprintln!("path_cost: {summary}");
    }
    assert!(
        outcome.cpu <= settings.cpu_limit,
        "path_cost: too slow, more than PATH_COST_LIMIT_MS={} ms: {summary}",
        settings.cpu_limit.as_millis()
    );
    assert!(
        outcome.heap <= settings.heap_limit,
        "path_cost: too much memory, more than PATH_COST_HEAP_LIMIT_MB={}: {summary}",
        settings.heap_limit >> 20
    );
});
