//! CMS on the wire: the envelope sealmail writes and reads, both directions, streaming.
//!
//! The ASN.1 types come from the `cms`, `x509-cert`, `spki` and `pkcs1` crates; what they lack is
//! defined in the submodules with `der` derives. The encrypted content itself never passes
//! through those types: the envelope writer puts the outer TLV headers by hand around a streamed
//! `[0] IMPLICIT OCTET STRING`, and the reader pulls the structure apart from any `Read`, DER or
//! BER (indefinite lengths, constructed OCTET STRING chunks, as `openssl cms -stream` writes),
//! handing the ciphertext out in chunks so that a 1 GiB message never sits in memory.
//!
//! - [`tlv`]: the streaming TLV reader and the DER header writer everything else is built on;
//! - [`envelope`]: the streaming reader and writer of both envelope kinds;
//! - [`auth_enveloped`]: AuthEnvelopedData's AEAD content algorithms (RFC 5083);
//! - [`enveloped`]: EnvelopedData's CBC content algorithms (RFC 5652 §6, RFC 3565);
//! - [`recipient`]: RecipientInfos, one file per kind (`recipient/ktri.rs` for RSA key
//!   transport);
//! - [`capabilities`]: SMIMECapabilities (RFC 8551 §2.5.2), the set of algorithms a recipient
//!   reads.
//!
//! Not for: cryptography (see `aead`, `keys`) or base64/MIME framing (see `smime`).

pub mod auth_enveloped;
pub mod capabilities;
pub mod envelope;
pub mod enveloped;
pub mod recipient;
pub mod signed;
pub mod tlv;

pub use auth_enveloped::{ChaChaNonce, ContentAlgorithm, GcmParameters};
pub use capabilities::{Capabilities, Capability};
pub use cms::enveloped_data::{KeyTransRecipientInfo, RecipientInfo};
pub use envelope::{EnvelopeHead, EnvelopeReader, EnvelopeWriter, ParsedHead};
pub use enveloped::CbcAlgorithm;
pub use recipient::ktri::{
    KeyEncryption, KeyTransport, key_encryption_of, key_trans_recipient_info, oaep_params_of,
    oaep_sha256_algorithm,
};

use crate::error::{Error, Result};
use der::Decode;
use spki::AlgorithmIdentifierOwned;

/// How an envelope's content is encrypted, which also says which envelope it is: an AEAD in
/// AuthEnvelopedData, or CBC in EnvelopedData (no integrity protection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentEncryption {
    Aead(ContentAlgorithm),
    Cbc(CbcAlgorithm),
}

impl ContentEncryption {
    /// AuthEnvelopedData (true) or EnvelopedData.
    pub fn is_aead(&self) -> bool {
        matches!(self, ContentEncryption::Aead(_))
    }

    /// The content-encryption key's length.
    pub fn key_len(&self) -> usize {
        match self {
            ContentEncryption::Aead(c) => c.cipher.key_len(),
            ContentEncryption::Cbc(c) => c.cipher.key_len(),
        }
    }

    /// The cipher's usual name.
    pub fn name(&self) -> &'static str {
        match self {
            ContentEncryption::Aead(c) => c.cipher.name(),
            ContentEncryption::Cbc(c) => c.cipher.name(),
        }
    }

    /// The envelope's content type, in words.
    pub fn envelope_name(&self) -> &'static str {
        match self {
            ContentEncryption::Aead(_) => "authEnvelopedData (RFC 5083)",
            ContentEncryption::Cbc(_) => "envelopedData (RFC 5652)",
        }
    }

    pub fn to_algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned> {
        match self {
            ContentEncryption::Aead(c) => c.to_algorithm_identifier(),
            ContentEncryption::Cbc(c) => c.to_algorithm_identifier(),
        }
    }

    /// Read the contentEncryptionAlgorithm of AuthEnvelopedData (`aead`) or EnvelopedData. An
    /// AEAD has no place in EnvelopedData (it would go unauthenticated) nor CBC in
    /// AuthEnvelopedData (it has no tag): both are refused.
    pub fn from_algorithm_identifier(alg: &AlgorithmIdentifierOwned, aead: bool) -> Result<Self> {
        let cbc = matches!(
            alg.oid,
            oid::AES128_CBC | oid::AES192_CBC | oid::AES256_CBC | oid::DES_EDE3_CBC
        );
        match (aead, cbc) {
            (true, false) => ContentAlgorithm::from_algorithm_identifier(alg).map(Self::Aead),
            (false, true) => CbcAlgorithm::from_algorithm_identifier(alg)?
                .map(Self::Cbc)
                .ok_or_else(|| Error::data("malformed CMS: bad CBC algorithm")),
            (true, true) => Err(Error::data(format!(
                "malformed CMS: a CBC cipher ({}) in AuthEnvelopedData, which needs an authenticated cipher",
                alg.oid
            ))),
            (false, false) => {
                if ContentAlgorithm::from_algorithm_identifier(alg).is_ok() {
                    return Err(Error::data(
                        "malformed CMS: an authenticated cipher in EnvelopedData, which has no place for its tag",
                    ));
                }
                Err(Error::data(format!(
                    "the message uses content-encryption algorithm {}, which sealmail does not support",
                    alg.oid
                ))
                .with_hint("sealmail reads AES-CBC and DES-EDE3-CBC in EnvelopedData"))
            }
        }
    }
}

/// The object identifiers sealmail reads or writes.
pub mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    /// id-ct-authEnvelopedData (RFC 5083 §1)
    pub const AUTH_ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.23");
    /// id-envelopedData (RFC 5652 §6.1)
    pub const ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.3");
    /// id-signedData (RFC 5652 §5.1)
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    /// id-data (RFC 5652 §4)
    pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    /// id-alg-AEADChaCha20Poly1305 (RFC 8103 §3)
    pub const CHACHA20_POLY1305: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.3.18");
    /// id-aes128-GCM (RFC 5084 §3.2)
    pub const AES128_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.6");
    /// id-aes192-GCM (RFC 5084 §3.2)
    pub const AES192_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.26");
    /// id-aes256-GCM (RFC 5084 §3.2)
    pub const AES256_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.46");
    /// id-aes128-CBC (RFC 3565 §4.1)
    pub const AES128_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.2");
    /// id-aes192-CBC (RFC 3565 §4.1)
    pub const AES192_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.22");
    /// id-aes256-CBC (RFC 3565 §4.1)
    pub const AES256_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.42");
    /// des-ede3-cbc (RFC 3370 §5.1)
    pub const DES_EDE3_CBC: Oid = Oid::new_unwrap("1.2.840.113549.3.7");
    /// smimeCapabilities (RFC 8551 §2.5.2, RFC 4262)
    pub const SMIME_CAPABILITIES: Oid = Oid::new_unwrap("1.2.840.113549.1.9.15");
    /// id-RSAES-OAEP (RFC 8017 A.2.1)
    pub const RSAES_OAEP: Oid = Oid::new_unwrap("1.2.840.113549.1.1.7");
    /// rsaEncryption: PKCS#1 v1.5 key transport (RFC 8017 A.1)
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    /// id-mgf1 (RFC 8017 B.2.1)
    pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
    /// id-pSpecified (RFC 8017 A.2.1)
    pub const P_SPECIFIED: Oid = Oid::new_unwrap("1.2.840.113549.1.1.9");
    pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
}

/// Limits on what a hostile envelope can make the reader hold or do (listed in SECURITY.md).
pub mod limits {
    /// Largest single non-content element held in memory (a RecipientInfo, an AlgorithmIdentifier).
    pub const MAX_ELEMENT: u64 = 64 * 1024;
    /// Most RecipientInfos read from one message.
    pub const MAX_RECIPIENTS: usize = 1024;
    /// Deepest nesting of constructed BER encodings followed.
    pub const MAX_DEPTH: usize = 32;
}

/// Decode an AlgorithmIdentifier's parameters as `T`; `what` names them in the error.
pub(crate) fn decode_params<T: for<'a> Decode<'a, Error = der::Error>>(
    params: Option<&der::Any>,
    what: &str,
) -> Result<T> {
    use der::Encode;
    let bad = || Error::data(format!("malformed CMS: bad {what}"));
    let params = params.ok_or_else(|| Error::data(format!("malformed CMS: {what} missing")))?;
    let bytes = params.to_der().map_err(|_| bad())?;
    T::from_der(&bytes).map_err(|_| bad())
}

/// An encoding failure on values we built ourselves: a bug, reported rather than panicked on.
/// The library's own words stay out of the message (they mean nothing to a user).
pub(crate) fn asn1_bug(_: impl std::fmt::Display) -> Error {
    Error::data("internal error while encoding CMS")
}
