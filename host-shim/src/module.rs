//! Running `ocisig.wasm` in wasmtime, with the guest unable to hurt the host.
//!
//! The module is compiled once per process. Instances have a memory cap and a fresh fuel budget
//! per verification, and are kept warm between verifications, so that the policy the module
//! parsed (with its keys' precomputed tables) serves the next image too. An instance returns to
//! the pool only after a clean return: a trap, an exhausted budget or an ABI violation discards
//! it and becomes a `module_trap` denial, so a failure never carries into the next image.

use std::sync::Mutex;

use anyhow::{Context as _, anyhow, bail};
use ocisig::{Reason, Verdict};
use wasmtime::{
    Config, Engine, Instance, Memory, Module, Store, StoreLimits, StoreLimitsBuilder, TypedFunc,
};

/// The module built from this workspace, embedded at compile time.
pub const EMBEDDED_MODULE: &[u8] = include_bytes!(env!("OCISIG_EMBEDDED_MODULE"));

/// The ABI version this host speaks.
pub const ABI_VERSION: i32 = 1;

/// The largest verdict the host will read back, in bytes.
const MAX_VERDICT_BYTES: usize = 16 * 1024 * 1024;

/// Caps for one verification.
#[derive(Clone, Copy, Debug)]
pub struct ModuleLimits {
    /// The most linear memory the instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// The fuel budget (roughly, wasm instructions) for one verification.
    pub fuel: u64,
}

impl Default for ModuleLimits {
    fn default() -> Self {
        Self {
            // The core accepts 64 MiB of evidence; it needs room for it, its copy and decoding.
            memory_bytes: 512 * 1024 * 1024,
            // A P-256 verification costs a few million; this allows thousands of them.
            fuel: 40_000_000_000,
        }
    }
}

/// The most idle instances kept; more than the busiest worker pool needs.
const MAX_WARM_INSTANCES: usize = 64;

/// An instance that grew its memory past this is not kept, so a large document's memory is
/// returned to the system once it is done.
const MAX_WARM_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// The compiled verifier module.
pub struct VerifierModule {
    engine: Engine,
    module: Module,
    limits: ModuleLimits,
    warm: Mutex<Vec<WarmInstance>>,
}

/// An instance that completed its last call cleanly, with its store.
struct WarmInstance {
    store: Store<StoreLimits>,
    exports: Exports,
}

struct Exports {
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), ()>,
    verify: TypedFunc<(i32, i32, i32, i32), i64>,
    /// `ocisig_verify_bundle`, which a module built for images only may lack.
    verify_bundle: Option<VerifyBundle>,
}

/// `ocisig_verify_bundle(policy, bundle, digest)`, each a pointer and a length.
type VerifyBundle = TypedFunc<(i32, i32, i32, i32, i32, i32), i64>;

/// What the module is asked, with its inputs.
#[derive(Clone, Copy, Debug)]
enum Request<'a> {
    /// `ocisig_verify`: an image's evidence document under a policy.
    Image {
        policy: &'a [u8],
        evidence: &'a [u8],
    },
    /// `ocisig_verify_bundle`: one Sigstore bundle for an artifact's digest (`sha256:…`).
    Bundle {
        policy: &'a [u8],
        bundle: &'a [u8],
        digest: &'a [u8],
    },
}

/// The verdict as the module wrote it, and parsed.
#[derive(Clone, Debug)]
pub struct ModuleVerdict {
    /// The verdict, as compact JSON.
    pub json: String,
    /// The same verdict, parsed (an object with a boolean `verified`).
    pub value: serde_json::Value,
    /// Its `verified` field.
    pub verified: bool,
    /// The fuel the call consumed: about one unit per wasm instruction executed (a count that
    /// does not depend on the machine, for `make bench`); 0 when the call trapped.
    pub fuel_used: u64,
}

impl ModuleVerdict {
    /// A verdict written by the host, not the module: a denial, or a policy set's decision.
    fn of<T: serde::Serialize>(verdict: &T, verified: bool, fuel_used: u64) -> Self {
        let value = serde_json::to_value(verdict).unwrap_or_default();
        Self {
            json: value.to_string(),
            value,
            verified,
            fuel_used,
        }
    }

    /// A denial the host gives (a trap, a policy it could not hand over).
    pub fn denied(reason: Reason, message: String) -> Self {
        Self::of(&Verdict::denied(reason, message), false, 0)
    }

    /// An image's verdict under `document`: the module's for a policy; for a policy set, the
    /// core's decision ([`ocisig::decide_set`]) over the verdicts the module gives for the
    /// policies of the rules that match `image` admitted in `scope`, each handed over as the set
    /// has it. Every signature is still judged in the sandbox; only the rules' bookkeeping runs
    /// here.
    pub fn judge(
        module: &VerifierModule,
        document: &ocisig::Document,
        document_json: &[u8],
        image: &str,
        digest: &ocisig::Sha256Digest,
        evidence: &[u8],
        scope: &ocisig::Scope<'_>,
    ) -> Self {
        let ocisig::Document::Set(set) = document else {
            return module.verify(document_json, evidence);
        };
        let verdict = ocisig::decide_set(
            set,
            image,
            Some(digest.to_string()),
            scope,
            |rule, index| match rule.policy_json(index) {
                Some(policy) => module.verify(policy.as_bytes(), evidence),
                None => Self::denied(
                    Reason::InvalidPolicy,
                    format!("rule {:?} has no policy document", rule.name()),
                ),
            },
        );
        let fuel = verdict
            .rules()
            .iter()
            .filter_map(|rule| rule.verdict().map(|v| v.fuel_used))
            .sum();
        Self::of(&verdict, verdict.allowed(), fuel)
    }

    /// A string field of the verdict (`digest`, `reason`, `message`); empty when absent.
    pub fn field(&self, name: &str) -> &str {
        self.value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    }
}

impl VerifierModule {
    /// Compiles the embedded module.
    ///
    /// # Errors
    /// When the module does not compile or does not have the ocisig ABI.
    pub fn embedded() -> anyhow::Result<Self> {
        Self::from_bytes(EMBEDDED_MODULE, ModuleLimits::default())
    }

    /// Compiles a module from its bytes and checks that it speaks the ocisig ABI.
    ///
    /// # Errors
    /// When the bytes are not a valid module, the module imports anything, or its ABI version
    /// is not [`ABI_VERSION`].
    pub fn from_bytes(bytes: &[u8], limits: ModuleLimits) -> anyhow::Result<Self> {
        Self::from_bytes_cached_in(bytes, limits, crate::module_cache::default_dir().as_deref())
    }

    /// [`VerifierModule::from_bytes`] with the compiled-module cache in `cache_dir` (`None`:
    /// compile every time).
    ///
    /// # Errors
    /// As [`VerifierModule::from_bytes`].
    pub fn from_bytes_cached_in(
        bytes: &[u8],
        limits: ModuleLimits,
        cache_dir: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(|e| anyhow!("{e}"))?;
        let module = crate::module_cache::compile_in(&engine, bytes, cache_dir)
            .context("not a valid WebAssembly module")?;
        if let Some(import) = module.imports().next() {
            bail!(
                "the module imports {}.{}; an ocisig module imports nothing",
                import.module(),
                import.name()
            );
        }
        let verifier = Self {
            engine,
            module,
            limits,
            warm: Mutex::new(Vec::new()),
        };
        let mut store = verifier.store()?;
        let instance =
            Instance::new(&mut store, &verifier.module, &[]).map_err(|e| anyhow!("{e}"))?;
        let version = instance
            .get_typed_func::<(), i32>(&mut store, "ocisig_abi_version")
            .and_then(|f| f.call(&mut store, ()))
            .map_err(|e| anyhow!("{e}"))
            .context("the module has no working ocisig_abi_version export")?;
        if version != ABI_VERSION {
            bail!("the module speaks ocisig ABI {version}; this host speaks {ABI_VERSION}");
        }
        Ok(verifier)
    }

    fn instantiate(&self) -> anyhow::Result<WarmInstance> {
        let mut store = self.store()?;
        let instance = Instance::new(&mut store, &self.module, &[]).map_err(|e| anyhow!("{e}"))?;
        let exports = Exports {
            memory: instance
                .get_memory(&mut store, "memory")
                .context("the module exports no memory")?,
            alloc: typed(&instance, &mut store, "ocisig_alloc")?,
            free: typed(&instance, &mut store, "ocisig_free")?,
            verify: typed(&instance, &mut store, "ocisig_verify")?,
            verify_bundle: typed(&instance, &mut store, "ocisig_verify_bundle").ok(),
        };
        Ok(WarmInstance { store, exports })
    }

    fn store(&self) -> anyhow::Result<Store<StoreLimits>> {
        // Growing past the cap traps at once, naming the memory, rather than handing the module
        // a failed allocation to misreport.
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .trap_on_grow_failure(true)
            .instances(1)
            .memories(1)
            .tables(4)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|limits| limits);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| anyhow!("{e}"))?;
        Ok(store)
    }

    /// Verifies and always returns a verdict: a trap or ABI violation is a `module_trap`
    /// denial.
    pub fn verify(&self, policy: &[u8], evidence: &[u8]) -> ModuleVerdict {
        denial_on_error(self.run(policy, evidence))
    }

    /// Verifies one Sigstore bundle for an artifact whose sha256 is `digest` (`sha256:…`), as
    /// `ocisig verify-bundle` does, in the sandbox like every other verdict; a trap or ABI
    /// violation is a `module_trap` denial.
    pub fn verify_bundle(&self, policy: &[u8], bundle: &[u8], digest: &str) -> ModuleVerdict {
        denial_on_error(self.run_request(Request::Bundle {
            policy,
            bundle,
            digest: digest.as_bytes(),
        }))
    }

    /// One verification, in a warm instance when one is idle (a fresh one otherwise).
    ///
    /// # Errors
    /// A trap, exhausted fuel or memory, or a result that is not a verdict; the instance is
    /// then discarded.
    pub fn run(&self, policy: &[u8], evidence: &[u8]) -> anyhow::Result<ModuleVerdict> {
        self.run_request(Request::Image { policy, evidence })
    }

    fn run_request(&self, request: Request<'_>) -> anyhow::Result<ModuleVerdict> {
        let idle = self.warm.lock().ok().and_then(|mut warm| warm.pop());
        let mut instance = match idle {
            Some(instance) => instance,
            None => self.instantiate()?,
        };
        instance
            .store
            .set_fuel(self.limits.fuel)
            .map_err(|e| anyhow!("{e}"))?;
        let verdict = call(&mut instance, request)?;
        if instance.exports.memory.data_size(&instance.store) <= MAX_WARM_MEMORY_BYTES
            && let Ok(mut warm) = self.warm.lock()
            && warm.len() < MAX_WARM_INSTANCES
        {
            warm.push(instance);
        }
        Ok(verdict)
    }

    /// One verification in a fresh instance that is then dropped, as a host that keeps
    /// nothing between calls would run it.
    ///
    /// # Errors
    /// As [`VerifierModule::run`].
    pub fn run_fresh(&self, policy: &[u8], evidence: &[u8]) -> anyhow::Result<ModuleVerdict> {
        let mut instance = self.instantiate()?;
        call(&mut instance, Request::Image { policy, evidence })
    }
}

/// The verdict, or the `module_trap` denial that says why there is none.
fn denial_on_error(result: anyhow::Result<ModuleVerdict>) -> ModuleVerdict {
    match result {
        Ok(verdict) => verdict,
        Err(err) => ModuleVerdict::denied(Reason::ModuleTrap, format!("verifier module: {err:#}")),
    }
}

/// Writes the inputs, calls the request's export, reads the verdict back and frees every
/// buffer.
fn call(instance: &mut WarmInstance, request: Request<'_>) -> anyhow::Result<ModuleVerdict> {
    let WarmInstance { store, exports } = instance;
    let fuel_before = store.get_fuel().unwrap_or(0);
    let (name, inputs): (&str, &[&[u8]]) = match &request {
        Request::Image { policy, evidence } => ("ocisig_verify", &[policy, evidence]),
        Request::Bundle {
            policy,
            bundle,
            digest,
        } => ("ocisig_verify_bundle", &[policy, bundle, digest]),
    };
    let mut buffers = Vec::with_capacity(inputs.len());
    for input in inputs {
        buffers.push(write_input(store, exports, input)?);
    }
    let packed = match (buffers.as_slice(), &exports.verify_bundle) {
        ([(p, pl), (e, el)], _) => exports.verify.call(&mut *store, (*p, *pl, *e, *el)),
        ([(p, pl), (b, bl), (d, dl)], Some(verify_bundle)) => {
            verify_bundle.call(&mut *store, (*p, *pl, *b, *bl, *d, *dl))
        }
        _ => bail!("the module has no usable export {name}"),
    }
    .map_err(|e| anyhow!("{}", trap_cause(&e)))
    .with_context(|| format!("{name} trapped"))?;
    let packed = u64::from_ne_bytes(packed.to_ne_bytes());
    let ptr = usize::try_from(packed >> 32)?;
    let len = usize::try_from(packed & 0xffff_ffff)?;
    if len == 0 || len > MAX_VERDICT_BYTES {
        bail!("{name} returned a verdict of {len} bytes");
    }
    let mut json = vec![0u8; len];
    // Bounds-checked: an out-of-range pointer is an error, never a host read out of bounds.
    exports
        .memory
        .read(&*store, ptr, &mut json)
        .with_context(|| format!("{name} returned a verdict outside its memory"))?;
    let verdict: serde_json::Value = serde_json::from_slice(&json)
        .with_context(|| format!("{name} returned a verdict that is not JSON"))?;
    let verified = verdict
        .get("verified")
        .and_then(serde_json::Value::as_bool)
        .context("the verdict has no boolean `verified`")?;
    let json = String::from_utf8(json)?;
    // A warm instance serves the next image: give every buffer back.
    for (ptr, len) in buffers {
        exports
            .free
            .call(&mut *store, (ptr, len))
            .map_err(|e| anyhow!("{e}"))?;
    }
    let verdict_ptr = i32::try_from(ptr)?;
    let verdict_len = i32::try_from(len)?;
    exports
        .free
        .call(&mut *store, (verdict_ptr, verdict_len))
        .map_err(|e| anyhow!("{e}"))?;
    let fuel_used = store
        .get_fuel()
        .map_or(0, |left| fuel_before.saturating_sub(left));
    Ok(ModuleVerdict {
        json,
        value: verdict,
        verified,
        fuel_used,
    })
}

/// Why a call trapped, in wasmtime's words ("all fuel consumed", "call stack exhausted"),
/// rather than the backtrace that wraps it.
fn trap_cause(err: &wasmtime::Error) -> String {
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    }
}

fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &Instance,
    store: &mut Store<StoreLimits>,
    name: &str,
) -> anyhow::Result<TypedFunc<P, R>> {
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("the module has no usable export {name}"))
}

fn write_input(
    store: &mut Store<StoreLimits>,
    exports: &Exports,
    bytes: &[u8],
) -> anyhow::Result<(i32, i32)> {
    let len = i32::try_from(bytes.len()).context("input larger than 2 GiB")?;
    let ptr = exports
        .alloc
        .call(&mut *store, len)
        .map_err(|e| anyhow!("{e}"))
        .context("ocisig_alloc trapped")?;
    if ptr == 0 {
        bail!("the module refused to allocate {len} bytes");
    }
    let offset = usize::try_from(u32::from_ne_bytes(ptr.to_ne_bytes()))?;
    exports
        .memory
        .write(&mut *store, offset, bytes)
        .context("ocisig_alloc returned a buffer outside its memory")?;
    Ok((ptr, len))
}

/// As the module wrote it.
impl serde::Serialize for ModuleVerdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// What a policy set reads of a verdict; a reason code the core does not know (a module
/// from elsewhere) counts as a trap.
impl ocisig::PolicyVerdict for ModuleVerdict {
    fn verified(&self) -> bool {
        self.verified
    }

    fn reason(&self) -> Reason {
        Reason::from_code(self.field("reason")).unwrap_or(Reason::ModuleTrap)
    }

    fn message(&self) -> &str {
        self.field("message")
    }
}
