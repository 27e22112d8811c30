//! The policy's settings: which images need which signatures, and what to do with the rest,
//! as a policy set of the core ([`ocisig::PolicySet`]): either a `policySet` document, or the
//! `signatures` list, whose entries are the set's rules with their globs in the meaning they
//! always had here (`*` crosses `/`).
//!
//! ```yaml
//! signatures:
//!   - image: "ghcr.io/acme/*"      # a glob; every entry that matches an image must pass
//!     keys: [{name: release, publicKey: "-----BEGIN PUBLIC KEY-----..."}]
//!     threshold: 1                 # ...and every other field of the core policy
//! modifyImagesWithDigest: true     # pin admitted tags as repo:tag@sha256:...
//! unmatchedImages: deny            # or allow
//! ```
//!
//! or
//!
//! ```yaml
//! policySet:                       # docs/policy-sets.md: policy-controller's globs,
//!   unmatched: deny                # namespaces, modes and rules of several policies
//!   rules: [...]
//! modifyImagesWithDigest: true
//! ```

use std::rc::Rc;

use ocisig::host::memo::LastParsed;
use ocisig::{Body, ImageMatcher, Mode, Policy, PolicySet, Rule, Unmatched};
use serde_json::{Map, Value};

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
    policy_set: Option<Value>,
    modify_images_with_digest: bool,
    unmatched_images: Option<UnmatchedImages>,
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
            policy_set: None,
            modify_images_with_digest: true,
            unmatched_images: None,
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
                ("policySet", set @ Value::Object(_)) => document.policy_set = Some(set),
                ("policySet", _) => return Err("policySet: not an object".into()),
                ("modifyImagesWithDigest", Value::Bool(modify)) => {
                    document.modify_images_with_digest = modify;
                }
                ("modifyImagesWithDigest", _) => {
                    return Err("modifyImagesWithDigest: not true or false".into());
                }
                ("unmatchedImages", Value::String(text)) => {
                    document.unmatched_images = match text.as_str() {
                        "allow" => Some(UnmatchedImages::Allow),
                        "deny" => Some(UnmatchedImages::Deny),
                        other => {
                            return Err(format!("unmatchedImages: {other:?} is not allow or deny"));
                        }
                    };
                }
                ("unmatchedImages", _) => return Err("unmatchedImages: not a string".into()),
                (other, _) => {
                    return Err(format!(
                        "unknown field {other:?}; the settings are signatures (or policySet), \
                         modifyImagesWithDigest and unmatchedImages"
                    ));
                }
            }
        }
        Ok(document)
    }
}

/// Checked settings.
#[derive(Debug)]
pub struct Settings {
    /// The rules, and what happens to an image none matches.
    pub set: PolicySet,
    /// Pin admitted tags to the digest that was verified.
    pub modify_images_with_digest: bool,
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
        let set = match (document.policy_set, document.signatures.is_empty()) {
            (Some(_), false) => {
                return Err("give signatures or policySet, not both".into());
            }
            (Some(_), true) if document.unmatched_images.is_some() => {
                return Err(
                    "unmatchedImages: a policySet says this itself, in its `unmatched`".into(),
                );
            }
            (Some(set), true) => {
                let bytes = serde_json::to_vec(&set).map_err(|err| err.to_string())?;
                PolicySet::from_json(&bytes).map_err(|err| format!("policySet: {err}"))?
            }
            (None, true) => {
                return Err(
                    "signatures: at least one entry is needed (an image glob and its keys), \
                     or a policySet"
                        .into(),
                );
            }
            (None, false) => legacy_set(
                document.signatures,
                document.unmatched_images.unwrap_or_default(),
            )?,
        };
        for rule in set.rules() {
            if rule.policies().iter().any(|p| !p.attestations().is_empty()) {
                return Err(format!(
                    "{}.attestations: attestation rules cannot be checked here. An \
                     attestation is a blob (an .att layer's DSSE envelope, or a Sigstore \
                     bundle), Kubewarden's host hands a policy no blobs, and its \
                     oci/v2/verify capability checks signatures, not attestations. Check \
                     attestations with `ocisig verify-attestation`, the OPA module, or an \
                     admission service that fetches them",
                    rule.name()
                ));
            }
        }
        Ok(Self {
            set,
            modify_images_with_digest: document.modify_images_with_digest,
        })
    }
}

/// The `signatures` list as a policy set: each entry a rule named after its place and glob,
/// its glob in the meaning it always had here ([`ocisig::oci::glob::legacy_matches`]).
fn legacy_set(
    signatures: Vec<Map<String, Value>>,
    unmatched: UnmatchedImages,
) -> Result<PolicySet, String> {
    if signatures.len() > MAX_RULES {
        return Err(format!(
            "signatures: {} entries; the most accepted is {MAX_RULES}",
            signatures.len()
        ));
    }
    let mut rules = Vec::with_capacity(signatures.len());
    for (index, mut entry) in signatures.into_iter().enumerate() {
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
        rules.push(Rule::new(
            format!("signatures[{index}] ({image})"),
            vec![ImageMatcher::Legacy(image)],
            Vec::new(),
            Mode::Enforce,
            Body::AnyOf(vec![policy]),
        ));
    }
    let unmatched = match unmatched {
        UnmatchedImages::Allow => Unmatched::Allow,
        UnmatchedImages::Deny => Unmatched::Deny,
    };
    PolicySet::new(rules, unmatched).map_err(|err| err.to_string())
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
        assert_eq!(different.set.rules()[0].images()[0].pattern(), "b/*");
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
        assert_eq!(
            parsed
                .set
                .rules_for("nginx:1.27", &ocisig::Scope::UNKNOWN)
                .len(),
            2
        );
        assert_eq!(
            parsed
                .set
                .rules_for("busybox", &ocisig::Scope::UNKNOWN)
                .len(),
            1
        );
        assert!(
            parsed
                .set
                .rules_for("quay.io/x", &ocisig::Scope::UNKNOWN)
                .is_empty()
        );
        assert!(parsed.modify_images_with_digest);
        assert_eq!(parsed.set.unmatched(), Unmatched::Deny);
    }
}
