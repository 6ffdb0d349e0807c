//! Resource limits: connection and request timeouts, the decode memory
//! budget, and what a request costs in rate-limit tokens.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connection, request and decode limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed to receive a request's headers, counted from when the
    /// server starts waiting for them: on a new connection, or after the
    /// previous response on a kept-alive one (so it is also the idle
    /// timeout between requests).
    pub header_timeout: Duration,
    /// Time allowed to receive a whole request body once its headers are
    /// in.
    pub body_timeout: Duration,
    /// Most open connections; more are closed as soon as accepted.
    pub max_connections: usize,
    /// Memory that decoding uploads may use at once, in bytes, counted
    /// from each image's declared size before it is decoded; an upload
    /// that does not fit gets 503 with `Retry-After`.
    pub decode_budget_bytes: u64,
    /// Largest image (width × height) the service decodes; lower than
    /// `scan`'s limit.
    pub max_pixels: u64,
    /// Largest batch-lookup threshold a matcher key may ask for, unless an
    /// admin gave the key its own cap.
    pub matcher_batch_threshold: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(120),
            max_connections: 1024,
            decode_budget_bytes: 1 << 30,
            max_pixels: 64_000_000,
            matcher_batch_threshold: nigehbaan_pdq::DEFAULT_MATCH_THRESHOLD,
        }
    }
}

/// Bytes a decode of a `width` × `height` image is charged: 4 per pixel
/// (RGB pixels and the hasher's working rows, with room to spare).
pub fn decode_cost(width: u32, height: u32) -> u64 {
    width as u64 * height as u64 * 4
}

/// The decode memory budget: a semaphore counting KiB.
#[derive(Debug, Clone)]
pub struct DecodeBudget {
    sem: Arc<Semaphore>,
    total_kib: u32,
}

impl DecodeBudget {
    /// A budget of `bytes` (at least 1 MiB, at most 4 TiB).
    pub fn new(bytes: u64) -> DecodeBudget {
        let kib = (bytes >> 10).clamp(1024, u32::MAX as u64) as u32;
        DecodeBudget {
            sem: Arc::new(Semaphore::new(kib as usize)),
            total_kib: kib,
        }
    }

    /// Takes `bytes` from the budget, or `None` when it is not free now. A
    /// cost over the whole budget takes the whole budget (it runs alone).
    pub fn try_take(&self, bytes: u64) -> Option<OwnedSemaphorePermit> {
        let kib = bytes.div_ceil(1024).clamp(1, self.total_kib as u64) as u32;
        self.sem.clone().try_acquire_many_owned(kib).ok()
    }

    /// Bytes free now.
    pub fn available_bytes(&self) -> u64 {
        (self.sem.available_permits() as u64) << 10
    }

    /// The whole budget in bytes.
    pub fn total_bytes(&self) -> u64 {
        (self.total_kib as u64) << 10
    }
}

fn binomial(n: u64, k: u64) -> u64 {
    (0..k).fold(1, |acc, i| acc * (n - i) / (i + 1))
}

/// Tokens one PDQ search at threshold `t` costs: the multi-index search
/// probes every bucket within `t / 16` bits in each of its 16 chunks, so
/// its work grows with Σ C(16, k) for k ≤ t / 16; a search at the default
/// threshold (31) costs 1, at 47 costs 9, at 63 costs 41.
pub fn radius_cost(t: u32) -> u64 {
    let r = (t / 16).min(16) as u64;
    let probes: u64 = (0..=r).map(|k| binomial(16, k)).sum();
    probes.div_ceil(17).max(1)
}

/// Admits an upload's decode: nothing to charge when it is not an image
/// or its headers cannot be read (the decode then fails at once without
/// allocating); 413 `image_too_large` when its declared size is over the
/// service's limits; else its cost taken from the decode budget, or 503
/// `busy` when the budget cannot cover it now.
pub(crate) fn admit(
    app: &crate::App,
    body: &[u8],
    opts: &nigehbaan_filehash::Options,
) -> Result<Option<OwnedSemaphorePermit>, crate::api::ApiError> {
    use axum::http::StatusCode;
    if nigehbaan_media::sniff(body).is_none() || !opts.pdq {
        return Ok(None);
    }
    let dopts = nigehbaan_media::DecodeOptions {
        limits: opts.limits,
        fast: opts.fast,
    };
    let info = match nigehbaan_media::probe(body, &dopts) {
        Ok(i) => i,
        Err(nigehbaan_media::MediaError::TooLarge {
            width,
            height,
            max_pixels,
            max_side,
        }) => {
            return Err(crate::api::ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "image_too_large",
                format!(
                    "the upload is an image too large for this service to decode: it declares \
                     {width}×{height} pixels, over this service's limit of {max_pixels} pixels \
                     or {max_side} px a side"
                ),
            ))
        }
        Err(_) => return Ok(None),
    };
    let cost = decode_cost(info.width, info.height);
    match app.decode_budget.try_take(cost) {
        Some(p) => Ok(Some(p)),
        None => Err(crate::api::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "the service is decoding as many images as its memory budget allows ({} MiB); try again shortly",
                app.decode_budget.total_bytes() >> 20
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_cost_grows_with_the_probes() {
        assert_eq!(radius_cost(0), 1);
        assert_eq!(radius_cost(31), 1);
        assert_eq!(radius_cost(32), 137u64.div_ceil(17));
        assert_eq!(radius_cost(63), 697u64.div_ceil(17));
    }

    #[test]
    fn budget_counts_bytes_and_gives_them_back() {
        let b = DecodeBudget::new(8 << 20);
        let p1 = b.try_take(5 << 20).unwrap();
        assert!(b.try_take(5 << 20).is_none());
        let p2 = b.try_take(3 << 20).unwrap();
        assert_eq!(b.available_bytes(), 0);
        drop(p1);
        assert_eq!(b.available_bytes(), 5 << 20);
        drop(p2);
        // More than the whole budget: takes all of it.
        let all = b.try_take(100 << 20).unwrap();
        assert_eq!(b.available_bytes(), 0);
        drop(all);
        assert_eq!(b.available_bytes(), b.total_bytes());
    }
}
