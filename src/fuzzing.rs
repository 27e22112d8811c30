//! Entry points for the fuzz targets (feature `fuzzing`): what they compare is internal.

/// The table verifier (`ecdsa_tables`) against the curve crates' own ECDSA verifier, on a key,
/// digest and signature made from `data`: a real signature, one with a changed byte, or two
/// scalars taken as they are. Panics when the two disagree.
pub fn ecdsa_tables(data: &[u8]) {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    match choice % 3 {
        0 => crate::ecdsa_tables::fuzz_agrees::<p256::NistP256>(choice, rest),
        1 => crate::ecdsa_tables::fuzz_agrees::<p384::NistP384>(choice, rest),
        _ => crate::ecdsa_tables::fuzz_agrees::<p521::NistP521>(choice, rest),
    }
}
