//! Facts about the machine and the clock, for the chain of custody.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment as the report writes it: UTC with an explicit offset, and the
/// same moment in the host's local time.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// RFC 3339 in UTC, e.g. `2026-11-29T22:40:01+00:00`.
    pub utc: String,
    /// The same moment in the host's local time, with its offset.
    pub local: String,
    /// Seconds since the Unix epoch.
    pub unix: u64,
}

impl Stamp {
    /// The current moment.
    pub fn now() -> Stamp {
        Stamp::at(SystemTime::now())
    }

    /// A given moment.
    pub fn at(t: SystemTime) -> Stamp {
        let unix = t
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let off = local_offset_secs(unix as i64);
        Stamp {
            utc: with_offset(unix as i64, 0),
            local: with_offset(unix as i64, off),
            unix,
        }
    }
}

/// RFC 3339 of a Unix time shifted into a zone `offset` seconds east of UTC.
pub fn with_offset(unix: i64, offset: i64) -> String {
    let shifted = (unix + offset).max(0) as u64;
    let base = nigehbaan_lists::model::rfc3339(shifted);
    let base = base.trim_end_matches('Z');
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    format!("{base}{sign}{:02}:{:02}", a / 3600, (a / 60) % 60)
}

/// RFC 3339 (UTC) of a file-system or archive time.
pub fn system_time(t: SystemTime) -> Option<String> {
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    Some(with_offset(d.as_secs() as i64, 0))
}

/// The host's offset from UTC at `unix`, in seconds (0 where unknown).
pub fn local_offset_secs(unix: i64) -> i64 {
    #[cfg(unix)]
    {
        let t: libc::time_t = unix as libc::time_t;
        // SAFETY: localtime_r writes only into the `tm` we pass.
        unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            if libc::localtime_r(&t, &mut tm).is_null() {
                return 0;
            }
            tm.tm_gmtoff as i64
        }
    }
    #[cfg(not(unix))]
    {
        let _ = unix;
        0
    }
}

/// The host's name.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_written_explicitly() {
        assert_eq!(with_offset(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(with_offset(0, 5 * 3600), "1970-01-01T05:00:00+05:00");
        assert_eq!(
            with_offset(36_000, -(3 * 3600 + 1800)),
            "1970-01-01T06:30:00-03:30"
        );
    }
}
