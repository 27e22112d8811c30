//! The real parts: Debian's docker-registry on 127.0.0.1, images pushed with skopeo, keys and
//! signatures made by cosign 2.5. Missing tools skip the suite with a message, except under CI.
// Shared by two test binaries (registry and security), each of which uses some of it.
#![allow(dead_code)]

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TOOLS: [&str; 4] = ["docker-registry", "skopeo", "cosign", "curl"];

/// The shared registry, or `None` (after saying why) when the tools are missing outside CI.
pub(crate) fn registry() -> Option<&'static Registry> {
    static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let missing: Vec<&str> = TOOLS.iter().copied().filter(|t| !on_path(t)).collect();
            if !missing.is_empty() {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but {missing:?} are not installed (.ci/install-deps installs them)"
                );
                eprintln!("skipping registry tests: {missing:?} not installed");
                return None;
            }
            Some(Registry::start())
        })
        .as_ref()
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A docker-registry process; it dies with the test process (its stdin closes).
pub(crate) struct Registry {
    pub(crate) host: String,
    _process: Child,
}

impl Registry {
    fn start() -> Self {
        let work = tempdir("registry");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        std::fs::create_dir_all(work.join("storage")).unwrap();
        std::fs::write(
            work.join("config.yml"),
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
                 delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
                work.join("storage").display()
            ),
        )
        .unwrap();
        // `read` returns when our end of the pipe closes, that is when this process exits.
        let process = Command::new("sh")
            .args([
                "-c",
                "docker-registry serve \"$1\" >\"$2\" 2>&1 & pid=$!; read _; kill $pid",
                "sh",
            ])
            .arg(work.join("config.yml"))
            .arg(work.join("registry.log"))
            .stdin(Stdio::piped())
            .spawn()
            .expect("docker-registry starts");
        let registry = Self {
            host,
            _process: process,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.host).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// Pushes a one-layer image holding `text` to `repo:tag`; returns its digest.
    pub(crate) fn push(&self, text: &str, repo_tag: &str) -> String {
        shell(&format!(
            "push_image {} {}/{repo_tag}",
            quote(text),
            self.host
        ))
        .trim()
        .to_string()
    }

    /// Pushes a Helm chart (`helm`), an OCI 1.1 artifact (`artifact`) or a two-platform index
    /// (`index`, `index2`) to `repo:tag`; returns the top manifest's digest.
    pub(crate) fn push_kind(&self, kind: &str, repo: &str, tag: &str) -> String {
        shell(&format!("push_kind {kind} {} {repo} {tag}", self.host))
            .trim()
            .to_string()
    }

    /// `host/repo`.
    pub(crate) fn image(&self, repo: &str) -> String {
        format!("{}/{repo}", self.host)
    }
}

/// A cosign key pair (empty password) in its own folder.
pub(crate) struct Key {
    pub(crate) private: PathBuf,
    pub(crate) public: PathBuf,
}

impl Key {
    pub(crate) fn new(name: &str) -> Self {
        let dir = tempdir(&format!("key-{name}"));
        let prefix = dir.join(name);
        shell(&format!(
            "new_cosign_key {}",
            quote(prefix.to_str().unwrap())
        ));
        Self {
            private: prefix.with_extension("key"),
            public: prefix.with_extension("pub"),
        }
    }

    /// A key of any type cosign signs with: openssl makes the PKCS#8 key (`genpkey` args), and
    /// we write cosign's encrypted key format ourselves, because `cosign import-key-pair`
    /// refuses RSA, P-384 and P-521 keys.
    pub(crate) fn of_type(name: &str, genpkey: &[&str]) -> Self {
        let dir = tempdir(&format!("key-{name}"));
        let pem = dir.join(format!("{name}.pkcs8.pem"));
        let der = dir.join(format!("{name}.pkcs8.der"));
        let public = dir.join(format!("{name}.pub"));
        let run = |args: &[&str]| {
            let output = Command::new("openssl").args(args).output().unwrap();
            assert!(output.status.success(), "openssl {args:?}: {output:?}");
        };
        let mut args = vec!["genpkey"];
        args.extend_from_slice(genpkey);
        args.extend(["-out", pem.to_str().unwrap()]);
        run(&args);
        run(&[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            pem.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ]);
        run(&[
            "pkey",
            "-in",
            pem.to_str().unwrap(),
            "-pubout",
            "-out",
            public.to_str().unwrap(),
        ]);
        let private = dir.join(format!("{name}.key"));
        std::fs::write(
            &private,
            cosign_encrypted_key(&std::fs::read(&der).unwrap(), b""),
        )
        .unwrap();
        Self { private, public }
    }

    /// `cosign sign` without the transparency log; `extra` are more cosign flags.
    pub(crate) fn sign(&self, image_at_digest: &str, extra: &[&str]) {
        let extra: Vec<&std::ffi::OsStr> = extra.iter().map(std::ffi::OsStr::new).collect();
        self.cosign("sign", &extra, image_at_digest);
    }

    /// [`Key::sign`], the signature stored in `repository` (`COSIGN_REPOSITORY`), not the
    /// image's.
    pub(crate) fn sign_into(&self, image_at_digest: &str, repository: &str) {
        self.cosign_in("sign", &[], image_at_digest, Some(repository));
    }

    /// `cosign attest` without the transparency log: a Sigstore bundle attached as an OCI
    /// referrer with `new_bundle` (what cosign v3 writes for `cosign sign`), else a legacy
    /// `.att` layer. `predicate_type` is cosign's `--type`.
    pub(crate) fn attest(&self, image_at_digest: &str, predicate_type: &str, new_bundle: bool) {
        self.attest_with(image_at_digest, predicate_type, "{}", new_bundle);
    }

    /// [`Key::attest`] with this predicate (JSON).
    pub(crate) fn attest_with(
        &self,
        image_at_digest: &str,
        predicate_type: &str,
        predicate_json: &str,
        new_bundle: bool,
    ) {
        let dir = tempdir("predicate");
        let predicate = dir.join("predicate.json");
        std::fs::write(&predicate, predicate_json).unwrap();
        let mut extra: Vec<&std::ffi::OsStr> = ["--type", predicate_type, "--predicate"]
            .into_iter()
            .map(std::ffi::OsStr::new)
            .collect();
        extra.push(predicate.as_os_str());
        if new_bundle {
            extra.push(std::ffi::OsStr::new("--new-bundle-format"));
        }
        self.cosign("attest", &extra, image_at_digest);
    }

    /// `cosign SUBCOMMAND --key KEY` without the transparency log, against a plain-HTTP
    /// registry, with `extra` flags, for `image_at_digest`; it must succeed.
    fn cosign(&self, subcommand: &str, extra: &[&std::ffi::OsStr], image_at_digest: &str) {
        self.cosign_in(subcommand, extra, image_at_digest, None);
    }

    /// [`Key::cosign`] with `COSIGN_REPOSITORY` set to `repository`, when given.
    fn cosign_in(
        &self,
        subcommand: &str,
        extra: &[&std::ffi::OsStr],
        image_at_digest: &str,
        repository: Option<&str>,
    ) {
        let mut command = Command::new("cosign");
        if let Some(repository) = repository {
            command.env("COSIGN_REPOSITORY", repository);
        }
        let output = command
            .args([subcommand, "--key"])
            .arg(&self.private)
            .args([
                "--tlog-upload=false",
                "--allow-http-registry",
                "--allow-insecure-registry",
                "-y",
            ])
            .args(extra)
            .arg(image_at_digest)
            .env("COSIGN_PASSWORD", "")
            .output()
            .unwrap();
        assert!(output.status.success(), "cosign {subcommand}: {output:?}");
    }
}

/// cosign v3's predicate type for an image signature stored as a bundle.
pub(crate) const SIGN_V1: &str = "https://sigstore.dev/cosign/sign/v1";

/// Whether `cosign verify-attestation --new-bundle-format` accepts the image's bundles of
/// `predicate_type` under `key`, offline (the trusted root is only needed to start; the log is
/// ignored).
pub(crate) fn cosign_verifies_bundle(image: &str, key: &Path, predicate_type: &str) -> bool {
    cosign_verifies_attestation(image, key, predicate_type, true)
}

/// Whether `cosign verify-attestation` accepts the image's attestations of `predicate_type`
/// under `key`, offline: its bundle referrers with `new_bundle`, else its legacy `.att` tag.
pub(crate) fn cosign_verifies_attestation(
    image: &str,
    key: &Path,
    predicate_type: &str,
    new_bundle: bool,
) -> bool {
    let mut command = Command::new("cosign");
    command.arg("verify-attestation");
    if new_bundle {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("trust/production_trusted_root.json");
        command
            .arg("--new-bundle-format")
            .arg("--trusted-root")
            .arg(root);
    }
    command
        .args(["--insecure-ignore-tlog", "--allow-http-registry", "--key"])
        .arg(key)
        .args(["--type", predicate_type])
        .arg(image)
        .output()
        .unwrap()
        .status
        .success()
}

/// Whether `cosign verify` accepts the image under `key` (with extra flags).
pub(crate) fn cosign_verifies(image: &str, key: &Path, extra: &[&str]) -> bool {
    Command::new("cosign")
        .args(["verify", "--key"])
        .arg(key)
        .args(["--insecure-ignore-tlog", "--allow-http-registry"])
        .args(extra)
        .arg(image)
        .output()
        .unwrap()
        .status
        .success()
}

/// Runs `ocisig` with `args`.
pub(crate) fn ocisig(args: &[&str]) -> Output {
    ocisig_with_env(args, &[])
}

pub(crate) fn ocisig_with_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocisig"));
    command.args(args);
    // Keep the user's own docker config out of the tests.
    command.env("DOCKER_CONFIG", tempdir("no-docker-config"));
    command.env_remove("REGISTRY_AUTH_FILE");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs a bash snippet with scripts/testenv.sh sourced and REGISTRY_TLS off.
pub(crate) fn shell(script: &str) -> String {
    let testenv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/testenv.sh");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail; source {}; {script}",
            quote(testenv.to_str().unwrap())
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{script} failed: {err}");
    out
}

pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

pub(crate) fn tempdir(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "ocisig-registry-test-{}-{n}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// cosign's `ENCRYPTED SIGSTORE PRIVATE KEY`: the PKCS#8 DER sealed with NaCl secretbox under a
/// key derived by scrypt (N = 2^15, r = 8, p = 1) from the password, in a JSON envelope.
fn cosign_encrypted_key(pkcs8_der: &[u8], password: &[u8]) -> String {
    use base64::Engine as _;
    use crypto_secretbox::aead::{Aead as _, KeyInit as _};
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    // Test keys: fixed salt and nonce are fine, each key is encrypted once.
    let salt = [7u8; 32];
    let nonce = [9u8; 24];
    let mut key = [0u8; 32];
    let params = scrypt::Params::new(15, 8, 1).unwrap();
    scrypt::scrypt(password, &salt, &params, &mut key).unwrap();
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(&key.into());
    let ciphertext = cipher.encrypt(&nonce.into(), pkcs8_der).unwrap();
    let envelope = serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": b64(&salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": b64(&nonce)},
        "ciphertext": b64(&ciphertext),
    });
    let body = b64(envelope.to_string().as_bytes());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect();
    format!(
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
        lines.join("\n")
    )
}
