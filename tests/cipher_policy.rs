//! `--cipher auto`: the format follows what the recipients are known to read. A recipient with
//! unknown capabilities gets EnvelopedData AES-256-CBC with PKCS#1 v1.5, which openssl (and
//! every other S/MIME client) reads; sealmail's own certificates advertise the AEADs and OAEP;
//! the keyring's ADDRESS.caps file sets what an address gets.

mod common;
use common::*;
use std::path::Path;

const MESSAGE: &[u8] = b"From: CI <ci@example.org>\nTo: Alice <alice@example.org>\nSubject: build 42\n\nThe build passed.\n";

fn encrypt(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut cmd = sealmail();
    cmd.arg("encrypt").args(args);
    run(cmd, input)
}

fn inspect(sealed: &[u8]) -> String {
    let mut cmd = sealmail();
    cmd.arg("inspect");
    let out = run(cmd, sealed);
    assert_ok(&out, "");
    String::from_utf8(out.stdout).unwrap()
}

fn openssl_decrypt(sealed: &[u8], key: &Path) -> Vec<u8> {
    let dir = tempdir();
    let path = dir.path().join("sealed");
    std::fs::write(&path, sealed).unwrap();
    let out = openssl()
        .args(["cms", "-decrypt", "-in"])
        .arg(&path)
        .arg("-inkey")
        .arg(key)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A certificate without the SMIMECapabilities extension: EnvelopedData, AES-256-CBC, PKCS#1
/// v1.5, labelled enveloped-data; openssl decrypts it, and so does sealmail (with its warning).
#[test]
fn unknown_capabilities_get_the_installed_base_format_that_openssl_reads() {
    let alice = fixture("interop/alice.crt");
    let out = encrypt(&["-v", "-r", alice.to_str().unwrap()], MESSAGE);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("EnvelopedData with aes-256-cbc")
            && stderr.contains(&format!(
                "nothing is known of what {} reads",
                alice.display()
            )),
        "{stderr}"
    );
    let sealed = out.stdout;
    let text = String::from_utf8_lossy(&sealed);
    assert!(text.contains("smime-type=enveloped-data;"), "{text}");
    let info = inspect(&sealed);
    for line in [
        "content type: envelopedData",
        "cipher: aes-256-cbc",
        "key transport: RSA PKCS#1 v1.5",
        "integrity protection: NO",
    ] {
        assert!(info.contains(line), "{line:?} in {info}");
    }
    let got = openssl_decrypt(&sealed, &fixture("interop/alice.key"));
    assert!(
        got.ends_with(b"The build passed.\r\n"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"])
        .arg(fixture("interop/alice.key"));
    let out = run(cmd, &sealed);
    assert!(out.status.success());
    assert_eq!(out.stdout, MESSAGE);
}

/// Named CBC ciphers, neomutt's `aes256` / `aes128` among them, and a streamed BER message
/// larger than the read-ahead, all read by openssl.
#[test]
fn named_cbc_ciphers_are_honoured_and_openssl_reads_them() {
    let alice = fixture("interop/alice.crt");
    let entity = b"Content-Type: text/plain\n\nhello\n";
    for (cipher, shown) in [
        ("aes-128-cbc", "cipher: aes-128-cbc"),
        ("aes256", "cipher: aes-256-cbc"),
        ("aes128", "cipher: aes-128-cbc"),
    ] {
        let out = encrypt(
            &[
                "--entity",
                "--cipher",
                cipher,
                "-r",
                alice.to_str().unwrap(),
            ],
            entity,
        );
        assert!(out.status.success(), "{cipher}");
        assert!(inspect(&out.stdout).contains(shown), "{cipher}");
        assert_eq!(
            openssl_decrypt(&out.stdout, &fixture("interop/alice.key")),
            lf_to_crlf(entity),
            "{cipher}"
        );
    }
    // 3 MiB through a pipe: BER with indefinite lengths.
    let mut big =
        b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n".to_vec();
    big.extend((0..3 << 20).map(|i: u32| (i * 7 % 251) as u8));
    let out = encrypt(
        &[
            "--entity",
            "--outform",
            "der",
            "-r",
            alice.to_str().unwrap(),
        ],
        &big,
    );
    assert!(out.status.success());
    assert_eq!(out.stdout[1], 0x80, "BER from a pipe");
    let dir = tempdir();
    let path = dir.path().join("big.der");
    std::fs::write(&path, &out.stdout).unwrap();
    let plain = openssl()
        .args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
        .arg(&path)
        .arg("-inkey")
        .arg(fixture("interop/alice.key"))
        .output()
        .unwrap();
    assert_ok(&plain, "");
    assert!(plain.stdout.ends_with(&big[big.len() - 1000..]));
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--entity", "--inform", "der", "-i"])
        .arg(fixture("interop/alice.key"));
    let back = run(cmd, &out.stdout);
    assert!(back.status.success());
    assert!(back.stdout.ends_with(&big[big.len() - 1000..]));
}

/// keygen certificates advertise the AEADs and OAEP: auto picks ChaCha20-Poly1305 with OAEP.
#[test]
fn keygen_certificates_get_chacha20_poly1305_and_oaep() {
    let dir = tempdir();
    let mut cmd = sealmail();
    cmd.args([
        "keygen",
        "--email",
        "carol@example.org",
        "--bits",
        "2048",
        "-o",
    ])
    .arg(dir.path().join("carol"));
    let out = run(cmd, b"");
    assert_ok(&out, "");
    let cert = dir.path().join("carol.crt");
    let out = encrypt(&["--explain", "-r", cert.to_str().unwrap()], MESSAGE);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("chacha20-poly1305: every recipient reads it"),
        "{stderr}"
    );
    let info = inspect(&out.stdout);
    assert!(info.contains("cipher: chacha20-poly1305"), "{info}");
    assert!(info.contains("RSAES-OAEP"), "{info}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("smime-type=authEnveloped-data;"));
    // openssl sees the extension too.
    let text = openssl()
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("S/MIME Capabilities"));
}

/// The README's first command: the committed keygen fixture (fixtures/keygen/dana.crt) gets
/// ChaCha20-Poly1305 with OAEP, and its key gives the message back without a warning.
#[test]
fn the_readme_first_command_writes_chacha20_for_the_keygen_fixture() {
    let cert = fixture("keygen/dana.crt");
    let message = std::fs::read(fixture("interop/plain.eml")).unwrap();
    let out = encrypt(&["-r", cert.to_str().unwrap()], &message);
    assert_ok(&out, "");
    assert!(inspect(&out.stdout).contains("cipher: chacha20-poly1305"));
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"]).arg(fixture("keygen/dana.key"));
    let back = run(cmd, &out.stdout);
    assert!(back.status.success());
    assert_eq!(back.stdout, message);
    assert!(
        back.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
}

/// The keyring's ADDRESS.caps decides for that address; a bad token is a configuration error.
#[test]
fn the_keyring_caps_file_sets_what_an_address_gets() {
    let dir = tempdir();
    std::fs::copy(fixture("interop/alice.crt"), dir.path().join("alice.crt")).unwrap();
    let keyring = dir.path().to_str().unwrap();
    let args = ["-v", "--keyring", keyring, "-r", "alice@example.org"];
    let out = encrypt(&args, MESSAGE);
    assert!(inspect(&out.stdout).contains("cipher: aes-256-cbc"));
    std::fs::write(
        dir.path().join("alice@example.org.caps"),
        "# from a signed mail\naes-256-gcm\nrsa-oaep\n",
    )
    .unwrap();
    let out = encrypt(&args, MESSAGE);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("alice@example.org"), "{stderr}");
    let info = inspect(&out.stdout);
    assert!(info.contains("cipher: aes-256-gcm"), "{info}");
    assert!(info.contains("RSAES-OAEP"), "{info}");
    std::fs::write(
        dir.path().join("alice@example.org.caps"),
        "aes-256-gcm\nrc2\n",
    )
    .unwrap();
    assert_fails(&encrypt(&args, MESSAGE), 78, "unknown capability \"rc2\"");
}
