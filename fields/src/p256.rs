//! P-256: p = 2^256 − 2^224 + 2^192 + 2^96 − 1, so 2^256 ≡ 2^224 − 2^192 − 2^96 + 1 (mod p).

use crate::words;

/// Words of an element.
const WORDS: usize = 8;

/// p, least significant word first.
const P: [u32; WORDS] = [
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0,
    0,
    0,
    1,
    0xffff_ffff,
];

/// `2^(32·k) mod p` for the high words `k = 8..16` of a product, as signed multiples of the
/// low words (the FIPS 186 fast reduction, in table form; `fold_table_is_exact` checks it).
const FOLD: [[i64; WORDS]; WORDS] = [
    [1, 0, 0, -1, 0, 0, -1, 1],
    [1, 1, 0, -1, -1, 0, -1, 0],
    [0, 1, 1, 0, -1, -1, 0, -1],
    [-1, 0, 1, 2, 0, -1, 0, -1],
    [-1, -1, 0, 2, 2, 0, 0, -1],
    [-1, -1, -1, 1, 2, 2, 1, -1],
    [-1, -1, -1, 0, 1, 2, 3, 0],
    [0, -1, -1, -1, 0, 1, 2, 3],
];

crate::field_element!(Fe256, 8, P, reduce, p256, NistP256);

/// The element congruent to the 16-word product `t`.
fn reduce(t: &[u32; 2 * WORDS]) -> [u32; WORDS] {
    let mut acc = [0i64; WORDS];
    for (a, &x) in acc.iter_mut().zip(&t[..WORDS]) {
        *a = i64::from(x);
    }
    for (row, &h) in FOLD.iter().zip(&t[WORDS..]) {
        let h = i64::from(h);
        for (a, &c) in acc.iter_mut().zip(row) {
            *a += c * h;
        }
    }
    // Words and a small signed carry c above them: c·2^256 ≡ c·(2^224 − 2^192 − 2^96 + 1),
    // folded until no carry is left (a few rounds: each shrinks it by 2^32).
    let mut low = [0u32; WORDS];
    let mut top = words::carry(&acc, &mut low);
    while top != 0 {
        let mut acc = [0i64; WORDS];
        for (a, &x) in acc.iter_mut().zip(&low) {
            *a = i64::from(x);
        }
        acc[0] += top;
        acc[3] -= top;
        acc[6] -= top;
        acc[7] += top;
        top = words::carry(&acc, &mut low);
    }
    while words::at_least(&low, &P) {
        low = words::sub(&low, &P).0;
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row of `FOLD` is congruent to its power of two: checked by folding the row's
    /// power with the rule `2^256 ≡ 2^224 − 2^192 − 2^96 + 1`, word by word.
    #[test]
    fn fold_table_is_exact() {
        for (k, row) in FOLD.iter().enumerate() {
            // Coefficients of 2^(32·j), j < 16, starting from 2^(32·(k + 8)).
            let mut coefficients = [0i64; 16];
            coefficients[k + WORDS] = 1;
            for j in (WORDS..16).rev() {
                let c = coefficients[j];
                coefficients[j] = 0;
                coefficients[j - 1] += c;
                coefficients[j - 2] -= c;
                coefficients[j - 5] -= c;
                coefficients[j - 8] += c;
            }
            assert_eq!(&coefficients[..WORDS], row, "row {k}");
        }
    }
}
