//! Policy sets: which trust each image needs. An ordered list of rules, each with image globs
//! (sigstore policy-controller's meaning, [`crate::oci::glob`]), optional namespace globs, a
//! mode (`enforce` or `warn`) and a body (a policy, any one of several, or a fixed answer),
//! and what happens to an image no rule matches. Every rule that matches an image applies, and
//! each must pass, as policy-controller applies every `ClusterImagePolicy` that matches.
//!
//! ```json
//! {"unmatched": "deny",
//!  "rules": [
//!    {"name": "team", "images": ["ghcr.io/acme/**"], "policy": {"keys": [...]}},
//!    {"name": "vendor", "images": ["quay.io/vendor/*"], "mode": "warn",
//!     "anyOf": [{"identities": [...]}, {"keys": [...]}]},
//!    {"name": "mirrors", "images": ["registry.k8s.io/**"], "static": "pass"}]}
//! ```
//!
//! A document with `rules` is a set; any other is a single policy ([`Document::from_json`]).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::str::FromStr;

use crate::crypto::digest::Sha256Digest;
use crate::encoding::json::{self, Fields};
use crate::limits;
use crate::oci::glob::{self, Glob, ImageName};
use crate::policy::compiled::Policy;
use crate::policy::document::{PolicyDocument, PolicyError, invalid, named};
use crate::policy::scope::{Conditions, ResourceMatch, Scope};

/// What a rule's failure does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// A failure denies the image (the default).
    #[default]
    Enforce,
    /// A failure admits the image with a warning that names the rule.
    Warn,
}

impl Mode {
    /// `enforce` or `warn`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Warn => "warn",
        }
    }
}

impl FromStr for Mode {
    type Err = &'static str;

    /// `enforce` or `warn`; the error lists them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "enforce" => Ok(Self::Enforce),
            "warn" => Ok(Self::Warn),
            _ => Err("enforce or warn"),
        }
    }
}

/// What happens to an image no rule matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unmatched {
    /// Denied (the default: an image nobody vouched for does not run).
    #[default]
    Deny,
    /// Admitted unchecked.
    Allow,
    /// Admitted unchecked, with a warning.
    Warn,
}

impl Unmatched {
    /// `deny`, `allow` or `warn`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Allow => "allow",
            Self::Warn => "warn",
        }
    }
}

impl FromStr for Unmatched {
    type Err = &'static str;

    /// `deny`, `allow` or `warn`; the error lists them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "deny" => Ok(Self::Deny),
            "allow" => Ok(Self::Allow),
            "warn" => Ok(Self::Warn),
            _ => Err("deny, allow or warn"),
        }
    }
}

/// Which images a rule covers.
#[derive(Clone, Debug)]
pub enum ImageMatcher {
    /// A glob with policy-controller's meaning.
    Glob(Glob),
    /// A glob of ocisig's Kubewarden settings before policy sets ([`glob::legacy_matches`]),
    /// kept in its meaning: `*` crosses `/`.
    Legacy(String),
}

impl ImageMatcher {
    /// Whether it matches `image`, a reference as written.
    pub fn matches(&self, image: &str) -> bool {
        match self {
            Self::Glob(glob) => glob.matches(image),
            Self::Legacy(pattern) => glob::legacy_matches(pattern, image),
        }
    }

    /// The glob as written.
    pub fn pattern(&self) -> &str {
        match self {
            Self::Glob(glob) => glob.pattern(),
            Self::Legacy(pattern) => pattern,
        }
    }

    /// How the digest spells it: the glob, and `legacy:` before an old Kubewarden glob.
    fn canonical(&self) -> String {
        match self {
            Self::Glob(glob) => glob.pattern().to_string(),
            Self::Legacy(pattern) => format!("legacy:{pattern}"),
        }
    }
}

/// What a matching rule asks of an image.
#[derive(Clone, Debug)]
pub enum Body {
    /// Any one of these policies must be satisfied (one policy, or a `ClusterImagePolicy`'s
    /// authorities): tried in order, the first that passes decides.
    AnyOf(Vec<Policy>),
    /// A fixed answer, without looking at the image's signatures: `true` passes.
    Static {
        /// Whether it passes.
        pass: bool,
        /// What a failure says [default: a sentence naming the rule].
        message: Option<String>,
    },
}

/// One rule of a set.
#[derive(Clone, Debug)]
pub struct Rule {
    name: String,
    images: Vec<ImageMatcher>,
    conditions: Conditions,
    mode: Mode,
    body: Body,
    digest: Sha256Digest,
    /// Each policy's JSON as read, when the rule was read from a set document.
    sources: Vec<String>,
}

impl Rule {
    /// A rule; its digest is computed here. For adapters that build sets from their own
    /// settings (Kubewarden's `signatures`, a `ClusterImagePolicy`); [`PolicySet::new`] checks
    /// the rules.
    pub fn new(
        name: impl Into<String>,
        images: Vec<ImageMatcher>,
        namespaces: Vec<String>,
        mode: Mode,
        body: Body,
    ) -> Self {
        let mut rule = Self {
            name: name.into(),
            images,
            conditions: Conditions {
                namespaces,
                resources: Vec::new(),
            },
            mode,
            body,
            digest: Sha256Digest::of(b""),
            sources: Vec::new(),
        };
        rule.digest = rule.canonical_digest();
        rule
    }

    /// The rule's name, unique in its set.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The image globs, in the order written.
    pub fn images(&self) -> &[ImageMatcher] {
        &self.images
    }

    /// This rule, applying only to the resources `resources` select (policy-controller's
    /// `spec.match`; empty: every resource).
    #[must_use]
    pub fn with_resources(mut self, resources: Vec<ResourceMatch>) -> Self {
        self.conditions.resources = resources;
        self.digest = self.canonical_digest();
        self
    }

    /// The namespace globs; empty for every namespace.
    pub fn namespaces(&self) -> &[String] {
        &self.conditions.namespaces
    }

    /// The resources it applies to; empty for every resource.
    pub fn resources(&self) -> &[ResourceMatch] {
        &self.conditions.resources
    }

    /// Its conditions on where an image is admitted.
    pub fn conditions(&self) -> &Conditions {
        &self.conditions
    }

    /// What a failure does.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What it asks.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// SHA-256 of the rule's meaning: its name, globs, mode and its policies' digests. A serve
    /// cache keyed by the digests of the rules that matched an image misses only the images of
    /// a rule that changed.
    pub fn digest(&self) -> Sha256Digest {
        self.digest
    }

    /// The JSON of its policy at `index`, as the set document has it (compact): what a host
    /// hands a verifier that reads policy documents. `None` for a rule built in code.
    pub fn policy_json(&self, index: usize) -> Option<&str> {
        self.sources.get(index).map(String::as_str)
    }

    /// The policies it may check an image against (none for a static rule).
    pub fn policies(&self) -> &[Policy] {
        match &self.body {
            Body::AnyOf(policies) => policies,
            Body::Static { .. } => &[],
        }
    }

    /// Whether it applies to `image` admitted in `scope`. A part of the scope not known (a
    /// command line knows none) does not narrow the rule: it applies, so that an unknown
    /// namespace or resource never lets an image skip a rule.
    pub fn applies_to(&self, image: &str, scope: &Scope<'_>) -> bool {
        self.applies(image, ImageName::of(image).as_ref(), scope)
    }

    /// [`Rule::applies_to`], with the image's names worked out once for all the rules of a set
    /// (`None`: the image is no reference, which only an old Kubewarden glob may match).
    fn applies(&self, image: &str, name: Option<&ImageName<'_>>, scope: &Scope<'_>) -> bool {
        self.images.iter().any(|matcher| match matcher {
            ImageMatcher::Glob(glob) => name.is_some_and(|name| glob.matches_name(name)),
            ImageMatcher::Legacy(pattern) => glob::legacy_matches(pattern, image),
        }) && self.conditions.met_by(scope)
    }

    fn canonical_digest(&self) -> Sha256Digest {
        let body = match &self.body {
            Body::AnyOf(policies) => serde_json::json!({
                "anyOf": policies.iter().map(|p| p.digest().to_string()).collect::<Vec<_>>(),
            }),
            Body::Static { pass, message } => serde_json::json!({
                "static": if *pass { "pass" } else { "fail" },
                "message": message,
            }),
        };
        let mut canonical = serde_json::json!({
            "name": self.name,
            "images": self.images.iter().map(ImageMatcher::canonical).collect::<Vec<_>>(),
            "namespaces": self.conditions.namespaces,
            "mode": self.mode.name(),
            "body": body,
        });
        if !self.conditions.resources.is_empty() {
            canonical["match"] = self
                .conditions
                .resources
                .iter()
                .map(ResourceMatch::to_json)
                .collect();
        }
        Sha256Digest::of(canonical.to_string().as_bytes())
    }
}

/// A checked policy set.
#[derive(Clone, Debug)]
pub struct PolicySet {
    rules: Vec<Rule>,
    unmatched: Unmatched,
    digest: Sha256Digest,
}

impl PolicySet {
    /// The fields of a set document the reader knows; any other is refused.
    pub const FIELDS: &'static [&'static str] = &["rules", "unmatched"];
    /// The fields of a rule the reader knows; any other is refused.
    pub const RULE_FIELDS: &'static [&'static str] = &[
        "name",
        "images",
        "namespaces",
        "match",
        "mode",
        "policy",
        "anyOf",
        "static",
        "message",
    ];

    /// A set of `rules`, checked: at least one and at most [`limits::MAX_SET_RULES`], each with
    /// a unique non-empty name, at least one glob, and at least one policy when not static.
    ///
    /// # Errors
    /// [`PolicyError::Invalid`] naming the rule.
    pub fn new(rules: Vec<Rule>, unmatched: Unmatched) -> Result<Self, PolicyError> {
        if rules.is_empty() {
            return Err(invalid(
                "rules",
                "at least one rule is needed (a name, image globs and a policy)",
            ));
        }
        if rules.len() > limits::MAX_SET_RULES {
            return Err(invalid(
                "rules",
                format!(
                    "{} rules; the most accepted is {}",
                    rules.len(),
                    limits::MAX_SET_RULES
                ),
            ));
        }
        for (index, rule) in rules.iter().enumerate() {
            let field = format!("rules[{index}]");
            if rule.name.is_empty() {
                return Err(invalid(format!("{field}.name"), "must not be empty"));
            }
            if rules[..index].iter().any(|r| r.name == rule.name) {
                return Err(invalid(
                    format!("{field}.name"),
                    format!(
                        "{:?} names two rules; each rule needs its own name",
                        rule.name
                    ),
                ));
            }
            if rule.images.is_empty() {
                return Err(invalid(
                    format!("{field}.images"),
                    "at least one image glob is needed (`**` for every image)",
                ));
            }
            let globs = rule.images.len()
                + rule.conditions.namespaces.len()
                + rule.conditions.resources.len();
            if globs > limits::MAX_RULE_GLOBS {
                return Err(invalid(
                    format!("{field}.images"),
                    format!(
                        "{globs} globs and match entries; the most accepted in a rule is {}",
                        limits::MAX_RULE_GLOBS
                    ),
                ));
            }
            if let Some(empty) = rule.conditions.namespaces.iter().position(String::is_empty) {
                return Err(invalid(
                    format!("{field}.namespaces[{empty}]"),
                    "a namespace glob must not be empty",
                ));
            }
            if let Body::AnyOf(policies) = &rule.body
                && (policies.is_empty() || policies.len() > limits::MAX_RULE_POLICIES)
            {
                return Err(invalid(
                    format!("{field}.anyOf"),
                    format!(
                        "{} policies; a rule needs 1 to {}",
                        policies.len(),
                        limits::MAX_RULE_POLICIES
                    ),
                ));
            }
        }
        let canonical = serde_json::json!({
            "unmatched": unmatched.name(),
            "rules": rules.iter().map(|r| r.digest.to_string()).collect::<Vec<_>>(),
        });
        Ok(Self {
            digest: Sha256Digest::of(canonical.to_string().as_bytes()),
            rules,
            unmatched,
        })
    }

    /// Parses and checks a set document (see the module's documentation).
    ///
    /// # Errors
    /// [`PolicyError::TooLarge`], [`PolicyError::Syntax`] or a rule's error, its field named
    /// from the top of the set (`rules[2].policy.keys[0].publicKey`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, PolicyError> {
        if bytes.len() > limits::MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge(bytes.len()));
        }
        let value = json::parse(bytes).map_err(PolicyError::Syntax)?;
        Self::from_value(&value)
    }

    fn from_value(value: &serde_json::Value) -> Result<Self, PolicyError> {
        let f = Fields::of(value)
            .and_then(|f| f.only(Self::FIELDS))
            .map_err(PolicyError::Syntax)?;
        let unmatched = f
            .opt("unmatched", named::<Unmatched>)
            .map_err(PolicyError::Syntax)?
            .unwrap_or_default();
        let Some(serde_json::Value::Array(written)) = f.value("rules") else {
            return Err(PolicyError::Syntax("rules: expected a list".into()));
        };
        if written.len() > limits::MAX_SET_RULES {
            return Err(invalid(
                "rules",
                format!(
                    "{} rules; the most accepted is {}",
                    written.len(),
                    limits::MAX_SET_RULES
                ),
            ));
        }
        let mut rules = Vec::with_capacity(written.len());
        for (index, value) in written.iter().enumerate() {
            rules.push(read_rule(index, value)?);
        }
        Self::new(rules, unmatched)
    }

    /// The rules, in the order written.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// What happens to an image no rule matches.
    pub fn unmatched(&self) -> Unmatched {
        self.unmatched
    }

    /// SHA-256 of the set's meaning: `unmatched` and its rules' digests, in order.
    pub fn digest(&self) -> Sha256Digest {
        self.digest
    }

    /// The rules that apply to `image` (as written) admitted in `scope`, in order.
    pub fn rules_for<'a>(&'a self, image: &str, scope: &Scope<'_>) -> Vec<&'a Rule> {
        let name = ImageName::of(image);
        self.rules
            .iter()
            .filter(|rule| rule.applies(image, name.as_ref(), scope))
            .collect()
    }

    /// Whether any rule has conditions on where an image is admitted (namespaces or `match`).
    pub fn is_scoped(&self) -> bool {
        self.rules.iter().any(|rule| !rule.conditions.is_empty())
    }
}

/// One written rule, read and checked; errors name it from the top of the set.
fn read_rule(index: usize, value: &serde_json::Value) -> Result<Rule, PolicyError> {
    let at = |e: String| PolicyError::Syntax(format!("rules[{index}]: {e}"));
    let f = Fields::of(value)
        .and_then(|f| f.only(PolicySet::RULE_FIELDS))
        .map_err(at)?;
    let name = f.string("name").map_err(at)?;
    let images = f.list("images", json::string).map_err(at)?;
    let namespaces = f.list("namespaces", json::string).map_err(at)?;
    let resources = f.list("match", ResourceMatch::read).map_err(at)?;
    let mode = f
        .opt("mode", named::<Mode>)
        .map_err(at)?
        .unwrap_or_default();
    let message = f.opt_string("message").map_err(at)?;
    let mut globs = Vec::with_capacity(images.len());
    for (i, pattern) in images.iter().enumerate() {
        let glob = Glob::new(pattern).map_err(|e| {
            invalid(
                format!("rules[{index}].images[{i}]"),
                format!("{pattern:?}: {e}"),
            )
        })?;
        globs.push(ImageMatcher::Glob(glob));
    }
    let bodies = ["policy", "anyOf", "static"]
        .iter()
        .filter(|key| f.value(key).is_some())
        .count();
    if bodies != 1 {
        return Err(invalid(
            format!("rules[{index}]"),
            "exactly one of `policy`, `anyOf` and `static` says what the rule asks",
        ));
    }
    if message.is_some() && f.value("static").is_none() {
        return Err(invalid(
            format!("rules[{index}].message"),
            "only a static rule has a message",
        ));
    }
    let mut sources = Vec::new();
    let body = if let Some(value) = f.value("policy") {
        sources.push(value.to_string());
        Body::AnyOf(alloc::vec![read_policy(
            &format!("rules[{index}].policy"),
            value
        )?])
    } else if let Some(value) = f.value("anyOf") {
        let serde_json::Value::Array(items) = value else {
            return Err(at("anyOf: expected a list of policies".into()));
        };
        if items.len() > limits::MAX_RULE_POLICIES {
            return Err(invalid(
                format!("rules[{index}].anyOf"),
                format!(
                    "{} policies; a rule needs 1 to {}",
                    items.len(),
                    limits::MAX_RULE_POLICIES
                ),
            ));
        }
        let mut policies = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            policies.push(read_policy(&format!("rules[{index}].anyOf[{i}]"), item)?);
            sources.push(item.to_string());
        }
        Body::AnyOf(policies)
    } else {
        let pass = match f.value("static").and_then(serde_json::Value::as_str) {
            Some("pass") => true,
            Some("fail") => false,
            _ => {
                return Err(invalid(
                    format!("rules[{index}].static"),
                    "must be \"pass\" or \"fail\"",
                ));
            }
        };
        Body::Static { pass, message }
    };
    let mut rule = Rule::new(name, globs, namespaces, mode, body).with_resources(resources);
    rule.sources = sources;
    Ok(rule)
}

/// A policy inside a set, with its errors' fields named from the top of the set.
fn read_policy(field: &str, value: &serde_json::Value) -> Result<Policy, PolicyError> {
    PolicyDocument::read(value)
        .map_err(|e| PolicyError::Syntax(format!("{field}: {e}")))
        .and_then(Policy::from_document)
        .map_err(|err| match err {
            PolicyError::Invalid {
                field: inner,
                problem,
            } => PolicyError::Invalid {
                field: format!("{field}.{inner}"),
                problem,
            },
            PolicyError::InvalidKey {
                field: inner,
                name,
                error,
            } => PolicyError::InvalidKey {
                field: format!("{field}.{inner}"),
                name,
                error,
            },
            other => other,
        })
}

/// A document a face is given: one policy, or a set. Told apart by content: a set has `rules`.
#[derive(Clone, Debug)]
// Parsed once and kept: the size of the value does not matter, and boxing would cost every
// caller a dereference of its policy.
#[allow(clippy::large_enum_variant)]
pub enum Document {
    /// One policy for every image.
    Policy(Policy),
    /// A policy set.
    Set(PolicySet),
}

impl Document {
    /// Parses either kind.
    ///
    /// # Errors
    /// As [`Policy::from_json`] or [`PolicySet::from_json`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, PolicyError> {
        if bytes.len() > limits::MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge(bytes.len()));
        }
        let value = json::parse(bytes).map_err(PolicyError::Syntax)?;
        if value.get("rules").is_some() {
            PolicySet::from_value(&value).map(Self::Set)
        } else {
            PolicyDocument::read(&value)
                .map_err(PolicyError::Syntax)
                .and_then(Policy::from_document)
                .map(Self::Policy)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Signer;
    use serde_json::{Value, json};

    fn set(document: &Value) -> Result<PolicySet, PolicyError> {
        PolicySet::from_json(document.to_string().as_bytes())
    }

    fn keys(signer: &Signer) -> Value {
        json!({"keys": [signer.key_entry()]})
    }

    fn error(document: &Value) -> String {
        set(document)
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_set_is_told_by_its_rules() {
        let alice = Signer::new("alice", 1);
        let one = Document::from_json(keys(&alice).to_string().as_bytes());
        assert!(matches!(one, Ok(Document::Policy(_))));
        let many = json!({"rules": [{"name": "team", "images": ["**"], "policy": keys(&alice)}]});
        let many = Document::from_json(many.to_string().as_bytes());
        assert!(matches!(many, Ok(Document::Set(s)) if s.unmatched() == Unmatched::Deny));
    }

    #[test]
    fn rules_match_by_image_and_namespace() {
        let alice = Signer::new("alice", 1);
        let parsed = set(&json!({"unmatched": "allow", "rules": [
            {"name": "team", "images": ["ghcr.io/acme/**"], "policy": keys(&alice)},
            {"name": "prod", "images": ["ghcr.io/acme/*"], "namespaces": ["prod-*"],
             "mode": "warn", "anyOf": [keys(&alice), keys(&alice)]},
            {"name": "hub", "images": ["*"], "static": "pass"}
        ]}))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let names = |image: &str, namespace: Option<&str>| -> Vec<String> {
            parsed
                .rules_for(image, &Scope::in_namespace(namespace))
                .iter()
                .map(|r| r.name().into())
                .collect()
        };
        assert_eq!(
            names("ghcr.io/acme/app:v1", Some("prod-eu")),
            ["team", "prod"]
        );
        assert_eq!(names("ghcr.io/acme/app:v1", Some("dev")), ["team"]);
        // No namespace known: namespace globs never let an image skip a rule.
        assert_eq!(names("ghcr.io/acme/app:v1", None), ["team", "prod"]);
        assert_eq!(names("ghcr.io/acme/team/app:v1", None), ["team"]);
        assert_eq!(names("nginx", None), ["hub"]);
        assert!(names("quay.io/x/y", None).is_empty());
        assert_eq!(parsed.unmatched(), Unmatched::Allow);
        assert_eq!(parsed.rules()[1].mode(), Mode::Warn);
        assert_eq!(parsed.rules()[1].policies().len(), 2);
    }

    #[test]
    fn rules_match_by_resource_and_labels() {
        use crate::policy::scope::Resource;
        let alice = Signer::new("alice", 1);
        let parsed = set(&json!({"rules": [
            {"name": "all", "images": ["**"], "policy": keys(&alice)},
            {"name": "labelled", "images": ["**"], "policy": keys(&alice),
             "match": [{"group": "apps", "version": "*", "resource": "deployments",
                        "selector": {"matchLabels": {"tier": "front"}}}]}
        ]}))
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(parsed.is_scoped());
        let front = json!({"tier": "front"});
        let front = front.as_object();
        let names = |resource: Option<Resource<'_>>, labels| -> Vec<String> {
            let scope = Scope {
                namespace: Some("default"),
                resource,
                labels,
            };
            parsed
                .rules_for("nginx", &scope)
                .iter()
                .map(|r| r.name().into())
                .collect()
        };
        let deployments = Resource {
            group: "apps",
            version: "v1",
            resource: "deployments",
        };
        let pods = Resource {
            group: "",
            version: "v1",
            resource: "pods",
        };
        assert_eq!(names(Some(deployments), front), ["all", "labelled"]);
        assert_eq!(names(Some(deployments), None), ["all"]);
        assert_eq!(names(Some(pods), front), ["all"]);
        assert_eq!(names(None, None), ["all", "labelled"], "unknown: applies");
        // The match is part of the rule's meaning.
        let unscoped = set(&json!({"rules": [
            {"name": "all", "images": ["**"], "policy": keys(&alice)},
            {"name": "labelled", "images": ["**"], "policy": keys(&alice)}
        ]}))
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(parsed.rules()[0].digest(), unscoped.rules()[0].digest());
        assert_ne!(parsed.rules()[1].digest(), unscoped.rules()[1].digest());
        assert!(!unscoped.is_scoped());
    }

    #[test]
    fn each_rule_has_a_digest_of_its_meaning() {
        let alice = Signer::new("alice", 1);
        let bob = Signer::new("bob", 2);
        let document = |key: &Signer, glob: &str| {
            json!({"rules": [
                {"name": "a", "images": [glob], "policy": keys(&alice)},
                {"name": "b", "images": ["quay.io/**"], "policy": keys(key)}
            ]})
        };
        let one = set(&document(&alice, "ghcr.io/**")).unwrap_or_else(|e| unreachable!("{e}"));
        let same = set(&document(&alice, "ghcr.io/**")).unwrap_or_else(|e| unreachable!("{e}"));
        let other_key = set(&document(&bob, "ghcr.io/**")).unwrap_or_else(|e| unreachable!("{e}"));
        let other_glob =
            set(&document(&alice, "ghcr.io/*")).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(one.digest(), same.digest());
        // Changing rule b changes its digest and the set's, never rule a's.
        assert_eq!(one.rules()[0].digest(), other_key.rules()[0].digest());
        assert_ne!(one.rules()[1].digest(), other_key.rules()[1].digest());
        assert_ne!(one.digest(), other_key.digest());
        assert_ne!(one.rules()[0].digest(), other_glob.rules()[0].digest());
        assert_eq!(one.rules()[1].digest(), other_glob.rules()[1].digest());
    }

    #[test]
    fn bad_sets_are_refused_naming_the_field() {
        let alice = Signer::new("alice", 1);
        let rule = |extra: Value| {
            let mut rule = json!({"name": "a", "images": ["ghcr.io/**"], "policy": keys(&alice)});
            if let (Some(rule), Value::Object(extra)) = (rule.as_object_mut(), extra) {
                rule.extend(extra);
            }
            json!({"rules": [rule]})
        };
        let cases = [
            (json!({"rules": []}), "rules: at least one rule"),
            (
                rule(json!({"images": [""]})),
                "rules[0].images[0]: \"\": a glob must not be empty",
            ),
            (
                rule(json!({"images": []})),
                "rules[0].images: at least one image glob",
            ),
            (
                rule(json!({"images": ["ghcr.io/a b"]})),
                "rules[0].images[0]",
            ),
            (
                rule(json!({"name": ""})),
                "rules[0].name: must not be empty",
            ),
            (
                rule(json!({"mode": "audit"})),
                "mode: \"audit\" is not enforce or warn",
            ),
            (
                rule(json!({"static": "pass"})),
                "exactly one of `policy`, `anyOf` and `static`",
            ),
            (
                rule(json!({"message": "no"})),
                "rules[0].message: only a static rule",
            ),
            (rule(json!({"namespaces": [""]})), "rules[0].namespaces[0]"),
            (
                rule(json!({"match": [{"version": "v1"}]})),
                "rules[0]: match[0]: resource",
            ),
            (rule(json!({"keys": []})), "rules[0]: unknown field `keys`"),
            (
                rule(json!({"policy": {"keys": [{"name": "k", "publicKey": "nope"}]}})),
                "rules[0].policy.keys[0].publicKey",
            ),
            (
                rule(json!({"policy": {"threshold": 1}})),
                "rules[0].policy.keys",
            ),
            (
                rule(json!({"policy": {"keys": [], "colour": 1}})),
                "rules[0].policy: unknown field `colour`",
            ),
            (
                json!({"rules": [{"name": "a", "images": ["**"], "anyOf": []}]}),
                "rules[0].anyOf: 0 policies",
            ),
            (
                json!({"rules": [{"name": "a", "images": ["**"], "static": "maybe"}]}),
                "rules[0].static",
            ),
            (
                json!({"rules": [
                    {"name": "a", "images": ["**"], "static": "pass"},
                    {"name": "a", "images": ["ghcr.io/**"], "static": "fail"}
                ]}),
                "rules[1].name: \"a\" names two rules",
            ),
            (
                json!({"rules": [{"name": "a", "images": ["**"], "static": "pass"}], "unmatched": "maybe"}),
                "unmatched: \"maybe\" is not deny, allow or warn",
            ),
            (
                json!({"rules": [{"name": "a", "images": ["**"], "static": "pass"}], "colour": 1}),
                "unknown field `colour`",
            ),
        ];
        for (document, expected) in cases {
            let err = error(&document);
            assert!(
                err.contains(expected),
                "{document}: {err:?} lacks {expected:?}"
            );
        }
    }

    /// The schema and the reader know the same fields.
    #[test]
    fn the_schema_lists_the_fields_the_reader_reads() {
        let schema: Value =
            serde_json::from_str(include_str!("../../docs/schema/policy-set.schema.json"))
                .unwrap_or_else(|e| unreachable!("{e}"));
        let names = |object: &Value| {
            let mut names: Vec<String> = object["properties"]
                .as_object()
                .map(|map| map.keys().cloned().collect())
                .unwrap_or_default();
            names.sort_unstable();
            names
        };
        let sorted = |fields: &[&str]| {
            let mut fields: Vec<String> = fields.iter().map(|f| (*f).into()).collect();
            fields.sort_unstable();
            fields
        };
        assert_eq!(names(&schema), sorted(PolicySet::FIELDS));
        assert_eq!(
            names(&schema["$defs"]["rule"]),
            sorted(PolicySet::RULE_FIELDS)
        );
        assert_eq!(
            schema["properties"]["rules"]["maxItems"],
            json!(limits::MAX_SET_RULES)
        );
        assert_eq!(
            schema["$defs"]["rule"]["properties"]["anyOf"]["maxItems"],
            json!(limits::MAX_RULE_POLICIES)
        );
    }
}
