//! The DCT matrix must be bit-identical to the reference's.
use nigehbaan_pdq::core::dct_matrix;

#[test]
fn dct_matrix_matches_reference_bits() {
    let text = include_str!("data/dct-matrix-f32-bits.txt");
    let rows: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(rows.len(), 16);
    let d = dct_matrix();
    for (i, line) in rows.iter().enumerate() {
        let bits: Vec<u32> = line
            .split(',')
            .map(|s| u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).unwrap())
            .collect();
        assert_eq!(bits.len(), 64);
        for (j, b) in bits.iter().enumerate() {
            assert_eq!(d[i][j].to_bits(), *b, "D[{i}][{j}]");
        }
    }
}
