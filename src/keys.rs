//! Public keys: PEM in, signature checks out.
//!
//! One enum carries every key type the policy may name, so that adding a key type is one new
//! variant and one new match arm. Crypto failures stay deliberately coarse (see RustCrypto's
//! `signature::Error`): a signature is either unreadable for this key type or does not verify.

use alloc::string::String;
use alloc::vec::Vec;
use p256::ecdsa::signature::Verifier as _;
use spki::der::Decode as _;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

use crate::digest::Sha256Digest;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Why a signature did not verify under one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature bytes are not a well-formed signature for this key type (for ECDSA: not
    /// DER, or a zero or out-of-range scalar as in CVE-2022-21449).
    Malformed,
    /// The signature is well formed but does not verify under this key.
    Mismatch,
}

/// A public key the policy trusts, parsed once.
#[derive(Clone, Debug)]
pub struct PublicKey {
    verifier: Verifier,
    spki_der: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Verifier {
    EcdsaP256Sha256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Parses one PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block.
    ///
    /// # Errors
    /// Returns a message that says why: not PEM, not a public key, or a key type or curve that
    /// is not supported.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let (label, der) = spki::der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|err| format!("not a PEM block: {err}"))?;
        match label {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            other => Err(format!(
                "PEM label is {other:?}; expected \"PUBLIC KEY\" (a SubjectPublicKeyInfo)"
            )),
        }
    }

    /// Parses a DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// As [`PublicKey::from_pem`].
    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|err| format!("not a DER SubjectPublicKeyInfo: {err}"))?;
        let algorithm = spki.algorithm.oid;
        if algorithm != OID_EC_PUBLIC_KEY {
            return Err(format!("unsupported key algorithm {algorithm}"));
        }
        let curve = spki
            .algorithm
            .parameters_oid()
            .map_err(|_| String::from("EC key without a named curve"))?;
        let verifier = match curve {
            OID_P256 => Verifier::EcdsaP256Sha256(
                p256::ecdsa::VerifyingKey::try_from(spki)
                    .map_err(|err| format!("invalid P-256 public key: {err}"))?,
            ),
            other => return Err(format!("unsupported elliptic curve {other}")),
        };
        Ok(Self {
            verifier,
            spki_der: der.to_vec(),
        })
    }

    /// Checks `signature` over the exact `message` bytes.
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] when the bytes are not a signature of this key's type,
    /// [`SignatureError::Mismatch`] when they are but do not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        match &self.verifier {
            Verifier::EcdsaP256Sha256(key) => {
                let signature = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| SignatureError::Malformed)?;
                key.verify(message, &signature)
                    .map_err(|_| SignatureError::Mismatch)
            }
        }
    }

    /// The algorithm, for people: `ecdsa-p256-sha256`.
    pub fn algorithm(&self) -> &'static str {
        match self.verifier {
            Verifier::EcdsaP256Sha256(_) => "ecdsa-p256-sha256",
        }
    }

    /// The DER SubjectPublicKeyInfo, the key's canonical form.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo, the usual key fingerprint.
    pub fn fingerprint(&self) -> Sha256Digest {
        Sha256Digest::of(&self.spki_der)
    }
}
