//! Where the images are in each kind of Kubernetes workload, and how to pin them: shared by
//! the Kubewarden policy and `ocisig serve`'s admission webhooks.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

use crate::crypto::digest::Sha256Digest;
use crate::policy::scope::{Resource, Scope};

/// Where an admitted object is, as a policy set's rule conditions read it ([`Scope`]), owned so
/// that a host can keep it across its tasks. Read from the AdmissionRequest alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Admitted {
    /// `request.namespace` (none when empty or missing).
    pub namespace: Option<String>,
    /// `request.resource`: group, version, resource (none when missing).
    pub resource: Option<[String; 3]>,
    /// The object's `metadata.labels` (empty when it has none).
    pub labels: serde_json::Map<String, Value>,
}

impl Admitted {
    /// What `request` (an AdmissionReview's `request`) says of where its object is.
    pub fn of_request(request: &Value) -> Self {
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(String::from);
        let namespace = text(request.get("namespace")).filter(|ns| !ns.is_empty());
        let resource = request.get("resource").and_then(|r| {
            Some([
                text(r.get("group")).unwrap_or_default(),
                text(r.get("version"))?,
                text(r.get("resource")).filter(|name| !name.is_empty())?,
            ])
        });
        let labels = request
            .pointer("/object/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Self {
            namespace,
            resource,
            labels,
        }
    }

    /// As the rules read it: the labels only where the resource is known.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            namespace: self.namespace.as_deref(),
            resource: self
                .resource
                .as_ref()
                .map(|[group, version, resource]| Resource {
                    group,
                    version,
                    resource,
                }),
            labels: self.resource.as_ref().map(|_| &self.labels),
        }
    }
}

/// The JSON pointer of the pod spec inside an object of `kind`, or `None` for kinds this
/// policy does not look at.
pub fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicationController"
        | "Job" => Some("/spec/template/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        // The `ephemeralcontainers` subresource of a Pod before Kubernetes 1.22 (later ones
        // send the whole Pod): the object holds the list itself.
        "EphemeralContainers" => Some(""),
        _ => None,
    }
}

/// The container lists of a pod spec that carry images.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// One container's image and the pointer to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSite {
    /// JSON pointer to the `image` string, for pinning.
    pub pointer: String,
    /// The image as written.
    pub image: String,
}

/// Every container image under the pod spec at `spec_pointer`.
///
/// # Errors
/// When a container has no `image` string (the API server would not have let that through, so
/// it is refused rather than skipped).
pub fn images(object: &Value, spec_pointer: &str) -> Result<Vec<ImageSite>, String> {
    let mut sites = Vec::new();
    let Some(spec) = object.pointer(spec_pointer) else {
        return Ok(sites);
    };
    for list in CONTAINER_LISTS {
        let Some(containers) = spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (index, container) in containers.iter().enumerate() {
            let pointer = format!("{spec_pointer}/{list}/{index}/image");
            match container.get("image") {
                Some(Value::String(image)) => sites.push(ImageSite {
                    pointer,
                    image: image.clone(),
                }),
                _ => return Err(format!("{pointer}: missing or not a string")),
            }
        }
    }
    Ok(sites)
}

/// Writes `image` at `pointer`; false when the pointer no longer names a string.
pub fn set_image(object: &mut Value, pointer: &str, image: &str) -> bool {
    match object.pointer_mut(pointer) {
        Some(slot @ Value::String(_)) => {
            *slot = Value::String(image.into());
            true
        }
        _ => false,
    }
}

/// `repo:tag@sha256:…` for an image written without a digest (the tag is kept, as Lakom
/// does, so that people still see which tag they asked for); `None` when it has a digest.
pub fn pin(image: &str, digest: &Sha256Digest) -> Option<String> {
    if image.contains('@') {
        None
    } else {
        Some(format!("{image}@{digest}"))
    }
}

/// The one message that rejects a workload: each failing image with its reason code and why.
pub fn rejection(failures: &[(&str, &str, &str)]) -> String {
    let plural = if failures.len() == 1 { "" } else { "s" };
    let listed: Vec<String> = failures
        .iter()
        .map(|(image, code, message)| format!("{image}: {code}: {message}"))
        .collect();
    format!(
        "ocisig rejected {} image{plural}: {}",
        failures.len(),
        listed.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_where_an_admitted_object_is() {
        let request = serde_json::json!({"namespace": "prod",
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "object": {"metadata": {"labels": {"tier": "front"}}}});
        let admitted = Admitted::of_request(&request);
        let scope = admitted.scope();
        assert_eq!(scope.namespace, Some("prod"));
        assert_eq!(
            scope.resource,
            Some(Resource {
                group: "apps",
                version: "v1",
                resource: "deployments"
            })
        );
        assert_eq!(
            scope.labels.and_then(|l| l.get("tier")),
            Some(&serde_json::json!("front"))
        );
        // Without a resource, the labels are not read either: the conditions do not narrow.
        let bare = Admitted::of_request(&serde_json::json!({"namespace": ""}));
        assert_eq!(bare, Admitted::default());
        assert!(bare.scope().labels.is_none() && bare.scope().namespace.is_none());
    }

    #[test]
    fn finds_every_container_list_of_a_cronjob() {
        let object = serde_json::json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "init:1"}],
            "containers": [{"name": "a", "image": "app:1"}, {"name": "b", "image": "side:2"}],
            "ephemeralContainers": [{"name": "d", "image": "debug"}]
        }}}}}});
        let pointer = pod_spec_pointer("CronJob").unwrap_or_default();
        let found = images(&object, pointer).unwrap_or_default();
        let names: Vec<&str> = found.iter().map(|s| s.image.as_str()).collect();
        assert_eq!(names, ["app:1", "side:2", "init:1", "debug"]);
        assert_eq!(
            found[0].pointer,
            "/spec/jobTemplate/spec/template/spec/containers/0/image"
        );
    }

    #[test]
    fn reads_the_pre_1_22_ephemeral_containers_object() {
        let object = serde_json::json!({"kind": "EphemeralContainers",
            "ephemeralContainers": [{"name": "debugger", "image": "busybox"}]});
        let pointer = pod_spec_pointer("EphemeralContainers").unwrap_or("none");
        let found = images(&object, pointer).unwrap_or_default();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pointer, "/ephemeralContainers/0/image");
    }

    #[test]
    fn pins_only_references_without_a_digest() {
        let digest = Sha256Digest::of(b"x");
        assert_eq!(pin("app:1", &digest), Some(format!("app:1@{digest}")));
        assert_eq!(pin(&format!("app@{digest}"), &digest), None);
    }

    #[test]
    fn a_container_without_an_image_is_refused() {
        let object = serde_json::json!({"spec": {"containers": [{"name": "a"}]}});
        assert!(images(&object, "/spec").is_err());
    }
}
