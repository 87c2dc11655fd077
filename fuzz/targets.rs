//! The bodies of the fuzz targets, shared by cargo-fuzz (`fuzz/fuzz_targets/*.rs`, nightly or
//! `RUSTC_BOOTSTRAP=1`) and the stable corpus runner in `tests/hostile.rs`, so that the corpus
//! replayed by `cargo test` exercises the very code the fuzzer does.
//!
//! Besides "no panic", each target checks the invariants SECURITY.md promises for hostile input:
//! a failure is a data error (65) or, for decryption, "no identity can decrypt" (77), with a
//! one-line message; and a failed decryption has written nothing.

use sealmail::Kind;
use sealmail::cms::EnvelopeReader;
use sealmail::decrypt::{self, DecryptPlan};
use sealmail::keys::{self, Identity, NoPassphrase};
use sealmail::smime::{self, InForm};

/// The fixed test identity of the decrypt target: the published test key
/// `fixtures/interop/alice.key` (the seeds are encrypted to it).
pub fn test_identities() -> Vec<Identity> {
    let key = include_bytes!("../fixtures/interop/alice.key");
    keys::identities_from_bytes(key, "alice.key", &mut NoPassphrase)
        .expect("fixtures/interop/alice.key loads")
}

fn check_error(e: &sealmail::Error, allowed: &[Kind], data: &[u8]) {
    assert!(
        allowed.contains(&e.kind()),
        "unexpected error kind {:?}: {} (input {} bytes)",
        e.kind(),
        e.message(),
        data.len()
    );
    assert!(
        !e.message().contains('\n') && !e.hint().unwrap_or_default().contains('\n'),
        "multi-line error: {:?}",
        e.message()
    );
}

/// Read `data` as an envelope (every input form) up to the mac, as `inspect` does; no key.
pub fn envelope(data: &[u8]) {
    for form in [InForm::Auto, InForm::Der, InForm::Pem, InForm::Smime] {
        if let Err(e) = read_envelope(data, form) {
            check_error(&e, &[Kind::Data], data);
        }
    }
}

fn read_envelope(data: &[u8], form: InForm) -> sealmail::Result<()> {
    let opened = smime::open_envelope(Box::new(data), form)?;
    let mut reader = EnvelopeReader::open(opened.cms)?;
    // Odd buffer sizes, so chunk boundaries fall everywhere.
    let mut buf = vec![0u8; 1 + data.len() % 61];
    while reader.read_content(&mut buf)? > 0 {}
    let aead = reader.head.content.is_aead();
    let tag = reader.finish()?;
    // `finish` checks the mac against the algorithm's tag length: 16, or 12..=16 for GCM; and
    // EnvelopedData has none.
    match tag {
        Some(tag) => assert!((12..=16).contains(&tag.len()), "mac of {} bytes", tag.len()),
        None => assert!(!aead, "AuthEnvelopedData without a mac"),
    }
    Ok(())
}

/// Decrypt `data` with `identities`, as `sealmail decrypt` does; returns the output on success.
pub fn decrypt_with(data: &[u8], identities: Vec<Identity>) -> sealmail::Result<Vec<u8>> {
    let plan = DecryptPlan {
        identities,
        inform: InForm::Auto,
        entity: false,
        require_aead: false,
    };
    let mut out = Vec::new();
    let result = decrypt::decrypt(&plan, Box::new(data), &mut out);
    match result {
        Ok(_) => Ok(out),
        Err(e) => {
            check_error(&e, &[Kind::Data, Kind::NoPermission], data);
            // Plaintext whose tag did not verify must never be released, not even in part.
            // EnvelopedData has no tag: its plaintext streams out, and the CLI's output hold
            // is what keeps it back until the padding is checked.
            assert!(
                out.is_empty() || !is_authenticated(data),
                "{} bytes written before: {}",
                out.len(),
                e.message()
            );
            Err(e)
        }
    }
}

/// Whether `data` opens as AuthEnvelopedData (true also when it does not open at all).
fn is_authenticated(data: &[u8]) -> bool {
    smime::open_envelope(Box::new(data), InForm::Auto)
        .and_then(|opened| EnvelopeReader::open(opened.cms))
        .map_or(true, |reader| reader.head.content.is_aead())
}

/// The whole decrypt path with the fixed test identity. The identity is loaded afresh each time:
/// `DecryptPlan` owns its identities and private keys are deliberately not `Clone`; parsing the
/// key costs little next to the RSA operations a message can ask for.
pub fn decrypt(data: &[u8]) {
    let _ = decrypt_with(data, test_identities());
}

/// A signed message or a bare SignedData, as `verify` reads it (with no trust anchor) and as the
/// SignedData reader reads it alone: a failure is a data error (65) or, for a valid signature
/// nobody trusts, 77, with a one-line message; and a failed verification has written nothing.
pub fn signed(data: &[u8]) {
    use sealmail::keys::trust::TrustStore;
    use sealmail::verify::{self, VerifyPlan};
    let plan = VerifyPlan {
        trust: TrustStore::new(),
        intermediates: Vec::new(),
        allow_untrusted: false,
        now: std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
    };
    let mut out = Vec::new();
    if let Err(e) = verify::verify(&plan, Box::new(data), &mut out) {
        check_error(&e, &[Kind::Data, Kind::NoPermission], data);
        assert!(
            out.is_empty(),
            "{} bytes written before: {}",
            out.len(),
            e.message()
        );
    }
    // 77 only for a signature whose signer's certificate is not in it: it cannot be checked.
    if let Err(e) = read_signed(data) {
        check_error(&e, &[Kind::Data, Kind::NoPermission], data);
    }
}

/// The SignedData reader on DER/BER: the content (odd buffer sizes, so chunk boundaries fall
/// everywhere), then the certificates and SignerInfos, then the signature check against the
/// content's SHA-256.
fn read_signed(data: &[u8]) -> sealmail::Result<()> {
    use sealmail::cms::signed::{self, SignedReader};
    use sealmail::keys::signature::{Hash, Hasher};
    let mut reader = SignedReader::open(data)?;
    let mut hasher = Hasher::new(Hash::Sha256);
    let mut buf = vec![0u8; 1 + data.len() % 61];
    loop {
        let n = reader.read_content(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let parts = reader.finish()?;
    assert!(
        parts.signer_infos.len() <= signed::limits::MAX_SIGNERS
            && parts.certificates.len() <= signed::limits::MAX_CERTIFICATES,
        "limits not kept"
    );
    signed::check(&parts, &[(Hash::Sha256, hasher.finish())]).map(drop)
}
