//! What every harness test shares: running a case through both the native core and the wasm
//! module, and building signed evidence with real P-256 signatures.

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ocisig_host::VerifierModule;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// The embedded verifier module, compiled once for the whole test binary.
pub fn module() -> &'static VerifierModule {
    static MODULE: OnceLock<VerifierModule> = OnceLock::new();
    MODULE.get_or_init(|| VerifierModule::embedded().expect("the embedded module loads"))
}

/// Runs one case natively, in the raw wasm module and in the OPA module, insists the verdict
/// JSON is byte-identical, and returns it parsed.
pub fn run(policy: &[u8], evidence: &[u8]) -> Value {
    let native = ocisig::verify_json(policy, evidence).to_json();
    let wasm = module()
        .run(policy, evidence)
        .expect("the wasm module must not trap");
    assert_eq!(native, wasm.json, "native and wasm verdicts differ");
    match opa_verdict(policy, evidence) {
        Some(opa) => assert_eq!(native, opa, "native and OPA-module verdicts differ"),
        // An OPA host cannot even load data that is not JSON (the SDKs throw).
        None => assert!(serde_json::from_slice::<Value>(policy).is_err()),
    }
    let verdict: Value = serde_json::from_str(&native).expect("verdict is JSON");
    assert_eq!(verdict["verified"], wasm.verified);
    record(policy, evidence, &native);
    verdict
}

/// With `OCISIG_RECORD_VERDICTS=FILE`, appends `sha256(policy) sha256(evidence) verdict` to
/// FILE, one line per case: two runs' files, sorted, show whether a change moved any verdict
/// by a byte (a refactor must not). The cases' inputs are deterministic (fixed keys, RFC 6979
/// signatures), so the same case gives the same line.
fn record(policy: &[u8], evidence: &[u8], verdict: &str) {
    use std::io::Write as _;
    let Some(path) = std::env::var_os("OCISIG_RECORD_VERDICTS") else {
        return;
    };
    let line = format!("{} {} {verdict}\n", sha256(policy), sha256(evidence));
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        // One write per line, so that parallel tests do not interleave.
        let _ = file.write_all(line.as_bytes());
    }
}

/// [`run`], then checks the top-level reason (and that only `verified` verifies).
#[track_caller]
pub fn expect(policy: &[u8], evidence: &[u8], reason: &str) -> Value {
    let verdict = run(policy, evidence);
    assert_eq!(verdict["reason"], reason, "verdict: {verdict:#}");
    assert_eq!(
        verdict["verified"],
        reason == "verified",
        "verdict: {verdict:#}"
    );
    verdict
}

/// `dist/ocisig-opa.wasm`, compiled once.
fn opa_module() -> &'static (wasmtime::Engine, wasmtime::Module) {
    static MODULE: OnceLock<(wasmtime::Engine, wasmtime::Module)> = OnceLock::new();
    MODULE.get_or_init(|| {
        let engine = wasmtime::Engine::default();
        let path = repo_root().join("dist/ocisig-opa.wasm");
        let module = wasmtime::Module::from_file(&engine, &path)
            .unwrap_or_else(|e| panic!("{}: {e} (make opa builds it)", path.display()));
        (engine, module)
    })
}

/// The verdict of the OPA module in a fresh instance, driven as OPA's SDKs drive it. `None`
/// when the data is not JSON (a host could not load it).
pub fn opa_verdict(policy: &[u8], evidence: &[u8]) -> Option<String> {
    let mut instance = OpaInstance::new();
    instance
        .set_data(policy)
        .then(|| instance.evaluate(evidence))
}

/// One instance of the OPA module, kept and reused the way OPA's SDKs and Gatekeeper keep
/// one: `setData` loads the data with `opa_malloc` + `opa_json_parse` and notes the heap
/// pointer after it; each evaluation resets the heap there, writes the input at the heap
/// pointer and calls `opa_eval`.
pub struct OpaInstance {
    store: wasmtime::Store<()>,
    instance: wasmtime::Instance,
    memory: wasmtime::Memory,
    data: i32,
    base_heap: i32,
}

impl OpaInstance {
    pub fn new() -> Self {
        use wasmtime::{Linker, Memory, MemoryType, Store};
        let (engine, module) = opa_module();
        let mut store = Store::new(engine, ());
        let memory = Memory::new(&mut store, MemoryType::new(5, None)).unwrap();
        let mut linker = Linker::new(engine);
        linker.define(&store, "env", "memory", memory).unwrap();
        let instance = linker.instantiate(&mut store, module).unwrap();
        let mut this = Self {
            store,
            instance,
            memory,
            data: 0,
            base_heap: 0,
        };
        this.base_heap = this.call("opa_heap_ptr_get", &[]);
        this
    }

    fn call(&mut self, name: &str, args: &[i32]) -> i32 {
        let args: Vec<wasmtime::Val> = args.iter().map(|a| wasmtime::Val::I32(*a)).collect();
        let mut out = [wasmtime::Val::I32(0)];
        let f = self.instance.get_func(&mut self.store, name).unwrap();
        let results = if f.ty(&self.store).results().len() == 1 {
            &mut out[..]
        } else {
            &mut out[..0]
        };
        f.call(&mut self.store, &args, results).unwrap();
        out[0].unwrap_i32()
    }

    fn write(&mut self, at: usize, bytes: &[u8]) {
        let needed = at + bytes.len();
        let have = self.memory.data_size(&self.store);
        if needed > have {
            self.memory
                .grow(&mut self.store, ((needed - have).div_ceil(65536)) as u64)
                .unwrap();
        }
        self.memory.write(&mut self.store, at, bytes).unwrap();
    }

    /// Loads a new data document (the policy), as `setData` does; false when it is not JSON.
    pub fn set_data(&mut self, policy: &[u8]) -> bool {
        let base = self.base_heap;
        self.call("opa_heap_ptr_set", &[base]);
        let len = i32::try_from(policy.len()).unwrap();
        let at = self.call("opa_malloc", &[len]);
        self.write(at as usize, policy);
        self.data = self.call("opa_json_parse", &[at, len]);
        self.data != 0
    }

    /// One evaluation of `ocisig/verify` over the data last loaded; the verdict JSON.
    pub fn evaluate(&mut self, evidence: &[u8]) -> String {
        let heap = self.call("opa_heap_ptr_get", &[]);
        self.write(heap as usize, evidence);
        let input_len = i32::try_from(evidence.len()).unwrap();
        let data = self.data;
        let result = self.call(
            "opa_eval",
            &[0, 0, data, heap, input_len, heap + input_len, 0],
        ) as usize;
        // The SDK resets the heap to where it was before the input, for the next evaluation.
        self.call("opa_heap_ptr_set", &[heap]);
        let bytes = self.memory.data(&self.store);
        let end = result + bytes[result..].iter().position(|b| *b == 0).unwrap();
        let text = std::str::from_utf8(&bytes[result..end]).unwrap();
        text.strip_prefix("[{\"result\":")
            .and_then(|t| t.strip_suffix("}]"))
            .unwrap_or_else(|| panic!("not a result set: {text}"))
            .to_string()
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A test signer with a fixed key, so failures reproduce.
pub struct Signer {
    pub name: String,
    key: SigningKey,
}

impl Signer {
    pub fn new(name: &str, seed: u8) -> Self {
        let mut secret = [0x11u8; 32];
        secret[0] = seed;
        secret[31] = seed.wrapping_mul(7).wrapping_add(1);
        Self {
            name: name.into(),
            key: SigningKey::from_slice(&secret).expect("valid scalar"),
        }
    }

    pub fn public_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("PEM encodes")
    }

    /// Standard base64 of an ASN.1 DER ECDSA P-256/SHA-256 signature, as cosign writes it.
    pub fn sign(&self, message: &[u8]) -> String {
        let signature: p256::ecdsa::Signature = self.key.sign(message);
        BASE64.encode(signature.to_der().as_bytes())
    }

    pub fn key_entry(&self) -> Value {
        json!({"name": self.name, "publicKey": self.public_pem()})
    }
}

/// A policy trusting `signers`, with `extra` fields merged in.
pub fn policy(signers: &[&Signer], extra: Value) -> Vec<u8> {
    let mut doc = json!({"keys": signers.iter().map(|s| s.key_entry()).collect::<Vec<_>>()});
    if let (Some(doc), Value::Object(extra)) = (doc.as_object_mut(), extra) {
        doc.extend(extra);
    }
    serde_json::to_vec(&doc).expect("serializes")
}

/// A simple-signing payload byte-for-byte as cosign 2.x writes it (Go's compact JSON, keys in
/// cosign's order, `"optional":null` without annotations).
pub fn cosign_payload(digest: &str, reference: &str, optional: Option<&Value>) -> Vec<u8> {
    let optional = optional.map_or_else(|| "null".to_string(), |o| o.to_string());
    format!(
        "{{\"critical\":{{\"identity\":{{\"docker-reference\":\"{reference}\"}},\"image\":{{\
         \"docker-manifest-digest\":\"{digest}\"}},\"type\":\"cosign container image \
         signature\"}},\"optional\":{optional}}}"
    )
    .into_bytes()
}

/// One layer of a test `.sig` manifest. Fields default to a well-formed layer for `payload`.
#[derive(Clone)]
pub struct Layer {
    pub media_type: String,
    pub payload: Vec<u8>,
    pub signature: Option<String>,
    pub size: Option<i64>,
    pub digest: Option<String>,
    /// The blob the evidence carries for this layer; `None` leaves it out.
    pub blob: Option<Vec<u8>>,
}

impl Layer {
    pub fn signed(signer: &Signer, payload: Vec<u8>) -> Self {
        Self {
            media_type: ocisig::SIMPLE_SIGNING_MEDIA_TYPE.into(),
            signature: Some(signer.sign(&payload)),
            blob: Some(payload.clone()),
            payload,
            size: None,
            digest: None,
        }
    }

    fn descriptor(&self) -> Value {
        let mut annotations = serde_json::Map::new();
        if let Some(signature) = &self.signature {
            annotations.insert(
                ocisig::SIGNATURE_ANNOTATION.into(),
                signature.clone().into(),
            );
        }
        json!({
            "mediaType": self.media_type,
            "size": self.size.unwrap_or(self.payload.len() as i64),
            "digest": self.digest.clone().unwrap_or_else(|| sha256(&self.payload)),
            "annotations": annotations,
        })
    }
}

/// A `.sig` manifest as cosign pushes it.
pub fn sig_manifest(layers: &[Layer]) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 233,
            "digest": sha256(b"config"),
        },
        "layers": layers.iter().map(Layer::descriptor).collect::<Vec<_>>(),
    })
    .to_string()
}

/// An evidence document for `image`@`digest` with these layers (no manifest when `None`).
pub fn evidence(image: &str, digest: &str, layers: Option<&[Layer]>) -> Vec<u8> {
    let mut blobs = serde_json::Map::new();
    for layer in layers.unwrap_or_default() {
        if let Some(blob) = &layer.blob {
            let name = layer
                .digest
                .clone()
                .unwrap_or_else(|| sha256(&layer.payload));
            blobs.insert(name, BASE64.encode(blob).into());
        }
    }
    serde_json::to_vec(&json!({
        "image": image,
        "digest": digest,
        "signatureManifest": layers.map(sig_manifest),
        "blobs": blobs,
    }))
    .expect("serializes")
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    // This crate lives in `tests/`.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), PathBuf::from)
}

// One rule for where the real signature data is, shared with the shim's tests.
#[path = "../../host-shim/tests/common/vectors.rs"]
mod vectors;

/// `../shared/vectors`, or `None` with a visible skip message. Under CI the folder must exist.
pub fn vectors_dir() -> Option<PathBuf> {
    vectors::vectors_dir()
}

pub fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

pub fn read_text(path: &std::path::Path) -> String {
    String::from_utf8(read(path)).expect("UTF-8")
}

/// Evidence whose layers carry these bundle annotations (`None`: no bundle).
pub fn evidence_with_bundles(
    image: &str,
    digest: &str,
    layers: &[(Layer, Option<String>)],
) -> Vec<u8> {
    let plain: Vec<Layer> = layers.iter().map(|(layer, _)| layer.clone()).collect();
    let mut manifest: Value = serde_json::from_str(&sig_manifest(&plain)).unwrap();
    let mut blobs = serde_json::Map::new();
    for (index, (layer, bundle)) in layers.iter().enumerate() {
        if let Some(bundle) = bundle {
            manifest["layers"][index]["annotations"]["dev.sigstore.cosign/bundle"] =
                bundle.clone().into();
        }
        blobs.insert(sha256(&layer.payload), BASE64.encode(&layer.payload).into());
    }
    serde_json::to_vec(&json!({
        "image": image,
        "digest": digest,
        "signatureManifest": manifest.to_string(),
        "blobs": blobs,
    }))
    .unwrap()
}

/// A simple-signing layer with this payload and base64 signature.
pub fn layer(payload: Vec<u8>, signature_b64: &str) -> Layer {
    Layer {
        media_type: ocisig::SIMPLE_SIGNING_MEDIA_TYPE.into(),
        signature: Some(signature_b64.to_string()),
        blob: Some(payload.clone()),
        payload,
        size: None,
        digest: None,
    }
}

/// A test log: signs SETs over bodies we write, to try each lie a bundle can tell.
pub struct TestLog {
    pub key: Signer,
}

impl TestLog {
    pub fn log_id(&self) -> String {
        let pem = self.key.public_pem();
        let der_b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        sha256(&BASE64.decode(der_b64).unwrap())
            .trim_start_matches("sha256:")
            .to_string()
    }

    pub fn bundle(&self, body: &Value, integrated_time: i64) -> String {
        let body = BASE64.encode(body.to_string());
        let log_id = self.log_id();
        let canonical = json!({
            "body": body, "integratedTime": integrated_time, "logID": log_id, "logIndex": 42,
        })
        .to_string();
        json!({
            "SignedEntryTimestamp": self.key.sign(canonical.as_bytes()),
            "Payload": {"body": body, "integratedTime": integrated_time, "logIndex": 42, "logID": log_id},
        })
        .to_string()
    }
}

/// A hashedrekord entry body logging this payload, signature and key.
pub fn hashedrekord(payload: &[u8], signature_b64: &str, key_pem: &str) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": sha256(payload).trim_start_matches("sha256:")}},
            "signature": {"content": signature_b64, "publicKey": {"content": BASE64.encode(key_pem)}},
        },
    })
}

/// The trusted root a sigstore-conformance case is verified with: its own
/// `trusted_root.json`, or the public-good production root the suite uses by default.
pub fn conformance_trusted_root(vectors: &std::path::Path, case: &std::path::Path) -> Value {
    let path = match case.join("trusted_root.json") {
        own if own.exists() => own,
        _ => vectors.join("sigstore-trust-roots/production_trusted_root.sigstore-python.json"),
    };
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The id and key of the log `log_id` names in a trusted root's `tlogs`, if it has it.
pub fn trusted_log(root: &Value, log_id: &[u8]) -> Option<([u8; 32], ocisig::PublicKey)> {
    root["tlogs"].as_array()?.iter().find_map(|tlog| {
        let id = BASE64.decode(tlog["logId"]["keyId"].as_str()?).ok()?;
        if id != log_id {
            return None;
        }
        let der = BASE64
            .decode(tlog["publicKey"]["rawBytes"].as_str()?)
            .ok()?;
        Some((
            id.try_into().ok()?,
            ocisig::PublicKey::from_spki_der(&der, ocisig::KeyOptions::default()).ok()?,
        ))
    })
}

// Sigstore bundles in cosign v3's shape, attached as OCI referrers.

/// A referrer manifest, and the bundle blob the evidence carries for it (if any).
pub type Referrer = (String, Option<Vec<u8>>);

pub const SIGN_V1: &str = "https://sigstore.dev/cosign/sign/v1";
pub const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// An in-toto statement about `digest` (a `sha256:` digest) of `predicate_type`.
pub fn statement(digest: &str, predicate_type: &str, annotations: Option<Value>) -> Vec<u8> {
    let mut subject = json!({"digest": {"sha256": digest.trim_start_matches("sha256:")}});
    if let Some(annotations) = annotations {
        subject["annotations"] = annotations;
    }
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [subject],
        "predicateType": predicate_type,
        "predicate": {},
    })
    .to_string()
    .into_bytes()
}

pub use ocisig::sigstore::bundle::pae;

/// A v0.3 bundle as cosign v3 writes it for a key: a key hint and a DSSE envelope whose
/// signature is over `signed` (normally the PAE of the envelope's own type and payload).
pub fn bundle_signing(
    signer: &Signer,
    payload_type: &str,
    payload: &[u8],
    signed: &[u8],
) -> Vec<u8> {
    json!({
        "mediaType": BUNDLE_TYPE,
        "verificationMaterial": {"publicKey": {"hint": "c29tZSBoaW50"}},
        "dsseEnvelope": {
            "payload": BASE64.encode(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": signer.sign(signed)}],
        },
    })
    .to_string()
    .into_bytes()
}

pub fn bundle(signer: &Signer, payload: &[u8]) -> Vec<u8> {
    bundle_signing(signer, IN_TOTO, payload, &pae(IN_TOTO, payload))
}

/// A referrer manifest as cosign pushes it, with `subject` as its subject and `bundle` as
/// its one layer.
pub fn referrer(subject: &str, bundle: &[u8]) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": BUNDLE_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": sha256(b"{}")},
        "layers": [{"mediaType": BUNDLE_TYPE, "size": bundle.len(), "digest": sha256(bundle)}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1234, "digest": subject},
    })
    .to_string()
}

/// Evidence for `image`@`digest` with these referrers (manifest, and the blob to carry under
/// its layer's digest, if any) and, optionally, `.sig` layers.
pub fn evidence_with_referrers(
    image: &str,
    digest: &str,
    referrers: &[Referrer],
    layers: Option<&[Layer]>,
) -> Vec<u8> {
    let mut document: Value = serde_json::from_slice(&evidence(image, digest, layers)).unwrap();
    for (manifest, blob) in referrers {
        let manifest: Value = serde_json::from_str(manifest).unwrap();
        if let (Some(blob), Some(layer)) = (blob, manifest["layers"][0]["digest"].as_str()) {
            document["blobs"][layer] = BASE64.encode(blob).into();
        }
    }
    document["referrers"] = referrers.iter().map(|(m, _)| m.clone()).collect();
    serde_json::to_vec(&document).unwrap()
}
