//! `wasm-post`: the post-build step of the shipped WebAssembly artifacts.
//!
//! ```text
//! wasm-post opa-globals IN OUT            add the i32 globals opa_wasm_abi_version = 1 and
//!                                         opa_wasm_abi_minor_version = 3, exported
//! wasm-post kubewarden-metadata IN OUT METADATA.yml USAGE.md
//!                                         embed the policy metadata as JSON in the custom
//!                                         section io.kubewarden.metadata, as `kwctl annotate`
//!                                         does (protocolVersion "v1", USAGE.md as the
//!                                         io.kubewarden.policy.usage annotation)
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
        ["kubewarden-metadata", input, output, metadata, usage] => {
            let mut module = load(input)?;
            check_kubewarden_exports(&module, input)?;
            let data = kubewarden_metadata(metadata, usage)?;
            let existing: Vec<_> = module
                .customs
                .iter()
                .filter(|(_, section)| section.name() == KUBEWARDEN_METADATA_SECTION)
                .map(|(id, _)| id)
                .collect();
            for id in existing {
                module.customs.delete(id);
            }
            module.customs.add(RawCustomSection {
                name: KUBEWARDEN_METADATA_SECTION.to_string(),
                data,
            });
            save(&mut module, output)
        }
        _ => {
            bail!(
                "usage: wasm-post opa-globals IN OUT | \
                 wasm-post kubewarden-metadata IN OUT METADATA.yml USAGE.md"
            )
        }
    }
}

/// The custom section Kubewarden reads a policy's metadata from.
const KUBEWARDEN_METADATA_SECTION: &str = "io.kubewarden.metadata";

/// A waPC guest exports `__guest_call` and `wapc_init`; an `opa_*` export would make kwctl and
/// the policy server load the module as Rego.
fn check_kubewarden_exports(module: &Module, path: &str) -> anyhow::Result<()> {
    if let Some(export) = module.exports.iter().find(|e| e.name.starts_with("opa_")) {
        bail!(
            "{path} exports {}; Kubewarden would take it for a Rego policy",
            export.name
        );
    }
    for name in ["__guest_call", "wapc_init"] {
        if !module.exports.iter().any(|e| e.name == name) {
            bail!("{path} does not export {name}; it is not a waPC guest");
        }
    }
    Ok(())
}

/// metadata.yml as the JSON `kwctl annotate` writes: `protocolVersion` set, the usage text
/// added as an annotation, and the fields Kubewarden requires present.
fn kubewarden_metadata(metadata: &str, usage: &str) -> anyhow::Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(metadata).with_context(|| format!("cannot read {metadata}"))?;
    let mut document: serde_json::Value =
        serde_yaml_ng::from_str(&text).with_context(|| format!("{metadata} is not YAML"))?;
    let object = document
        .as_object_mut()
        .with_context(|| format!("{metadata}: the top level is not a mapping"))?;
    for field in [
        "rules",
        "mutating",
        "executionMode",
        "backgroundAudit",
        "annotations",
    ] {
        if !object.contains_key(field) {
            bail!("{metadata}: {field} is missing");
        }
    }
    object.insert("protocolVersion".into(), "v1".into());
    let usage_text =
        std::fs::read_to_string(usage).with_context(|| format!("cannot read {usage}"))?;
    object
        .get_mut("annotations")
        .and_then(serde_json::Value::as_object_mut)
        .with_context(|| format!("{metadata}: annotations is not a mapping"))?
        .insert("io.kubewarden.policy.usage".into(), usage_text.into());
    Ok(serde_json::to_vec(&document)?)
}

fn load(path: &str) -> anyhow::Result<Module> {
    Module::from_file(path).with_context(|| format!("cannot read module {path}"))
}

fn save(module: &mut Module, path: &str) -> anyhow::Result<()> {
    module
        .emit_wasm_file(path)
        .with_context(|| format!("cannot write {path}"))
}
