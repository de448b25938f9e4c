//! `SHA256SUMS` as `keyseal verify` reads it: the manifest ships with the release, so an
//! attacker controls its bytes (non-UTF-8, odd line endings, escaped names, duplicates,
//! the ` *` binary marker). Parsing must not panic, and whatever parses must survive a
//! round trip through `to_bytes`: what keyseal writes it must read back identically.
#![no_main]

use keyseal::release::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = Manifest::parse(data) {
        let bytes = manifest.to_bytes();
        let again = Manifest::parse(&bytes);
        assert_eq!(
            again,
            Ok(manifest),
            "round trip failed (left: read back, right: first read); to_bytes wrote {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
});
