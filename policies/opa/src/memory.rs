//! Reading and writing the linear memory the host shares with us, always bounds-checked first,
//! and the two kinds of block we hand out: values and evaluation contexts.
//!
//! OPA hosts pass raw addresses. Every address is checked against the memory's size, and every
//! value or context address must carry our magic number, so a wrong address gets an error
//! code or 0, not a trap or a read of something else.

use alloc::vec::Vec;

use crate::heap;

const VALUE_MAGIC: u32 = 0x6f63_7376;
const CONTEXT_MAGIC: u32 = 0x6f63_7363;

/// What a value holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A JSON document (which is also a Rego value).
    Json = 1,
    /// The set `{{"result": X}}` of one evaluation result; the text is X.
    ResultSet = 2,
}

/// Copies `len` bytes at `address` out of linear memory; `None` when out of bounds.
pub(crate) fn read_bytes(address: usize, len: usize) -> Option<Vec<u8>> {
    let end = address.checked_add(len)?;
    if end > heap::memory_bytes() {
        return None;
    }
    let mut copy = Vec::new();
    copy.try_reserve_exact(len).ok()?;
    // SAFETY: [address, address + len) lies inside the linear memory (checked above), which is
    // always readable in wasm; the bytes are copied out at once, so no reference into memory
    // the host may change outlives this call.
    #[allow(unsafe_code)]
    unsafe {
        let source = core::ptr::with_exposed_provenance::<u8>(address);
        copy.extend_from_slice(core::slice::from_raw_parts(source, len));
    }
    Some(copy)
}

/// Writes `bytes` at `address`; `None` when out of bounds.
fn write_bytes(address: usize, bytes: &[u8]) -> Option<()> {
    let end = address.checked_add(bytes.len())?;
    if end > heap::memory_bytes() {
        return None;
    }
    // SAFETY: the destination lies inside linear memory (checked above) in a block that
    // `heap::bump` just handed to the caller, so nothing else owns those bytes.
    #[allow(unsafe_code)]
    unsafe {
        let destination = core::ptr::with_exposed_provenance_mut::<u8>(address);
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), destination, bytes.len());
    }
    Some(())
}

fn read_u32s<const N: usize>(address: usize) -> Option<[u32; N]> {
    if !address.is_multiple_of(4) {
        return None;
    }
    let bytes = read_bytes(address, N * 4)?;
    let mut words = [0u32; N];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    Some(words)
}

fn write_u32s(address: usize, words: &[u32]) -> Option<()> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    write_bytes(address, &bytes)
}

fn to_u32(value: usize) -> Option<u32> {
    u32::try_from(value).ok()
}

/// Copies `bytes` into a fresh heap block; returns its address.
pub(crate) fn store(bytes: &[u8], align: usize) -> Option<usize> {
    let address = heap::bump(bytes.len().max(1), align)?;
    write_bytes(address, bytes)?;
    Some(address)
}

/// A NUL-terminated copy of `text` on the heap, as `opa_json_dump` returns; 0 on failure.
pub(crate) fn c_string(text: &[u8]) -> usize {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text);
    bytes.push(0);
    store(&bytes, 1).unwrap_or(0)
}

/// A new value block holding `text`; 0 on failure.
pub(crate) fn new_value(kind: Kind, text: &[u8]) -> usize {
    let make = || -> Option<usize> {
        let text_address = store(text, 1)?;
        let block = heap::bump(16, 8)?;
        write_u32s(
            block,
            &[
                VALUE_MAGIC,
                kind as u32,
                to_u32(text_address)?,
                to_u32(text.len())?,
            ],
        )?;
        Some(block)
    };
    make().unwrap_or(0)
}

/// The kind and text of the value at `address`, if it is one of ours.
pub(crate) fn value(address: usize) -> Option<(Kind, Vec<u8>)> {
    if address == 0 {
        return None;
    }
    let [magic, kind, text, len] = read_u32s::<4>(address)?;
    if magic != VALUE_MAGIC {
        return None;
    }
    let kind = match kind {
        1 => Kind::Json,
        2 => Kind::ResultSet,
        _ => return None,
    };
    Some((kind, read_bytes(text as usize, len as usize)?))
}

/// Points the value at `address` to new text.
pub(crate) fn replace_value(address: usize, kind: Kind, text: &[u8]) -> Option<()> {
    value(address)?;
    let text_address = store(text, 1)?;
    write_u32s(
        address,
        &[
            VALUE_MAGIC,
            kind as u32,
            to_u32(text_address)?,
            to_u32(text.len())?,
        ],
    )
}

/// An evaluation context: input, data and result value addresses, and the entrypoint.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Context {
    pub(crate) input: u32,
    pub(crate) data: u32,
    pub(crate) entrypoint: u32,
    pub(crate) result: u32,
}

/// A new, empty context block; 0 on failure.
pub(crate) fn new_context() -> usize {
    let make = || -> Option<usize> {
        let block = heap::bump(20, 8)?;
        write_u32s(block, &[CONTEXT_MAGIC, 0, 0, 0, 0])?;
        Some(block)
    };
    make().unwrap_or(0)
}

/// The context at `address`, if it is one of ours.
pub(crate) fn context(address: usize) -> Option<Context> {
    let [magic, input, data, entrypoint, result] = read_u32s::<5>(address)?;
    (magic == CONTEXT_MAGIC).then_some(Context {
        input,
        data,
        entrypoint,
        result,
    })
}

/// Writes `context` back to `address` (which must already be a context).
pub(crate) fn set_context(address: usize, context: Context) -> Option<()> {
    self::context(address)?;
    write_u32s(
        address,
        &[
            CONTEXT_MAGIC,
            context.input,
            context.data,
            context.entrypoint,
            context.result,
        ],
    )
}
