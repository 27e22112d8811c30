//! P-384: p = 2^384 − 2^128 − 2^96 + 2^32 − 1, so 2^384 ≡ 2^128 + 2^96 − 2^32 + 1 (mod p).

use crate::words;

/// Words of an element.
const WORDS: usize = 12;

/// p, least significant word first.
const P: [u32; WORDS] = [
    0xffff_ffff,
    0,
    0,
    0xffff_ffff,
    0xffff_fffe,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
];

crate::field_element!(Fe384, 12, P, reduce, p384, NistP384);

/// Adds `h·2^(32·at)·(2^128 + 2^96 − 2^32 + 1)` into the signed word accumulators: `h` at
/// `at`, `-h` at `at + 1`, `h` at `at + 3` and `at + 4`.
fn fold_into(acc: &mut [i64], at: usize, h: u32) {
    let h = i64::from(h);
    acc[at] += h;
    acc[at + 1] -= h;
    acc[at + 3] += h;
    acc[at + 4] += h;
}

/// The element congruent to the 24-word product `t`.
fn reduce(t: &[u32; 2 * WORDS]) -> [u32; WORDS] {
    // L + H·2^384 ≡ L + H·(2^128 + 2^96 − 2^32 + 1): non-negative, below 2^513, 17 words.
    let mut acc = [0i64; 17];
    for (a, &x) in acc.iter_mut().zip(&t[..WORDS]) {
        *a = i64::from(x);
    }
    for (i, &h) in t[WORDS..].iter().enumerate() {
        fold_into(&mut acc, i, h);
    }
    let mut wide = [0u32; 17];
    words::carry(&acc, &mut wide);
    // Again for the 5 words above 2^384: below 2^384 + 2^290, 13 words.
    let mut acc = [0i64; WORDS + 1];
    for (a, &x) in acc.iter_mut().zip(&wide[..WORDS]) {
        *a = i64::from(x);
    }
    for (i, &h) in wide[WORDS..].iter().enumerate() {
        fold_into(&mut acc, i, h);
    }
    let mut folded = [0u32; WORDS + 1];
    words::carry(&acc, &mut folded);
    // A last carry word of 1 at most, folded until none is left (once or twice).
    while folded[WORDS] != 0 {
        let h = folded[WORDS];
        let mut acc = [0i64; WORDS + 1];
        for (a, &x) in acc.iter_mut().zip(&folded[..WORDS]) {
            *a = i64::from(x);
        }
        fold_into(&mut acc, 0, h);
        words::carry(&acc, &mut folded);
    }
    let mut low = [0u32; WORDS];
    low.copy_from_slice(&folded[..WORDS]);
    while words::at_least(&low, &P) {
        low = words::sub(&low, &P).0;
    }
    low
}
