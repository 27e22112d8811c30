//! `ocisig trust update` and `ocisig trust show` against a TUF repository the test makes in a
//! local directory (the air-gapped form of a mirror): what a user sees, exit codes included.
//! The TUF rules themselves are the core's unit tests and the TUF conformance suite's.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ocisig_testpki::{ISSUER, Key, Proof, SUBJECT, Spec};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const CONTENT: &[u8] = b"{\"mediaType\": \"a trusted root, for the test\"}\n";

fn ocisig(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocisig"))
        .args(args)
        .output()
        .expect("ocisig runs")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sign(signed: &Value, key: &Key) -> Vec<u8> {
    let canonical = ocisig::tuf::canonical::encode(signed).unwrap();
    json!({"signed": signed, "signatures": [{"keyid": "k", "sig": hex(&key.sign(canonical.as_bytes()))}]})
        .to_string()
        .into_bytes()
}

fn describe(version: u64, bytes: &[u8]) -> Value {
    json!({"version": version, "length": bytes.len(), "hashes": {"sha256": hex(&Sha256::digest(bytes))}})
}

/// A repository in `dir` (one key for every role; no consistent snapshots) whose metadata
/// expires at `expires` and whose `trusted_root.json` is `content`; its root's bytes.
fn repository(dir: &Path, expires: &str, content: &[u8]) -> Vec<u8> {
    let key = Key::new(70);
    let common = |kind: &str| json!({"_type": kind, "spec_version": "1.0.31", "version": 1, "expires": expires});
    let mut root = common("root");
    let role = json!({"keyids": ["k"], "threshold": 1});
    root["keys"] = json!({"k": {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": key.pem()}}});
    root["roles"] = json!({"root": role, "timestamp": role, "snapshot": role, "targets": role});
    root["consistent_snapshot"] = json!(false);
    let mut targets = common("targets");
    targets["targets"] = json!({"trusted_root.json": {"length": content.len(),
        "hashes": {"sha256": hex(&Sha256::digest(content))}}});
    let targets = sign(&targets, &key);
    let mut snapshot = common("snapshot");
    snapshot["meta"] = json!({"targets.json": describe(1, &targets)});
    let snapshot = sign(&snapshot, &key);
    let mut timestamp = common("timestamp");
    timestamp["meta"] = json!({"snapshot.json": describe(1, &snapshot)});
    let root = sign(&root, &key);
    std::fs::create_dir_all(dir.join("targets")).unwrap();
    std::fs::write(dir.join("1.root.json"), &root).unwrap();
    std::fs::write(dir.join("timestamp.json"), sign(&timestamp, &key)).unwrap();
    std::fs::write(dir.join("snapshot.json"), snapshot).unwrap();
    std::fs::write(dir.join("targets.json"), targets).unwrap();
    std::fs::write(dir.join("targets/trusted_root.json"), content).unwrap();
    root
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ocisig-trust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn trust(command: &str, mirror: &Path, cache: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "trust",
        command,
        "--mirror",
        mirror.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ocisig(&args)
}

#[test]
fn update_verifies_the_trusted_root_and_show_prints_it() {
    let dir = tempdir("ok");
    let mirror = dir.join("mirror");
    let cache = dir.join("cache");
    let root = repository(&mirror, "2099-01-01T00:00:00Z", CONTENT);
    let root_file = dir.join("root.json");
    std::fs::write(&root_file, &root).unwrap();

    // Nothing verified yet.
    let output = trust("show", &mirror, &cache, &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was ever verified"));

    let output = trust(
        "update",
        &mirror,
        &cache,
        &["--root", root_file.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("root version 1"), "{stdout}");
    assert!(
        stdout.contains(&format!("sha256:{}", hex(&Sha256::digest(CONTENT)))),
        "{stdout}"
    );
    let output = trust("show", &mirror, &cache, &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(output.stdout, CONTENT);

    // A mirror that now serves other bytes for the target: refused, naming it.
    std::fs::write(mirror.join("targets/trusted_root.json"), b"{}").unwrap();
    std::fs::remove_dir_all(crate_state_targets(&cache)).unwrap();
    let output = trust("update", &mirror, &cache, &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("trusted_root.json"),
        "{output:?}"
    );
    let output = trust("show", &mirror, &cache, &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "no verified file is kept: {output:?}"
    );
}

/// The one mirror state directory under `cache`.
fn crate_state_targets(cache: &Path) -> PathBuf {
    let state = std::fs::read_dir(cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    state.join("targets")
}

#[test]
fn expired_metadata_is_refused_and_a_bad_root_never_starts_a_mirror() {
    let dir = tempdir("expired");
    let mirror = dir.join("mirror");
    let cache = dir.join("cache");
    let root = repository(&mirror, "2001-01-01T00:00:00Z", CONTENT);
    let root_file = dir.join("root.json");
    std::fs::write(&root_file, &root).unwrap();
    let output = trust(
        "update",
        &mirror,
        &cache,
        &["--root", root_file.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("expired"),
        "{output:?}"
    );

    // A --root that another key signed: nothing is trusted.
    let other = dir.join("other");
    std::fs::write(&root_file, b"{\"signed\": {}, \"signatures\": []}").unwrap();
    let output = trust(
        "update",
        &mirror,
        &other,
        &["--root", root_file.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    // It was not kept: the right root still starts the mirror (whose metadata has expired).
    std::fs::write(&root_file, &root).unwrap();
    let output = trust(
        "update",
        &mirror,
        &other,
        &["--root", root_file.to_str().unwrap()],
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("timestamp.json: root has expired"),
        "{output:?}"
    );
    // Usage errors are 2.
    assert_eq!(
        ocisig(&["trust", "update", "--colour"]).status.code(),
        Some(2)
    );
}

/// A keyless bundle that verifies only with the trusted root kept through TUF: `verify-bundle`
/// without --trusted-root reads the kept state of Sigstore's mirror (here in a test cache,
/// `OCISIG_TUF_CACHE`), says so, and verifies; without that state the embedded production root
/// does not know the test's CA; with kept metadata that has expired, nothing is used silently.
#[test]
fn verify_bundle_uses_the_trusted_root_kept_through_tuf() {
    const ARTIFACT: &[u8] = b"an artifact signed keyless by the test CA";
    let dir = tempdir("e2e");
    let pki = Spec::valid().build();
    std::fs::write(dir.join("artifact"), ARTIFACT).unwrap();
    std::fs::write(
        dir.join("bundle.json"),
        pki.artifact_bundle(ARTIFACT, Proof::Both).to_string(),
    )
    .unwrap();
    let trusted_root = pki.trusted_root().to_string().into_bytes();
    let verify = |cache: &Path| {
        Command::new(env!("CARGO_BIN_EXE_ocisig"))
            .args([
                "verify-bundle",
                "--bundle",
                dir.join("bundle.json").to_str().unwrap(),
                "--certificate-identity",
                SUBJECT,
                "--certificate-oidc-issuer",
                ISSUER,
                dir.join("artifact").to_str().unwrap(),
            ])
            .env("OCISIG_TUF_CACHE", cache)
            .output()
            .unwrap()
    };
    // Kept state for Sigstore's mirror, made by updating from a local copy and kept under the
    // mirror's name, as `ocisig trust update` keeps it.
    let keep = |name: &str, expires: &str| {
        let mirror = dir.join(format!("{name}-mirror"));
        let cache = dir.join(format!("{name}-cache"));
        let root = repository(&mirror, expires, &trusted_root);
        let root_file = dir.join(format!("{name}-root.json"));
        std::fs::write(&root_file, &root).unwrap();
        trust(
            "update",
            &mirror,
            &cache,
            &["--root", root_file.to_str().unwrap()],
        );
        let local = ocisig_host::tuf_client::state_dir(&cache, mirror.to_str().unwrap());
        let sigstore =
            ocisig_host::tuf_client::state_dir(&cache, ocisig_host::tuf_client::DEFAULT_MIRROR);
        std::fs::rename(local, sigstore).unwrap();
        cache
    };

    let fresh = keep("fresh", "2099-01-01T00:00:00Z");
    let output = verify(&fresh);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("verified through TUF"),
        "{output:?}"
    );

    let output = verify(&dir.join("no-state"));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("embedded Sigstore production"),
        "{output:?}"
    );

    // Metadata that expired after it was verified: refused, saying what to do.
    let expired = keep("expiring", "2099-01-01T00:00:00Z");
    let state =
        ocisig_host::tuf_client::state_dir(&expired, ocisig_host::tuf_client::DEFAULT_MIRROR);
    repository(
        &dir.join("stale-mirror"),
        "2001-01-01T00:00:00Z",
        &trusted_root,
    );
    for name in ["timestamp.json", "snapshot.json", "targets.json"] {
        std::fs::copy(
            dir.join("stale-mirror").join(name),
            state.join("metadata").join(name),
        )
        .unwrap();
    }
    let output = verify(&expired);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot be used") && stderr.contains("ocisig trust update"),
        "{stderr}"
    );
}
