//! S/MIME / PEM / DER framing and the CMS envelope reader, without a key.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::envelope(data));
