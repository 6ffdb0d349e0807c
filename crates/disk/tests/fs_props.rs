//! Property test: reading a file through its runs agrees with the same
//! bytes laid out flat (an oracle built by copying run by run), including
//! sparse runs, the zeroed tail past the initialised size, and runs that
//! end before the size (which must fail, never read as zeros).

use nigehbaan_disk::fs::{Run, RunReader};
use nigehbaan_disk::ReadAt;
use proptest::prelude::*;
use std::sync::Arc;

proptest! {
    #[test]
    fn run_reader_matches_a_flat_copy(
        runs in prop::collection::vec((any::<bool>(), 0u64..900, 1u64..200), 0..8),
        extra in 0u64..100,
        zero_cut in 0u64..2000,
        reads in prop::collection::vec((0u64..1500, 0usize..700), 1..10),
    ) {
        let volume: Vec<u8> = (0..1100u32).map(|i| (i % 251) as u8 + 1).collect();
        let runs: Vec<Run> = runs
            .into_iter()
            .map(|(sparse, at, len)| Run { disk: (!sparse).then_some(at), len })
            .collect();
        // oracle: the file's bytes, None where no run (or the volume) has them
        let mut flat: Vec<Option<u8>> = Vec::new();
        for r in &runs {
            for k in 0..r.len {
                flat.push(match r.disk {
                    None => Some(0),
                    Some(d) => volume.get((d + k) as usize).copied(),
                });
            }
        }
        let size = flat.len() as u64 + extra;
        let zero_from = zero_cut.min(size);
        let reader = RunReader::new(Arc::new(volume.clone()), runs.into(), size, zero_from);
        prop_assert_eq!(reader.len(), size);
        for (off, len) in reads {
            let mut buf = vec![0xEEu8; len];
            let end = (off + len as u64).min(size);
            let expect: Option<Vec<u8>> = (off..end.max(off))
                .map(|i| if i >= zero_from { Some(0) } else { flat.get(i as usize).copied().flatten() })
                .collect();
            if off + len as u64 > size && len > 0 {
                // past the end: read_exact fails, read_at reads short
                prop_assert!(reader.read_exact_at(off, &mut buf).is_err());
                continue;
            }
            match expect {
                Some(bytes) => {
                    reader.read_exact_at(off, &mut buf).unwrap();
                    prop_assert_eq!(buf, bytes);
                }
                None => prop_assert!(reader.read_exact_at(off, &mut buf).is_err()),
            }
        }
    }
}
