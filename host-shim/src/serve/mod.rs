//! `ocisig serve`: Lakom's admission webhooks and a Gatekeeper external-data provider over
//! HTTPS, verifying with the same module as `ocisig verify`.
//!
//! hyper serves HTTP/1.1 and HTTP/2 on tokio, behind rustls. The registry work and the module
//! run on tokio's blocking threads, at most `concurrency` images at once, each image fetched
//! and verified once however many requests ask for it together, and its verdict kept for the
//! cache's time to live under the policy's digest.

pub mod admission;
pub mod api;
pub mod cache;
pub mod checker;
pub mod config;
pub mod gatekeeper;
pub mod metrics;
pub mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::Value;
use tokio::net::TcpListener;

use self::checker::{Checker, CheckerOptions};
use self::config::{ActivePolicy, PolicySource};
use self::metrics::Metrics;
use self::tls::{CertificateFiles, ReloadingCertificate};
use crate::module::VerifierModule;
use crate::registry::Registry;

pub use self::checker::Failure;

/// Lakom's mutating webhook path.
pub const RESOLVE_PATH: &str = "/lakom/resolve-tag-to-digest";
/// Lakom's validating webhook path.
pub const VERIFY_PATH: &str = "/lakom/verify-cosign-signature";
/// The Gatekeeper provider path.
pub const GATEKEEPER_PATH: &str = "/gatekeeper/verify";
/// Gatekeeper's external data for a mutation (`Assign`): the pinned reference.
pub const GATEKEEPER_MUTATE_PATH: &str = "/gatekeeper/mutate";
/// The plain verification API.
pub const API_VERIFY_PATH: &str = "/v1/verify";
/// Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";
/// Liveness.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Readiness: 503 once shutting down.
pub const READYZ_PATH: &str = "/readyz";

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may take to finish after SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the request handlers need to know.
#[derive(Clone, Debug)]
pub struct HandlerOptions {
    /// Admit, with warnings, what would be denied.
    pub warn_only: bool,
    /// Let the validating webhook resolve tags itself rather than deny them.
    pub allow_tags: bool,
    /// Pin `repo:tag` as `repo:tag@sha256:…` (true) or `repo@sha256:…` (false).
    pub keep_tag: bool,
    /// The admission webhooks' deadline.
    pub timeout: Duration,
    /// The Gatekeeper provider's deadline.
    pub gatekeeper_timeout: Duration,
    /// The largest request body read.
    pub max_body_bytes: usize,
}

/// Everything `ocisig serve` is started with.
pub struct ServeOptions {
    /// The HTTPS address.
    pub listen: SocketAddr,
    /// A plain-HTTP address for probes and metrics only (as Lakom's health and metrics ports).
    pub health_listen: Option<SocketAddr>,
    /// The server certificate.
    pub certificate: CertificateFiles,
    /// Require client certificates issued by this CA.
    pub client_ca: Option<PathBuf>,
    /// The policy.
    pub policy: PolicySource,
    /// How often the policy and certificate files are checked for changes.
    pub reload_interval: Duration,
    /// The caches and the concurrency bound.
    pub checker: CheckerOptions,
    /// The handlers' options.
    pub handlers: HandlerOptions,
}

/// Shared by every request.
pub struct State {
    checker: Checker,
    policy: RwLock<Arc<ActivePolicy>>,
    options: HandlerOptions,
    metrics: Arc<Metrics>,
    draining: AtomicBool,
}

impl State {
    /// The policy in force now.
    fn policy(&self) -> Arc<ActivePolicy> {
        match self.policy.read() {
            Ok(policy) => Arc::clone(&policy),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Runs `work` for every image at once, under the policy in force now; the results in the
    /// images' order. A task that panicked is [`Failure::Internal`] for its image.
    async fn each_image<T, F, Fut>(
        self: &Arc<Self>,
        images: &[String],
        work: F,
    ) -> Vec<Result<T, checker::Checked>>
    where
        T: Send + 'static,
        F: Fn(Arc<Self>, Arc<ActivePolicy>, String) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let policy = self.policy();
        let tasks: Vec<_> = images
            .iter()
            .map(|image| tokio::spawn(work(Arc::clone(self), Arc::clone(&policy), image.clone())))
            .collect();
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            results.push(task.await.map_err(|err| checker::Checked::Failed {
                failure: Failure::Internal,
                message: format!("the check was lost: {err}"),
            }));
        }
        results
    }

    fn set_policy(&self, policy: ActivePolicy) {
        let policy = Arc::new(policy);
        match self.policy.write() {
            Ok(mut current) => *current = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }
}

/// Runs the server until SIGTERM or SIGINT, then lets in-flight requests finish.
///
/// `registry` and `module` are built by the caller, outside the async runtime (the blocking
/// registry client may not be made or dropped inside one).
///
/// # Errors
/// When the policy, certificate or listen address cannot be used at start.
pub fn run(
    options: ServeOptions,
    registry: Arc<Registry>,
    module: Arc<VerifierModule>,
) -> anyhow::Result<()> {
    // Read before the policy loads: a change made while it loads is then seen as a change.
    let seen_policy = options.policy.contents();
    let policy = config::load(&options.policy)
        .with_context(|| format!("cannot use the policy {}", options.policy.path().display()))?;
    let provider = tls::provider();
    let (certificate_pem, key_pem) = options.certificate.read()?;
    let certificate = Arc::new(ReloadingCertificate::new(
        &provider,
        &certificate_pem,
        &key_pem,
    )?);
    let tls_config = Arc::new(tls::server_config(
        Arc::clone(&provider),
        Arc::clone(&certificate),
        options.client_ca.as_deref(),
    )?);
    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(State {
        checker: Checker::new(registry, module, Arc::clone(&metrics), &options.checker),
        policy: RwLock::new(Arc::new(policy)),
        options: options.handlers.clone(),
        metrics,
        draining: AtomicBool::new(false),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ocisig-serve")
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(serve(
        &options,
        Arc::clone(&state),
        tls_config,
        Watched {
            certificate,
            provider,
            files: options.certificate.clone(),
            seen: (certificate_pem, key_pem),
            seen_policy,
        },
    ));
    // Blocking work still running (a stalled registry) is not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(state);
    served
}

/// The certificate files and what was last read from them and from the policy file.
struct Watched {
    certificate: Arc<ReloadingCertificate>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    files: CertificateFiles,
    seen: (Vec<u8>, Vec<u8>),
    seen_policy: Option<Vec<u8>>,
}

async fn serve(
    options: &ServeOptions,
    state: Arc<State>,
    tls_config: Arc<rustls::ServerConfig>,
    watched: Watched,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let health = match options.health_listen {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address}"))?,
        ),
        None => None,
    };
    log(&format!(
        "listening on https://{}{}",
        listener.local_addr().unwrap_or(options.listen),
        health
            .as_ref()
            .and_then(|h| h.local_addr().ok())
            .map(|a| format!(" (probes and metrics also on http://{a})"))
            .unwrap_or_default()
    ));
    tokio::spawn(watch_files(
        Arc::clone(&state),
        options.policy.clone(),
        options.reload_interval,
        watched,
    ));
    let graceful = GracefulShutdown::new();
    if let Some(health) = health {
        tokio::spawn(accept_plain(health, Arc::clone(&state)));
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let state = Arc::clone(&state);
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let mut builder = auto::Builder::new(TokioExecutor::new());
                    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
                    let service = hyper::service::service_fn(move |request| {
                        handle(Arc::clone(&state), request, true)
                    });
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection.into_owned()).await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    state.draining.store(true, Ordering::SeqCst);
    drop(listener);
    log("shutting down: finishing the requests in flight");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        log("some requests did not finish in time");
    }
    Ok(())
}

/// The plain-HTTP listener for probes and metrics: it serves nothing else.
async fn accept_plain(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let service = hyper::service::service_fn(move |request| {
                handle(Arc::clone(&state), request, false)
            });
            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
        });
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Checks the policy and certificate files every `interval`; a changed file that loads is
/// taken, one that does not is logged and the old one kept.
async fn watch_files(
    state: Arc<State>,
    source: PolicySource,
    interval: Duration,
    mut watched: Watched,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let current = source.contents();
        if current.is_some() && current != watched.seen_policy {
            watched.seen_policy = current;
            match config::load(&source) {
                Ok(policy) => {
                    log(&format!(
                        "policy {} reloaded: policy digest {}",
                        source.path().display(),
                        policy.digest
                    ));
                    state.set_policy(policy);
                    state.metrics.reloaded(true);
                }
                Err(err) => {
                    log(&format!(
                        "policy {} changed but cannot be used, keeping the old one: {err:#}",
                        source.path().display()
                    ));
                    state.metrics.reloaded(false);
                }
            }
        }
        if let Ok(files) = watched.files.read()
            && files != watched.seen
        {
            match watched
                .certificate
                .replace(&watched.provider, &files.0, &files.1)
            {
                Ok(()) => {
                    log("TLS certificate reloaded");
                    state.metrics.reloaded(true);
                }
                Err(err) => {
                    log(&format!(
                        "TLS certificate changed but cannot be used, keeping the old one: {err:#}"
                    ));
                    state.metrics.reloaded(false);
                }
            }
            watched.seen = files;
        }
    }
}

/// One line on standard error.
fn log(line: &str) {
    eprintln!("ocisig serve: {line}");
}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Answer {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

fn json_answer(status: StatusCode, value: &Value) -> Answer {
    answer(status, "application/json", value.to_string())
}

fn text_answer(status: StatusCode, text: impl Into<String>) -> Answer {
    let mut text = text.into();
    text.push('\n');
    answer(status, "text/plain; charset=utf-8", text)
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
    webhooks: bool,
) -> Result<Answer, Infallible> {
    let started = std::time::Instant::now();
    let path = request.uri().path().to_string();
    let endpoint = match path.as_str() {
        RESOLVE_PATH => "resolve",
        VERIFY_PATH => "verify",
        GATEKEEPER_PATH => "gatekeeper",
        GATEKEEPER_MUTATE_PATH => "gatekeeper_mutate",
        API_VERIFY_PATH => "api_verify",
        _ => "other",
    };
    let response = route(&state, request, webhooks).await;
    state
        .metrics
        .request(endpoint, response.status().as_u16(), started.elapsed());
    Ok(response)
}

async fn route(state: &Arc<State>, request: Request<Incoming>, webhooks: bool) -> Answer {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    match (method, path.as_str()) {
        (Method::GET, HEALTHZ_PATH) => text_answer(StatusCode::OK, "ok"),
        (Method::GET, READYZ_PATH) if state.draining.load(Ordering::SeqCst) => {
            text_answer(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
        }
        (Method::GET, READYZ_PATH) => text_answer(StatusCode::OK, "ready"),
        (Method::GET, METRICS_PATH) => answer(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.render() + &metrics::registry_requests(state.checker.registry_requests()),
        ),
        (
            Method::POST,
            RESOLVE_PATH | VERIFY_PATH | GATEKEEPER_PATH | GATEKEEPER_MUTATE_PATH | API_VERIFY_PATH,
        ) if webhooks => {
            let body = match read_body(request, state.options.max_body_bytes).await {
                Ok(body) => body,
                Err(refusal) => return refusal,
            };
            match path.as_str() {
                GATEKEEPER_PATH | GATEKEEPER_MUTATE_PATH => {
                    let answer = if path == GATEKEEPER_PATH {
                        gatekeeper::Answer::Digest
                    } else {
                        gatekeeper::Answer::PinnedReference
                    };
                    match gatekeeper::handle(state, &body, answer).await {
                        Ok(response) => json_answer(StatusCode::OK, &response),
                        Err(response) => json_answer(StatusCode::BAD_REQUEST, &response),
                    }
                }
                API_VERIFY_PATH => match api::handle(state, &body).await {
                    Ok(response) => json_answer(StatusCode::OK, &response),
                    Err(message) => text_answer(StatusCode::BAD_REQUEST, message),
                },
                _ => {
                    let hook = if path == RESOLVE_PATH {
                        admission::Hook::Resolve
                    } else {
                        admission::Hook::Verify
                    };
                    match admission::handle(state, hook, &body).await {
                        Ok(review) => json_answer(StatusCode::OK, &review),
                        Err(admission::BadReview(message)) => {
                            text_answer(StatusCode::BAD_REQUEST, message)
                        }
                    }
                }
            }
        }
        (
            _,
            RESOLVE_PATH | VERIFY_PATH | GATEKEEPER_PATH | GATEKEEPER_MUTATE_PATH | API_VERIFY_PATH,
        ) if webhooks => text_answer(StatusCode::METHOD_NOT_ALLOWED, "use POST"),
        (_, HEALTHZ_PATH | READYZ_PATH | METRICS_PATH) => {
            text_answer(StatusCode::METHOD_NOT_ALLOWED, "use GET")
        }
        _ => text_answer(
            StatusCode::NOT_FOUND,
            format!(
                "no such endpoint; ocisig serve answers POST {RESOLVE_PATH}, POST {VERIFY_PATH}, \
                 POST {GATEKEEPER_PATH}, POST {GATEKEEPER_MUTATE_PATH}, POST {API_VERIFY_PATH}, \
                 GET {METRICS_PATH}, GET {HEALTHZ_PATH} and GET {READYZ_PATH}"
            ),
        ),
    }
}

/// The request body, up to `max` bytes. A larger body is 413: refused from its
/// Content-Length when that is far over, and otherwise read to its end without being kept (so
/// that the client, which is still sending, gets the answer rather than a reset connection),
/// as far as a bound; memory never holds more than `max`.
async fn read_body(request: Request<Incoming>, max: usize) -> Result<Bytes, Answer> {
    let too_large = || {
        text_answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over {max} bytes"),
        )
    };
    let drain_limit = max.saturating_mul(4).saturating_add(1 << 20);
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > u64::try_from(drain_limit).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let mut body = request.into_body();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    let reading = async {
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                seen = seen.saturating_add(data.len());
                if seen > drain_limit {
                    break;
                }
                if seen <= max {
                    kept.extend_from_slice(&data);
                }
            }
        }
        Ok::<(), hyper::Error>(())
    };
    match tokio::time::timeout(HEADER_TIMEOUT, reading).await {
        Ok(Ok(())) if seen > max => Err(too_large()),
        Ok(Ok(())) => Ok(Bytes::from(kept)),
        Ok(Err(err)) => Err(text_answer(
            StatusCode::BAD_REQUEST,
            format!("cannot read the request body: {err}"),
        )),
        Err(_) => Err(text_answer(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )),
    }
}
