//! The RFC 7292 (PKCS #12 v1.1) structures, as `der` derives, and the two BER habits of the
//! files that mail clients write.
//!
//! NSS (`pk12util`, Thunderbird) writes indefinite lengths and constructed OCTET STRINGs; openssl
//! writes DER. `der` reads both in BER mode, except that an `Any` keeps its content's raw bytes
//! and forgets whether they were constructed. [`octets`] and [`reparse`] put that back for the
//! two shapes PKCS #12 uses: an OCTET STRING holding a SEQUENCE, and a SEQUENCE.
//! Nothing here decrypts or checks a MAC: that is `pkcs12.rs`.

use der::asn1::{Any, ObjectIdentifier, OctetString, OctetStringRef};
use der::{Decode, Reader, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

/// id-data, RFC 5652 §4.
pub(super) const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-encryptedData, RFC 5652 §8.
pub(super) const ID_ENCRYPTED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
/// keyBag, RFC 7292 §4.2: `bagtypes OBJECT IDENTIFIER ::= {pkcs-12 10 1}`, keyBag = {bagtypes 1}.
pub(super) const KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
/// pkcs8ShroudedKeyBag = {bagtypes 2}.
pub(super) const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
/// certBag = {bagtypes 3}.
pub(super) const CERT_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
/// safeContentsBag = {bagtypes 6}.
pub(super) const SAFE_CONTENTS_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.6");
/// x509Certificate, RFC 7292 §4.2.3: `{certTypes 1}` = pkcs-9 22 1.
pub(super) const X509_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
/// friendlyName, RFC 2985 §5.5.1 (PKCS #9 20): the label a mail client shows.
pub(super) const FRIENDLY_NAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
/// localKeyId, RFC 2985 §5.5.2 (PKCS #9 21): pairs a key bag with its certificate's bag.
pub(super) const LOCAL_KEY_ID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");

/// RFC 7292 §4:
///
/// ```text
/// PFX ::= SEQUENCE {
///     version     INTEGER {v3(3)}(v3,...),
///     authSafe    ContentInfo,
///     macData     MacData OPTIONAL
/// }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct Pfx {
    pub version: u8,
    pub auth_safe: cms::content_info::ContentInfo,
    pub mac_data: Option<MacData>,
}

/// RFC 7292 §4:
///
/// ```text
/// MacData ::= SEQUENCE {
///     mac         DigestInfo,
///     macSalt     OCTET STRING,
///     iterations  INTEGER DEFAULT 1
///     -- Note: The default is for historical reasons and its use is
///     -- deprecated.
/// }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct MacData {
    pub mac: DigestInfo,
    pub mac_salt: OctetString,
    #[asn1(default = "one")]
    pub iterations: u32,
}

fn one() -> u32 {
    1
}

/// RFC 8017 Appendix A.2.4 (as PKCS #12 uses it for the MAC):
///
/// ```text
/// DigestInfo ::= SEQUENCE {
///     digestAlgorithm DigestAlgorithm,
///     digest OCTET STRING
/// }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct DigestInfo {
    pub algorithm: AlgorithmIdentifierOwned,
    pub digest: OctetString,
}

/// RFC 7292 §4.2:
///
/// ```text
/// SafeBag ::= SEQUENCE {
///     bagId          BAG-TYPE.&id ({PKCS12BagSet}),
///     bagValue       [0] EXPLICIT BAG-TYPE.&Type({PKCS12BagSet}{@bagId}),
///     bagAttributes  SET OF PKCS12Attribute OPTIONAL
/// }
/// ```
///
/// The attributes (friendlyName, localKeyId) are kept as they came: reading does not need them
/// and a SET OF written by other tools need not be in DER order.
#[derive(Clone, Debug, Sequence)]
pub(super) struct SafeBag {
    pub bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub bag_value: Any,
    pub bag_attributes: Option<Any>,
}

/// RFC 7292 §4.2.3:
///
/// ```text
/// CertBag ::= SEQUENCE {
///     certId      BAG-TYPE.&id   ({CertTypes}),
///     certValue   [0] EXPLICIT BAG-TYPE.&Type ({CertTypes}{@certId})
/// }
/// x509Certificate BAG-TYPE ::=
///     {OCTET STRING IDENTIFIED BY {certTypes 1}}
///     -- DER-encoded X.509 certificate stored in OCTET STRING
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct CertBag {
    pub cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub cert_value: Any,
}

/// RFC 5958 §3 (PKCS #8), the value of a pkcs8ShroudedKeyBag:
///
/// ```text
/// EncryptedPrivateKeyInfo ::= SEQUENCE {
///     encryptionAlgorithm  EncryptionAlgorithmIdentifier,
///     encryptedData        EncryptedData }
/// EncryptedData ::= OCTET STRING
/// ```
///
/// Our own type rather than `pkcs8`'s: that one knows only the PKCS #5 schemes, and PKCS #12
/// files also use the RFC 7292 Appendix C PBEs.
#[derive(Clone, Debug, Sequence)]
pub(super) struct EncryptedPrivateKeyInfo {
    pub encryption_algorithm: AlgorithmIdentifierOwned,
    pub encrypted_data: OctetString,
}

/// RFC 7292 Appendix C:
///
/// ```text
/// pkcs-12PbeParams ::= SEQUENCE {
///     salt        OCTET STRING,
///     iterations  INTEGER
/// }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct Pkcs12PbeParams {
    pub salt: OctetString,
    pub iterations: u32,
}

/// The octets of an OCTET STRING kept in an `Any`, whether it was primitive or constructed.
///
/// In PKCS #12 such a string always holds a DER/BER SEQUENCE (AuthenticatedSafe, SafeContents,
/// a certificate), which starts with 0x30; a constructed string's content starts with the tag of
/// its first segment, 0x04. That first octet tells the two apart without the lost header.
pub(super) fn octets(any: &Any) -> der::Result<Zeroizing<Vec<u8>>> {
    if any.tag() != Tag::OctetString {
        return Err(der::ErrorKind::TagUnexpected {
            expected: Some(Tag::OctetString),
            actual: any.tag(),
        }
        .into());
    }
    let value = any.value();
    if value.first() != Some(&0x04) {
        return Ok(Zeroizing::new(value.to_vec()));
    }
    let mut reader = der::SliceReader::new(value)?;
    let mut out = Zeroizing::new(Vec::with_capacity(value.len()));
    while !reader.is_finished() {
        let segment = <&OctetStringRef>::decode(&mut reader)?;
        out.extend_from_slice(segment.as_bytes());
    }
    Ok(out)
}

/// Decode the SEQUENCE kept in an `Any` as `T`, in BER mode: its content is wrapped again in an
/// indefinite-length SEQUENCE header, which reads DER and BER content alike.
pub(super) fn reparse<T: for<'a> Decode<'a, Error = der::Error>>(any: &Any) -> der::Result<T> {
    if any.tag() != Tag::Sequence {
        return Err(der::ErrorKind::TagUnexpected {
            expected: Some(Tag::Sequence),
            actual: any.tag(),
        }
        .into());
    }
    // A key bag's SEQUENCE is a private key: the copy is zeroized.
    let mut ber = Zeroizing::new(Vec::with_capacity(any.value().len() + 4));
    ber.extend_from_slice(&[0x30, 0x80]);
    ber.extend_from_slice(any.value());
    ber.extend_from_slice(&[0, 0]);
    T::from_ber(&ber)
}
