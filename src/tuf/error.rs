//! Why a TUF metadata file was not taken.

use alloc::string::String;

/// Why an update was refused; each names the role or file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TufError {
    /// Not metadata of the expected shape.
    Malformed(String),
    /// Metadata of another role (`_type`).
    WrongType {
        /// The role expected.
        expected: &'static str,
        /// The `_type` found.
        found: String,
    },
    /// Fewer valid signatures than the role's threshold.
    Threshold {
        /// The role.
        role: String,
        /// How many distinct delegated keys signed validly.
        valid: u32,
        /// How many must.
        threshold: u32,
    },
    /// A version that is not the one expected, or lower than one trusted (rollback).
    BadVersion {
        /// The role.
        role: String,
        /// Which versions.
        detail: String,
    },
    /// The timestamp's version is the trusted one: nothing new.
    EqualVersion,
    /// The role has expired at the time given (freeze).
    Expired {
        /// The role.
        role: String,
    },
    /// A file's length or hashes are not what its parent lists.
    LengthOrHash {
        /// The file.
        file: String,
        /// What differs.
        detail: String,
    },
    /// Something the update needs is not trusted or not listed.
    Missing {
        /// What.
        what: String,
    },
    /// Updates out of the specification's order (a bug in the caller).
    Order(&'static str),
}

impl core::fmt::Display for TufError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed metadata: {what}"),
            Self::WrongType { expected, found } => {
                write!(f, "expected {expected} metadata, found _type {found:?}")
            }
            Self::Threshold {
                role,
                valid,
                threshold,
            } => write!(
                f,
                "{role}: {valid} valid signatures of its keys, where {threshold} are needed"
            ),
            Self::BadVersion { role, detail } => write!(f, "{role}: {detail}"),
            Self::EqualVersion => f.write_str("timestamp: the trusted version again"),
            Self::Expired { role } => write!(f, "{role} has expired"),
            Self::LengthOrHash { file, detail } => write!(f, "{file}: {detail}"),
            Self::Missing { what } => write!(f, "no {what}"),
            Self::Order(what) => write!(f, "updates out of order: {what}"),
        }
    }
}

impl core::error::Error for TufError {}
