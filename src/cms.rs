//! CMS AuthEnvelopedData (RFC 5083) on the wire, both directions, streaming.
//!
//! The ASN.1 types come from the `cms`, `x509-cert`, `spki` and `pkcs1` crates; what they lack
//! (GCMParameters, the ChaCha20-Poly1305 nonce parameter) is defined here with `der` derives.
//! The encrypted content itself never passes through those types: [`EnvelopeWriter`] writes the
//! outer TLV headers by hand around a streamed `[0] IMPLICIT OCTET STRING`, and [`EnvelopeReader`]
//! pulls the structure apart from any `Read`, DER or BER (indefinite lengths, constructed OCTET
//! STRING chunks, as `openssl cms -stream` writes), handing the ciphertext out in chunks so that
//! a 1 GiB message never sits in memory.
//!
//! Not for: cryptography (see `aead`, `keys`) or base64/MIME framing (see `smime`).

use crate::aead::{ContentCipher, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::keys::{OaepHash, OaepParams, RecipientIdentifier};
use cms::content_info::CmsVersion;
pub use cms::enveloped_data::{KeyTransRecipientInfo, RecipientInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence, Tagged};
use spki::AlgorithmIdentifierOwned;
use std::io::{Read, Write};

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

/// RFC 5084 §3.2:
///
/// ```text
/// GCMParameters ::= SEQUENCE {
///   aes-nonce        OCTET STRING, -- recommended size is 12 octets
///   aes-ICVlen       AES-GCM-ICVlen DEFAULT 12 }
///
/// AES-GCM-ICVlen ::= INTEGER (12 | 13 | 14 | 15 | 16)
/// ```
///
/// sealmail always encodes `aes-ICVlen` (16) explicitly, as SPEC §1 and openssl do, so the field is
/// an `Option` rather than a DER DEFAULT (which would be omitted when equal to 12).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct GcmParameters {
    pub nonce: OctetString,
    #[asn1(optional = "true")]
    pub icv_len: Option<u8>,
}

/// RFC 8103 §3:
///
/// ```text
/// AEADChaCha20Poly1305Nonce ::= OCTET STRING (SIZE(12))
/// ```
pub type ChaChaNonce = OctetString;

/// The content-encryption algorithm of one message with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentAlgorithm {
    pub cipher: ContentCipher,
    pub nonce: [u8; NONCE_LEN],
    /// Length of the authentication tag: 16, or 12..=16 for GCM written by others.
    pub tag_len: usize,
}

impl ContentAlgorithm {
    pub fn new(cipher: ContentCipher, nonce: [u8; NONCE_LEN]) -> Self {
        ContentAlgorithm {
            cipher,
            nonce,
            tag_len: TAG_LEN,
        }
    }

    pub fn to_algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned> {
        let nonce = OctetString::new(self.nonce.to_vec()).map_err(asn1_bug)?;
        let (oid, params) = match self.cipher {
            ContentCipher::ChaCha20Poly1305 => {
                (oid::CHACHA20_POLY1305, der::Any::encode_from(&nonce))
            }
            ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm => {
                let oid = if self.cipher == ContentCipher::Aes128Gcm {
                    oid::AES128_GCM
                } else {
                    oid::AES256_GCM
                };
                let tag_len = u8::try_from(self.tag_len).map_err(asn1_bug)?;
                (
                    oid,
                    der::Any::encode_from(&GcmParameters {
                        nonce,
                        icv_len: Some(tag_len),
                    }),
                )
            }
        };
        Ok(AlgorithmIdentifierOwned {
            oid,
            parameters: Some(params.map_err(asn1_bug)?),
        })
    }

    pub fn from_algorithm_identifier(alg: &AlgorithmIdentifierOwned) -> Result<Self> {
        let params = alg.parameters.as_ref();
        let (cipher, nonce, tag_len) = match alg.oid {
            oid::CHACHA20_POLY1305 => {
                let nonce: ChaChaNonce = decode_params(params, "ChaCha20-Poly1305 nonce")?;
                (ContentCipher::ChaCha20Poly1305, nonce, TAG_LEN)
            }
            oid::AES128_GCM | oid::AES256_GCM => {
                let p: GcmParameters = decode_params(params, "GCMParameters")?;
                let tag_len = usize::from(p.icv_len.unwrap_or(12));
                if !(12..=16).contains(&tag_len) {
                    return Err(Error::data(format!(
                        "malformed CMS: GCM tag length {tag_len} is not 12 to 16"
                    )));
                }
                let cipher = if alg.oid == oid::AES128_GCM {
                    ContentCipher::Aes128Gcm
                } else {
                    ContentCipher::Aes256Gcm
                };
                (cipher, p.nonce, tag_len)
            }
            oid::AES192_GCM => {
                return Err(Error::data(
                    "the message uses AES-192-GCM, which sealmail does not support",
                )
                .with_hint("ask the sender to use AES-256-GCM, AES-128-GCM or ChaCha20-Poly1305"));
            }
            other => {
                return Err(Error::data(format!(
                    "the message uses content-encryption algorithm {other}, which sealmail does not support"
                ))
                .with_hint("sealmail reads ChaCha20-Poly1305 and AES-GCM (AuthEnvelopedData)"));
            }
        };
        let nonce: [u8; NONCE_LEN] = nonce.as_bytes().try_into().map_err(|_| {
            Error::data(format!(
                "the message's {} nonce is {} bytes; sealmail supports 12-byte nonces",
                cipher.name(),
                nonce.as_bytes().len()
            ))
        })?;
        Ok(ContentAlgorithm {
            cipher,
            nonce,
            tag_len,
        })
    }
}

fn decode_params<T: for<'a> Decode<'a, Error = der::Error>>(
    params: Option<&der::Any>,
    what: &str,
) -> Result<T> {
    let params = params.ok_or_else(|| Error::data(format!("malformed CMS: {what} missing")))?;
    let bytes = params
        .to_der()
        .map_err(|e| Error::data(format!("malformed CMS: bad {what}: {e}")))?;
    T::from_der(&bytes).map_err(|e| Error::data(format!("malformed CMS: bad {what}: {e}")))
}

/// The keyEncryptionAlgorithm sealmail writes: id-RSAES-OAEP with SHA-256 and MGF1-SHA-256,
/// pSource default (omitted), as SPEC §1 requires.
pub fn oaep_sha256_algorithm() -> Result<AlgorithmIdentifierOwned> {
    let params = pkcs1::RsaOaepParams::new::<sha2::Sha256>();
    let params = der::Any::encode_from(&params).map_err(asn1_bug)?;
    Ok(AlgorithmIdentifierOwned {
        oid: oid::RSAES_OAEP,
        parameters: Some(params),
    })
}

/// Read a keyEncryptionAlgorithm: RSAES-OAEP with SHA-1 defaults (absent or empty parameters, as
/// `openssl cms -keyopt rsa_padding_mode:oaep` writes) or SHA-256/384/512.
pub fn oaep_params_of(alg: &AlgorithmIdentifierOwned) -> Result<OaepParams> {
    match alg.oid {
        oid::RSAES_OAEP => {}
        oid::RSA_ENCRYPTION => {
            return Err(Error::data("the message uses RSA PKCS#1 v1.5 key transport, which sealmail refuses")
                .with_hint("PKCS#1 v1.5 encryption is open to padding-oracle attacks; ask the sender to use RSA-OAEP"));
        }
        other => {
            return Err(Error::data(format!(
                "unsupported key-encryption algorithm {other}"
            )));
        }
    }
    let sha1 = OaepParams {
        hash: OaepHash::Sha1,
        mgf_hash: OaepHash::Sha1,
    };
    let Some(any) = alg.parameters.as_ref() else {
        return Ok(sha1);
    };
    if any.tag() == der::Tag::Null {
        return Ok(sha1);
    }
    let params: pkcs1::RsaOaepParamsOwned = any
        .decode_as()
        .map_err(|e| Error::data(format!("malformed CMS: bad RSAES-OAEP parameters: {e}")))?;
    let hash = hash_of(&params.hash.oid)?;
    if params.mask_gen.oid != oid::MGF1 {
        return Err(Error::data(format!(
            "unsupported OAEP mask generation function {}",
            params.mask_gen.oid
        )));
    }
    let mgf_hash = match params.mask_gen.parameters.as_ref() {
        Some(inner) => hash_of(&inner.oid)?,
        None => OaepHash::Sha1,
    };
    if params.p_source.oid != oid::P_SPECIFIED {
        return Err(Error::data("unsupported OAEP pSource algorithm"));
    }
    if let Some(label) = params.p_source.parameters.as_ref()
        && !label.value().is_empty()
    {
        return Err(Error::data("OAEP labels are not supported"));
    }
    Ok(OaepParams { hash, mgf_hash })
}

fn hash_of(oid: &ObjectIdentifier) -> Result<OaepHash> {
    Ok(match *oid {
        oid::SHA1 => OaepHash::Sha1,
        oid::SHA256 => OaepHash::Sha256,
        oid::SHA384 => OaepHash::Sha384,
        oid::SHA512 => OaepHash::Sha512,
        other => return Err(Error::data(format!("unsupported OAEP hash {other}"))),
    })
}

/// One KeyTransRecipientInfo (RFC 5652 §6.2.1): version 0 with issuerAndSerialNumber, version 2
/// with subjectKeyIdentifier.
pub fn key_trans_recipient_info(
    rid: RecipientIdentifier,
    encrypted_key: Vec<u8>,
) -> Result<RecipientInfo> {
    let version = match rid {
        RecipientIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V0,
        RecipientIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V2,
    };
    Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
        version,
        rid,
        key_enc_alg: oaep_sha256_algorithm()?,
        enc_key: OctetString::new(encrypted_key).map_err(asn1_bug)?,
    }))
}

/// An encoding failure on values we built ourselves: a bug, reported rather than panicked on.
fn asn1_bug(e: impl std::fmt::Display) -> Error {
    Error::data(format!("internal error while encoding CMS: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Writing

/// The parts of an envelope known before the content is encrypted.
pub struct EnvelopeHead {
    pub recipient_infos: Vec<RecipientInfo>,
    pub content: ContentAlgorithm,
}

/// Streams one ContentInfo { authEnvelopedData } to `out`:
///
/// ```text
/// ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT AuthEnvelopedData }
/// AuthEnvelopedData ::= SEQUENCE { version 0, recipientInfos,
///     authEncryptedContentInfo SEQUENCE { id-data, algorithm, [0] IMPLICIT OCTET STRING },
///     mac OCTET STRING }
/// ```
///
/// With the content length known the whole thing is DER; without it, BER with indefinite
/// lengths and the content as a constructed `[0]` of OCTET STRING chunks.
pub struct EnvelopeWriter<W: Write> {
    out: W,
    /// `Some(remaining)` for DER, `None` for BER chunks.
    remaining: Option<u64>,
}

impl<W: Write> EnvelopeWriter<W> {
    pub fn start(mut out: W, head: &EnvelopeHead, content_len: Option<u64>) -> Result<Self> {
        let version = 0u8.to_der().map_err(asn1_bug)?;
        let recipient_infos = encode_recipient_infos(&head.recipient_infos)?;
        let mut eci_prefix = oid::DATA.to_der().map_err(asn1_bug)?;
        eci_prefix.extend(
            head.content
                .to_algorithm_identifier()?
                .to_der()
                .map_err(asn1_bug)?,
        );
        let mac_len = tlv_len(TAG_LEN as u64);

        let content_type = oid::AUTH_ENVELOPED_DATA.to_der().map_err(asn1_bug)?;
        let mut head_bytes = Vec::with_capacity(1024 + recipient_infos.len());
        match content_len {
            Some(len) => {
                let content_tlv = tlv_len(len);
                let eci = eci_prefix.len() as u64 + content_tlv;
                let aed = (version.len() + recipient_infos.len()) as u64 + tlv_len(eci) + mac_len;
                let explicit = tlv_len(aed);
                let ci = content_type.len() as u64 + tlv_len(explicit);
                push_header(&mut head_bytes, 0x30, ci);
                head_bytes.extend(&content_type);
                push_header(&mut head_bytes, 0xA0, explicit);
                push_header(&mut head_bytes, 0x30, aed);
                head_bytes.extend(&version);
                head_bytes.extend(&recipient_infos);
                push_header(&mut head_bytes, 0x30, eci);
                head_bytes.extend(&eci_prefix);
                push_header(&mut head_bytes, 0x80, len);
            }
            None => {
                head_bytes.extend([0x30, 0x80]);
                head_bytes.extend(&content_type);
                head_bytes.extend([0xA0, 0x80, 0x30, 0x80]);
                head_bytes.extend(&version);
                head_bytes.extend(&recipient_infos);
                head_bytes.extend([0x30, 0x80]);
                head_bytes.extend(&eci_prefix);
                head_bytes.extend([0xA0, 0x80]);
            }
        }
        out.write_all(&head_bytes)?;
        Ok(EnvelopeWriter {
            out,
            remaining: content_len,
        })
    }

    /// Write the next piece of ciphertext.
    pub fn write_content(&mut self, chunk: &[u8]) -> Result<()> {
        match &mut self.remaining {
            Some(remaining) => {
                let n = chunk.len() as u64;
                if n > *remaining {
                    return Err(Error::io("the input grew while it was being encrypted"));
                }
                *remaining -= n;
                self.out.write_all(chunk)?;
            }
            None => {
                if chunk.is_empty() {
                    return Ok(());
                }
                let mut header = Vec::with_capacity(10);
                push_header(&mut header, 0x04, chunk.len() as u64);
                self.out.write_all(&header)?;
                self.out.write_all(chunk)?;
            }
        }
        Ok(())
    }

    /// Write the mac and close every open structure.
    pub fn finish(mut self, tag: &[u8; TAG_LEN]) -> Result<W> {
        let mut tail = Vec::with_capacity(32);
        match self.remaining {
            Some(0) => {
                tail.extend([0x04, TAG_LEN as u8]);
                tail.extend(tag);
            }
            Some(_) => return Err(Error::io("the input shrank while it was being encrypted")),
            None => {
                tail.extend([0x00, 0x00, 0x00, 0x00]); // end of [0] content, end of EncryptedContentInfo
                tail.extend([0x04, TAG_LEN as u8]);
                tail.extend(tag);
                tail.extend([0x00, 0x00, 0x00, 0x00, 0x00, 0x00]); // AuthEnvelopedData, [0], ContentInfo
            }
        }
        self.out.write_all(&tail)?;
        Ok(self.out)
    }
}

fn encode_recipient_infos(infos: &[RecipientInfo]) -> Result<Vec<u8>> {
    let set = cms::enveloped_data::RecipientInfos::try_from(infos.to_vec()).map_err(|e| {
        Error::usage(format!("cannot encode the recipients: {e}"))
            .with_hint("is a recipient given twice?")
    })?;
    set.to_der().map_err(asn1_bug)
}

/// The length of a DER length field plus tag byte plus `len` content bytes.
fn tlv_len(len: u64) -> u64 {
    1 + length_octets(len) as u64 + len
}

fn length_octets(len: u64) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (8 - (len.leading_zeros() / 8) as usize)
    }
}

fn push_header(buf: &mut Vec<u8>, tag: u8, len: u64) {
    buf.push(tag);
    if len < 0x80 {
        buf.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = (len.leading_zeros() / 8) as usize;
        buf.push(0x80 | (8 - skip) as u8);
        buf.extend(&bytes[skip..]);
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Everything in an envelope before its encrypted content.
#[derive(Debug, Clone)]
pub struct ParsedHead {
    /// The key-transport RecipientInfos, in message order.
    pub recipients: Vec<KeyTransRecipientInfo>,
    /// RecipientInfos of other kinds (key agreement, KEK, password), which sealmail skips.
    pub other_recipients: usize,
    pub content: ContentAlgorithm,
    /// The inner content type (id-data for mail).
    pub content_type: ObjectIdentifier,
}

/// A TLV header as read from the stream.
#[derive(Debug, Clone, Copy)]
struct TlvHeader {
    tag: u8,
    /// `None` for BER's indefinite length.
    len: Option<u64>,
}

impl TlvHeader {
    fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }
}

/// A pull parser over a byte stream, keeping its position for bounds checks.
struct Tlv<R: Read> {
    inner: R,
    pos: u64,
    peeked: Option<u8>,
}

impl<R: Read> Tlv<R> {
    fn new(inner: R) -> Self {
        Tlv {
            inner,
            pos: 0,
            peeked: None,
        }
    }

    fn byte(&mut self) -> Result<u8> {
        if let Some(b) = self.peeked.take() {
            self.pos += 1;
            return Ok(b);
        }
        let mut b = [0u8; 1];
        self.read_exact_raw(&mut b)?;
        self.pos += 1;
        Ok(b[0])
    }

    fn peek(&mut self) -> Result<Option<u8>> {
        if self.peeked.is_none() {
            let mut b = [0u8; 1];
            loop {
                match self.inner.read(&mut b) {
                    Ok(0) => return Ok(None),
                    Ok(_) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            self.peeked = Some(b[0]);
        }
        Ok(self.peeked)
    }

    fn read_exact_raw(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                truncated()
            } else {
                e.into()
            }
        })
    }

    /// Read up to `buf.len()` bytes (at least one unless `buf` is empty).
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(b) = self.peeked.take() {
            buf[0] = b;
            self.pos += 1;
            return Ok(1);
        }
        loop {
            match self.inner.read(buf) {
                Ok(0) => return Err(truncated()),
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn bytes(&mut self, n: u64, max: u64) -> Result<Vec<u8>> {
        if n > max {
            return Err(Error::data(format!(
                "malformed CMS: an element claims {n} bytes (limit {max})"
            )));
        }
        let mut v = vec![0u8; n as usize];
        let mut filled = 0;
        while filled < v.len() {
            filled += self.read_some(&mut v[filled..])?;
        }
        Ok(v)
    }

    fn header(&mut self) -> Result<TlvHeader> {
        let tag = self.byte()?;
        if tag & 0x1F == 0x1F {
            return Err(Error::data("malformed CMS: unexpected high tag number"));
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            Some(u64::from(first))
        } else if first == 0x80 {
            if tag & 0x20 == 0 {
                return Err(Error::data(
                    "malformed CMS: indefinite length on a primitive element",
                ));
            }
            None
        } else {
            let n = first & 0x7F;
            if n > 8 {
                return Err(Error::data("malformed CMS: length field too long"));
            }
            let mut len = 0u64;
            for _ in 0..n {
                len = (len << 8) | u64::from(self.byte()?);
            }
            Some(len)
        };
        Ok(TlvHeader { tag, len })
    }

    fn expect(&mut self, tag: u8, what: &str) -> Result<TlvHeader> {
        let h = self.header()?;
        if h.tag != tag {
            return Err(Error::data(format!(
                "malformed CMS: expected {what}, found tag 0x{:02x}",
                h.tag
            )));
        }
        Ok(h)
    }

    /// The end-of-contents octets after an indefinite-length element's content.
    fn end_of_contents(&mut self) -> Result<()> {
        if self.byte()? != 0 || self.byte()? != 0 {
            return Err(Error::data("malformed CMS: missing end-of-contents"));
        }
        Ok(())
    }

    /// Is the next thing an end-of-contents marker (for indefinite) or the end (for definite)?
    fn at_end(&mut self, end: Option<u64>) -> Result<bool> {
        match end {
            Some(end) => Ok(self.pos >= end),
            None => Ok(self.peek()? == Some(0)),
        }
    }

    /// Close an element opened at `end`: check the position or consume the EOC.
    fn close(&mut self, end: Option<u64>) -> Result<()> {
        match end {
            Some(end) if self.pos == end => Ok(()),
            Some(_) => Err(Error::data("malformed CMS: element lengths do not add up")),
            None => self.end_of_contents(),
        }
    }

    /// The absolute end of an element whose header was just read, checked against its parent.
    fn end_of(&self, h: &TlvHeader, parent: Option<u64>) -> Result<Option<u64>> {
        match h.len {
            None => Ok(None),
            Some(len) => {
                let end = self
                    .pos
                    .checked_add(len)
                    .ok_or_else(|| Error::data("malformed CMS: absurd length"))?;
                if parent.is_some_and(|p| end > p) {
                    return Err(Error::data(
                        "malformed CMS: an element overruns its container",
                    ));
                }
                Ok(Some(end))
            }
        }
    }

    /// Read one complete element (header and content, any nesting of indefinite lengths) into
    /// memory, re-encoded with definite lengths so that `der` can decode it.
    fn element(&mut self, h: TlvHeader, max: u64, depth: usize) -> Result<Vec<u8>> {
        if depth > limits::MAX_DEPTH {
            return Err(Error::data("malformed CMS: nesting too deep"));
        }
        match h.len {
            Some(len) => {
                let mut out = Vec::with_capacity(16);
                push_header(&mut out, h.tag, len);
                if len > max {
                    return Err(Error::data(format!(
                        "malformed CMS: an element claims {len} bytes (limit {max})"
                    )));
                }
                if h.constructed() {
                    // Children may themselves be indefinite: re-encode them.
                    let end = self.pos + len;
                    let mut content = Vec::new();
                    while self.pos < end {
                        let child = self.header()?;
                        if child.len.is_some_and(|l| self.pos + l > end) {
                            return Err(Error::data(
                                "malformed CMS: an element overruns its container",
                            ));
                        }
                        content.extend(self.element(child, max, depth + 1)?);
                    }
                    if self.pos != end {
                        return Err(Error::data("malformed CMS: element lengths do not add up"));
                    }
                    out.truncate(0);
                    push_header(&mut out, h.tag, content.len() as u64);
                    out.extend(content);
                } else {
                    out.extend(self.bytes(len, max)?);
                }
                Ok(out)
            }
            None => {
                let mut content = Vec::new();
                loop {
                    if self.peek()? == Some(0) {
                        self.end_of_contents()?;
                        break;
                    }
                    let child = self.header()?;
                    content.extend(self.element(child, max, depth + 1)?);
                    if content.len() as u64 > max {
                        return Err(Error::data(format!(
                            "malformed CMS: an element exceeds {max} bytes"
                        )));
                    }
                }
                let mut out = Vec::with_capacity(content.len() + 10);
                push_header(&mut out, h.tag, content.len() as u64);
                out.extend(content);
                Ok(out)
            }
        }
    }

    /// Skip one element without holding it.
    fn skip(&mut self, h: TlvHeader, depth: usize) -> Result<()> {
        if depth > limits::MAX_DEPTH {
            return Err(Error::data("malformed CMS: nesting too deep"));
        }
        match h.len {
            Some(mut len) => {
                let mut buf = [0u8; 4096];
                while len > 0 {
                    let n = (len.min(buf.len() as u64)) as usize;
                    let got = self.read_some(&mut buf[..n])?;
                    len -= got as u64;
                }
                Ok(())
            }
            None => loop {
                if self.peek()? == Some(0) {
                    return self.end_of_contents();
                }
                let child = self.header()?;
                self.skip(child, depth + 1)?;
            },
        }
    }
}

fn truncated() -> Error {
    Error::data("malformed CMS: the message is truncated")
}

/// Where the reader is inside the encrypted content.
enum ContentState {
    /// Inside a primitive `[0]` with this many bytes left.
    Primitive {
        remaining: u64,
    },
    /// Inside a constructed `[0]`: a stack of open constructed levels (their ends), and the
    /// remaining bytes of the current primitive chunk.
    Chunked {
        stack: Vec<Option<u64>>,
        chunk_remaining: u64,
    },
    Done,
}

/// Reads an envelope from a stream: [`EnvelopeReader::open`] parses everything up to the
/// ciphertext, [`EnvelopeReader::read_content`] streams the ciphertext, and
/// [`EnvelopeReader::finish`] reads the mac and checks the structure closes properly.
pub struct EnvelopeReader<R: Read> {
    tlv: Tlv<R>,
    /// Open structures outside the content, innermost last: ContentInfo, [0], AuthEnvelopedData,
    /// EncryptedContentInfo.
    frames: Vec<Option<u64>>,
    state: ContentState,
    pub head: ParsedHead,
}

impl<R: Read> EnvelopeReader<R> {
    pub fn open(input: R) -> Result<Self> {
        let mut tlv = Tlv::new(input);
        if tlv.peek()?.is_none() {
            return Err(Error::data("the input is empty"));
        }
        let ci = tlv.header()?;
        if ci.tag != 0x30 {
            return Err(Error::data(
                "the input is not CMS (no ContentInfo SEQUENCE)",
            ));
        }
        let ci_end = tlv.end_of(&ci, None)?;
        let oid_h = tlv.expect(0x06, "a content type")?;
        let content_type = decode_oid(&tlv.element(oid_h, 256, 0)?)?;
        match content_type {
            oid::AUTH_ENVELOPED_DATA => {}
            oid::ENVELOPED_DATA => {
                return Err(Error::data(
                    "the message is CMS EnvelopedData (e.g. AES-CBC, no integrity protection), which sealmail does not read",
                )
                .with_hint("ask the sender to use AuthEnvelopedData (openssl cms -encrypt -aes-256-gcm)"));
            }
            oid::SIGNED_DATA => {
                return Err(Error::data("the message is signed, not encrypted"));
            }
            other => {
                return Err(Error::data(format!(
                    "the message has CMS content type {other}, not authEnvelopedData"
                )));
            }
        }
        let explicit = tlv.expect(0xA0, "[0] content")?;
        let explicit_end = tlv.end_of(&explicit, ci_end)?;
        let aed = tlv.expect(0x30, "AuthEnvelopedData")?;
        let aed_end = tlv.end_of(&aed, explicit_end)?;

        let version_h = tlv.expect(0x02, "the AuthEnvelopedData version")?;
        let version = tlv.element(version_h, 16, 0)?;
        if version != [0x02, 0x01, 0x00] {
            return Err(Error::data(
                "malformed CMS: AuthEnvelopedData version is not 0",
            ));
        }
        let mut next = tlv.header()?;
        if next.tag == 0xA0 {
            // originatorInfo: certificates and CRLs we have no use for.
            tlv.skip(next, 0)?;
            next = tlv.header()?;
        }
        if next.tag != 0x31 {
            return Err(Error::data("malformed CMS: expected recipientInfos SET"));
        }
        let set_end = tlv.end_of(&next, aed_end)?;
        let mut recipients = Vec::new();
        let mut other_recipients = 0;
        while !tlv.at_end(set_end)? {
            if recipients.len() + other_recipients >= limits::MAX_RECIPIENTS {
                return Err(Error::data(format!(
                    "the message has more than {} recipients",
                    limits::MAX_RECIPIENTS
                )));
            }
            let h = tlv.header()?;
            if h.tag != 0x30 {
                // kari [1], kekri [2], pwri [3], ori [4]
                tlv.skip(h, 0)?;
                other_recipients += 1;
                continue;
            }
            let bytes = tlv.element(h, limits::MAX_ELEMENT, 0)?;
            let ktri = KeyTransRecipientInfo::from_ber(&bytes).map_err(|e| {
                Error::data(format!("malformed CMS: bad KeyTransRecipientInfo: {e}"))
            })?;
            recipients.push(ktri);
        }
        tlv.close(set_end)?;

        let eci = tlv.expect(0x30, "EncryptedContentInfo")?;
        let eci_end = tlv.end_of(&eci, aed_end)?;
        let ct_h = tlv.expect(0x06, "the encrypted content type")?;
        let inner_type = decode_oid(&tlv.element(ct_h, 256, 0)?)?;
        let alg_h = tlv.expect(0x30, "the content-encryption algorithm")?;
        let alg_bytes = tlv.element(alg_h, limits::MAX_ELEMENT, 0)?;
        let alg = AlgorithmIdentifierOwned::from_der(&alg_bytes).map_err(|e| {
            Error::data(format!(
                "malformed CMS: bad content-encryption algorithm: {e}"
            ))
        })?;
        let content = ContentAlgorithm::from_algorithm_identifier(&alg)?;

        let c = tlv.header()?;
        let state = match (c.tag, c.len) {
            (0x80, Some(len)) => {
                tlv.end_of(&c, eci_end)?;
                ContentState::Primitive { remaining: len }
            }
            (0xA0, _) => {
                let end = tlv.end_of(&c, eci_end)?;
                ContentState::Chunked {
                    stack: vec![end],
                    chunk_remaining: 0,
                }
            }
            _ => {
                return Err(Error::data(
                    "malformed CMS: the encrypted content is missing",
                ));
            }
        };
        Ok(EnvelopeReader {
            tlv,
            frames: vec![ci_end, explicit_end, aed_end, eci_end],
            state,
            head: ParsedHead {
                recipients,
                other_recipients,
                content,
                content_type: inner_type,
            },
        })
    }

    /// Read the next ciphertext bytes into `buf`; `Ok(0)` at the end of the content.
    pub fn read_content(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.state {
                ContentState::Done => return Ok(0),
                ContentState::Primitive { remaining } => {
                    if *remaining == 0 {
                        self.state = ContentState::Done;
                        return Ok(0);
                    }
                    let n = (*remaining).min(buf.len() as u64) as usize;
                    let got = self.tlv.read_some(&mut buf[..n])?;
                    *remaining -= got as u64;
                    return Ok(got);
                }
                ContentState::Chunked {
                    stack,
                    chunk_remaining,
                } => {
                    if *chunk_remaining > 0 {
                        let n = (*chunk_remaining).min(buf.len() as u64) as usize;
                        let got = self.tlv.read_some(&mut buf[..n])?;
                        *chunk_remaining -= got as u64;
                        return Ok(got);
                    }
                    // Between chunks: close finished levels, open the next chunk.
                    let Some(&top) = stack.last() else {
                        self.state = ContentState::Done;
                        return Ok(0);
                    };
                    if self.tlv.at_end(top)? {
                        self.tlv.close(top)?;
                        stack.pop();
                        if stack.is_empty() {
                            self.state = ContentState::Done;
                            return Ok(0);
                        }
                        continue;
                    }
                    let h = self.tlv.header()?;
                    let end = self.tlv.end_of(&h, top)?;
                    match h.tag {
                        0x04 => *chunk_remaining = h.len.unwrap_or(0),
                        0x24 => {
                            if stack.len() >= limits::MAX_DEPTH {
                                return Err(Error::data("malformed CMS: nesting too deep"));
                            }
                            stack.push(end);
                        }
                        _ => {
                            return Err(Error::data(
                                "malformed CMS: unexpected element inside the encrypted content",
                            ));
                        }
                    }
                }
            }
        }
    }

    /// After the content: read the mac, skip unauthenticated attributes, close every structure.
    /// Returns the mac (the tag), checked to be the length the algorithm says.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        // Drain any content the caller did not read (inspect reads it all; this is a safeguard).
        let mut sink = [0u8; 8192];
        while self.read_content(&mut sink)? > 0 {}
        // A definite EncryptedContentInfo must end exactly after the content.
        let eci_end = self.frames.pop().flatten();
        self.tlv.close(eci_end)?;
        let aed_end = self.frames.pop().flatten();
        let mut h = self.tlv.header()?;
        if h.tag == 0xA1 {
            return Err(Error::data(
                "the message has authenticated attributes, which sealmail does not support",
            ));
        }
        if h.tag != 0x04 {
            return Err(Error::data("malformed CMS: expected the mac OCTET STRING"));
        }
        let mac = match h.len {
            Some(len) => self.tlv.bytes(len, 64)?,
            None => {
                // A constructed mac (BER): reassemble it.
                h.tag = 0x24;
                let el = self.tlv.element(h, 64, 0)?;
                let os = OctetString::from_ber(&el)
                    .map_err(|e| Error::data(format!("malformed CMS: bad mac: {e}")))?;
                os.as_bytes().to_vec()
            }
        };
        if mac.len() != self.head.content.tag_len {
            return Err(Error::data(format!(
                "malformed CMS: the mac is {} bytes but the algorithm says {}",
                mac.len(),
                self.head.content.tag_len
            )));
        }
        if !self.tlv.at_end(aed_end)? {
            let h = self.tlv.header()?;
            if h.tag != 0xA2 {
                return Err(Error::data(
                    "malformed CMS: unexpected element after the mac",
                ));
            }
            self.tlv.skip(h, 0)?;
        }
        self.tlv.close(aed_end)?;
        let explicit_end = self.frames.pop().flatten();
        self.tlv.close(explicit_end)?;
        let ci_end = self.frames.pop().flatten();
        self.tlv.close(ci_end)?;
        Ok(mac)
    }
}

fn decode_oid(bytes: &[u8]) -> Result<ObjectIdentifier> {
    ObjectIdentifier::from_der(bytes)
        .map_err(|e| Error::data(format!("malformed CMS: bad object identifier: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_are_minimal() {
        for (len, octets) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (255, 2),
            (256, 3),
            (65535, 3),
            (65536, 4),
            (1 << 24, 5),
        ] {
            let mut v = Vec::new();
            push_header(&mut v, 0x04, len);
            assert_eq!(v.len(), 1 + octets, "len {len}");
            assert_eq!(length_octets(len), octets);
            // der agrees on the header encoding.
            let h = der::Header::new(
                der::Tag::OctetString,
                der::Length::from(u32::try_from(len).unwrap()),
            );
            assert_eq!(h.to_der().unwrap(), v);
        }
    }

    #[test]
    fn gcm_parameters_always_carry_icvlen() {
        let alg = ContentAlgorithm::new(ContentCipher::Aes256Gcm, [7u8; 12])
            .to_algorithm_identifier()
            .unwrap();
        let der = alg.to_der().unwrap();
        // ... SEQUENCE { OCTET STRING (12) nonce, INTEGER 16 }
        assert!(der.ends_with(&[
            0x30, 0x11, 0x04, 0x0c, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0x02, 0x01, 0x10
        ]));
        assert_eq!(
            ContentAlgorithm::from_algorithm_identifier(&alg)
                .unwrap()
                .tag_len,
            16
        );
    }

    #[test]
    fn gcm_icvlen_defaults_to_12() {
        let params = GcmParameters {
            nonce: OctetString::new(vec![1u8; 12]).unwrap(),
            icv_len: None,
        };
        let alg = AlgorithmIdentifierOwned {
            oid: oid::AES128_GCM,
            parameters: Some(der::Any::encode_from(&params).unwrap()),
        };
        let parsed = ContentAlgorithm::from_algorithm_identifier(&alg).unwrap();
        assert_eq!(
            (parsed.cipher, parsed.tag_len),
            (ContentCipher::Aes128Gcm, 12)
        );
    }

    #[test]
    fn chacha_nonce_must_be_12_bytes() {
        let nonce = OctetString::new(vec![1u8; 8]).unwrap();
        let alg = AlgorithmIdentifierOwned {
            oid: oid::CHACHA20_POLY1305,
            parameters: Some(der::Any::encode_from(&nonce).unwrap()),
        };
        assert_eq!(
            ContentAlgorithm::from_algorithm_identifier(&alg)
                .unwrap_err()
                .exit_code(),
            65
        );
    }

    #[test]
    fn oaep_sha256_parameters_round_trip_and_sha1_defaults_are_read() {
        let alg = oaep_sha256_algorithm().unwrap();
        assert_eq!(
            oaep_params_of(&alg).unwrap(),
            OaepParams {
                hash: OaepHash::Sha256,
                mgf_hash: OaepHash::Sha256
            }
        );
        // openssl's -keyopt rsa_padding_mode:oaep writes an empty SEQUENCE (all defaults).
        let empty = AlgorithmIdentifierOwned {
            oid: oid::RSAES_OAEP,
            parameters: Some(der::Any::new(der::Tag::Sequence, Vec::<u8>::new()).unwrap()),
        };
        assert_eq!(
            oaep_params_of(&empty).unwrap(),
            OaepParams {
                hash: OaepHash::Sha1,
                mgf_hash: OaepHash::Sha1
            }
        );
        let v15 = AlgorithmIdentifierOwned {
            oid: oid::RSA_ENCRYPTION,
            parameters: None,
        };
        assert!(
            oaep_params_of(&v15)
                .unwrap_err()
                .message()
                .contains("PKCS#1 v1.5")
        );
    }

    fn sample_head() -> EnvelopeHead {
        let rid = RecipientIdentifier::SubjectKeyIdentifier(
            x509_cert::ext::pkix::SubjectKeyIdentifier(OctetString::new(vec![0xAB; 20]).unwrap()),
        );
        EnvelopeHead {
            recipient_infos: vec![key_trans_recipient_info(rid, vec![0x55; 256]).unwrap()],
            content: ContentAlgorithm::new(ContentCipher::ChaCha20Poly1305, [9u8; 12]),
        }
    }

    fn write(content: &[u8], definite: bool, chunk: usize) -> Vec<u8> {
        let head = sample_head();
        let len = definite.then_some(content.len() as u64);
        let mut w = EnvelopeWriter::start(Vec::new(), &head, len).unwrap();
        for c in content.chunks(chunk.max(1)) {
            w.write_content(c).unwrap();
        }
        w.finish(&[0xEE; 16]).unwrap()
    }

    fn read_all(bytes: &[u8], buf: usize) -> Result<(ParsedHead, Vec<u8>, Vec<u8>)> {
        let mut r = EnvelopeReader::open(bytes)?;
        let mut content = Vec::new();
        let mut b = vec![0u8; buf];
        loop {
            let n = r.read_content(&mut b)?;
            if n == 0 {
                break;
            }
            content.extend(&b[..n]);
        }
        let head = r.head.clone();
        let mac = r.finish()?;
        Ok((head, content, mac))
    }

    #[test]
    fn definite_output_is_der_that_the_cms_crate_decodes() {
        let content: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let bytes = write(&content, true, 77);
        let ci = cms::content_info::ContentInfo::from_der(&bytes).unwrap();
        assert_eq!(ci.content_type, oid::AUTH_ENVELOPED_DATA);
        let aed: cms::authenveloped_data::AuthEnvelopedData = ci.content.decode_as().unwrap();
        assert_eq!(
            aed.auth_encrypted_content_info
                .encrypted_content
                .unwrap()
                .as_bytes(),
            &content[..]
        );
        assert_eq!(aed.mac.as_bytes(), &[0xEE; 16]);
        assert_eq!(aed.version, CmsVersion::V0);
    }

    #[test]
    fn indefinite_output_is_ber_that_der_decodes_in_ber_mode() {
        let content = vec![0x42u8; 5000];
        let bytes = write(&content, false, 1000);
        let ci = cms::content_info::ContentInfo::from_ber(&bytes).unwrap();
        let aed: cms::authenveloped_data::AuthEnvelopedData = ci
            .content
            .decode_as_encoding(der::EncodingRules::Ber)
            .unwrap();
        assert_eq!(
            aed.auth_encrypted_content_info
                .encrypted_content
                .unwrap()
                .as_bytes(),
            &content[..]
        );
    }

    #[test]
    fn reader_round_trips_both_encodings_at_every_buffer_size() {
        for len in [0usize, 1, 127, 128, 255, 256, 4096, 70000] {
            let content: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            for definite in [true, false] {
                let bytes = write(&content, definite, 1000);
                for buf in [1usize, 7, 4096] {
                    let (head, got, mac) = read_all(&bytes, buf).unwrap();
                    assert_eq!(got, content, "len {len} definite {definite} buf {buf}");
                    assert_eq!(mac, vec![0xEE; 16]);
                    assert_eq!(head.recipients.len(), 1);
                    assert_eq!(head.content.nonce, [9u8; 12]);
                }
            }
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for definite in [true, false] {
            let bytes = write(b"hello world", definite, 4);
            for cut in 0..bytes.len() {
                let r = read_all(&bytes[..cut], 3);
                assert!(r.is_err(), "cut at {cut} of {} accepted", bytes.len());
                assert_eq!(r.unwrap_err().exit_code(), 65);
            }
        }
    }

    #[test]
    fn absurd_lengths_are_refused_without_allocating() {
        // SEQUENCE claiming 2^56 bytes, then a content type.
        let mut bytes = vec![0x30, 0x88, 0, 1, 0, 0, 0, 0, 0, 0];
        bytes.extend(oid::AUTH_ENVELOPED_DATA.to_der().unwrap());
        bytes.extend([0xA0, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(read_all(&bytes, 16).unwrap_err().exit_code(), 65);
    }

    #[test]
    fn enveloped_data_and_signed_data_are_refused_by_name() {
        for (oid, word) in [
            (oid::ENVELOPED_DATA, "EnvelopedData"),
            (oid::SIGNED_DATA, "signed"),
        ] {
            let mut bytes = vec![0x30, 0x80];
            bytes.extend(oid.to_der().unwrap());
            let err = read_all(&bytes, 16).unwrap_err();
            assert!(err.message().contains(word), "{}", err.message());
        }
    }
}
