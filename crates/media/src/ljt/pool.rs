//! Per-thread pool of plane and coefficient buffers, so that decoding one
//! image after another reuses memory instead of asking the kernel for fresh
//! zeroed pages each time. Buffers handed out hold stale samples from an
//! earlier image: the decoder writes every element it later reads.

use std::cell::RefCell;

/// Buffers kept per kind.
const KEEP: usize = 4;
/// Larger buffers are not kept.
const MAX_KEEP_BYTES: usize = 128 << 20;

#[derive(Default)]
struct Pool {
    u8s: Vec<Vec<u8>>,
    i16s: Vec<Vec<i16>>,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// Picks the smallest kept buffer that holds `len`, else the largest.
fn pick<T>(list: &mut Vec<Vec<T>>, len: usize) -> Option<Vec<T>> {
    let i = list
        .iter()
        .enumerate()
        .filter(|(_, v)| v.capacity() >= len)
        .min_by_key(|(_, v)| v.capacity())
        .or_else(|| list.iter().enumerate().max_by_key(|(_, v)| v.capacity()))?
        .0;
    Some(list.swap_remove(i))
}

fn take<T: Copy + Default>(get: impl FnOnce(&mut Pool) -> Option<Vec<T>>, len: usize) -> Vec<T> {
    let v = POOL
        .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| get(&mut p)))
        .ok()
        .flatten();
    match v {
        Some(mut v) if v.capacity() >= len => {
            if v.len() >= len {
                v.truncate(len);
            } else {
                v.resize(len, T::default());
            }
            v
        }
        _ => vec![T::default(); len],
    }
}

fn give<T>(v: Vec<T>, put: impl FnOnce(&mut Pool, Vec<T>)) {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes == 0 || bytes > MAX_KEEP_BYTES {
        return;
    }
    let _ = POOL.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            put(&mut p, v);
        }
    });
}

/// A buffer of `len` samples with unspecified contents.
pub(super) fn take_u8(len: usize) -> Vec<u8> {
    take(|p| pick(&mut p.u8s, len), len)
}

/// A buffer of `len` coefficients with unspecified contents.
pub(super) fn take_i16(len: usize) -> Vec<i16> {
    take(|p| pick(&mut p.i16s, len), len)
}

pub(super) fn give_u8(v: Vec<u8>) {
    give(v, |p, v| {
        p.u8s.push(v);
        if p.u8s.len() > KEEP {
            let i = (0..p.u8s.len())
                .min_by_key(|&i| p.u8s[i].capacity())
                .unwrap_or(0);
            p.u8s.swap_remove(i);
        }
    })
}

pub(super) fn give_i16(v: Vec<i16>) {
    give(v, |p, v| {
        p.i16s.push(v);
        if p.i16s.len() > KEEP {
            let i = (0..p.i16s.len())
                .min_by_key(|&i| p.i16s[i].capacity())
                .unwrap_or(0);
            p.i16s.swap_remove(i);
        }
    })
}
