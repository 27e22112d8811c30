//! The buffers shared with the host, tracked by address so that no pointer from the host is
//! ever dereferenced: it is only used as a key into this table.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// The largest buffer handed out: room for the largest evidence document the core accepts.
const MAX_BUFFER_BYTES: usize = ocisig::limits::MAX_EVIDENCE_BYTES + 1024;

/// A buffer handed to the host. It holds at least one byte, so that no two live buffers share
/// an address; `len` is the length the host asked for.
struct Buffer {
    bytes: Box<[u8]>,
    len: usize,
}

thread_local! {
    /// Live buffers by start address.
    static LIVE: RefCell<BTreeMap<u32, Buffer>> = const { RefCell::new(BTreeMap::new()) };
}

/// wasm32 addresses are 32 bits; the ABI passes them as i32, so reinterpret the bits.
fn address(ptr: i32) -> u32 {
    u32::from_ne_bytes(ptr.to_ne_bytes())
}

fn address_of(buffer: &[u8]) -> u32 {
    // On wasm32 every address fits in 32 bits.
    u32::try_from(buffer.as_ptr() as usize).unwrap_or(0)
}

fn to_i32(value: u32) -> i32 {
    i32::from_ne_bytes(value.to_ne_bytes())
}

fn register(bytes: Vec<u8>, len: usize) -> u32 {
    let buffer = bytes.into_boxed_slice();
    let ptr = address_of(&buffer);
    LIVE.with_borrow_mut(|live| live.insert(ptr, Buffer { bytes: buffer, len }));
    ptr
}

fn zeroed(len: usize) -> Option<Vec<u8>> {
    let size = len.max(1);
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(size).ok()?;
    bytes.resize(size, 0);
    Some(bytes)
}

/// `ocisig_alloc`.
pub(crate) fn allocate(len: i32) -> i32 {
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    if len > MAX_BUFFER_BYTES {
        return 0;
    }
    zeroed(len).map_or(0, |bytes| to_i32(register(bytes, len)))
}

/// `ocisig_free`: drops the buffer that starts at `ptr`, if there is one of that length.
pub(crate) fn release(ptr: i32, len: i32) {
    let ptr = address(ptr);
    LIVE.with_borrow_mut(|live| {
        if live
            .get(&ptr)
            .is_some_and(|buffer| usize::try_from(len).ok() == Some(buffer.len))
        {
            live.remove(&ptr);
        }
    });
}

/// Runs `f` on the first `len` bytes of the live buffer at `ptr`.
///
/// # Errors
/// A message when `ptr` is not the start of a live buffer or `len` is out of its bounds.
pub(crate) fn with_input<T>(ptr: i32, len: i32, f: impl FnOnce(&[u8]) -> T) -> Result<T, String> {
    let len = usize::try_from(len).map_err(|_| format!("negative length {len}"))?;
    LIVE.with_borrow(|live| {
        let buffer = live
            .get(&address(ptr))
            .ok_or_else(|| format!("{ptr:#x} is not a buffer from ocisig_alloc"))?;
        let input = buffer
            .bytes
            .get(..len)
            .filter(|_| len <= buffer.len)
            .ok_or_else(|| format!("length {len} exceeds the buffer's {} bytes", buffer.len))?;
        Ok(f(input))
    })
}

/// Registers `bytes` as a buffer for the host and packs `(ptr << 32) | len`.
pub(crate) fn hand_out(bytes: Vec<u8>) -> i64 {
    let len = bytes.len();
    let ptr = register(bytes, len);
    let packed = (u64::from(ptr) << 32) | u64::try_from(len).unwrap_or(0);
    i64::from_ne_bytes(packed.to_ne_bytes())
}
