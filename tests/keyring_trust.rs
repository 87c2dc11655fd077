//! Which keyring certificate `encrypt -r ADDRESS` uses when there are several: trusted ones
//! (chaining to an anchor given with `--ca`, in `$XDG_CONFIG_HOME/sealmail/ca/`, or pinned in
//! `KEYRING/pinned/`) win over newer untrusted ones; an untrusted one is used alone with a
//! warning; untrusted ones with different keys are refused (78). Which key the message was
//! sealed to is proved by decrypting it with that key (and failing with the other).
//!
//! The CAs, keys and certificates are made here with openssl (`openssl req`, `openssl ca` for
//! explicit dates, which OpenSSL 3.0's `x509` cannot set), so these tests skip only when openssl
//! is absent.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MESSAGE: &str = "messages/lf/plain.eml";

fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// openssl's configuration for everything here: a CA profile, a mail certificate profile, and
/// an `openssl ca` database under `dir`.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("openssl.cnf");
    std::fs::write(
        &path,
        format!(
            "[req]\ndistinguished_name = dn\n[dn]\n\
             [v3ca]\nbasicConstraints = critical,CA:TRUE\n\
             keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n\
             [email]\nbasicConstraints = CA:FALSE\n\
             keyUsage = critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage = emailProtection\nsubjectAltName = email:copy\n\
             subjectKeyIdentifier = hash\n\
             [ca]\ndefault_ca = testca\n\
             [testca]\ndatabase = {d}/index.txt\nnew_certs_dir = {d}\nserial = {d}/serial\n\
             default_md = sha256\npolicy = anything\nunique_subject = no\n\
             email_in_dn = yes\ncopy_extensions = none\n\
             [anything]\ncommonName = supplied\nemailAddress = optional\n",
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "1000\n").unwrap();
    path
}

/// A workshop in a temporary directory: keys, CAs and certificates made by openssl.
struct Workshop {
    dir: tempfile::TempDir,
    cnf: PathBuf,
}

impl Workshop {
    fn new() -> Workshop {
        let dir = tempdir();
        let cnf = config(dir.path());
        Workshop { dir, cnf }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn key(&self, name: &str) -> PathBuf {
        let key = self.path(&format!("{name}.key"));
        if !key.exists() {
            ok(openssl()
                .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
                .arg("rsa_keygen_bits:2048")
                .arg("-out")
                .arg(&key));
        }
        key
    }

    /// A self-signed CA: returns its certificate.
    fn ca(&self, name: &str, common_name: &str) -> PathBuf {
        let cert = self.path(&format!("{name}.crt"));
        ok(openssl()
            .args(["req", "-new", "-x509", "-days", "3650", "-config"])
            .arg(&self.cnf)
            .args([
                "-extensions",
                "v3ca",
                "-subj",
                &format!("/CN={common_name}"),
            ])
            .arg("-key")
            .arg(self.key(name))
            .arg("-out")
            .arg(&cert));
        cert
    }

    /// A mail certificate for `email` with the key `key_name`, issued by the CA `ca` and valid
    /// from `start` to `end` (YYYYMMDDHHMMSSZ).
    fn issue(
        &self,
        name: &str,
        key_name: &str,
        email: &str,
        ca: &str,
        start: &str,
        end: &str,
    ) -> PathBuf {
        let csr = self.path(&format!("{name}.csr"));
        let cert = self.path(&format!("{name}.crt"));
        ok(openssl()
            .args(["req", "-new", "-config"])
            .arg(&self.cnf)
            .args(["-subj", &format!("/CN={name}/emailAddress={email}")])
            .arg("-key")
            .arg(self.key(key_name))
            .arg("-out")
            .arg(&csr));
        ok(openssl()
            .args(["ca", "-batch", "-notext", "-config"])
            .arg(&self.cnf)
            .args(["-extensions", "email", "-startdate", start, "-enddate", end])
            .arg("-cert")
            .arg(self.path(&format!("{ca}.crt")))
            .arg("-keyfile")
            .arg(self.key(ca))
            .arg("-in")
            .arg(&csr)
            .arg("-out")
            .arg(&cert));
        cert
    }

    /// A keyring holding copies of `certs` (as `NAME.crt`), and of `pinned` in `pinned/`.
    fn keyring(&self, certs: &[&Path], pinned: &[&Path]) -> PathBuf {
        let keyring = self.path("keyring");
        std::fs::create_dir_all(keyring.join("pinned")).unwrap();
        for cert in certs {
            std::fs::copy(cert, keyring.join(cert.file_name().unwrap())).unwrap();
        }
        for cert in pinned {
            std::fs::copy(cert, keyring.join("pinned").join(cert.file_name().unwrap())).unwrap();
        }
        keyring
    }
}

/// `sealmail encrypt -r ADDRESS --keyring KEYRING EXTRA... MESSAGE -o OUT`.
fn encrypt(keyring: &Path, address: &str, extra: &[&str], out: &Path) -> Output {
    sealmail()
        .args(["encrypt", "-r", address, "--keyring"])
        .arg(keyring)
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg(fixture(MESSAGE))
        .output()
        .unwrap()
}

/// Whether `key` (with its certificate `cert`, which names it in the message) decrypts
/// `sealed`, and to the test message.
fn decrypts_with(key: &Path, cert: &Path, sealed: &Path) -> bool {
    let both = sealed.with_extension("key-and-cert.pem");
    let mut pem = std::fs::read(key).unwrap();
    pem.extend(std::fs::read(cert).unwrap());
    std::fs::write(&both, pem).unwrap();
    let out = sealmail()
        .args(["decrypt", "-i"])
        .arg(&both)
        .arg(sealed)
        .output()
        .unwrap();
    if !out.status.success() {
        assert_eq!(
            out.status.code(),
            Some(77),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return false;
    }
    let expected = String::from_utf8_lossy(&read_fixture(MESSAGE)).into_owned();
    let last_line = expected.trim_end().lines().last().unwrap().to_string();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&last_line));
    true
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The issue's impostor: alice's genuine certificate from her CA, and an "Evil CA" certificate
/// for alice@example.org with a later notBefore and a longer validity, side by side.
struct Impostor {
    shop: Workshop,
    keyring: PathBuf,
    genuine_ca: PathBuf,
    evil_ca: PathBuf,
}

fn impostor() -> Impostor {
    let shop = Workshop::new();
    let genuine_ca = shop.ca("genuine-ca", "Genuine CA");
    let evil_ca = shop.ca("evil-ca", "Evil CA");
    let genuine = shop.issue(
        "alice",
        "alice",
        "alice@example.org",
        "genuine-ca",
        "20250101000000Z",
        "20300101000000Z",
    );
    let evil = shop.issue(
        "alice-evil",
        "mallory",
        "alice@example.org",
        "evil-ca",
        "20260601000000Z",
        "20400101000000Z",
    );
    let keyring = shop.keyring(&[&genuine, &evil], &[]);
    Impostor {
        shop,
        keyring,
        genuine_ca,
        evil_ca,
    }
}

#[test]
fn with_ca_the_genuine_certificate_wins_over_a_newer_impostor() {
    if !has_tool("openssl") {
        return;
    }
    let case = impostor();
    let sealed = case.shop.path("sealed.eml");
    let ca = case.genuine_ca.to_str().unwrap();
    let out = encrypt(
        &case.keyring,
        "alice@example.org",
        &["--ca", ca, "-v"],
        &sealed,
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout.is_empty());
    assert!(decrypts_with(
        &case.shop.key("alice"),
        &case.shop.path("alice.crt"),
        &sealed
    ));
    assert!(!decrypts_with(
        &case.shop.key("mallory"),
        &case.shop.path("alice-evil.crt"),
        &sealed
    ));
    // -v says which certificate and why, and what was passed over.
    let line = err
        .lines()
        .find(|l| l.starts_with("sealmail: recipient alice@example.org: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("alice.crt"), "{line}");
    assert!(line.contains("chains to CN=Genuine CA"), "{line}");
    assert!(line.contains("passed over 1 untrusted"), "{line}");
    assert!(line.contains("alice-evil.crt"), "{line}");
    assert!(!err.contains("warning"), "{err}");

    // The anchor may also sit in $XDG_CONFIG_HOME/sealmail/ca/.
    let config = case.shop.path("config");
    std::fs::create_dir_all(config.join("sealmail/ca")).unwrap();
    std::fs::copy(&case.genuine_ca, config.join("sealmail/ca/genuine.pem")).unwrap();
    let sealed = case.shop.path("sealed-xdg.eml");
    let out = sealmail()
        .env("XDG_CONFIG_HOME", &config)
        .args(["encrypt", "-r", "alice@example.org", "--keyring"])
        .arg(&case.keyring)
        .arg("-o")
        .arg(&sealed)
        .arg(fixture(MESSAGE))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(decrypts_with(
        &case.shop.key("alice"),
        &case.shop.path("alice.crt"),
        &sealed
    ));

    // Trust decides, not the file: trusting the Evil CA instead picks the other one.
    let sealed = case.shop.path("sealed-evil.eml");
    let evil_ca = case.evil_ca.to_str().unwrap();
    let out = encrypt(
        &case.keyring,
        "alice@example.org",
        &["--ca", evil_ca],
        &sealed,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(decrypts_with(
        &case.shop.key("mallory"),
        &case.shop.path("alice-evil.crt"),
        &sealed
    ));
}

#[test]
fn without_an_anchor_two_keys_for_one_address_are_78_listing_both() {
    if !has_tool("openssl") {
        return;
    }
    let case = impostor();
    let sealed = case.shop.path("sealed.eml");
    let out = encrypt(&case.keyring, "alice@example.org", &[], &sealed);
    assert_fails(
        &out,
        78,
        "untrusted certificates with different keys for alice@example.org",
    );
    let err = stderr(&out);
    let first = err.lines().next().unwrap();
    assert!(first.contains("alice.crt"), "{first}");
    assert!(first.contains("alice-evil.crt"), "{first}");
    assert!(first.contains("CN=alice-evil"), "{first}");
    assert!(first.contains("serial 0x"), "{first}");
    assert!(err.contains("sealmail: hint: "), "{err}");
    assert!(!sealed.exists());
    // The same to stdout: nothing there.
    let out = sealmail()
        .args(["encrypt", "-r", "alice@example.org", "--keyring"])
        .arg(&case.keyring)
        .arg(fixture(MESSAGE))
        .output()
        .unwrap();
    assert_fails(&out, 78, "alice@example.org");
}

#[test]
fn a_pinned_certificate_wins_over_a_newer_unpinned_one() {
    if !has_tool("openssl") {
        return;
    }
    let shop = Workshop::new();
    shop.ca("unknown-ca", "Unknown CA");
    let old = shop.issue(
        "bob-old",
        "bob",
        "bob@example.org",
        "unknown-ca",
        "20250101000000Z",
        "20350101000000Z",
    );
    let new = shop.issue(
        "bob-new",
        "stranger",
        "bob@example.org",
        "unknown-ca",
        "20260601000000Z",
        "20400101000000Z",
    );
    // As `verify --import` leaves it: the certificate in the keyring and in pinned/.
    let keyring = shop.keyring(&[&old, &new], &[&old]);
    let sealed = shop.path("sealed.eml");
    let out = encrypt(&keyring, "bob@example.org", &["-v"], &sealed);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(decrypts_with(&shop.key("bob"), &old, &sealed));
    assert!(!decrypts_with(&shop.key("stranger"), &new, &sealed));
    assert!(err.contains("trusted: pinned certificate"), "{err}");
    assert!(!err.contains("warning"), "{err}");

    // Pinned only (nothing beside it in the keyring) is found too.
    let only_pinned = shop.path("only-pinned");
    std::fs::create_dir_all(only_pinned.join("pinned")).unwrap();
    std::fs::copy(&old, only_pinned.join("pinned/bob.crt")).unwrap();
    std::fs::copy(&new, only_pinned.join("bob-new.crt")).unwrap();
    let sealed = shop.path("sealed-2.eml");
    let out = encrypt(&only_pinned, "bob@example.org", &[], &sealed);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(decrypts_with(&shop.key("bob"), &old, &sealed));
}

#[test]
fn one_untrusted_key_is_used_with_a_warning_naming_the_certificate() {
    if !has_tool("openssl") {
        return;
    }
    let shop = Workshop::new();
    shop.ca("unknown-ca", "Unknown CA");
    // Two certificates for carol's one key (a renewal): not a conflict; the newer is used.
    let older = shop.issue(
        "carol-2025",
        "carol",
        "carol@example.org",
        "unknown-ca",
        "20250101000000Z",
        "20350101000000Z",
    );
    let newer = shop.issue(
        "carol-2026",
        "carol",
        "carol@example.org",
        "unknown-ca",
        "20260101000000Z",
        "20300101000000Z",
    );
    let keyring = shop.keyring(&[&older, &newer], &[]);
    let sealed = shop.path("sealed.eml");
    let out = encrypt(&keyring, "carol@example.org", &[], &sealed);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout.is_empty());
    assert!(decrypts_with(&shop.key("carol"), &newer, &sealed));
    let warning = err
        .lines()
        .find(|l| l.starts_with("sealmail: warning: using an untrusted certificate"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(warning.contains("carol@example.org"), "{warning}");
    assert!(warning.contains("carol-2026.crt"), "{warning}");
    assert!(warning.contains("CN=carol-2026"), "{warning}");
    assert!(warning.contains("serial 0x"), "{warning}");
    assert!(warning.contains("not trusted"), "{warning}");
}

/// `inspect` names each recipient's keyring certificate, whether it is trusted, and whether it
/// is the one encrypt would choose: a message sealed to the impostor says so.
#[test]
fn inspect_says_whether_each_recipient_is_the_keyrings_choice() {
    if !has_tool("openssl") {
        return;
    }
    let case = impostor();
    let ca = case.genuine_ca.to_str().unwrap();
    let to_genuine = case.shop.path("genuine.eml");
    let out = encrypt(
        &case.keyring,
        "alice@example.org",
        &["--ca", ca],
        &to_genuine,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let to_evil = case.shop.path("evil.eml");
    let out = sealmail()
        .args(["encrypt", "-r"])
        .arg(case.shop.path("alice-evil.crt"))
        .arg("-o")
        .arg(&to_evil)
        .arg(fixture(MESSAGE))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let inspect = |sealed: &Path| {
        let out = sealmail()
            .args(["inspect", "--ca", ca, "--keyring"])
            .arg(&case.keyring)
            .arg(sealed)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let genuine = inspect(&to_genuine);
    let note = genuine
        .lines()
        .find(|l| l.contains("alice@example.org: "))
        .unwrap_or_else(|| panic!("{genuine}"));
    assert!(note.contains("alice.crt"), "{note}");
    assert!(note.contains("trusted: chains to CN=Genuine CA"), "{note}");
    assert!(
        note.contains("the keyring's choice for alice@example.org"),
        "{note}"
    );

    // openssl names the recipient by subject key identifier (-keyid): found all the same.
    let by_keyid = case.shop.path("keyid.p7m");
    ok(openssl()
        .args([
            "cms",
            "-encrypt",
            "-aes-256-cbc",
            "-keyid",
            "-outform",
            "DER",
            "-in",
        ])
        .arg(fixture(MESSAGE))
        .arg("-out")
        .arg(&by_keyid)
        .arg("-recip")
        .arg(case.shop.path("alice.crt")));
    let keyid = inspect(&by_keyid);
    assert!(keyid.contains("subject key identifier"), "{keyid}");
    let note = keyid
        .lines()
        .find(|l| l.contains("alice@example.org: "))
        .unwrap_or_else(|| panic!("{keyid}"));
    assert!(note.contains("alice.crt"), "{note}");
    assert!(note.contains("the keyring's choice"), "{note}");

    let evil = inspect(&to_evil);
    let note = evil
        .lines()
        .find(|l| l.contains("alice@example.org: "))
        .unwrap_or_else(|| panic!("{evil}"));
    assert!(note.contains("alice-evil.crt"), "{note}");
    assert!(note.contains("not trusted"), "{note}");
    assert!(note.contains("NOT the keyring's choice"), "{note}");
}

#[test]
fn a_missing_ca_file_is_66_and_writes_nothing() {
    if !has_tool("openssl") {
        return;
    }
    let case = impostor();
    let sealed = case.shop.path("sealed.eml");
    let missing = case.shop.path("no-such-ca.pem");
    let out = encrypt(
        &case.keyring,
        "alice@example.org",
        &["--ca", missing.to_str().unwrap()],
        &sealed,
    );
    assert_fails(&out, 66, "no-such-ca.pem");
    assert!(!sealed.exists());
}
