//! Certificate path rules (issue #28) through `ocisig verify-bundle`, with cosign 2.5 as the
//! oracle: each case is a Sigstore-like PKI the test makes (`ocisig-testpki`) with one fault
//! in one certificate, everything else valid and consistently re-signed, and an artifact
//! bundle of it. `ocisig verify-bundle` must refuse exactly what `cosign verify-blob
//! --new-bundle-format --use-signed-timestamps` refuses, accept what it accepts, and name the
//! fault. Without cosign the oracle half is skipped with a message (under CI it must be there).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

use ocisig_testpki::{Extension, ISSUER, Proof, SUBJECT, Spec, Template, key_usage, oid, position};

const ARTIFACT: &[u8] = b"an artifact signed by the pki-test leaf\n";

fn replace(template: &mut Template, extension: Extension) {
    match position(template, &extension.oid) {
        Some(at) => template.extensions[at] = extension,
        None => template.extensions.push(extension),
    }
}

/// One case: a name, the one change, what ocisig's message must say (`None`: verifies), and
/// whether cosign decides it the same way.
type Case = (&'static str, Spec, Option<&'static str>, bool);

/// The cases. cosign and ocisig agree on all but one, on purpose: name constraints the leaf
/// meets (they constrain DNS names, and it has only a URI). Go's crypto/x509 enforces name
/// constraints, so cosign accepts a leaf within them;
/// ocisig does not enforce them, so it refuses any path that carries them (RFC 5280 §4.2 lets
/// it: a critical extension not processed is a refusal). Where the leaf is outside them, both
/// refuse.
fn cases() -> Vec<Case> {
    let valid = Spec::valid();
    let with = |change: &dyn Fn(&mut Spec)| {
        let mut spec = Spec::valid();
        change(&mut spec);
        spec
    };
    vec![
        ("valid", valid, None, true),
        (
            "leaf with an unknown critical extension",
            with(&|s| s.leaf.extensions.push(Extension::unknown_critical())),
            Some(
                "the leaf certificate has a critical extension ocisig does not process \
                 (1.3.6.1.4.1.57264.99.1)",
            ),
            true,
        ),
        (
            "intermediate with an unknown critical extension",
            with(&|s| {
                s.intermediates[0]
                    .extensions
                    .push(Extension::unknown_critical());
            }),
            Some("intermediate certificate 1 has a critical extension ocisig does not process"),
            true,
        ),
        (
            "TSA certificate with an unknown critical extension",
            with(&|s| s.tsa_leaf.extensions.push(Extension::unknown_critical())),
            Some(
                "the timestamp authority's certificate path does not hold: the leaf certificate \
                 has a critical extension ocisig does not process",
            ),
            true,
        ),
        (
            "TSA certificate whose timeStamping usage is not critical",
            with(&|s| {
                replace(
                    &mut s.tsa_leaf,
                    Extension::ext_key_usage(&[oid::TIME_STAMPING], false),
                );
            }),
            Some("its timeStamping extended key usage is not critical (RFC 3161 §2.3)"),
            true,
        ),
        (
            "intermediate with pathLen 0 above another CA",
            with(&|s| {
                s.root = Template::ca("pki-test-root", 10, Some(2));
                let mut upper = Template::ca("pki-test-upper", 12, Some(0));
                upper
                    .extensions
                    .push(Extension::ext_key_usage(&[oid::CODE_SIGNING], false));
                s.intermediates.insert(0, upper);
            }),
            Some("intermediate certificate 2 allows 0 intermediate CAs below it"),
            true,
        ),
        (
            "intermediate with critical name constraints on DNS names only (the leaf has a URI)",
            with(&|s| {
                s.intermediates[0]
                    .extensions
                    .push(Extension::name_constraints(true, false, "example.com"));
            }),
            Some("intermediate certificate 1 has name constraints"),
            false,
        ),
        (
            "intermediate with critical name constraints its leaf's URI breaks",
            with(&|s| {
                s.intermediates[0]
                    .extensions
                    .push(Extension::name_constraints(true, true, "example.com"));
            }),
            Some("intermediate certificate 1 has name constraints"),
            true,
        ),
        (
            "intermediate without keyCertSign",
            with(&|s| {
                replace(
                    &mut s.intermediates[0],
                    Extension::key_usage(&[key_usage::CRL_SIGN]),
                );
            }),
            Some("intermediate certificate 1 may not sign certificates"),
            true,
        ),
        (
            "intermediate without basicConstraints cA",
            with(&|s| {
                replace(
                    &mut s.intermediates[0],
                    Extension::basic_constraints(false, None),
                );
            }),
            Some("intermediate certificate 1 is not a CA"),
            true,
        ),
        (
            "Fulcio issuer extension marked critical",
            with(&|s| {
                let mut issuer = Extension::fulcio_issuer(ISSUER);
                issuer.critical = true;
                replace(&mut s.leaf, issuer);
            }),
            Some("(1.3.6.1.4.1.57264.1.8)"),
            true,
        ),
    ]
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn cosign_available() -> bool {
    let found = Command::new("cosign").arg("version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but cosign is not installed (.ci/install-deps installs it)"
        );
        eprintln!("SKIPPED: cosign is not installed, so it cannot be the oracle here");
    }
    found
}

fn write(dir: &Path, spec: &Spec) {
    let pki = spec.build();
    std::fs::write(dir.join("artifact"), ARTIFACT).unwrap();
    std::fs::write(
        dir.join("bundle.json"),
        pki.artifact_bundle(ARTIFACT, Proof::Both).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("trusted_root.json"),
        pki.trusted_root().to_string(),
    )
    .unwrap();
}

#[test]
fn verify_bundle_refuses_each_path_fault_as_cosign_does() {
    let oracle = cosign_available();
    let dir = std::env::temp_dir().join(format!("ocisig-paths-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    for (name, spec, says, cosign_agrees) in cases() {
        write(&dir, &spec);
        let ours = run(
            env!("CARGO_BIN_EXE_ocisig"),
            &[
                "verify-bundle",
                "--bundle",
                &path("bundle.json"),
                "--certificate-identity",
                SUBJECT,
                "--certificate-oidc-issuer",
                ISSUER,
                "--trusted-root",
                &path("trusted_root.json"),
                &path("artifact"),
            ],
        );
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&ours.stderr)
        );
        match says {
            None => assert_eq!(ours.status.code(), Some(0), "{name}: {text}"),
            Some(says) => {
                assert_eq!(ours.status.code(), Some(1), "{name}: {text}");
                assert!(text.contains(says), "{name}: {text}");
            }
        }
        if oracle {
            let theirs = run(
                "cosign",
                &[
                    "verify-blob",
                    "--new-bundle-format",
                    "--bundle",
                    &path("bundle.json"),
                    "--certificate-identity",
                    SUBJECT,
                    "--certificate-oidc-issuer",
                    ISSUER,
                    "--trusted-root",
                    &path("trusted_root.json"),
                    "--use-signed-timestamps",
                    &path("artifact"),
                ],
            );
            assert_eq!(
                theirs.status.success() == says.is_none(),
                cosign_agrees,
                "{name}: cosign decided otherwise: {}",
                String::from_utf8_lossy(&theirs.stderr)
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
