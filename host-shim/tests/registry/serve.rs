//! `ocisig serve` over real HTTPS (certificates made here by openssl), against the real
//! docker-registry and cosign's signatures, through the counting proxy where requests matter.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::env::{self, Key, cosign_verifies};
use crate::proxy::{self, Fault};

/// A test CA and the server certificate it issued, in one folder.
struct Tls {
    dir: PathBuf,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(args: &[&str]) {
    let output = Command::new("openssl").args(args).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

/// `openssl req -newkey ec` (P-256, no passphrase) writing `key`, with `extra` arguments.
fn new_key_and(key: &Path, extra: &[&str]) {
    let mut args = vec![
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    openssl(&args);
}

impl Tls {
    fn new(name: &str) -> Self {
        let dir = env::tempdir(&format!("tls-{name}"));
        let ca = dir.join("ca.crt");
        let ca_key = dir.join("ca.key");
        let subject = "/CN=ocisig test CA";
        new_key_and(
            &ca_key,
            &[
                "-x509",
                "-days",
                "2",
                "-subj",
                subject,
                "-out",
                ca.to_str().unwrap(),
            ],
        );
        let tls = Self {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
            dir,
            ca,
        };
        let (cert, key) = tls.issue("server", "localhost");
        std::fs::copy(cert, &tls.cert).unwrap();
        std::fs::copy(key, &tls.key).unwrap();
        tls
    }

    /// A certificate for `name` (server and client use) issued by the CA: (cert, key).
    fn issue(&self, file: &str, name: &str) -> (PathBuf, PathBuf) {
        let path = |extension: &str| self.dir.join(format!("{file}.{extension}"));
        let (key, csr, cert, ext) = (path("key"), path("csr"), path("crt"), path("ext"));
        std::fs::write(
            &ext,
            format!(
                "subjectAltName=DNS:{name},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
            ),
        )
        .unwrap();
        let subject = format!("/CN={name}");
        new_key_and(&key, &["-subj", &subject, "-out", csr.to_str().unwrap()]);
        let ca_key = self.dir.join("ca.key");
        let words = [
            "x509",
            "-req",
            "-days",
            "2",
            "-CAcreateserial",
            "-in",
            csr.to_str().unwrap(),
            "-CA",
            self.ca.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
            "-extfile",
            ext.to_str().unwrap(),
        ];
        openssl(&words);
        (cert, key)
    }

    fn client(&self, identity: Option<(&Path, &Path)>) -> reqwest::blocking::Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&self.ca).unwrap()).unwrap();
        let mut builder = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(ca)
            .timeout(Duration::from_secs(60));
        if let Some((cert, key)) = identity {
            let mut pem = std::fs::read(cert).unwrap();
            pem.extend(std::fs::read(key).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        builder.build().unwrap()
    }
}

/// A running `ocisig serve`; killed when dropped.
struct Server {
    child: Child,
    base: String,
    client: reqwest::blocking::Client,
    log: PathBuf,
}

impl Server {
    /// Starts the server with `args` besides the address and TLS files, and waits until it
    /// answers.
    fn start(tls: &Tls, args: &[&str]) -> Self {
        Self::start_as(tls, args, None)
    }

    /// [`Server::start`], the client presenting `identity` (certificate, key) for mTLS.
    fn start_as(tls: &Tls, args: &[&str], identity: Option<(&Path, &Path)>) -> Self {
        let port = env::free_port();
        let log = tls.dir.join(format!("serve-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_ocisig"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--tls-cert",
            ])
            .arg(&tls.cert)
            .arg("--tls-key")
            .arg(&tls.key)
            .args(["--reload-interval", "100ms"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            base: format!("https://localhost:{port}"),
            client: tls.client(identity),
            log,
        };
        server.wait_until_up();
        server
    }

    fn wait_until_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = self.client.get(format!("{}/healthz", self.base)).send()
                && response.status() == 200
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ocisig serve exited with {status}: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "ocisig serve did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// POSTs `body`; the status and the body (JSON, or a string for text).
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        post_with(
            &self.client,
            &self.base,
            path,
            body.to_string().into_bytes(),
        )
    }

    /// The verdict of the validating webhook for a pod of `images`.
    fn verify_pod(&self, images: &[&str]) -> Value {
        let (status, review) = self.post(
            "/lakom/verify-cosign-signature",
            &review("Pod", pod(images)),
        );
        assert_eq!(status, 200, "{review}");
        assert_eq!(review["response"]["uid"], "uid-1", "{review}");
        review["response"].clone()
    }

    fn metric(&self, line_prefix: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(line_prefix)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {line_prefix:?} in\n{text}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn post_with(
    client: &reqwest::blocking::Client,
    base: &str,
    path: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let response = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    // Every answer of the contract matches its schema in docs/schema/.
    let schema = match path {
        "/gatekeeper/verify" | "/gatekeeper/mutate" if value.is_object() => {
            Some(schema("serve-gatekeeper-response"))
        }
        "/v1/verify" if status == 200 => Some(schema("serve-verify-response")),
        "/lakom/resolve-tag-to-digest" | "/lakom/verify-cosign-signature" if status == 200 => {
            Some(schema("serve-admission-review"))
        }
        _ => None,
    };
    if let Some(validator) = schema {
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{value} does not match its schema: {errors:#?}"
        );
    }
    (status, value)
}

/// A schema of docs/schema/, compiled once.
fn schema(name: &'static str) -> &'static jsonschema::Validator {
    static SCHEMAS: std::sync::OnceLock<
        std::sync::Mutex<Vec<(&str, &'static jsonschema::Validator)>>,
    > = std::sync::OnceLock::new();
    let mut schemas = SCHEMAS.get_or_init(Default::default).lock().unwrap();
    if let Some((_, validator)) = schemas.iter().find(|(n, _)| *n == name) {
        return validator;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/schema")
        .join(format!("{name}.schema.json"));
    let document: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let validator: &'static jsonschema::Validator =
        Box::leak(Box::new(jsonschema::validator_for(&document).unwrap()));
    schemas.push((name, validator));
    validator
}

fn review(kind: &str, object: Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "uid-1", "kind": {"group": "", "version": "v1", "kind": kind},
        "operation": "CREATE", "namespace": "default", "object": object}})
}

fn pod(images: &[&str]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": containers}})
}

fn policy_file(dir: &Path, keys: &[(&str, &Key)]) -> PathBuf {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(name, key)| {
            json!({"name": name, "publicKey": std::fs::read_to_string(&key.public).unwrap()})
        })
        .collect();
    let path = dir.join("policy.json");
    write_atomically(&path, json!({"keys": keys}).to_string().as_bytes());
    path
}

/// A server whose policy file trusts `keys`, reaching `registry` over plain HTTP, with
/// `extra` flags: its TLS folder, policy file and the server.
fn serving(
    name: &str,
    keys: &[(&str, &Key)],
    registry: &str,
    extra: &[&str],
) -> (Tls, PathBuf, Server) {
    let tls = Tls::new(name);
    let policy = policy_file(&tls.dir, keys);
    let mut args = vec![
        "--policy",
        policy.to_str().unwrap(),
        "--insecure-registry",
        registry,
    ];
    args.extend_from_slice(extra);
    let server = Server::start(&tls, &args);
    (tls, policy, server)
}

/// Replaces a file whole, as Kubernetes swaps a mounted secret or config map.
fn write_atomically(path: &Path, bytes: &[u8]) {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// Waits until `condition` holds (a reload was seen), for at most 10 s.
fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The JSONPatch of an AdmissionReview response, decoded.
fn patch(response: &Value) -> Value {
    let encoded = response["patch"].as_str().unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Signed, unsigned and wrongly signed images, in repositories of their own.
struct Images {
    signed_tag: String,
    signed: String,
    unsigned: String,
    wrong_key: String,
    digest: String,
}

fn images(registry: &env::Registry, host: &str, prefix: &str, key: &Key, other: &Key) -> Images {
    let signed_digest = registry.push(&format!("{prefix} signed"), &format!("{prefix}-signed:v1"));
    key.sign(
        &format!(
            "{}@{signed_digest}",
            registry.image(&format!("{prefix}-signed"))
        ),
        &[],
    );
    let unsigned_digest = registry.push(
        &format!("{prefix} unsigned"),
        &format!("{prefix}-unsigned:v1"),
    );
    let wrong_digest = registry.push(&format!("{prefix} wrong"), &format!("{prefix}-wrong:v1"));
    other.sign(
        &format!(
            "{}@{wrong_digest}",
            registry.image(&format!("{prefix}-wrong"))
        ),
        &[],
    );
    Images {
        signed_tag: format!("{host}/{prefix}-signed:v1"),
        signed: format!("{host}/{prefix}-signed:v1@{signed_digest}"),
        unsigned: format!("{host}/{prefix}-unsigned@{unsigned_digest}"),
        wrong_key: format!("{host}/{prefix}-wrong@{wrong_digest}"),
        digest: signed_digest,
    }
}

#[test]
fn lakom_webhooks_pin_admit_and_deny_like_cosign() {
    let Some(registry) = env::registry() else {
        return;
    };
    let key = Key::new("serve");
    let other = Key::new("serve-other");
    let (proxy, counts) = proxy::start_with_counts(&registry.host, Fault::CountOnly);
    let found = images(registry, &proxy, "serve", &key, &other);
    let (tls, policy, server) = serving("webhooks", &[("team", &key)], &proxy, &[]);

    // The mutating webhook pins the tag, keeping it; a digest reference is left alone.
    let (status, answer) = server.post(
        "/lakom/resolve-tag-to-digest",
        &review("Pod", pod(&[&found.signed_tag, &found.unsigned])),
    );
    assert_eq!(status, 200);
    let response = &answer["response"];
    assert_eq!(response["allowed"], true, "{answer}");
    assert_eq!(response["patchType"], "JSONPatch");
    assert_eq!(
        patch(response),
        json!([{"op": "replace", "path": "/spec/containers/0/image",
            "value": format!("{}@{}", found.signed_tag, found.digest)}])
    );

    // The validating webhook admits the signed image, and denies the others as cosign does.
    assert_eq!(server.verify_pod(&[&found.signed])["allowed"], true);
    let signed_at = found.signed.replace(":v1@", "@");
    assert!(cosign_verifies(
        &signed_at.replace(&proxy, &registry.host),
        &key.public,
        &[]
    ));
    for (image, code) in [
        (&found.unsigned, "no_signatures"),
        (&found.wrong_key, "no_matching_signature"),
    ] {
        let response = server.verify_pod(&[&found.signed, image]);
        assert_eq!(response["allowed"], false, "{response}");
        assert_eq!(response["status"]["code"], 403);
        let message = response["status"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("ocisig rejected 1 image: ")
                && message.contains(&format!("{image}: {code}: ")),
            "{message}"
        );
        assert!(!cosign_verifies(
            &image.replace(&proxy, &registry.host),
            &key.public,
            &[]
        ));
    }
    // An image signed as cosign v3 signs (a Sigstore bundle attached as a referrer).
    let bundle_digest = registry.push("serve bundle", "serve-bundle:v1");
    let bundle_image = format!("{}/serve-bundle@{bundle_digest}", registry.host);
    key.attest(&bundle_image, env::SIGN_V1, true);
    assert!(env::cosign_verifies_bundle(
        &bundle_image,
        &key.public,
        env::SIGN_V1
    ));
    let response = server.verify_pod(&[&format!("{proxy}/serve-bundle@{bundle_digest}")]);
    assert_eq!(response["allowed"], true, "{response}");

    // A tag that the mutating webhook did not pin is not judged.
    let response = server.verify_pod(&[&found.signed_tag]);
    assert_eq!(response["allowed"], false);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("unpinned_image")
    );

    // Workload kinds are read where their pod template is; other kinds are admitted.
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template":
        {"spec": {"initContainers": [{"name": "i", "image": found.unsigned}],
                  "containers": [{"name": "a", "image": found.signed}]}}}});
    let (_, answer) = server.post(
        "/lakom/verify-cosign-signature",
        &review("Deployment", deployment),
    );
    assert_eq!(answer["response"]["allowed"], false, "{answer}");
    let (_, answer) = server.post(
        "/lakom/verify-cosign-signature",
        &review("ConfigMap", json!({"data": {"image": found.unsigned}})),
    );
    assert_eq!(answer["response"]["allowed"], true);

    // Cached: the second check of the signed image asks the registry nothing.
    let before = counts.all.load(Ordering::SeqCst);
    assert_eq!(server.verify_pod(&[&found.signed])["allowed"], true);
    assert_eq!(
        counts.all.load(Ordering::SeqCst),
        before,
        "a cached verdict"
    );
    assert!(
        server
            .metric("lakom_admission_controller_image_signature_check_cache_total{status=\"hit\"}")
            >= 1.0
    );

    // A policy change misses the cache, and the new policy applies.
    let hits = server
        .metric("lakom_admission_controller_image_signature_check_cache_total{status=\"hit\"}");
    policy_file(&tls.dir, &[("team", &key), ("other", &other)]);
    eventually("the policy reload", || {
        server.metric("ocisig_serve_reloads_total{result=\"ok\"}") >= 1.0
    });
    assert_eq!(server.verify_pod(&[&found.signed])["allowed"], true);
    assert!(
        counts.all.load(Ordering::SeqCst) > before,
        "the new policy verified anew"
    );
    assert_eq!(
        server.verify_pod(&[&found.wrong_key])["allowed"],
        true,
        "other is trusted now"
    );
    assert_eq!(
        server
            .metric("lakom_admission_controller_image_signature_check_cache_total{status=\"hit\"}"),
        hits,
        "no verdict of the old policy was reused"
    );

    // A broken policy file keeps the old policy.
    std::fs::write(&policy, b"{\"keys\": [").unwrap();
    eventually("the refused reload", || {
        server.metric("ocisig_serve_reloads_total{result=\"error\"}") >= 1.0
    });
    assert_eq!(server.verify_pod(&[&found.wrong_key])["allowed"], true);
    assert!(
        server.log().contains("cannot be used, keeping the old one"),
        "{}",
        server.log()
    );
}

#[test]
fn singleflight_fetches_an_image_once_for_fifty_requests() {
    let Some(registry) = env::registry() else {
        return;
    };
    let key = Key::new("flight");
    let (proxy, counts) = proxy::start_with_counts(&registry.host, Fault::CountOnly);
    let first = registry.push("flight one", "flight-one:v1");
    let second = registry.push("flight two", "flight-two:v1");
    for (repo, digest) in [("flight-one", &first), ("flight-two", &second)] {
        key.sign(&format!("{}@{digest}", registry.image(repo)), &[]);
    }
    let (_, _, server) = serving("flight", &[("team", &key)], &proxy, &[]);
    // What one verification costs, once the referrers API's absence is learned (once per
    // registry): the first image teaches it, the third is measured.
    assert_eq!(
        server.verify_pod(&[&format!("{proxy}/flight-one@{first}")])["allowed"],
        true
    );
    let third = registry.push("flight three", "flight-three:v1");
    key.sign(&format!("{}@{third}", registry.image("flight-three")), &[]);
    let start = counts.all.load(Ordering::SeqCst);
    assert_eq!(
        server.verify_pod(&[&format!("{proxy}/flight-three@{third}")])["allowed"],
        true
    );
    let one = counts.all.load(Ordering::SeqCst) - start;
    assert!(
        one >= 2,
        "a verification asks the registry something ({one})"
    );
    let before_burst = counts.all.load(Ordering::SeqCst);
    let image = format!("{proxy}/flight-two@{second}");
    let body = review("Pod", pod(&[&image])).to_string();
    std::thread::scope(|scope| {
        let answers: Vec<_> = (0..50)
            .map(|_| {
                let body = body.clone().into_bytes();
                let server = &server;
                scope.spawn(move || {
                    post_with(
                        &server.client,
                        &server.base,
                        "/lakom/verify-cosign-signature",
                        body,
                    )
                })
            })
            .collect();
        for answer in answers {
            let (status, review) = answer.join().unwrap();
            assert_eq!(status, 200);
            assert_eq!(review["response"]["allowed"], true, "{review}");
        }
    });
    assert_eq!(
        counts.all.load(Ordering::SeqCst) - before_burst,
        one,
        "50 concurrent requests cost one verification's requests"
    );
}

/// A "registry" that accepts connections and never answers.
fn stalled_registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    address
}

#[test]
fn a_stalled_or_absent_registry_is_a_timely_denial_never_cached() {
    let Some(_) = env::registry() else {
        return;
    };
    let key = Key::new("faults");
    let stalled = stalled_registry();
    let down = format!("127.0.0.1:{}", env::free_port());
    let digest = format!("sha256:{}", "ab".repeat(32));
    let (tls, policy, server) = serving(
        "faults",
        &[("team", &key)],
        &stalled,
        &[
            "--insecure-registry",
            &down,
            "--timeout",
            "2s",
            "--gatekeeper-timeout",
            "1s",
        ],
    );
    let stalled_image = format!("{stalled}/app@{digest}");
    for _ in 0..2 {
        let started = Instant::now();
        let response = server.verify_pod(&[&stalled_image]);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "answered after {took:?}");
        assert!(
            took >= Duration::from_secs(2),
            "answered before the deadline: {took:?}"
        );
        assert_eq!(response["allowed"], false);
        let message = response["status"]["message"].as_str().unwrap();
        assert!(
            message.contains(": timed_out: not verified: timed out"),
            "{message}"
        );
        assert!(!message.contains("no_signatures"));
    }
    assert_eq!(
        server
            .metric("lakom_admission_controller_image_signature_check_cache_total{status=\"hit\"}"),
        0.0,
        "a timeout is never cached"
    );
    assert!(server.metric("lakom_admission_controller_image_signature_check_errors_total") >= 2.0);

    // Gatekeeper's own, shorter deadline.
    let started = Instant::now();
    let (status, answer) = server.post(
        "/gatekeeper/verify",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
                "request": {"keys": [stalled_image]}}),
    );
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        answer["response"]["items"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("timed_out: ")
    );

    let response = server.verify_pod(&[&format!("{down}/app@{digest}")]);
    assert_eq!(response["allowed"], false);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains(": fetch_failed: ")
    );
    drop(server);

    // Warn mode admits, and says why.
    let server = Server::start(
        &tls,
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--insecure-registry",
            &down,
            "--warn-only",
        ],
    );
    let response = server.verify_pod(&[&format!("{down}/app@{digest}")]);
    assert_eq!(response["allowed"], true, "{response}");
    let warning = response["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with(&format!(
            "ocisig: {down}/app@{digest} not verified: fetch_failed: "
        )),
        "{warning}"
    );
}

#[test]
fn gatekeeper_provider_answers_each_key() {
    let Some(registry) = env::registry() else {
        return;
    };
    let key = Key::new("gatekeeper");
    let other = Key::new("gatekeeper-other");
    let found = images(registry, &registry.host, "gk", &key, &other);
    let (_, _, server) = serving("gatekeeper", &[("team", &key)], &registry.host, &[]);
    let (status, answer) = server.post(
        "/gatekeeper/verify",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
                "request": {"keys": [found.signed_tag, found.unsigned, "Not A Reference!"]}}),
    );
    assert_eq!(status, 200);
    assert_eq!(answer["apiVersion"], "externaldata.gatekeeper.sh/v1beta1");
    assert_eq!(answer["kind"], "ProviderResponse");
    let items = &answer["response"]["items"];
    assert_eq!(answer["response"]["idempotent"], true);
    assert_eq!(
        items[0],
        json!({"key": found.signed_tag, "value": found.digest})
    );
    assert_eq!(items[1]["key"], found.unsigned.as_str());
    assert!(
        items[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("no_signatures: "),
        "{items}"
    );
    assert!(
        items[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid_reference: "),
        "{items}"
    );
    assert!(answer["response"].get("systemError").is_none());

    // Not a ProviderRequest: a systemError, with 400.
    let (status, answer) = server.post("/gatekeeper/verify", &json!({"kind": "Something"}));
    assert_eq!(status, 400);
    assert!(
        answer["response"]["systemError"]
            .as_str()
            .unwrap()
            .contains("apiVersion")
    );
}

#[test]
fn lakom_config_is_read_unchanged_with_its_algorithms() {
    let Some(registry) = env::registry() else {
        return;
    };
    let ecdsa = Key::new("lakom-ec");
    let rsa = Key::of_type(
        "lakom-rsa",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    let ec_digest = registry.push("lakom ec", "lakom-ec:v1");
    ecdsa.sign(&format!("{}@{ec_digest}", registry.image("lakom-ec")), &[]);
    let rsa_digest = registry.push("lakom rsa", "lakom-rsa:v1");
    rsa.sign(
        &format!("{}@{rsa_digest}", registry.image("lakom-rsa")),
        &[],
    );
    let ec_image = format!("{}/lakom-ec@{ec_digest}", registry.host);
    let rsa_image = format!("{}/lakom-rsa@{rsa_digest}", registry.host);
    assert!(cosign_verifies(&rsa_image, &rsa.public, &[]));

    let tls = Tls::new("lakom");
    let config = tls.dir.join("lakom.yaml");
    let lakom = |algorithm: &str| {
        let indent = |path: &Path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|line| format!("    {line}\n"))
                .collect::<String>()
        };
        format!(
            "publicKeys:\n- name: ec\n  key: |\n{}- name: rsa\n  algorithm: {algorithm}\n  key: |\n{}",
            indent(&ecdsa.public),
            indent(&rsa.public)
        )
    };
    write_atomically(&config, lakom("RSASSA-PKCS1-v1_5-SHA256").as_bytes());
    let server = Server::start(
        &tls,
        &[
            "--lakom-config",
            config.to_str().unwrap(),
            "--insecure-registry",
            &registry.host,
        ],
    );
    // cosign signs RSA with PKCS#1 v1.5 over SHA-256: that algorithm verifies, any one key
    // suffices, and every other algorithm of Lakom's denies the RSA signature.
    assert_eq!(server.verify_pod(&[&ec_image, &rsa_image])["allowed"], true);
    let mut reloads = 0.0;
    for algorithm in [
        "RSASSA-PKCS1-v1_5-SHA384",
        "RSASSA-PKCS1-v1_5-SHA512",
        "RSASSA-PSS-SHA256",
        "RSASSA-PSS-SHA384",
        "RSASSA-PSS-SHA512",
    ] {
        write_atomically(&config, lakom(algorithm).as_bytes());
        reloads += 1.0;
        eventually("the reload", || {
            server.metric("ocisig_serve_reloads_total{result=\"ok\"}") >= reloads
        });
        let response = server.verify_pod(&[&rsa_image]);
        assert_eq!(response["allowed"], false, "{algorithm}: {response}");
        // The configuration is a one-rule set: its denials name the rule.
        let message = response["status"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("rule \"lakom\""), "{response}");
        assert_eq!(
            server.verify_pod(&[&ec_image])["allowed"],
            true,
            "{algorithm}"
        );
    }
    write_atomically(&config, lakom("RSASSA-PSS-SHA1").as_bytes());
    eventually("the refused reload", || {
        server.metric("ocisig_serve_reloads_total{result=\"error\"}") >= 1.0
    });
}

#[test]
fn bad_requests_get_clear_4xx_answers() {
    let Some(_) = env::registry() else {
        return;
    };
    let key = Key::new("bad-requests");
    let tls = Tls::new("bad");
    let policy = policy_file(&tls.dir, &[("team", &key)]);
    let server = Server::start(
        &tls,
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--max-body-bytes",
            "65536",
        ],
    );
    let post_raw = |path: &str, body: Vec<u8>| post_with(&server.client, &server.base, path, body);
    let (status, text) = post_raw("/lakom/verify-cosign-signature", b"{not json".to_vec());
    assert_eq!(status, 400);
    assert!(
        text.as_str().unwrap().contains("not an AdmissionReview"),
        "{text}"
    );
    let (status, _) = post_raw(
        "/lakom/verify-cosign-signature",
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 400);
    let (status, text) = post_raw("/lakom/verify-cosign-signature", vec![b' '; 70_000]);
    assert_eq!(status, 413, "{text}");
    let (status, _) = post_raw("/nowhere", b"{}".to_vec());
    assert_eq!(status, 404);
    let get = server
        .client
        .get(format!("{}/lakom/verify-cosign-signature", server.base))
        .send()
        .unwrap();
    assert_eq!(get.status(), 405);
    // A pod whose container has no image: a typed denial, not a crash.
    let (status, answer) = server.post(
        "/lakom/verify-cosign-signature",
        &review("Pod", json!({"spec": {"containers": [{"name": "a"}]}})),
    );
    assert_eq!(status, 200);
    assert_eq!(answer["response"]["allowed"], false);
    // A deletion carries no object: nothing to check.
    let (_, answer) = server.post(
        "/lakom/verify-cosign-signature",
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "uid-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "operation": "DELETE", "object": null}}),
    );
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    // Still up.
    let ready = server
        .client
        .get(format!("{}/readyz", server.base))
        .send()
        .unwrap();
    assert_eq!(ready.status(), 200);

    // TLS 1.3 (what Gatekeeper insists on) and HTTP/2 (what the API server speaks when offered).
    let address = server.base.trim_start_matches("https://localhost");
    let tls13 = Command::new("openssl")
        .args(["s_client", "-tls1_3", "-connect"])
        .arg(format!("127.0.0.1{address}"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&tls13.stdout).contains("TLSv1.3"),
        "{tls13:?}"
    );
    let http2 = Command::new("curl")
        .args([
            "-sS",
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            "--cacert",
        ])
        .arg(&tls.ca)
        .arg(format!("{}/healthz", server.base))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&http2.stdout), "2", "{http2:?}");
}

#[test]
fn certificate_reload_and_mtls_lose_no_request_and_sigterm_drains() {
    let Some(registry) = env::registry() else {
        return;
    };
    let key = Key::new("reload");
    let digest = registry.push("reload", "reload:v1");
    key.sign(&format!("{}@{digest}", registry.image("reload")), &[]);
    let image = format!("{}/reload@{digest}", registry.host);
    let tls = Tls::new("reload");
    let policy = policy_file(&tls.dir, &[("team", &key)]);
    let (client_cert, client_key) = tls.issue("client", "gatekeeper");
    let stalled = stalled_registry();
    let mut server = Server::start_as(
        &tls,
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--insecure-registry",
            &registry.host,
            "--insecure-registry",
            &stalled,
            "--timeout",
            "3s",
            "--client-ca",
            tls.ca.to_str().unwrap(),
        ],
        Some((&client_cert, &client_key)),
    );
    // mTLS: without a client certificate, no answer at all.
    assert!(
        tls.client(None)
            .get(format!("{}/healthz", server.base))
            .send()
            .is_err(),
        "a client without a certificate is refused"
    );

    // Requests keep flowing while the certificate and the policy are replaced.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let stop = Arc::clone(&stop);
            let failures = Arc::clone(&failures);
            let served = Arc::clone(&served);
            let server = &server;
            let body = review("Pod", pod(&[&image])).to_string();
            let client = tls.client(Some((&client_cert, &client_key)));
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let (status, review) = post_with(
                        &client,
                        &server.base,
                        "/lakom/verify-cosign-signature",
                        body.clone().into_bytes(),
                    );
                    if status != 200 || review["response"]["allowed"] != true {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                    served.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        for round in 0..3 {
            let (cert, key_file) = tls.issue(&format!("rotated{round}"), "localhost");
            write_atomically(&tls.key, &std::fs::read(key_file).unwrap());
            write_atomically(&tls.cert, &std::fs::read(cert).unwrap());
            policy_file(
                &tls.dir,
                &[("team", &key), (&format!("spare{round}"), &key)],
            );
            std::thread::sleep(Duration::from_millis(400));
        }
        stop.store(true, Ordering::SeqCst);
    });
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "of {}",
        served.load(Ordering::SeqCst)
    );
    assert!(served.load(Ordering::SeqCst) > 10);
    assert!(
        server.log().contains("TLS certificate reloaded"),
        "{}",
        server.log()
    );

    // SIGTERM while a request is in flight (its registry stalls): that request still gets
    // its answer, and the process ends cleanly.
    let slow = review("Pod", pod(&[&format!("{stalled}/app@{digest}")])).to_string();
    let in_flight = std::thread::spawn({
        let client = tls.client(Some((&client_cert, &client_key)));
        let base = server.base.clone();
        move || {
            post_with(
                &client,
                &base,
                "/lakom/verify-cosign-signature",
                slow.into_bytes(),
            )
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let (status, answer) = in_flight.join().unwrap();
    assert_eq!(status, 200, "{answer}");
    let message = answer["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("timed_out"), "{message}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "ocisig serve did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}: {}", server.log());
    let mut log = String::new();
    std::fs::File::open(&server.log)
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("shutting down"), "{log}");
}

/// A policy set (issue #30) served: the verify webhook and the Gatekeeper provider decide each
/// image by the rules that match it, a warn rule admits with a warning naming it, an image no
/// rule matches is denied, and a reload that changes one rule misses only the cache entries of
/// the images that rule matches.
#[test]
fn a_policy_set_is_served_and_a_changed_rule_misses_only_its_images() {
    let Some(registry) = env::registry() else {
        return;
    };
    let alice = Key::new("serve-set-alice");
    let bob = Key::new("serve-set-bob");
    let mallory = Key::new("serve-set-mallory");
    let (proxy, counts) = proxy::start_with_counts(&registry.host, Fault::CountOnly);
    let team = registry.push("serve set team", "serve-set-team:v1");
    alice.sign(&format!("{}@{team}", registry.image("serve-set-team")), &[]);
    let vendor = registry.push("serve set vendor", "serve-set-vendor:v1");
    bob.attest(
        &format!("{}@{vendor}", registry.image("serve-set-vendor")),
        env::SIGN_V1,
        true,
    );
    let mirror = registry.push("serve set mirror", "serve-set-mirror:v1");
    let stranger = registry.push("serve set stranger", "serve-set-stranger:v1");
    let [team, vendor, mirror, stranger] = [
        format!("{proxy}/serve-set-team@{team}"),
        format!("{proxy}/serve-set-vendor@{vendor}"),
        format!("{proxy}/serve-set-mirror@{mirror}"),
        format!("{proxy}/serve-set-stranger@{stranger}"),
    ];
    let pem = |key: &Key| std::fs::read_to_string(&key.public).unwrap();
    let set = |vendor_keys: Value| {
        json!({"rules": [
            {"name": "team", "images": [format!("{proxy}/serve-set-team*")],
             "policy": {"keys": [{"name": "alice", "publicKey": pem(&alice)}]}},
            {"name": "audit", "images": [format!("{proxy}/serve-set-team*")], "mode": "warn",
             "policy": {"keys": [{"name": "mallory", "publicKey": pem(&mallory)}]}},
            {"name": "vendor", "images": [format!("{proxy}/serve-set-vendor*")],
             "policy": {"keys": vendor_keys, "formats": ["bundle"]}},
            {"name": "mirror", "images": [format!("{proxy}/serve-set-mirror*")], "static": "pass"}
        ]})
    };
    let tls = Tls::new("serve-set");
    let path = tls.dir.join("set.json");
    let bob_only = json!([{"name": "bob", "publicKey": pem(&bob)}]);
    write_atomically(&path, set(bob_only.clone()).to_string().as_bytes());
    let server = Server::start(
        &tls,
        &[
            "--policy",
            path.to_str().unwrap(),
            "--insecure-registry",
            &proxy,
        ],
    );

    let response = server.verify_pod(&[&team]);
    assert_eq!(response["allowed"], true, "{response}");
    let warning = response["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("rule \"audit\": "), "{response}");
    assert_eq!(server.verify_pod(&[&vendor])["allowed"], true);
    assert_eq!(server.verify_pod(&[&mirror])["allowed"], true);
    let response = server.verify_pod(&[&stranger]);
    assert_eq!(response["allowed"], false, "{response}");
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unmatched_image"),
        "{response}"
    );
    let (status, answer) = server.post(
        "/gatekeeper/verify",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
                "request": {"keys": [team, stranger]}}),
    );
    assert_eq!(status, 200);
    let items = &answer["response"]["items"];
    assert!(items[0]["value"].as_str().is_some(), "{answer}");
    assert!(
        items[1]["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("unmatched_image: "),
        "{answer}"
    );

    // Change the vendor rule only: the team's verdict stays cached, the vendor's is redone.
    let mut with_carol = bob_only.as_array().unwrap().clone();
    with_carol.push(json!({"name": "carol", "publicKey": pem(&mallory)}));
    write_atomically(&path, set(Value::Array(with_carol)).to_string().as_bytes());
    eventually("the set's reload", || {
        server.metric("ocisig_serve_reloads_total{result=\"ok\"}") >= 1.0
    });
    let before = counts.all.load(Ordering::SeqCst);
    assert_eq!(server.verify_pod(&[&team])["allowed"], true);
    assert_eq!(
        counts.all.load(Ordering::SeqCst),
        before,
        "the team's rules did not change: its verdict comes from the cache"
    );
    assert_eq!(server.verify_pod(&[&vendor])["allowed"], true);
    assert!(
        counts.all.load(Ordering::SeqCst) > before,
        "the vendor's rule changed: its image is verified again"
    );
}

/// A policy set whose rules read where an image is admitted: the verify webhook matches
/// `namespaces` and `match` (resource and labels) against each AdmissionReview, a verdict cached
/// for one scope is never reused for another that more rules apply to, the Gatekeeper provider
/// (told no scope) refuses the image with `unknown_scope`, and `/v1/verify` applies every rule.
#[test]
fn a_scoped_policy_set_is_matched_against_the_admission_review() {
    let Some(registry) = env::registry() else {
        return;
    };
    let alice = Key::new("serve-scope-alice");
    let digest = registry.push("serve scope", "serve-scope:v1");
    let image = format!("{}@{digest}", registry.image("serve-scope"));
    alice.sign(&image, &[]);
    let pem = std::fs::read_to_string(&alice.public).unwrap();
    let glob = format!("{}/serve-scope*", registry.host);
    let set = json!({"rules": [
        {"name": "base", "images": [glob], "policy": {"keys": [{"name": "alice", "publicKey": pem}]}},
        {"name": "prod-strict", "images": [glob], "namespaces": ["prod-*"], "static": "fail",
         "message": "production needs two signers"},
        {"name": "front-audit", "images": [glob], "mode": "warn", "static": "fail",
         "match": [{"group": "apps", "version": "*", "resource": "deployments",
                    "selector": {"matchLabels": {"tier": "front"}}}]}
    ]});
    let tls = Tls::new("serve-scope");
    let path = tls.dir.join("set.json");
    std::fs::write(&path, set.to_string()).unwrap();
    let server = Server::start(
        &tls,
        &[
            "--policy",
            path.to_str().unwrap(),
            "--insecure-registry",
            &registry.host,
        ],
    );
    let admit = |namespace: &str, resource: Value, object: Value| {
        let kind = object["kind"].as_str().unwrap().to_string();
        let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "uid-1", "kind": {"group": "", "version": "v1", "kind": kind},
                "resource": resource, "operation": "CREATE", "namespace": namespace,
                "object": object}});
        let (status, review) = server.post("/lakom/verify-cosign-signature", &body);
        assert_eq!(status, 200, "{review}");
        review["response"].clone()
    };
    let pods = json!({"group": "", "version": "v1", "resource": "pods"});
    let deployments = json!({"group": "apps", "version": "v1", "resource": "deployments"});
    let deployment = |tier: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"tier": tier}},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}})
    };

    // Only the base rule applies in "default": admitted, and the verdict is cached.
    let response = admit("default", pods.clone(), pod(&[&image]));
    assert_eq!(response["allowed"], true, "{response}");
    assert!(response.get("warnings").is_none(), "{response}");
    // The same image in "prod-eu" meets one more rule: never the cached answer.
    let response = admit("prod-eu", pods.clone(), pod(&[&image]));
    assert_eq!(response["allowed"], false, "{response}");
    let message = response["status"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("static_fail") && message.contains("prod-strict"),
        "{response}"
    );
    // A Deployment labelled tier=front meets the warn rule; one labelled otherwise does not.
    let response = admit("default", deployments.clone(), deployment("front"));
    assert_eq!(response["allowed"], true, "{response}");
    let warning = response["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("rule \"front-audit\""), "{response}");
    let response = admit("default", deployments, deployment("back"));
    assert_eq!(response["allowed"], true, "{response}");
    assert!(response.get("warnings").is_none(), "{response}");

    // Gatekeeper is told the image alone: refused, naming the rules it cannot decide.
    let (status, answer) = server.post(
        "/gatekeeper/verify",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
                "request": {"keys": [image]}}),
    );
    assert_eq!(status, 200);
    let error = answer["response"]["items"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.starts_with("unknown_scope: ")
            && error.contains("\"prod-strict\" selects by namespaces")
            && error.contains("\"front-audit\" selects by resources"),
        "{answer}"
    );
    // /v1/verify knows no scope either: every rule applies, so the image is denied.
    let (status, answer) = server.post("/v1/verify", &json!({"images": [image]}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["allowed"], false, "{answer}");
    assert_eq!(answer["results"][0]["reason"], "static_fail", "{answer}");
}

/// `POST /v1/verify` answers each image as the webhooks decide it, and `/gatekeeper/mutate`
/// answers each verified key with the pinned reference, which, put in place of the image as
/// Gatekeeper's `Assign` with external data puts it, is what the verify webhook admits.
#[test]
fn the_verify_api_and_the_gatekeeper_mutation_answer_as_the_webhooks_do() {
    let Some(registry) = env::registry() else {
        return;
    };
    let key = Key::new("api");
    let other = Key::new("api-other");
    let found = images(registry, &registry.host, "api", &key, &other);
    let (_, _, server) = serving("api", &[("team", &key)], &registry.host, &[]);

    let request = json!({"images": [found.signed_tag, found.unsigned, found.wrong_key]});
    let errors: Vec<String> = schema("serve-verify-request")
        .iter_errors(&request)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let (status, answer) = server.post("/v1/verify", &request);
    assert_eq!(status, 200, "{answer}");
    let results = &answer["results"];
    assert_eq!(results[0]["allowed"], true, "{answer}");
    assert_eq!(results[0]["digest"], found.digest.as_str());
    assert_eq!(results[1]["reason"], "no_signatures", "{answer}");
    assert_eq!(results[2]["reason"], "no_matching_signature", "{answer}");
    // The webhook decides the same images the same way.
    assert_eq!(server.verify_pod(&[&found.signed])["allowed"], true);
    assert_eq!(server.verify_pod(&[&found.unsigned])["allowed"], false);
    for bad in [
        json!({"images": []}),
        json!({"imgs": ["a"]}),
        json!({"images": [1]}),
    ] {
        let (status, _) = server.post("/v1/verify", &bad);
        assert_eq!(status, 400, "{bad}");
    }

    let (status, answer) = server.post(
        "/gatekeeper/mutate",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
                "request": {"keys": [found.signed_tag, found.signed, found.unsigned]}}),
    );
    assert_eq!(status, 200);
    let items = &answer["response"]["items"];
    // A tag is pinned as the resolve webhook pins it, tag kept; a pinned key stays as it is.
    assert_eq!(items[0]["value"], found.signed.as_str(), "{answer}");
    assert_eq!(items[1]["value"], found.signed.as_str(), "{answer}");
    assert!(
        items[2]["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("no_signatures: "),
        "{answer}"
    );
    // Gatekeeper's Assign (dataSource: ValueAtLocation) puts the value at the location.
    let mut object = pod(&[&found.signed_tag]);
    object["spec"]["containers"][0]["image"] = items[0]["value"].clone();
    let (status, admitted) = server.post("/lakom/verify-cosign-signature", &review("Pod", object));
    assert_eq!(status, 200);
    assert_eq!(admitted["response"]["allowed"], true, "{admitted}");
    // The digest alone, which /gatekeeper/verify answers, would not be an image at all.
    let mut object = pod(&[&found.signed_tag]);
    object["spec"]["containers"][0]["image"] = json!(found.digest);
    let (_, refused) = server.post("/lakom/verify-cosign-signature", &review("Pod", object));
    assert_eq!(refused["response"]["allowed"], false, "{refused}");
}
