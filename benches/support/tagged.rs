//! A global allocator that counts live heap bytes per thread tag, so that a benchmark
//! holding the sandbox and the operator in one process can tell the operator's memory
//! apart: the operator runs on a runtime whose threads carry tag 1, everything else 0.
//! They talk over loopback TCP, so no allocation crosses from one to the other.
//!
//! Each allocation carries its tag in the byte before the pointer it returns; live bytes
//! are the requested sizes (no allocator overhead).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};

/// Tags: 0 for everything but the operator, 1 for the operator's threads.
pub const OPERATOR: u8 = 1;

thread_local! {
    static TAG: Cell<u8> = const { Cell::new(0) };
}

static LIVE: [AtomicI64; 2] = [AtomicI64::new(0), AtomicI64::new(0)];

/// Marks the calling thread's allocations with `tag` from now on.
pub fn tag_thread(tag: u8) {
    TAG.with(|t| t.set(tag));
}

/// Live heap bytes allocated by threads tagged `tag` and not freed yet.
pub fn live_bytes(tag: u8) -> i64 {
    LIVE[usize::from(tag)].load(Ordering::Relaxed)
}

pub struct Tagged;

fn padded(layout: Layout) -> (Layout, usize) {
    let header = layout.align().max(16);
    // SAFETY-free: the size cannot overflow for layouts the program can allocate.
    let full = Layout::from_size_align(layout.size() + header, layout.align().max(16)).expect("layout fits");
    (full, header)
}

unsafe impl GlobalAlloc for Tagged {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let tag = TAG.try_with(Cell::get).unwrap_or(0);
        let (full, header) = padded(layout);
        // SAFETY: `full` has a non-zero size (the header) and a valid alignment.
        let base = unsafe { System.alloc(full) };
        if base.is_null() {
            return base;
        }
        LIVE[usize::from(tag)].fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `header` bytes precede the returned pointer inside the block.
        unsafe {
            let user = base.add(header);
            *user.sub(1) = tag;
            user
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let (full, header) = padded(layout);
        // SAFETY: `ptr` came from `alloc` with this layout, so the tag byte and the block's
        // base are where `alloc` put them.
        unsafe {
            let tag = *ptr.sub(1);
            LIVE[usize::from(tag.min(1))].fetch_sub(layout.size() as i64, Ordering::Relaxed);
            System.dealloc(ptr.sub(header), full);
        }
    }
}
