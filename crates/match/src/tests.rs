//! Unit tests of the policy against a bank held in a vector, whose lookups
//! are plain scans (the oracle).

use super::*;
use nigehbaan_lists::model::{EMPTY_MD5, EMPTY_SHA256};

/// Records: (id, exact keys, PDQ hash).
struct VecBank(Vec<(u64, Vec<HashKey>, Option<Hash256>)>);

#[derive(Debug)]
struct Never;
impl fmt::Display for Never {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("never")
    }
}
impl std::error::Error for Never {}

impl Bank for VecBank {
    type Entry = u64;
    type Key = u64;
    type Error = Never;
    fn exact(&self, key: &HashKey) -> Result<Vec<u64>, Never> {
        Ok(self
            .0
            .iter()
            .filter(|r| r.1.contains(key))
            .map(|r| r.0)
            .collect())
    }
    fn near_pdq(&self, variants: &[Hash256], t: u32) -> Result<Vec<Near<u64>>, Never> {
        let mut out = Vec::new();
        for r in &self.0 {
            let Some(p) = r.2 else { continue };
            let best = variants
                .iter()
                .enumerate()
                .map(|(i, v)| (v.distance(&p), i))
                .min();
            if let Some((d, i)) = best.filter(|b| b.0 <= t) {
                out.push(Near {
                    entry: r.0,
                    distance: d,
                    variant: i,
                });
            }
        }
        Ok(out)
    }
    fn key(&self, e: &u64) -> u64 {
        *e
    }
}

fn h(seed: u64) -> Hash256 {
    Hash256([seed, seed.rotate_left(13), !seed, seed ^ 0x5555])
}

#[test]
fn one_hit_per_record_strongest_first() {
    let md5 = HashKey::Md5([1; 16]);
    let sha = HashKey::Sha256([2; 32]);
    let bank = VecBank(vec![
        (7, vec![md5, sha], Some(h(1))),
        (3, vec![md5], None),
        (9, vec![], Some(Hash256(h(1).0.map(|x| !x)))),
    ]);
    let probe = Probe::new(vec![md5, sha], Some(Perceptual::Pdq(vec![h(1)])));
    let (found, err) = search(&bank, &probe, 31);
    assert!(err.is_none());
    let ids: Vec<u64> = found.iter().map(|f| f.entry).collect();
    assert_eq!(ids, [3, 7]);
    assert_eq!(found[1].kind, HashKind::Sha256);
    assert_eq!(
        found[1].matched,
        [HashKind::Sha256, HashKind::Md5, HashKind::Pdq]
    );
    assert_eq!(
        found[1].pdq,
        Some(PdqMatch {
            distance: 0,
            variant: "orig"
        })
    );
}

#[test]
fn dihedral_variants_are_named() {
    let variants: Vec<Hash256> = (0..8).map(h).collect();
    let bank = VecBank(vec![(1, vec![], Some(h(5)))]);
    let probe = Probe::new(vec![], Some(Perceptual::Pdq(variants)));
    let (found, _) = search(&bank, &probe, 0);
    assert_eq!(found[0].pdq.unwrap().variant, "flipy");
    // Only the original searched: no match, and a single hash is `orig`.
    let (found, _) = search(&bank, &Probe::of_key(HashKey::Pdq(h(0))), 0);
    assert!(found.is_empty());
    let (found, _) = search(&bank, &Probe::of_key(HashKey::Pdq(h(5))), 0);
    assert_eq!(found[0].pdq.unwrap().variant, "orig");
}

#[test]
fn the_empty_file_never_matches() {
    let bank = VecBank(vec![(1, vec![HashKey::Md5(EMPTY_MD5)], Some(h(1)))]);
    for p in [
        Probe::of_key(HashKey::Md5(EMPTY_MD5)),
        Probe::new(
            vec![HashKey::Sha256(EMPTY_SHA256)],
            Some(Perceptual::Pdq(vec![h(1)])),
        ),
    ] {
        assert_eq!(p.notes, [Note::EmptyFile]);
        assert!(p.is_empty());
        assert!(search(&bank, &p, 31).0.is_empty());
    }
}

#[test]
fn disposition_and_defaults() {
    use Status::*;
    assert_eq!(Disposition::of([]), Disposition::Unmatched);
    assert_eq!(Disposition::of([Known, Known]), Disposition::Known);
    assert_eq!(Disposition::of([Known, Notable]), Disposition::Hit);
    let s = Settings::default();
    assert!(s.dihedral);
    assert_eq!(s.threshold, DEFAULT_MATCH_THRESHOLD);
    assert_eq!(s.min_quality, RECOMMENDED_MIN_QUALITY);
    assert_eq!(
        serde_json::to_string(&Disposition::Known).unwrap(),
        "\"known\""
    );
    assert_eq!(serde_json::to_string(&HashKind::Sha1).unwrap(), "\"sha1\"");
    assert_eq!(serde_json::to_string(&Notable).unwrap(), "\"notable\"");
    assert_eq!(
        Note::LowQuality {
            quality: 20,
            min: 50
        }
        .to_string(),
        "PDQ quality 20 is below 50: not queried"
    );
}
