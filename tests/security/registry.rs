//! The security suite, registry half: hostile registries met through a fault-injecting proxy
//! in front of the real docker-registry (loopback only), and the registry-picks-the-digest
//! advisories. Built as a test of the `ocisig-host` package, so it runs the real binary.
//! Every case must end in a clear error or a denial within the timeout, with bounded memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../host-shim/tests/registry/env.rs"]
mod env;
#[path = "../../host-shim/tests/registry/proxy.rs"]
mod proxy;

use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use env::{Key, stderr, stdout};
use proxy::Fault;

/// The most resident memory any hostile case may cost the shim.
const MAX_PEAK_KIB: u64 = 256 * 1024;

/// A signed image in the real registry. The signature carries an annotation, so that its
/// payload cannot be rebuilt from the reference and is fetched: the blob faults reach it.
fn signed(repo: &str) -> Option<(&'static env::Registry, Key, String)> {
    let registry = env::registry()?;
    let key = Key::new("alice");
    let digest = registry.push(repo, &format!("{repo}:v1"));
    key.sign(
        &format!("{}@{digest}", registry.image(repo)),
        &["-a", "payload=fetched"],
    );
    Some((registry, key, digest))
}

/// Runs `ocisig verify` under `/usr/bin/time -v`; returns the output and the peak RSS in KiB.
fn verify_measured(image: &str, key: &Key, proxy: &str, extra: &[&str]) -> (Output, u64) {
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_ocisig"))
        .args(["verify", image, "--key"])
        .arg(&key.public)
        .args(["--insecure-registry", proxy, "--output", "json"])
        .args(extra)
        .env("DOCKER_CONFIG", env::tempdir("no-docker-config"));
    let output = command.output().unwrap();
    let report = stderr(&output);
    let peak = report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (output, peak)
}

/// One hostile case: never verified, never "no signatures", exit 3 (or a denial when
/// `denial` names its reason), within the timeout and the memory bound.
fn hostile(repo: &str, fault: Fault, denial: Option<&str>, message: &str) {
    let Some((registry, key, _)) = signed(repo) else {
        return;
    };
    if !std::path::Path::new("/usr/bin/time").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but /usr/bin/time is missing"
        );
        eprintln!("SKIPPED: /usr/bin/time is missing");
        return;
    }
    let (proxy, _) = proxy::start_counting(&registry.host, fault);
    let image = format!("{proxy}/{repo}:v1");
    let started = Instant::now();
    let (output, peak) = verify_measured(&image, &key, &proxy, &["--timeout", "3"]);
    let elapsed = started.elapsed();
    eprintln!(
        "{repo}: {elapsed:?}, peak {peak} KiB, exit {:?}",
        output.status.code()
    );
    let out = stdout(&output);
    assert!(!out.contains("\"verified\":true"), "{repo}: {output:?}");
    assert!(!out.contains("no_signatures"), "{repo}: {output:?}");
    match denial {
        Some(reason) => {
            assert_eq!(output.status.code(), Some(1), "{repo}: {output:?}");
            assert!(
                out.contains(&format!("\"reason\":\"{reason}\"")),
                "{repo}: {out}"
            );
        }
        None => {
            assert_eq!(output.status.code(), Some(3), "{repo}: {output:?}");
            assert!(
                stderr(&output).contains(message),
                "{repo}: {}",
                stderr(&output)
            );
        }
    }
    assert!(elapsed < Duration::from_secs(30), "{repo} took {elapsed:?}");
    assert!(peak > 0 && peak < MAX_PEAK_KIB, "{repo}: peak {peak} KiB");
}

// A blob body is read no further than one byte past its descriptor's size, and the verifier
// checks what was read: a body of any other length is the typed denial
// `payload_size_mismatch`, as the same bytes in an OCI layout are (issue #14).

#[test]
fn an_endless_body_is_cut_at_the_descriptor_size() {
    hostile(
        "endless",
        Fault::EndlessBlobs,
        Some("payload_size_mismatch"),
        "",
    );
}

#[test]
fn a_body_longer_than_its_descriptor_is_refused() {
    hostile(
        "longer",
        Fault::LongerBlobs,
        Some("payload_size_mismatch"),
        "",
    );
}

#[test]
fn a_body_shorter_than_its_descriptor_is_refused() {
    hostile(
        "shorter",
        Fault::ShorterBlobs,
        Some("payload_size_mismatch"),
        "",
    );
}

#[test]
fn a_ten_gibibyte_content_length_is_not_read() {
    hostile(
        "tengib",
        Fault::HugeContentLength,
        Some("payload_size_mismatch"),
        "",
    );
}

#[test]
fn a_five_mebibyte_signature_manifest_is_refused_before_reading() {
    hostile(
        "fivemib",
        Fault::FiveMebibyteSignatureManifest,
        None,
        "the limit is 4194304",
    );
}

#[test]
fn a_redirect_loop_ends() {
    hostile("redirects", Fault::RedirectLoop, None, "redirect");
}

#[test]
fn server_errors_are_reported_with_their_status() {
    hostile(
        "status500",
        Fault::Status(500),
        None,
        "500 Internal Server Error",
    );
    hostile(
        "status429",
        Fault::Status(429),
        None,
        "429 Too Many Requests",
    );
}

#[test]
fn a_server_that_stalls_mid_body_times_out() {
    hostile("midbody", Fault::StallMidBody, None, "timed out");
}

/// CVE-2023-46737, CVE-2024-29903: cosign fetched every layer of a `.sig` manifest with
/// thousands of layers before counting them. The count cap holds before any per-layer work:
/// not one blob is requested, and the verdict is a limit denial.
#[test]
fn cve_2023_46737_and_cve_2024_29903_no_blob_is_fetched_for_1001_layers() {
    let Some((registry, key, _)) = signed("manylayers") else {
        return;
    };
    let (proxy, blob_requests) = proxy::start_counting(&registry.host, Fault::ThousandAndOneLayers);
    let (output, peak) = verify_measured(&format!("{proxy}/manylayers:v1"), &key, &proxy, &[]);
    eprintln!("1001 layers: peak {peak} KiB");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stdout(&output).contains("\"reason\":\"limit_exceeded\""),
        "{output:?}"
    );
    assert_eq!(blob_requests.load(Ordering::SeqCst), 0);
}

/// CVE-2023-47630 (cosign) and CVE-2023-33959 (notation-go): the registry, not the verifier,
/// decided which digest was verified. Here the tag answers with a signed and an unsigned image
/// in turn: whatever a run is served, the digest it reports is the one it hashed and checked,
/// so the signed verdict only ever goes with the signed digest.
#[test]
fn cve_2023_47630_and_cve_2023_33959_the_digest_reported_is_the_digest_verified() {
    let Some((registry, key, signed_digest)) = signed("toctou") else {
        return;
    };
    let unsigned_digest = registry.push("toctou-unsigned", "toctou:unsigned");
    let fault = Fault::AlternatingTag {
        first: "v1".into(),
        second: "unsigned".into(),
    };
    let proxy = proxy::start(&registry.host, fault);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (output, _) = verify_measured(&format!("{proxy}/toctou:live"), &key, &proxy, &[]);
        let verdict: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
        let digest = verdict["digest"].as_str().unwrap().to_string();
        if verdict["verified"] == true {
            assert_eq!(digest, signed_digest);
        } else {
            assert_eq!(digest, unsigned_digest);
            assert_eq!(verdict["reason"], "no_signatures");
        }
        seen.push(digest);
    }
    assert!(seen.contains(&signed_digest) && seen.contains(&unsigned_digest));
}
