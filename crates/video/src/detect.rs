//! Recognising a video container by its first bytes, never by extension.

use std::fmt;

/// How many leading bytes [`detect`] looks at (an MPEG transport stream
/// needs three 188-byte packets; everything else far fewer).
pub const DETECT_HEAD_LEN: usize = 1024;

/// A video container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoKind {
    /// ISO BMFF (MPEG-4 Part 14) with an `ftyp` brand of the MP4 family.
    Mp4,
    /// ISO BMFF with Apple's `M4V` brand.
    M4v,
    /// QuickTime (`qt  ` brand, or a classic file opening with a `moov`,
    /// `mdat`, `wide`, `free` or `skip` atom).
    Mov,
    /// 3GPP / 3GPP2.
    ThreeGp,
    /// Matroska.
    Matroska,
    /// WebM (Matroska with the `webm` doctype).
    WebM,
    /// RIFF AVI.
    Avi,
    /// MPEG transport stream (188-byte packets, or 192-byte M2TS).
    MpegTs,
    /// MPEG program stream (a pack header).
    MpegPs,
    /// Flash video.
    Flv,
    /// Advanced Systems Format (WMV/ASF).
    Asf,
}

impl VideoKind {
    /// A short lower-case name (`mp4`, `mov`, `webm`…).
    pub fn name(self) -> &'static str {
        match self {
            VideoKind::Mp4 => "mp4",
            VideoKind::M4v => "m4v",
            VideoKind::Mov => "mov",
            VideoKind::ThreeGp => "3gp",
            VideoKind::Matroska => "matroska",
            VideoKind::WebM => "webm",
            VideoKind::Avi => "avi",
            VideoKind::MpegTs => "mpeg-ts",
            VideoKind::MpegPs => "mpeg-ps",
            VideoKind::Flv => "flv",
            VideoKind::Asf => "asf",
        }
    }
}

impl fmt::Display for VideoKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const ASF_GUID: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];

/// Brands of still images and audio in ISO BMFF: not video.
fn is_non_video_brand(brand: &[u8]) -> bool {
    matches!(
        brand,
        b"heic"
            | b"heix"
            | b"heim"
            | b"heis"
            | b"hevc"
            | b"hevx"
            | b"mif1"
            | b"msf1"
            | b"avif"
            | b"avis"
            | b"avci"
            | b"crx "
            | b"jp2 "
            | b"jpx "
            | b"M4A "
            | b"M4B "
            | b"M4P "
            | b"F4A "
            | b"F4B "
    )
}

fn bmff(head: &[u8]) -> Option<VideoKind> {
    let size = u32::from_be_bytes(head.get(0..4)?.try_into().ok()?);
    let atom = head.get(4..8)?;
    if atom == b"ftyp" {
        // size 1 (64-bit) and 0 (to end of file) are legal but never seen
        // for ftyp; a real ftyp holds at least a major brand and version.
        if size < 16 && size != 0 && size != 1 {
            return None;
        }
        let brand = head.get(8..12)?;
        if is_non_video_brand(brand) {
            return None;
        }
        return Some(match brand {
            b"qt  " => VideoKind::Mov,
            b"M4V " | b"M4VH" | b"M4VP" => VideoKind::M4v,
            b if b.starts_with(b"3gp") || b.starts_with(b"3g2") || b.starts_with(b"3ge") => {
                VideoKind::ThreeGp
            }
            b if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') => VideoKind::Mp4,
            _ => return None,
        });
    }
    if matches!(atom, b"moov" | b"mdat" | b"wide" | b"free" | b"skip") && size >= 8 {
        return Some(VideoKind::Mov);
    }
    None
}

fn matroska(head: &[u8]) -> Option<VideoKind> {
    if !head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return None;
    }
    // The DocType element (0x42 0x82) sits in the EBML header, within the
    // first few dozen bytes.
    let window = &head[..head.len().min(64)];
    let webm = window
        .windows(2)
        .position(|w| w == [0x42, 0x82])
        .and_then(|p| window.get(p + 3..p + 7))
        .is_some_and(|d| d == b"webm");
    Some(if webm {
        VideoKind::WebM
    } else {
        VideoKind::Matroska
    })
}

fn transport_stream(head: &[u8]) -> bool {
    let synced =
        |start: usize, stride: usize| (0..3).all(|k| head.get(start + k * stride) == Some(&0x47));
    synced(0, 188) || synced(4, 192)
}

/// The video container `head` (the first bytes of a file, ideally
/// [`DETECT_HEAD_LEN`] of them) opens, if any.
pub fn detect(head: &[u8]) -> Option<VideoKind> {
    if let Some(k) = bmff(head) {
        return Some(k);
    }
    if let Some(k) = matroska(head) {
        return Some(k);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"AVI " {
        return Some(VideoKind::Avi);
    }
    if head.starts_with(b"FLV\x01") {
        return Some(VideoKind::Flv);
    }
    if head.starts_with(&ASF_GUID) {
        return Some(VideoKind::Asf);
    }
    if head.starts_with(&[0x00, 0x00, 0x01, 0xBA]) {
        return Some(VideoKind::MpegPs);
    }
    if transport_stream(head) {
        return Some(VideoKind::MpegTs);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(brand);
        v.extend_from_slice(&[0, 0, 2, 0]);
        v.extend_from_slice(b"isomiso2");
        v
    }

    #[test]
    fn iso_bmff_brands() {
        assert_eq!(detect(&ftyp(b"isom")), Some(VideoKind::Mp4));
        assert_eq!(detect(&ftyp(b"mp42")), Some(VideoKind::Mp4));
        assert_eq!(detect(&ftyp(b"qt  ")), Some(VideoKind::Mov));
        assert_eq!(detect(&ftyp(b"3gp5")), Some(VideoKind::ThreeGp));
        assert_eq!(detect(&ftyp(b"3g2a")), Some(VideoKind::ThreeGp));
        assert_eq!(detect(&ftyp(b"M4V ")), Some(VideoKind::M4v));
        // Still images and audio in the same box structure are not video.
        for b in [b"heic", b"avif", b"mif1", b"M4A "] {
            assert_eq!(detect(&ftyp(b)), None);
        }
        // Classic QuickTime without ftyp.
        let mut mov = vec![0, 0, 0, 8];
        mov.extend_from_slice(b"wide");
        assert_eq!(detect(&mov), Some(VideoKind::Mov));
        // Too short or truncated.
        assert_eq!(detect(b"\0\0\0\x18ftyp"), None);
        assert_eq!(detect(b"\0\0\0\x08ftypisom"), None);
    }

    #[test]
    fn other_containers() {
        let mut mkv = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01];
        mkv.extend_from_slice(&[0x42, 0x82, 0x88]);
        let mut webm = mkv.clone();
        mkv.extend_from_slice(b"matroska");
        webm.extend_from_slice(b"webm");
        assert_eq!(detect(&mkv), Some(VideoKind::Matroska));
        assert_eq!(detect(&webm), Some(VideoKind::WebM));
        assert_eq!(detect(b"RIFF\x10\0\0\0AVI LIST"), Some(VideoKind::Avi));
        assert_eq!(detect(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(detect(b"FLV\x01\x05\0\0\0\x09"), Some(VideoKind::Flv));
        assert_eq!(detect(&ASF_GUID), Some(VideoKind::Asf));
        assert_eq!(detect(&[0, 0, 1, 0xBA, 0x44]), Some(VideoKind::MpegPs));
        let mut ts = vec![0u8; 600];
        for k in 0..3 {
            ts[k * 188] = 0x47;
        }
        assert_eq!(detect(&ts), Some(VideoKind::MpegTs));
        let mut m2ts = vec![0u8; 600];
        for k in 0..3 {
            m2ts[4 + k * 192] = 0x47;
        }
        assert_eq!(detect(&m2ts), Some(VideoKind::MpegTs));
        // One sync byte is not enough.
        assert_eq!(detect(&ts[..200]), None);
    }

    #[test]
    fn images_and_garbage_are_not_video() {
        assert_eq!(detect(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), None);
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(detect(b"GIF89a"), None);
        assert_eq!(detect(b""), None);
        assert_eq!(detect(&[0x47]), None);
    }
}
