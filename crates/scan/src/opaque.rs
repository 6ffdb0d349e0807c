//! Inputs the scan cannot look inside yet, recognised by content: disk
//! images (EWF/E01, raw disks with a partition table, bare file systems,
//! virtual-disk formats) and videos. Such a file is hashed as a file, but
//! what it holds — the files of a disk, the frames of a video — is not
//! examined, so it must never leave a scan "complete": each becomes an
//! `unexamined-disk-image` or `unexamined-video` exclusion with
//! `incomplete: true` and a reason saying what would examine it. Videos
//! are hashed frame by frame (see [`crate::video`]) when the `ffmpeg`
//! program is there; without it they stay `unexamined-video`.
//!
//! Disk images on disk that the `image` module reads (E01, raw disks, bare
//! FAT/exFAT/NTFS/ext) are opened there instead; what stays here are the
//! formats it does not read (Ex01, L01, Lx01, QCOW, VMDK, VHD, VHDX), disk
//! images found inside archives, and videos.

use crate::model::Exclusion;
use crate::model::ExclusionKind;

/// Bytes of a file's start that [`detect`] needs (an ext superblock's
/// magic is at byte 1080; MPEG-TS needs several 188-byte packets).
pub const OPAQUE_DETECT_BYTES: usize = 2048;

/// What kind of opaque input a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opaque {
    /// A disk or evidence image: the files inside are not examined.
    DiskImage(&'static str),
    /// A video: its frames are not examined.
    Video(&'static str),
}

impl Opaque {
    /// The exclusion kind.
    pub fn kind(self) -> ExclusionKind {
        match self {
            Opaque::DiskImage(_) => ExclusionKind::UnexaminedDiskImage,
            Opaque::Video(_) => ExclusionKind::UnexaminedVideo,
        }
    }

    /// The reason, saying what would examine it.
    pub fn reason(self) -> String {
        match self {
            Opaque::DiskImage(what) => format!(
                "unexamined: {what}: the image file itself was hashed, but the files inside it \
                 were not examined; a disk-image reader would examine them (not in this \
                 version): mount or export its file systems read-only and scan their files"
            ),
            Opaque::Video(what) => match nigehbaan_video::Ffmpeg::shared() {
                Err(e) => format!("unexamined: {what} video: hashed as a file, but {e}"),
                Ok(_) => format!(
                    "unexamined: {what} video: hashed as a file, but its frames were not \
                     examined"
                ),
            },
        }
    }

    /// The exclusion for this input at `path`: incomplete, and hashed.
    pub fn exclusion(self, exhibit: &str, path: &str) -> Exclusion {
        Exclusion {
            exhibit: exhibit.to_string(),
            path: path.to_string(),
            kind: self.kind(),
            reason: self.reason(),
            incomplete: true,
            hashed: true,
        }
    }
}

/// The exclusion for a file starting with `head`, when it is opaque to a
/// scan that does (`pdq`) or does not compute perceptual hashes: videos
/// only need their frames examined when images are hashed with PDQ, and
/// are examined by the workers (see [`crate::video`]) when the `ffmpeg`
/// program is there.
pub fn exclusion(head: &[u8], pdq: bool, exhibit: &str, path: &str) -> Option<Exclusion> {
    match detect(head)? {
        Opaque::Video(_) if !pdq || nigehbaan_video::Ffmpeg::shared().is_ok() => None,
        o => Some(o.exclusion(exhibit, path)),
    }
}

/// Like [`exclusion`], for content too large to hold in memory (an
/// archive entry or a file of a disk image digested as a stream): a video
/// there is not examined even with `ffmpeg`.
pub fn exclusion_unheld(head: &[u8], pdq: bool, exhibit: &str, path: &str) -> Option<Exclusion> {
    match detect(head)? {
        Opaque::Video(_) if !pdq => None,
        Opaque::Video(what) if nigehbaan_video::Ffmpeg::shared().is_ok() => Some(Exclusion {
            exhibit: exhibit.to_string(),
            path: path.to_string(),
            kind: ExclusionKind::UnexaminedVideo,
            reason: format!(
                "unexamined: {what} video inside a container, too large to hold in memory: \
                 hashed as a file, but its frames were not examined; extract it and scan it \
                 as a file"
            ),
            incomplete: true,
            hashed: true,
        }),
        o => Some(o.exclusion(exhibit, path)),
    }
}

/// Recognises an opaque input by its first bytes (up to
/// [`OPAQUE_DETECT_BYTES`]). Images are never opaque.
pub fn detect(head: &[u8]) -> Option<Opaque> {
    if nigehbaan_media::sniff_prefix(&head[..head.len().min(32)]) {
        return None;
    }
    disk_image(head)
        .map(Opaque::DiskImage)
        .or_else(|| video(head).map(Opaque::Video))
}

fn at(head: &[u8], off: usize, magic: &[u8]) -> bool {
    head.get(off..off + magic.len()) == Some(magic)
}

fn le32(head: &[u8], off: usize) -> Option<u32> {
    head.get(off..off + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn disk_image(h: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"EVF\x09\x0d\x0a\xff\x00", "EWF (E01) evidence file"),
        (
            b"LVF\x09\x0d\x0a\xff\x00",
            "EWF logical evidence file (L01)",
        ),
        (b"EVF2\r\n\x81\x00", "EWF2 (Ex01) evidence file"),
        (b"LEF2\r\n\x81\x00", "EWF2 logical evidence file (Lx01)"),
        (b"QFI\xfb", "QCOW disk image"),
        (b"KDMV", "VMDK disk image"),
        (b"vhdxfile", "VHDX disk image"),
        (b"conectix", "VHD disk image"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| h.starts_with(m)) {
        return Some(what);
    }
    if at(h, 512, b"EFI PART") {
        return Some("raw disk image (GPT)");
    }
    if at(h, 1080, &[0x53, 0xef]) && le32(h, 1024 + 24).is_some_and(|l| l <= 6) {
        return Some("ext2/3/4 file system image");
    }
    if !at(h, 510, &[0x55, 0xaa]) {
        return None;
    }
    if at(h, 3, b"NTFS    ") {
        return Some("NTFS file system image");
    }
    if at(h, 3, b"EXFAT   ") {
        return Some("exFAT file system image");
    }
    let jump = matches!(h.first(), Some(0xeb) | Some(0xe9));
    if jump && (at(h, 54, b"FAT1") || at(h, 82, b"FAT32   ")) {
        return Some("FAT file system image");
    }
    mbr_table(h).then_some("raw disk image (MBR partition table)")
}

/// A plausible MBR partition table: boot flags 0 or 0x80, at least one
/// used entry, and every used entry starting past sector 0 with a size.
fn mbr_table(h: &[u8]) -> bool {
    let mut used = 0;
    for i in 0..4 {
        let e = 446 + 16 * i;
        let Some(entry) = h.get(e..e + 16) else {
            return false;
        };
        if entry[0] != 0 && entry[0] != 0x80 {
            return false;
        }
        if entry[4] == 0 {
            if entry.iter().any(|&b| b != 0) {
                return false;
            }
            continue;
        }
        let (start, count) = (le32(entry, 8), le32(entry, 12));
        if start.unwrap_or(0) == 0 || count.unwrap_or(0) == 0 {
            return false;
        }
        used += 1;
    }
    used > 0
}

fn video(h: &[u8]) -> Option<&'static str> {
    if at(h, 4, b"ftyp") {
        let brand = h.get(8..12)?;
        const STILL: &[&[u8]] = &[
            b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis", b"crx ",
            b"jp2 ", b"jpx ", b"jpm ",
        ];
        const AUDIO: &[&[u8]] = &[b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "];
        if STILL.contains(&brand) || AUDIO.contains(&brand) {
            return None;
        }
        return Some(if brand == b"qt  " {
            "QuickTime"
        } else {
            "MP4/ISO media"
        });
    }
    if at(h, 4, b"moov") || at(h, 4, b"mdat") || at(h, 4, b"wide") {
        return Some("QuickTime");
    }
    if h.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return Some("Matroska/WebM");
    }
    if h.starts_with(b"RIFF") && at(h, 8, b"AVI ") {
        return Some("AVI");
    }
    if h.starts_with(b"FLV\x01") {
        return Some("FLV");
    }
    const ASF: [u8; 16] = [
        0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce,
        0x6c,
    ];
    if h.starts_with(&ASF) {
        return Some("ASF/WMV");
    }
    if h.starts_with(&[0, 0, 1, 0xba]) {
        return Some("MPEG program stream");
    }
    if h.starts_with(&[0, 0, 1, 0xb3]) {
        return Some("MPEG video");
    }
    if h.starts_with(b".RMF") {
        return Some("RealMedia");
    }
    let sync = |first: usize, size: usize| {
        h.len() >= first + 4 * size
            && (0..h.len().saturating_sub(first).div_ceil(size))
                .map(|k| first + k * size)
                .all(|o| h[o] == 0x47)
    };
    if sync(0, 188) {
        return Some("MPEG transport stream");
    }
    if sync(4, 192) {
        return Some("MPEG-2 transport stream (M2TS)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(len: usize, parts: &[(usize, &[u8])]) -> Vec<u8> {
        let mut v = vec![0u8; len];
        for (o, b) in parts {
            v[*o..*o + b.len()].copy_from_slice(b);
        }
        v
    }

    #[test]
    fn disk_images_are_recognised() {
        let e01 = with(64, &[(0, b"EVF\x09\x0d\x0a\xff\x00")]);
        assert!(matches!(detect(&e01), Some(Opaque::DiskImage(_))));
        let ex01 = with(64, &[(0, b"EVF2\r\n\x81\x00")]);
        assert!(matches!(detect(&ex01), Some(Opaque::DiskImage(_))));
        let gpt = with(2048, &[(510, &[0x55, 0xaa]), (512, b"EFI PART")]);
        assert_eq!(
            detect(&gpt),
            Some(Opaque::DiskImage("raw disk image (GPT)"))
        );
        // One partition of type 0x83 from sector 2048.
        let mut entry = [0u8; 16];
        entry[4] = 0x83;
        entry[8..12].copy_from_slice(&2048u32.to_le_bytes());
        entry[12..16].copy_from_slice(&4096u32.to_le_bytes());
        let mbr = with(512, &[(446, &entry), (510, &[0x55, 0xaa])]);
        assert!(matches!(detect(&mbr), Some(Opaque::DiskImage(w)) if w.contains("MBR")));
        // The signature alone, with a nonsense table, is not a disk.
        let junk = with(512, &[(446, &[7u8; 16]), (510, &[0x55, 0xaa])]);
        assert_eq!(detect(&junk), None);
        let ntfs = with(
            512,
            &[
                (0, &[0xeb, 0x52, 0x90]),
                (3, b"NTFS    "),
                (510, &[0x55, 0xaa]),
            ],
        );
        assert!(matches!(detect(&ntfs), Some(Opaque::DiskImage(w)) if w.contains("NTFS")));
        let fat = with(
            512,
            &[
                (0, &[0xeb, 0x3c, 0x90]),
                (54, b"FAT16   "),
                (510, &[0x55, 0xaa]),
            ],
        );
        assert!(matches!(detect(&fat), Some(Opaque::DiskImage(w)) if w.contains("FAT")));
        let ext = with(2048, &[(1080, &[0x53, 0xef])]);
        assert!(matches!(detect(&ext), Some(Opaque::DiskImage(w)) if w.contains("ext")));
    }

    #[test]
    fn videos_are_recognised_and_stills_are_not() {
        let mp4 = with(64, &[(4, b"ftypisom")]);
        assert!(matches!(detect(&mp4), Some(Opaque::Video(_))));
        let heic = with(64, &[(4, b"ftypheic")]);
        assert_eq!(detect(&heic), None);
        let mkv = with(64, &[(0, &[0x1a, 0x45, 0xdf, 0xa3])]);
        assert!(matches!(detect(&mkv), Some(Opaque::Video(_))));
        let avi = with(64, &[(0, b"RIFF"), (8, b"AVI ")]);
        assert!(matches!(detect(&avi), Some(Opaque::Video(_))));
        let webp = with(64, &[(0, b"RIFF"), (8, b"WEBPVP8 ")]);
        assert_eq!(detect(&webp), None);
        let mut ts = vec![0u8; 188 * 6];
        for k in 0..6 {
            ts[k * 188] = 0x47;
        }
        assert!(matches!(detect(&ts), Some(Opaque::Video(_))));
        ts[188 * 3] = 0;
        assert_eq!(detect(&ts), None);
        let ps = with(64, &[(0, &[0, 0, 1, 0xba])]);
        assert!(matches!(detect(&ps), Some(Opaque::Video(_))));
        assert!(matches!(detect(b"FLV\x01\x05"), Some(Opaque::Video(_))));
        assert_eq!(detect(b"plain text"), None);
        assert_eq!(detect(b""), None);
        // Videos are only opaque when frames would be hashed, and the
        // workers hash them when ffmpeg is there.
        assert!(exclusion(&mkv, false, "e", "p").is_none());
        let ffmpeg = nigehbaan_video::Ffmpeg::shared().is_ok();
        assert_eq!(exclusion(&mkv, true, "e", "p").is_none(), ffmpeg);
        let ex = exclusion_unheld(&mkv, true, "e", "p").unwrap();
        assert!(ex.incomplete && ex.hashed && ex.kind == ExclusionKind::UnexaminedVideo);
    }
}
