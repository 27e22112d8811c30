//! The sigstore-conformance suite's verification cases, run through `ocisig verify-bundle`
//! exactly as the suite's CLI protocol (`docs/cli_protocol.md` in the suite) calls a client:
//!
//! ```text
//! ocisig verify-bundle --bundle FILE --certificate-identity IDENTITY --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
//! ocisig verify-bundle --bundle FILE --key PATH_TO_KEY [--trusted-root FILE] FILE_OR_DIGEST
//! ```
//!
//! Each case is a directory of `test/assets/bundle-verify`; a name ending in `_fail` must not
//! verify, any other must. The artifact is the case's `artifact` or the shared `a.txt`; the
//! identity and issuer are the case's `identity` and `issuer` files or the suite's defaults.
//! Every case is run twice, with the artifact's path and with its digest. The vectors are read
//! from `../shared/vectors` (never copied here); without them the test skips with a message,
//! and under CI it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The suite's default identity: its GitHub Actions beacon workflow.
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
/// The suite's default issuer.
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

#[path = "common/vectors.rs"]
mod vectors;

fn assets() -> Option<PathBuf> {
    Some(vectors::vectors_dir()?.join("sigstore-conformance/test/assets"))
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_string())
}

#[test]
fn every_bundle_verification_case_of_the_conformance_suite() {
    let Some(assets) = assets() else {
        return;
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(assets.join("bundle-verify"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("bundle.sigstore.json").is_file())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expect_pass = !name.ends_with("_fail");
        let artifact = if dir.join("artifact").is_file() {
            dir.join("artifact")
        } else {
            assets.join("bundle-verify/a.txt")
        };
        let digest = ocisig::Sha256Digest::of(&std::fs::read(&artifact).unwrap()).to_string();
        let bundle = dir.join("bundle.sigstore.json");
        let mut args: Vec<String> = vec![
            "verify-bundle".into(),
            "--bundle".into(),
            bundle.display().to_string(),
        ];
        let key = dir.join("key.pub");
        if key.is_file() {
            args.extend(["--key".into(), key.display().to_string()]);
        } else {
            let identity =
                read_trimmed(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.to_string());
            let issuer =
                read_trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.to_string());
            args.extend([
                "--certificate-identity".into(),
                identity,
                "--certificate-oidc-issuer".into(),
                issuer,
            ]);
        }
        let root = dir.join("trusted_root.json");
        if root.is_file() {
            args.extend(["--trusted-root".into(), root.display().to_string()]);
        }
        let mut outcomes = Vec::new();
        for target in [artifact.display().to_string(), digest] {
            let output = Command::new(env!("CARGO_BIN_EXE_ocisig"))
                .args(&args)
                .arg(&target)
                .output()
                .expect("ocisig runs");
            let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
            let stderr = String::from_utf8_lossy(&output.stderr)
                .lines()
                .filter(|line| !line.contains("embedded Sigstore production trusted root"))
                .collect::<Vec<_>>()
                .join(" ");
            let passed = output.status.code() == Some(0);
            // A verified result says so on stdout; a failing one is a verdict (exit 1) or a
            // refused input (exit 2), never a crash.
            let sane = match output.status.code() {
                Some(0) => stdout.starts_with("verified  "),
                Some(1) => stdout.starts_with("denied    "),
                Some(2) => !stderr.is_empty(),
                _ => false,
            };
            outcomes.push((passed, sane, format!("{stdout}{stderr}")));
        }
        let ok = outcomes
            .iter()
            .all(|(passed, sane, _)| *passed == expect_pass && *sane);
        eprintln!(
            "{} {name}: {}",
            if ok { "ok  " } else { "FAIL" },
            outcomes[0].2
        );
        if !ok {
            failures.push(name);
        }
    }
    let total = dirs.len();
    eprintln!(
        "sigstore-conformance bundle verification: {}/{total} cases as expected",
        total - failures.len()
    );
    assert!(total >= 70, "only {total} cases found");
    assert!(failures.is_empty(), "cases not as expected: {failures:?}");
}
