//! The whole decrypt path (framing, CMS, RSA-OAEP unwrap, AEAD, message restore) with the fixed
//! test identity `fixtures/interop/alice.key`.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::decrypt(data));
