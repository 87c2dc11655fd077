//! The envelope on the wire, both directions, streaming: one ContentInfo holding either
//! AuthEnvelopedData (RFC 5083, an AEAD: what sealmail prefers) or EnvelopedData (RFC 5652 §6,
//! CBC without integrity: what the installed base reads and writes). The two differ only in
//! their content type, version, and the mac after the content, so one writer and one reader
//! serve both: [`EnvelopeWriter`] puts the outer TLV headers by hand around a streamed
//! `[0] IMPLICIT OCTET STRING`, and [`EnvelopeReader`] pulls the structure apart from any `Read`,
//! DER or BER, handing the ciphertext out in chunks.
//!
//! ```text
//! ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content }
//! AuthEnvelopedData ::= SEQUENCE { version 0, originatorInfo [0] OPTIONAL, recipientInfos,
//!     authEncryptedContentInfo, authAttrs [1] OPTIONAL, mac OCTET STRING,
//!     unauthAttrs [2] OPTIONAL }
//! EnvelopedData ::= SEQUENCE { version, originatorInfo [0] OPTIONAL, recipientInfos,
//!     encryptedContentInfo, unprotectedAttrs [1] OPTIONAL }
//! EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
//!     encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
//! ```
//!
//! Not for: cryptography, the algorithms' parameters (see [`super::auth_enveloped`],
//! [`super::enveloped`]) or the TLV mechanics (see [`super::tlv`]).

use super::tlv::{StreamedString, Tlv, decode_oid, push_header, tlv_len};
use super::{ContentEncryption, asn1_bug, limits, oid};
use crate::aead::TAG_LEN;
use crate::error::{Error, Result};
use cms::enveloped_data::RecipientInfo;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use std::io::{Read, Write};

// ---------------------------------------------------------------------------------------------
// Writing

/// The parts of an envelope known before the content is encrypted. The content algorithm
/// decides the kind: an AEAD makes AuthEnvelopedData, CBC makes EnvelopedData.
pub struct EnvelopeHead {
    pub recipient_infos: Vec<RecipientInfo>,
    pub content: ContentEncryption,
}

/// Streams one ContentInfo { authEnvelopedData or envelopedData } to `out` (module
/// documentation), with id-data inside and no optional fields.
///
/// With the content length known the whole thing is DER; without it, BER with indefinite
/// lengths and the content as a constructed `[0]` of OCTET STRING chunks.
pub struct EnvelopeWriter<W: Write> {
    out: W,
    /// `Some(remaining)` for DER, `None` for BER chunks.
    remaining: Option<u64>,
    /// AuthEnvelopedData (a mac follows the content) or EnvelopedData.
    aead: bool,
}

impl<W: Write> EnvelopeWriter<W> {
    pub fn start(mut out: W, head: &EnvelopeHead, content_len: Option<u64>) -> Result<Self> {
        let aead = head.content.is_aead();
        let version = envelope_version(aead, &head.recipient_infos)
            .to_der()
            .map_err(asn1_bug)?;
        let recipient_infos = encode_recipient_infos(&head.recipient_infos)?;
        let mut eci_prefix = oid::DATA.to_der().map_err(asn1_bug)?;
        eci_prefix.extend(
            head.content
                .to_algorithm_identifier()?
                .to_der()
                .map_err(asn1_bug)?,
        );
        let mac_len = if aead { tlv_len(TAG_LEN as u64) } else { 0 };

        let content_type = match aead {
            true => oid::AUTH_ENVELOPED_DATA,
            false => oid::ENVELOPED_DATA,
        };
        let content_type = content_type.to_der().map_err(asn1_bug)?;
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
            aead,
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

    /// Write the mac (AuthEnvelopedData: `Some`; EnvelopedData has none) and close every open
    /// structure.
    pub fn finish(mut self, mac: Option<&[u8; TAG_LEN]>) -> Result<W> {
        if mac.is_some() != self.aead {
            return Err(asn1_bug("a mac for the wrong kind of envelope"));
        }
        let mut tail = Vec::with_capacity(32);
        match self.remaining {
            Some(0) => {}
            Some(_) => return Err(Error::io("the input shrank while it was being encrypted")),
            // End of the [0] content, end of EncryptedContentInfo.
            None => tail.extend([0x00, 0x00, 0x00, 0x00]),
        }
        if let Some(tag) = mac {
            tail.extend([0x04, TAG_LEN as u8]);
            tail.extend(tag);
        }
        if self.remaining.is_none() {
            // The envelope, [0], ContentInfo.
            tail.extend([0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
        }
        self.out.write_all(&tail)?;
        Ok(self.out)
    }
}
/// RFC 5652 §6.1's version rule for EnvelopedData as sealmail writes it (no originatorInfo, no
/// unprotectedAttrs): 3 with pwri or ori, 0 when every RecipientInfo is version 0 (ktri with
/// issuerAndSerialNumber), else 2. AuthEnvelopedData is always 0 (RFC 5083 §2.1).
fn envelope_version(aead: bool, infos: &[RecipientInfo]) -> u8 {
    use cms::content_info::CmsVersion;
    if aead {
        return 0;
    }
    if infos
        .iter()
        .any(|i| matches!(i, RecipientInfo::Pwri(_) | RecipientInfo::Ori(_)))
    {
        return 3;
    }
    let all_v0 = infos
        .iter()
        .all(|i| matches!(i, RecipientInfo::Ktri(k) if k.version == CmsVersion::V0));
    if all_v0 { 0 } else { 2 }
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
    pub content: ContentEncryption,
    /// The inner content type (id-data for mail).
    pub content_type: ObjectIdentifier,
}

/// Reads an envelope from a stream: [`EnvelopeReader::open`] parses everything up to the
/// ciphertext, [`EnvelopeReader::read_content`] streams the ciphertext, and
/// [`EnvelopeReader::finish`] reads the mac and checks the structure closes properly.
pub struct EnvelopeReader<R: Read> {
    tlv: Tlv<R>,
    /// Open structures outside the content, innermost last: ContentInfo, [0], AuthEnvelopedData,
    /// EncryptedContentInfo.
    frames: Vec<Option<u64>>,
    /// The ciphertext, `[0] IMPLICIT OCTET STRING`, primitive or chunked.
    ciphertext: StreamedString,
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
        let aead = match content_type {
            oid::AUTH_ENVELOPED_DATA => true,
            oid::ENVELOPED_DATA => false,
            oid::SIGNED_DATA => {
                return Err(Error::data("the message is signed, not encrypted"));
            }
            other => {
                return Err(Error::data(format!(
                    "the message has CMS content type {other}, not an encrypted envelope"
                )));
            }
        };
        let name = if aead {
            "AuthEnvelopedData"
        } else {
            "EnvelopedData"
        };
        let explicit = tlv.expect(0xA0, "[0] content")?;
        let explicit_end = tlv.end_of(&explicit, ci_end)?;
        let aed = tlv.expect(0x30, name)?;
        let aed_end = tlv.end_of(&aed, explicit_end)?;

        let version_h = tlv.expect(0x02, "the envelope's version")?;
        let version = tlv.element(version_h, 16, 0)?;
        // AuthEnvelopedData: 0 (RFC 5083 §2.1); EnvelopedData: 0, 2, 3 or 4 (RFC 5652 §6.1).
        let known = match aead {
            true => version == [0x02, 0x01, 0x00],
            false => matches!(version[..], [0x02, 0x01, 0 | 2 | 3 | 4]),
        };
        if !known {
            return Err(Error::data(format!(
                "malformed CMS: unknown {name} version"
            )));
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
        let content = ContentEncryption::from_algorithm_identifier(&alg, aead)?;

        let c = tlv.header()?;
        let ciphertext = match (c.tag, c.len) {
            (0x80, Some(len)) => {
                tlv.end_of(&c, eci_end)?;
                StreamedString::primitive(len)
            }
            (0xA0, _) => StreamedString::chunked(tlv.end_of(&c, eci_end)?),
            _ => {
                return Err(Error::data(
                    "malformed CMS: the encrypted content is missing",
                ));
            }
        };
        Ok(EnvelopeReader {
            tlv,
            frames: vec![ci_end, explicit_end, aed_end, eci_end],
            ciphertext,
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
        self.ciphertext
            .read(&mut self.tlv, buf, "the encrypted content")
    }

    /// After the content: read the mac (AuthEnvelopedData), skip unauthenticated or unprotected
    /// attributes, close every structure. Returns the mac (the tag), checked to be the length
    /// the algorithm says; `None` for EnvelopedData, which has none.
    pub fn finish(mut self) -> Result<Option<Vec<u8>>> {
        // Drain any content the caller did not read (inspect reads it all; this is a safeguard).
        let mut sink = [0u8; 8192];
        while self.read_content(&mut sink)? > 0 {}
        // A definite EncryptedContentInfo must end exactly after the content.
        let eci_end = self.frames.pop().flatten();
        self.tlv.close(eci_end)?;
        let aed_end = self.frames.pop().flatten();
        let tag_len = match &self.head.content {
            ContentEncryption::Aead(c) => c.tag_len,
            ContentEncryption::Cbc(_) => {
                // unprotectedAttrs [1].
                self.skip_trailing_attributes(aed_end, 0xA1, "the encrypted content")?;
                self.close_outer(aed_end)?;
                return Ok(None);
            }
        };
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
        if mac.len() != tag_len {
            return Err(Error::data(format!(
                "malformed CMS: the mac is {} bytes but the algorithm says {tag_len}",
                mac.len(),
            )));
        }
        // unauthAttrs [2].
        self.skip_trailing_attributes(aed_end, 0xA2, "the mac")?;
        self.close_outer(aed_end)?;
        Ok(Some(mac))
    }

    /// Skip the optional attributes (context tag `tag`) that may close an envelope ending at
    /// `envelope_end`: they carry nothing sealmail acts on. Anything else there is malformed;
    /// `after` names what it follows, for the error.
    fn skip_trailing_attributes(
        &mut self,
        envelope_end: Option<u64>,
        tag: u8,
        after: &str,
    ) -> Result<()> {
        if self.tlv.at_end(envelope_end)? {
            return Ok(());
        }
        let h = self.tlv.header()?;
        if h.tag != tag {
            return Err(Error::data(format!(
                "malformed CMS: unexpected element after {after}"
            )));
        }
        self.tlv.skip(h, 0)
    }

    /// Close the envelope (ending at `envelope_end`), its `[0]` and the ContentInfo.
    fn close_outer(&mut self, envelope_end: Option<u64>) -> Result<()> {
        self.tlv.close(envelope_end)?;
        let explicit_end = self.frames.pop().flatten();
        self.tlv.close(explicit_end)?;
        let ci_end = self.frames.pop().flatten();
        self.tlv.close(ci_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aead::ContentCipher;
    use crate::cms::{ContentAlgorithm, KeyTransport, key_trans_recipient_info};
    use crate::keys::RecipientIdentifier;
    use cms::content_info::CmsVersion;

    fn sample_head() -> EnvelopeHead {
        let rid = RecipientIdentifier::SubjectKeyIdentifier(
            x509_cert::ext::pkix::SubjectKeyIdentifier(OctetString::new(vec![0xAB; 20]).unwrap()),
        );
        EnvelopeHead {
            recipient_infos: vec![
                key_trans_recipient_info(rid, KeyTransport::RsaOaep, vec![0x55; 256]).unwrap(),
            ],
            content: ContentEncryption::Aead(ContentAlgorithm::new(
                ContentCipher::ChaCha20Poly1305,
                [9u8; 12],
            )),
        }
    }

    fn write(content: &[u8], definite: bool, chunk: usize) -> Vec<u8> {
        let head = sample_head();
        let len = definite.then_some(content.len() as u64);
        let mut w = EnvelopeWriter::start(Vec::new(), &head, len).unwrap();
        for c in content.chunks(chunk.max(1)) {
            w.write_content(c).unwrap();
        }
        w.finish(Some(&[0xEE; 16])).unwrap()
    }

    fn write_cbc(content: &[u8], definite: bool) -> Vec<u8> {
        let mut head = sample_head();
        head.content = ContentEncryption::Cbc(crate::cms::CbcAlgorithm {
            cipher: crate::cbc::CbcCipher::Aes256,
            iv: vec![5u8; 16],
        });
        let len = definite.then_some(content.len() as u64);
        let mut w = EnvelopeWriter::start(Vec::new(), &head, len).unwrap();
        w.write_content(content).unwrap();
        w.finish(None).unwrap()
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
        let mac = r.finish()?.unwrap_or_default();
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
                    assert!(
                        matches!(head.content, ContentEncryption::Aead(c) if c.nonce == [9u8; 12])
                    );
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
    fn signed_data_is_refused_by_name() {
        let mut bytes = vec![0x30, 0x80];
        bytes.extend(oid::SIGNED_DATA.to_der().unwrap());
        let err = read_all(&bytes, 16).unwrap_err();
        assert!(err.message().contains("signed"), "{}", err.message());
    }

    /// EnvelopedData: DER the cms crate decodes (version 2: the recipient is named by its
    /// subjectKeyIdentifier), BER it decodes in BER mode, and our reader gives the content back
    /// with no mac.
    #[test]
    fn enveloped_data_is_written_and_read_in_both_encodings() {
        let content = vec![0x17u8; 3000];
        let der = write_cbc(&content, true);
        let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
        assert_eq!(ci.content_type, oid::ENVELOPED_DATA);
        let ed: cms::enveloped_data::EnvelopedData = ci.content.decode_as().unwrap();
        assert_eq!(ed.version, CmsVersion::V2);
        assert_eq!(
            ed.encrypted_content.encrypted_content.unwrap().as_bytes(),
            &content[..]
        );
        let ber = write_cbc(&content, false);
        for bytes in [der, ber] {
            let mut r = EnvelopeReader::open(&bytes[..]).unwrap();
            assert!(!r.head.content.is_aead());
            let mut got = vec![0u8; 4000];
            let mut n = 0;
            loop {
                let k = r.read_content(&mut got[n..]).unwrap();
                if k == 0 {
                    break;
                }
                n += k;
            }
            assert_eq!(&got[..n], &content[..]);
            assert_eq!(r.finish().unwrap(), None);
        }
    }

    #[test]
    fn a_cipher_in_the_wrong_envelope_is_refused() {
        // CBC in AuthEnvelopedData: replace the ContentInfo's content type.
        let mut bytes = write_cbc(b"x", true);
        let ed = oid::ENVELOPED_DATA.to_der().unwrap();
        let at = bytes.windows(ed.len()).position(|w| w == ed).unwrap();
        let aed = oid::AUTH_ENVELOPED_DATA.to_der().unwrap();
        bytes.splice(at..at + ed.len(), aed);
        // The lengths are off by the OID's growth; the reader stops at the algorithm first or
        // at the lengths, a data error either way.
        assert_eq!(read_all(&bytes, 16).unwrap_err().exit_code(), 65);
        let alg = ContentAlgorithm::new(ContentCipher::Aes256Gcm, [1u8; 12])
            .to_algorithm_identifier()
            .unwrap();
        let err = ContentEncryption::from_algorithm_identifier(&alg, false).unwrap_err();
        assert!(err.message().contains("EnvelopedData"), "{}", err.message());
        let cbc = crate::cms::CbcAlgorithm {
            cipher: crate::cbc::CbcCipher::Aes128,
            iv: vec![0u8; 16],
        }
        .to_algorithm_identifier()
        .unwrap();
        let err = ContentEncryption::from_algorithm_identifier(&cbc, true).unwrap_err();
        assert!(
            err.message().contains("AuthEnvelopedData"),
            "{}",
            err.message()
        );
    }
}
