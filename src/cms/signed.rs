//! SignedData (RFC 5652 §5), both directions, streaming: the detached signature of a
//! multipart/signed message, the opaque signed-data whose content is inside it, and the reader
//! that checks either.
//!
//! The non-streamed parts (SignerInfo, its attributes, the certificates) are the `cms` crate's
//! types; only the content, which may be any size, is written and read as BER by hand, hashed as
//! it passes. Not for: MIME (see `sign`/`verify` and `smime`), or deciding whether the signer is
//! trusted (see `keys::trust`): the reader says whether the signature is valid and who made it.
//!
//! ```text
//! SignedData ::= SEQUENCE {
//!   version CMSVersion,
//!   digestAlgorithms DigestAlgorithmIdentifiers,
//!   encapContentInfo EncapsulatedContentInfo,
//!   certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!   signerInfos SignerInfos }
//! ```

use super::oid;
use super::tlv::{StreamedString, Tlv, decode_oid};
use crate::error::{Error, Result};
use crate::keys::Identity;
use crate::keys::signature::{self, Hash, Hasher, RsaPadding};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::Decode;
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Encode};
use spki::AlgorithmIdentifierOwned;
use std::io::{Read, Write};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

/// id-contentType, RFC 5652 §11.1.
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest, RFC 5652 §11.2.
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime, RFC 5652 §11.3.
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// smimeCapabilities, RFC 8551 §2.5.2.
pub const ID_SMIME_CAPABILITIES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.15");
/// id-aa-encrypKeyPref, RFC 8551 §2.5.3.
pub const ID_AA_ENCRYP_KEY_PREF: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.11");

/// The size of the OCTET STRING pieces the opaque content is written in.
const PIECE: usize = 64 * 1024;

/// Who signs and how: the key, its certificate (and the chain to send along), the RSA padding,
/// and the SMIMECapabilities attribute value (DER) to advertise.
pub struct Signer<'a> {
    pub identity: &'a Identity,
    pub certificate: Certificate,
    pub chain: Vec<Certificate>,
    pub padding: RsaPadding,
    pub capabilities: Vec<u8>,
}

impl Signer<'_> {
    /// The one digest sealmail signs with.
    pub const HASH: Hash = Hash::Sha256;

    fn issuer_and_serial(&self) -> IssuerAndSerialNumber {
        let tbs = self.certificate.tbs_certificate();
        IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }
    }

    /// The signed attributes for a content whose digest is `digest`.
    ///
    /// ```text
    /// SMIMEEncryptionKeyPreference ::= CHOICE {
    ///   issuerAndSerialNumber   [0] IssuerAndSerialNumber,
    ///   receipentKeyId          [1] RecipientKeyIdentifier,
    ///   subjectAltKeyIdentifier [2] SubjectKeyIdentifier }
    /// ```
    fn signed_attributes(&self, digest: &[u8], time: SystemTime) -> Result<SetOfVec<Attribute>> {
        let enc = |e: der::Error| Error::config(format!("cannot encode a signed attribute: {e}"));
        let time = x509_cert::time::Time::try_from(time).map_err(enc)?;
        // The module's tags are IMPLICIT: [0] replaces IssuerAndSerialNumber's SEQUENCE tag.
        let mut key_pref = self.issuer_and_serial().to_der().map_err(enc)?;
        if let Some(tag) = key_pref.first_mut() {
            *tag = 0xA0;
        }
        let values: [(ObjectIdentifier, Any); 5] = [
            (ID_CONTENT_TYPE, Any::encode_from(&oid::DATA).map_err(enc)?),
            (
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(digest).map_err(enc)?).map_err(enc)?,
            ),
            (ID_SIGNING_TIME, Any::encode_from(&time).map_err(enc)?),
            (
                ID_SMIME_CAPABILITIES,
                Any::from_der(&self.capabilities).map_err(enc)?,
            ),
            (
                ID_AA_ENCRYP_KEY_PREF,
                Any::from_der(&key_pref).map_err(enc)?,
            ),
        ];
        let mut attrs = Vec::new();
        for (oid, value) in values {
            attrs.push(Attribute {
                oid,
                values: SetOfVec::try_from(vec![value]).map_err(enc)?,
            });
        }
        SetOfVec::try_from(attrs).map_err(enc)
    }

    /// The SignerInfos of a content whose digest is `digest`: one SignerInfo, signed now.
    fn signer_infos(&self, digest: &[u8], time: SystemTime) -> Result<SignerInfos> {
        let enc = |e: der::Error| Error::config(format!("cannot encode the SignerInfo: {e}"));
        let signed_attrs = self.signed_attributes(digest, time)?;
        // RFC 5652 §5.4: the signature covers the DER of the SET OF, not the [0] IMPLICIT form.
        let to_sign = signed_attrs.to_der().map_err(enc)?;
        let (signature_algorithm, sig) = signature::sign(self.identity, self.padding, &to_sign)?;
        let info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(self.issuer_and_serial()),
            digest_alg: digest_algorithm(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm,
            signature: OctetString::new(sig).map_err(enc)?,
            unsigned_attrs: None,
        };
        Ok(SignerInfos(SetOfVec::try_from(vec![info]).map_err(enc)?))
    }

    fn certificate_set(&self) -> Result<CertificateSet> {
        let mut certs = vec![CertificateChoices::Certificate(self.certificate.clone())];
        for cert in &self.chain {
            if *cert != self.certificate {
                certs.push(CertificateChoices::Certificate(cert.clone()));
            }
        }
        SetOfVec::try_from(certs)
            .map(CertificateSet)
            .map_err(|e| Error::config(format!("cannot encode the certificates: {e}")))
    }

    /// A detached signature (no eContent) over content whose digest is `digest`, as the DER of a
    /// ContentInfo: the `application/pkcs7-signature` part of multipart/signed.
    pub fn detached(&self, digest: &[u8], time: SystemTime) -> Result<Vec<u8>> {
        let enc = |e: der::Error| Error::config(format!("cannot encode the SignedData: {e}"));
        let signed = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![digest_algorithm()]).map_err(enc)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oid::DATA,
                econtent: None,
            },
            certificates: Some(self.certificate_set()?),
            crls: None,
            signer_infos: self.signer_infos(digest, time)?,
        };
        let info = cms::content_info::ContentInfo {
            content_type: oid::SIGNED_DATA,
            content: Any::encode_from(&signed).map_err(enc)?,
        };
        info.to_der().map_err(enc)
    }
}

/// sha256 with absent parameters (RFC 5754 §2: "implementations MUST generate ... without
/// parameters").
fn digest_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: Signer::HASH.oid(),
        parameters: None,
    }
}

/// Writes an opaque SignedData (content inside, BER with indefinite lengths so that it streams),
/// hashing the content as it is written; [`OpaqueWriter::finish`] signs and closes it.
pub struct OpaqueWriter<W: Write> {
    out: W,
    hasher: Hasher,
    piece: Vec<u8>,
}

impl<W: Write> OpaqueWriter<W> {
    pub fn start(mut out: W) -> Result<Self> {
        let enc = |e: der::Error| Error::config(format!("cannot encode the SignedData: {e}"));
        let mut head = Vec::with_capacity(128);
        head.extend_from_slice(&[0x30, 0x80]); // ContentInfo
        head.extend_from_slice(&oid::SIGNED_DATA.to_der().map_err(enc)?);
        head.extend_from_slice(&[0xA0, 0x80]); // [0] EXPLICIT content
        head.extend_from_slice(&[0x30, 0x80]); // SignedData
        head.extend_from_slice(&[0x02, 0x01, 0x01]); // version 1
        let digests = SetOfVec::try_from(vec![digest_algorithm()]).map_err(enc)?;
        head.extend_from_slice(&digests.to_der().map_err(enc)?);
        head.extend_from_slice(&[0x30, 0x80]); // EncapsulatedContentInfo
        head.extend_from_slice(&oid::DATA.to_der().map_err(enc)?);
        head.extend_from_slice(&[0xA0, 0x80]); // [0] EXPLICIT eContent
        head.extend_from_slice(&[0x24, 0x80]); // OCTET STRING, constructed
        out.write_all(&head)?;
        Ok(OpaqueWriter {
            out,
            hasher: Hasher::new(Signer::HASH),
            piece: Vec::with_capacity(PIECE),
        })
    }

    /// Content bytes, in any pieces.
    pub fn write_content(&mut self, mut data: &[u8]) -> Result<()> {
        self.hasher.update(data);
        while !data.is_empty() {
            let room = PIECE - self.piece.len();
            let (now, rest) = data.split_at(room.min(data.len()));
            self.piece.extend_from_slice(now);
            data = rest;
            if self.piece.len() == PIECE {
                self.flush_piece()?;
            }
        }
        Ok(())
    }

    fn flush_piece(&mut self) -> Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        let mut header = Vec::with_capacity(6);
        super::tlv::push_header(&mut header, 0x04, self.piece.len() as u64);
        self.out.write_all(&header)?;
        self.out.write_all(&self.piece)?;
        self.piece.clear();
        Ok(())
    }

    /// Sign the content written and close every structure. Returns the writer.
    pub fn finish(mut self, signer: &Signer<'_>, time: SystemTime) -> Result<W> {
        let enc = |e: der::Error| Error::config(format!("cannot encode the SignedData: {e}"));
        self.flush_piece()?;
        let digest = self.hasher.finish();
        let mut tail = Vec::with_capacity(8192);
        tail.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // OCTET STRING, [0], EncapsulatedContentInfo
        let mut certs = signer.certificate_set()?.to_der().map_err(enc)?;
        if let Some(tag) = certs.first_mut() {
            *tag = 0xA0; // certificates [0] IMPLICIT CertificateSet
        }
        tail.extend_from_slice(&certs);
        tail.extend_from_slice(&signer.signer_infos(&digest, time)?.to_der().map_err(enc)?);
        tail.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // SignedData, [0], ContentInfo
        self.out.write_all(&tail)?;
        Ok(self.out)
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// The most SignerInfos, certificates and signed attributes read from one SignedData: real mail
/// has one signer, a handful of certificates and six to ten attributes.
pub mod limits {
    pub const MAX_SIGNERS: usize = 16;
    pub const MAX_CERTIFICATES: usize = 64;
    pub const MAX_ATTRIBUTES: usize = 64;
    /// The certificates [0] or the signerInfos SET, held in memory.
    pub const MAX_SET: u64 = 1 << 20;
    /// A detached signature part (the whole p7s), decoded.
    pub const MAX_DETACHED: usize = 2 << 20;
}

/// What a SignedData says besides its content.
#[derive(Debug, Clone)]
pub struct SignedParts {
    pub content_type: ObjectIdentifier,
    pub certificates: Vec<Certificate>,
    pub signer_infos: Vec<SignerInfo>,
}

/// Reads a SignedData from a stream: [`SignedReader::open`] reads up to the content,
/// [`SignedReader::read_content`] streams it (nothing for a detached signature), and
/// [`SignedReader::finish`] reads the certificates and SignerInfos.
pub struct SignedReader<R: Read> {
    tlv: Tlv<R>,
    /// ContentInfo, [0], SignedData, EncapsulatedContentInfo (the last popped when it closes).
    frames: Vec<Option<u64>>,
    /// The eContent OCTET STRING; `None` for a detached signature.
    content: Option<StreamedString>,
    /// The [0] around eContent, closed after the content.
    econtent_end: Option<Option<u64>>,
    pub content_type: ObjectIdentifier,
    /// The digests the signer announces before the content, to hash it with as it passes.
    pub digest_algorithms: Vec<Hash>,
}

impl<R: Read> SignedReader<R> {
    pub fn open(input: R) -> Result<Self> {
        let mut tlv = Tlv::new(input);
        if tlv.peek()?.is_none() {
            return Err(Error::data("the input is empty"));
        }
        let ci = tlv.expect(0x30, "a ContentInfo SEQUENCE")?;
        let ci_end = tlv.end_of(&ci, None)?;
        let oid_h = tlv.expect(0x06, "a content type")?;
        let content_type = decode_oid(&tlv.element(oid_h, 256, 0)?)?;
        if content_type != oid::SIGNED_DATA {
            return Err(Error::data(format!(
                "the CMS content is {content_type}, not signedData"
            )));
        }
        let explicit = tlv.expect(0xA0, "[0] content")?;
        let explicit_end = tlv.end_of(&explicit, ci_end)?;
        let sd = tlv.expect(0x30, "SignedData")?;
        let sd_end = tlv.end_of(&sd, explicit_end)?;
        let version_h = tlv.expect(0x02, "the SignedData version")?;
        tlv.element(version_h, 16, 0)?;
        let digests_h = tlv.expect(0x31, "digestAlgorithms")?;
        let digests = tlv.element(digests_h, super::limits::MAX_ELEMENT, 0)?;
        let mut digest_algorithms = Vec::new();
        for alg in children(&digests)? {
            let alg = AlgorithmIdentifierOwned::from_der(alg)
                .map_err(|_| Error::data("malformed CMS: bad digest algorithm"))?;
            // Unknown or refused digests are reported when a SignerInfo uses one.
            if let Ok(hash) = Hash::from_oid(alg.oid)
                && !digest_algorithms.contains(&hash)
            {
                digest_algorithms.push(hash);
            }
        }
        let eci = tlv.expect(0x30, "EncapsulatedContentInfo")?;
        let eci_end = tlv.end_of(&eci, sd_end)?;
        let ct_h = tlv.expect(0x06, "the encapsulated content type")?;
        let inner_type = decode_oid(&tlv.element(ct_h, 256, 0)?)?;
        let mut econtent_end = None;
        let content = if tlv.at_end(eci_end)? {
            None
        } else {
            let wrapper = tlv.expect(0xA0, "[0] eContent")?;
            let wrapper_end = tlv.end_of(&wrapper, eci_end)?;
            econtent_end = Some(wrapper_end);
            let c = tlv.header()?;
            let end = tlv.end_of(&c, wrapper_end)?;
            match (c.tag, c.len) {
                (0x04, Some(len)) => Some(StreamedString::primitive(len)),
                (0x24, _) => Some(StreamedString::chunked(end)),
                _ => {
                    return Err(Error::data(
                        "malformed CMS: eContent is not an OCTET STRING",
                    ));
                }
            }
        };
        Ok(SignedReader {
            tlv,
            frames: vec![ci_end, explicit_end, sd_end, eci_end],
            content,
            econtent_end,
            content_type: inner_type,
            digest_algorithms,
        })
    }

    /// Whether the content is inside (opaque) rather than elsewhere (detached).
    pub fn has_content(&self) -> bool {
        self.content.is_some()
    }

    /// The next content bytes into `buf`; `Ok(0)` at its end.
    pub fn read_content(&mut self, buf: &mut [u8]) -> Result<usize> {
        match &mut self.content {
            Some(content) => content.read(&mut self.tlv, buf, "the signed content"),
            None => Ok(0),
        }
    }

    /// After the content: the certificates and SignerInfos; every structure must close.
    pub fn finish(mut self) -> Result<SignedParts> {
        let mut sink = [0u8; 8192];
        while self.read_content(&mut sink)? > 0 {}
        if let Some(end) = self.econtent_end {
            self.tlv.close(end)?;
        }
        let eci_end = self.frames.pop().flatten();
        self.tlv.close(eci_end)?;
        let sd_end = self.frames.last().copied().flatten();

        let mut h = self.tlv.header()?;
        let mut certificates = Vec::new();
        if h.tag == 0xA0 {
            let set = self.tlv.element(h, limits::MAX_SET, 0)?;
            for choice in children(&set)? {
                // Other CertificateChoices (attribute certificates, other formats) are skipped.
                if choice.first() == Some(&0x30) {
                    if certificates.len() >= limits::MAX_CERTIFICATES {
                        return Err(Error::data(format!(
                            "the signature carries more than {} certificates",
                            limits::MAX_CERTIFICATES
                        )));
                    }
                    certificates.push(Certificate::from_der(choice).map_err(|_| {
                        Error::data("malformed CMS: a certificate in the signature is malformed")
                    })?);
                }
            }
            h = self.tlv.header()?;
        }
        if h.tag == 0xA1 {
            self.tlv.skip(h, 0)?;
            h = self.tlv.header()?;
        }
        if h.tag != 0x31 {
            return Err(Error::data("malformed CMS: expected the signerInfos SET"));
        }
        let set = self.tlv.element(h, limits::MAX_SET, 0)?;
        let mut signer_infos = Vec::new();
        for info in children(&set)? {
            if signer_infos.len() >= limits::MAX_SIGNERS {
                return Err(Error::data(format!(
                    "the message has more than {} signers",
                    limits::MAX_SIGNERS
                )));
            }
            let info = SignerInfo::from_der(info)
                .map_err(|_| Error::data("malformed CMS: a SignerInfo is malformed"))?;
            if info
                .signed_attrs
                .as_ref()
                .is_some_and(|a| a.len() > limits::MAX_ATTRIBUTES)
            {
                return Err(Error::data(format!(
                    "a SignerInfo has more than {} signed attributes",
                    limits::MAX_ATTRIBUTES
                )));
            }
            signer_infos.push(info);
        }
        if signer_infos.is_empty() {
            return Err(Error::data("the signature has no SignerInfo"));
        }
        self.tlv.close(sd_end)?;
        self.frames.pop();
        while let Some(end) = self.frames.pop() {
            self.tlv.close(end)?;
        }
        Ok(SignedParts {
            content_type: self.content_type,
            certificates,
            signer_infos,
        })
    }
}

/// The elements inside a constructed element read by `Tlv::element` (definite, so DER-like).
fn children(element: &[u8]) -> Result<Vec<&[u8]>> {
    use der::Reader;
    let malformed = || Error::data("malformed CMS: bad element lengths");
    let mut reader = der::SliceReader::new(element).map_err(|_| malformed())?;
    let header = der::Header::decode(&mut reader).map_err(|_| malformed())?;
    let start = u32::from(reader.position()) as usize;
    let content = element
        .get(start..start + u32::from(header.length()) as usize)
        .ok_or_else(malformed)?;
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let mut r = der::SliceReader::new(rest).map_err(|_| malformed())?;
        let h = der::Header::decode(&mut r).map_err(|_| malformed())?;
        let len = u32::from(r.position()) as usize + u32::from(h.length()) as usize;
        let (one, tail) = rest.split_at_checked(len).ok_or_else(malformed)?;
        out.push(one);
        rest = tail;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Checking

/// A signature that checked out: who made it, when they say they did, what they read.
#[derive(Debug, Clone)]
pub struct ValidSignature {
    pub signer: Certificate,
    /// The other certificates the message carried (a chain, usually).
    pub certificates: Vec<Certificate>,
    pub signing_time: Option<SystemTime>,
    /// The SMIMECapabilities attribute's DER, when present.
    pub capabilities: Option<Vec<u8>>,
    pub algorithm: String,
}

/// Check the first SignerInfo that names a certificate the message carries: the digest of the
/// content (`digests`: one per hash computed) against messageDigest, contentType against the
/// encapsulated type, and the signature over the signed attributes. Any failure is 65 with the
/// reason; `signer` in the message says who the message claims signed it when known.
pub fn check(parts: &SignedParts, digests: &[(Hash, Vec<u8>)]) -> Result<ValidSignature> {
    if !parts
        .signer_infos
        .iter()
        .any(|info| find_signer(&parts.certificates, &info.sid).is_some())
    {
        return Err(unknown_signer());
    }
    let mut failure = None;
    for info in &parts.signer_infos {
        match check_one(parts, info, digests) {
            Ok(valid) => return Ok(valid),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    Err(failure.unwrap_or_else(|| Error::data("the signature has no SignerInfo")))
}

fn check_one(
    parts: &SignedParts,
    info: &SignerInfo,
    digests: &[(Hash, Vec<u8>)],
) -> Result<ValidSignature> {
    let signer = find_signer(&parts.certificates, &info.sid).ok_or_else(unknown_signer)?;
    let who = crate::keys::trust::describe_certificate(signer);
    let invalid =
        |reason: String| Error::data(format!("the signature by {who} is not valid: {reason}"));
    let hash = Hash::from_oid(info.digest_alg.oid).map_err(invalid)?;
    let digest = digests
        .iter()
        .find(|(h, _)| *h == hash)
        .map(|(_, d)| d)
        .ok_or_else(|| invalid("its digest algorithm was not announced".into()))?;
    let attrs = info.signed_attrs.as_ref().ok_or_else(|| {
        invalid("it has no signed attributes, which sealmail requires (RFC 8551 §2.5)".into())
    })?;
    let one = |oid: ObjectIdentifier| single_attribute(attrs, oid).map_err(invalid);
    let content_type: ObjectIdentifier = one(ID_CONTENT_TYPE)?
        .and_then(|v| v.decode_as().ok())
        .ok_or_else(|| invalid("the contentType attribute is missing".into()))?;
    if content_type != parts.content_type {
        return Err(invalid(
            "the contentType attribute does not match the content".into(),
        ));
    }
    let claimed: OctetString = one(ID_MESSAGE_DIGEST)?
        .and_then(|v| v.decode_as().ok())
        .ok_or_else(|| invalid("the messageDigest attribute is missing".into()))?;
    if claimed.as_bytes() != digest.as_slice() {
        return Err(invalid(
            "the content does not match its signed digest (it was changed after signing)".into(),
        ));
    }
    let signing_time = match one(ID_SIGNING_TIME)? {
        Some(v) => Some(
            v.to_der()
                .ok()
                .and_then(|der| x509_cert::time::Time::from_der(&der).ok())
                .ok_or_else(|| invalid("the signingTime attribute is malformed".into()))?
                .to_system_time(),
        ),
        None => None,
    };
    let capabilities = one(ID_SMIME_CAPABILITIES)?.and_then(|v| v.to_der().ok());
    let algorithm = signature::Algorithm::from_identifier(&info.signature_algorithm, Some(hash))
        .map_err(invalid)?;
    let signed = attrs
        .to_der()
        .map_err(|_| invalid("the signed attributes cannot be encoded".into()))?;
    signature::verify(
        signer.tbs_certificate().subject_public_key_info(),
        algorithm,
        &signed,
        info.signature.as_bytes(),
    )
    .map_err(invalid)?;
    Ok(ValidSignature {
        signer: signer.clone(),
        certificates: parts
            .certificates
            .iter()
            .filter(|c| *c != signer)
            .cloned()
            .collect(),
        signing_time,
        capabilities,
        algorithm: algorithm.describe(),
    })
}

/// The one value of the attribute `oid`, if present; an attribute that appears twice or with
/// several values is refused (RFC 5652 §5.3: signed attributes of these types are single-valued).
fn single_attribute(
    attrs: &SetOfVec<Attribute>,
    oid: ObjectIdentifier,
) -> std::result::Result<Option<&Any>, String> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(a), None) if a.values.len() == 1 => Ok(a.values.iter().next()),
        _ => Err(format!("the attribute {oid} appears more than once")),
    }
}

/// No SignerInfo names a certificate the message carries: the signature cannot be checked at
/// all, which is not the same as a signature that is wrong. 77, like a signer who is not trusted
/// (nothing says who signed); `decrypt` releases the content with a warning
/// ([`is_unknown_signer`]).
fn unknown_signer() -> Error {
    Error::no_permission(
        "the signer's certificate is not in the message, so the signature cannot be checked",
    )
    .with_hint("ask the sender to include their certificate (openssl cms -sign does)")
}

/// Is `e` the answer of [`check`] for a signature whose signer's certificate is missing?
pub fn is_unknown_signer(e: &Error) -> bool {
    e.kind() == crate::Kind::NoPermission
        && e.message()
            .starts_with("the signer's certificate is not in the message")
}

fn find_signer<'a>(certs: &'a [Certificate], sid: &SignerIdentifier) -> Option<&'a Certificate> {
    certs.iter().find(|cert| {
        let tbs = cert.tbs_certificate();
        match sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                *tbs.issuer() == ias.issuer && *tbs.serial_number() == ias.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
                tbs.get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>(),
                Ok(Some((_, own))) if own == *ski
            ),
        }
    })
}
