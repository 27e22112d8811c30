//! A small OCI distribution client: manifests and blobs by GET, with docker-style auth.
//!
//! The HTTP and TLS work is reqwest's (rustls, with the system's roots). The distribution
//! protocol is ours, because every read must be bounded and hashed before anything else looks
//! at it: a body is refused from its `Content-Length` when that is over the cap, and never read
//! past the cap otherwise; a manifest's digest is always the hash of the bytes received; a blob
//! must be exactly its descriptor's size and hash to its digest.

use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use ocisig::evidence::plan::FetchError;
use ocisig::{Reference, Sha256Digest};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, HeaderValue, WWW_AUTHENTICATE};
use serde::Deserialize;

use crate::credentials::{Credential, Credentials};

/// The manifest media types we ask for: images and indexes, OCI and Docker.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";
/// The header a registry may put the content digest in; checked, never trusted.
const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
/// The largest token response read.
const MAX_TOKEN_RESPONSE_BYTES: u64 = 1024 * 1024;
/// The largest error body quoted in a message.
const MAX_ERROR_BODY_BYTES: u64 = 4096;
/// Docker Hub's API host; `index.docker.io` is its name in references.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Hosts (`host` or `host:port`) reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Extra PEM CA certificates to trust, besides the system's.
    pub ca_files: Vec<PathBuf>,
    /// How long one request may take, from connect to the last body byte.
    pub timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            ca_files: Vec::new(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A manifest as received, with the digest we computed from its bytes.
#[derive(Debug)]
pub struct FetchedManifest {
    /// The exact bytes the registry sent.
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`.
    pub digest: Sha256Digest,
}

/// A registry client shared by every image of one run: one connection pool, one token cache.
pub struct Registry {
    http: Client,
    insecure: BTreeSet<String>,
    credentials: Credentials,
    /// `Authorization` values by `host/repository`, learned from challenges.
    authorizations: Mutex<HashMap<String, HeaderValue>>,
    /// Registries (`host[:port]`) that answered 404 to the referrers API in this run: the
    /// distribution spec forbids a registry with the API to do so, so they have none, and are
    /// not asked again for [`REFERRERS_API_RECHECK`] (a long-running `ocisig serve` asks again
    /// after that, in case the registry was upgraded), with when they answered.
    without_referrers_api: Mutex<HashMap<String, Instant>>,
    /// Requests sent, for `ocisig serve`'s metrics and benchmark.
    requests: AtomicU64,
}

/// How long a registry that answered 404 to the referrers API is taken not to have it.
const REFERRERS_API_RECHECK: Duration = Duration::from_secs(600);

/// The OCI image index media type: what the referrers API answers with.
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

impl Registry {
    /// Builds the client.
    ///
    /// # Errors
    /// When a CA file cannot be read or holds no certificate, or the TLS setup fails.
    pub fn new(options: &RegistryOptions, credentials: Credentials) -> anyhow::Result<Self> {
        let mut builder = Client::builder()
            .user_agent(concat!("ocisig/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .https_only(false)
            .use_rustls_tls();
        for path in &options.ca_files {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read CA file {}", path.display()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("{} holds no PEM certificate", path.display()))?;
            if certificates.is_empty() {
                bail!("{} holds no PEM certificate", path.display());
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        Ok(Self {
            http: builder.build().context("cannot set up the HTTP client")?,
            insecure: options.insecure_registries.iter().cloned().collect(),
            credentials,
            without_referrers_api: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            authorizations: Mutex::new(HashMap::new()),
        })
    }

    /// How many HTTP requests this client has sent (token requests and retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Fetches a manifest by tag or digest; `Ok(None)` only when the registry says it does not
    /// exist (404). When `target` is a digest, the bytes must hash to it.
    ///
    /// # Errors
    /// Transport, auth and protocol errors, a body over `max_bytes`, or a digest mismatch.
    pub fn manifest(
        &self,
        image: &Reference,
        target: &str,
        max_bytes: u64,
    ) -> anyhow::Result<Option<FetchedManifest>> {
        let url = format!(
            "{}/v2/{}/manifests/{target}",
            self.base_url(image),
            image.repository()
        );
        let response = self.get(image, &url, Some(MANIFEST_ACCEPT))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = expect_success(response, &url)?;
        let claimed = response
            .headers()
            .get(DOCKER_CONTENT_DIGEST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let bytes = read_capped(response, max_bytes, &url, "manifest")?;
        let digest = Sha256Digest::of(&bytes);
        if target.starts_with("sha256:") && target != digest.to_string() {
            bail!("{url}: the manifest's bytes hash to {digest}, not the digest asked for");
        }
        if let Some(claimed) = claimed
            && claimed.starts_with("sha256:")
            && claimed != digest.to_string()
        {
            bail!(
                "{url}: the registry says the manifest is {claimed}, but its bytes hash to {digest}"
            );
        }
        Ok(Some(FetchedManifest { bytes, digest }))
    }

    /// Fetches a blob whose descriptor says it is `size` bytes, reading no further than
    /// `size + 1` bytes; `Ok(None)` when the registry says it does not exist (404). The bytes
    /// are not checked here: the verifier checks every blob against its descriptor
    /// ([`ocisig::evidence::plan::check_blob`]).
    ///
    /// # Errors
    /// Transport, auth and protocol errors.
    pub fn blob(
        &self,
        image: &Reference,
        digest: &Sha256Digest,
        size: u64,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let url = format!(
            "{}/v2/{}/blobs/{digest}",
            self.base_url(image),
            image.repository()
        );
        let response = self.get(image, &url, None)?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = expect_success(response, &url)?;
        crate::bounded::read_up_to(response, size.saturating_add(1))
            .map(Some)
            .map_err(|err| anyhow!("{url}: reading the blob failed: {}", deepest_cause(&err)))
    }

    /// Asks the referrers API for the manifests whose subject is `digest`. `Ok(None)` when the
    /// registry has no referrers API: a 404 (remembered for the run), or a success that is not
    /// an image index (a registry that serves something else on the path).
    ///
    /// # Errors
    /// Transport, auth and protocol errors, or a list over `max_bytes`.
    pub fn referrers(
        &self,
        image: &Reference,
        digest: &Sha256Digest,
        max_bytes: u64,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let host = image.registry().to_string();
        if self.without_referrers_api.lock().is_ok_and(|absent| {
            absent
                .get(&host)
                .is_some_and(|since| since.elapsed() < REFERRERS_API_RECHECK)
        }) {
            return Ok(None);
        }
        let url = format!(
            "{}/v2/{}/referrers/{digest}",
            self.base_url(image),
            image.repository()
        );
        let response = self.get(image, &url, Some(INDEX_MEDIA_TYPE))?;
        if response.status() == StatusCode::NOT_FOUND {
            if let Ok(mut absent) = self.without_referrers_api.lock() {
                absent.insert(host, Instant::now());
            }
            return Ok(None);
        }
        let response = expect_success(response, &url)?;
        let is_index = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.split(';').next().map(str::trim) == Some(INDEX_MEDIA_TYPE));
        if !is_index {
            return Ok(None);
        }
        read_capped(response, max_bytes, &url, "referrers list").map(Some)
    }

    fn base_url(&self, image: &Reference) -> String {
        let host = api_host(image.registry());
        let scheme = if self.insecure.contains(image.registry()) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    }

    /// GET with the cached authorization; on a 401 challenge, authorize once and retry.
    fn get(&self, image: &Reference, url: &str, accept: Option<&str>) -> anyhow::Result<Response> {
        let scope_key = image.repository_name();
        let cached = self.cached_authorization(&scope_key);
        let request = |authorization: Option<&HeaderValue>| -> RequestBuilder {
            let mut builder = self.http.get(url);
            if let Some(accept) = accept {
                builder = builder.header(ACCEPT, accept);
            }
            if let Some(value) = authorization {
                builder = builder.header(AUTHORIZATION, value.clone());
            }
            builder
        };
        let response = send(&self.requests, request(cached.as_ref()), url)?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .map(Challenge::parse)
            .transpose()?
            .ok_or_else(|| {
                anyhow!("{url}: 401 Unauthorized without a WWW-Authenticate challenge")
            })?;
        let authorization = self.authorize(image, &challenge)?;
        let retried = send(&self.requests, request(Some(&authorization)), url)?;
        if retried.status() == StatusCode::UNAUTHORIZED {
            bail!(
                "{url}: access denied (401) even with {}; check the credentials for {}",
                if matches!(challenge, Challenge::Bearer { .. }) {
                    "a bearer token"
                } else {
                    "basic auth"
                },
                image.registry()
            );
        }
        if let Ok(mut cache) = self.authorizations.lock() {
            cache.insert(scope_key, authorization);
        }
        Ok(retried)
    }

    fn cached_authorization(&self, scope_key: &str) -> Option<HeaderValue> {
        self.authorizations
            .lock()
            .ok()
            .and_then(|cache| cache.get(scope_key).cloned())
    }

    /// Answers a challenge: basic credentials as they are, or a token from the realm.
    fn authorize(&self, image: &Reference, challenge: &Challenge) -> anyhow::Result<HeaderValue> {
        let credential = self.credentials.for_registry(image.registry())?;
        match challenge {
            Challenge::Basic => match credential {
                Some(Credential::Basic { username, password }) => {
                    basic_header(&username, &password)
                }
                _ => bail!(
                    "{} asks for a user name and password; add them with `docker login {}`",
                    image.registry(),
                    image.registry()
                ),
            },
            Challenge::Bearer { realm, service } => {
                if let Some(Credential::RegistryToken(token)) = &credential {
                    return bearer_header(token);
                }
                let token = self.fetch_token(image, realm, service.as_deref(), credential)?;
                bearer_header(&token)
            }
        }
    }

    /// The token flow of the distribution spec, for pull access to one repository.
    fn fetch_token(
        &self,
        image: &Reference,
        realm: &str,
        service: Option<&str>,
        credential: Option<Credential>,
    ) -> anyhow::Result<String> {
        let realm_url = reqwest::Url::parse(realm)
            .with_context(|| format!("the token realm {realm:?} is not a URL"))?;
        if realm_url.scheme() != "https" && !self.insecure.contains(image.registry()) {
            bail!(
                "{} sends its token requests to {realm}, which is not HTTPS; name the registry \
                 with --insecure-registry if that is really intended",
                image.registry()
            );
        }
        let scope = format!("repository:{}:pull", image.repository());
        let mut query = vec![("scope", scope.as_str())];
        if let Some(service) = service {
            query.push(("service", service));
        }
        let mut request = self.http.get(realm_url.clone()).query(&query);
        match &credential {
            Some(Credential::Basic { username, password }) => {
                request = request.basic_auth(username, Some(password));
            }
            Some(Credential::IdentityToken(refresh_token)) => {
                // OAuth2: exchange the refresh token at the same realm.
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.as_str()),
                    ("client_id", "ocisig"),
                    ("scope", scope.as_str()),
                ];
                if let Some(service) = service {
                    form.push(("service", service));
                }
                request = self.http.post(realm_url).form(&form);
            }
            Some(Credential::RegistryToken(_)) | None => {}
        }
        let url = realm.to_string();
        let response = expect_success(send(&self.requests, request, &url)?, &url)?;
        let body = read_capped(response, MAX_TOKEN_RESPONSE_BYTES, &url, "token response")?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .with_context(|| format!("{url}: the token response is not JSON"))?;
        answer
            .token
            .or(answer.access_token)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| anyhow!("{url}: the token response holds no token"))
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// What a 401's `WWW-Authenticate` asks for.
#[derive(Debug, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Challenge {
    /// Parses `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`.
    fn parse(header: &str) -> anyhow::Result<Self> {
        let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Ok(Self::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            bail!("the registry asks for {scheme:?} authentication, which ocisig does not speak");
        }
        let params = parse_auth_params(params);
        let realm = params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("realm"))
            .map(|(_, value)| value.clone())
            .ok_or_else(|| anyhow!("the registry's bearer challenge has no realm"))?;
        let service = params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("service"))
            .map(|(_, value)| value.clone());
        Ok(Self::Bearer { realm, service })
    }
}

/// `a="x, y",b=z` → `[(a, "x, y"), (b, z)]`, honouring quotes and backslash escapes.
fn parse_auth_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            return params;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    other => value.push(other),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.push((name.trim().to_string(), value.trim().to_string()));
    }
}

fn api_host(registry: &str) -> &str {
    if registry == ocisig::DOCKER_HUB_REGISTRY {
        DOCKER_HUB_API
    } else {
        registry
    }
}

fn basic_header(username: &str, password: &str) -> anyhow::Result<HeaderValue> {
    use base64::Engine as _;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    sensitive_header(&format!("Basic {encoded}"))
}

fn bearer_header(token: &str) -> anyhow::Result<HeaderValue> {
    sensitive_header(&format!("Bearer {token}"))
}

fn sensitive_header(value: &str) -> anyhow::Result<HeaderValue> {
    let mut header =
        HeaderValue::from_str(value).context("the credential holds characters a header cannot")?;
    header.set_sensitive(true);
    Ok(header)
}

fn send(counter: &AtomicU64, request: RequestBuilder, url: &str) -> anyhow::Result<Response> {
    counter.fetch_add(1, Ordering::Relaxed);
    request
        .send()
        .map_err(|err| describe_transport_error(&err, url))
}

fn describe_transport_error(err: &reqwest::Error, url: &str) -> anyhow::Error {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // The source chain names the cause (refused, DNS, certificate…).
    let cause = std::error::Error::source(err)
        .map(deepest_cause)
        .unwrap_or_default();
    // rustls's words for "the server answered in plain text".
    let hint = if url.starts_with("https:")
        && (cause.contains("InvalidContentType") || cause.contains("corrupt message"))
    {
        " (the registry seems to speak plain HTTP; name it with --insecure-registry if you trust the network)"
    } else {
        ""
    };
    if cause.is_empty() {
        anyhow!("{url}: {what}{hint}")
    } else {
        anyhow!("{url}: {what}: {cause}{hint}")
    }
}

/// The innermost error's message: "connection refused", not "error sending request".
fn deepest_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = err;
    while let Some(inner) = deepest.source() {
        deepest = inner;
    }
    deepest.to_string()
}

/// Passes 2xx responses through; anything else becomes an error quoting the registry.
fn expect_success(response: Response, url: &str) -> anyhow::Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let mut body = String::new();
    let _ = response
        .take(MAX_ERROR_BODY_BYTES)
        .read_to_string(&mut body);
    let detail = body.trim();
    if detail.is_empty() {
        bail!("{url}: the registry answered {status}")
    }
    bail!("{url}: the registry answered {status}: {detail}")
}

/// Reads a body of at most `limit` bytes: refused up front by `Content-Length`, and never read
/// past the limit otherwise.
fn read_capped(response: Response, limit: u64, url: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if let Some(declared) = declared
        && declared > limit
    {
        bail!("{url}: the {what} is {declared} bytes; the limit is {limit}");
    }
    crate::bounded::read_within(response, limit)
        .map_err(|err| anyhow!("{url}: reading the {what} failed: {}", deepest_cause(&err)))?
        .ok_or_else(|| anyhow!("{url}: the {what} is larger than the limit of {limit} bytes"))
}

/// One repository of a registry, as the core's fetch plan sees it.
pub struct RepositorySource<'a> {
    /// The client.
    pub registry: &'a Registry,
    /// The image whose repository is read.
    pub image: &'a Reference,
}

impl ocisig::evidence::plan::Source for RepositorySource<'_> {
    fn manifest(&self, reference: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        match self.registry.manifest(self.image, reference, max_bytes) {
            Ok(Some(manifest)) => Ok(manifest.bytes),
            Ok(None) => Err(FetchError::NotFound {
                what: reference.to_string(),
            }),
            Err(err) => Err(FetchError::Transport {
                what: reference.to_string(),
                detail: format!("{err:#}"),
            }),
        }
    }

    fn blob(&self, digest: &Sha256Digest, size: u64) -> Result<Vec<u8>, FetchError> {
        match self.registry.blob(self.image, digest, size) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(FetchError::NotFound {
                what: digest.to_string(),
            }),
            Err(err) => Err(FetchError::Transport {
                what: digest.to_string(),
                detail: format!("{err:#}"),
            }),
        }
    }

    fn referrers(&self, digest: &Sha256Digest, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        let what = || format!("the referrers of {digest}");
        match self.registry.referrers(self.image, digest, max_bytes) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(FetchError::Unsupported { what: what() }),
            Err(err) => Err(FetchError::Transport {
                what: what(),
                detail: format!("{err:#}"),
            }),
        }
    }

    /// The plan's two halves at once: the `.sig` side on this thread, the referrers on another,
    /// over the one connection pool.
    fn join(&self, first: &mut (dyn FnMut() + Send), second: &mut (dyn FnMut() + Send)) {
        std::thread::scope(|scope| {
            scope.spawn(second);
            first();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#
            )
            .unwrap(),
            Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into())
            }
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic
        );
        assert!(Challenge::parse("Negotiate abc").is_err());
        assert!(Challenge::parse(r#"Bearer service="x""#).is_err());
    }

    #[test]
    fn parses_quoted_params_with_commas() {
        assert_eq!(
            parse_auth_params(r#"realm="a,b", service=c"#),
            vec![
                ("realm".into(), "a,b".into()),
                ("service".into(), "c".into())
            ]
        );
    }

    #[test]
    fn docker_hub_uses_its_api_host() {
        assert_eq!(api_host("index.docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
