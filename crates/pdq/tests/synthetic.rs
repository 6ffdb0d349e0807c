//! Decoder-free vectors: every row of `expected-synthetic.csv` (copied from
//! `../shared/pdq-vectors`, measured with the reference C++ core) must
//! reproduce bit for bit.
use nigehbaan_pdq::{Hash256, Hasher, ImageView, Pipeline};

/// Builds the RGB pixels of a named synthetic pattern.
///
/// The CSV's header describes only `const128`/`const0`; the other formulas
/// were recovered by search and are confirmed by every column of every row.
fn pattern(name: &str, w: usize, h: usize) -> Option<Vec<u8>> {
    let mut px = vec![0u8; w * h * 3];
    match name {
        "const128" => px.fill(128),
        "const0" => px.fill(0),
        // R = x*255/(W-1), G = y*255/(H-1), B = (x+y)*255/(W+H-2), integer
        // division, denominators at least 1.
        "grad" => {
            let (dx, dy, dxy) = ((w - 1).max(1), (h - 1).max(1), (w + h - 2).max(1));
            for y in 0..h {
                for x in 0..w {
                    let i = (y * w + x) * 3;
                    px[i] = (x * 255 / dx) as u8;
                    px[i + 1] = (y * 255 / dy) as u8;
                    px[i + 2] = ((x + y) * 255 / dxy) as u8;
                }
            }
        }
        // Marsaglia xorshift32 (13, 17, 5) seeded with 2463534242, fresh per
        // image; one step per byte over the interleaved row-major RGB buffer,
        // each byte the low 8 bits of the new state.
        "xorshift" => {
            let mut s: u32 = 2463534242;
            for b in px.iter_mut() {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                *b = s as u8;
            }
        }
        // R = ((x/8) ^ (y/8)) * 37, G = x*y, B = x ^ y, each kept to its
        // low 8 bits.
        "blocks" => {
            for y in 0..h {
                for x in 0..w {
                    let i = (y * w + x) * 3;
                    px[i] = (((x / 8) ^ (y / 8)) * 37) as u8;
                    px[i + 1] = (x * y) as u8;
                    px[i + 2] = (x ^ y) as u8;
                }
            }
        }
        _ => return None,
    }
    Some(px)
}

struct Row {
    pattern: String,
    w: usize,
    h: usize,
    core: Hash256,
    core_q: u8,
    cli: Hash256,
    cli_q: u8,
    dih: Vec<Hash256>,
}

fn rows() -> Vec<Row> {
    include_str!("data/expected-synthetic.csv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                pattern: f[0].to_string(),
                w: f[1].parse().unwrap(),
                h: f[2].parse().unwrap(),
                core: f[3].parse().unwrap(),
                core_q: f[4].parse().unwrap(),
                cli: f[5].parse().unwrap(),
                cli_q: f[6].parse().unwrap(),
                dih: f[7..15].iter().map(|s| s.parse().unwrap()).collect(),
            }
        })
        .collect()
}

#[test]
fn synthetic_vectors_are_bit_exact() {
    let mut hasher = Hasher::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    for r in rows() {
        let Some(px) = pattern(&r.pattern, r.w, r.h) else {
            continue;
        };
        let img = ImageView::rgb(&px, r.w, r.h).unwrap();
        let core = hasher.hash(&img, Pipeline::Full);
        let cli = hasher.hash(&img, Pipeline::ReferenceCli);
        let dih = hasher
            .hash_with_dihedral(&img, Pipeline::Full)
            .dihedral
            .unwrap();
        let id = format!("{} {}x{}", r.pattern, r.w, r.h);
        if core.hash != r.core || core.quality != r.core_q {
            failures.push(format!(
                "{id} core: got {} q{} want {} q{}",
                core.hash, core.quality, r.core, r.core_q
            ));
        }
        if cli.hash != r.cli || cli.quality != r.cli_q {
            failures.push(format!(
                "{id} cli512: got {} q{} want {} q{}",
                cli.hash, cli.quality, r.cli, r.cli_q
            ));
        }
        for (k, (g, want)) in dih.iter().zip(&r.dih).enumerate() {
            if g != want {
                failures.push(format!("{id} dihedral {k}: got {g} want {want}"));
            }
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, rows().len(), "every row has a known pattern");
}
