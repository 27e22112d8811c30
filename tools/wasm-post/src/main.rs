//! `wasm-post`: the post-build step of the shipped WebAssembly artifacts.
//!
//! ```text
//! wasm-post opa-globals IN OUT            add the i32 globals opa_wasm_abi_version = 1 and
//!                                         opa_wasm_abi_minor_version = 3, exported
//! wasm-post custom-section IN OUT NAME FILE
//!                                         add (or replace) the custom section NAME with FILE
//! ```
//!
//! A Rust `static` exports the address of a value, and OPA hosts read these as globals, so they
//! are added to the finished module instead.

use anyhow::{Context as _, bail};
use walrus::{ConstExpr, Module, RawCustomSection, ValType, ir::Value};

/// OPA's wasm ABI version this module implements: 1.3.
const OPA_ABI: [(&str, i32); 2] = [
    ("opa_wasm_abi_version", 1),
    ("opa_wasm_abi_minor_version", 3),
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["opa-globals", input, output] => {
            let mut module = load(input)?;
            for (name, value) in OPA_ABI {
                if module.exports.iter().any(|e| e.name == name) {
                    bail!("{input} already exports {name}");
                }
                let global = module.globals.add_local(
                    ValType::I32,
                    false,
                    false,
                    ConstExpr::Value(Value::I32(value)),
                );
                module.exports.add(name, global);
            }
            save(&mut module, output)
        }
        ["custom-section", input, output, name, file] => {
            let mut module = load(input)?;
            let data = std::fs::read(file).with_context(|| format!("cannot read {file}"))?;
            let existing: Vec<_> = module
                .customs
                .iter()
                .filter(|(_, section)| section.name() == *name)
                .map(|(id, _)| id)
                .collect();
            for id in existing {
                module.customs.delete(id);
            }
            module.customs.add(RawCustomSection {
                name: (*name).to_string(),
                data,
            });
            save(&mut module, output)
        }
        _ => {
            bail!("usage: wasm-post opa-globals IN OUT | wasm-post custom-section IN OUT NAME FILE")
        }
    }
}

fn load(path: &str) -> anyhow::Result<Module> {
    Module::from_file(path).with_context(|| format!("cannot read module {path}"))
}

fn save(module: &mut Module, path: &str) -> anyhow::Result<()> {
    module
        .emit_wasm_file(path)
        .with_context(|| format!("cannot write {path}"))
}
