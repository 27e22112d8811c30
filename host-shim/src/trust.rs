//! Trust material the binary carries: the public-good production `trusted_root.json` snapshot
//! (see `host-shim/trust/README.md`), and what a user is told when it is used.

use std::io::Read;

use sha2::{Digest as _, Sha256};

/// The Sigstore public-good production trusted root, as of [`PRODUCTION_SNAPSHOT_DATE`].
pub const PRODUCTION_TRUSTED_ROOT: &[u8] = include_bytes!("../trust/production_trusted_root.json");

/// When the embedded snapshot last changed upstream (`YYYY-MM-DD`).
pub const PRODUCTION_SNAPSHOT_DATE: &str = "2025-10-21";

/// The snapshot's date as Unix seconds (midnight UTC).
const PRODUCTION_SNAPSHOT_UNIX: u64 = 1_761_004_800;

/// The sentence printed whenever the embedded root is used: which root, and how old.
pub fn embedded_root_notice() -> String {
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|now| now.as_secs().saturating_sub(PRODUCTION_SNAPSHOT_UNIX) / 86_400);
    let age = age.map_or_else(String::new, |days| format!(", {days} days old"));
    format!(
        "using the embedded Sigstore production trusted root (snapshot of \
         {PRODUCTION_SNAPSHOT_DATE}{age}); `ocisig trust update` keeps a fresh one through TUF, \
         which is then used instead"
    )
}

/// The trusted root used where none is given: the one `ocisig trust update` verified through
/// TUF from Sigstore's repository, when that state exists (under `$OCISIG_TUF_CACHE`, else the
/// default cache directory); else the embedded snapshot, as before any update. Kept metadata
/// that has expired is never used, nor silently replaced by the older embedded snapshot: that
/// is an error saying what to do.
pub struct DefaultRoot {
    /// The `trusted_root.json` bytes.
    pub bytes: Vec<u8>,
    /// What to tell the user on standard error when it is used.
    pub notice: String,
}

impl DefaultRoot {
    /// Works it out afresh, every time a policy is built (so that a long-lived `serve` picks up
    /// a newer kept root, or refuses kept metadata that has since expired, at its next reload).
    ///
    /// # Errors
    /// Kept TUF state that no longer verifies (expired metadata, a tampered file).
    pub fn get() -> anyhow::Result<Self> {
        use crate::tuf_client::{DEFAULT_MIRROR, default_cache_dir, kept_trusted_root, state_dir};
        let cache = std::env::var_os("OCISIG_TUF_CACHE")
            .map(std::path::PathBuf::from)
            .or_else(default_cache_dir);
        let state = cache
            .as_deref()
            .map(|cache| state_dir(cache, DEFAULT_MIRROR));
        let Some((cache, state)) = cache
            .zip(state)
            .filter(|(_, state)| state.join("metadata").join("timestamp.json").exists())
        else {
            return Ok(Self {
                bytes: PRODUCTION_TRUSTED_ROOT.to_vec(),
                notice: embedded_root_notice(),
            });
        };
        let bytes = kept_trusted_root(DEFAULT_MIRROR, &cache).map_err(|e| {
            anyhow::anyhow!(
                "the trusted root kept by `ocisig trust update` ({}) cannot be used: {e:#}; run \
                 `ocisig trust update`, or pass --trusted-root FILE",
                state.display()
            )
        })?;
        let age = std::fs::metadata(state.join("metadata").join("timestamp.json"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|when| when.elapsed().ok())
            .map_or_else(String::new, |age| {
                format!(
                    ", its timestamp verified {} hours ago",
                    age.as_secs() / 3600
                )
            });
        Ok(Self {
            bytes,
            notice: format!(
                "using the Sigstore trusted root verified through TUF by `ocisig trust update` \
                 ({DEFAULT_MIRROR}{age})"
            ),
        })
    }

    /// The root as JSON.
    ///
    /// # Errors
    /// Bytes that are not JSON.
    pub fn value(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.bytes)?)
    }
}

/// The sha256 of everything `reader` yields, read in pieces.
///
/// # Errors
/// When reading fails.
pub fn sha256_of(mut reader: impl Read) -> std::io::Result<ocisig::Sha256Digest> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ocisig::Sha256Digest::parse(&format!("sha256:{hex}")).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_date_and_its_unix_time_agree() {
        // 2025-10-21T00:00:00Z
        assert_eq!(PRODUCTION_SNAPSHOT_UNIX, 20_382 * 86_400);
        assert_eq!(PRODUCTION_SNAPSHOT_DATE, "2025-10-21");
        let root: serde_json::Value =
            serde_json::from_slice(PRODUCTION_TRUSTED_ROOT).unwrap_or_default();
        assert!(root["tlogs"].as_array().is_some_and(|t| !t.is_empty()));
    }

    #[test]
    fn streaming_hash_is_sha256() {
        let data = vec![7u8; 200_000];
        assert_eq!(
            sha256_of(data.as_slice()).ok(),
            Some(ocisig::Sha256Digest::of(&data))
        );
    }
}
