//! Where an image is being admitted, and the rules' conditions on it: the namespace, and the
//! kind of resource with its labels (sigstore policy-controller's `spec.match`: a group,
//! version and resource, and optionally a Kubernetes label selector).
//!
//! A caller that does not know a part of the scope (a command line knows none of it;
//! Gatekeeper's provider is told only image names) passes `None` for it, and a condition on
//! that part then does not narrow the rule: the rule applies. An unknown scope can only add
//! rules an image must pass, never let it skip one.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::encoding::json::{self, Fields};
use crate::oci::glob;

/// What an admission knows of where an image is: each part `None` when not known.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope<'a> {
    /// The namespace of the object.
    pub namespace: Option<&'a str>,
    /// The resource admitted (`request.resource` of an AdmissionReview).
    pub resource: Option<Resource<'a>>,
    /// The object's `metadata.labels` (an object of strings; absent labels are an empty
    /// object, not `None`, once the resource is known).
    pub labels: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl<'a> Scope<'a> {
    /// Nothing known: every rule whose images match applies.
    pub const UNKNOWN: Scope<'static> = Scope {
        namespace: None,
        resource: None,
        labels: None,
    };

    /// Only the namespace known (`None`: nothing).
    pub fn in_namespace(namespace: Option<&'a str>) -> Self {
        Self {
            namespace,
            ..Scope::default()
        }
    }
}

/// A Kubernetes resource kind: its API group (empty for the core group), version and plural
/// resource name (`""`, `v1`, `pods`; `apps`, `v1`, `deployments`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource<'a> {
    /// The API group.
    pub group: &'a str,
    /// The API version.
    pub version: &'a str,
    /// The plural resource name.
    pub resource: &'a str,
}

/// One `match` entry of a rule: the resource kind it selects, and optionally its labels. The
/// version may be `*`; the group and resource are compared exactly, as policy-controller does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceMatch {
    group: String,
    version: String,
    resource: String,
    selector: Option<LabelSelector>,
}

impl ResourceMatch {
    /// The fields of a `match` entry.
    pub const FIELDS: &'static [&'static str] = &["group", "version", "resource", "selector"];

    /// A match entry. `resource` must not be empty.
    ///
    /// # Errors
    /// A sentence when the resource is empty.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        resource: impl Into<String>,
        selector: Option<LabelSelector>,
    ) -> Result<Self, String> {
        let resource = resource.into();
        if resource.is_empty() {
            return Err(
                "resource: a match entry names a resource (`pods`, `deployments`, …)".into(),
            );
        }
        Ok(Self {
            group: group.into(),
            version: version.into(),
            resource,
            selector,
        })
    }

    /// Reads one entry (`{"group": "", "version": "v1", "resource": "pods", "selector": {…}}`).
    ///
    /// # Errors
    /// A sentence naming the field.
    pub fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(Self::FIELDS)?;
        let selector = f.opt("selector", LabelSelector::read)?;
        Self::new(
            f.opt_string("group")?.unwrap_or_default(),
            f.opt_string("version")?.unwrap_or_default(),
            f.opt_string("resource")?.unwrap_or_default(),
            selector,
        )
    }

    /// Whether it selects `resource` with `labels`.
    pub fn matches(
        &self,
        resource: &Resource<'_>,
        labels: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> bool {
        self.resource == resource.resource
            && (self.version == resource.version || self.version == "*")
            && self.group == resource.group
            && self
                .selector
                .as_ref()
                .is_none_or(|selector| selector.matches(labels))
    }

    /// As JSON, the way it is read: for the rule's digest and `ocisig policy explain`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::json!({
            "group": self.group,
            "version": self.version,
            "resource": self.resource,
        });
        if let Some(selector) = &self.selector {
            value["selector"] = selector.to_json();
        }
        value
    }
}

/// A Kubernetes label selector: `matchLabels` and `matchExpressions`, all of which must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    labels: Vec<(String, String)>,
    expressions: Vec<Expression>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Expression {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Operator {
    fn name(self) -> &'static str {
        match self {
            Self::In => "In",
            Self::NotIn => "NotIn",
            Self::Exists => "Exists",
            Self::DoesNotExist => "DoesNotExist",
        }
    }
}

impl LabelSelector {
    /// Reads `{"matchLabels": {…}, "matchExpressions": [{key, operator, values}]}` with
    /// Kubernetes' rules: `In` and `NotIn` need values, `Exists` and `DoesNotExist` none.
    ///
    /// # Errors
    /// A sentence naming the field.
    pub fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&["matchLabels", "matchExpressions"])?;
        let labels = f
            .opt("matchLabels", json::string_map)?
            .unwrap_or_default()
            .into_iter()
            .collect();
        let expressions = f.list("matchExpressions", |value| {
            let e = Fields::of(value)?.only(&["key", "operator", "values"])?;
            let key = e.string("key")?;
            let operator = match e.string("operator")?.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(format!(
                        "operator: {other:?} is not In, NotIn, Exists or DoesNotExist"
                    ));
                }
            };
            let values = e.list("values", json::string)?;
            let needs_values = matches!(operator, Operator::In | Operator::NotIn);
            if needs_values == values.is_empty() {
                return Err(format!(
                    "values: {} {}",
                    operator.name(),
                    if needs_values {
                        "needs at least one value"
                    } else {
                        "takes no values"
                    }
                ));
            }
            Ok(Expression {
                key,
                operator,
                values,
            })
        })?;
        Ok(Self {
            labels,
            expressions,
        })
    }

    /// Whether `labels` (none: an object without labels) satisfy it.
    pub fn matches(&self, labels: Option<&serde_json::Map<String, serde_json::Value>>) -> bool {
        let label = |key: &str| {
            labels
                .and_then(|labels| labels.get(key))
                .and_then(serde_json::Value::as_str)
        };
        self.labels
            .iter()
            .all(|(key, value)| label(key) == Some(value.as_str()))
            && self.expressions.iter().all(|e| {
                let value = label(&e.key);
                match e.operator {
                    Operator::In => value.is_some_and(|v| e.values.iter().any(|w| w == v)),
                    Operator::NotIn => value.is_none_or(|v| e.values.iter().all(|w| w != v)),
                    Operator::Exists => value.is_some(),
                    Operator::DoesNotExist => value.is_none(),
                }
            })
    }

    fn to_json(&self) -> serde_json::Value {
        let labels: serde_json::Map<String, serde_json::Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let expressions: Vec<serde_json::Value> = self
            .expressions
            .iter()
            .map(|e| {
                serde_json::json!({"key": e.key, "operator": e.operator.name(), "values": e.values})
            })
            .collect();
        serde_json::json!({"matchLabels": labels, "matchExpressions": expressions})
    }
}

/// The conditions of a rule on the scope: namespace globs (any one) and `match` entries (any
/// one). Empty lists are no condition.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    pub(crate) namespaces: Vec<String>,
    pub(crate) resources: Vec<ResourceMatch>,
}

impl Conditions {
    /// Whether an image in `scope` meets them; a part of the scope not known meets its
    /// condition.
    pub fn met_by(&self, scope: &Scope<'_>) -> bool {
        let namespace = match scope.namespace {
            Some(namespace) if !self.namespaces.is_empty() => self
                .namespaces
                .iter()
                .any(|glob| glob::wildcard(glob, namespace)),
            _ => true,
        };
        let resource = match &scope.resource {
            Some(resource) if !self.resources.is_empty() => self
                .resources
                .iter()
                .any(|m| m.matches(resource, scope.labels)),
            _ => true,
        };
        namespace && resource
    }

    /// Whether there are any.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.resources.is_empty()
    }

    /// What a caller that knows no scope cannot tell, in words (`None`: nothing).
    pub fn unknowable(&self) -> Option<String> {
        match (self.namespaces.is_empty(), self.resources.is_empty()) {
            (true, true) => None,
            (false, true) => Some("namespaces".to_string()),
            (true, false) => Some("resources (match)".to_string()),
            (false, false) => Some("namespaces and resources (match)".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PODS: Resource<'static> = Resource {
        group: "",
        version: "v1",
        resource: "pods",
    };
    const DEPLOYMENTS: Resource<'static> = Resource {
        group: "apps",
        version: "v1",
        resource: "deployments",
    };

    fn labels(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_match_selects_group_version_and_resource() {
        let pods = ResourceMatch::read(&json!({"resource": "pods", "version": "v1"}))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(pods.matches(&PODS, None));
        assert!(!pods.matches(&DEPLOYMENTS, None));
        let any_version = ResourceMatch::read(
            &json!({"group": "apps", "version": "*", "resource": "deployments"}),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(any_version.matches(&DEPLOYMENTS, None));
        assert!(
            !any_version.matches(
                &Resource {
                    group: "extensions",
                    ..DEPLOYMENTS
                },
                None
            ),
            "the group is exact"
        );
    }

    #[test]
    fn selectors_follow_kubernetes() {
        let selector = LabelSelector::read(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]}
        ]}))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let ok = labels(json!({"app": "web", "tier": "edge"}));
        assert!(selector.matches(Some(&ok)));
        for (change, why) in [
            (json!({"app": "db", "tier": "edge"}), "matchLabels"),
            (json!({"app": "web"}), "In without the label"),
            (
                json!({"app": "web", "tier": "back"}),
                "In with another value",
            ),
            (
                json!({"app": "web", "tier": "edge", "legacy": ""}),
                "DoesNotExist",
            ),
            (json!({"app": "web", "tier": "edge", "env": "dev"}), "NotIn"),
        ] {
            assert!(!selector.matches(Some(&labels(change))), "{why}");
        }
        assert!(!selector.matches(None), "an object without labels");
        for (bad, expected) in [
            (
                json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
                "needs at least one value",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
                "takes no values",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
                "not In, NotIn",
            ),
            (json!({"matchLabel": {}}), "unknown field `matchLabel`"),
        ] {
            let err = LabelSelector::read(&bad).err().unwrap_or_default();
            assert!(err.contains(expected), "{bad}: {err}");
        }
        assert!(
            ResourceMatch::read(&json!({"version": "v1"})).is_err(),
            "no resource"
        );
    }

    #[test]
    fn an_unknown_scope_never_narrows_a_rule() {
        let conditions = Conditions {
            namespaces: alloc::vec!["prod-*".into()],
            resources: alloc::vec![
                ResourceMatch::read(&json!({"resource": "pods", "version": "v1",
                    "selector": {"matchLabels": {"signed": "yes"}}}))
                .unwrap_or_else(|e| unreachable!("{e}"))
            ],
        };
        let signed = labels(json!({"signed": "yes"}));
        let unsigned = labels(json!({}));
        assert!(conditions.met_by(&Scope::UNKNOWN));
        assert!(conditions.met_by(&Scope::in_namespace(Some("prod-eu"))));
        assert!(!conditions.met_by(&Scope::in_namespace(Some("dev"))));
        let scope = |namespace, resource, labels| Scope {
            namespace: Some(namespace),
            resource: Some(resource),
            labels: Some(labels),
        };
        assert!(conditions.met_by(&scope("prod-eu", PODS, &signed)));
        assert!(!conditions.met_by(&scope("prod-eu", PODS, &unsigned)));
        assert!(!conditions.met_by(&scope("prod-eu", DEPLOYMENTS, &signed)));
        assert!(Conditions::default().met_by(&scope("dev", DEPLOYMENTS, &unsigned)));
    }
}
