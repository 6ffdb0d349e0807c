//! # nigehbaan-index
//!
//! In-memory indexes that answer "is this hash on a list?":
//!
//! * [`ExactSet`]: MD5, SHA-1 and SHA-256 lookups on a sorted array with a
//!   prefix directory;
//! * [`PdqIndex`]: exact PDQ range search (Hamming distance ≤ 31 by
//!   default, up to 63) by multi-index hashing, with results identical to a
//!   brute-force scan, batch queries and dihedral (rotation/flip) matching.

#![warn(missing_docs)]

mod exact;
pub mod live;
mod pdq;
pub mod store;

pub use exact::ExactSet;
pub use live::{LiveMatch, LivePdqIndex, LiveStats};
pub use pdq::{brute_force, Layout, PdqIndex, PdqMatch, SearchError, MAX_RADIUS};
