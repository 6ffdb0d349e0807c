//! What the index asks of the kernel and the CPU: huge pages, prefetch
//! and the POPCNT capability token.

/// Asks the kernel to back a large array with transparent huge pages before
/// it is first written: the candidate checks touch it at random, and with
/// 4 KiB pages nearly every touch is also a TLB miss. A hint only; failure
/// is harmless.
pub(super) fn huge_pages<T>(v: &[T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + std::mem::size_of_val(v);
        let a = start.next_multiple_of(HUGE);
        if end > a + HUGE {
            let len = (end - a) / HUGE * HUGE;
            // SAFETY: advice on whole huge pages inside the live allocation
            // backing `v`; madvise does not change the memory's contents.
            unsafe {
                libc::madvise(a as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

#[inline(always)]
pub(super) fn prefetch<T>(h: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; the pointer is to a live element.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(h as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = h;
}

/// Proof that this CPU has the POPCNT instruction; made only by
/// [`Popcnt::detect`].
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(super) struct Popcnt {
    pub(super) _private: (),
}

#[cfg(target_arch = "x86_64")]
impl Popcnt {
    /// The token when the CPU has POPCNT (detection is cached by the
    /// standard library).
    #[inline]
    pub(super) fn detect() -> Option<Popcnt> {
        std::arch::is_x86_feature_detected!("popcnt").then_some(Popcnt { _private: () })
    }
}
