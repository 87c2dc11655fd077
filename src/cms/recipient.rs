//! RecipientInfos (RFC 5652 §6.2), one submodule per kind sealmail writes or reads:
//! [`ktri`] for RSA key transport, [`kari`] for ECDH key agreement, [`kemri`] for ML-KEM, and
//! [`keywrap`] for the AES key wrap the last two share. A new kind of recipient (key agreement, KEM) adds its file
//! here and one arm where `keys` makes and answers RecipientInfos.
//!
//! ```text
//! RecipientInfo ::= CHOICE {
//!   ktri KeyTransRecipientInfo,
//!   kari [1] KeyAgreeRecipientInfo,
//!   kekri [2] KEKRecipientInfo,
//!   pwri [3] PasswordRecipientinfo,
//!   ori [4] OtherRecipientInfo }
//! ```
//!
//! Not for: the key operations (see `keys`) or where RecipientInfos sit in an envelope.

pub mod kari;
pub mod kemri;
pub mod keywrap;
pub mod ktri;

use crate::keys;
pub use cms::enveloped_data::RecipientInfo;

/// Plain words for whom one RecipientInfo is meant, for `inspect` and hints.
pub fn describe_whom(info: &RecipientInfo) -> String {
    match info {
        RecipientInfo::Ktri(k) => keys::describe_recipient_id(&k.rid),
        RecipientInfo::Kari(k) => {
            let whom: Vec<String> = k
                .recipient_enc_keys
                .iter()
                .map(|rek| keys::describe_recipient_id(&kari::recipient_id_of(&rek.rid)))
                .collect();
            whom.join(", ")
        }
        RecipientInfo::Kekri(_) => "a previously distributed key (kekri)".into(),
        RecipientInfo::Pwri(_) => "a password (pwri)".into(),
        RecipientInfo::Ori(ori) => match kemri::parse(ori) {
            Ok(Some(k)) => keys::describe_recipient_id(&k.rid),
            _ => format!("another kind of recipient (ori {})", ori.ori_type),
        },
    }
}

/// The identifiers of the keys one RecipientInfo is meant for (none for kinds sealmail does not
/// read), for `inspect` to find them in the keyring.
pub fn recipient_ids(info: &RecipientInfo) -> Vec<keys::RecipientIdentifier> {
    match info {
        RecipientInfo::Ktri(k) => vec![k.rid.clone()],
        RecipientInfo::Kari(k) => k
            .recipient_enc_keys
            .iter()
            .map(|rek| kari::recipient_id_of(&rek.rid))
            .collect(),
        RecipientInfo::Ori(ori) => match kemri::parse(ori) {
            Ok(Some(k)) => vec![k.rid],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Plain words for how one RecipientInfo carries the key, for `inspect`.
pub fn describe_how(info: &RecipientInfo) -> String {
    match info {
        RecipientInfo::Ktri(k) => match ktri::key_encryption_of(&k.key_enc_alg) {
            Ok(how) => how.describe(),
            Err(e) => e.message().to_string(),
        },
        RecipientInfo::Kari(k) => match kari::scheme_of(k) {
            Ok(scheme) => format!("key agreement (kari): {}", scheme.describe()),
            Err(e) => format!("key agreement (kari): {}", e.message()),
        },
        RecipientInfo::Ori(ori) => match kemri::parse(ori) {
            Ok(Some(k)) => format!("KEM (ori id-ori-kem): {}", kemri::describe(&k)),
            Ok(None) => "a kind sealmail does not use".into(),
            Err(e) => e.message().to_string(),
        },
        _ => "a kind sealmail does not use".into(),
    }
}
