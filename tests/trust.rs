//! Path validation (`keys::trust`) against openssl's verdicts on the same chains.
//!
//! Each case builds a small PKI with openssl in a temporary folder, asks
//! `openssl verify -purpose smimesign -CAfile ROOT -untrusted INTERMEDIATES LEAF` for its
//! verdict, and checks that sealmail's [`TrustStore::validate`] agrees (and says why when it
//! refuses). openssl is the interop peer `.ci/run` installs; without it these tests are skipped
//! with a message.

mod common;

use common::{has_tool, openssl_in};
use sealmail::keys::trust::{Purpose, TrustSources, TrustStore, Verdict, certificates_from_bytes};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};
use x509_cert::Certificate;

/// A folder of keys and certificates made by openssl.
struct Pki {
    dir: tempfile::TempDir,
}

#[derive(Clone, Copy)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
const LEAF_EXT: &str = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:alice@example.org\n";

impl Pki {
    fn new() -> Pki {
        Pki {
            dir: common::tempdir(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self, args: &[&str]) {
        openssl_in(self.dir.path(), args);
    }

    fn key(&self, name: &str, kind: KeyKind) {
        let file = format!("{name}.key");
        match kind {
            KeyKind::Rsa => self.openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &file,
            ]),
            KeyKind::P256 => self.openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &file,
            ]),
            KeyKind::P384 => self.openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-out",
                &file,
            ]),
            KeyKind::Ed25519 => self.openssl(&["genpkey", "-algorithm", "ED25519", "-out", &file]),
        }
    }

    /// A self-signed root `name` with its own key.
    fn root(&self, name: &str, kind: KeyKind, ext: &str) {
        self.key(name, kind);
        std::fs::write(self.path(&format!("{name}.ext")), ext).unwrap();
        let mut args = vec![
            "req".to_string(),
            "-x509".into(),
            "-new".into(),
            "-key".into(),
            format!("{name}.key"),
            "-subj".into(),
            format!("/CN={name}"),
            "-days".into(),
            "3650".into(),
            "-out".into(),
            format!("{name}.crt"),
            "-config".into(),
            "/dev/null".into(),
        ];
        for line in ext.lines() {
            args.push("-addext".into());
            args.push(line.into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.openssl(&args);
    }

    /// A certificate for `name` (its own new key) signed by `issuer`.
    fn issue(&self, name: &str, kind: KeyKind, issuer: &str, ext: &str, days: u32, extra: &[&str]) {
        self.key(name, kind);
        std::fs::write(self.path(&format!("{name}.ext")), ext).unwrap();
        self.openssl(&[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={name}"),
            "-out",
            &format!("{name}.csr"),
            "-config",
            "/dev/null",
        ]);
        let days = days.to_string();
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{issuer}.crt"),
            "-CAkey",
            &format!("{issuer}.key"),
            "-set_serial",
            "4242",
            "-days",
            &days,
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.openssl(&args);
    }

    fn cert(&self, name: &str) -> Certificate {
        let bytes = std::fs::read(self.path(&format!("{name}.crt"))).unwrap();
        certificates_from_bytes(&bytes).unwrap().remove(0)
    }

    /// openssl's verdict on `leaf` with `root` as the only anchor, `at` seconds from now.
    fn openssl_trusts(&self, root: &str, intermediates: &[&str], leaf: &str, at: i64) -> bool {
        let mut cmd = Command::new("openssl");
        cmd.current_dir(self.dir.path())
            .args(["verify", "-purpose", "smimesign", "-CAfile"])
            .arg(format!("{root}.crt"));
        if !intermediates.is_empty() {
            let bundle = self.path("untrusted.pem");
            let mut pem = Vec::new();
            for name in intermediates {
                pem.extend(std::fs::read(self.path(&format!("{name}.crt"))).unwrap());
            }
            std::fs::write(&bundle, pem).unwrap();
            cmd.arg("-untrusted").arg(&bundle);
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        cmd.arg("-attime").arg((now + at).to_string());
        cmd.arg(format!("{leaf}.crt"));
        cmd.output().expect("openssl verify").status.success()
    }

    fn sealmail_verdict(&self, root: &str, intermediates: &[&str], leaf: &str, at: i64) -> Verdict {
        let mut store = TrustStore::new();
        store.add_anchor(self.cert(root));
        let pool: Vec<Certificate> = intermediates.iter().map(|n| self.cert(n)).collect();
        let when = if at >= 0 {
            SystemTime::now() + Duration::from_secs(at as u64)
        } else {
            SystemTime::now() - Duration::from_secs((-at) as u64)
        };
        store.validate(&self.cert(leaf), &pool, when, Purpose::EmailSigning)
    }

    /// Both verdicts agree; returns sealmail's reason when it refused.
    fn agree(&self, root: &str, intermediates: &[&str], leaf: &str, at: i64) -> (bool, String) {
        let theirs = self.openssl_trusts(root, intermediates, leaf, at);
        let ours = self.sealmail_verdict(root, intermediates, leaf, at);
        assert_eq!(
            ours.is_trusted(),
            theirs,
            "openssl says {theirs}, sealmail says {}",
            ours.describe()
        );
        (ours.is_trusted(), ours.describe())
    }
}

/// Root, intermediate, leaf: the shape of real S/MIME chains.
fn three_level(root_kind: KeyKind, inter_kind: KeyKind, leaf_kind: KeyKind) -> Pki {
    let pki = Pki::new();
    pki.root("Root", root_kind, CA_EXT);
    pki.issue("Inter", inter_kind, "Root", CA_EXT, 3650, &[]);
    pki.issue("Leaf", leaf_kind, "Inter", LEAF_EXT, 365, &[]);
    pki
}

#[test]
fn a_good_chain_is_trusted_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = three_level(KeyKind::P256, KeyKind::P384, KeyKind::Rsa);
    let (trusted, how) = pki.agree("Root", &["Inter"], "Leaf", 0);
    assert!(trusted);
    assert_eq!(how, "trusted: chains to CN=Root");
    match pki.sealmail_verdict("Root", &["Inter"], "Leaf", 0) {
        Verdict::Trusted { chain, .. } => assert_eq!(chain.len(), 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rsa_pss_and_ed25519_signed_chains_are_trusted_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::Rsa, CA_EXT);
    let pss = [
        "-sha384",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:digest",
    ];
    pki.issue("Inter", KeyKind::Ed25519, "Root", CA_EXT, 3650, &pss);
    pki.issue("Leaf", KeyKind::P256, "Inter", LEAF_EXT, 365, &[]);
    assert!(pki.agree("Root", &["Inter"], "Leaf", 0).0);
}

#[test]
fn an_expired_leaf_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::P256, CA_EXT);
    pki.issue("Leaf", KeyKind::P256, "Root", LEAF_EXT, 1, &[]);
    assert!(pki.agree("Root", &[], "Leaf", 0).0);
    let (trusted, why) = pki.agree("Root", &[], "Leaf", 3 * 86400);
    assert!(!trusted);
    assert!(
        why.contains("the certificate of CN=Leaf expired on"),
        "{why}"
    );
}

#[test]
fn a_leaf_for_another_purpose_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::P256, CA_EXT);
    let server = LEAF_EXT.replace("emailProtection", "serverAuth");
    pki.issue("Leaf", KeyKind::P256, "Root", &server, 365, &[]);
    let (trusted, why) = pki.agree("Root", &[], "Leaf", 0);
    assert!(!trusted);
    assert!(why.contains("lacks emailProtection"), "{why}");
}

#[test]
fn a_leaf_without_a_signing_key_usage_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::P256, CA_EXT);
    let encrypt_only = LEAF_EXT.replace("digitalSignature,keyEncipherment", "keyEncipherment");
    pki.issue("Leaf", KeyKind::Rsa, "Root", &encrypt_only, 365, &[]);
    let (trusted, why) = pki.agree("Root", &[], "Leaf", 0);
    assert!(!trusted);
    assert!(why.contains("does not allow digitalSignature"), "{why}");
}

#[test]
fn an_intermediate_without_the_ca_bit_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::P256, CA_EXT);
    pki.issue(
        "Inter",
        KeyKind::P256,
        "Root",
        "basicConstraints=critical,CA:FALSE\n",
        3650,
        &[],
    );
    pki.issue("Leaf", KeyKind::P256, "Inter", LEAF_EXT, 365, &[]);
    let (trusted, why) = pki.agree("Root", &["Inter"], "Leaf", 0);
    assert!(!trusted);
    assert!(
        why.contains("CN=Inter issued a certificate but is not a CA"),
        "{why}"
    );
}

#[test]
fn a_ca_without_key_cert_sign_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::P256, CA_EXT);
    let no_cert_sign = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n";
    pki.issue("Inter", KeyKind::P256, "Root", no_cert_sign, 3650, &[]);
    pki.issue("Leaf", KeyKind::P256, "Inter", LEAF_EXT, 365, &[]);
    let (trusted, why) = pki.agree("Root", &["Inter"], "Leaf", 0);
    assert!(!trusted);
    assert!(why.contains("lacks keyCertSign"), "{why}");
}

#[test]
fn a_path_longer_than_path_len_allows_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root(
        "Root",
        KeyKind::P256,
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n",
    );
    pki.issue("Inter", KeyKind::P256, "Root", CA_EXT, 3650, &[]);
    pki.issue("Leaf", KeyKind::P256, "Inter", LEAF_EXT, 365, &[]);
    let (trusted, why) = pki.agree("Root", &["Inter"], "Leaf", 0);
    assert!(!trusted);
    assert!(why.contains("allows 0 intermediate CA(s)"), "{why}");
}

#[test]
fn an_unknown_root_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = three_level(KeyKind::P256, KeyKind::P256, KeyKind::P256);
    pki.root("Other", KeyKind::P256, CA_EXT);
    let (trusted, why) = pki.agree("Other", &["Inter"], "Leaf", 0);
    assert!(!trusted);
    assert!(why.contains("the issuer CN=Root is unknown"), "{why}");
    // The root sent along with the chain (as many signers do) does not make it trusted.
    let (trusted, why) = pki.agree("Other", &["Inter", "Root"], "Leaf", 0);
    assert!(!trusted);
    assert!(
        why.contains("ends at CN=Root, which is not a trust anchor"),
        "{why}"
    );
}

#[test]
fn a_missing_intermediate_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = three_level(KeyKind::P256, KeyKind::P256, KeyKind::P256);
    let (trusted, why) = pki.agree("Root", &[], "Leaf", 0);
    assert!(!trusted);
    assert!(why.contains("the issuer CN=Inter is unknown"), "{why}");
}

#[test]
fn a_tampered_signature_is_refused_by_both() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::Rsa, CA_EXT);
    pki.issue("Leaf", KeyKind::P256, "Root", LEAF_EXT, 365, &[]);
    pki.openssl(&[
        "x509", "-in", "Leaf.crt", "-outform", "DER", "-out", "Leaf.der",
    ]);
    let mut der = std::fs::read(pki.path("Leaf.der")).unwrap();
    // The signature BIT STRING is the end of the certificate.
    let last = der.len() - 10;
    der[last] ^= 0x01;
    std::fs::write(pki.path("Leaf.der"), &der).unwrap();
    pki.openssl(&[
        "x509", "-inform", "DER", "-in", "Leaf.der", "-out", "Leaf.crt",
    ]);
    let (trusted, why) = pki.agree("Root", &[], "Leaf", 0);
    assert!(!trusted);
    assert!(why.contains("the signature does not verify"), "{why}");
}

#[test]
fn a_sha1_signed_certificate_is_refused_with_its_reason() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::Rsa, CA_EXT);
    pki.issue("Leaf", KeyKind::P256, "Root", LEAF_EXT, 365, &["-sha1"]);
    let why = pki.sealmail_verdict("Root", &[], "Leaf", 0).describe();
    assert!(why.contains("SHA-1 signatures are refused"), "{why}");
}

#[test]
fn a_pinned_certificate_is_trusted_as_it_is() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::P256, CA_EXT);
    pki.issue("Leaf", KeyKind::P256, "Root", LEAF_EXT, 365, &[]);
    let keyring = pki.path("keyring");
    std::fs::create_dir_all(keyring.join("pinned")).unwrap();
    std::fs::copy(pki.path("Leaf.crt"), keyring.join("pinned/alice.crt")).unwrap();
    std::fs::write(keyring.join("pinned/junk.crt"), "not a certificate").unwrap();
    let sources = TrustSources {
        keyring: Some(keyring),
        ..TrustSources::default()
    };
    let store = TrustStore::load(&sources).unwrap();
    assert_eq!(store.warnings().len(), 1, "{:?}", store.warnings());
    assert!(store.warnings()[0].contains("junk.crt"));
    let leaf = pki.cert("Leaf");
    assert!(store.is_pinned(&leaf));
    let verdict = store.validate(&leaf, &[], SystemTime::now(), Purpose::EmailSigning);
    assert_eq!(verdict.describe(), "trusted: pinned certificate CN=Leaf");
    // Pinning does not outlive the certificate.
    let later = SystemTime::now() + Duration::from_secs(400 * 86400);
    assert!(
        !store
            .validate(&leaf, &[], later, Purpose::EmailSigning)
            .is_trusted()
    );
}

#[test]
fn ca_files_and_the_user_ca_folder_are_anchors() {
    if !has_tool("openssl") {
        return;
    }
    let pki = three_level(KeyKind::P256, KeyKind::P256, KeyKind::P256);
    let leaf = pki.cert("Leaf");
    let pool = [pki.cert("Inter")];
    let now = SystemTime::now();

    let from_file = TrustStore::load(&TrustSources {
        ca_files: vec![pki.path("Root.crt")],
        ..TrustSources::default()
    })
    .unwrap();
    assert!(
        from_file
            .validate(&leaf, &pool, now, Purpose::EmailSigning)
            .is_trusted()
    );

    let config = pki.path("config");
    std::fs::create_dir_all(config.join("sealmail/ca")).unwrap();
    std::fs::copy(pki.path("Root.crt"), config.join("sealmail/ca/root.pem")).unwrap();
    let env = |name: &str| match name {
        "XDG_CONFIG_HOME" => Some(config.clone().into_os_string()),
        // An empty system store: the test must not depend on the machine's.
        "SSL_CERT_FILE" => Some(pki.path("none.pem").into_os_string()),
        _ => None,
    };
    let sources = TrustSources::from_env(&env);
    assert!(sources.system);
    let from_config = TrustStore::load_with_env(&sources, &env).unwrap();
    assert!(
        from_config
            .validate(&leaf, &pool, now, Purpose::EmailSigning)
            .is_trusted()
    );

    let nothing = TrustStore::load_with_env(
        &TrustSources {
            system: true,
            ..TrustSources::default()
        },
        &env,
    )
    .unwrap();
    assert!(
        !nothing
            .validate(&leaf, &pool, now, Purpose::EmailSigning)
            .is_trusted()
    );
}

#[test]
fn the_system_store_is_read_from_ssl_cert_file() {
    if !has_tool("openssl") {
        return;
    }
    let pki = three_level(KeyKind::P256, KeyKind::P256, KeyKind::P256);
    // A bundle with junk between certificates, as distribution bundles have comments.
    let mut bundle = b"# a comment\n".to_vec();
    bundle.extend(std::fs::read(pki.path("Inter.crt")).unwrap());
    bundle.extend(b"-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
    bundle.extend(std::fs::read(pki.path("Root.crt")).unwrap());
    std::fs::write(pki.path("bundle.pem"), bundle).unwrap();
    let bundle_path = pki.path("bundle.pem");
    let env = |name: &str| (name == "SSL_CERT_FILE").then(|| bundle_path.clone().into_os_string());
    let store = TrustStore::load_with_env(
        &TrustSources {
            system: true,
            ..TrustSources::default()
        },
        &env,
    )
    .unwrap();
    let verdict = store.validate(
        &pki.cert("Leaf"),
        &[],
        SystemTime::now(),
        Purpose::EmailSigning,
    );
    // Inter is itself an anchor here, so the path ends there.
    assert_eq!(verdict.describe(), "trusted: chains to CN=Inter");
}

#[test]
fn a_bad_ca_file_is_an_error_naming_it() {
    let dir = common::tempdir();
    let missing = dir.path().join("missing.pem");
    let err = TrustStore::load(&TrustSources {
        ca_files: vec![missing],
        ..TrustSources::default()
    })
    .unwrap_err();
    assert_eq!(err.exit_code(), 66);
    assert!(err.message().contains("missing.pem"), "{}", err.message());

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    let err = TrustStore::load(&TrustSources {
        ca_files: vec![junk],
        ..TrustSources::default()
    })
    .unwrap_err();
    assert_eq!(err.exit_code(), 78);
    assert!(err.message().contains("CA file"), "{}", err.message());
    assert!(
        err.message().contains("not a certificate"),
        "{}",
        err.message()
    );
}

#[test]
fn encryption_purpose_checks_key_encipherment() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.root("Root", KeyKind::P256, CA_EXT);
    let sign_only = LEAF_EXT.replace("digitalSignature,keyEncipherment", "digitalSignature");
    pki.issue("Leaf", KeyKind::Rsa, "Root", &sign_only, 365, &[]);
    let mut store = TrustStore::new();
    store.add_anchor(pki.cert("Root"));
    let leaf = pki.cert("Leaf");
    let now = SystemTime::now();
    assert!(
        store
            .validate(&leaf, &[], now, Purpose::EmailSigning)
            .is_trusted()
    );
    let why = store
        .validate(&leaf, &[], now, Purpose::EmailEncryption)
        .describe();
    assert!(why.contains("does not allow keyEncipherment"), "{why}");
}
