//! Wycheproof known-answer and forgery tests for the streaming AEADs of `sealmail::aead`.
//!
//! The vectors live in `fixtures/wycheproof/` (see the README there for source and licence).
//! Many carry AAD, which sealmail never uses; they go through the test-only `new_with_aad`
//! constructors, which share every other line of code with the AAD-free path.

use sealmail::aead::{ContentCipher, Decryptor, NONCE_LEN, Sealer, SessionKey, Verifier};
use serde_json::Value;
use zeroize::Zeroizing;

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn load(name: &str) -> Value {
    let path = format!("{}/fixtures/wycheproof/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn field<'a>(test: &'a Value, name: &str) -> &'a str {
    test[name]
        .as_str()
        .unwrap_or_else(|| panic!("missing {name} in {test}"))
}

/// Seal `msg` feeding chunks of `chunk` bytes: (ciphertext, tag).
fn seal(
    key: &SessionKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    msg: &[u8],
    chunk: usize,
) -> (Vec<u8>, [u8; 16]) {
    let mut buf = msg.to_vec();
    let mut sealer = Sealer::new_with_aad(key, nonce, aad);
    for piece in buf.chunks_mut(chunk) {
        sealer
            .seal_in_place(piece)
            .expect("within the length limit");
    }
    (buf, sealer.finish())
}

/// Verify, then decrypt, feeding chunks of `chunk` bytes.
fn open(
    key: &SessionKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
    chunk: usize,
) -> sealmail::Result<Vec<u8>> {
    let mut verifier = Verifier::new_with_aad(key, nonce, aad);
    for piece in ct.chunks(chunk) {
        verifier.update(piece);
    }
    verifier.verify(tag)?;
    let mut buf = ct.to_vec();
    let mut decryptor = Decryptor::new(key, nonce);
    for piece in buf.chunks_mut(chunk) {
        decryptor.decrypt_in_place(piece)?;
    }
    Ok(buf)
}

#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    skipped: usize,
}

/// Run every test of `file` that the API can express; `cipher_for` maps a key size in bits to
/// the cipher, or `None` for key sizes sealmail does not offer.
fn run(file: &str, cipher_for: fn(u64) -> Option<ContentCipher>) -> Tally {
    let doc = load(file);
    let groups = doc["testGroups"].as_array().expect("testGroups");
    let mut tally = Tally::default();
    for group in groups {
        assert_eq!(group["type"], "AeadTest");
        let tests = group["tests"].as_array().expect("tests");
        let cipher = group["keySize"].as_u64().and_then(cipher_for);
        let (Some(cipher), Some(96), Some(128)) =
            (cipher, group["ivSize"].as_u64(), group["tagSize"].as_u64())
        else {
            tally.skipped += tests.len();
            continue;
        };
        for test in tests {
            let id = &test["tcId"];
            let key = SessionKey::from_unwrapped(cipher, Zeroizing::new(hex(field(test, "key"))))
                .unwrap_or_else(|e| panic!("{file} #{id}: {e}"));
            let nonce: [u8; NONCE_LEN] = hex(field(test, "iv")).try_into().expect("96-bit IV");
            let aad = hex(field(test, "aad"));
            let msg = hex(field(test, "msg"));
            let ct = hex(field(test, "ct"));
            let tag = hex(field(test, "tag"));
            match field(test, "result") {
                "valid" => {
                    for chunk in [usize::MAX, 1, 7, 16, 17, 64] {
                        let (got_ct, got_tag) = seal(&key, &nonce, &aad, &msg, chunk);
                        assert!(
                            got_ct == ct,
                            "{file} #{id}: ciphertext differs (chunk {chunk})"
                        );
                        assert!(
                            got_tag[..] == tag[..],
                            "{file} #{id}: tag differs (chunk {chunk})"
                        );
                        let opened = open(&key, &nonce, &aad, &ct, &tag, chunk)
                            .unwrap_or_else(|e| panic!("{file} #{id}: valid vector refused: {e}"));
                        assert!(
                            opened == msg,
                            "{file} #{id}: plaintext differs (chunk {chunk})"
                        );
                    }
                    tally.valid += 1;
                }
                "invalid" => {
                    for chunk in [usize::MAX, 5] {
                        let err = open(&key, &nonce, &aad, &ct, &tag, chunk)
                            .expect_err(&format!("{file} #{id}: invalid vector accepted"));
                        assert_eq!(err.kind(), sealmail::Kind::Data, "{file} #{id}");
                    }
                    tally.invalid += 1;
                }
                other => panic!("{file} #{id}: unexpected result {other:?}"),
            }
        }
    }
    tally
}

#[test]
fn wycheproof_chacha20_poly1305() {
    let tally = run("chacha20_poly1305_test.json", |bits| {
        (bits == 256).then_some(ContentCipher::ChaCha20Poly1305)
    });
    // 325 tests: 256 valid and 60 invalid with a 96-bit nonce; 9 with other nonce sizes, which
    // the API's [u8; 12] nonce cannot express.
    assert_eq!(
        (tally.valid, tally.invalid, tally.skipped),
        (256, 60, 9),
        "{tally:?}"
    );
}

#[test]
fn wycheproof_aes_gcm() {
    let tally = run("aes_gcm_test.json", |bits| match bits {
        128 => Some(ContentCipher::Aes128Gcm),
        256 => Some(ContentCipher::Aes256Gcm),
        _ => None,
    });
    // 316 tests: with a 96-bit IV and a 128- or 256-bit key, 79 valid and 54 invalid; the rest
    // are AES-192 or other IV sizes (sealmail always uses a 12-byte IV, RFC 5084 §3.2).
    assert_eq!(
        (tally.valid, tally.invalid, tally.skipped),
        (79, 54, 183),
        "{tally:?}"
    );
}
