//! CMS AuthEnvelopedData (RFC 5083) on the wire, both directions, streaming: the AEAD content
//! algorithms (ChaCha20-Poly1305, RFC 8103; AES-GCM, RFC 5084) with their parameters,
//! [`EnvelopeWriter`] and [`EnvelopeReader`].
//!
//! Not for: the AEAD itself (see `aead`), RecipientInfos (see [`super::recipient`]) or the TLV
//! mechanics (see [`super::tlv`]).

use super::tlv::{Tlv, decode_oid, push_header, tlv_len};
use super::{asn1_bug, decode_params, limits, oid};
use crate::aead::{ContentCipher, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use cms::enveloped_data::RecipientInfo;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use std::io::{Read, Write};

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
    let set = cms::enveloped_data::RecipientInfos::try_from(infos.to_vec()).map_err(|_| {
        Error::usage("cannot encode the recipients").with_hint("is a recipient given twice?")
    })?;
    set.to_der().map_err(asn1_bug)
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Everything in an envelope before its encrypted content.
#[derive(Debug, Clone)]
pub struct ParsedHead {
    /// Every RecipientInfo, of any kind, in message order.
    pub recipients: Vec<RecipientInfo>,
    /// RecipientInfos of kinds other than key transport that did not decode (an extension of
    /// the syntax sealmail does not know): counted, not refused, since they are not for us.
    pub undecoded_recipients: usize,
    pub content: ContentAlgorithm,
    /// The inner content type (id-data for mail).
    pub content_type: ObjectIdentifier,
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
        let mut undecoded_recipients = 0;
        while !tlv.at_end(set_end)? {
            if recipients.len() + undecoded_recipients >= limits::MAX_RECIPIENTS {
                return Err(Error::data(format!(
                    "the message has more than {} recipients",
                    limits::MAX_RECIPIENTS
                )));
            }
            let h = tlv.header()?;
            let bytes = tlv.element(h, limits::MAX_ELEMENT, 0)?;
            match RecipientInfo::from_der(&bytes) {
                Ok(info) => recipients.push(info),
                // ktri is the one kind a sender of mail to us could mean us by: it must parse.
                Err(_) if h.tag == 0x30 => {
                    return Err(Error::data("malformed CMS: bad KeyTransRecipientInfo"));
                }
                Err(_) => undecoded_recipients += 1,
            }
        }
        tlv.close(set_end)?;

        let eci = tlv.expect(0x30, "EncryptedContentInfo")?;
        let eci_end = tlv.end_of(&eci, aed_end)?;
        let ct_h = tlv.expect(0x06, "the encrypted content type")?;
        let inner_type = decode_oid(&tlv.element(ct_h, 256, 0)?)?;
        let alg_h = tlv.expect(0x30, "the content-encryption algorithm")?;
        let alg_bytes = tlv.element(alg_h, limits::MAX_ELEMENT, 0)?;
        let alg = AlgorithmIdentifierOwned::from_der(&alg_bytes)
            .map_err(|_| Error::data("malformed CMS: bad content-encryption algorithm"))?;
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
                undecoded_recipients,
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
                    .map_err(|_| Error::data("malformed CMS: bad mac"))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cms::{KeyTransport, key_trans_recipient_info};
    use crate::keys::RecipientIdentifier;
    use cms::content_info::CmsVersion;

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

    fn sample_head() -> EnvelopeHead {
        let rid = RecipientIdentifier::SubjectKeyIdentifier(
            x509_cert::ext::pkix::SubjectKeyIdentifier(OctetString::new(vec![0xAB; 20]).unwrap()),
        );
        EnvelopeHead {
            recipient_infos: vec![
                key_trans_recipient_info(rid, KeyTransport::RsaOaep, vec![0x55; 256]).unwrap(),
            ],
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
