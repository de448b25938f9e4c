//! Interop with OpenSSL, a peer nobody here wrote: it reads every public key, verifies
//! every signature, and exchanges RSA-OAEP ciphertexts with keyseal in both directions.

use crate::common::{Keyseal, SPECS, path, peer, sign_algorithms};
use keyseal::crypto::keys;
use keyseal::crypto::spec::{Algorithm, KeySpec};

#[test]
fn openssl_reads_public_keys_and_verifies_signatures() {
    let ks = Keyseal::new();
    let message = ks.file("release.tar.gz");
    std::fs::write(&message, vec![7u8; 100_000]).unwrap();
    let tampered = ks.file("tampered.tar.gz");
    std::fs::write(&tampered, vec![8u8; 100_000]).unwrap();
    for spec in SPECS {
        let (key_id, v1) = ks.create_key(spec, "SIGN/VERIFY");
        let v2 = ks.new_version(&key_id);
        for version in [&v1, &v2] {
            let pem = ks.file(&format!("{spec}-{version}.pem"));
            let response = ks.public_key(&key_id, version, &pem);
            assert_eq!(response["PublicKey"].as_str().unwrap(), std::fs::read_to_string(&pem).unwrap());
            let (ok, text) = peer("openssl", &["pkey", "-pubin", "-in", path(&pem), "-noout", "-text"]);
            assert!(ok, "openssl pkey cannot read the {spec} public key: {text}");
            let expected = match *spec {
                "RSA_2048" => "2048 bit",
                "EC_P256" => "prime256v1",
                _ => "secp256k1",
            };
            assert!(text.contains(expected), "{spec}: {text}");
            for algorithm in sign_algorithms(spec) {
                let sig = ks.file(&format!("{spec}-{version}-{algorithm}.sig"));
                ks.sign_file(&key_id, version, algorithm, &message, &sig);
                let mut args = vec!["dgst", "-sha256", "-verify", path(&pem), "-signature", path(&sig)];
                if *algorithm == "RSA_PSS_SHA_256" {
                    args.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"]);
                }
                let mut good = args.clone();
                good.push(path(&message));
                let (ok, text) = peer("openssl", &good);
                assert!(ok && text.contains("Verified OK"), "{spec} {algorithm}: openssl refused: {text}");
                let mut bad = args.clone();
                bad.push(path(&tampered));
                assert!(!peer("openssl", &bad).0, "{spec} {algorithm}: openssl accepted a tampered file");
                if *algorithm == "RSA_PSS_SHA_256" {
                    // The salt is exactly 32 bytes, as the API promises.
                    let mut strict = args.clone();
                    let last = strict.len() - 1;
                    strict[last] = "rsa_pss_saltlen:32";
                    strict.push(path(&message));
                    assert!(peer("openssl", &strict).0, "PSS salt length is not 32");
                }
            }
        }
    }
}

#[test]
fn openssl_encrypts_for_asymmetric_decrypt() {
    let ks = Keyseal::new();
    let (key_id, version) = ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
    let pem = ks.file("enc.pem");
    ks.public_key(&key_id, &version, &pem);
    let plaintext = ks.file("plain.txt");
    std::fs::write(&plaintext, b"the launch code is 0000").unwrap();
    for (algorithm, digest) in [("RSAES_OAEP_SHA_256", "sha256"), ("RSAES_OAEP_SHA_1", "sha1")] {
        let blob = ks.file(&format!("openssl-{digest}.bin"));
        let (ok, text) = peer(
            "openssl",
            &[
                "pkeyutl",
                "-encrypt",
                "-pubin",
                "-inkey",
                path(&pem),
                "-in",
                path(&plaintext),
                "-out",
                path(&blob),
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                &format!("rsa_oaep_md:{digest}"),
                "-pkeyopt",
                &format!("rsa_mgf1_md:{digest}"),
            ],
        );
        assert!(ok, "openssl pkeyutl -encrypt failed: {text}");
        let out = ks.file(&format!("opened-{digest}.txt"));
        ks.ok(&[
            "kms",
            "asymmetric-decrypt",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            algorithm,
            "--ciphertext-file",
            path(&blob),
            "--out",
            path(&out),
        ]);
        assert_eq!(std::fs::read(&out).unwrap(), b"the launch code is 0000", "{algorithm}");
    }
}

/// The reverse direction: keyseal's encryption (the function AsymmetricEncrypt calls)
/// under a key OpenSSL generated, opened by `openssl pkeyutl -decrypt`. A KMS key's private
/// half never leaves keyseal, so the key pair for this direction has to come from OpenSSL.
#[test]
fn openssl_decrypts_what_asymmetric_encrypt_produces() {
    let ks = Keyseal::new();
    let private = ks.file("openssl-rsa.pem");
    let public = ks.file("openssl-rsa.pub.pem");
    assert!(
        peer("openssl", &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path(&private)])
            .0
    );
    assert!(peer("openssl", &["pkey", "-in", path(&private), "-pubout", "-outform", "DER", "-out", path(&public)]).0);
    let spki = std::fs::read(&public).unwrap();
    for (algorithm, digest) in [(Algorithm::RsaesOaepSha256, "sha256"), (Algorithm::RsaesOaepSha1, "sha1")] {
        let ciphertext = keys::encrypt(KeySpec::Rsa2048, algorithm, &spki, b"from keyseal").unwrap();
        let blob = ks.file(&format!("keyseal-{digest}.bin"));
        std::fs::write(&blob, &ciphertext).unwrap();
        let (ok, text) = peer(
            "openssl",
            &[
                "pkeyutl",
                "-decrypt",
                "-inkey",
                path(&private),
                "-in",
                path(&blob),
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                &format!("rsa_oaep_md:{digest}"),
                "-pkeyopt",
                &format!("rsa_mgf1_md:{digest}"),
            ],
        );
        assert!(ok, "openssl could not decrypt {algorithm}: {text}");
        assert_eq!(text, "from keyseal");
    }
}
