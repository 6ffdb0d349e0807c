//! A minimal, bounds-checked EXIF reader: just the orientation tag.

/// Reads the EXIF orientation (1..=8) from an EXIF block.
///
/// Accepts the TIFF-structured EXIF payload, with or without the leading
/// `Exif\0\0` of a JPEG APP1 segment. Returns `None` when the tag is absent
/// or the block is malformed; never panics.
pub fn exif_orientation(block: &[u8]) -> Option<u8> {
    let tiff = block.strip_prefix(b"Exif\0\0").unwrap_or(block);
    let little = match tiff.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |off: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(off..off.checked_add(2)?)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    };
    let u32_at = |off: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = u32_at(4)? as usize;
    let count = u16_at(ifd)? as usize;
    for i in 0..count.min(1024) {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        if u16_at(entry)? == 0x0112 {
            let value = u16_at(entry + 8)?;
            return (1..=8).contains(&value).then_some(value as u8);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(little: bool, orientation: u16) -> Vec<u8> {
        let mut v = Vec::new();
        let p16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if little {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            })
        };
        let p32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if little {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            })
        };
        v.extend_from_slice(if little { b"II" } else { b"MM" });
        p16(&mut v, 42);
        p32(&mut v, 8);
        p16(&mut v, 1);
        p16(&mut v, 0x0112);
        p16(&mut v, 3);
        p32(&mut v, 1);
        p16(&mut v, orientation);
        p16(&mut v, 0);
        p32(&mut v, 0);
        v
    }

    #[test]
    fn reads_both_byte_orders() {
        assert_eq!(exif_orientation(&block(true, 6)), Some(6));
        assert_eq!(exif_orientation(&block(false, 8)), Some(8));
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(block(false, 3));
        assert_eq!(exif_orientation(&app1), Some(3));
    }

    #[test]
    fn malformed_blocks_give_none() {
        assert_eq!(exif_orientation(&block(true, 9)), None);
        let b = block(true, 6);
        for n in 0..b.len() {
            let _ = exif_orientation(&b[..n]);
        }
        assert_eq!(exif_orientation(b"II*\0\xff\xff\xff\xff"), None);
        assert_eq!(exif_orientation(&[]), None);
    }
}
