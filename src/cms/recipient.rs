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
        RecipientInfo::Kari(_) => "a key-agreement recipient (kari)".into(),
        RecipientInfo::Kekri(_) => "a previously distributed key (kekri)".into(),
        RecipientInfo::Pwri(_) => "a password (pwri)".into(),
        RecipientInfo::Ori(_) => "another kind of recipient (ori)".into(),
    }
}

/// Plain words for how one RecipientInfo carries the key, for `inspect`.
pub fn describe_how(info: &RecipientInfo) -> String {
    match info {
        RecipientInfo::Ktri(k) => match ktri::key_encryption_of(&k.key_enc_alg) {
            Ok(how) => how.describe(),
            Err(e) => e.message().to_string(),
        },
        _ => "a kind sealmail does not use".into(),
    }
}
