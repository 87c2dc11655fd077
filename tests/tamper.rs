//! Tamper sweeps (SECURITY.md): flip every bit of a small message's DER and truncate it at every
//! offset, for ChaCha20-Poly1305 and AES-GCM, and flip a dense sample of its S/MIME base64 body.
//! Every case must be refused, or, where the change hit unauthenticated metadata (the
//! RecipientInfo's identifier and algorithm parameters; the inner content type, which decrypt
//! does not act on), yield exactly the original plaintext. Never different plaintext, never a partial output.
//!
//! In-process through the library, so thousands of cases run quickly; a few cases go through
//! the binary to check the exit codes.

mod common;

use common::*;
use sealmail::Kind;
use sealmail::decrypt::{self, DecryptPlan};
use sealmail::keys::{self, Identity, NoPassphrase};
use sealmail::smime::InForm;
use std::ops::Range;

const PLAIN: &[u8] = b"From: a@example.org\nTo: alice@example.org\nSubject: tamper\n\nhello\n";

/// One plan for a whole sweep: `decrypt` borrows it, so the key is parsed once.
fn plan() -> DecryptPlan {
    let identities: Vec<Identity> =
        keys::load_identity_file(&fixture("interop/alice.key"), &mut NoPassphrase)
            .expect("alice.key");
    DecryptPlan {
        identities,
        inform: InForm::Auto,
        entity: false,
        require_aead: false,
    }
}

fn decrypt(plan: &DecryptPlan, data: &[u8]) -> sealmail::Result<Vec<u8>> {
    let mut out = Vec::new();
    let result = decrypt::decrypt(plan, Box::new(data), &mut out);
    if let Err(e) = &result {
        assert!(
            out.is_empty(),
            "{} bytes released before: {}",
            out.len(),
            e.message()
        );
    }
    result.map(|_| out)
}

fn encrypt(cipher: &str, outform: &str) -> Vec<u8> {
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--cipher", cipher, "--outform", outform, "-r"])
        .arg(fixture("interop/alice.crt"));
    let out = run(cmd, PLAIN);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    out.stdout
}

/// Header length and content length of the definite-length element at `at`.
fn header(der: &[u8], at: usize) -> (usize, usize) {
    let first = der[at + 1];
    if first < 0x80 {
        (2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        let len = der[at + 2..at + 2 + n]
            .iter()
            .fold(0, |a, &b| (a << 8) | b as usize);
        (2 + n, len)
    }
}

/// Where the RecipientInfos SET is in a sealmail DER message (definite lengths throughout):
/// ContentInfo > [0] > AuthEnvelopedData > version, SET.
fn recipient_infos(der: &[u8]) -> Range<usize> {
    let ci_hl = header(der, 0).0;
    let oid_end = ci_hl + 2 + der[ci_hl + 1] as usize;
    let aed = oid_end + header(der, oid_end).0;
    let version = aed + header(der, aed).0;
    let set = version + 3;
    assert_eq!(der[set], 0x31, "RecipientInfos SET");
    let (hl, len) = header(der, set);
    set..set + hl + len
}

/// The inner content type OID (id-data), first in the EncryptedContentInfo after the SET.
fn inner_content_type(der: &[u8]) -> Range<usize> {
    let eci = recipient_infos(der).end;
    let oid = eci + header(der, eci).0;
    assert_eq!(der[oid], 0x06, "content type OID");
    let (hl, len) = header(der, oid);
    oid..oid + hl + len
}

/// The ciphertext bytes (the content of the primitive `[0]` after the algorithm identifier).
fn ciphertext(der: &[u8]) -> Range<usize> {
    let alg = inner_content_type(der).end;
    let (hl, len) = header(der, alg);
    let content = alg + hl + len;
    assert_eq!(der[content], 0x80, "primitive encryptedContent");
    let (hl, len) = header(der, content);
    content + hl..content + hl + len
}

/// Flip every bit of the structure, nonce and mac, and one bit (a different one each time) of
/// each byte of the RecipientInfos and the ciphertext: every case that parses costs an RSA
/// operation, and within those runs of bytes one bit is as good as another to the parser and the
/// AEAD. Count the flips that still decrypt and check they did not change a thing.
fn bit_flip_sweep(cipher: &str) {
    let der = encrypt(cipher, "der");
    let plan = plan();
    let original = decrypt(&plan, &der).expect("the untouched message decrypts");
    assert!(original.ends_with(b"\n\nhello\n"));
    let ris = recipient_infos(&der);
    let content_type = inner_content_type(&der);
    let mut accepted = 0;
    let dense = [ris.clone(), ciphertext(&der)];
    let bits = (0..der.len() * 8)
        .filter(|bit| !dense.iter().any(|r| r.contains(&(bit / 8))) || bit % 8 == (bit / 8) % 8);
    for bit in bits {
        let mut m = der.clone();
        m[bit / 8] ^= 1 << (bit % 8);
        match decrypt(&plan, &m) {
            Ok(out) => {
                assert_eq!(
                    out, original,
                    "{cipher}: flipping bit {bit} yields different plaintext"
                );
                assert!(
                    ris.contains(&(bit / 8)) || content_type.contains(&(bit / 8)),
                    "{cipher}: flipping bit {bit} (byte {}) outside the unauthenticated metadata was accepted",
                    bit / 8
                );
                accepted += 1;
            }
            Err(e) => assert!(
                matches!(e.kind(), Kind::Data | Kind::NoPermission),
                "{cipher}: bit {bit}: {:?} {}",
                e.kind(),
                e.message()
            ),
        }
    }
    // The bare key finds its RecipientInfo by blind trial, so a damaged identifier still
    // decrypts, to the same plaintext: the sweep did reach the metadata case.
    assert!(accepted > 40, "{cipher}: only {accepted} flips accepted");
}

fn truncation_sweep(cipher: &str) {
    let der = encrypt(cipher, "der");
    let plan = plan();
    for len in 0..der.len() {
        let err = decrypt(&plan, &der[..len]).expect_err("a truncated message must not decrypt");
        assert_eq!(
            err.kind(),
            Kind::Data,
            "{cipher}: cut at {len}: {}",
            err.message()
        );
    }
}

#[test]
fn chacha20_poly1305_every_bit_flip_is_refused_or_harmless() {
    bit_flip_sweep("chacha20-poly1305");
}

#[test]
fn aes_256_gcm_every_bit_flip_is_refused_or_harmless() {
    bit_flip_sweep("aes-256-gcm");
}

#[test]
fn every_truncation_is_refused() {
    truncation_sweep("chacha20-poly1305");
    truncation_sweep("aes-128-gcm");
}

/// In the S/MIME form, replace base64 characters of the body (every third one) with other
/// base64 characters and with bytes that are not base64; and cut the body at every line.
#[test]
fn smime_base64_damage_is_refused_or_harmless() {
    let smime = encrypt("chacha20-poly1305", "smime");
    let plan = plan();
    let original = decrypt(&plan, &smime).expect("the untouched message decrypts");
    let body = smime
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("header/body separator")
        + 2;
    let mut refused = 0;
    for at in (body..smime.len()).step_by(3) {
        if smime[at] == b'\n' {
            continue;
        }
        for replacement in [b'A', b'/', b'*', 0xff] {
            if smime[at] == replacement {
                continue;
            }
            let mut m = smime.clone();
            m[at] = replacement;
            match decrypt(&plan, &m) {
                Ok(out) => assert_eq!(out, original, "byte {at} -> {replacement:#x}"),
                Err(e) => {
                    assert!(matches!(e.kind(), Kind::Data | Kind::NoPermission));
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 500, "only {refused} refused");
    for (cut, _) in smime[body..]
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
    {
        let m = &smime[..body + cut];
        if m.len() + 1 == smime.len() {
            continue; // only the final line break removed: the same message
        }
        let err = decrypt(&plan, m).expect_err("a truncated body must not decrypt");
        assert_eq!(err.kind(), Kind::Data, "cut at {cut}: {}", err.message());
    }
}

/// A few of the same cases through the binary: exit codes, one error line, empty stdout.
#[test]
fn tampered_messages_through_the_binary() {
    let der = encrypt("chacha20-poly1305", "der");
    let dir = tempdir();
    let path = dir.path().join("m.der");
    let decrypt_file = |data: &[u8]| {
        std::fs::write(&path, data).expect("write");
        let mut cmd = sealmail();
        cmd.args(["decrypt", "-i"])
            .arg(fixture("interop/alice.key"))
            .arg(&path);
        run(cmd, b"")
    };
    // The last byte is in the mac; one before the mac, the ciphertext.
    let mut m = der.clone();
    *m.last_mut().expect("non-empty") ^= 1;
    assert_fails(&decrypt_file(&m), 65, "integrity check failed");
    let mut m = der.clone();
    let ct = m.len() - 19;
    m[ct] ^= 0x80;
    assert_fails(&decrypt_file(&m), 65, "integrity check failed");
    assert_fails(&decrypt_file(&der[..der.len() - 1]), 65, "truncated");
    // The wrapped key (the last bytes of the RecipientInfos): no identity can unwrap it.
    let mut m = der.clone();
    let key_byte = recipient_infos(&der).end - 1;
    m[key_byte] ^= 1;
    assert_fails(&decrypt_file(&m), 77, "none of the identities");
}

// ---------------------------------------------------------------------------------------------
// Key hygiene around decryption (SECURITY.md "Keys").

/// The longest run of hex digits in `s`: key material printed in any usual form shows up as one.
fn longest_hex_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[test]
fn debug_output_of_keys_holds_no_key_bytes() {
    use sealmail::aead::{ContentCipher, SessionKey};
    for cipher in [ContentCipher::ChaCha20Poly1305, ContentCipher::Aes256Gcm] {
        let key = SessionKey::generate(cipher).expect("session key");
        let debug = format!("{key:?} {key:#?}");
        let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let decimal = format!("{:?}", key.as_bytes());
        assert!(!debug.contains(&hex[..8]), "{debug}");
        assert!(!debug.contains(&decimal[1..12]), "{debug}");
    }
    let plan = plan();
    let debug = format!("{:?}", plan.identities);
    // Identifiers (a 20-byte serial, a SubjectKeyIdentifier) are public; a 2048-bit modulus or
    // exponent would be a run of hundreds of digits.
    assert!(debug.contains("alice.key"), "{debug}");
    assert!(longest_hex_run(&debug) <= 64, "{debug}");
    assert!(debug.len() < 1000, "{debug}");
}

#[test]
fn decrypted_output_files_are_0600_and_failures_leave_no_file() {
    use std::os::unix::fs::PermissionsExt;
    let der = encrypt("aes-256-gcm", "der");
    let dir = tempdir();
    let input = dir.path().join("in.der");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let target = out_dir.join("plain.eml");
    let decrypt_to = |data: &[u8]| {
        std::fs::write(&input, data).expect("write");
        let mut cmd = sealmail();
        cmd.args(["decrypt", "-i"])
            .arg(fixture("interop/alice.key"))
            .arg("-o")
            .arg(&target)
            .arg(&input);
        run(cmd, b"")
    };
    // Failures of every stage: framing, CMS, key unwrap, integrity. Nothing may be left behind.
    let mut bad_tag = der.clone();
    *bad_tag.last_mut().expect("non-empty") ^= 1;
    let mut bad_key = der.clone();
    bad_key[recipient_infos(&der).end - 1] ^= 1;
    for (data, code) in [
        (&b"garbage"[..], 65),
        (&der[..der.len() / 2], 65),
        (&bad_key[..], 77),
        (&bad_tag[..], 65),
    ] {
        let out = decrypt_to(data);
        assert_fails(&out, code, "");
        let left: Vec<_> = std::fs::read_dir(&out_dir).expect("read_dir").collect();
        assert!(left.is_empty(), "left behind after exit {code}: {left:?}");
    }
    let out = decrypt_to(&der);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mode = std::fs::metadata(&target)
        .expect("output")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read(&target)
            .expect("read")
            .ends_with(b"\n\nhello\n")
    );
}

#[test]
fn a_wrong_passphrase_is_not_echoed() {
    let secret = "not-the-right-passphrase-7f3e";
    let mut cmd = sealmail();
    cmd.env("SEALMAIL_PASSPHRASE", secret)
        .args(["decrypt", "-i"])
        .arg(fixture("keys/alice.pbkdf2.pem"));
    let out = run(cmd, &encrypt("chacha20-poly1305", "der"));
    assert_fails(&out, 78, "wrong passphrase");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
}
