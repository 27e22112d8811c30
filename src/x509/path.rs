//! Certificate path validation (RFC 5280 §6), in one place for every chain ocisig checks: a
//! Fulcio leaf up to a certificate authority of the trusted root, and a timestamp authority's
//! signing certificate up to its root.
//!
//! A path is a leaf and the certificate authorities above it, `cas[0]` its issuer and the last
//! the trust anchor. The anchor is trusted because the policy names it, so its self-signature
//! proves nothing and is not checked (as Go's crypto/x509 and OpenSSL do not); every rule
//! below applies to it all the same, as Go applies them, since the anchor's own constraints
//! say what its owner meant it to vouch for.
//!
//! Each certificate is checked against the rules of its [`Position`] and the path's
//! [`Purpose`]:
//! - **critical extensions**: a certificate-using system must refuse a certificate with a
//!   critical extension it does not process (RFC 5280 §4.2). The extensions processed are
//!   listed in [`processes`], per position and purpose; any other critical extension fails the
//!   path, naming its OID and position. Fulcio's own extensions (`1.3.6.1.4.1.57264.1.*`) are
//!   never marked critical by Fulcio, and cosign and sigstore-python refuse them when they
//!   are, so ocisig does too: the issuer and workflow extensions are matched against a policy
//!   only when the policy asks, which is not processing them on every path;
//! - **name constraints** are not enforced by ocisig, so a certificate that carries them is
//!   refused, critical or not: its issuer meant them to narrow what it vouches for;
//! - **a CA** (every position above the leaf) has basicConstraints with `cA` true, keyUsage
//!   with `keyCertSign`, a `pathLenConstraint` (if any) no smaller than the number of
//!   non-self-issued intermediates between it and the leaf, and, if it lists extended key
//!   usages, the path's purpose among them (or `anyExtendedKeyUsage`), as Go nests them;
//! - **the leaf** is not a CA; a code-signing leaf has keyUsage `digitalSignature` and the
//!   code-signing extended key usage; a timestamp authority's leaf has exactly one extended
//!   key usage, `timeStamping`, in a critical extension (RFC 3161 §2.3), and, if it has
//!   keyUsage, `digitalSignature`;
//! - **names and signatures**: each certificate names the next as its issuer and is signed by
//!   its key; the anchor is self-issued;
//! - **validity**: every certificate is valid at each time the evidence proves.

use alloc::string::String;

use super::certificate::{
    Certificate, KEY_USAGE_DIGITAL_SIGNATURE, KEY_USAGE_KEY_CERT_SIGN, OID_CODE_SIGNING,
    OID_TIME_STAMPING,
};
use crate::limits::MAX_CHAIN_LENGTH;

const OID_SUBJECT_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x0e];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const OID_AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x23];
const OID_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const OID_ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// What the leaf of a path is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// A Fulcio certificate that signed an artifact.
    CodeSigning,
    /// A timestamp authority's certificate that signed RFC 3161 timestamps.
    TimeStamping,
}

impl Purpose {
    fn extended_key_usage(self) -> &'static [u8] {
        match self {
            Self::CodeSigning => OID_CODE_SIGNING,
            Self::TimeStamping => OID_TIME_STAMPING,
        }
    }
}

/// Where a certificate sits in a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position {
    /// The end entity: the certificate whose key signed.
    Leaf,
    /// A CA between the leaf and the anchor, counted from the leaf (1 issued the leaf).
    Intermediate(usize),
    /// The last certificate, trusted because the policy names it.
    Anchor,
}

impl core::fmt::Display for Position {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Leaf => f.write_str("the leaf certificate"),
            Self::Intermediate(n) => write!(f, "intermediate certificate {n}"),
            Self::Anchor => f.write_str("the trust anchor"),
        }
    }
}

/// Why a path does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// A critical extension ocisig does not process (its OID in dotted form).
    CriticalExtension {
        /// Where the certificate sits.
        position: Position,
        /// The extension's OID, dotted.
        oid: String,
    },
    /// nameConstraints, which ocisig does not enforce.
    NameConstraints {
        /// Where the certificate sits.
        position: Position,
    },
    /// A certificate above the leaf is not a CA (no basicConstraints with `cA` true).
    NotCa {
        /// Where the certificate sits.
        position: Position,
    },
    /// A CA without keyUsage `keyCertSign`.
    NoKeyCertSign {
        /// Where the certificate sits.
        position: Position,
    },
    /// A CA's pathLenConstraint is smaller than the intermediates below it.
    PathLength {
        /// Where the certificate sits.
        position: Position,
        /// Its pathLenConstraint.
        allowed: u32,
        /// The non-self-issued intermediates between it and the leaf.
        below: usize,
    },
    /// A certificate may not serve the path's purpose (key usage, extended key usage, a leaf
    /// that is a CA).
    Usage {
        /// Where the certificate sits.
        position: Position,
        /// What is wrong.
        what: &'static str,
    },
    /// A certificate does not name the next as its issuer, or is not signed by its key; or
    /// the anchor is not self-issued.
    NotIssuedBy {
        /// Where the certificate sits.
        position: Position,
    },
    /// A certificate is not valid at a time (Unix seconds).
    NotValidAt {
        /// Where the certificate sits.
        position: Position,
        /// The time.
        time: i64,
    },
    /// No CA above the leaf, or more than [`MAX_CHAIN_LENGTH`] certificates.
    Length(usize),
}

impl core::fmt::Display for PathError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::CriticalExtension { position, oid } => write!(
                f,
                "{position} has a critical extension ocisig does not process ({oid})"
            ),
            Self::NameConstraints { position } => write!(
                f,
                "{position} has name constraints, which ocisig does not enforce"
            ),
            Self::NotCa { position } => {
                write!(f, "{position} is not a CA (no basicConstraints cA)")
            }
            Self::NoKeyCertSign { position } => write!(
                f,
                "{position} may not sign certificates (no keyUsage keyCertSign)"
            ),
            Self::PathLength {
                position,
                allowed,
                below,
            } => write!(
                f,
                "{position} allows {allowed} intermediate CAs below it (pathLenConstraint) and \
                 has {below}"
            ),
            Self::Usage { position, what } => write!(f, "{position}: {what}"),
            Self::NotIssuedBy { position } => match position {
                Position::Anchor => f.write_str("the trust anchor is not self-issued"),
                _ => write!(
                    f,
                    "{position} is not issued by the certificate above it (name or signature)"
                ),
            },
            Self::NotValidAt { position, time } => write!(
                f,
                "{position} is not valid at {}",
                crate::encoding::time::format_rfc3339(*time)
            ),
            Self::Length(length) => write!(
                f,
                "a path of {length} certificates; a leaf and 1 to {} CAs are accepted",
                MAX_CHAIN_LENGTH - 1
            ),
        }
    }
}

impl core::error::Error for PathError {}

/// Whether ocisig processes extension `oid` on a certificate at `position` of a path for
/// `purpose`: the list a critical extension must be on. basicConstraints, keyUsage and
/// extKeyUsage are enforced everywhere; the key identifiers only help to find an issuer, which
/// names and signatures decide here, so there is nothing in them to refuse; the subject
/// alternative name is a code-signing leaf's identity, which the policy's identities match
/// (Fulcio marks it critical when the subject is empty).
pub fn processes(oid: &[u8], position: Position, purpose: Purpose) -> bool {
    match oid {
        OID_BASIC_CONSTRAINTS
        | OID_KEY_USAGE
        | OID_EXTENDED_KEY_USAGE
        | OID_SUBJECT_KEY_IDENTIFIER
        | OID_AUTHORITY_KEY_IDENTIFIER => true,
        OID_SUBJECT_ALT_NAME => position == Position::Leaf && purpose == Purpose::CodeSigning,
        _ => false,
    }
}

/// The rules of one certificate at `position` that need neither time nor its issuer.
fn check_certificate(
    certificate: &Certificate,
    position: Position,
    purpose: Purpose,
) -> Result<(), PathError> {
    if certificate.has_name_constraints() {
        return Err(PathError::NameConstraints { position });
    }
    if let Some(extension) = certificate
        .extensions()
        .iter()
        .find(|e| e.critical && !processes(&e.oid, position, purpose))
    {
        return Err(PathError::CriticalExtension {
            position,
            oid: crate::encoding::der::oid_text(&extension.oid),
        });
    }
    let usage = |what| Err(PathError::Usage { position, what });
    if position == Position::Leaf {
        if certificate.is_ca() {
            return usage("it is a CA certificate");
        }
        let extended = certificate.extended_key_usage().unwrap_or_default();
        let digital_signature = certificate
            .key_usage()
            .map(|bits| bits & KEY_USAGE_DIGITAL_SIGNATURE != 0);
        match purpose {
            Purpose::CodeSigning => {
                if digital_signature != Some(true) {
                    return usage("no digitalSignature key usage");
                }
                if !extended.iter().any(|u| u == OID_CODE_SIGNING) {
                    return usage("no code-signing extended key usage");
                }
            }
            Purpose::TimeStamping => {
                if extended != [OID_TIME_STAMPING] {
                    return usage(
                        "its extended key usage is not timeStamping alone (RFC 3161 §2.3)",
                    );
                }
                if !certificate.is_critical(OID_EXTENDED_KEY_USAGE) {
                    return usage(
                        "its timeStamping extended key usage is not critical (RFC 3161 §2.3)",
                    );
                }
                if digital_signature == Some(false) {
                    return usage("its key usage lacks digitalSignature");
                }
            }
        }
        return Ok(());
    }
    if !certificate.is_ca() {
        return Err(PathError::NotCa { position });
    }
    if certificate
        .key_usage()
        .is_none_or(|bits| bits & KEY_USAGE_KEY_CERT_SIGN == 0)
    {
        return Err(PathError::NoKeyCertSign { position });
    }
    if let Some(extended) = certificate.extended_key_usage()
        && !extended
            .iter()
            .any(|u| u == purpose.extended_key_usage() || u == OID_ANY_EXTENDED_KEY_USAGE)
    {
        return usage(match purpose {
            Purpose::CodeSigning => "its extended key usages exclude code signing",
            Purpose::TimeStamping => "its extended key usages exclude time stamping",
        });
    }
    Ok(())
}

fn ca_position(index: usize, count: usize) -> Position {
    if index + 1 == count {
        Position::Anchor
    } else {
        Position::Intermediate(index + 1)
    }
}

/// Checks the certificate authorities of a path, issuer of the leaf first and the trust anchor
/// last, for leaves of `purpose`: each CA's own rules, its path length counted from the leaf
/// below `cas[0]`, each signed by the next, and the anchor self-issued. Nothing here depends on
/// the leaf or a time, so a trusted root's chains are checked once.
///
/// # Errors
/// The first [`PathError`], from the leaf's side.
pub fn check_authorities(cas: &[Certificate], purpose: Purpose) -> Result<(), PathError> {
    if cas.is_empty() || cas.len() >= MAX_CHAIN_LENGTH {
        return Err(PathError::Length(cas.len() + 1));
    }
    let mut below = 0usize;
    for (index, ca) in cas.iter().enumerate() {
        let position = ca_position(index, cas.len());
        check_certificate(ca, position, purpose)?;
        if let Some(allowed) = ca.basic_constraints().and_then(|c| c.path_len)
            && usize::try_from(allowed).unwrap_or(usize::MAX) < below
        {
            return Err(PathError::PathLength {
                position,
                allowed,
                below,
            });
        }
        // RFC 5280 §6.1.4 (l): a self-issued intermediate does not count.
        if !ca.is_self_issued() {
            below += 1;
        }
        match cas.get(index + 1) {
            Some(issuer) if !ca.issued_by(issuer) => {
                return Err(PathError::NotIssuedBy { position });
            }
            None if !ca.is_self_issued() => return Err(PathError::NotIssuedBy { position }),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a leaf against authorities that [`check_authorities`] passed, at `times`: the
/// leaf's own rules, its issuer's name and signature (`cas[0]`), and every certificate valid
/// at each time.
///
/// # Errors
/// The first [`PathError`], in that order.
pub fn check_leaf(
    leaf: &Certificate,
    cas: &[Certificate],
    purpose: Purpose,
    times: &[i64],
) -> Result<(), PathError> {
    check_issued_leaf(leaf, cas, purpose)?;
    check_validity(leaf, cas, times)
}

/// The leaf's own rules for `purpose`, and its issuer's name and signature (`cas[0]`).
///
/// # Errors
/// The first [`PathError`]; [`PathError::NotIssuedBy`] at the leaf when `cas[0]` did not
/// issue it.
pub fn check_issued_leaf(
    leaf: &Certificate,
    cas: &[Certificate],
    purpose: Purpose,
) -> Result<(), PathError> {
    let Some(issuer) = cas.first() else {
        return Err(PathError::Length(1));
    };
    check_certificate(leaf, Position::Leaf, purpose)?;
    if !leaf.issued_by(issuer) {
        return Err(PathError::NotIssuedBy {
            position: Position::Leaf,
        });
    }
    Ok(())
}

/// Every certificate of a path valid at each of `times`, from the leaf up.
///
/// # Errors
/// [`PathError::NotValidAt`] naming the first that is not.
pub fn check_validity(
    leaf: &Certificate,
    cas: &[Certificate],
    times: &[i64],
) -> Result<(), PathError> {
    for &time in times {
        if !leaf.valid_at(time) {
            return Err(PathError::NotValidAt {
                position: Position::Leaf,
                time,
            });
        }
        if let Some(index) = cas.iter().position(|ca| !ca.valid_at(time)) {
            return Err(PathError::NotValidAt {
                position: ca_position(index, cas.len()),
                time,
            });
        }
    }
    Ok(())
}
