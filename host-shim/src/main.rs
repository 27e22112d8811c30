//! `ocisig`: check that a container image was signed by keys you trust.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ocisig::evidence::plan::Plan;
use ocisig_host::batch::{Batch, ImageOutcome};
use ocisig_host::credentials::Credentials;
use ocisig_host::evidence::{self, Source};
use ocisig_host::module::ModuleVerdict;
use ocisig_host::policy_args::PolicyArgs;
use ocisig_host::registry::{Registry, RegistryOptions};
use ocisig_host::trust;
use ocisig_host::{ModuleLimits, VerifierModule};

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
        ocisig verify ghcr.io/org/app:1.2 --key cosign.pub\n  \
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
    /// Verify images against trusted keys or keyless identities and print one verdict per image.
    #[command(after_help = concat!(
        "Image sources:\n  \
        HOST/REPO:TAG          a registry image; the tag is resolved to a digest once, by hashing\n  \
        HOST/REPO@sha256:HEX   a registry image by digest\n  \
        busybox                Docker Hub short names work as in docker and cosign\n  \
        oci:DIR[:TAG]          an OCI image layout, as written by `cosign save` or `skopeo copy`\n\n\
        Registry credentials come from $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or\n\
        ~/.docker/config.json (what `docker login` writes), credential helpers included.\n\n\
        Examples:\n  \
        ocisig verify oci:examples/signed/layout --key examples/keys/alice.pub\n  \
        ocisig verify ghcr.io/org/app:1.2 ghcr.io/org/db:3 --key cosign.pub\n  \
        ocisig verify localhost:5000/app:dev --insecure-registry localhost:5000 --key cosign.pub\n  \
        ocisig verify IMAGE --key alice=a.pub --key bob=b.pub --threshold 2 --require alice\n  \
        ocisig verify IMAGE --policy policy.yaml -a env=prod --output json\n  \
        ocisig verify IMAGE --key k.pub --trusted-root trusted_root.json --rekor-mode require\n  \
        ocisig verify INDEX --key k.pub --verify-platforms   (after cosign sign --recursive)\n  \
        ocisig verify IMAGE --key k.pub --format bundle      (cosign v3 signatures only)\n  \
        ocisig verify ghcr.io/org/app:1.2 \\\n      \
        --certificate-identity-regexp 'https://github\\.com/org/app/.*' \\\n      \
        --certificate-oidc-issuer https://token.actions.githubusercontent.com   (keyless)\n\n\
        Both signature formats are read: cosign's `.sig` tag (simple signing) and Sigstore bundles\n\
        attached as OCI referrers (cosign v3, `cosign sign --new-bundle-format`), found through the\n\
        referrers API or the `sha256-<hex>` tag. A key counts once, whichever format it signed in.\n\
        Attestations (SLSA provenance, SBOMs) never count as signatures: check them with\n\
        `ocisig verify-attestation`, or with attestation rules in a --policy file.\n\n\
        Keyless signatures count for an identity: the Fulcio certificate must chain to the trusted\n\
        root (the embedded public-good snapshot unless --trusted-root), carry a valid SCT, and be\n\
        valid when the Rekor entry or a signed timestamp proves it signed. Patterns must match the\n\
        whole value (cosign's match anywhere unless anchored with ^...$).\n\n",
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
        #[command(flatten)]
        batch: BatchFlags,
    },
    /// Verify images' attestations (SLSA provenance, SBOMs, scans) and print one verdict per
    /// image, with the statements that verified.
    #[command(after_help = concat!(
        "An attestation is an in-toto statement about the image, signed as cosign attest signs it:\n\
        a layer of the legacy `.att` tag, or a Sigstore bundle attached as an OCI referrer (cosign\n\
        v3, --new-bundle-format). It counts when its signature verifies under a key or identity you\n\
        name, a subject of the statement is the image digest, and its predicate type is --type.\n\
        The flags name the attestation's signers (as for verify); with --policy, the policy's own\n\
        rules (signatures and attestation rules with conditions, docs/contracts.md) apply as well.\n\n\
        Types: slsaprovenance (v0.2), slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx,\n\
        link, vuln, openvex, custom (cosign's names), or any predicate type URI.\n\n\
        Examples:\n  \
        ocisig verify-attestation ghcr.io/org/app:1.2 --key cosign.pub --type slsaprovenance1\n  \
        ocisig verify-attestation IMAGE --key cosign.pub --type spdxjson --output json\n  \
        ocisig verify-attestation IMAGE --policy policy.yaml   (its attestations rules)\n  \
        ocisig verify-attestation IMAGE --type https://slsa.dev/provenance/v1 \\\n      \
        --certificate-identity-regexp 'https://github\\.com/org/.*' \\\n      \
        --certificate-oidc-issuer https://token.actions.githubusercontent.com   (keyless)\n\n",
        "Exit status:\n  \
        0  every image verified\n  \
        1  some image did not verify (the verdict says why)\n  \
        2  usage error, unreadable file or invalid policy\n  \
        3  the evidence could not be fetched"))]
    VerifyAttestation {
        /// Images to verify.
        #[arg(value_name = "IMAGE", required = true)]
        images: Vec<String>,
        /// The predicate type the attestation must have: a cosign name or a URI.
        #[arg(long = "type", value_name = "TYPE")]
        predicate_type: Option<String>,
        #[command(flatten)]
        policy: PolicyFlags,
        #[command(flatten)]
        batch: BatchFlags,
    },
    /// Fetch an image's signature evidence and write it as an evidence document.
    #[command(
        after_help = "The evidence document is the input of `ocisig eval`, the OPA and \
        browser builds, and Kubewarden's raw mode (docs/contracts.md). It holds both of cosign's \
        formats: the .sig manifest and its payloads, the .att manifest (legacy attestations) and \
        its envelopes, and the Sigstore bundle referrers (cosign v3) with their bundles.\n\n\
        Examples:\n  \
        ocisig fetch oci:examples/signed/layout -o evidence.json\n  \
        ocisig fetch ghcr.io/org/app:1.2 > evidence.json\n  \
        ocisig fetch ghcr.io/org/multi:1.2 --platforms -o evidence.json   (for verifyPlatforms)\n\n\
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
        /// Also fetch the image manifest and the signatures of every manifest an index lists,
        /// for policies with verifyPlatforms.
        #[arg(long)]
        platforms: bool,
        #[command(flatten)]
        registry: RegistryFlags,
    },
    /// Verify a Sigstore bundle for a file or digest (cosign's verify-blob job), as the
    /// sigstore-conformance protocol calls a client.
    #[command(
        name = "verify-bundle",
        after_help = "Key-based: the bundle must be signed with the key given (--key).\n\
        Keyless: the bundle's certificate must chain to a certificate authority of the trusted\n\
        root, carry an SCT from one of its CT logs, and name the identity given\n\
        (--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]; a pattern must\n\
        match the whole value). It must be valid at a time the bundle proves: a signed timestamp\n\
        from a timestamp authority of the root, or a log entry's inclusion promise.\n\n\
        Its transparency-log entries are required, and checked offline against the trusted root:\n\
        the inclusion promise, the inclusion proof to a checkpoint the log signed, and that the\n\
        entry records this very signature and key or certificate.\n\n\
        Without --trusted-root, the public-good production root embedded in ocisig is used; ocisig\n\
        says how old it is; after `ocisig trust update`, the root it verified through TUF is used\n\
        instead (and kept metadata that has expired is an error, never silently replaced).\n\n\
        FILE_OR_DIGEST is the artifact, or its digest as sha256:<64 hex> (when no such file\n\
        exists). For a DSSE bundle, it must be a subject of the signed in-toto statement.\n\n\
        Examples:\n  \
        ocisig verify-bundle --bundle a.txt.sigstore.json --key cosign.pub a.txt\n  \
        ocisig verify-bundle --bundle b.json --key k.pub --trusted-root tr.json sha256:9f86d0…\n  \
        ocisig verify-bundle --bundle a.sigstore.json \\\n      \
        --certificate-identity https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main \\\n      \
        --certificate-oidc-issuer https://token.actions.githubusercontent.com a.txt\n\n\
        Exit status:\n  \
        0  verified\n  \
        1  not verified (the verdict says why)\n  \
        2  usage error, unreadable file or invalid key"
    )]
    VerifyBundle {
        /// The Sigstore bundle (JSON).
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// The public key (PEM) the bundle must be signed with.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        #[command(flatten)]
        identity: IdentityFlags,
        /// A Sigstore trusted_root.json [default: the embedded public-good production root]
        #[arg(long = "trusted-root", value_name = "FILE")]
        trusted_root: Option<PathBuf>,
        /// Use Sigstore's staging instance (needs --trusted-root: no staging root is embedded).
        #[arg(long)]
        staging: bool,
        /// Output format: one line, or the verdict JSON.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// The artifact file, or its digest (sha256:HEX).
        #[arg(value_name = "FILE_OR_DIGEST")]
        artifact: String,
    },
    /// Serve Lakom's admission webhooks and a Gatekeeper external-data provider over HTTPS.
    #[command(after_help = concat!(
        "Endpoints:\n  \
        POST /lakom/resolve-tag-to-digest   mutating webhook: pins each image tag to its digest\n  \
        POST /lakom/verify-cosign-signature validating webhook: admits only verified images\n  \
        POST /gatekeeper/verify             Gatekeeper external data (ProviderRequest)\n  \
        POST /gatekeeper/mutate             the same, answering pinned references (for Assign)\n  \
        POST /v1/verify                     {\"images\": [...]} in, one decision per image out\n  \
        GET  /metrics /healthz /readyz      Prometheus metrics (Lakom's names) and probes\n\n\
        The validating webhook judges digest-pinned references: Kubernetes calls the mutating\n\
        webhook first, which pins them. A reference with only a tag is denied (unpinned_image)\n\
        unless --allow-tags, which resolves it again here: the node may then pull a tag that\n\
        has moved since (a time-of-check to time-of-use gap). Verdicts are cached by repository,\n\
        image digest and policy digest (under a policy set, the digests of the rules that\n\
        apply to the image), verified ones only unless --cache-denials; registry\n\
        errors and timeouts are never cached. A timeout is a denial that says so, never \"no\n\
        signatures\". The policy and certificate files are read again when they change; a bad\n\
        new file is logged and the old one kept. SIGTERM lets requests in flight finish.\n\n\
        Durations: 500ms, 30s, 10m, 1h; a bare number is seconds.\n\n\
        Examples:\n  \
        ocisig serve --tls-cert tls.crt --tls-key tls.key --lakom-config lakom.yaml\n  \
        ocisig serve --tls-cert tls.crt --tls-key tls.key --policy policy.yaml \\\n      \
        --client-ca gatekeeper-ca.crt --health-listen 0.0.0.0:8081 --warn-only\n\n\
        Manifests: deploy/ (Deployment, Service, webhooks, Gatekeeper Provider).\n\n",
        "Exit status:\n  \
        0  stopped by SIGTERM or SIGINT\n  \
        2  usage error, unreadable file, invalid policy or certificate"))]
    Serve(ServeFlags),
    /// Work with policy documents.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Keep Sigstore trust material fresh through TUF: `trusted_root.json`, verified.
    #[command(subcommand)]
    Trust(TrustCommand),
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

/// Where TUF state is kept, per mirror.
#[derive(Args)]
struct MirrorFlags {
    /// The TUF repository: an http(s):// URL (metadata at URL/N.root.json, URL/timestamp.json,
    /// …; targets under URL/targets/), or a local directory laid out the same way (air-gapped).
    #[arg(long, value_name = "URL|DIR", default_value = ocisig_host::tuf_client::DEFAULT_MIRROR)]
    mirror: String,
    /// Where the trusted metadata is kept, one directory per mirror [default:
    /// $XDG_CACHE_HOME/ocisig/tuf or ~/.cache/ocisig/tuf]. It carries the rollback and freeze
    /// protection: it is state, not a cache to clear.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

impl MirrorFlags {
    fn cache_dir(&self) -> anyhow::Result<PathBuf> {
        self.cache_dir
            .clone()
            .or_else(ocisig_host::tuf_client::default_cache_dir)
            .context("no --cache-dir, and neither XDG_CACHE_HOME nor HOME is set")
    }
}

/// `ocisig trust …`.
#[derive(Subcommand)]
enum TrustCommand {
    /// Refresh the trusted metadata from a TUF repository (the TUF client workflow: root
    /// rotation, timestamp, snapshot, targets, each verified) and fetch `trusted_root.json`.
    #[command(after_help = "Examples:\n  \
        ocisig trust update                                  (Sigstore's public-good repository)\n  \
        ocisig trust update --mirror https://tuf.corp.example --root corp-root.json\n  \
        ocisig trust update --mirror /media/usb/sigstore-tuf (air-gapped: a copy of the repository)\n\n\
        A mirror with no kept state starts from --root FILE, else from Sigstore's TUF root.json\n\
        built into ocisig; once it has state, --root is not used, so that it never replaces a\n\
        newer trusted root.\n\n\
        Exit status:\n  \
        0  refreshed: prints the root version reached and the trusted root's sha256\n  \
        1  the refresh failed (the message names the file and why)\n  \
        2  usage error")]
    Update {
        #[command(flatten)]
        mirror: MirrorFlags,
        /// The TUF root.json to start from when the mirror has no kept state.
        #[arg(long, value_name = "FILE")]
        root: Option<PathBuf>,
    },
    /// Print the verified `trusted_root.json` of the kept state, byte for byte, checked against
    /// the kept metadata now, without fetching anything.
    #[command(after_help = "Examples:\n  \
        ocisig trust show > trusted_root.json\n\n\
        Exit status:\n  \
        0  printed\n  \
        1  nothing was ever verified, or the kept metadata has expired (run ocisig trust update)\n  \
        2  usage error")]
    Show {
        #[command(flatten)]
        mirror: MirrorFlags,
    },
    /// The TUF conformance suite's client protocol (its CLIENT-CLI.md) over the same code as
    /// `update`: `--metadata-dir DIR init ROOT`, `… --metadata-url URL refresh`, `…
    /// --target-name PATH --target-base-url URL --target-dir DIR download`. For
    /// tests/tuf/conformance-client; exit 0 or 1.
    #[command(hide = true)]
    ConformanceClient {
        #[arg(long, value_name = "DIR")]
        metadata_dir: PathBuf,
        #[arg(long, value_name = "URL")]
        metadata_url: Option<String>,
        #[arg(long, value_name = "PATH")]
        target_name: Option<String>,
        #[arg(long, value_name = "URL")]
        target_base_url: Option<String>,
        #[arg(long, value_name = "DIR")]
        target_dir: Option<PathBuf>,
        /// init, refresh or download.
        #[arg(value_parser = ["init", "refresh", "download"])]
        command: String,
        /// For init: the trusted root.json.
        root: Option<PathBuf>,
    },
}

/// `ocisig policy …`.
#[derive(Subcommand)]
enum PolicyCommand {
    /// Print a policy, a policy set or ClusterImagePolicy files as ocisig understands them:
    /// each rule's globs, mode and authorities, each policy's signers, formats and log rule,
    /// with their digests. A field ocisig cannot honour is refused, naming it.
    #[command(after_help = "Examples:\n  \
        ocisig policy explain examples/policy-set/set.json\n  \
        ocisig policy explain cips/ --trusted-root corp=corp_root.json\n  \
        ocisig policy explain cip.yaml --output document > set.json   (the set it reads)\n\n\
        Exit status:\n  \
        0  the document is valid\n  \
        2  usage error, unreadable file or invalid document")]
    Explain {
        /// The policy file, policy set, ClusterImagePolicy YAML or a directory of them.
        #[arg(value_name = "FILE|DIR")]
        file: PathBuf,
        #[command(flatten)]
        sets: SetFlags,
        /// text (for people), json (the explanation) or document (the policy or policy set
        /// ocisig reads, a ClusterImagePolicy translated: what the other engines take)
        #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json", "document"])]
        output: String,
    },
}

/// How `verify` and `verify-attestation` go through their images and print the verdicts.
#[derive(Args)]
struct BatchFlags {
    /// Output format: one line per image (and one per verified attestation statement, with its
    /// type and subject), or one JSON verdict per line, statements and predicates included.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// How many images to fetch and verify at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    #[command(flatten)]
    registry: RegistryFlags,
    /// Run this verifier module instead of the one built into the binary.
    #[arg(long, value_name = "FILE")]
    module: Option<PathBuf>,
}

#[derive(Args)]
struct PolicyFlags {
    /// A trusted public key (PEM); repeatable. NAME defaults to the file name without extension.
    #[arg(short = 'k', long = "key", value_name = "[NAME=]FILE")]
    keys: Vec<String>,
    #[command(flatten)]
    identity: IdentityFlags,
    /// How many distinct keys or identities must each have signed [default: 1]
    #[arg(long, value_name = "N")]
    threshold: Option<u32>,
    /// A key or identity (by name) that must be among the signers; repeatable.
    #[arg(long = "require", value_name = "NAME")]
    required: Vec<String>,
    /// An annotation the signature must carry; repeatable.
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// A trusted Rekor log key (PEM); repeatable. Rekor bundles are then checked offline.
    #[arg(long = "rekor-key", value_name = "FILE")]
    rekor_keys: Vec<PathBuf>,
    #[command(flatten)]
    sets: SetFlags,
    /// Whether a Rekor bundle is required [default: verify-if-present with Rekor keys, else ignore]
    #[arg(long = "rekor-mode", value_name = "MODE", value_parser = parse_rekor_mode)]
    rekor_mode: Option<ocisig::RekorMode>,
    /// For a multi-platform index: every manifest it lists must verify too, not only the index
    /// (what `cosign sign --recursive` promises). Off by default, as in cosign.
    #[arg(long = "verify-platforms")]
    verify_platforms: bool,
    /// Count only signatures stored in this format: simplesigning (the cosign .sig tag) or
    /// bundle (Sigstore bundles as OCI referrers, cosign v3); repeatable [default: both]
    #[arg(long = "format", value_name = "FORMAT", value_parser = parse_format)]
    formats: Vec<ocisig::Format>,
    /// A policy file (JSON, or YAML if named .yaml/.yml; docs/contracts.md), which the flags
    /// above add to; or a policy set (docs/policy-sets.md): an ocisig set, or sigstore
    /// ClusterImagePolicy YAML (a file, several documents, or a directory of them)
    #[arg(long, value_name = "FILE|DIR")]
    policy: Option<PathBuf>,
}

/// The flags that read ClusterImagePolicy files and policy sets, `serve`'s too.
#[derive(Args)]
struct CipFlags {
    /// A Sigstore trusted_root.json: its transparency logs, and for keyless its certificate
    /// authorities, CT logs and timestamp authorities [default with an identity: the embedded
    /// public-good production root]. With ClusterImagePolicy files, NAME=FILE is the root their
    /// trustRootRef NAME means (repeatable), and a bare FILE the root of authorities naming none
    #[arg(long = "trusted-root", value_name = "[NAME=]FILE")]
    trusted_root: Vec<String>,
    /// ClusterImagePolicy files: where key.secretRef secrets are mounted, one directory per
    /// secret, DIR/NAMESPACE/NAME/, holding the public key as its one file
    #[arg(long = "secret-dir", value_name = "DIR")]
    secret_dir: Option<PathBuf>,
    /// Policy sets: what happens to an image no rule matches, as policy-controller's
    /// no-match-policy [default: the set's `unmatched`, else deny]
    #[arg(long = "no-match", value_name = "ACTION", value_parser = ["deny", "allow", "warn"])]
    no_match: Option<String>,
}

/// The flags that read policy sets and ClusterImagePolicy files.
#[derive(Args)]
struct SetFlags {
    #[command(flatten)]
    cip: CipFlags,
    /// Policy sets: every rule in warn mode (a failure admits with a warning naming the rule)
    #[arg(long = "warn-only")]
    warn_only: bool,
}

impl CipFlags {
    /// Adds what the flags say to `args`. NAME=FILE names a root, unless the whole spec is an
    /// existing file (whose name may hold '='); a bare FILE is the one root.
    fn apply(self, args: &mut PolicyArgs) -> anyhow::Result<()> {
        for spec in &self.trusted_root {
            match spec.split_once('=') {
                Some((name, file)) if !Path::new(spec).exists() && !name.is_empty() => {
                    args.named_roots
                        .push((name.to_string(), PathBuf::from(file)));
                }
                _ if args.trusted_root.is_some() => {
                    anyhow::bail!("--trusted-root FILE is given twice; name roots with NAME=FILE")
                }
                _ => args.trusted_root = Some(PathBuf::from(spec)),
            }
        }
        args.secret_dir = self.secret_dir;
        args.no_match = self.no_match;
        Ok(())
    }
}

impl SetFlags {
    /// Adds what the flags say to `args`.
    fn apply(self, args: &mut PolicyArgs) -> anyhow::Result<()> {
        args.warn_only = self.warn_only;
        self.cip.apply(args)
    }
}

impl PolicyFlags {
    /// What the flags say, for [`PolicyArgs::build`]; with `attestation_type`, the signers they
    /// name make an attestation rule of that type.
    fn args(self, attestation_type: Option<String>) -> anyhow::Result<PolicyArgs> {
        let mut args = PolicyArgs {
            file: self.policy,
            keys: self.keys,
            threshold: self.threshold,
            required: self.required,
            annotations: self.annotations,
            rekor_keys: self.rekor_keys,
            rekor_mode: self.rekor_mode,
            verify_platforms: self.verify_platforms,
            formats: self.formats,
            identity: self.identity.document()?,
            attestation_type,
            ..PolicyArgs::default()
        };
        self.sets.apply(&mut args)?;
        Ok(args)
    }
}

/// `ocisig serve`'s flags.
#[derive(Args)]
#[command(group = clap::ArgGroup::new("trust").required(true).args(["policy", "lakom_config"]))]
struct ServeFlags {
    /// The HTTPS address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9443")]
    listen: std::net::SocketAddr,
    /// Also serve /healthz, /readyz and /metrics (and nothing else) over plain HTTP here.
    #[arg(long = "health-listen", value_name = "ADDR")]
    health_listen: Option<std::net::SocketAddr>,
    /// The server certificate chain (PEM), read again when it changes.
    #[arg(long = "tls-cert", value_name = "FILE")]
    tls_cert: PathBuf,
    /// The server's private key (PEM), read again when it changes.
    #[arg(long = "tls-key", value_name = "FILE")]
    tls_key: PathBuf,
    /// Require a client certificate issued by this CA (PEM): mTLS, as Gatekeeper offers.
    #[arg(long = "client-ca", value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// The ocisig policy (JSON, or YAML if named .yaml/.yml; docs/contracts.md), a policy set,
    /// or sigstore ClusterImagePolicy YAML (a file, several documents or a directory;
    /// docs/policy-sets.md).
    #[arg(long, value_name = "FILE|DIR")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    sets: CipFlags,
    /// Lakom's configuration file, unchanged (publicKeys: name, key, algorithm): any one of
    /// its keys must have signed.
    #[arg(
        long = "lakom-config",
        alias = "lakom-config-path",
        value_name = "FILE"
    )]
    lakom_config: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryAccessFlags,
    /// How long a verdict is cached (0: not at all).
    #[arg(long = "cache-ttl", value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    cache_ttl: Duration,
    /// How long a tag's digest is cached (0: not at all).
    #[arg(long = "tag-cache-ttl", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    tag_cache_ttl: Duration,
    /// The most verdicts (and tags) cached; the oldest go first.
    #[arg(long = "cache-entries", value_name = "N", default_value_t = 10_000)]
    cache_entries: usize,
    /// Cache denials too, not only verified images (a newly signed image is then denied until
    /// its denial expires).
    #[arg(long = "cache-denials")]
    cache_denials: bool,
    /// The admission webhooks' deadline: keep it under the webhook configuration's
    /// timeoutSeconds (Lakom uses 25s).
    #[arg(long, value_name = "DURATION", default_value = "25s", value_parser = parse_duration)]
    timeout: Duration,
    /// The Gatekeeper provider's deadline: under Gatekeeper's 3 s webhook timeout.
    #[arg(long = "gatekeeper-timeout", value_name = "DURATION", default_value = "2500ms", value_parser = parse_duration)]
    gatekeeper_timeout: Duration,
    /// How many images are fetched and verified at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Admit what would be denied, and say why in the AdmissionReview's warnings (Lakom's
    /// --insecure-allow-untrusted-images).
    #[arg(long = "warn-only", alias = "insecure-allow-untrusted-images")]
    warn_only: bool,
    /// Let the validating webhook resolve tags itself instead of denying them (see above).
    #[arg(long = "allow-tags")]
    allow_tags: bool,
    /// Pin repo:tag as repo@sha256:… rather than repo:tag@sha256:….
    #[arg(long = "pin-digest-only")]
    pin_digest_only: bool,
    /// How often the policy and certificate files are checked for changes.
    #[arg(long = "reload-interval", value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    reload_interval: Duration,
    /// The largest request body read, in bytes.
    #[arg(long = "max-body-bytes", value_name = "N", default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Run this verifier module instead of the one built into the binary.
    #[arg(long, value_name = "FILE")]
    module: Option<PathBuf>,
}

impl ServeFlags {
    fn run(self) -> anyhow::Result<u8> {
        use ocisig_host::serve;
        if self.reload_interval.is_zero() {
            anyhow::bail!("--reload-interval must be more than 0");
        }
        if self.timeout.is_zero() || self.gatekeeper_timeout.is_zero() {
            anyhow::bail!("--timeout and --gatekeeper-timeout must be more than 0");
        }
        let policy = match (self.policy, self.lakom_config) {
            (Some(path), None) => {
                let mut args = PolicyArgs {
                    file: Some(path),
                    ..PolicyArgs::default()
                };
                self.sets.apply(&mut args)?;
                serve::config::PolicySource::Policy(Box::new(args))
            }
            (None, Some(path)) => serve::config::PolicySource::Lakom(path),
            _ => anyhow::bail!("give one of --policy FILE and --lakom-config FILE"),
        };
        // A registry request may outlast the deadline by a little, so that a stalled registry
        // is answered by the deadline (timed_out) rather than by a transport error at the same
        // moment; the request then finishes in the background.
        let registry = self
            .registry
            .client(self.timeout.saturating_add(REGISTRY_GRACE))?;
        let module = load_module(self.module.as_deref())?;
        serve::run(
            serve::ServeOptions {
                listen: self.listen,
                health_listen: self.health_listen,
                certificate: serve::tls::CertificateFiles {
                    certificate: self.tls_cert,
                    key: self.tls_key,
                },
                client_ca: self.client_ca,
                policy,
                reload_interval: self.reload_interval,
                checker: serve::checker::CheckerOptions {
                    verdict_ttl: self.cache_ttl,
                    tag_ttl: self.tag_cache_ttl,
                    cache_entries: self.cache_entries,
                    cache_denials: self.cache_denials,
                    concurrency: usize::from(self.concurrency),
                },
                handlers: serve::HandlerOptions {
                    warn_only: self.warn_only,
                    allow_tags: self.allow_tags,
                    keep_tag: !self.pin_digest_only,
                    timeout: self.timeout,
                    gatekeeper_timeout: self.gatekeeper_timeout,
                    max_body_bytes: self.max_body_bytes,
                },
            },
            std::sync::Arc::new(registry),
            std::sync::Arc::new(module),
        )?;
        Ok(EXIT_VERIFIED)
    }
}

/// How long `ocisig serve`'s registry requests may run past the request deadline.
const REGISTRY_GRACE: Duration = Duration::from_secs(5);

/// `500ms`, `30s`, `10m`, `1h`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (500ms, 30s, 10m, 1h)"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        _ => return Err(format!("{text:?} is not a duration (500ms, 30s, 10m, 1h)")),
    };
    Ok(duration)
}

/// A keyless signer, with cosign's flag names.
#[derive(Args)]
struct IdentityFlags {
    /// Keyless: the certificate's identity (its URI or email SAN), exactly.
    #[arg(long = "certificate-identity", value_name = "IDENTITY")]
    certificate_identity: Option<String>,
    /// Keyless: a pattern the whole certificate identity must match.
    #[arg(
        long = "certificate-identity-regexp",
        value_name = "REGEXP",
        conflicts_with = "certificate_identity"
    )]
    certificate_identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer Fulcio recorded, exactly.
    #[arg(long = "certificate-oidc-issuer", value_name = "URL")]
    certificate_oidc_issuer: Option<String>,
    /// Keyless: a pattern the whole OIDC issuer must match.
    #[arg(
        long = "certificate-oidc-issuer-regexp",
        value_name = "REGEXP",
        conflicts_with = "certificate_oidc_issuer"
    )]
    certificate_oidc_issuer_regexp: Option<String>,
    /// Keyless: the GitHub workflow trigger the certificate records (e.g. push), exactly.
    #[arg(long = "certificate-github-workflow-trigger", value_name = "TRIGGER")]
    github_workflow_trigger: Option<String>,
    /// Keyless: the GitHub workflow commit SHA the certificate records, exactly.
    #[arg(long = "certificate-github-workflow-sha", value_name = "SHA")]
    github_workflow_sha: Option<String>,
    /// Keyless: the GitHub workflow name the certificate records, exactly.
    #[arg(long = "certificate-github-workflow-name", value_name = "NAME")]
    github_workflow_name: Option<String>,
    /// Keyless: the GitHub repository (owner/repo) the certificate records, exactly.
    #[arg(
        long = "certificate-github-workflow-repository",
        value_name = "OWNER/REPO"
    )]
    github_workflow_repository: Option<String>,
    /// Keyless: the GitHub ref (e.g. refs/tags/v1.0) the certificate records, exactly.
    #[arg(long = "certificate-github-workflow-ref", value_name = "REF")]
    github_workflow_ref: Option<String>,
}

impl IdentityFlags {
    /// The identity the flags name, as a policy entry; `None` when no flag is given.
    ///
    /// # Errors
    /// When a subject is given without an issuer, or the other way round.
    fn document(&self) -> anyhow::Result<Option<ocisig::IdentityDocument>> {
        let subject =
            self.certificate_identity.is_some() || self.certificate_identity_regexp.is_some();
        let issuer =
            self.certificate_oidc_issuer.is_some() || self.certificate_oidc_issuer_regexp.is_some();
        let identity = ocisig::IdentityDocument {
            subject: self.certificate_identity.clone(),
            subject_reg_exp: self
                .certificate_identity
                .is_none()
                .then(|| self.certificate_identity_regexp.clone())
                .flatten(),
            issuer: self.certificate_oidc_issuer.clone(),
            issuer_reg_exp: self
                .certificate_oidc_issuer
                .is_none()
                .then(|| self.certificate_oidc_issuer_regexp.clone())
                .flatten(),
            github_workflow_trigger: self.github_workflow_trigger.clone(),
            github_workflow_sha: self.github_workflow_sha.clone(),
            github_workflow_name: self.github_workflow_name.clone(),
            github_workflow_repository: self.github_workflow_repository.clone(),
            github_workflow_ref: self.github_workflow_ref.clone(),
            ..ocisig::IdentityDocument::default()
        };
        let narrowed = [
            &identity.github_workflow_trigger,
            &identity.github_workflow_sha,
            &identity.github_workflow_name,
            &identity.github_workflow_repository,
            &identity.github_workflow_ref,
        ]
        .iter()
        .any(|value| value.is_some());
        match (subject, issuer) {
            (false, false) if !narrowed => Ok(None),
            (false, false) => anyhow::bail!(
                "--certificate-github-workflow-* narrow an identity: give \
                 --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] too"
            ),
            (true, true) => Ok(Some(identity)),
            (true, false) => anyhow::bail!(
                "--certificate-identity[-regexp] needs --certificate-oidc-issuer[-regexp]: an \
                 identity is a subject and the issuer that vouched for it"
            ),
            (false, true) => anyhow::bail!(
                "--certificate-oidc-issuer[-regexp] needs --certificate-identity[-regexp]: an \
                 identity is a subject and the issuer that vouched for it"
            ),
        }
    }
}

/// How registries are reached: shared by every command that fetches.
#[derive(Args)]
struct RegistryAccessFlags {
    /// Reach this registry (HOST or HOST:PORT) over plain HTTP; repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    insecure_registries: Vec<String>,
    /// Also trust the CA certificates in this PEM file for registries; repeatable.
    #[arg(long = "ca-file", value_name = "FILE")]
    ca_files: Vec<PathBuf>,
}

impl RegistryAccessFlags {
    /// The registry client, with this request timeout.
    fn client(&self, timeout: Duration) -> anyhow::Result<Registry> {
        let options = RegistryOptions {
            insecure_registries: self.insecure_registries.clone(),
            ca_files: self.ca_files.clone(),
            timeout,
            connect_timeout: timeout.min(RegistryOptions::default().connect_timeout),
        };
        Registry::new(&options, Credentials::from_environment()?)
    }
}

#[derive(Args)]
struct RegistryFlags {
    #[command(flatten)]
    access: RegistryAccessFlags,
    /// Give up on a registry request after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

impl RegistryFlags {
    /// The registry client, if any source needs one.
    fn client(&self, sources: &[Source]) -> anyhow::Result<Option<Registry>> {
        if !sources.iter().any(|s| matches!(s, Source::Registry(_))) {
            return Ok(None);
        }
        self.access
            .client(Duration::from_secs(self.timeout))
            .map(Some)
    }
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
            batch,
        } => {
            let (document, policy_json, _) = policy.args(None)?.build_document()?;
            verify_images(&images, (&document, &policy_json), &batch)
        }
        Command::VerifyAttestation {
            images,
            predicate_type,
            policy,
            batch,
        } => {
            if predicate_type.is_none() && policy.policy.is_none() {
                anyhow::bail!(
                    "name the predicate type with --type TYPE (for example slsaprovenance1), or \
                     give a --policy FILE with attestations rules"
                );
            }
            let (document, policy_json, _) = policy.args(predicate_type)?.build_document()?;
            let ocisig::Document::Policy(policy) = &document else {
                anyhow::bail!(
                    "verify-attestation takes one policy; a policy set's attestation rules are \
                     checked by `ocisig verify --policy SET`"
                );
            };
            if policy.attestations().is_empty() {
                anyhow::bail!(
                    "the policy has no attestations rules: name the predicate type with --type \
                     TYPE (for example slsaprovenance1)"
                );
            }
            verify_images(&images, (&document, &policy_json), &batch)
        }
        Command::Fetch {
            image,
            output,
            platforms,
            registry,
        } => {
            let source = Source::parse(&image)?;
            let registry = registry.client(std::slice::from_ref(&source))?;
            let plan =
                Plan::everything(&ocisig::LimitsDocument::default()).with_platforms(platforms);
            let fetched = match evidence::fetch(&source, registry.as_ref(), &plan) {
                Ok(fetched) => fetched,
                Err(err) => {
                    eprintln!("ocisig: {image}: {err:#}");
                    return Ok(EXIT_FETCH);
                }
            };
            match output {
                Some(path) => std::fs::write(&path, &fetched.document)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print_line(&String::from_utf8_lossy(&fetched.document)),
            }
            Ok(EXIT_VERIFIED)
        }
        Command::VerifyBundle {
            bundle,
            key,
            identity,
            trusted_root,
            staging,
            output,
            artifact,
        } => {
            let mut document = ocisig::PolicyDocument::default();
            let what = match (&key, identity.document()?) {
                (Some(key), None) => {
                    let key_pem = String::from_utf8(read(key, "key")?)
                        .with_context(|| format!("{} is not a PEM file", key.display()))?;
                    document.keys.push(ocisig::KeyDocument::new("key", key_pem));
                    key.display().to_string()
                }
                (None, Some(identity)) => {
                    document.identities.push(identity);
                    "the identity".to_string()
                }
                _ => anyhow::bail!(
                    "give --key FILE (a key-based bundle) or --certificate-identity and \
                     --certificate-oidc-issuer (keyless), one of the two"
                ),
            };
            if staging && trusted_root.is_none() {
                anyhow::bail!(
                    "--staging needs --trusted-root: only the production root is embedded"
                );
            }
            let root = match &trusted_root {
                Some(path) => read(path, "trusted root")?,
                None => {
                    let root = trust::DefaultRoot::get()?;
                    eprintln!("ocisig: {}", root.notice);
                    root.bytes.clone()
                }
            };
            let digest = artifact_digest(&artifact)?;
            let bundle_bytes = read(&bundle, "bundle")?;
            document.trusted_root = Some(
                serde_json::from_slice(&root)
                    .with_context(|| "the trusted root is not JSON".to_string())?,
            );
            // The suite's protocol, and cosign verify-blob: the log entry is required.
            document.rekor = Some(ocisig::RekorDocument {
                mode: Some(ocisig::RekorMode::Require),
                ..ocisig::RekorDocument::default()
            });
            // Checked here too, so that a bad key or root is a usage error (exit 2), not a
            // denial.
            ocisig::Policy::from_document(document.clone())
                .with_context(|| format!("cannot use {what} and the trusted root"))?;
            let policy = serde_json::to_vec(&document).context("the policy")?;
            // Like every verdict, in the sandbox.
            let verdict =
                load_module(None)?.verify_bundle(&policy, &bundle_bytes, &digest.to_string());
            match output {
                Output::Json => print_line(&verdict.json),
                Output::Text if verdict.verified => {
                    print_line(&format!(
                        "verified  {artifact}  {}",
                        verdict.field("message")
                    ));
                }
                Output::Text => print_line(&format!(
                    "denied    {artifact}  {}: {}",
                    verdict.field("reason"),
                    verdict.field("message")
                )),
            }
            Ok(if verdict.verified {
                EXIT_VERIFIED
            } else {
                EXIT_NOT_VERIFIED
            })
        }
        Command::Serve(flags) => flags.run(),
        Command::Trust(TrustCommand::Update { mirror, root }) => {
            let cache = mirror.cache_dir()?;
            match ocisig_host::tuf_client::update(&mirror.mirror, root.as_deref(), &cache) {
                Ok(updated) => {
                    print_line(&format!(
                        "root version {}; trusted_root.json {} ({})",
                        updated.root_version,
                        updated.trusted_root,
                        updated.path.display()
                    ));
                    Ok(EXIT_VERIFIED)
                }
                Err(err) => {
                    eprintln!("ocisig trust update: {}: {err:#}", mirror.mirror);
                    Ok(EXIT_NOT_VERIFIED)
                }
            }
        }
        Command::Trust(TrustCommand::ConformanceClient {
            metadata_dir,
            metadata_url,
            target_name,
            target_base_url,
            target_dir,
            command,
            root,
        }) => {
            use ocisig_host::tuf_client::{self, Remote};
            let need = |value: Option<String>, flag: &str| {
                value.with_context(|| format!("{command} needs --{flag}"))
            };
            let result = match command.as_str() {
                "init" => {
                    let root = root.context("init needs the root.json to trust")?;
                    tuf_client::init(&metadata_dir, &std::fs::read(&root)?)
                }
                "refresh" => Remote::new(&need(metadata_url, "metadata-url")?)
                    .and_then(|remote| tuf_client::refresh(&metadata_dir, &remote).map(|_| ())),
                _ => {
                    let metadata = Remote::new(&need(metadata_url, "metadata-url")?)?;
                    let targets = Remote::new(&need(target_base_url, "target-base-url")?)?;
                    let path = need(target_name, "target-name")?;
                    let dir = target_dir.context("download needs --target-dir")?;
                    tuf_client::download(&metadata_dir, &metadata, &targets, &path, &dir)
                        .map(|_| ())
                }
            };
            match result {
                Ok(()) => Ok(EXIT_VERIFIED),
                Err(err) => {
                    eprintln!("ocisig trust conformance-client {command}: {err:#}");
                    Ok(EXIT_NOT_VERIFIED)
                }
            }
        }
        Command::Trust(TrustCommand::Show { mirror }) => {
            let cache = mirror.cache_dir()?;
            match ocisig_host::tuf_client::kept_trusted_root(&mirror.mirror, &cache) {
                Ok(bytes) => {
                    use std::io::Write as _;
                    std::io::stdout().write_all(&bytes)?;
                    Ok(EXIT_VERIFIED)
                }
                Err(err) => {
                    eprintln!("ocisig trust show: {}: {err:#}", mirror.mirror);
                    Ok(EXIT_NOT_VERIFIED)
                }
            }
        }
        Command::Policy(PolicyCommand::Explain { file, sets, output }) => {
            let mut args = PolicyArgs {
                file: Some(file),
                ..PolicyArgs::default()
            };
            sets.apply(&mut args)?;
            let (document, json, _) = args.build_document()?;
            match output.as_str() {
                "document" => print_line(&String::from_utf8_lossy(&json)),
                "json" => print_line(&ocisig::host::explain::explain(&document).to_string()),
                _ => print_line(&explain_text(&ocisig::host::explain::explain(&document))),
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
            let module = load_module(module.as_deref())?;
            // A policy set is decided here over the module's verdicts for its policies; a
            // policy, even one that does not parse, goes to the module as it is.
            let verdict = match ocisig::Document::from_json(&policy) {
                Ok(document @ ocisig::Document::Set(_)) => {
                    match ocisig::Evidence::from_json(&evidence) {
                        Ok(parsed) => ModuleVerdict::judge(
                            &module,
                            &document,
                            &policy,
                            parsed.image(),
                            &parsed.digest(),
                            &evidence,
                            &ocisig::Scope::UNKNOWN,
                        ),
                        Err(err) => {
                            ModuleVerdict::denied(ocisig::Reason::InvalidEvidence, err.to_string())
                        }
                    }
                }
                _ => module.verify(&policy, &evidence),
            };
            print_line(&verdict.json);
            Ok(if verdict.verified {
                EXIT_VERIFIED
            } else {
                EXIT_NOT_VERIFIED
            })
        }
    }
}

fn parse_format(text: &str) -> Result<ocisig::Format, String> {
    text.parse()
        .map_err(|expected| format!("{text:?} is not a format; use {expected}"))
}

/// The digest FILE_OR_DIGEST names: `sha256:<64 hex>` when no file has that name, else the
/// sha256 of the file, read in pieces.
fn artifact_digest(artifact: &str) -> anyhow::Result<ocisig::Sha256Digest> {
    if !Path::new(artifact).exists()
        && let Ok(digest) = ocisig::Sha256Digest::parse(artifact)
    {
        return Ok(digest);
    }
    let file = std::fs::File::open(artifact)
        .with_context(|| format!("cannot read the artifact {artifact}"))?;
    ocisig_host::trust::sha256_of(file)
        .with_context(|| format!("cannot read the artifact {artifact}"))
}

fn parse_rekor_mode(text: &str) -> Result<ocisig::RekorMode, String> {
    text.parse()
        .map_err(|expected| format!("{text:?} is not a mode; use {expected}"))
}

/// One progress bar on standard error, shown only on a terminal and for more than one image.
fn progress_bar(images: usize) -> ProgressBar {
    if images < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::try_from(images).unwrap_or(u64::MAX));
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} images  {elapsed}") {
        bar.set_style(style);
    }
    bar
}

fn load_module(path: Option<&Path>) -> anyhow::Result<VerifierModule> {
    match path {
        Some(path) => VerifierModule::from_bytes(&read(path, "module")?, ModuleLimits::default())
            .with_context(|| format!("cannot load module {}", path.display())),
        None => VerifierModule::embedded(),
    }
}

/// `verified  IMAGE@DIGEST  message` or `denied    IMAGE@DIGEST  reason: message`.
/// `verify` and `verify-attestation`: fetch, verify and print each image's verdict; the worst
/// exit status.
fn verify_images(
    images: &[String],
    (document, policy_json): (&ocisig::Document, &[u8]),
    batch: &BatchFlags,
) -> anyhow::Result<u8> {
    let output = batch.output;
    let sources = images
        .iter()
        .map(|image| Source::parse(image))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let registry = batch.registry.client(&sources)?;
    let verifier = load_module(batch.module.as_deref())?;
    let progress = progress_bar(sources.len());
    let mut worst = EXIT_VERIFIED;
    let batch = Batch {
        policy_json,
        document,
        registry: registry.as_ref(),
        module: &verifier,
        concurrency: usize::from(batch.concurrency),
    };
    batch.run(&sources, |index, outcome| {
        let image = images.get(index).map_or("", String::as_str);
        progress.inc(1);
        match outcome {
            ImageOutcome::Verdict(verdict) => {
                if !verdict.verified {
                    worst = worst.max(EXIT_NOT_VERIFIED);
                }
                let line = match output {
                    Output::Json => verdict.json.clone(),
                    Output::Text => text_line(image, &verdict),
                };
                progress.suspend(|| print_line(&line));
            }
            ImageOutcome::FetchFailed(err) => {
                worst = worst.max(EXIT_FETCH);
                progress.suspend(|| {
                    eprintln!("ocisig: {image}: {err:#}; nothing was verified");
                });
            }
        }
    });
    progress.finish_and_clear();
    Ok(worst)
}

fn text_line(image: &str, verdict: &ModuleVerdict) -> String {
    let field = |name: &str| verdict.field(name);
    let digest = field("digest");
    // A digest reference already names what was verified (the bytes hashed to it).
    let at = if digest.is_empty() || image.ends_with(&format!("@{digest}")) {
        String::new()
    } else {
        format!("@{digest}")
    };
    if verdict.value.get("allowed").is_some() {
        // A policy set's verdict: the decision, then each rule and warning on its own line.
        let mut text = if verdict.verified {
            format!("allowed   {image}{at}  {}", field("message"))
        } else {
            format!(
                "denied    {image}{at}  {}: {}",
                field("reason"),
                field("message")
            )
        };
        let rules = verdict.value.get("rules").and_then(|r| r.as_array());
        for rule in rules.into_iter().flatten() {
            let part = |name: &str| rule.get(name).and_then(|v| v.as_str()).unwrap_or("");
            let passed = rule.get("passed").and_then(serde_json::Value::as_bool) == Some(true);
            text.push_str(&format!(
                "\n          rule {:?} ({}): {}",
                part("name"),
                part("mode"),
                if passed { "passed" } else { part("reason") }
            ));
        }
        let warnings = verdict.value.get("warnings").and_then(|w| w.as_array());
        for warning in warnings.into_iter().flatten() {
            text.push_str(&format!(
                "\n          warning: {}",
                warning.as_str().unwrap_or("")
            ));
        }
        return text;
    }
    if verdict.verified {
        let mut text = format!("verified  {image}{at}  {}", field("message"));
        // Each statement that met an attestation rule: its type, what it is about, who signed.
        let statements = verdict.value.get("statements").and_then(|s| s.as_array());
        for statement in statements.into_iter().flatten() {
            let part = |name: &str| statement.get(name).and_then(|v| v.as_str()).unwrap_or("");
            let subject = match part("subject") {
                "" => digest,
                named => named,
            };
            text.push_str(&format!(
                "\n          statement {}  subject {subject}  signed by {} ({})",
                part("predicateType"),
                part("signer"),
                part("format")
            ));
        }
        text
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

/// The explanation ([`ocisig::host::explain`]) as lines for people.
fn explain_text(explained: &serde_json::Value) -> String {
    use serde_json::Value;
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let list = |v: &Value| {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let policy = |p: &Value, indent: &str| {
        let mut lines = Vec::new();
        for key in p["keys"].as_array().into_iter().flatten() {
            lines.push(format!(
                "{indent}key {} ({}, {})",
                text(&key["name"]),
                text(&key["algorithm"]),
                text(&key["fingerprint"])
            ));
        }
        for identity in p["identities"].as_array().into_iter().flatten() {
            let side = |m: &Value| {
                m.get("exact")
                    .map(text)
                    .or_else(|| m.get("pattern").map(|p| format!("/{}/", text(p))))
                    .unwrap_or_default()
            };
            lines.push(format!(
                "{indent}identity {}: subject {} issuer {}",
                text(&identity["name"]),
                side(&identity["subject"]),
                side(&identity["issuer"])
            ));
        }
        for rule in p["attestations"].as_array().into_iter().flatten() {
            lines.push(format!(
                "{indent}attestation {} ({})",
                text(&rule["name"]),
                text(&rule["predicateType"])
            ));
        }
        lines.push(format!(
            "{indent}threshold {}, formats {}, rekor {}{}",
            p["threshold"],
            list(&p["formats"]),
            text(&p["rekor"]),
            p.get("trustedRoot")
                .map(|d| format!(", trusted root {}", text(d)))
                .unwrap_or_default()
        ));
        lines.push(format!("{indent}policy digest {}", text(&p["digest"])));
        lines
    };
    let mut lines = Vec::new();
    if explained["kind"] == "policy" {
        lines.push("policy".to_string());
        lines.extend(policy(&explained["policy"], "  "));
        return lines.join("\n");
    }
    let rules = match explained["rules"].as_array().map_or(0, Vec::len) {
        1 => "1 rule".to_string(),
        n => format!("{n} rules"),
    };
    lines.push(format!(
        "policy set {} ({rules}; an image no rule matches: {})",
        text(&explained["digest"]),
        text(&explained["unmatched"])
    ));
    for rule in explained["rules"].as_array().into_iter().flatten() {
        lines.push(format!(
            "rule {:?} ({}) {}",
            text(&rule["name"]),
            text(&rule["mode"]),
            text(&rule["digest"])
        ));
        lines.push(format!("  images: {}", list(&rule["images"])));
        if rule["namespaces"].as_array().is_some_and(|n| !n.is_empty()) {
            lines.push(format!("  namespaces: {}", list(&rule["namespaces"])));
        }
        if let Some(answer) = rule.get("static") {
            let message = rule
                .get("message")
                .map(|m| format!(" ({})", text(m)))
                .unwrap_or_default();
            lines.push(format!("  static: {}{message}", text(answer)));
        }
        let policies = rule["anyOf"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for (index, p) in policies.iter().enumerate() {
            if policies.len() > 1 {
                lines.push(format!("  any of [{index}]:"));
                lines.extend(policy(p, "    "));
            } else {
                lines.extend(policy(p, "  "));
            }
        }
    }
    lines.join("\n")
}
