//! neomutt drop-in: the command lines of the README's muttrc, driven the way neomutt runs them —
//! the entity in a file (%f), certificates as trailing arguments (%c), the DER read back from
//! stdout; on decrypt the passphrase and a newline on stdin, the message in a file — and the
//! `.index` files `sealmail neomutt-index` writes, read the way neomutt reads them.

mod common;
use common::*;

const PASSPHRASE: &[u8] = b"correct horse battery staple\n";
const ENTITY: &[u8] = b"Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe aus neomutt\n--b1\nContent-Type: application/octet-stream; name=\"x.bin\"\nContent-Transfer-Encoding: base64\n\nAAECAw==\n--b1--\n";

/// `sealmail encrypt --entity --outform der --cipher %a %f %c`: every `smime_encrypt_with` value
/// neomutt may pass is still accepted (the README's recipe leaves `--cipher` out).
fn neomutt_encrypt(dir: &std::path::Path, cipher: &str, certs: &[&str]) -> std::path::PathBuf {
    let f = dir.join("entity");
    std::fs::write(&f, ENTITY).unwrap();
    let mut cmd = sealmail();
    cmd.args([
        "encrypt",
        "--entity",
        "--outform",
        "der",
        "--cipher",
        cipher,
    ])
    .arg(&f);
    for c in certs {
        cmd.arg(fixture(c));
    }
    let out = run(cmd, b"");
    assert_ok(&out, "");
    assert_eq!(out.stdout.first(), Some(&0x30), "not DER");
    let der = dir.join("smime.p7m");
    std::fs::write(&der, &out.stdout).unwrap();
    der
}

/// `smime_decrypt_command = "sealmail decrypt --entity --inform der --passphrase-fd 0 -i %k %f"`
fn neomutt_decrypt(key: &str, der: &std::path::Path, stdin: &[u8]) -> std::process::Output {
    let mut cmd = sealmail();
    cmd.args([
        "decrypt",
        "--entity",
        "--inform",
        "der",
        "--passphrase-fd",
        "0",
        "-i",
    ])
    .arg(fixture(key))
    .arg(der);
    run(cmd, stdin)
}

#[test]
fn neomutt_encrypt_and_decrypt_with_a_passphrase_on_stdin() {
    let dir = tempdir();
    let der = neomutt_encrypt(dir.path(), "aes256", &["keys/alice.crt", "keys/bob.crt"]);
    for key in ["keys/alice.pbkdf2.pem", "keys/alice.scrypt.pem"] {
        let out = neomutt_decrypt(key, &der, PASSPHRASE);
        assert!(
            out.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, ENTITY, "{key}");
    }
    // bob, the second %c certificate, can read it too (his key is not encrypted: stdin unused).
    let out = neomutt_decrypt("keys/bob.key", &der, PASSPHRASE);
    assert_eq!(out.stdout, ENTITY);
}

#[test]
fn what_neomutt_sends_openssl_can_read() {
    let dir = tempdir();
    let der = neomutt_encrypt(dir.path(), "aes128", &["keys/alice.crt"]);
    let out = openssl()
        .args(["cms", "-decrypt", "-inform", "DER", "-in"])
        .arg(&der)
        .arg("-inkey")
        .arg(fixture("keys/alice.key"))
        .output()
        .unwrap();
    assert_ok(&out, "");
    assert_eq!(out.stdout, lf_to_crlf(ENTITY));
}

#[test]
fn every_cipher_name_neomutt_may_pass_is_accepted() {
    let dir = tempdir();
    for cipher in ["aes256", "aes128", "aes-256-gcm", "chacha20-poly1305"] {
        let der = neomutt_encrypt(dir.path(), cipher, &["keys/alice.crt"]);
        let out = neomutt_decrypt("keys/alice.key", &der, PASSPHRASE);
        assert_eq!(out.stdout, ENTITY, "{cipher}");
    }
}

#[test]
fn a_wrong_passphrase_is_a_clear_error_with_nothing_on_stdout() {
    let dir = tempdir();
    let der = neomutt_encrypt(dir.path(), "aes256", &["keys/alice.crt"]);
    let out = neomutt_decrypt("keys/alice.pbkdf2.pem", &der, b"wrong horse\n");
    assert_fails(&out, 78, "wrong passphrase");
}

// ---------------------------------------------------------------------------------------------
// sealmail neomutt-index and the README's muttrc

/// One `.index` line as neomutt's `smime_parse_key` reads it: fields split at blanks, at least
/// mailbox, name and label.
#[derive(Debug, PartialEq)]
struct IndexLine {
    mailbox: String,
    name: String,
    label: String,
    issuer: String,
    trust: char,
    purpose: String,
}

fn read_index(folder: &std::path::Path) -> Vec<IndexLine> {
    let text = std::fs::read_to_string(folder.join(".index")).unwrap_or_default();
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
            assert!(f.len() >= 3, "neomutt skips this line: {line:?}");
            IndexLine {
                mailbox: f[0].into(),
                name: f[1].into(),
                label: f[2].into(),
                issuer: f.get(3).unwrap_or(&"?").to_string(),
                trust: f.get(4).and_then(|t| t.chars().next()).unwrap_or('t'),
                purpose: f.get(5).unwrap_or(&"es").to_string(),
            }
        })
        .collect()
}

/// neomutt's `smime_get_key_by_addr` without a menu: the trusted entry for `mailbox` that can
/// encrypt.
fn neomutt_finds(folder: &std::path::Path, mailbox: &str) -> Option<String> {
    read_index(folder)
        .into_iter()
        .find(|l| {
            l.mailbox.eq_ignore_ascii_case(mailbox) && l.trust == 't' && l.purpose.contains('e')
        })
        .map(|l| l.name)
}

/// `set NAME = "VALUE"` lines of the README's muttrc block.
fn muttrc() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let block = readme
        .split_once("<!-- recipe: neomuttrc -->")
        .expect("README.md has the neomuttrc recipe")
        .1;
    let block = &block[block.find("```").unwrap()..];
    let block = &block[block.find('\n').unwrap() + 1..];
    let block = &block[..block.find("```").unwrap()];
    block
        .lines()
        .filter_map(|l| {
            let (name, value) = l.strip_prefix("set ")?.split_once('=')?;
            Some((
                name.trim().to_string(),
                value.trim().trim_matches('"').to_string(),
            ))
        })
        .collect()
}

fn setting<'a>(rc: &'a [(String, String)], name: &str) -> &'a str {
    &rc.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("muttrc lacks {name}"))
        .1
}

/// A home with sealmail on PATH (as `sealmail`), and the copies of keygen-style files to add.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempdir();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_sealmail"), bin.join("sealmail")).unwrap();
        for name in [
            "alice.pbkdf2.pem",
            "alice.crt",
            "bob.key",
            "bob.crt",
            "ca.crt",
            "garbage.pem",
        ] {
            std::fs::copy(fixture(&format!("keys/{name}")), dir.path().join(name)).unwrap();
        }
        // keygen's pair: NAME.key with NAME.crt beside it (here with a passphrase).
        std::fs::rename(
            dir.path().join("alice.pbkdf2.pem"),
            dir.path().join("alice.key"),
        )
        .unwrap();
        Home { dir }
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    /// `sh -c SCRIPT` with HOME here and our sealmail first on PATH, as neomutt runs commands.
    fn sh(&self, script: &str, stdin: &[u8]) -> std::process::Output {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.path("bin")];
        paths.extend(std::env::split_paths(&path));
        let mut cmd = clean_command("sh");
        cmd.args(["-c", script])
            .env("HOME", self.dir.path())
            .env("PATH", std::env::join_paths(paths).unwrap())
            .current_dir(self.dir.path());
        run(cmd, stdin)
    }

    fn index(&self, args: &str) -> std::process::Output {
        self.sh(&format!("sealmail neomutt-index {args}"), b"")
    }
}

fn stdout_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn neomutt_index_writes_the_index_lines_and_files_neomutt_reads() {
    let home = Home::new();
    let out = home.index("alice.key bob.crt");
    assert_ok(&out, "");
    let certs = home.path(".smime/certificates");
    let keys = home.path(".smime/keys");

    let alice = neomutt_finds(&keys, "Alice@Example.org").expect("alice's key in keys/.index");
    let bob = neomutt_finds(&certs, "bob@example.org").expect("bob in certificates/.index");
    assert_eq!(
        neomutt_finds(&certs, "alice@example.org"),
        Some(alice.clone())
    );
    assert_ne!(alice, bob);
    for name in [&alice, &bob] {
        assert_eq!(name.len(), "3f2a9c01.0".len(), "{name}");
        assert!(name.ends_with(".0"), "{name}");
    }
    let lines = read_index(&certs);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert_eq!(
            (line.issuer.as_str(), line.trust, line.purpose.as_str()),
            ("?", 't', "es")
        );
        assert!(!line.label.is_empty());
    }
    assert_eq!(
        stdout_lines(&out),
        [
            format!(
                "certificate {alice} alice@example.org ({})",
                certs.join(&alice).display()
            ),
            format!(
                "key {alice} alice@example.org ({})",
                keys.join(&alice).display()
            ),
            format!(
                "certificate {bob} bob@example.org ({})",
                certs.join(&bob).display()
            ),
        ]
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("smime_default_key = \"{alice}\""))
    );

    // The certificate file is the certificate; the key file is the key (still encrypted) and then
    // its certificate, private to the user.
    let cert_der = |path: &std::path::Path| {
        let out = openssl()
            .args(["x509", "-outform", "DER", "-in"])
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", path.display());
        out.stdout
    };
    assert_eq!(cert_der(&certs.join(&bob)), cert_der(&home.path("bob.crt")));
    assert_eq!(
        cert_der(&keys.join(&alice)),
        cert_der(&home.path("alice.crt"))
    );
    let key_file = std::fs::read_to_string(keys.join(&alice)).unwrap();
    assert!(key_file.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(keys.join(&alice))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Again: nothing new.
    let before = (
        std::fs::read(certs.join(".index")).unwrap(),
        std::fs::read(keys.join(".index")).unwrap(),
    );
    let again = home.index("alice.key bob.crt");
    assert_ok(&again, "");
    assert_eq!(
        before,
        (
            std::fs::read(certs.join(".index")).unwrap(),
            std::fs::read(keys.join(".index")).unwrap()
        )
    );
}

#[test]
fn the_readme_muttrc_sends_and_reads_mail_with_the_index_it_describes() {
    let home = Home::new();
    let out = home.index("alice.key bob.key");
    assert_ok(&out, "");
    let rc = muttrc();
    let expand_home = |v: &str| v.replacen('~', home.dir.path().to_str().unwrap(), 1);
    let certs = expand_home(setting(&rc, "smime_certificates"));
    let keys = expand_home(setting(&rc, "smime_keys"));
    assert_eq!(
        std::path::Path::new(&certs),
        home.path(".smime/certificates")
    );

    // Sending to alice and bob: neomutt looks both up in certificates/.index and passes
    // "$smime_certificates/NAME ..." as %c.
    let names: Vec<String> = ["alice@example.org", "bob@example.org"]
        .iter()
        .map(|a| neomutt_finds(std::path::Path::new(&certs), a).expect("in the index"))
        .collect();
    let c = names
        .iter()
        .map(|n| format!("{certs}/{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(home.path("entity"), ENTITY).unwrap();
    let encrypt = setting(&rc, "smime_encrypt_command")
        .replace("%f", &home.path("entity").display().to_string())
        .replace("%c", &c);
    assert!(
        !encrypt.contains("--cipher") && !encrypt.contains('%'),
        "{encrypt}"
    );
    let sealed = home.sh(&encrypt, b"");
    assert_ok(&sealed, "");
    assert!(
        sealed.stderr.is_empty(),
        "neomutt pauses on any stderr output"
    );
    assert_eq!(sealed.stdout.first(), Some(&0x30), "not DER");
    std::fs::write(home.path("smime.p7m"), &sealed.stdout).unwrap();

    // Reading: %k is "$smime_keys/$smime_default_key", the passphrase comes on stdin. The README's
    // default key is a placeholder; each user's is what neomutt-index printed for their key.
    for (who, stdin) in [("alice", PASSPHRASE), ("bob", PASSPHRASE)] {
        let default_key =
            neomutt_finds(std::path::Path::new(&keys), &format!("{who}@example.org")).unwrap();
        let decrypt = setting(&rc, "smime_decrypt_command")
            .replace("%k", &format!("{keys}/{default_key}"))
            .replace("%f", &home.path("smime.p7m").display().to_string());
        let out = home.sh(&decrypt, stdin);
        assert!(
            out.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, ENTITY, "{who}");
    }

    // neomutt's import of certificates out of a signed message: `openssl pkcs7 -print_certs`
    // output (subject/issuer lines, the chain's CA among them) goes to the import command.
    let extracted = format!(
        "subject=CN = carol\n{}\nsubject=CN = CA\n{}",
        std::fs::read_to_string(fixture("keys/carol.crt")).unwrap(),
        std::fs::read_to_string(fixture("keys/ca.crt")).unwrap()
    );
    std::fs::write(home.path("certfile"), extracted).unwrap();
    let import = setting(&rc, "smime_import_cert_command")
        .replace("%f", &home.path("certfile").display().to_string());
    let out = home.sh(&import, b"a label\n");
    assert_ok(&out, "");
    assert!(neomutt_finds(std::path::Path::new(&certs), "carol@example.org").is_some());
    assert_eq!(read_index(std::path::Path::new(&certs)).len(), 3);
}

#[test]
fn neomutt_index_refuses_what_it_cannot_index_and_writes_nothing() {
    let home = Home::new();
    std::fs::remove_file(home.path("alice.crt")).unwrap();
    for (file, code, needle) in [
        ("alice.key", 78, "without its certificate"),
        ("ca.crt", 78, "only CA certificates"),
        ("garbage.pem", 78, "garbage.pem"),
        ("missing.crt", 66, "missing.crt"),
    ] {
        let out = home.index(file);
        assert_fails(&out, code, needle);
        assert!(
            !home.path(".smime").exists(),
            "{file}: something was written"
        );
    }
}
