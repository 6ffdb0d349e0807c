//! File names kept losslessly.
//!
//! On Linux a file name is bytes, not text: `bad\xff\xfe.jpg` and
//! `bad\xff\xfd.jpg` are two files, and a lossy conversion would show both
//! as `bad��.jpg`. Output therefore carries a readable form — the name
//! itself when it is UTF-8, else with each byte that is not part of valid
//! UTF-8 written as `\xNN` — and, only when the name is not UTF-8, its
//! exact bytes in base64 (as ripgrep's `--json` does).

use ::base64::Engine as _;
use std::borrow::Cow;
use std::ffi::OsStr;
use std::path::Path;

/// The exact bytes of an OS string (on Unix, the name as the file system
/// holds it).
pub fn os_bytes(s: &OsStr) -> Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        match s.to_string_lossy() {
            Cow::Borrowed(t) => Cow::Borrowed(t.as_bytes()),
            Cow::Owned(t) => Cow::Owned(t.into_bytes()),
        }
    }
}

/// The readable form of a name: the name itself when it is UTF-8, else
/// with every byte that is not part of valid UTF-8 written as `\xNN`
/// (lower-case hex), so that different names read differently.
pub fn readable(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    Cow::Owned(out)
}

/// Standard base64 (with padding) of `bytes`.
pub fn base64(bytes: &[u8]) -> String {
    ::base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bytes of standard base64 text, or `None` when it is not base64.
pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    ::base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
}

/// A name's readable form and, when it is not UTF-8, the base64 of its
/// exact bytes.
pub fn split(bytes: &[u8]) -> (String, Option<String>) {
    match readable(bytes) {
        Cow::Borrowed(s) => (s.to_string(), None),
        Cow::Owned(s) => (s, Some(base64(bytes))),
    }
}

/// [`split`] for a path.
pub fn split_path(p: &Path) -> (String, Option<String>) {
    split(&os_bytes(p.as_os_str()))
}

/// The readable form of a path, for messages.
pub fn readable_path(p: &Path) -> String {
    readable(&os_bytes(p.as_os_str())).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn different_bad_names_stay_different() {
        let a = split(b"bad\xff\xfe.jpg");
        let b = split(b"bad\xff\xfd.jpg");
        assert_eq!(a.0, "bad\\xff\\xfe.jpg");
        assert_eq!(b.0, "bad\\xff\\xfd.jpg");
        assert_eq!(a.1.as_deref(), Some("YmFk//4uanBn"));
        assert_eq!(split("ok-ü.jpg".as_bytes()), ("ok-ü.jpg".to_string(), None));
    }

    proptest! {
        /// The base64 gives back the exact bytes; UTF-8 names need none and
        /// read as themselves (the oracle: `std::str::from_utf8`).
        #[test]
        fn names_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let (text, b64) = split(&bytes);
            match std::str::from_utf8(&bytes) {
                Ok(s) => {
                    prop_assert_eq!(text, s);
                    prop_assert!(b64.is_none());
                }
                Err(_) => {
                    let back = from_base64(&b64.unwrap()).unwrap();
                    prop_assert_eq!(back, bytes);
                }
            }
        }
    }
}
