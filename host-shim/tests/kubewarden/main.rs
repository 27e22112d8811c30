//! `dist/ocisig-kubewarden.wasm` under Kubewarden's own waPC stack (wapc 2.2 +
//! wasmtime-provider 2.25), with its `kubewarden/oci/v1/*` capabilities served from a real
//! docker-registry through the shim's registry client, and images signed by the real cosign.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../registry/env.rs"]
mod env;
#[path = "../common/vectors.rs"]
mod vectors;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use env::{Key, cosign_verifies, ocisig};
use ocisig::Reference;
use ocisig_host::credentials::Credentials;
use ocisig_host::registry::{Registry as RegistryClient, RegistryOptions};
use serde_json::{Value, json};
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;

const KINDS: [&str; 8] = [
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

fn artifact() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/ocisig-kubewarden.wasm");
        std::fs::read(&path)
            .unwrap_or_else(|err| panic!("{}: {err}; run `make kubewarden`", path.display()))
    })
}

/// The engine and compiled module, shared; each evaluation gets its own waPC host, as the
/// policy server gives each request a fresh guest state.
fn compiled() -> &'static (wasmtime::Engine, wasmtime::Module) {
    static COMPILED: OnceLock<(wasmtime::Engine, wasmtime::Module)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, artifact()).unwrap();
        (engine, module)
    })
}

/// The host capabilities the guest called: (operation, argument).
type CallLog = Arc<Mutex<Vec<(String, String)>>>;

/// A waPC host whose `kubewarden/oci` capabilities ask `registry_host` (plain HTTP).
struct Policy {
    host: WapcHost,
    calls: CallLog,
}

impl Policy {
    /// A host whose `kubewarden/oci` capabilities serve `manifests` (by the image string the
    /// guest asks for: `…@sha256:…` or `…:sha256-….sig`) and nothing else, answering anything
    /// else as oci-client reports a manifest the registry does not know.
    fn serving(manifests: Vec<(String, Vec<u8>)>) -> Self {
        let calls: CallLog = Arc::default();
        let log = Arc::clone(&calls);
        let callback = move |_id: u64,
                             _binding: &str,
                             _namespace: &str,
                             operation: &str,
                             payload: &[u8]| {
            let image: String = serde_json::from_slice(payload)?;
            log.lock()
                .unwrap()
                .push((operation.to_string(), image.clone()));
            let found = manifests
                .iter()
                .find(|(suffix, _)| image.ends_with(suffix.as_str()));
            match (operation, found) {
                    ("v1/oci_manifest", Some((_, bytes))) => Ok(bytes.clone()),
                    _ => Err(format!(
                        "Registry error: url {image}, envelope: OCI API errors: [OCI API error: manifest unknown]"
                    )
                    .into()),
                }
        };
        Self::with_callback(Box::new(callback), calls)
    }

    fn new(registry_host: &str) -> Self {
        let client = RegistryClient::new(
            &RegistryOptions {
                insecure_registries: vec![registry_host.to_string()],
                timeout: Duration::from_secs(20),
                connect_timeout: Duration::from_secs(2),
                ..RegistryOptions::default()
            },
            Credentials::default(),
        )
        .unwrap();
        let calls: CallLog = Arc::default();
        let log = Arc::clone(&calls);
        let callback =
            move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
                let image: String = serde_json::from_slice(payload)?;
                log.lock()
                    .unwrap()
                    .push((operation.to_string(), image.clone()));
                if (binding, namespace) != ("kubewarden", "oci") {
                    return Err(
                        format!("unknown capability {binding}/{namespace}/{operation}").into(),
                    );
                }
                oci_capability(&client, operation, &image)
                    .map_err(|err| -> Box<dyn std::error::Error + Send + Sync> { err.into() })
            };
        Self::with_callback(Box::new(callback), calls)
    }

    fn with_callback(callback: Box<wapc::HostCallback>, calls: CallLog) -> Self {
        let (engine, module) = compiled();
        let provider = WasmtimeEngineProviderBuilder::new()
            .engine(engine.clone())
            .module(module.clone())
            .build()
            .unwrap();
        let host = WapcHost::new(Box::new(provider), Some(callback)).unwrap();
        Self { host, calls }
    }

    fn call(&self, operation: &str, payload: &Value) -> Value {
        let bytes = self
            .host
            .call(operation, &serde_json::to_vec(payload).unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn validate(&self, request: &Value, settings: &Value) -> Value {
        self.call(
            "validate",
            &json!({"request": request, "settings": settings}),
        )
    }

    fn operations(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(op, _)| op.clone())
            .collect()
    }
}

/// A registry name whose lookups fail the way a DNS failure does in Kubewarden's host.
const UNRESOLVABLE: &str = "unresolvable.invalid";

/// What Kubewarden's host answers, with our registry client doing the fetching: the digest as
/// `{"digest": ...}`, the manifest as the registry served it, and failures in the words of the
/// OCI client the real host uses (oci-client): a manifest the registry does not know is its
/// `RegistryError` with the registry's `MANIFEST_UNKNOWN` message, and a registry that cannot
/// be reached is a request error, whatever words it holds ("host not found" included).
fn oci_capability(
    client: &RegistryClient,
    operation: &str,
    image: &str,
) -> Result<Vec<u8>, String> {
    let reference = Reference::parse(image).map_err(|err| err.to_string())?;
    let target = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_string();
    let url = format!(
        "http://{}/v2/{}/manifests/{target}",
        reference.registry(),
        reference.repository()
    );
    if reference.registry() == UNRESOLVABLE {
        return Err(format!(
            "error sending request for url ({url}): client error (Connect): dns error: host not found"
        ));
    }
    let fetched = client
        .manifest(&reference, &target, 4 * 1024 * 1024)
        .map_err(|err| format!("error sending request for url ({url}): {err:#}"))?
        .ok_or_else(|| {
            format!(
                "Registry error: url {url}, envelope: OCI API errors: [OCI API error: manifest unknown]"
            )
        })?;
    match operation {
        "v1/manifest_digest" => {
            Ok(serde_json::to_vec(&json!({"digest": fetched.digest.to_string()})).unwrap())
        }
        "v1/oci_manifest" => Ok(fetched.bytes),
        other => Err(format!("unknown operation {other}")),
    }
}

fn pem(key: &Key) -> String {
    std::fs::read_to_string(&key.public).unwrap()
}

fn rule(image: &str, keys: &[(&str, &Key)], extra: Value) -> Value {
    let mut rule = json!({
        "image": image,
        "keys": keys.iter().map(|(name, key)| json!({"name": name, "publicKey": pem(key)})).collect::<Vec<_>>(),
    });
    if let (Some(rule), Some(extra)) = (rule.as_object_mut(), extra.as_object()) {
        rule.extend(extra.clone());
    }
    rule
}

/// An AdmissionRequest fixture of `kind` with its images filled in.
fn admission_request(kind: &str, operation: &str, image: &str, init_image: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/kubewarden/requests")
        .join(format!("{}.json", kind.to_lowercase()));
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("{{IMAGE}}", image)
        .replace("{{INIT_IMAGE}}", init_image)
        .replace("{{DEBUG_IMAGE}}", init_image);
    let mut request: Value = serde_json::from_str(&text).unwrap();
    if operation == "UPDATE" {
        let mut old = request["object"].clone();
        old["metadata"]["resourceVersion"] = json!("4711");
        request["oldObject"] = old;
        request["operation"] = json!("UPDATE");
        request["options"]["kind"] = json!("UpdateOptions");
    }
    request
}

/// One image pushed to its own repository and signed by `key` with `sign_flags`.
struct Signed {
    host: String,
    /// `host/repo:v1`.
    image: String,
    digest: String,
}

fn signed(repo: &str, key: Option<&Key>, sign_flags: &[&str]) -> Option<Signed> {
    let registry = env::registry()?;
    let digest = registry.push(repo, &format!("{repo}:v1"));
    if let Some(key) = key {
        key.sign(&format!("{}@{digest}", registry.image(repo)), sign_flags);
    }
    Some(Signed {
        host: registry.host.clone(),
        image: format!("{}:v1", registry.image(repo)),
        digest,
    })
}

fn assert_rejected(response: &Value, needles: &[&str]) {
    assert_eq!(response["accepted"], false, "{response}");
    let message = response["message"].as_str().unwrap();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
    assert!(response.get("mutated_object").is_none(), "{response}");
}

#[test]
fn every_kind_is_admitted_with_its_tags_pinned_on_create_and_update() {
    let alice = Key::new("kw-alice");
    let Some(app) = signed("kw-app", Some(&alice), &[]) else {
        return;
    };
    let Some(init) = signed("kw-init", Some(&alice), &[]) else {
        return;
    };
    assert!(cosign_verifies(&app.image, &alice.public, &[]));
    let settings = json!({"signatures": [rule(&format!("{}/kw-*", app.host), &[("alice", &alice)], json!({}))]});
    let policy = Policy::new(&app.host);
    for kind in KINDS {
        for operation in ["CREATE", "UPDATE"] {
            let request = admission_request(kind, operation, &app.image, &init.image);
            let response = policy.validate(&request, &settings);
            assert_eq!(response["accepted"], true, "{kind} {operation}: {response}");
            let mutated = &response["mutated_object"];
            let spec = match kind {
                "Pod" => &mutated["spec"],
                "CronJob" => &mutated["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                _ => &mutated["spec"]["template"]["spec"],
            };
            assert_eq!(
                spec["containers"][0]["image"],
                format!("{}@{}", app.image, app.digest),
                "{kind}"
            );
            assert_eq!(
                spec["initContainers"][0]["image"],
                format!("{}@{}", init.image, init.digest),
                "{kind}"
            );
            if kind == "Pod" {
                assert_eq!(
                    spec["ephemeralContainers"][0]["image"],
                    format!("{}@{}", init.image, init.digest)
                );
            }
            // Everything but the images is the object as sent.
            let mut unpinned = mutated.clone();
            let text = unpinned
                .to_string()
                .replace(&format!("@{}", app.digest), "")
                .replace(&format!("@{}", init.digest), "");
            unpinned = serde_json::from_str(&text).unwrap();
            assert_eq!(unpinned, request["object"], "{kind}");
        }
    }
    // Two distinct images per request: each resolved once, its `.sig` tag and its referrers tag
    // (no bundles here) fetched once, never a blob.
    let operations = policy.operations();
    assert_eq!(operations.len(), KINDS.len() * 2 * 6, "{operations:?}");
    assert!(
        operations
            .iter()
            .all(|op| op == "v1/manifest_digest" || op == "v1/oci_manifest")
    );
}

#[test]
fn a_pinned_image_needs_no_digest_lookup_and_is_not_rewritten() {
    let alice = Key::new("kw-pin");
    let Some(app) = signed("kw-pinned", Some(&alice), &[]) else {
        return;
    };
    let pinned = format!("{}@{}", app.image, app.digest);
    let settings = json!({"signatures": [rule("*", &[("alice", &alice)], json!({}))]});
    let policy = Policy::new(&app.host);
    let response = policy.validate(
        &admission_request("Pod", "CREATE", &pinned, &pinned),
        &settings,
    );
    assert_eq!(response["accepted"], true, "{response}");
    assert!(response.get("mutated_object").is_none(), "{response}");
    // The `.sig` tag and the referrers tag: no digest lookup.
    assert_eq!(policy.operations(), ["v1/oci_manifest", "v1/oci_manifest"]);
}

#[test]
fn unsigned_and_wrong_key_images_are_rejected_by_name_and_reason() {
    let alice = Key::new("kw-alice2");
    let mallory = Key::new("kw-mallory");
    let Some(unsigned) = signed("kw-unsigned", None, &[]) else {
        return;
    };
    let Some(foreign) = signed("kw-foreign", Some(&mallory), &[]) else {
        return;
    };
    let Some(good) = signed("kw-good", Some(&alice), &[]) else {
        return;
    };
    assert!(!cosign_verifies(&unsigned.image, &alice.public, &[]));
    assert!(!cosign_verifies(&foreign.image, &alice.public, &[]));
    let settings = json!({"signatures": [rule("*", &[("alice", &alice)], json!({}))]});
    let policy = Policy::new(&good.host);
    for kind in KINDS {
        let response = policy.validate(
            &admission_request(kind, "CREATE", &unsigned.image, &good.image),
            &settings,
        );
        assert_rejected(
            &response,
            &["1 image", &format!("{}: no_signatures", unsigned.image)],
        );
        let response = policy.validate(
            &admission_request(kind, "UPDATE", &foreign.image, &good.image),
            &settings,
        );
        assert_rejected(
            &response,
            &[&format!("{}: no_matching_signature", foreign.image)],
        );
        assert!(!response["message"].as_str().unwrap().contains(&good.image));
        let response = policy.validate(
            &admission_request(kind, "CREATE", &foreign.image, &unsigned.image),
            &settings,
        );
        assert_rejected(
            &response,
            &["2 images", "no_matching_signature", "no_signatures"],
        );
    }
}

#[test]
fn annotations_the_policy_names_are_rebuilt_and_others_are_payload_unavailable() {
    let alice = Key::new("kw-annot");
    let Some(named) = signed(
        "kw-named",
        Some(&alice),
        &["-a", "env=prod", "-a", "team=pay<ments>"],
    ) else {
        return;
    };
    let Some(extra) = signed(
        "kw-extra",
        Some(&alice),
        &["-a", "env=prod", "-a", "build=42"],
    ) else {
        return;
    };
    let annotations = json!({"annotations": {"env": "prod", "team": "pay<ments>"}});
    assert!(cosign_verifies(
        &named.image,
        &alice.public,
        &["-a", "env=prod", "-a", "team=pay<ments>"]
    ));
    let settings = json!({"signatures": [rule("*", &[("alice", &alice)], annotations)]});
    let policy = Policy::new(&named.host);
    let response = policy.validate(
        &admission_request("Deployment", "CREATE", &named.image, &named.image),
        &settings,
    );
    assert_eq!(response["accepted"], true, "{response}");

    // cosign itself accepts the extra-annotation image; we cannot rebuild its payload.
    assert!(cosign_verifies(
        &extra.image,
        &alice.public,
        &["-a", "env=prod"]
    ));
    let settings = json!({"signatures": [rule("*", &[("alice", &alice)], json!({"annotations": {"env": "prod"}}))]});
    let response = policy.validate(
        &admission_request("Deployment", "CREATE", &extra.image, &extra.image),
        &settings,
    );
    assert_rejected(
        &response,
        &[
            &format!("{}: payload_unavailable", extra.image),
            "cosign sign -a",
        ],
    );
}

#[test]
fn raw_evidence_requests_are_verified_without_host_calls() {
    let alice = Key::new("kw-raw");
    let Some(app) = signed("kw-raw", Some(&alice), &[]) else {
        return;
    };
    let dir = env::tempdir("kw-raw");
    let evidence_path = dir.join("evidence.json");
    let output = ocisig(&[
        "fetch",
        &app.image,
        "--insecure-registry",
        &app.host,
        "-o",
        evidence_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let evidence: Value = serde_json::from_slice(&std::fs::read(&evidence_path).unwrap()).unwrap();
    let settings = json!({"signatures": [rule(&format!("{}/kw-raw*", app.host), &[("alice", &alice)], json!({}))]});
    let policy = Policy::new(&app.host);
    let response = policy.validate(&evidence, &settings);
    assert_eq!(response["accepted"], true, "{response}");
    assert!(response.get("mutated_object").is_none());

    let mut tampered = evidence.clone();
    let blobs = tampered["blobs"].as_object_mut().unwrap();
    let (name, _) = blobs
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    blobs.insert(name, json!("eyJ0YW1wZXJlZCI6dHJ1ZX0="));
    assert_rejected(&policy.validate(&tampered, &settings), &["payload_"]);

    let other = json!({"signatures": [rule("ghcr.io/*", &[("alice", &alice)], json!({}))]});
    assert_rejected(&policy.validate(&evidence, &other), &["unmatched_image"]);
    assert!(policy.operations().is_empty(), "{:?}", policy.operations());
}

#[test]
fn a_host_capability_error_rejects_naming_the_image_and_the_error() {
    let alice = Key::new("kw-down");
    let Some(app) = signed("kw-down", Some(&alice), &[]) else {
        return;
    };
    let down = format!("127.0.0.1:{}", env::free_port());
    let image = format!("{down}/kw-down:v1");
    let settings = json!({"signatures": [rule("*", &[("alice", &alice)], json!({}))]});
    let policy = Policy::new(&down);
    let response = policy.validate(
        &admission_request("Pod", "CREATE", &image, &image),
        &settings,
    );
    assert_rejected(
        &response,
        &[
            &format!("{image}: host_capability_error"),
            "could not resolve the digest",
        ],
    );
    drop(app);
}

/// "Not found" in a host error's text is not "not signed": only the registry's own word that
/// the signature manifest does not exist is (issue #14).
#[test]
fn a_lookup_failure_that_says_not_found_is_not_unsigned() {
    let alice = Key::new("kw-dns");
    let Some(app) = signed("kw-dns", Some(&alice), &[]) else {
        return;
    };
    // Pinned, so the only host call is the signature manifest's, and it fails.
    let image = format!("{UNRESOLVABLE}/kw-dns@{}", app.digest);
    let settings = json!({"signatures": [rule("*", &[("alice", &alice)], json!({}))]});
    let policy = Policy::new(&app.host);
    let response = policy.validate(
        &admission_request("Pod", "CREATE", &image, &image),
        &settings,
    );
    assert_rejected(
        &response,
        &[&format!("{image}: host_capability_error"), "host not found"],
    );
    let message = response["message"].as_str().unwrap();
    assert!(!message.contains("no_signatures"), "{message}");
    assert_eq!(policy.operations(), ["v1/oci_manifest"]);
    drop(app);
}

#[test]
fn unmatched_images_follow_the_setting() {
    let alice = Key::new("kw-unmatched");
    let Some(app) = signed("kw-unmatched", Some(&alice), &[]) else {
        return;
    };
    let policy = Policy::new(&app.host);
    let request = admission_request("Job", "CREATE", &app.image, &app.image);
    let deny = json!({"signatures": [rule("ghcr.io/*", &[("alice", &alice)], json!({}))]});
    assert_rejected(&policy.validate(&request, &deny), &["unmatched_image"]);
    let allow = json!({"signatures": [rule("ghcr.io/*", &[("alice", &alice)], json!({}))], "unmatchedImages": "allow"});
    let response = policy.validate(&request, &allow);
    assert_eq!(response["accepted"], true, "{response}");
    assert!(
        response.get("mutated_object").is_none(),
        "an unchecked image is not pinned"
    );
    let no_pin = json!({"signatures": [rule("*", &[("alice", &alice)], json!({}))], "modifyImagesWithDigest": false});
    let response = policy.validate(&request, &no_pin);
    assert_eq!(response["accepted"], true, "{response}");
    assert!(response.get("mutated_object").is_none());
    // Every matching rule must pass: a second rule with another key rejects.
    let mallory = Key::new("kw-unmatched-m");
    let both = json!({"signatures": [
        rule("*", &[("alice", &alice)], json!({})),
        rule(&format!("{}/*", app.host), &[("mallory", &mallory)], json!({}))
    ]});
    assert_rejected(
        &policy.validate(&request, &both),
        &["no_matching_signature"],
    );
}

/// A `policySet` in the settings (issue #30): policy-controller's globs, namespace globs
/// matched against the request's namespace, `match` against its resource and labels, warn mode admitting with a warning that names the
/// rule, and a static rule.
#[test]
fn a_policy_set_in_the_settings_decides_by_image_namespace_and_mode() {
    let alice = Key::new("kw-set-alice");
    let mallory = Key::new("kw-set-mallory");
    let Some(app) = signed("kw-set/app", Some(&alice), &[]) else {
        return;
    };
    let policy = Policy::new(&app.host);
    // A Job's fixture is in namespace "default".
    let request = admission_request("Job", "CREATE", &app.image, &app.image);
    let keys = |key: &Key, name: &str| json!({"keys": [{"name": name, "publicKey": pem(key)}]});
    let set = |rules: Value| json!({"policySet": {"unmatched": "deny", "rules": rules}});
    let team = format!("{}/kw-set/*", app.host);

    let signed_by_alice =
        set(json!([{"name": "team", "images": [team], "policy": keys(&alice, "alice")}]));
    let response = policy.validate(&request, &signed_by_alice);
    assert_eq!(response["accepted"], true, "{response}");
    assert!(response.get("mutated_object").is_some(), "{response}");

    // A rule for other namespaces does not apply here; one for this namespace does.
    let elsewhere = set(json!([
        {"name": "team", "images": [team], "policy": keys(&alice, "alice")},
        {"name": "prod", "images": [team], "namespaces": ["prod-*"], "policy": keys(&mallory, "mallory")}
    ]));
    assert_eq!(policy.validate(&request, &elsewhere)["accepted"], true);
    let here = set(json!([
        {"name": "team", "images": [team], "policy": keys(&alice, "alice")},
        {"name": "default", "images": [team], "namespaces": ["def*"], "policy": keys(&mallory, "mallory")}
    ]));
    assert_rejected(
        &policy.validate(&request, &here),
        &["no_matching_signature", "rule \"default\""],
    );

    // `match` selects by the request's resource and the object's labels (the Job has none).
    let for_jobs = |selector: Value| {
        set(json!([
            {"name": "team", "images": [team], "policy": keys(&alice, "alice")},
            {"name": "jobs", "images": [team], "policy": keys(&mallory, "mallory"),
             "match": [{"group": "batch", "version": "*", "resource": "jobs", "selector": selector}]}
        ]))
    };
    assert_rejected(
        &policy.validate(&request, &for_jobs(json!({}))),
        &["no_matching_signature", "rule \"jobs\""],
    );
    let labelled = for_jobs(json!({"matchLabels": {"tier": "front"}}));
    assert_eq!(policy.validate(&request, &labelled)["accepted"], true);
    let unlabelled =
        for_jobs(json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}));
    assert_rejected(&policy.validate(&request, &unlabelled), &["rule \"jobs\""]);

    // The same rule in warn mode admits, with a warning that names it.
    let warned = set(json!([
        {"name": "team", "images": [team], "policy": keys(&alice, "alice")},
        {"name": "default", "images": [team], "namespaces": ["def*"], "mode": "warn", "policy": keys(&mallory, "mallory")}
    ]));
    let response = policy.validate(&request, &warned);
    assert_eq!(response["accepted"], true, "{response}");
    let warning = response["warnings"][0].as_str().unwrap_or("");
    assert!(warning.contains("rule \"default\": "), "{response}");

    // Static rules need no signature, and an unmatched image is denied.
    let static_pass = set(json!([{"name": "all", "images": ["**"], "static": "pass"}]));
    assert_eq!(policy.validate(&request, &static_pass)["accepted"], true);
    let unmatched = set(json!([{"name": "ghcr", "images": ["ghcr.io/**"], "static": "pass"}]));
    assert_rejected(&policy.validate(&request, &unmatched), &["unmatched_image"]);

    // A set and the old list at once, or unmatchedImages beside a set: refused.
    let mut both = signed_by_alice.clone();
    both["signatures"] = json!([rule("*", &[("alice", &alice)], json!({}))]);
    assert_eq!(policy.validate(&request, &both)["accepted"], false);
    let mut twice = signed_by_alice;
    twice["unmatchedImages"] = json!("allow");
    let response = policy.validate(&request, &twice);
    assert_rejected(&response, &["unmatchedImages"]);
}

#[test]
fn the_deploy_manifests_settings_are_valid_settings() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/kubewarden-policy.yaml"
    ))
    .unwrap();
    let manifest: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(manifest["kind"], "ClusterAdmissionPolicy");
    assert_eq!(manifest["spec"]["mutating"], true, "the policy pins tags");
    let policy = Policy::new("127.0.0.1:1");
    let answer = policy.call("validate_settings", &manifest["spec"]["settings"]);
    assert_eq!(answer, json!({"valid": true}));
}

#[test]
fn validate_settings_names_the_field_of_every_mistake() {
    let alice = Key::new("kw-settings");
    let policy = Policy::new("127.0.0.1:1");
    let good = rule("*", &[("alice", &alice)], json!({}));
    let valid = policy.call("validate_settings", &json!({"signatures": [good.clone()]}));
    assert_eq!(valid, json!({"valid": true}));
    let mut unknown_in_rule = good.clone();
    unknown_in_rule["treshold"] = json!(1);
    let cases = [
        (json!({}), "signatures"),
        (json!({"signatures": []}), "signatures"),
        (
            json!({"signatures": [{"keys": good["keys"]}]}),
            "signatures[0].image",
        ),
        (json!({"signatures": [rule("*", &[], json!({}))]}), "keys"),
        (
            json!({"signatures": [{"image": "*", "keys": [{"name": "a", "publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}]}]}),
            "keys[0].publicKey",
        ),
        (
            json!({"signatures": [rule("*", &[("alice", &alice)], json!({"threshold": 2}))]}),
            "threshold",
        ),
        (
            json!({"signatures": [rule("*", &[("alice", &alice)], json!({"required": ["bob"]}))]}),
            "required",
        ),
        (json!({"signatures": [unknown_in_rule]}), "treshold"),
        (
            json!({"signatures": [good.clone()], "modifyImages": true}),
            "modifyImages",
        ),
        (
            json!({"signatures": [good.clone()], "unmatchedImages": "maybe"}),
            "maybe",
        ),
        // Attestations are blobs, which the host never hands over: refused, and said why.
        (
            json!({"signatures": [rule("*", &[("alice", &alice)], json!({"attestations": [{"predicateType": "slsaprovenance1"}]}))]}),
            "hands a policy no blobs",
        ),
    ];
    for (settings, field) in cases {
        let response = policy.call("validate_settings", &settings);
        assert_eq!(response["valid"], false, "{settings}: {response}");
        let message = response["message"].as_str().unwrap();
        assert!(message.contains(field), "{field:?} not in {message:?}");
    }
    // validate refuses to run with settings validate_settings would refuse.
    let response = policy.validate(
        &admission_request("Pod", "CREATE", "a/b:c", "a/b:c"),
        &json!({}),
    );
    assert_rejected(&response, &["invalid settings"]);
}

#[test]
fn the_artifact_is_a_wapc_guest_kubewarden_can_load() {
    let policy = Policy::new("127.0.0.1:1");
    assert_eq!(policy.call("protocol_version", &json!(null)), json!("v1"));
    let (_, module) = compiled();
    let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
    assert!(
        exports.iter().all(|name| !name.starts_with("opa_")),
        "{exports:?}"
    );
    assert!(
        exports.contains(&"__guest_call") && exports.contains(&"wapc_init"),
        "{exports:?}"
    );
    assert!(
        module.imports().all(|i| i.module() == "wapc"),
        "imports only the waPC host"
    );
    let metadata = custom_section(artifact(), "io.kubewarden.metadata").expect("metadata section");
    let metadata: Value = serde_json::from_slice(&metadata).unwrap();
    assert_eq!(metadata["protocolVersion"], "v1");
    assert_eq!(metadata["mutating"], true);
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");
    assert_eq!(metadata["backgroundAudit"], true);
    let resources: Vec<&str> = metadata["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| {
            rule["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
        })
        .collect();
    for resource in [
        "pods",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "replicationcontrollers",
        "jobs",
        "cronjobs",
    ] {
        assert!(
            resources.contains(&resource),
            "{resource} not in {resources:?}"
        );
    }
    let usage = metadata["annotations"]["io.kubewarden.policy.usage"]
        .as_str()
        .unwrap();
    assert!(
        usage.contains("payload_unavailable"),
        "the usage text is the policy README"
    );
    assert!(metadata["annotations"]["io.artifacthub.displayName"].is_string());
}

/// The payload of the custom section `name`, read with the wasm binary format's own framing.
fn custom_section(module: &[u8], name: &str) -> Option<Vec<u8>> {
    fn leb(bytes: &[u8], at: &mut usize) -> usize {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = bytes[*at];
            *at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    let mut at = 8;
    while at < module.len() {
        let id = module[at];
        at += 1;
        let size = leb(module, &mut at);
        let end = at + size;
        if id == 0 {
            let mut inner = at;
            let name_len = leb(module, &mut inner);
            if &module[inner..inner + name_len] == name.as_bytes() {
                return Some(module[inner + name_len..end].to_vec());
            }
        }
        at = end;
    }
    None
}

/// The policy server keeps a guest instance across requests (issue #14): one instance, asked
/// again and again with the settings changing between requests, answers every request exactly
/// as a fresh instance does.
#[test]
fn one_guest_instance_answers_every_request_as_a_fresh_one_would() {
    let alice = Key::new("kw-long-alice");
    let bob = Key::new("kw-long-bob");
    let Some(by_alice) = signed("kw-long-a", Some(&alice), &[]) else {
        return;
    };
    let Some(by_bob) = signed("kw-long-b", Some(&bob), &[]) else {
        return;
    };
    let Some(unsigned) = signed("kw-long-u", None, &[]) else {
        return;
    };
    let settings = [
        json!({"signatures": [rule("*", &[("alice", &alice)], json!({}))]}),
        json!({"signatures": [rule("*", &[("alice", &alice), ("bob", &bob)], json!({}))]}),
        json!({"signatures": [rule("*", &[("alice", &alice), ("bob", &bob)], json!({"threshold": 2}))]}),
        json!({"signatures": [rule("*", &[("bob", &bob)], json!({}))], "modifyImagesWithDigest": false}),
    ];
    let mut cases = Vec::new();
    for (image, init) in [
        (&by_alice.image, &by_alice.image),
        (&by_bob.image, &by_alice.image),
        (&unsigned.image, &by_bob.image),
    ] {
        for kind in ["Pod", "Deployment", "CronJob"] {
            for settings in &settings {
                cases.push((admission_request(kind, "CREATE", image, init), settings));
            }
        }
    }
    let expected: Vec<Value> = cases
        .iter()
        .map(|(request, settings)| Policy::new(&by_alice.host).validate(request, settings))
        .collect();
    let accepted = expected.iter().filter(|r| r["accepted"] == true).count();
    assert!(
        accepted > 0 && accepted < expected.len(),
        "{accepted} of {}",
        expected.len()
    );
    let long_lived = Policy::new(&by_alice.host);
    let mut requests = 0;
    for round in 0..4 {
        for step in 0..cases.len() {
            let i = (step * 7 + round) % cases.len();
            let (request, settings) = &cases[i];
            assert_eq!(
                long_lived.validate(request, settings),
                expected[i],
                "round {round}, case {i}"
            );
            requests += 1;
        }
    }
    eprintln!(
        "long-lived waPC guest: {requests} requests over {} cases answer as fresh instances do",
        cases.len()
    );
}

/// `verifyPlatforms` in an entry: a recursively signed index is admitted, one whose platforms
/// are unsigned is rejected, through the host's `oci_manifest` alone (issue #14).
#[test]
fn verify_platforms_checks_every_manifest_of_an_index() {
    let alice = Key::new("kw-platforms");
    let Some(registry) = env::registry() else {
        return;
    };
    let recursive = registry.push_kind("index", "kw-platforms", "recursive");
    alice.sign(
        &format!("{}@{recursive}", registry.image("kw-platforms")),
        &["--recursive"],
    );
    let top_only = registry.push_kind("index2", "kw-platforms", "top-only");
    alice.sign(
        &format!("{}@{top_only}", registry.image("kw-platforms")),
        &[],
    );
    let settings =
        json!({"signatures": [rule("*", &[("alice", &alice)], json!({"verifyPlatforms": true}))]});
    let plain = json!({"signatures": [rule("*", &[("alice", &alice)], json!({}))]});
    let recursive_image = format!("{}:recursive", registry.image("kw-platforms"));
    let top_only_image = format!("{}:top-only", registry.image("kw-platforms"));

    let policy = Policy::new(&registry.host);
    let response = policy.validate(
        &admission_request("Pod", "CREATE", &recursive_image, &recursive_image),
        &settings,
    );
    assert_eq!(response["accepted"], true, "{response}");
    // The digest, the index's `.sig` and referrers tags, the index, and each platform's.
    assert_eq!(
        policy.operations(),
        [
            "v1/manifest_digest",
            "v1/oci_manifest",
            "v1/oci_manifest",
            "v1/oci_manifest",
            "v1/oci_manifest",
            "v1/oci_manifest",
            "v1/oci_manifest",
            "v1/oci_manifest"
        ]
    );

    let policy = Policy::new(&registry.host);
    let request = admission_request("Pod", "CREATE", &top_only_image, &top_only_image);
    assert_rejected(
        &policy.validate(&request, &settings),
        &[
            &format!("{top_only_image}: platform_not_verified"),
            "2 of the 2 manifests",
        ],
    );
    // Without the option, the index's own signature is what counts, as in cosign.
    assert_eq!(policy.validate(&request, &plain)["accepted"], true);
}

/// An image signed only as cosign v3 signs (a Sigstore bundle referrer): the host can list the
/// referrer but serves no blobs, so the policy cannot read the bundle. It says exactly that,
/// never "no signatures", and never admits the image (issue #15).
#[test]
fn an_image_with_only_a_bundle_is_rejected_as_unverifiable_here() {
    let alice = Key::new("kw-bundle");
    let Some(image) = signed("kw-bundle", None, &[]) else {
        return;
    };
    alice.attest(
        &format!("{}@{}", image.image.trim_end_matches(":v1"), image.digest),
        env::SIGN_V1,
        true,
    );
    assert!(env::cosign_verifies_bundle(
        &image.image,
        &alice.public,
        env::SIGN_V1
    ));
    let settings = json!({"signatures": [rule("*", &[("alice", &alice)], json!({}))]});
    let policy = Policy::new(&image.host);
    let response = policy.validate(
        &admission_request("Pod", "CREATE", &image.image, &image.image),
        &settings,
    );
    assert_rejected(
        &response,
        &[&format!("{}: bundle_unavailable", image.image)],
    );
    let message = response["message"].as_str().unwrap();
    assert!(!message.contains("no_signatures"), "{message}");
    // The digest, the `.sig` tag, the referrers tag and the referrer manifest; never a blob.
    assert_eq!(
        policy.operations(),
        [
            "v1/manifest_digest",
            "v1/oci_manifest",
            "v1/oci_manifest",
            "v1/oci_manifest"
        ]
    );
}

/// A real keyless `.sig` signature (connaisseur's: a Fulcio certificate for a GitHub identity,
/// its chain and its Rekor bundle as layer annotations) verified in the guest: the host serves
/// the `.sig` manifest and never a blob, so the guest rebuilds the payload from the image
/// reference and digest, then checks the certificate against the production trusted root in
/// the settings, at the time the Rekor bundle proves, and the identity (issue #16).
#[test]
fn a_keyless_sig_signature_is_verified_in_the_guest() {
    let Some(vectors) = vectors::vectors_dir() else {
        return;
    };
    let digest = "sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee";
    let sig = std::fs::read(vectors.join(format!(
        "connaisseur/test/testdata/cosign/securesystemsengineering/testimage/manifests/sha256-{}.sig.json",
        digest.trim_start_matches("sha256:")
    )))
    .unwrap();
    let root: Value = serde_json::from_slice(
        &std::fs::read(
            vectors.join("sigstore-trust-roots/production_trusted_root.sigstore-python.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let image = format!("index.docker.io/phbelitz/rekor-test@{digest}");
    let settings = |subject: &str| {
        json!({"signatures": [{
            "image": "index.docker.io/phbelitz/*",
            "identities": [{"name": "philipp", "issuer": "https://github.com/login/oauth", "subject": subject}],
            "trustedRoot": root,
        }]})
    };
    let sig_tag = format!(":{}.sig", digest.replace(':', "-"));
    let policy = Policy::serving(vec![(sig_tag.clone(), sig.clone())]);
    let response = policy.validate(
        &admission_request("Pod", "CREATE", &image, &image),
        &settings("philipp.belitz@securesystems.de"),
    );
    assert_eq!(response["accepted"], true, "{response}");
    assert!(
        policy.operations().iter().all(|op| op == "v1/oci_manifest"),
        "{:?}",
        policy.operations()
    );

    let policy = Policy::serving(vec![(sig_tag, sig)]);
    let response = policy.validate(
        &admission_request("Pod", "CREATE", &image, &image),
        &settings("bob@gmail.com"),
    );
    assert_rejected(&response, &[&format!("{image}: identity_mismatch")]);
}
