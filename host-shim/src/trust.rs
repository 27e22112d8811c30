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
         {PRODUCTION_SNAPSHOT_DATE}{age}); for a fresh one, run `ocisig trust update` and pass \
         --trusted-root <(ocisig trust show)"
    )
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
