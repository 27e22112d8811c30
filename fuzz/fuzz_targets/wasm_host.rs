//! The raw module (`dist/ocisig.wasm`) in wasmi, shared by the ABI and differential targets.
//!
//! wasmi, not wasmtime: wasm semantics are deterministic, so any conforming engine serves for
//! a differential against the native core, and an interpreter builds in a fraction of the time
//! under the fuzzer's instrumentation. The shim's wasmtime path is covered by the harness.

// Each target uses part of this.
#![allow(dead_code)]

use std::sync::OnceLock;

use wasmi::{Config, Engine, Instance, Linker, Module, Store, TypedFunc};

/// The module, compiled once per fuzzing process.
fn module() -> &'static (Engine, Module) {
    static MODULE: OnceLock<(Engine, Module)> = OnceLock::new();
    MODULE.get_or_init(|| {
        let mut config = Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let bytes = include_bytes!("../../dist/ocisig.wasm");
        let module = Module::new(&engine, &bytes[..]).unwrap();
        (engine, module)
    })
}

/// A fresh instance with a fuel budget.
pub struct Guest {
    pub store: Store<()>,
    pub instance: Instance,
}

impl Guest {
    pub fn new() -> Self {
        let (engine, module) = module();
        let mut store = Store::new(engine, ());
        store.set_fuel(20_000_000_000).unwrap();
        let instance = Linker::<()>::new(engine)
            .instantiate_and_start(&mut store, module)
            .unwrap();
        Self { store, instance }
    }

    pub fn func<P: wasmi::WasmParams, R: wasmi::WasmResults>(
        &mut self,
        name: &str,
    ) -> TypedFunc<P, R> {
        self.instance.get_typed_func(&self.store, name).unwrap()
    }

    /// Copies `bytes` into a module buffer; `(ptr, len)`.
    pub fn input(&mut self, bytes: &[u8]) -> (i32, i32) {
        let len = i32::try_from(bytes.len()).unwrap();
        let ptr = self
            .func::<i32, i32>("ocisig_alloc")
            .call(&mut self.store, len)
            .unwrap();
        assert_ne!(ptr, 0, "the module refused {len} bytes");
        let memory = self.instance.get_memory(&self.store, "memory").unwrap();
        memory
            .write(&mut self.store, ptr as u32 as usize, bytes)
            .unwrap();
        (ptr, len)
    }

    /// The verdict JSON for a packed `(ptr << 32) | len` result.
    pub fn output(&mut self, packed: i64) -> String {
        let packed = packed as u64;
        let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        let memory = self.instance.get_memory(&self.store, "memory").unwrap();
        let mut bytes = vec![0; len];
        memory.read(&self.store, ptr, &mut bytes).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    /// One whole verification, as a host does it.
    pub fn verify(&mut self, policy: &[u8], evidence: &[u8]) -> String {
        let (pp, pl) = self.input(policy);
        let (ep, el) = self.input(evidence);
        let verify = self.func::<(i32, i32, i32, i32), i64>("ocisig_verify");
        let packed = verify.call(&mut self.store, (pp, pl, ep, el)).unwrap();
        self.output(packed)
    }
}
