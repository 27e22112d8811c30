//! Public keys: PEM in, signature checks out.
//!
//! One enum carries every key type the policy may name (ECDSA P-256, P-384 and P-521, RSA
//! PKCS#1 v1.5 and PSS, Ed25519), so that adding a key type is one new variant and one new match
//! arm. Crypto failures stay deliberately coarse (see RustCrypto's `signature::Error`): a
//! signature is either unreadable for this key type or does not verify.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::crypto::ecdsa_tables::KeyTable;
use crate::crypto::options::{HashAlgorithm, KeyOptions, RsaScheme};
use crate::crypto::rsa::{RsaKey, RsaKeyError};
use crate::encoding::der::{self, BIT_STRING, OID, SEQUENCE};

/// The DER contents of the algorithm and curve OIDs: id-ecPublicKey (1.2.840.10045.2.1),
/// P-256 (1.2.840.10045.3.1.7), P-384 (1.3.132.0.34), P-521 (1.3.132.0.35), rsaEncryption
/// (1.2.840.113549.1.1.1) and Ed25519 (1.3.101.112).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

use crate::limits::{MAX_RSA_BITS, MIN_RSA_BITS};

/// Why a PEM or DER public key was refused. The `Display` text says what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not one PEM block.
    NotPem {
        /// What is wrong with it.
        detail: String,
    },
    /// A PEM block whose label is not a public key's.
    WrongLabel {
        /// The label found.
        label: String,
    },
    /// The bytes are not the structure they claim to be.
    Malformed {
        /// What was expected ("a DER SubjectPublicKeyInfo", "a P-256 public key", ...).
        expected: &'static str,
        /// The decoder's words.
        detail: String,
    },
    /// A key algorithm this verifier does not support.
    UnsupportedAlgorithm {
        /// Its object identifier.
        oid: String,
    },
    /// An elliptic curve this verifier does not support, or none named.
    UnsupportedCurve {
        /// Its object identifier, if the key names one.
        oid: Option<String>,
    },
    /// An RSA modulus outside the accepted range ([`crate::limits::MIN_RSA_BITS`] to
    /// [`crate::limits::MAX_RSA_BITS`]).
    RsaSize {
        /// The modulus length.
        bits: usize,
    },
    /// A per-key option that does not fit the key type.
    Option {
        /// Which option, and why.
        detail: &'static str,
    },
}

impl core::fmt::Display for KeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotPem { detail } => write!(f, "not a PEM block: {detail}"),
            Self::WrongLabel { label } => write!(
                f,
                "PEM label is {label:?}; expected \"PUBLIC KEY\" (SubjectPublicKeyInfo) or \
                 \"RSA PUBLIC KEY\" (PKCS#1)"
            ),
            Self::Malformed { expected, detail } => write!(f, "not {expected}: {detail}"),
            Self::UnsupportedAlgorithm { oid } => write!(
                f,
                "unsupported key algorithm {oid}; supported: ECDSA P-256, P-384 and P-521, RSA \
                 and Ed25519"
            ),
            Self::UnsupportedCurve { oid: Some(oid) } => write!(
                f,
                "unsupported elliptic curve {oid}; supported: P-256, P-384 and P-521"
            ),
            Self::UnsupportedCurve { oid: None } => f.write_str("EC key without a named curve"),
            Self::RsaSize { bits } if *bits < MIN_RSA_BITS => write!(
                f,
                "RSA key of {bits} bits is too weak; at least {MIN_RSA_BITS} bits are required"
            ),
            Self::RsaSize { bits } => write!(
                f,
                "RSA key of {bits} bits is larger than the {MAX_RSA_BITS}-bit maximum"
            ),
            Self::Option { detail } => f.write_str(detail),
        }
    }
}

impl core::error::Error for KeyError {}

fn malformed(expected: &'static str) -> impl Fn(String) -> KeyError {
    move |detail| KeyError::Malformed { expected, detail }
}

/// Why a signature did not verify under one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature bytes are not a well-formed signature for this key type (for ECDSA: not
    /// DER, or a zero or out-of-range scalar as in CVE-2022-21449; for RSA: not the modulus
    /// length; for Ed25519: not 64 bytes).
    Malformed,
    /// The signature is well formed but does not verify under this key.
    Mismatch,
}

/// A public key the policy trusts, parsed once.
#[derive(Clone, Debug)]
pub struct PublicKey {
    verifier: Verifier,
    /// The hashes to try, in order; empty for Ed25519 (pure).
    hashes: Vec<HashAlgorithm>,
    spki_der: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Verifier {
    EcdsaP256(p256::ecdsa::VerifyingKey, KeyTable<p256::NistP256>),
    EcdsaP384(p384::ecdsa::VerifyingKey, KeyTable<p384::NistP384>),
    EcdsaP521(p521::ecdsa::VerifyingKey, KeyTable<p521::NistP521>),
    Rsa(RsaKey, RsaScheme),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A DER ECDSA signature checked under a NIST-curve key by [`crate::crypto::ecdsa_tables`]: with the
/// key's tables once it has them, with a table-free product on its first use.
macro_rules! verify_ecdsa {
    ($curve:ident, $key:expr, $table:expr, $prehash:expr, $signature:expr) => {{
        let signature = $curve::ecdsa::Signature::from_der($signature)
            .map_err(|_| SignatureError::Malformed)?;
        let (r, s) = signature.split_scalars();
        crate::crypto::ecdsa_tables::affine($key.as_affine()).is_some_and(|key| {
            crate::crypto::ecdsa_tables::verify_prehash(&key, $table, $prehash, &r, &s)
        })
    }};
}

impl PublicKey {
    /// Parses one PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1) block,
    /// with the default options.
    ///
    /// # Errors
    /// A [`KeyError`]: not PEM, not a public key, or a key type, curve or size that is not
    /// supported.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_pem_with(pem, KeyOptions::default())
    }

    /// Parses one PEM public key with the policy's per-key options.
    ///
    /// # Errors
    /// As [`PublicKey::from_pem`], and options that do not fit the key type.
    pub fn from_pem_with(pem: &str, options: KeyOptions) -> Result<Self, KeyError> {
        let (label, der) = der::pem(pem).ok_or_else(|| KeyError::NotPem {
            detail: "expected one block: \"-----BEGIN PUBLIC KEY-----\", base64 lines, then \
                     the same END line"
                .to_string(),
        })?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der, options),
            "RSA PUBLIC KEY" => {
                let key = RsaKey::from_pkcs1_der(&der)
                    .map_err(rsa_key_error("a PKCS#1 RSA public key"))?;
                Self::from_rsa(key, options)
            }
            _ => Err(KeyError::WrongLabel { label }),
        }
    }

    /// Parses a DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// As [`PublicKey::from_pem_with`].
    pub fn from_spki_der(der: &[u8], options: KeyOptions) -> Result<Self, KeyError> {
        let spki = Spki::read(der)
            .map_err(|what| malformed("a DER SubjectPublicKeyInfo")(expected(what)))?;
        let algorithm = spki.algorithm;
        if algorithm == OID_RSA {
            // RFC 3279: rsaEncryption's parameters are NULL.
            if spki.parameters.map(|p| p.whole) != Some(&[0x05, 0x00][..]) {
                return Err(malformed("a valid RSA public key")(
                    "rsaEncryption takes NULL parameters".into(),
                ));
            }
            let key = RsaKey::from_pkcs1_der(spki.key)
                .map_err(rsa_key_error("a valid RSA public key"))?;
            return Self::from_rsa(key, options);
        }
        if options.scheme.is_some() {
            return Err(KeyError::Option {
                detail: "scheme applies to RSA keys only",
            });
        }
        if algorithm == OID_ED25519 {
            if options.hash != HashAlgorithm::Auto {
                return Err(KeyError::Option {
                    detail: "Ed25519 signs the message itself (pure Ed25519); hashAlgorithm must \
                             be auto",
                });
            }
            let bytes: [u8; 32] = spki
                .key
                .try_into()
                .map_err(|_| malformed("an Ed25519 public key")("it is 32 bytes".into()))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| {
                malformed("an Ed25519 public key")("not a point on the curve".into())
            })?;
            return Ok(Self {
                verifier: Verifier::Ed25519(key),
                hashes: Vec::new(),
                spki_der: der.to_vec(),
            });
        }
        if algorithm != OID_EC_PUBLIC_KEY {
            return Err(KeyError::UnsupportedAlgorithm {
                oid: der::oid_text(algorithm),
            });
        }
        // RFC 5480: a named curve, its OID the parameters.
        let curve = spki
            .parameters
            .filter(|p| p.tag == OID)
            .ok_or(KeyError::UnsupportedCurve { oid: None })?
            .content;
        // The point, as SEC1 bytes (uncompressed or compressed), must be on the curve.
        let point = spki.key;
        let not_on =
            |curve: &'static str| move |err: signature::Error| malformed(curve)(err.to_string());
        let (verifier, own_hash) = match curve {
            OID_P256 => (
                Verifier::EcdsaP256(
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(not_on("a valid P-256 public key"))?,
                    KeyTable::new(),
                ),
                HashAlgorithm::Sha256,
            ),
            OID_P384 => (
                Verifier::EcdsaP384(
                    p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(not_on("a valid P-384 public key"))?,
                    KeyTable::new(),
                ),
                HashAlgorithm::Sha384,
            ),
            OID_P521 => (
                Verifier::EcdsaP521(
                    p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(not_on("a valid P-521 public key"))?,
                    KeyTable::new(),
                ),
                HashAlgorithm::Sha512,
            ),
            other => {
                return Err(KeyError::UnsupportedCurve {
                    oid: Some(der::oid_text(other)),
                });
            }
        };
        let hashes = match options.hash {
            HashAlgorithm::Auto if own_hash == HashAlgorithm::Sha256 => alloc::vec![own_hash],
            HashAlgorithm::Auto => alloc::vec![own_hash, HashAlgorithm::Sha256],
            fixed => alloc::vec![fixed],
        };
        Ok(Self {
            verifier,
            hashes,
            spki_der: der.to_vec(),
        })
    }

    fn from_rsa(key: RsaKey, options: KeyOptions) -> Result<Self, KeyError> {
        // One canonical form whatever the PEM type, so that the same key under two names (one
        // SPKI, one PKCS#1) is caught as a duplicate.
        let spki_der = key.to_spki_der();
        let hash = match options.hash {
            HashAlgorithm::Auto => HashAlgorithm::Sha256,
            fixed => fixed,
        };
        Ok(Self {
            verifier: Verifier::Rsa(key, options.scheme.unwrap_or_default()),
            hashes: alloc::vec![hash],
            spki_der,
        })
    }

    /// Checks `signature` over the exact `message` bytes; on success, names the algorithm
    /// that verified (`ecdsa-p384-sha256`).
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] when the bytes are not a signature of this key's type,
    /// [`SignatureError::Mismatch`] when they are but do not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<String, SignatureError> {
        if let Verifier::Ed25519(key) = &self.verifier {
            let signature = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| SignatureError::Malformed)?;
            // verify_strict: no small-order keys or non-canonical encodings.
            key.verify_strict(message, &signature)
                .map_err(|_| SignatureError::Mismatch)?;
            return Ok("ed25519".to_string());
        }
        for hash in &self.hashes {
            let prehash = hash.digest(message);
            if self.verify_prehash(&prehash, *hash, signature)? {
                return Ok(format!("{}-{}", self.algorithm(), hash.name()));
            }
        }
        Err(SignatureError::Mismatch)
    }

    /// Checks `signature` over an artifact known only by its digest `prehash`, made with `hash`
    /// (a Sigstore message signature). Ed25519 signs messages, not digests, so it never
    /// verifies here.
    ///
    /// # Errors
    /// As [`PublicKey::verify`].
    pub fn verify_digest(
        &self,
        hash: HashAlgorithm,
        prehash: &[u8],
        signature: &[u8],
    ) -> Result<String, SignatureError> {
        if matches!(self.verifier, Verifier::Ed25519(_)) || !self.hashes.contains(&hash) {
            return Err(SignatureError::Malformed);
        }
        if self.verify_prehash(prehash, hash, signature)? {
            Ok(format!("{}-{}", self.algorithm(), hash.name()))
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// `Ok(true)` when `signature` verifies over the digest `prehash` made with `hash`.
    fn verify_prehash(
        &self,
        prehash: &[u8],
        hash: HashAlgorithm,
        signature: &[u8],
    ) -> Result<bool, SignatureError> {
        Ok(match &self.verifier {
            Verifier::EcdsaP256(key, table) => verify_ecdsa!(p256, key, table, prehash, signature),
            Verifier::EcdsaP384(key, table) => verify_ecdsa!(p384, key, table, prehash, signature),
            Verifier::EcdsaP521(key, table) => verify_ecdsa!(p521, key, table, prehash, signature),
            Verifier::Rsa(key, scheme) => key
                .verify(*scheme, hash, prehash, signature)
                .ok_or(SignatureError::Malformed)?,
            Verifier::Ed25519(_) => false,
        })
    }

    /// The algorithm family, for people: `ecdsa-p256`, `rsa-3072-pkcs1v15`, `ed25519`.
    pub fn algorithm(&self) -> String {
        match &self.verifier {
            Verifier::EcdsaP256(..) => "ecdsa-p256".to_string(),
            Verifier::EcdsaP384(..) => "ecdsa-p384".to_string(),
            Verifier::EcdsaP521(..) => "ecdsa-p521".to_string(),
            Verifier::Rsa(key, scheme) => {
                let scheme = match scheme {
                    RsaScheme::Pkcs1v15 => "pkcs1v15",
                    RsaScheme::Pss => "pss",
                };
                format!("rsa-{}-{scheme}", key.bits())
            }
            Verifier::Ed25519(_) => "ed25519".to_string(),
        }
    }

    /// The key type and size, for people: `ECDSA P-384`, `RSA 3072`, `Ed25519`.
    pub fn kind(&self) -> String {
        match &self.verifier {
            Verifier::EcdsaP256(..) => "ECDSA P-256".to_string(),
            Verifier::EcdsaP384(..) => "ECDSA P-384".to_string(),
            Verifier::EcdsaP521(..) => "ECDSA P-521".to_string(),
            Verifier::Rsa(key, _) => format!("RSA {}", key.bits()),
            Verifier::Ed25519(_) => "Ed25519".to_string(),
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

/// "expected X" for a reader's `what` (what it expected where it stopped).
fn expected(what: &'static str) -> String {
    format!("expected {what}")
}

/// The key error for an RSA key refused while reading `expected`.
fn rsa_key_error(expected_key: &'static str) -> impl Fn(RsaKeyError) -> KeyError {
    move |err| match err {
        RsaKeyError::Malformed(what) => malformed(expected_key)(expected(what)),
        RsaKeyError::Size(bits) => KeyError::RsaSize { bits },
    }
}

/// A DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), read in place.
struct Spki<'a> {
    /// The algorithm OID's content.
    algorithm: &'a [u8],
    /// The algorithm's parameters, if any.
    parameters: Option<der::Element<'a>>,
    /// The public key: the BIT STRING's bytes (it must have no unused bits).
    key: &'a [u8],
}

impl<'a> Spki<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, &'static str> {
        let spki = der::single(bytes, SEQUENCE, "one SubjectPublicKeyInfo SEQUENCE")?;
        let mut fields = der::Elements::of(spki.content);
        let algorithm = fields.expect(SEQUENCE, "an AlgorithmIdentifier SEQUENCE")?;
        let key = fields.expect(BIT_STRING, "a subjectPublicKey BIT STRING")?;
        fields.end("nothing after the subjectPublicKey")?;
        let mut identifier = der::Elements::of(algorithm.content);
        let oid = identifier.expect(OID, "an algorithm OID")?;
        let parameters = match identifier.peek() {
            Some(_) => Some(identifier.next("algorithm parameters")?),
            None => None,
        };
        identifier.end("nothing after the algorithm parameters")?;
        let key = match key.content {
            [0, key @ ..] => key,
            _ => return Err("a subjectPublicKey of whole bytes (no unused bits)"),
        };
        Ok(Self {
            algorithm: oid.content,
            parameters,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_options_that_do_not_fit_the_key() {
        let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        assert!(PublicKey::from_pem(ed25519).is_ok());
        let with_hash = KeyOptions {
            hash: HashAlgorithm::Sha512,
            scheme: None,
        };
        assert!(matches!(
            PublicKey::from_pem_with(ed25519, with_hash),
            Err(KeyError::Option { .. })
        ));
        let with_scheme = KeyOptions {
            hash: HashAlgorithm::Auto,
            scheme: Some(RsaScheme::Pss),
        };
        let err = PublicKey::from_pem_with(ed25519, with_scheme).unwrap_err();
        assert_eq!(
            err,
            KeyError::Option {
                detail: "scheme applies to RSA keys only"
            }
        );
        assert_eq!(err.to_string(), "scheme applies to RSA keys only");
    }
}
