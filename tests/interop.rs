//! Interop with `openssl cms` in both directions (AES-GCM; openssl has no ChaCha20-Poly1305 in
//! CMS): sealmail reads what openssl wrote (fixtures/interop, made by its make.sh), and openssl
//! reads what sealmail writes, live.

mod common;
use common::*;

fn decrypt_fixture(name: &str, key: &str) -> std::process::Output {
    let mut cmd = sealmail();
    cmd.arg("decrypt")
        .arg("-i")
        .arg(fixture(key))
        .arg(fixture(name));
    run(cmd, b"")
}

#[test]
fn sealmail_reads_every_kind_of_openssl_output() {
    let plain = read_fixture("interop/plain.eml");
    for name in [
        "interop/aes256-oaep-sha1.smime",
        "interop/aes256-oaep-sha256.smime",
        "interop/aes128-oaep-sha256.der",
        "interop/aes256-stream.pem",
        "interop/aes256-stream.der",
        "interop/aes256-keyid.smime",
        "interop/aes256-two-recipients.smime",
    ] {
        let out = decrypt_fixture(name, "interop/alice.key");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&plain),
            "{name}"
        );
    }
}

#[test]
fn any_one_of_many_recipients_can_decrypt() {
    let out = decrypt_fixture("interop/aes256-two-recipients.smime", "interop/bob.key");
    assert_ok(&out, "");
    assert_eq!(out.stdout, read_fixture("interop/plain.eml"));
}

/// The installed base's dialect is read too (more of it in tests/installed_base.rs).
#[test]
fn pkcs1v15_key_transport_and_cbc_enveloped_data_are_read() {
    let plain = read_fixture("interop/plain.eml");
    for name in [
        "interop/aes256-pkcs1v15.smime",
        "interop/aes256-cbc-enveloped.smime",
    ] {
        let out = decrypt_fixture(name, "interop/alice.key");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, plain, "{name}");
    }
}

#[test]
fn a_key_that_is_not_a_recipient_gets_77() {
    let out = decrypt_fixture("interop/aes256-keyid.smime", "interop/bob.key");
    assert_fails(&out, 77, "can decrypt");
}

/// Encrypt with sealmail, decrypt with openssl; compare to the canonical (CRLF) entity.
fn openssl_decrypts(args: &[&str], input: &[u8]) -> Vec<u8> {
    let dir = tempdir();
    let sealed = dir.path().join("sealed");
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--cipher", "aes-256-gcm", "-r"])
        .arg(fixture("interop/alice.crt"))
        .args(args)
        .arg("-o")
        .arg(&sealed);
    let out = run(cmd, input);
    assert_ok(&out, "");
    let inform = if args.contains(&"der") {
        "DER"
    } else if args.contains(&"pem") {
        "PEM"
    } else {
        "SMIME"
    };
    let out = openssl()
        .args(["cms", "-decrypt", "-inform", inform, "-in"])
        .arg(&sealed)
        .arg("-inkey")
        .arg(fixture("interop/alice.key"))
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn openssl_reads_sealmail_in_every_output_form() {
    let entity = b"Content-Type: text/plain; charset=utf-8\n\nhello openssl\nline two\n";
    for form in ["smime", "pem", "der"] {
        let got = openssl_decrypts(&["--entity", "--outform", form], entity);
        assert_eq!(got, lf_to_crlf(entity), "form {form}");
    }
}

#[test]
fn openssl_reads_aes_128_gcm_and_several_recipients() {
    let dir = tempdir();
    let sealed = dir.path().join("sealed");
    let entity = b"Content-Type: text/plain\r\n\r\nfor two\r\n";
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--entity", "--cipher", "aes-128-gcm", "-r"])
        .arg(fixture("interop/bob.crt"))
        .arg("-r")
        .arg(fixture("interop/alice.crt"))
        .arg("-o")
        .arg(&sealed);
    assert!(run(cmd, entity).status.success());
    for key in ["interop/alice.key", "interop/bob.key"] {
        let out = openssl()
            .args(["cms", "-decrypt", "-in"])
            .arg(&sealed)
            .arg("-inkey")
            .arg(fixture(key))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, entity);
    }
}

#[test]
fn openssl_reads_a_streamed_ber_message_from_a_pipe() {
    // Larger than sealmail's read-ahead, from stdin: the length is unknown up front, so the
    // envelope is BER with indefinite lengths and a chunked OCTET STRING.
    let mut entity =
        b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n".to_vec();
    entity.extend((0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let got = openssl_decrypts(&["--entity", "--outform", "der"], &entity);
    let header_len = entity.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    assert_eq!(
        &got[..],
        &[
            &lf_to_crlf(&entity[..header_len])[..],
            &entity[header_len..]
        ]
        .concat()[..]
    );
}

#[test]
fn openssl_reads_the_inner_entity_of_a_whole_message() {
    let plain = read_fixture("interop/plain.eml");
    let got = openssl_decrypts(&[], &plain);
    let got = String::from_utf8(got).unwrap();
    assert!(
        got.contains("Content-Type: text/plain; charset=utf-8"),
        "{got}"
    );
    assert!(
        got.ends_with("\r\n\r\nHello Alice,\r\nthis message was encrypted by openssl cms.\r\n"),
        "{got}"
    );
}

#[test]
fn sealmail_reads_what_openssl_writes_live_at_many_sizes() {
    let dir = tempdir();
    for len in [0usize, 1, 15, 16, 17, 4095, 65_536, 300_000] {
        let mut entity =
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                .to_vec();
        entity.extend((0..len).map(|i| (i * 31 + len) as u8));
        let plain = dir.path().join("plain");
        std::fs::write(&plain, &entity).unwrap();
        for (stream, form) in [(false, "DER"), (true, "DER"), (false, "SMIME")] {
            let sealed = dir.path().join("sealed");
            let mut cmd = openssl();
            cmd.args([
                "cms",
                "-encrypt",
                "-binary",
                "-aes-256-gcm",
                "-outform",
                form,
                "-in",
            ])
            .arg(&plain)
            .arg("-out")
            .arg(&sealed)
            .arg("-recip")
            .arg(fixture("interop/alice.crt"))
            .args(["-keyopt", "rsa_padding_mode:oaep"]);
            if stream {
                cmd.arg("-stream");
            }
            let out = cmd.output().unwrap();
            assert_ok(&out, "");
            let mut cmd = sealmail();
            cmd.args(["decrypt", "--entity", "-i"])
                .arg(fixture("interop/alice.key"))
                .arg(&sealed);
            let out = run(cmd, b"");
            assert!(
                out.status.success(),
                "len {len} {form} stream {stream}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Text output follows the input's line endings; DER has none, so LF (Unix) is used
            // for the headers, while the binary body passes untouched.
            let mut expected =
                b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n"
                    .to_vec();
            expected.extend((0..len).map(|i| (i * 31 + len) as u8));
            assert_eq!(out.stdout, expected, "len {len} {form} stream {stream}");
        }
    }
}
