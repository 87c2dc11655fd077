//! The streaming body transforms against their one-shot definitions, over random inputs cut at
//! random places (a CR at the end of one chunk and its LF at the start of the next included).

use proptest::prelude::*;
use sealmail::entity::{Canonicalizer, Decanonicalizer, canonical_len, to_crlf, to_lf};

/// LF -> CRLF, written the obvious way, byte by byte.
fn naive_crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = None;
    for &b in input {
        if b == b'\n' && prev != Some(b'\r') {
            out.push(b'\r');
        }
        out.push(b);
        prev = Some(b);
    }
    out
}

/// CRLF -> LF, written the obvious way, byte by byte.
fn naive_lf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if !(b == b'\r' && input.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
        i += 1;
    }
    out
}

/// Bytes rich in CR and LF, and cut points into them.
fn input_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    let byte = prop_oneof![
        Just(b'\r'),
        Just(b'\n'),
        Just(b'a'),
        Just(b' '),
        any::<u8>()
    ];
    proptest::collection::vec(byte, 0..400).prop_flat_map(|input| {
        let len = input.len();
        (Just(input), proptest::collection::vec(0..=len, 0..12))
    })
}

fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts = cuts.to_vec();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts {
        out.push(&input[start..cut]); // empty pieces included on purpose
        start = cut;
    }
    out.push(&input[start..]);
    out
}

fn canonicalize(pieces: &[&[u8]]) -> Vec<u8> {
    let mut c = Canonicalizer::default();
    let mut out = Vec::new();
    for piece in pieces {
        c.push(piece, &mut out);
    }
    out
}

fn decanonicalize(pieces: &[&[u8]]) -> Vec<u8> {
    let mut d = Decanonicalizer::default();
    let mut out = Vec::new();
    for piece in pieces {
        d.push(piece, &mut out);
    }
    d.finish(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn canonicalizer_in_chunks_equals_the_one_shot_transform((input, cuts) in input_and_cuts()) {
        prop_assert_eq!(canonicalize(&pieces(&input, &cuts)), naive_crlf(&input));
    }

    #[test]
    fn decanonicalizer_in_chunks_equals_the_one_shot_transform((input, cuts) in input_and_cuts()) {
        prop_assert_eq!(decanonicalize(&pieces(&input, &cuts)), naive_lf(&input));
    }

    #[test]
    fn canonical_len_is_the_canonical_length((input, _) in input_and_cuts()) {
        prop_assert_eq!(canonical_len(&input[..]).unwrap(), naive_crlf(&input).len() as u64);
    }

    /// LF text (lone CRs allowed, CRLF not: that is not LF text) comes back exactly.
    #[test]
    fn decanonicalize_undoes_canonicalize_for_lf_text(
        (input, cuts) in input_and_cuts(),
        cuts_back in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut text = Vec::with_capacity(input.len());
        for &b in &input {
            if b == b'\n' && text.last() == Some(&b'\r') {
                text.push(b'.');
            }
            text.push(b);
        }
        let canonical = canonicalize(&pieces(&text, &cuts));
        prop_assert!(!canonical.windows(2).enumerate().any(|(i, w)| {
            w[1] == b'\n' && w[0] != b'\r' || (i == 0 && w[0] == b'\n')
        }), "no bare LF left");
        let back_cuts: Vec<usize> = cuts_back.iter().map(|i| i.index(canonical.len() + 1)).collect();
        prop_assert_eq!(decanonicalize(&pieces(&canonical, &back_cuts)), text);
    }
}

#[test]
fn canonical_len_matches_the_transform_across_read_boundaries() {
    // Longer than canonical_len's 64 KiB buffer, with a CRLF straddling the boundary.
    let mut input = vec![b'x'; 64 * 1024 - 1];
    input.extend_from_slice(b"\r\n\n\ra\nb");
    let expected = naive_crlf(&input).len() as u64;
    assert_eq!(canonical_len(&input[..]).unwrap(), expected);
    assert_eq!(canonical_len(&b"a\nb\r\n"[..]).unwrap(), 6);
}

#[test]
fn fast_transforms_equal_the_naive_ones_on_awkward_inputs() {
    let cases: [&[u8]; 8] = [
        b"",
        b"\r",
        b"\n",
        b"\r\n",
        b"\n\r",
        b"\r\r\n\n",
        b"a\r\r\rb\n\n\r\n",
        b"\n\n\n",
    ];
    for case in cases {
        assert_eq!(to_crlf(case), naive_crlf(case), "{case:?}");
        assert_eq!(to_lf(case), naive_lf(case), "{case:?}");
    }
}
