//! How a key is to be used: the digest it signs over and, for RSA, the signature scheme (the
//! per-key fields of a policy).

use alloc::vec::Vec;
use core::str::FromStr;
use serde::Serialize;
use sha2::Digest as _;

/// The digest a key signs over (`hashAlgorithm` in the policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// What real signers produce: the curve's own hash, then SHA-256 (cosign 2.x signs with
    /// SHA-256 for every key type; newer cosign uses SHA-384 for P-384 and SHA-512 for P-521).
    /// SHA-256 for RSA; Ed25519 is pure and hashes internally.
    #[default]
    Auto,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    pub(crate) fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(message).to_vec(),
            Self::Auto | Self::Sha256 => sha2::Sha256::digest(message).to_vec(),
        }
    }
}

impl FromStr for HashAlgorithm {
    type Err = &'static str;

    /// `auto`, `sha256`, `sha384` or `sha512`; the error lists them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Self::Auto),
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            _ => Err("auto, sha256, sha384 or sha512"),
        }
    }
}

/// The RSA signature scheme (`scheme` in the policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RsaScheme {
    /// RSASSA-PKCS1-v1_5, what cosign uses for RSA keys.
    #[default]
    Pkcs1v15,
    /// RSASSA-PSS, with the salt length detected.
    Pss,
}

/// How a key is to be used: the per-key policy fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// The digest signed over.
    pub hash: HashAlgorithm,
    /// For RSA keys, the signature scheme.
    pub scheme: Option<RsaScheme>,
}

impl FromStr for RsaScheme {
    type Err = &'static str;

    /// `pkcs1v15` or `pss`; the error lists them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pkcs1v15" => Ok(Self::Pkcs1v15),
            "pss" => Ok(Self::Pss),
            _ => Err("pkcs1v15 or pss"),
        }
    }
}
