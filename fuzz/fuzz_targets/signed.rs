//! Signed messages (multipart/signed, application/pkcs7-mime signed-data) through `verify`, and
//! the SignedData reader on DER/BER, without a trust anchor.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::signed(data));
