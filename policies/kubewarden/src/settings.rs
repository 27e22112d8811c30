//! The policy's settings: which images need which signatures, and what to do with the rest.
//!
//! ```yaml
//! signatures:
//!   - image: "ghcr.io/acme/*"      # a glob; every entry that matches an image must pass
//!     keys: [{name: release, publicKey: "-----BEGIN PUBLIC KEY-----..."}]
//!     threshold: 1                 # ...and every other field of the core policy
//! modifyImagesWithDigest: true     # pin admitted tags as repo:tag@sha256:...
//! unmatchedImages: deny            # or allow
//! ```

use std::rc::Rc;

use ocisig::host::memo::LastParsed;
use ocisig::{Policy, Reference};
use serde_json::{Map, Value};

use crate::glob;

/// What happens to an image no `signatures` entry matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnmatchedImages {
    /// Admit it unchecked.
    Allow,
    /// Reject it (the default: an image nobody vouched for does not run).
    #[default]
    Deny,
}

/// The settings document, as written.
struct SettingsDocument {
    signatures: Vec<Map<String, Value>>,
    modify_images_with_digest: bool,
    unmatched_images: UnmatchedImages,
}

impl SettingsDocument {
    /// Reads the document with the core's strict JSON reader and walks the value: a reader
    /// derived for it would cost the module tens of kilobytes for three fields.
    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let Value::Object(fields) = ocisig::encoding::json::parse_value(bytes)? else {
            return Err("the settings are not a JSON object".into());
        };
        let mut document = Self {
            signatures: Vec::new(),
            modify_images_with_digest: true,
            unmatched_images: UnmatchedImages::Deny,
        };
        for (name, value) in fields {
            match (name.as_str(), value) {
                ("signatures", Value::Array(entries)) => {
                    for (index, entry) in entries.into_iter().enumerate() {
                        let Value::Object(entry) = entry else {
                            return Err(format!("signatures[{index}]: not an object"));
                        };
                        document.signatures.push(entry);
                    }
                }
                ("signatures", _) => return Err("signatures: not a list".into()),
                ("modifyImagesWithDigest", Value::Bool(modify)) => {
                    document.modify_images_with_digest = modify;
                }
                ("modifyImagesWithDigest", _) => {
                    return Err("modifyImagesWithDigest: not true or false".into());
                }
                ("unmatchedImages", Value::String(text)) => {
                    document.unmatched_images = match text.as_str() {
                        "allow" => UnmatchedImages::Allow,
                        "deny" => UnmatchedImages::Deny,
                        other => {
                            return Err(format!("unmatchedImages: {other:?} is not allow or deny"));
                        }
                    };
                }
                ("unmatchedImages", _) => return Err("unmatchedImages: not a string".into()),
                (other, _) => {
                    return Err(format!(
                        "unknown field {other:?}; the settings are signatures, \
                         modifyImagesWithDigest and unmatchedImages"
                    ));
                }
            }
        }
        Ok(document)
    }
}

/// One `signatures` entry: an image glob and the core policy its images must satisfy.
#[derive(Debug)]
pub struct SignatureRule {
    /// The glob, as written.
    pub image: String,
    /// The checked policy.
    pub policy: Policy,
}

/// Checked settings.
#[derive(Debug)]
pub struct Settings {
    /// The rules, in the order written.
    pub signatures: Vec<SignatureRule>,
    /// Pin admitted tags to the digest that was verified.
    pub modify_images_with_digest: bool,
    /// What to do with images no rule matches.
    pub unmatched_images: UnmatchedImages,
}

use ocisig::limits::MAX_SETTINGS_RULES as MAX_RULES;

/// Why settings are refused: a sentence naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError(String);

impl core::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// Parses and checks settings JSON; the error names the field.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the offending field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, SettingsError> {
        Self::read(bytes).map_err(SettingsError)
    }

    fn read(bytes: &[u8]) -> Result<Self, String> {
        // The strict reader: a duplicate key anywhere is refused, not silently collapsed.
        let document = SettingsDocument::parse(bytes).map_err(|err| format!("settings: {err}"))?;
        if document.signatures.is_empty() {
            return Err(
                "signatures: at least one entry is needed (an image glob and its keys)".into(),
            );
        }
        if document.signatures.len() > MAX_RULES {
            return Err(format!(
                "signatures: {} entries; the most accepted is {MAX_RULES}",
                document.signatures.len()
            ));
        }
        let mut signatures = Vec::with_capacity(document.signatures.len());
        for (index, mut entry) in document.signatures.into_iter().enumerate() {
            let image = match entry.remove("image") {
                Some(Value::String(image)) if !image.is_empty() => image,
                Some(_) => {
                    return Err(format!(
                        "signatures[{index}].image: must be a non-empty string (a glob)"
                    ));
                }
                None => {
                    return Err(format!(
                        "signatures[{index}].image: missing; say which images the entry covers, \
                         for example \"ghcr.io/acme/*\""
                    ));
                }
            };
            let policy = serde_json::to_vec(&entry)
                .map_err(|err| err.to_string())
                .and_then(|bytes| Policy::from_json(&bytes).map_err(|err| err.to_string()))
                .map_err(|err| format!("signatures[{index}] ({image}): {err}"))?;
            if !policy.attestations().is_empty() {
                return Err(format!(
                    "signatures[{index}] ({image}).attestations: attestation rules cannot be \
                     checked here. An attestation is a blob (an .att layer's DSSE envelope, or \
                     a Sigstore bundle), Kubewarden's host hands a policy no blobs, and its \
                     oci/v2/verify capability checks signatures, not attestations. Check \
                     attestations with `ocisig verify-attestation`, the OPA module, or an \
                     admission service that fetches them"
                ));
            }
            signatures.push(SignatureRule { image, policy });
        }
        Ok(Self {
            signatures,
            modify_images_with_digest: document.modify_images_with_digest,
            unmatched_images: document.unmatched_images,
        })
    }

    /// The rules whose glob matches `image` in any of its spellings: as written, normalized
    /// (`index.docker.io/library/nginx:1.27`) and, for Docker Hub, `docker.io/...`. Matching
    /// more spellings can only add rules, never skip one.
    pub fn rules_for<'a>(&'a self, image: &str) -> Vec<&'a SignatureRule> {
        let spellings = spellings(image);
        self.signatures
            .iter()
            .filter(|rule| {
                spellings
                    .iter()
                    .any(|spelling| glob::matches(&rule.image, spelling))
            })
            .collect()
    }
}

thread_local! {
    /// The last settings document parsed. The policy server hands every request its settings,
    /// and parsing them (PEM keys, policy checks) costs more than most verifications: one
    /// instance serving one policy parses them once.
    static LAST: LastParsed<Settings> = const { LastParsed::new() };
}

/// The settings for `bytes`, parsed once per distinct document ([`ocisig::host::memo`]).
///
/// # Errors
/// As [`Settings::from_json`].
pub fn cached(bytes: &[u8]) -> Result<Rc<Settings>, SettingsError> {
    LAST.with(|last| last.get_or_parse(bytes, Settings::from_json))
}

fn spellings(image: &str) -> Vec<String> {
    let mut spellings = vec![image.to_string()];
    if let Ok(reference) = Reference::parse(image) {
        let normalized = reference.to_string();
        if let Some(rest) = normalized.strip_prefix("index.docker.io/") {
            spellings.push(format!("docker.io/{rest}"));
        }
        spellings.push(normalized);
    }
    spellings
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEusIAt6EJ3YrTHdg2qkWVS0KuotWQ\nwHDtyaXlq7Nhj8279+1u/l5pZhXJPW8PnGRRLdO5NbsuM6aT7pOcP100uw==\n-----END PUBLIC KEY-----\n";

    fn settings(signatures: Value) -> Result<Settings, SettingsError> {
        Settings::from_json(
            serde_json::json!({ "signatures": signatures })
                .to_string()
                .as_bytes(),
        )
    }

    #[test]
    fn duplicate_keys_are_refused_not_collapsed() {
        let text = format!(
            r#"{{"signatures":[{{"image":"a/*","image":"b/*","keys":[{{"name":"k","publicKey":{KEY:?}}}]}}]}}"#
        );
        let err = Settings::from_json(text.as_bytes())
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate"), "{err}");
    }

    #[test]
    fn settings_are_parsed_once_per_document() {
        let text = serde_json::json!({"signatures": [{"image": "a/*", "keys": [{"name": "k", "publicKey": KEY}]}]}).to_string();
        let first = cached(text.as_bytes()).unwrap_or_else(|err| unreachable!("{err}"));
        let again = cached(text.as_bytes()).unwrap_or_else(|err| unreachable!("{err}"));
        assert!(Rc::ptr_eq(&first, &again));
        let other = text.replace("a/*", "b/*");
        let different = cached(other.as_bytes()).unwrap_or_else(|err| unreachable!("{err}"));
        assert!(!Rc::ptr_eq(&first, &different));
        assert_eq!(different.signatures[0].image, "b/*");
        assert!(cached(b"{}").is_err());
    }

    #[test]
    fn rules_match_every_spelling_of_docker_hub() {
        let parsed = settings(serde_json::json!([
            {"image": "docker.io/library/*", "keys": [{"name": "a", "publicKey": KEY}]},
            {"image": "index.docker.io/library/nginx*", "keys": [{"name": "a", "publicKey": KEY}]},
            {"image": "ghcr.io/*", "keys": [{"name": "a", "publicKey": KEY}]}
        ]))
        .unwrap_or_else(|err| unreachable!("{err}"));
        assert_eq!(parsed.rules_for("nginx:1.27").len(), 2);
        assert_eq!(parsed.rules_for("busybox").len(), 1);
        assert!(parsed.rules_for("quay.io/x").is_empty());
        assert!(parsed.modify_images_with_digest);
        assert_eq!(parsed.unmatched_images, UnmatchedImages::Deny);
    }
}
