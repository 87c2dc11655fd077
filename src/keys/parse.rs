//! Decoding of key and certificate files, and the rules that decide whether a recipient's
//! certificate or public key may be encrypted to (SPEC §4).
//!
//! Everything here works on bytes already read and returns a plain-words reason on failure; the
//! callers in `keys.rs` attach the file name and pick the error kind.

use der::Decode;
use der::asn1::ObjectIdentifier;
use rsa::PublicKey;
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};
use zeroize::Zeroizing;

/// rsaEncryption, RFC 8017 Appendix C: `rsaEncryption OBJECT IDENTIFIER ::= { pkcs-1 1 }`.
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-kp-emailProtection, RFC 5280 §4.2.1.12.
pub(crate) const ID_KP_EMAIL_PROTECTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
/// anyExtendedKeyUsage, RFC 5280 §4.2.1.12: `anyExtendedKeyUsage OBJECT IDENTIFIER ::= { id-ce-extKeyUsage 0 }`.
const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// The RSA modulus sizes a recipient may have (SPEC §4).
pub(crate) const MIN_RECIPIENT_BITS: usize = 2048;
pub(crate) const MAX_RECIPIENT_BITS: usize = 8192;

/// One `-----BEGIN LABEL-----` ... `-----END LABEL-----` block, decoded. The bytes may be a
/// private key, so they are zeroized on drop.
pub(crate) struct PemBlock {
    pub label: String,
    pub der: Zeroizing<Vec<u8>>,
}

/// Whether a file is PEM text rather than DER: DER never starts with `-`, and PEM files may
/// carry explanatory text before the first block (what `openssl x509 -text` writes).
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    find(bytes, b"-----BEGIN ").is_some()
}

/// Every PEM block in `bytes`, in order; text between blocks is ignored (RFC 7468 §2).
pub(crate) fn pem_blocks(bytes: &[u8]) -> Result<Vec<PemBlock>, String> {
    let mut blocks = Vec::new();
    let mut rest = bytes;
    while let Some(start) = find(rest, b"-----BEGIN ") {
        let from_begin = rest.get(start..).unwrap_or_default();
        let label_start = b"-----BEGIN ".len();
        let label_len = from_begin
            .get(label_start..)
            .and_then(|tail| find(tail, b"-----"))
            .ok_or("a PEM BEGIN line is not terminated")?;
        let label = from_begin
            .get(label_start..label_start + label_len)
            .ok_or("a PEM BEGIN line is not terminated")?;
        let label = String::from_utf8_lossy(label).into_owned();
        let end_marker = format!("-----END {label}-----");
        let end = find(from_begin, end_marker.as_bytes())
            .ok_or_else(|| format!("the PEM block {label} has no END line"))?;
        let block_len = end + end_marker.len();
        let block = from_begin.get(..block_len).unwrap_or_default();
        if find(block, b"Proc-Type:").is_some() {
            return Err(format!(
                "the PEM block {label} uses the legacy OpenSSL encryption (Proc-Type header), \
                 which is not supported"
            ));
        }
        let (_, der) = der::pem::decode_vec(block).map_err(|_| {
            format!("the PEM block {label} is malformed (its base64 is damaged or cut short)")
        })?;
        blocks.push(PemBlock {
            label,
            der: Zeroizing::new(der),
        });
        rest = from_begin.get(block_len..).unwrap_or_default();
    }
    Ok(blocks)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The length in bits of a big-endian unsigned integer (leading zero octets allowed).
fn bit_length(bytes: &[u8]) -> usize {
    let mut iter = bytes.iter().skip_while(|b| **b == 0);
    match iter.next() {
        None => 0,
        Some(first) => (8 - first.leading_zeros() as usize) + 8 * iter.count(),
    }
}

/// An RSAPublicKey (RFC 8017 Appendix A.1.1) that a message may be encrypted to: 2048 to 8192
/// bits. The size is checked here, before the rsa crate sees the key, so the reason can say
/// how many bits the key has.
pub(crate) fn recipient_key_from_pkcs1(der: &[u8]) -> Result<PublicKey, String> {
    let parsed = pkcs1::RsaPublicKeyRef::from_der(der)
        .map_err(|_| "the RSA public key is malformed".to_string())?;
    let bits = bit_length(parsed.modulus.as_bytes());
    if !(MIN_RECIPIENT_BITS..=MAX_RECIPIENT_BITS).contains(&bits) {
        return Err(format!(
            "the RSA key has {bits} bits; {MIN_RECIPIENT_BITS} to {MAX_RECIPIENT_BITS} are accepted"
        ));
    }
    PublicKey::try_from(parsed).map_err(|_| "the RSA public key is not valid".to_string())
}

/// The RSA key of a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) that may be encrypted to.
pub(crate) fn recipient_key_from_spki(
    spki: &spki::SubjectPublicKeyInfoOwned,
) -> Result<PublicKey, String> {
    let oid = spki.algorithm.oid;
    if oid != RSA_ENCRYPTION {
        return Err(format!(
            "not an RSA encryption key ({})",
            algorithm_name(oid)
        ));
    }
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| "the public key BIT STRING is malformed".to_string())?;
    recipient_key_from_pkcs1(bits)
}

/// Plain words for the public key algorithms one meets instead of RSA.
fn algorithm_name(oid: ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "an elliptic-curve key".into(),
        "1.3.101.112" => "an Ed25519 key".into(),
        "1.3.101.113" => "an Ed448 key".into(),
        "1.3.101.110" => "an X25519 key".into(),
        "1.2.840.113549.1.1.10" => "an RSASSA-PSS signature-only key".into(),
        "1.2.840.10040.4.1" => "a DSA key".into(),
        other => format!("algorithm {other}"),
    }
}

/// Why `cert` cannot be encrypted to at `now`, or its RSA key. Checked in the order a user
/// can act on: wrong key type, then dates, then the usage extensions.
pub(crate) fn check_recipient_certificate(
    cert: &Certificate,
    now: SystemTime,
) -> Result<PublicKey, String> {
    let tbs = cert.tbs_certificate();
    let key = recipient_key_from_spki(tbs.subject_public_key_info())?;

    let validity = tbs.validity();
    if now < validity.not_before.to_system_time() {
        return Err(format!(
            "the certificate is not valid before {}",
            validity.not_before
        ));
    }
    if now > validity.not_after.to_system_time() {
        return Err(format!("the certificate expired on {}", validity.not_after));
    }

    // RFC 8550 §4.4.2: "If the key usage extension is present, [...] the keyEncipherment bit
    // MUST be set" for a certificate used with RSA key transport.
    match tbs.get_extension::<KeyUsage>() {
        Err(_) => return Err("the keyUsage extension is malformed".into()),
        Ok(Some((_, usage))) if !usage.key_encipherment() => {
            return Err("its keyUsage does not allow keyEncipherment (encryption)".into());
        }
        Ok(_) => {}
    }
    // RFC 8550 §4.4.4: with extendedKeyUsage present, S/MIME needs id-kp-emailProtection
    // (or anyExtendedKeyUsage).
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Err(_) => return Err("the extendedKeyUsage extension is malformed".into()),
        Ok(Some((_, eku)))
            if !eku
                .0
                .iter()
                .any(|oid| *oid == ID_KP_EMAIL_PROTECTION || *oid == ANY_EXTENDED_KEY_USAGE) =>
        {
            return Err("its extendedKeyUsage does not include emailProtection".into());
        }
        Ok(_) => {}
    }
    Ok(key)
}

/// Whether a certificate says it is a CA (basicConstraints cA TRUE, RFC 5280 §4.2.1.9).
pub(crate) fn is_ca_certificate(cert: &Certificate) -> bool {
    matches!(cert.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
}

/// The email addresses a certificate is for: subjectAltName rfc822Name entries and the legacy
/// subject emailAddress attribute (RFC 8550 §3 allows both).
pub(crate) fn certificate_emails(cert: &Certificate) -> Vec<String> {
    let tbs = cert.tbs_certificate();
    let mut emails = Vec::new();
    if let Ok(Some((_, san))) = tbs.get_extension::<SubjectAltName>() {
        for name in san.0 {
            if let GeneralName::Rfc822Name(addr) = name {
                emails.push(addr.as_str().to_string());
            }
        }
    }
    if let Ok(Some(addr)) = tbs.subject().email_address() {
        emails.push(addr.as_str().to_string());
    }
    emails
}

/// A certificate from DER, or none when the bytes are something else.
pub(crate) fn certificate_from_der(der: &[u8]) -> Option<Certificate> {
    Certificate::from_der(der).ok()
}

/// The RSAPublicKey DER of a public key: the content of SubjectPublicKeyInfo's BIT STRING.
pub(crate) fn pkcs1_public_der(key: &PublicKey) -> Result<Vec<u8>, String> {
    use pkcs1::EncodeRsaPublicKey;
    key.to_pkcs1_der()
        .map(|doc| doc.as_bytes().to_vec())
        .map_err(|_| "cannot encode the public key".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_from_the_first_one_bit() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f, 0xff]), 15);
    }

    fn pkcs1_with_modulus_bits(bits: usize) -> Vec<u8> {
        use der::Encode;
        // Only the size matters here: the check runs before the key is validated.
        let mut n = vec![0xffu8; bits.div_ceil(8)];
        if !bits.is_multiple_of(8) {
            n[0] = 0xff >> (8 - bits % 8);
        }
        pkcs1::RsaPublicKeyRef {
            modulus: pkcs1::UintRef::new(&n).unwrap(),
            public_exponent: pkcs1::UintRef::new(&[1, 0, 1]).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn recipient_keys_outside_2048_to_8192_bits_are_refused_with_their_size() {
        for bits in [1024, 2047, 8193, 16384] {
            let err = recipient_key_from_pkcs1(&pkcs1_with_modulus_bits(bits))
                .err()
                .unwrap();
            assert!(err.contains(&format!("has {bits} bits")), "{err}");
        }
        // At the limits the size check passes (and the all-ones modulus is then a valid-looking
        // odd number, so the rsa crate accepts it too).
        for bits in [2048, 8192] {
            assert!(
                recipient_key_from_pkcs1(&pkcs1_with_modulus_bits(bits)).is_ok(),
                "{bits}"
            );
        }
    }

    #[test]
    fn pem_blocks_are_split_and_text_between_them_ignored() {
        let text = b"junk\n-----BEGIN A-----\nAAEC\n-----END A-----\nmore\n-----BEGIN B C-----\nAw==\n-----END B C-----\n";
        let blocks = pem_blocks(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "A");
        assert_eq!(&blocks[0].der[..], &[0, 1, 2]);
        assert_eq!(blocks[1].label, "B C");
        assert_eq!(&blocks[1].der[..], &[3]);
    }

    #[test]
    fn truncated_pem_is_an_error_not_a_panic() {
        for text in [
            &b"-----BEGIN "[..],
            b"-----BEGIN X-----\nAAAA\n",
            b"-----BEGIN X-----\n!!!!\n-----END X-----\n",
            b"-----BEGIN X-----",
        ] {
            assert!(
                pem_blocks(text).is_err(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn legacy_encrypted_pem_is_named() {
        let text = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = pem_blocks(text).err().unwrap();
        assert!(err.contains("legacy"), "{err}");
    }
}
