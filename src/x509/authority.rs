//! Certificate authorities of the policy's trust material, each with the window in which it is
//! trusted: one that issues leaves the evidence carries (a Fulcio CA), or one whose own
//! signing certificate the trust material pins (a timestamp authority). Each chain is checked
//! as a path once, when it is read ([`path::check_authorities`]); one that does not hold stays
//! in the list with its reason, so that a verification that needs it says why, and one that
//! does not is unaffected.

use alloc::vec::Vec;

use crate::encoding::time::{Window, within};
use crate::x509::certificate::Certificate;
use crate::x509::path::{self, PathError, Position, Purpose};

/// One authority: its certificates, the window in which it is trusted, and whether its path
/// holds.
#[derive(Clone, Debug)]
pub struct Authority {
    /// The certificate that signs, when the trust material pins it (a timestamp authority).
    leaf: Option<Certificate>,
    /// The CAs, the leaves' issuer first and the trust anchor last.
    cas: Vec<Certificate>,
    valid_for: Window,
    holds: Result<(), PathError>,
}

impl Authority {
    /// An authority that issues leaves for `purpose`: `cas`, the leaves' issuer first.
    pub fn issuing(cas: Vec<Certificate>, valid_for: Window, purpose: Purpose) -> Self {
        let holds = path::check_authorities(&cas, purpose);
        Self {
            leaf: None,
            cas,
            valid_for,
            holds,
        }
    }

    /// An authority whose signing certificate is the first of `chain`, the CAs above it after
    /// it; the whole path is checked for `purpose`, but for its time.
    pub fn signing(chain: Vec<Certificate>, valid_for: Window, purpose: Purpose) -> Self {
        let mut certificates = chain.into_iter();
        let leaf = certificates.next();
        let cas: Vec<Certificate> = certificates.collect();
        let holds = match &leaf {
            Some(leaf) => path::check_authorities(&cas, purpose)
                .and_then(|()| path::check_leaf(leaf, &cas, purpose, &[])),
            None => Err(PathError::Length(0)),
        };
        Self {
            leaf,
            cas,
            valid_for,
            holds,
        }
    }

    /// The signing certificate the trust material pins, if any.
    pub fn leaf(&self) -> Option<&Certificate> {
        self.leaf.as_ref()
    }

    /// The CAs, the leaves' issuer first, up to the trust anchor.
    pub fn chain(&self) -> &[Certificate] {
        &self.cas
    }

    /// The window in which the authority is trusted (Unix seconds, either end open).
    pub fn valid_for(&self) -> Window {
        self.valid_for
    }

    /// Whether `time` is within the authority's window.
    pub fn valid_at(&self, time: i64) -> bool {
        within(self.valid_for, time)
    }

    /// Whether the path holds (times aside), as checked when the authority was read.
    ///
    /// # Errors
    /// The [`PathError`] that stopped it.
    pub fn holds(&self) -> Result<(), &PathError> {
        self.holds.as_ref().copied()
    }

    /// For a signing authority: its path holds and every certificate of it is valid at `time`.
    ///
    /// # Errors
    /// The [`PathError`] that stops it.
    pub fn signs_at(&self, time: i64) -> Result<(), PathError> {
        let leaf = self.leaf.as_ref().ok_or(PathError::Length(0))?;
        self.holds.clone()?;
        path::check_validity(leaf, &self.cas, &[time])
    }
}

/// Why a leaf does not chain to an authority.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// The leaf itself is not valid at a time (Unix seconds).
    NotValidAt(i64),
    /// No authority whose window contains the times issued the leaf.
    Untrusted,
    /// The path breaks a rule of RFC 5280 or of its purpose ([`crate::x509::path`]): the
    /// leaf's, or that of an authority that issued it.
    Path(PathError),
}

impl core::fmt::Display for ChainError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotValidAt(time) => write!(f, "the certificate is not valid at {time}"),
            Self::Untrusted => f.write_str(
                "no chain leads from the certificate to a certificate authority of the trusted \
                 root valid at that time",
            ),
            Self::Path(error) => write!(f, "the certificate path does not hold: {error}"),
        }
    }
}

impl core::error::Error for ChainError {}

/// Checks that `leaf` chains to one of `authorities` at each of `times` (Unix seconds, times
/// the evidence proves) as a path for `purpose`: the leaf is valid at every time and obeys a
/// leaf's rules; an authority counts when its window contains every time, its first
/// certificate issued the leaf, its path holds, and every certificate of it is valid then.
/// Certificates from anywhere but the trust material play no part.
///
/// Returns the index of the authority whose path holds.
///
/// # Errors
/// [`ChainError::NotValidAt`] when the leaf itself is not valid at a time;
/// [`ChainError::Path`] when the leaf breaks a leaf's rules, or when an authority that
/// issued the leaf fails for a reason of its own (the first such); else
/// [`ChainError::Untrusted`].
pub fn verify_leaf(
    leaf: &Certificate,
    authorities: &[Authority],
    purpose: Purpose,
    times: &[i64],
) -> Result<usize, ChainError> {
    if let Some(time) = times.iter().find(|t| !leaf.valid_at(**t)) {
        return Err(ChainError::NotValidAt(*time));
    }
    if times.is_empty() {
        return Err(ChainError::Untrusted);
    }
    let mut error = ChainError::Untrusted;
    for (index, authority) in authorities.iter().enumerate() {
        if !times.iter().all(|&time| authority.valid_at(time)) {
            continue;
        }
        let outcome = path::check_issued_leaf(leaf, &authority.cas, purpose)
            .and_then(|()| authority.holds.clone())
            .and_then(|()| path::check_validity(leaf, &authority.cas, times));
        match outcome {
            Ok(()) => return Ok(index),
            // Another authority may have issued it.
            Err(PathError::NotIssuedBy {
                position: Position::Leaf,
            }) => {}
            Err(other) => {
                if error == ChainError::Untrusted {
                    error = ChainError::Path(other);
                }
            }
        }
    }
    Err(error)
}
