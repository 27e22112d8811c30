//! A Sigstore trusted root (`trusted_root.json`), read once into the trust material every
//! keyless check uses: transparency logs, certificate authorities, CT logs and timestamp
//! authorities, each with the window in which it is trusted.
//!
//! The root is the policy's: it comes with the policy, never with the evidence. A bundle's own
//! chain, an embedded TSA certificate or a key hint is never trust material.

use alloc::string::String;
use alloc::vec::Vec;

use crate::certificate::{Authority, trusted_root_authorities};
use crate::digest::Sha256Digest;
use crate::limits::MAX_TRUSTED_ROOT_ENTRIES;
use crate::rekor::{LogKey, trusted_root_ct_logs, trusted_root_log_keys};
use crate::timestamp::{TimestampAuthority, trusted_root_timestamp_authorities};

/// The trust material of a Sigstore trusted root.
#[derive(Clone, Debug, Default)]
pub struct TrustedRoot {
    pub(crate) logs: Vec<LogKey>,
    pub(crate) authorities: Vec<Authority>,
    pub(crate) ct_logs: Vec<LogKey>,
    pub(crate) timestamp_authorities: Vec<TimestampAuthority>,
    /// sha256 of the root's JSON as serde_json writes it (object keys sorted, no spaces).
    pub(crate) digest: Option<Sha256Digest>,
}

impl TrustedRoot {
    /// Reads a parsed `trusted_root.json`.
    ///
    /// # Errors
    /// A sentence naming the entry at fault.
    pub fn from_value(root: &serde_json::Value) -> Result<Self, String> {
        // The counts first, before any key or certificate is parsed.
        for section in [
            "tlogs",
            "certificateAuthorities",
            "ctlogs",
            "timestampAuthorities",
        ] {
            let count = root
                .get(section)
                .and_then(serde_json::Value::as_array)
                .map_or(0, Vec::len);
            if count > MAX_TRUSTED_ROOT_ENTRIES {
                return Err(format!(
                    "{section} lists {count} entries; the most accepted is \
                     {MAX_TRUSTED_ROOT_ENTRIES}"
                ));
            }
        }
        let logs = trusted_root_log_keys(root)?;
        let authorities = trusted_root_authorities(root)?;
        let ct_logs = trusted_root_ct_logs(root)?;
        let timestamp_authorities = trusted_root_timestamp_authorities(root)?;
        Ok(Self {
            logs,
            authorities,
            ct_logs,
            timestamp_authorities,
            digest: Some(Sha256Digest::of(root.to_string().as_bytes())),
        })
    }

    /// The certificate authorities.
    pub fn authorities(&self) -> &[Authority] {
        &self.authorities
    }

    /// The certificate-transparency logs.
    pub fn ct_logs(&self) -> &[LogKey] {
        &self.ct_logs
    }

    /// The timestamp authorities.
    pub fn timestamp_authorities(&self) -> &[TimestampAuthority] {
        &self.timestamp_authorities
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_counted_before_anything_is_parsed() {
        let many: Vec<serde_json::Value> = (0..=MAX_TRUSTED_ROOT_ENTRIES)
            .map(|_| serde_json::json!({"publicKey": {"rawBytes": "not a key"}}))
            .collect();
        for section in [
            "tlogs",
            "certificateAuthorities",
            "ctlogs",
            "timestampAuthorities",
        ] {
            let root = serde_json::json!({"tlogs": [], section: many});
            let error = TrustedRoot::from_value(&root).err().unwrap_or_default();
            assert!(
                error.starts_with(&format!("{section} lists 65 entries")),
                "{section}: {error}"
            );
        }
    }
}
