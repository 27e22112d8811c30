//! `validate`: find the images of a workload, verify each against the rules that match it, and
//! admit (pinning tags to the verified digests), or reject naming every failing image.

use ocisig::evidence::plan::{FetchError, Plan, Source};
use ocisig::host::workload::{self, Admitted};
use ocisig::{Evidence, Reason, Reference, SetVerdict, Sha256Digest, Unmatched};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::settings::Settings;

/// The registry lookups the guest asks its host for (Kubewarden's `kubewarden/oci/v1/*`).
/// `Sync`, so that a fetch plan may run its halves at once on a host that can (this one runs
/// them in turn).
pub trait Host: Sync {
    /// The digest of the manifest `image` names (`v1/manifest_digest`).
    ///
    /// # Errors
    /// The host's failure.
    fn manifest_digest(&self, image: &str) -> Result<String, HostError>;

    /// The manifest `image` names, as JSON (`v1/oci_manifest`).
    ///
    /// # Errors
    /// The host's failure.
    fn oci_manifest(&self, image: &str) -> Result<Vec<u8>, HostError>;
}

/// A host capability call that failed. Kubewarden's host reports failures as text only (the
/// waPC host error), so the text is all there is to go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError {
    /// The host's words.
    pub message: String,
}

impl HostError {
    /// Whether the host says the manifest does not exist, in the words of the OCI client
    /// Kubewarden's host uses (oci-client): its own `Image manifest not found: …` for a bare
    /// 404, or the registry's `MANIFEST_UNKNOWN` error, which it shows by its message
    /// (`… OCI API errors: [OCI API error: manifest unknown]`). Nothing else counts: a DNS
    /// "host not found", a 401 or a timeout is a failure to fetch, never "unsigned".
    pub fn says_manifest_not_found(&self) -> bool {
        self.message.contains("Image manifest not found: ")
            || self.message.contains("OCI API error: manifest unknown")
    }
}

impl core::fmt::Display for HostError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One repository, as the core's fetch plan sees it through Kubewarden's capabilities. The
/// host fetches no blobs, so every blob is [`FetchError::Unsupported`] and the payloads are
/// rebuilt from the policy.
struct HostRepository<'a> {
    host: &'a dyn Host,
    /// `registry/repository`, normalized.
    repository: String,
}

impl Source for HostRepository<'_> {
    fn manifest(&self, reference: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        let separator = if reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        let name = format!("{}{separator}{reference}", self.repository);
        match self.host.oci_manifest(&name) {
            Ok(bytes) if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max_bytes => {
                Err(FetchError::Transport {
                    what: name,
                    detail: format!(
                        "the host returned {} bytes; the limit is {max_bytes}",
                        bytes.len()
                    ),
                })
            }
            Ok(bytes) => Ok(bytes),
            Err(err) if err.says_manifest_not_found() => Err(FetchError::NotFound { what: name }),
            Err(err) => Err(FetchError::Transport {
                what: name,
                detail: err.message,
            }),
        }
    }

    fn blob(&self, digest: &Sha256Digest, _size: u64) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::Unsupported {
            what: digest.to_string(),
        })
    }

    /// The host re-serializes the manifests it parsed, so their bytes need not hash to their
    /// digest.
    fn exact_manifests(&self) -> bool {
        false
    }
}

/// Kubewarden's `ValidationRequest`.
#[derive(Deserialize)]
struct ValidationRequest<'a> {
    #[serde(borrow)]
    request: &'a RawValue,
    #[serde(default, borrow)]
    settings: Option<&'a RawValue>,
}

/// The subset of a Kubernetes `AdmissionRequest` the policy reads.
struct AdmissionRequest {
    kind: String,
    /// Where the object is: what a policy set's namespaces and `match` read.
    admitted: Admitted,
    object: Value,
}

impl AdmissionRequest {
    /// Reads `kind.kind` and `object` with the core's strict JSON reader (duplicate keys are
    /// refused here as everywhere), walking the value rather than deriving a reader for it.
    fn parse(body: &[u8]) -> Result<Self, String> {
        let value = ocisig::encoding::json::parse_value(body)?;
        let admitted = Admitted::of_request(&value);
        let Value::Object(mut request) = value else {
            return Err("not a JSON object".into());
        };
        let kind = match request.get("kind").and_then(|kind| kind.get("kind")) {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err("kind.kind is missing or not a string".into()),
        };
        let object = request.remove("object").unwrap_or(Value::Null);
        Ok(Self {
            kind,
            admitted,
            object,
        })
    }
}

/// Kubewarden's `ValidationResponse`.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ValidationResponse {
    /// Whether the request is admitted.
    pub accepted: bool,
    /// Why not, listing each failing image with its reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The object with its tags pinned to the verified digests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutated_object: Option<Value>,
    /// Warnings for the user: a `warn` rule that failed, an unmatched image under `warn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ValidationResponse {
    fn reject(message: String) -> Self {
        Self {
            accepted: false,
            message: Some(message),
            ..Self::default()
        }
    }
}

/// One image's outcome, with the warnings of an admission.
enum Outcome {
    /// Every matching `enforce` rule passed; `digest` is what was verified.
    Passed {
        digest: Sha256Digest,
        warnings: Vec<String>,
    },
    /// No rule matches, and the set admits such images.
    Unchecked { warnings: Vec<String> },
    /// Rejected, with a reason code and a message.
    Failed { code: &'static str, message: String },
}

fn failed(code: &'static str, message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        code,
        message: message.into(),
    }
}

/// Handles a `validate` payload. Every failure, including malformed input, is a rejection.
pub fn validate(payload: &[u8], host: &dyn Host) -> ValidationResponse {
    let request: ValidationRequest = match serde_json::from_slice(payload) {
        Ok(request) => request,
        Err(err) => {
            return ValidationResponse::reject(format!(
                "not a Kubewarden validation request: {err}"
            ));
        }
    };
    let settings_bytes = request.settings.map_or("{}", RawValue::get).as_bytes();
    let settings = match crate::settings::cached(settings_bytes) {
        Ok(settings) => settings,
        Err(err) => return ValidationResponse::reject(format!("invalid settings: {err}")),
    };
    let body = request.request.get().as_bytes();
    if is_evidence(body) {
        return validate_evidence(body, &settings);
    }
    match AdmissionRequest::parse(body) {
        Ok(admission) => validate_workload(admission, &settings, host),
        Err(err) => ValidationResponse::reject(format!(
            "the request is neither a Kubernetes AdmissionRequest nor an ocisig evidence \
             document: {err}"
        )),
    }
}

/// A raw-policy request carrying an evidence document (from `ocisig fetch`) rather than an
/// `AdmissionRequest`: it has `image` and `digest` and no `object`.
fn is_evidence(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Shape<'a> {
        #[serde(borrow, default)]
        image: Option<&'a RawValue>,
        #[serde(borrow, default)]
        digest: Option<&'a RawValue>,
        #[serde(borrow, default)]
        object: Option<&'a RawValue>,
    }
    serde_json::from_slice::<Shape>(body)
        .is_ok_and(|s| s.image.is_some() && s.digest.is_some() && s.object.is_none())
}

fn validate_evidence(body: &[u8], settings: &Settings) -> ValidationResponse {
    let evidence = match Evidence::from_json(body) {
        Ok(evidence) => evidence,
        Err(err) => return ValidationResponse::reject(format!("invalid_evidence: {err}")),
    };
    let image = evidence.image().to_string();
    let verdict = ocisig::verify_set(&settings.set, &evidence, &ocisig::Scope::UNKNOWN);
    respond(settings, vec![(image, outcome(&verdict))], None, &[])
}

fn validate_workload(
    admission: AdmissionRequest,
    settings: &Settings,
    host: &dyn Host,
) -> ValidationResponse {
    let kind = admission.kind;
    let Some(spec_pointer) = workload::pod_spec_pointer(&kind) else {
        // The metadata's rules never route other kinds here; admitting them is what a policy
        // that has nothing to say about a kind does.
        return ValidationResponse {
            accepted: true,
            ..ValidationResponse::default()
        };
    };
    let mut object = admission.object;
    let sites = match workload::images(&object, spec_pointer) {
        Ok(sites) => sites,
        Err(err) => return ValidationResponse::reject(format!("{kind}: {err}")),
    };
    let mut outcomes: Vec<(String, Outcome)> = Vec::new();
    for site in &sites {
        if outcomes.iter().all(|(image, _)| *image != site.image) {
            let outcome = check_image(settings, &site.image, &admission.admitted.scope(), host);
            outcomes.push((site.image.clone(), outcome));
        }
    }
    respond(settings, outcomes, Some(&mut object), &sites)
}

/// Turns the outcomes into a response: reject listing every failure, or admit with tags pinned.
fn respond(
    settings: &Settings,
    outcomes: Vec<(String, Outcome)>,
    object: Option<&mut Value>,
    sites: &[workload::ImageSite],
) -> ValidationResponse {
    let failures: Vec<(&str, &str, &str)> = outcomes
        .iter()
        .filter_map(|(image, outcome)| match outcome {
            Outcome::Failed { code, message } => Some((image.as_str(), *code, message.as_str())),
            _ => None,
        })
        .collect();
    if !failures.is_empty() {
        return ValidationResponse::reject(workload::rejection(&failures));
    }
    let mut response = ValidationResponse {
        accepted: true,
        ..ValidationResponse::default()
    };
    for (image, outcome) in &outcomes {
        if let Outcome::Passed { warnings, .. } | Outcome::Unchecked { warnings } = outcome {
            response
                .warnings
                .extend(warnings.iter().map(|w| format!("{image}: {w}")));
        }
    }
    if let Some(object) = object
        && settings.modify_images_with_digest
    {
        let mut changed = false;
        for site in sites {
            let pinned = outcomes.iter().find_map(|(image, outcome)| match outcome {
                Outcome::Passed { digest, .. } if *image == site.image => {
                    workload::pin(image, digest)
                }
                _ => None,
            });
            if let Some(pinned) = pinned {
                if !workload::set_image(object, &site.pointer, &pinned) {
                    return ValidationResponse::reject(format!(
                        "{}: cannot pin the image to {pinned}",
                        site.pointer
                    ));
                }
                changed = true;
            }
        }
        if changed {
            response.mutated_object = Some(object.take());
        }
    }
    response
}

fn check_image(
    settings: &Settings,
    image: &str,
    scope: &ocisig::Scope<'_>,
    host: &dyn Host,
) -> Outcome {
    let reference = match Reference::parse(image) {
        Ok(reference) => reference,
        Err(err) => return failed("invalid_reference", err.to_string()),
    };
    let rules = settings.set.rules_for(image, scope);
    if rules.is_empty() {
        return unmatched(settings);
    }
    let digest = match reference.digest() {
        Some(pinned) => match Sha256Digest::parse(pinned) {
            Ok(digest) => digest,
            Err(err) => return failed("invalid_reference", err),
        },
        None => match host
            .manifest_digest(&reference.to_string())
            .map_err(|err| format!("the host could not resolve the digest: {err}"))
            .and_then(|response| parse_digest_response(&response))
        {
            Ok(digest) => digest,
            Err(err) => return failed("host_capability_error", err),
        },
    };
    // What any matching rule's policies read (formats, platforms), under the widest caps any
    // allows; each policy's own caps are applied again when it verifies. Static rules read
    // nothing.
    let policies: Vec<_> = rules.iter().flat_map(|rule| rule.policies()).collect();
    let plan = Plan::of_all(policies.iter().copied());
    // The signatures' repository: the image's own, or the policies' signatureRepository.
    let repository = match plan.signature_repository() {
        Ok(elsewhere) => HostRepository {
            host,
            repository: elsewhere.map_or_else(|| reference.repository_name(), String::from),
        },
        Err(err) => return failed("invalid_policy", err.to_string()),
    };
    let evidence = if policies.is_empty() {
        None
    } else {
        match plan.gather(&repository, image.to_string(), digest, None) {
            Ok(evidence) => Some(evidence),
            Err(err) => {
                return failed(
                    "host_capability_error",
                    format!("the host could not fetch the signatures: {err}"),
                );
            }
        }
    };
    // The host serves no blobs, so every payload (the platforms' too) is rebuilt from each
    // policy, whatever the fetch got to.
    let verdict = ocisig::decide_set(
        &settings.set,
        image,
        Some(digest.to_string()),
        scope,
        |rule, index| match (&evidence, rule.policies().get(index)) {
            (Some(evidence), Some(policy)) => ocisig::verify(
                policy,
                &ocisig::evidence::rebuild::rebuild_payloads(evidence, policy),
            ),
            _ => ocisig::Verdict::denied(
                Reason::InvalidEvidence,
                "nothing was fetched for this policy".into(),
            ),
        },
    );
    outcome(&verdict)
}

/// A set verdict as an image's outcome.
fn outcome(verdict: &SetVerdict) -> Outcome {
    let warnings = verdict.warnings().to_vec();
    if !verdict.allowed() {
        return Outcome::Failed {
            code: verdict.reason().code(),
            message: verdict.message().to_string(),
        };
    }
    if verdict.rules().is_empty() {
        return Outcome::Unchecked { warnings };
    }
    match verdict.digest().map(Sha256Digest::parse) {
        Some(Ok(digest)) => Outcome::Passed { digest, warnings },
        _ => failed(
            Reason::InvalidEvidence.code(),
            "the verdict names no digest",
        ),
    }
}

fn unmatched(settings: &Settings) -> Outcome {
    match settings.set.unmatched() {
        Unmatched::Allow => Outcome::Unchecked {
            warnings: Vec::new(),
        },
        Unmatched::Warn => Outcome::Unchecked {
            warnings: vec!["no rule matches this image; admitted unchecked".into()],
        },
        Unmatched::Deny => failed(
            "unmatched_image",
            "no rule matches this image, and the set denies unmatched images",
        ),
    }
}

fn parse_digest_response(response: &str) -> Result<Sha256Digest, String> {
    #[derive(Deserialize)]
    struct ManifestDigest {
        digest: String,
    }
    let parsed: ManifestDigest = serde_json::from_str(response)
        .map_err(|err| format!("the host's digest response is not {{\"digest\": ...}}: {err}"))?;
    Sha256Digest::parse(&parsed.digest)
        .map_err(|err| format!("the host's digest {:?}: {err}", parsed.digest))
}
