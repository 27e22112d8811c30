//! Our RSA verification (src/rsa.rs) against the rsa crate's, on encoded blocks the fuzzer
//! shapes: a real PKCS#1 v1.5 or PSS signature is opened with the public key, the fuzzer's
//! bytes change its encoded block, and the private key turns the block back into a signature.
//! Both verifiers must then agree on it, so every check of the padding is compared, not only
//! the signatures a signer would make.
#![no_main]

use std::sync::OnceLock;

use chacha20::rand_core::SeedableRng as _;
use libfuzzer_sys::fuzz_target;
use rsa::hazmat::{rsa_decrypt, rsa_encrypt};
use rsa::pkcs1::EncodeRsaPublicKey as _;
use rsa::signature::hazmat::PrehashVerifier as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{BoxedUint, PrivateKey};
use sha2::Digest as _;

/// A 2048-bit key, and a 2049-bit one (its PSS block is a byte shorter than the modulus).
fn keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = chacha20::ChaCha8Rng::seed_from_u64(1);
        [2048, 2049]
            .into_iter()
            .map(|bits| PrivateKey::new(&mut rng, bits).unwrap())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, edits)) = data.split_first() else {
        return;
    };
    let private = &keys()[usize::from(choice & 1)];
    let public = private.to_public_key();
    let pss = choice & 2 != 0;
    let hash = (choice >> 2) % 3;
    let message = &edits[..edits.len().min(4)];
    let mut rng = chacha20::ChaCha8Rng::seed_from_u64(u64::from(choice));
    let salt = usize::from(choice >> 4) * 4;
    macro_rules! sign {
        ($digest:ty) => {{
            let signature = if pss {
                rsa::pss::SigningKey::<$digest>::new_with_salt_len(private.clone(), salt)
                    .sign_with_rng(&mut rng, message)
                    .to_vec()
            } else {
                rsa::pkcs1v15::SigningKey::<$digest>::new(private.clone())
                    .sign(message)
                    .to_vec()
            };
            (signature, <$digest>::digest(message).to_vec())
        }};
    }
    let (signature, prehash) = match hash {
        0 => sign!(sha2::Sha256),
        1 => sign!(sha2::Sha384),
        _ => sign!(sha2::Sha512),
    };
    // Open the signature into its encoded block, change the block, and sign the result.
    let length = signature.len();
    let precision = public.n().bits_precision();
    let s = BoxedUint::from_be_slice(&signature, precision).unwrap();
    let mut block = rsa_encrypt(&public, &s).unwrap().to_be_bytes().to_vec();
    block.drain(..block.len() - length);
    for pair in edits.get(4..).unwrap_or(&[]).chunks_exact(3) {
        let at = usize::from(u16::from_be_bytes([pair[0], pair[1]])) % length;
        block[at] ^= pair[2];
    }
    let m = BoxedUint::from_be_slice(&block, precision).unwrap();
    if m >= *public.n().as_ref() {
        return;
    }
    let Ok(forged) = rsa_decrypt(None::<&mut chacha20::ChaCha8Rng>, private, &m) else {
        return;
    };
    let mut forged = forged.to_be_bytes().to_vec();
    forged.drain(..forged.len() - length);

    let key = public.to_pkcs1_der().unwrap();
    let ours = ocisig::fuzzing::rsa_verify(key.as_bytes(), pss, hash, &prehash, &forged);
    macro_rules! theirs {
        ($digest:ty) => {
            if pss {
                let s = rsa::pss::Signature::try_from(&forged[..]).unwrap();
                rsa::pss::VerifyingKey::<$digest>::new_with_auto_salt_len(public.clone())
                    .verify_prehash(&prehash, &s)
                    .is_ok()
            } else {
                let s = rsa::pkcs1v15::Signature::try_from(&forged[..]).unwrap();
                rsa::pkcs1v15::VerifyingKey::<$digest>::new(public.clone())
                    .verify_prehash(&prehash, &s)
                    .is_ok()
            }
        };
    }
    let theirs = match hash {
        0 => theirs!(sha2::Sha256),
        1 => theirs!(sha2::Sha384),
        _ => theirs!(sha2::Sha512),
    };
    assert_eq!(
        ours,
        Some(theirs),
        "pss {pss}, hash {hash}, block {block:02x?}"
    );
});
