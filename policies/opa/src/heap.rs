//! The heap: one bump allocator for everything, driven by `opa_heap_ptr_get/set`.
//!
//! OPA hosts reset the heap pointer between evaluations and write the next input just above
//! it, so nothing may live on the heap across evaluations and the allocator must start exactly
//! where the host says. A bump allocator does both: Rust's allocations (through
//! `#[global_allocator]`) and the values handed to the host all come from here, and resetting
//! the pointer frees them all at once. No static ever points into the heap.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

const PAGE_BYTES: usize = 65_536;

/// The next free address; 0 until first used (then `__heap_base`).
static NEXT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: declares the linker-provided symbol `__heap_base` with the type the linker gives
// it; only its address is ever used.
#[allow(unsafe_code)]
unsafe extern "C" {
    /// Set by the linker: the first address after the stack and static data.
    static __heap_base: u8;
}

fn heap_base() -> usize {
    // Taking the address of an extern static reads nothing, so it needs no unsafe block.
    core::ptr::addr_of!(__heap_base).addr()
}

/// The current heap pointer.
pub(crate) fn current() -> usize {
    match NEXT.load(Ordering::Relaxed) {
        0 => heap_base(),
        next => next,
    }
}

/// Moves the heap pointer; never below the heap's base, where the stack and statics live.
pub(crate) fn set(address: usize) {
    NEXT.store(address.max(heap_base()), Ordering::Relaxed);
}

/// The linear memory's current size in bytes.
pub(crate) fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0).saturating_mul(PAGE_BYTES)
}

/// Takes `size` bytes aligned to `align` (a power of two), growing memory if needed.
pub(crate) fn bump(size: usize, align: usize) -> Option<usize> {
    let start = current().checked_next_multiple_of(align.max(1))?;
    let end = start.checked_add(size)?;
    let have = memory_bytes();
    if end > have {
        let pages = (end - have).div_ceil(PAGE_BYTES);
        if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
            return None;
        }
    }
    NEXT.store(end, Ordering::Relaxed);
    Some(start)
}

/// The global allocator over [`bump`].
pub(crate) struct BumpAllocator;

// SAFETY: `alloc` returns a fresh, suitably aligned block of at least `layout.size()` bytes that
// no other live allocation overlaps (the pointer only moves forward, except when the host
// resets it, which by the OPA ABI ends every earlier allocation), or null when memory cannot
// grow. `dealloc` only ever moves the pointer back over the block being freed when it is the
// last one handed out.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(layout.size(), layout.align()).map_or(
            core::ptr::null_mut(),
            core::ptr::with_exposed_provenance_mut,
        )
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Only the most recent block can go back; the rest waits for the host's reset.
        let start = ptr.expose_provenance();
        if start.checked_add(layout.size()) == Some(NEXT.load(Ordering::Relaxed)) {
            NEXT.store(start, Ordering::Relaxed);
        }
    }
}
