//! Entry points for the fuzz targets (feature `fuzzing`): what they compare is internal.

/// The table verifier (`ecdsa_tables`) against the curve crates' own ECDSA verifier, on a key,
/// digest and signature made from `data`: a real signature, one with a changed byte, or two
/// scalars taken as they are. Panics when the two disagree.
pub fn ecdsa_tables(data: &[u8]) {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    match choice % 3 {
        0 => crate::crypto::ecdsa_tables::fuzz_agrees::<p256::NistP256>(choice, rest),
        1 => crate::crypto::ecdsa_tables::fuzz_agrees::<p384::NistP384>(choice, rest),
        _ => crate::crypto::ecdsa_tables::fuzz_agrees::<p521::NistP521>(choice, rest),
    }
}

/// Our RSA verification (src/rsa.rs) of `signature` over `prehash` under the PKCS#1
/// `RSAPublicKey` DER `key`, for the `rsa` fuzz target to compare with the rsa crate: PSS or
/// PKCS#1 v1.5, with SHA-256, SHA-384 or SHA-512 (`hash` 0, 1, 2). `None` when the key is
/// refused or the signature is not the modulus' length.
pub fn rsa_verify(
    key: &[u8],
    pss: bool,
    hash: u8,
    prehash: &[u8],
    signature: &[u8],
) -> Option<bool> {
    let key = crate::crypto::rsa::RsaKey::from_pkcs1_der(key).ok()?;
    let scheme = if pss {
        crate::crypto::options::RsaScheme::Pss
    } else {
        crate::crypto::options::RsaScheme::Pkcs1v15
    };
    let hash = match hash {
        0 => crate::crypto::options::HashAlgorithm::Sha256,
        1 => crate::crypto::options::HashAlgorithm::Sha384,
        _ => crate::crypto::options::HashAlgorithm::Sha512,
    };
    key.verify(scheme, hash, prehash, signature)
}
