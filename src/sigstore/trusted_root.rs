//! A Sigstore trusted root (`trusted_root.json`), read once into the trust material every
//! keyless check uses: transparency logs, certificate authorities, CT logs and timestamp
//! authorities, each with the window in which it is trusted.
//!
//! The root is the policy's: it comes with the policy, never with the evidence. A bundle's own
//! chain, an embedded TSA certificate or a key hint is never trust material.

use crate::encoding::time::Window;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::limits::{MAX_CHAIN_LENGTH, MAX_TRUSTED_ROOT_ENTRIES};
use crate::sigstore::rekor::{LogKey, trusted_root_ct_logs, trusted_root_log_keys};
use crate::x509::authority::Authority;
use crate::x509::certificate::Certificate;
use crate::x509::path::Purpose;

sentence_error! {
    /// Why a `trusted_root.json` cannot be read, naming the entry at fault.
    TrustedRootError
}

/// The trust material of a Sigstore trusted root.
#[derive(Clone, Debug, Default)]
pub struct TrustedRoot {
    pub(crate) logs: Vec<LogKey>,
    pub(crate) authorities: Vec<Authority>,
    pub(crate) ct_logs: Vec<LogKey>,
    pub(crate) timestamp_authorities: Vec<Authority>,
    /// sha256 of the root's JSON as serde_json writes it (object keys sorted, no spaces).
    pub(crate) digest: Option<Sha256Digest>,
}

impl TrustedRoot {
    /// Reads a parsed `trusted_root.json`.
    ///
    /// # Errors
    /// A sentence naming the entry at fault.
    pub fn from_value(root: &serde_json::Value) -> Result<Self, TrustedRootError> {
        Self::read(root).map_err(TrustedRootError)
    }

    fn read(root: &serde_json::Value) -> Result<Self, String> {
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
        let authorities = certificate_authorities(root)?;
        let ct_logs = trusted_root_ct_logs(root)?;
        let timestamp_authorities = timestamp_authorities(root)?;
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
    pub fn timestamp_authorities(&self) -> &[Authority] {
        &self.timestamp_authorities
    }
}

/// The certificate authorities of a Sigstore `trusted_root.json`
/// (`certificateAuthorities[].certChain.certificates[].rawBytes`, each with its `validFor`),
/// each chain checked as the CAs of code-signing paths.
///
/// # Errors
/// A sentence naming the entry at fault, when one cannot be read.
pub fn certificate_authorities(root: &serde_json::Value) -> Result<Vec<Authority>, String> {
    Ok(chains(root, "certificateAuthorities")?
        .into_iter()
        .map(|(chain, valid_for)| Authority::issuing(chain, valid_for, Purpose::CodeSigning))
        .collect())
}

/// The timestamp authorities of a Sigstore `trusted_root.json` (`timestampAuthorities`): each
/// chain's first certificate signs the timestamps, and the path is checked as a time-stamping
/// path.
///
/// # Errors
/// A sentence naming the entry at fault, when one cannot be read.
pub fn timestamp_authorities(root: &serde_json::Value) -> Result<Vec<Authority>, String> {
    Ok(chains(root, "timestampAuthorities")?
        .into_iter()
        .map(|(chain, valid_for)| Authority::signing(chain, valid_for, Purpose::TimeStamping))
        .collect())
}

/// The certificate chains of one section of a trusted root (`certificateAuthorities` or
/// `timestampAuthorities`), in order, each with its `validFor`; none when the section is absent.
fn chains(
    root: &serde_json::Value,
    section: &str,
) -> Result<Vec<(Vec<Certificate>, Window)>, String> {
    let Some(list) = root.get(section) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| format!("{section} is not a list"))?;
    list.iter()
        .enumerate()
        .map(|(i, authority)| {
            let certificates = authority
                .pointer("/certChain/certificates")
                .and_then(serde_json::Value::as_array)
                .filter(|list| !list.is_empty() && list.len() <= MAX_CHAIN_LENGTH)
                .ok_or_else(|| {
                    format!(
                        "{section}[{i}] has no certChain of 1 to {MAX_CHAIN_LENGTH} certificates"
                    )
                })?;
            let chain = certificates
                .iter()
                .map(|c| {
                    let der = c
                        .get("rawBytes")
                        .and_then(serde_json::Value::as_str)
                        .and_then(|raw| crate::encoding::base64::STANDARD.decode(raw).ok())
                        .ok_or_else(|| {
                            format!("{section}[{i}]: a certificate's rawBytes is not base64")
                        })?;
                    Certificate::from_der(&der).map_err(|e| format!("{section}[{i}]: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let valid_for = crate::encoding::time::valid_for(
                authority,
                "/validFor",
                &format!("{section}[{i}].validFor"),
            )?;
            Ok((chain, valid_for))
        })
        .collect()
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
            let error = TrustedRoot::from_value(&root)
                .err()
                .map(String::from)
                .unwrap_or_default();
            assert!(
                error.starts_with(&format!("{section} lists 65 entries")),
                "{section}: {error}"
            );
        }
    }
}
