//! A counting global allocator for tests that bound memory. A test binary installs it
//! with `#[global_allocator] static ALLOCATOR: Counting = Counting;`: then every
//! allocation of the binary goes through it, `CURRENT` bytes are held now and `PEAK` is
//! the most held since it was last reset.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The allocator (the system's, counted).
pub struct Counting;

/// Bytes held now.
pub static CURRENT: AtomicUsize = AtomicUsize::new(0);

/// The most bytes held at once since the last [`reset_peak`].
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // The old and the new block may both be held while the bytes are copied.
            grew(new_size);
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// One measurement at a time, for synchronous tests: the counters are process-wide.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// One measurement at a time, for async tests.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub const MIB: usize = 1 << 20;

/// Starts a measurement: the bytes held now, for [`peak_since`].
pub fn reset_peak() -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    base
}

/// The most memory held at once since [`reset_peak`] gave `base`, above `base`.
pub fn peak_since(base: usize) -> usize {
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

/// `f`'s result and the most memory it held at once above what was held before.
pub fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = reset_peak();
    let out = f();
    (out, peak_since(base))
}
