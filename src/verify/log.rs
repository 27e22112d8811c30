//! The transparency-log rule, in one place for every format: the policy's `rekor.mode` says
//! whether a signature's log entries are read (`ignore`: never), whether every one present must
//! verify (`verify-if-present`, `require`), and whether one must be there (`require`). A `.sig`
//! layer carries at most one (its Rekor bundle annotation), a bundle up to
//! [`crate::limits::MAX_TLOG_ENTRIES`].

use alloc::string::String;
use alloc::vec::Vec;

use crate::policy::document::RekorMode;
use crate::sigstore::rekor::LogEntry;
use crate::verdict::reason::Reason;
use crate::verify::outcome::Failure;

/// Checks `entries` as `mode` asks, each with `verify` (given its index; its error is the
/// message of a `tlog_verification_failed`), and returns what each proves, in order. `missing`
/// says what `require` found absent.
///
/// # Errors
/// `tlog_verification_failed` for the first entry that does not verify; `tlog_missing` when
/// the mode is `require` and there is none.
pub(crate) fn check_entries<T>(
    mode: RekorMode,
    entries: &[T],
    verify: impl Fn(usize, &T) -> Result<LogEntry, String>,
    missing: impl FnOnce() -> String,
) -> Result<Vec<LogEntry>, Failure> {
    if mode == RekorMode::Ignore {
        return Ok(Vec::new());
    }
    if mode == RekorMode::Require && entries.is_empty() {
        return Err(Failure(Reason::TlogMissing, missing()));
    }
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            verify(index, entry).map_err(|message| Failure(Reason::TlogVerificationFailed, message))
        })
        .collect()
}
