//! `dist/ocisig-opa.wasm`: the ocisig verifier behind OPA's WebAssembly ABI 1.3, written by
//! hand, so that any host that loads OPA-compiled policies can load it.
//!
//! The input is an evidence document (what `ocisig fetch` writes); the data is a policy. Two
//! entrypoints: `ocisig/verify` (0) gives the verdict object, `ocisig/allow` (1) its
//! `verified` boolean. Results are `[{"result": …}]` as JSON and `{{"result": …}}` as Rego
//! values. Memory is imported from `env.memory`; nothing else is imported. The globals
//! `opa_wasm_abi_version` (1) and `opa_wasm_abi_minor_version` (3) are added after the build
//! (`tools/wasm-post`), since a Rust static would export an address, not a global.
//!
//! Values and contexts are blocks on the heap tagged with a magic number; the heap is one bump
//! allocator that the host resets between evaluations (see `heap`). Every address the host
//! passes is checked before use, so a bad one gives 0 or an error code, not a trap.

#![cfg(target_family = "wasm")]

extern crate alloc;

mod evaluate;
mod heap;
mod memory;

use evaluate::{ERR_INTERNAL, ERR_INVALID_TYPE, ERR_OK};
use memory::Kind;

#[global_allocator]
static ALLOCATOR: heap::BumpAllocator = heap::BumpAllocator;

fn address(value: i32) -> usize {
    usize::try_from(u32::from_ne_bytes(value.to_ne_bytes())).unwrap_or(0)
}

fn handle(value: usize) -> i32 {
    u32::try_from(value).map_or(0, |v| i32::from_ne_bytes(v.to_ne_bytes()))
}

fn length(value: i32) -> Option<usize> {
    usize::try_from(value).ok()
}

/// A value's text as JSON: result sets become `[{"result": X}]`.
fn json_text(kind: Kind, text: &[u8]) -> alloc::vec::Vec<u8> {
    match kind {
        Kind::Json => text.to_vec(),
        Kind::ResultSet => evaluate::result_set(Some(text).filter(|t| !t.is_empty()), false),
    }
}

/// The data document at `data`; with no data (or not a document), an empty policy, which the
/// core refuses.
fn data_text(data: usize) -> alloc::vec::Vec<u8> {
    match memory::value(data) {
        Some((Kind::Json, text)) => text,
        _ => b"{}".to_vec(),
    }
}

/// Runs one evaluation: stores the result set in a new value; returns its address (0 when
/// memory runs out).
fn run(entrypoint: u32, data: usize, input: &[u8]) -> usize {
    match evaluate::result(entrypoint, &data_text(data), input) {
        Some(result) => memory::new_value(Kind::ResultSet, &result),
        None => memory::new_value(Kind::ResultSet, b""),
    }
}

// Every export below is `#[unsafe(no_mangle)]`. SAFETY (for each): `no_mangle` exports the
// function under its plain name, which is part of OPA's ABI; no other symbol in the module
// has that name.

/// Allocates `size` bytes for the host; 0 when memory cannot grow.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_malloc(size: i32) -> i32 {
    length(size)
        .and_then(|size| heap::bump(size, 8))
        .map_or(0, handle)
}

/// Frees nothing: the bump heap is released when the host resets the heap pointer.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_free(_address: i32) {}

/// As [`opa_free`].
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_value_free(_address: i32) {}

/// Parses `len` bytes of JSON at `address` into a value; 0 when they are not JSON.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_json_parse(address: i32, len: i32) -> i32 {
    let Some(bytes) = length(len).and_then(|len| memory::read_bytes(self::address(address), len))
    else {
        return 0;
    };
    if !evaluate::is_json(&bytes) {
        return 0;
    }
    handle(memory::new_value(Kind::Json, &bytes))
}

/// Parses a Rego value. JSON is the subset this module needs; anything else gives 0.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_value_parse(address: i32, len: i32) -> i32 {
    opa_json_parse(address, len)
}

/// A NUL-terminated JSON serialization of a value; 0 for an address that is not a value.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_json_dump(value: i32) -> i32 {
    match memory::value(address(value)) {
        Some((kind, text)) => handle(memory::c_string(&json_text(kind, &text))),
        None => 0,
    }
}

/// A NUL-terminated Rego serialization of a value: result sets as `{{"result": X}}`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_value_dump(value: i32) -> i32 {
    match memory::value(address(value)) {
        Some((Kind::Json, text)) => handle(memory::c_string(&text)),
        Some((Kind::ResultSet, text)) => handle(memory::c_string(&evaluate::result_set(
            Some(text.as_slice()).filter(|t| !t.is_empty()),
            true,
        ))),
        None => 0,
    }
}

/// The heap pointer.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_heap_ptr_get() -> i32 {
    handle(heap::current())
}

/// Moves the heap pointer (hosts reset it between evaluations).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_heap_ptr_set(address: i32) {
    heap::set(self::address(address));
}

/// Nothing to stash: a bump heap keeps no free lists.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_heap_blocks_stash() {}

/// As [`opa_heap_blocks_stash`].
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_heap_blocks_restore() {}

/// As [`opa_heap_blocks_stash`].
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_heap_stash_clear() {}

/// The builtins this module needs from the host: none (`{}`).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn builtins() -> i32 {
    handle(memory::new_value(Kind::Json, b"{}"))
}

/// The entrypoints: `{"ocisig/verify":0,"ocisig/allow":1}`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn entrypoints() -> i32 {
    handle(memory::new_value(Kind::Json, evaluate::ENTRYPOINTS))
}

/// A new evaluation context (entrypoint 0, no input, no data).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_eval_ctx_new() -> i32 {
    handle(memory::new_context())
}

fn update_context(context: i32, change: impl FnOnce(&mut memory::Context)) {
    let address = address(context);
    if let Some(mut current) = memory::context(address) {
        change(&mut current);
        let _ = memory::set_context(address, current);
    }
}

/// Sets the context's input value.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_eval_ctx_set_input(context: i32, value: i32) {
    update_context(context, |c| {
        c.input = u32::from_ne_bytes(value.to_ne_bytes())
    });
}

/// Sets the context's data value (the policy).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_eval_ctx_set_data(context: i32, value: i32) {
    update_context(context, |c| {
        c.data = u32::from_ne_bytes(value.to_ne_bytes())
    });
}

/// Sets the context's entrypoint.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_eval_ctx_set_entrypoint(context: i32, entrypoint: i32) {
    update_context(context, |c| {
        c.entrypoint = u32::from_ne_bytes(entrypoint.to_ne_bytes());
    });
}

/// The context's result set value (0 before `eval`).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_eval_ctx_get_result(context: i32) -> i32 {
    memory::context(address(context)).map_or(0, |c| i32::from_ne_bytes(c.result.to_ne_bytes()))
}

/// Evaluates the context; 0 on success, 1 when the context or memory is unusable.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn eval(context: i32) -> i32 {
    let Some(mut current) = memory::context(address(context)) else {
        return ERR_INTERNAL;
    };
    let input = match memory::value(current.input as usize) {
        Some((Kind::Json, text)) => text,
        // No input: the core refuses it as invalid evidence.
        _ => alloc::vec::Vec::new(),
    };
    let result = run(current.entrypoint, current.data as usize, &input);
    if result == 0 {
        return ERR_INTERNAL;
    }
    current.result = u32::try_from(result).unwrap_or(0);
    match memory::set_context(address(context), current) {
        Some(()) => ERR_OK,
        None => ERR_INTERNAL,
    }
}

/// The one-shot evaluation of ABI 1.2+: resets the heap to `heap_address`, reads the input
/// JSON at `input_address`, and returns a NUL-terminated result set (format 0: JSON,
/// 1: Rego value); 0 when memory runs out.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_eval(
    _reserved: i32,
    entrypoint: i32,
    data: i32,
    input_address: i32,
    input_len: i32,
    heap_address: i32,
    format: i32,
) -> i32 {
    heap::set(address(heap_address));
    let input = length(input_len)
        .and_then(|len| memory::read_bytes(address(input_address), len))
        .unwrap_or_default();
    let entrypoint = u32::from_ne_bytes(entrypoint.to_ne_bytes());
    let result = evaluate::result(entrypoint, &data_text(address(data)), &input);
    let text = evaluate::result_set(result.as_deref(), format == 1);
    handle(memory::c_string(&text))
}

/// Sets `value` at `path` (an array of strings) inside `base`; an OPA error code.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_value_add_path(base: i32, path: i32, value: i32) -> i32 {
    let (
        Some((Kind::Json, base_text)),
        Some((Kind::Json, path_text)),
        Some((Kind::Json, value_text)),
    ) = (
        memory::value(address(base)),
        memory::value(address(path)),
        memory::value(address(value)),
    )
    else {
        return ERR_INVALID_TYPE;
    };
    match evaluate::add_path(&base_text, &path_text, &value_text) {
        Ok(text) => memory::replace_value(address(base), Kind::Json, &text)
            .map_or(ERR_INTERNAL, |()| ERR_OK),
        Err(code) => code,
    }
}

/// Removes the member at `path` from `base`; an OPA error code.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn opa_value_remove_path(base: i32, path: i32) -> i32 {
    let (Some((Kind::Json, base_text)), Some((Kind::Json, path_text))) =
        (memory::value(address(base)), memory::value(address(path)))
    else {
        return ERR_INVALID_TYPE;
    };
    match evaluate::remove_path(&base_text, &path_text) {
        Ok(text) => memory::replace_value(address(base), Kind::Json, &text)
            .map_or(ERR_INTERNAL, |()| ERR_OK),
        Err(code) => code,
    }
}
