//! Checking one image for the server: tag resolution and verification, each behind a cache and
//! singleflight, with a bound on concurrent registry work and a deadline on every wait.

use std::sync::Arc;
use std::time::Duration;

use ocisig::host::workload::Admitted;
use ocisig::{Reference, Scope, Sha256Digest};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::cache::{Cache, Flights, Landed, landed};
use super::config::ActivePolicy;
use super::metrics::{CacheStatus, Metrics};
use crate::evidence::{self, Source};
use crate::module::{ModuleVerdict, VerifierModule};
use crate::registry::Registry;

/// Why an image was not verified, when no verdict was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The image is not a valid reference.
    InvalidReference,
    /// The reference has a tag and no digest, where a digest is required.
    Unpinned,
    /// The registry says the image does not exist.
    NotFound,
    /// The registry could not be reached, or answered wrongly.
    FetchFailed,
    /// The deadline passed first.
    TimedOut,
    /// The work was lost (a panic): a bug, reported as such.
    Internal,
    /// A policy set's rule would apply by where the image is admitted, and the caller does not
    /// say (Gatekeeper's provider).
    Unscoped,
}

impl Failure {
    /// The reason code, in the vocabulary of the verdict's reason codes.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidReference => "invalid_reference",
            Self::Unpinned => "unpinned_image",
            Self::NotFound => "image_not_found",
            Self::FetchFailed => "fetch_failed",
            Self::TimedOut => "timed_out",
            Self::Internal => "internal_error",
            Self::Unscoped => "unknown_scope",
        }
    }

    /// Whether this is a failure to check (the registry or the clock), rather than a finding
    /// about the image.
    fn is_error(self) -> bool {
        matches!(
            self,
            Self::NotFound | Self::FetchFailed | Self::TimedOut | Self::Internal
        )
    }
}

/// One image's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// The module verified the image at this digest (or a policy set admitted it).
    Verified {
        /// The digest verified.
        digest: Sha256Digest,
        /// A policy set's warnings, each `CODE: rule "NAME": MESSAGE`: its failing `warn` rules,
        /// or an unmatched image it admits with a warning.
        warnings: Vec<String>,
    },
    /// The module denied it: its verdict's reason code and message.
    Denied {
        /// The verdict's reason code.
        code: String,
        /// The verdict's message.
        message: String,
    },
    /// No verdict was reached.
    Failed {
        /// What went wrong.
        failure: Failure,
        /// In words.
        message: String,
    },
}

impl Checked {
    fn failed(failure: Failure, message: impl Into<String>) -> Self {
        Self::Failed {
            failure,
            message: message.into(),
        }
    }

    /// The reason code; `verified` for a verified image.
    pub fn code(&self) -> &str {
        match self {
            Self::Verified { .. } => "verified",
            Self::Denied { code, .. } => code,
            Self::Failed { failure, .. } => failure.code(),
        }
    }

    /// Why, in words.
    pub fn message(&self) -> String {
        match self {
            Self::Verified { digest, .. } => format!("verified {digest}"),
            Self::Denied { message, .. } | Self::Failed { message, .. } => message.clone(),
        }
    }
}

/// The verdict cache key: the repository the signatures were read from, the image digest, and
/// the policy's digest (under a set, the digests of the rules that apply to the image,
/// [`ActivePolicy::key_for`]), so that a changed policy never reuses an old answer.
type VerdictKey = (String, Sha256Digest, String);

/// What the checker is built from.
pub struct CheckerOptions {
    /// How long a verdict is kept (zero: not at all).
    pub verdict_ttl: Duration,
    /// How long a tag's digest is kept (zero: not at all).
    pub tag_ttl: Duration,
    /// The most verdicts (and tags) kept.
    pub cache_entries: usize,
    /// Keep denials too, not only verified images.
    pub cache_denials: bool,
    /// The most images fetched and verified at once.
    pub concurrency: usize,
}

/// Everything the checks share.
pub struct Checker {
    registry: Arc<Registry>,
    module: Arc<VerifierModule>,
    verdicts: Arc<Cache<VerdictKey, Checked>>,
    tags: Arc<Cache<String, Sha256Digest>>,
    verifying: Flights<VerdictKey, Checked>,
    resolving: Flights<String, Result<Sha256Digest, (Failure, String)>>,
    work: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    cache_denials: bool,
}

impl Checker {
    /// A checker with empty caches.
    pub fn new(
        registry: Arc<Registry>,
        module: Arc<VerifierModule>,
        metrics: Arc<Metrics>,
        options: &CheckerOptions,
    ) -> Self {
        Self {
            registry,
            module,
            verdicts: Arc::new(Cache::new(options.verdict_ttl, options.cache_entries)),
            tags: Arc::new(Cache::new(options.tag_ttl, options.cache_entries)),
            verifying: Flights::default(),
            resolving: Flights::default(),
            work: Arc::new(Semaphore::new(options.concurrency.max(1))),
            metrics,
            cache_denials: options.cache_denials,
        }
    }

    /// Checks `image`, admitted where `admitted` says, under `policy` by `deadline`. A
    /// reference without a digest is resolved first when `resolve_tags`, and is
    /// [`Failure::Unpinned`] otherwise.
    pub async fn check(
        &self,
        image: &str,
        admitted: &Admitted,
        policy: &Arc<ActivePolicy>,
        resolve_tags: bool,
        deadline: Instant,
    ) -> Checked {
        let reference = match Reference::parse(image) {
            Ok(reference) => reference,
            Err(err) => {
                self.metrics.checked(false, CacheStatus::Miss);
                return Checked::failed(Failure::InvalidReference, err.to_string());
            }
        };
        let digest = match reference.digest().map(Sha256Digest::parse) {
            Some(Ok(digest)) => digest,
            Some(Err(err)) => {
                self.metrics.checked(false, CacheStatus::Miss);
                return Checked::failed(Failure::InvalidReference, err.to_string());
            }
            None if resolve_tags => match self.resolve(&reference, policy, deadline).await {
                Ok(digest) => digest,
                Err((failure, message)) => {
                    self.metrics.check_failed();
                    return Checked::failed(failure, message);
                }
            },
            None => {
                self.metrics.checked(false, CacheStatus::Miss);
                return Checked::failed(
                    Failure::Unpinned,
                    "the reference has a tag and no digest; the resolve-tag-to-digest webhook \
                     pins tags before this check (or start ocisig serve with --allow-tags)",
                );
            }
        };
        let outcome = self
            .verify(&reference, digest, admitted, policy, deadline)
            .await;
        match &outcome {
            (Checked::Verified { .. }, cache) => self.metrics.checked(true, *cache),
            (Checked::Denied { .. }, cache) => self.metrics.checked(false, *cache),
            (Checked::Failed { failure, .. }, cache) if !failure.is_error() => {
                self.metrics.checked(false, *cache);
            }
            (Checked::Failed { .. }, _) => self.metrics.check_failed(),
        }
        outcome.0
    }

    /// The digest `reference`'s tag names now: from the tag cache, or the registry (one
    /// request, shared by every caller asking at once).
    ///
    /// # Errors
    /// When the registry has no such image, cannot be asked, or the deadline passes.
    pub async fn resolve(
        &self,
        reference: &Reference,
        policy: &ActivePolicy,
        deadline: Instant,
    ) -> Result<Sha256Digest, (Failure, String)> {
        let key = reference.to_string();
        if let Some(digest) = self.tags.get(&key) {
            self.metrics.tag_resolved(CacheStatus::Hit);
            return Ok(digest);
        }
        let registry = Arc::clone(&self.registry);
        let tags = Arc::clone(&self.tags);
        let work = Arc::clone(&self.work);
        // The cap is the same whatever the scope: the widest of the rules the image may meet.
        let max_bytes = policy
            .plan_for(&key, &Scope::UNKNOWN)
            .limits
            .max_manifest_bytes;
        let target = reference.tag().unwrap_or("latest").to_string();
        let image = reference.clone();
        let cache_key = key.clone();
        let receiver = self.resolving.join(
            &key,
            move || async move {
                let Ok(_permit) = work.acquire_owned().await else {
                    return Err((Failure::Internal, "the work queue is closed".into()));
                };
                let fetched = tokio::task::spawn_blocking(move || {
                    registry.manifest(&image, &target, max_bytes)
                })
                .await;
                match fetched {
                    Ok(Ok(Some(manifest))) => Ok(manifest.digest),
                    Ok(Ok(None)) => Err((
                        Failure::NotFound,
                        "no such image (the registry answered 404)".to_string(),
                    )),
                    Ok(Err(err)) => Err((Failure::FetchFailed, format!("{err:#}"))),
                    Err(err) => Err((Failure::Internal, format!("resolving failed: {err}"))),
                }
            },
            move |result| {
                if let Ok(digest) = result {
                    tags.insert(cache_key, *digest);
                }
            },
        );
        let result = match tokio::time::timeout_at(deadline, landed(receiver)).await {
            Ok(Landed::Done(result)) => result,
            Ok(Landed::Lost) => Err((Failure::Internal, "resolving the tag was lost".into())),
            Err(_) => Err((Failure::TimedOut, TIMED_OUT.to_string())),
        };
        match &result {
            Ok(_) => self.metrics.tag_resolved(CacheStatus::Miss),
            Err(_) => self.metrics.tag_resolve_failed(),
        }
        result
    }

    /// The verdict for `digest` in `reference`'s repository: from the verdict cache, or
    /// fetched and verified (once, however many callers ask at once).
    async fn verify(
        &self,
        reference: &Reference,
        digest: Sha256Digest,
        admitted: &Admitted,
        policy: &Arc<ActivePolicy>,
        deadline: Instant,
    ) -> (Checked, CacheStatus) {
        let image = reference.to_string();
        let key: VerdictKey = (
            reference.repository_name(),
            digest,
            policy.key_for(&image, &admitted.scope()),
        );
        if let Some(cached) = self.verdicts.get(&key) {
            return (cached, CacheStatus::Hit);
        }
        let registry = Arc::clone(&self.registry);
        let module = Arc::clone(&self.module);
        let work = Arc::clone(&self.work);
        let verdicts = Arc::clone(&self.verdicts);
        let policy = Arc::clone(policy);
        let cache_denials = self.cache_denials;
        let cache_key = key.clone();
        let pinned = format!("{}@{digest}", reference.repository_name());
        let admitted = admitted.clone();
        let receiver = self.verifying.join(
            &key,
            move || async move {
                let Ok(_permit) = work.acquire_owned().await else {
                    return Checked::failed(Failure::Internal, "the work queue is closed");
                };
                tokio::task::spawn_blocking(move || {
                    let scope = admitted.scope();
                    fetch_and_verify(&registry, &module, &image, &pinned, digest, &policy, &scope)
                })
                .await
                .unwrap_or_else(|err| {
                    Checked::failed(Failure::Internal, format!("verification failed: {err}"))
                })
            },
            move |checked| {
                let keep = match checked {
                    Checked::Verified { .. } => true,
                    Checked::Denied { .. } => cache_denials,
                    // Transport errors and timeouts are never kept.
                    Checked::Failed { .. } => false,
                };
                if keep {
                    verdicts.insert(cache_key, checked.clone());
                }
            },
        );
        let checked = match tokio::time::timeout_at(deadline, landed(receiver)).await {
            Ok(Landed::Done(checked)) => checked,
            Ok(Landed::Lost) => Checked::failed(Failure::Internal, "the verification was lost"),
            Err(_) => Checked::failed(Failure::TimedOut, TIMED_OUT),
        };
        (checked, CacheStatus::Miss)
    }

    /// How many requests the registry client has sent.
    pub fn registry_requests(&self) -> u64 {
        self.registry.requests()
    }

    /// How many verdicts are cached.
    pub fn cached_verdicts(&self) -> usize {
        self.verdicts.len()
    }
}

/// What a timeout says: never "no signatures", since nothing is known.
const TIMED_OUT: &str =
    "not verified: timed out before the registry answered (nothing is known of its signatures)";

/// Fetches the evidence of `pinned` (`registry/repository@digest`) and runs the module (for a
/// set, on the policies of the rules that apply to `image`, the reference as written, admitted
/// in `scope`).
fn fetch_and_verify(
    registry: &Registry,
    module: &VerifierModule,
    image: &str,
    pinned: &str,
    digest: Sha256Digest,
    policy: &ActivePolicy,
    scope: &Scope<'_>,
) -> Checked {
    let source = match Source::parse(pinned) {
        Ok(source) => source,
        Err(err) => return Checked::failed(Failure::InvalidReference, format!("{err:#}")),
    };
    let fetched = match evidence::fetch(&source, Some(registry), &policy.plan_for(image, scope)) {
        Ok(fetched) => fetched,
        Err(err) => return Checked::failed(Failure::FetchFailed, format!("{err:#}")),
    };
    if fetched.digest != digest {
        return Checked::failed(
            Failure::FetchFailed,
            format!("the registry served {} for {digest}", fetched.digest),
        );
    }
    let verdict = ModuleVerdict::judge(
        module,
        &policy.document,
        &policy.json,
        image,
        &digest,
        &fetched.document,
        scope,
    );
    if verdict.verified {
        return Checked::Verified {
            digest,
            warnings: set_warnings(&verdict.value),
        };
    }
    Checked::Denied {
        code: verdict.field("reason").to_string(),
        message: verdict.field("message").to_string(),
    }
}

/// The warnings of an admitting set verdict, each with its reason code first: a failing `warn`
/// rule's (`CODE: rule "NAME": MESSAGE`), or an unmatched image's.
fn set_warnings(verdict: &serde_json::Value) -> Vec<String> {
    let text = |value: &serde_json::Value, name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let Some(rules) = verdict.get("rules").and_then(serde_json::Value::as_array) else {
        return Vec::new();
    };
    if rules.is_empty() {
        // Admitted unmatched: a warning only when the set says `warn`.
        return verdict
            .get("warnings")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .map(|w| format!("{}: {}", text(verdict, "reason"), w.as_str().unwrap_or("")))
            .collect();
    }
    rules
        .iter()
        .filter(|rule| rule.get("passed") == Some(&serde_json::Value::Bool(false)))
        .map(|rule| {
            format!(
                "{}: rule {:?}: {}",
                text(rule, "reason"),
                text(rule, "name"),
                text(rule, "message")
            )
        })
        .collect()
}
