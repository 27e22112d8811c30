//! `ocisig`: check that a container image was signed by keys you trust.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ocisig_host::module::ModuleVerdict;
use ocisig_host::policy_args::PolicyArgs;
use ocisig_host::{ModuleLimits, VerifierModule, evidence};

/// Exit status: every image verified.
const EXIT_VERIFIED: u8 = 0;
/// Exit status: some image did not verify.
const EXIT_NOT_VERIFIED: u8 = 1;
/// Exit status: usage error, unreadable file, or invalid policy.
const EXIT_USAGE: u8 = 2;
/// Exit status: the evidence could not be fetched (registry or I/O failure).
const EXIT_FETCH: u8 = 3;

#[derive(Parser)]
#[command(
    name = "ocisig",
    version,
    about = "Check that a container image was signed by keys you trust",
    long_about = "Check that a container image or OCI artifact was signed with cosign by keys \
                  you trust. The verification runs inside a sandboxed WebAssembly module: the \
                  same module that runs in Kubewarden, OPA hosts and the browser.",
    after_help = "Examples:\n  \
        ocisig verify oci:examples/signed/layout --key examples/keys/alice.pub\n  \
        ocisig fetch oci:examples/signed/layout -o evidence.json\n  \
        ocisig eval --policy examples/signed/policy.json --evidence examples/signed/evidence.json\n\n\
        Exit status:\n  \
        0  verified\n  \
        1  not verified (the verdict says why)\n  \
        2  usage error, unreadable file or invalid policy\n  \
        3  the evidence could not be fetched"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify images against trusted keys and print one verdict per image.
    #[command(after_help = concat!(
        "Image sources:\n  \
        oci:DIR[:TAG]   an OCI image layout, as written by `cosign save` or `skopeo copy`\n\n\
        Examples:\n  \
        ocisig verify oci:examples/signed/layout --key examples/keys/alice.pub\n  \
        ocisig verify oci:DIR --key alice=a.pub --key bob=b.pub --threshold 2 --require alice\n  \
        ocisig verify oci:DIR --key a.pub -a env=prod --output json\n\n",
        "Exit status:\n  \
        0  every image verified\n  \
        1  some image did not verify (the verdict says why)\n  \
        2  usage error, unreadable file or invalid policy\n  \
        3  the evidence could not be fetched"))]
    Verify {
        /// Images to verify.
        #[arg(value_name = "IMAGE", required = true)]
        images: Vec<String>,
        #[command(flatten)]
        policy: PolicyFlags,
        /// Output format: one line per image, or one JSON verdict per line.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// Run this verifier module instead of the one built into the binary.
        #[arg(long, value_name = "FILE")]
        module: Option<PathBuf>,
    },
    /// Fetch an image's signature evidence and write it as an evidence document.
    #[command(
        after_help = "The evidence document is the input of `ocisig eval`, the OPA and \
        browser builds, and Kubewarden's raw mode (docs/contracts.md).\n\n\
        Examples:\n  \
        ocisig fetch oci:examples/signed/layout -o evidence.json\n\n\
        Exit status:\n  \
        0  written\n  \
        2  usage error\n  \
        3  the evidence could not be fetched"
    )]
    Fetch {
        /// The image.
        #[arg(value_name = "IMAGE")]
        image: String,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Verify an evidence document against a policy and print the verdict JSON.
    #[command(after_help = "Examples:\n  \
        ocisig eval --policy examples/signed/policy.json --evidence examples/signed/evidence.json\n\n\
        The policy, evidence and verdict formats are documented in docs/contracts.md.\n\n\
        Exit status:\n  \
        0  verified\n  \
        1  not verified (the verdict's `reason` says why)\n  \
        2  usage error or unreadable file")]
    Eval {
        /// Policy JSON: trusted keys, threshold, required keys and annotations.
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// Evidence JSON: the image digest, its .sig manifest and payload blobs.
        #[arg(long, value_name = "FILE")]
        evidence: PathBuf,
        /// Run this verifier module instead of the one built into the binary.
        #[arg(long, value_name = "FILE")]
        module: Option<PathBuf>,
    },
}

#[derive(Args)]
struct PolicyFlags {
    /// A trusted public key (PEM); repeatable. NAME defaults to the file name without extension.
    #[arg(short = 'k', long = "key", value_name = "[NAME=]FILE")]
    keys: Vec<String>,
    /// How many distinct keys must each have signed [default: 1]
    #[arg(long, value_name = "N")]
    threshold: Option<u32>,
    /// A key that must be among the signers; repeatable.
    #[arg(long = "require", value_name = "NAME")]
    required: Vec<String>,
    /// An annotation the signature must carry; repeatable.
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// A policy file (JSON, docs/contracts.md); the flags above add to it.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_VERIFIED
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("ocisig: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Verify {
            images,
            policy,
            output,
            module,
        } => {
            let args = PolicyArgs {
                file: policy.policy,
                keys: policy.keys,
                threshold: policy.threshold,
                required: policy.required,
                annotations: policy.annotations,
            };
            let (policy, policy_json) = args.build()?;
            let verifier = load_module(module.as_deref())?;
            let mut worst = EXIT_VERIFIED;
            for image in &images {
                let evidence = match evidence::fetch(image, policy.limits()) {
                    Ok(evidence) => evidence,
                    Err(err) => {
                        eprintln!("ocisig: {image}: {err:#}");
                        worst = worst.max(EXIT_FETCH);
                        continue;
                    }
                };
                let verdict = verifier.verify(&policy_json, &evidence);
                if !verdict.verified {
                    worst = worst.max(EXIT_NOT_VERIFIED);
                }
                match output {
                    Output::Json => print_line(&verdict.json),
                    Output::Text => print_line(&text_line(image, &verdict)),
                }
            }
            Ok(worst)
        }
        Command::Fetch { image, output } => {
            let limits = ocisig::LimitsDocument::default();
            let evidence = match evidence::fetch(&image, &limits) {
                Ok(evidence) => evidence,
                Err(err) => {
                    eprintln!("ocisig: {image}: {err:#}");
                    return Ok(EXIT_FETCH);
                }
            };
            match output {
                Some(path) => std::fs::write(&path, &evidence)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print_line(&String::from_utf8_lossy(&evidence)),
            }
            Ok(EXIT_VERIFIED)
        }
        Command::Eval {
            policy,
            evidence,
            module,
        } => {
            let policy = read(&policy, "policy")?;
            let evidence = read(&evidence, "evidence")?;
            let verdict = load_module(module.as_deref())?.verify(&policy, &evidence);
            print_line(&verdict.json);
            Ok(if verdict.verified {
                EXIT_VERIFIED
            } else {
                EXIT_NOT_VERIFIED
            })
        }
    }
}

fn load_module(path: Option<&Path>) -> anyhow::Result<VerifierModule> {
    match path {
        Some(path) => VerifierModule::from_bytes(&read(path, "module")?, ModuleLimits::default())
            .with_context(|| format!("cannot load module {}", path.display())),
        None => VerifierModule::embedded(),
    }
}

/// `verified  IMAGE@DIGEST  message` or `denied    IMAGE@DIGEST  reason: message`.
fn text_line(image: &str, verdict: &ModuleVerdict) -> String {
    let field = |name: &str| {
        verdict
            .value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    };
    let digest = field("digest");
    let at = if digest.is_empty() {
        String::new()
    } else {
        format!("@{digest}")
    };
    if verdict.verified {
        format!("verified  {image}{at}  {}", field("message"))
    } else {
        format!(
            "denied    {image}{at}  {}: {}",
            field("reason"),
            field("message")
        )
    }
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} file {}", path.display()))
}

/// Prints one line; a closed pipe (`ocisig … | head`) is not an error worth reporting.
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
