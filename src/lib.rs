//! sealmail: encrypt and decrypt email the S/MIME 4.0 way.
//!
//! The data flow is visible in the module names: [`message`] splits a mail into outer headers and
//! the inner [`entity`]; [`encrypt`] seals that entity under one fresh [`aead::SessionKey`], wraps
//! the key for every recipient ([`keys`]), frames it as CMS ([`cms`]) and S/MIME ([`smime`]);
//! [`decrypt`] walks the same path backwards, verifying the tag before any plaintext is released.
//! The binary (`src/main.rs`, `src/cli.rs`) is a thin shell over [`app`].
#![forbid(unsafe_code)]

pub mod aead;
pub mod app;
pub mod cbc;
pub mod cli;
pub mod cms;
pub mod compose;
pub mod decrypt;
pub mod encrypt;
pub mod entity;
pub mod error;
pub mod io;
pub mod keys;
pub mod message;
pub mod neomutt;
mod pipeline;
pub mod policy;
pub mod sign;
pub mod smime;
#[cfg(test)]
mod test_util;
pub mod verify;

pub use error::{Error, Kind, Result};
