//! The end-to-end tests, as one crate of modules: one binary to build and link, and
//! `common` compiled once. Each module is a part of keyseal driven through the real
//! binary (or, for the vector suites, the library); run one with
//! `cargo test --test it MODULE::`.

mod common;

mod acs3_sdk;
mod audit_cli;
mod ca;
mod ci_templates;
mod cli_snapshots;
mod completions;
mod crash;
mod demo;
mod docs;
mod hostile_input;
mod hostile_paths;
mod hsm;
mod kms_cli;
mod kms_openssl;
mod passphrase_prompt;
mod pkits;
mod postgres_store;
mod provider_differential;
mod real_chains;
mod release;
mod remote;
mod rfc5280_profile;
mod sdk_interop;
mod server_flood;
mod server_metrics;
mod sigstore_interop;
mod store_concurrency;
mod store_fixture;
mod sts;
mod timestamp;
mod timestamped_release;
mod verifier;
mod verify_script;
mod wycheproof;
mod wycheproof_x509;
