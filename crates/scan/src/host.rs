//! Facts about the machine and the clock, for the chain of custody.

use std::time::SystemTime;

/// A moment as the report writes it: UTC with an explicit offset, and the
/// same moment in the host's local time, its zone named where known.
/// The text comes from [`nigehbaan_time`], the one place times are spelled.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// RFC 3339 in UTC, e.g. `2026-11-29T22:40:01+00:00`.
    pub utc: String,
    /// The same moment in the host's local time, with its offset.
    pub local: String,
    /// The host's time zone: its IANA name (e.g. `Asia/Karachi`) when the
    /// system names it (absent in reports written before this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Seconds since the Unix epoch.
    pub unix: u64,
}

impl Stamp {
    /// The current moment.
    pub fn now() -> Stamp {
        Stamp::at(SystemTime::now())
    }

    /// A given moment (a clock before 1970 is written as the epoch: a
    /// scan's own start and finish cannot be earlier).
    pub fn at(t: SystemTime) -> Stamp {
        let unix = nigehbaan_time::unix_of(t).max(0);
        let local = nigehbaan_time::local(unix);
        let utc = nigehbaan_time::utc(unix).unwrap_or_default();
        Stamp {
            local: local
                .as_ref()
                .map_or_else(|| utc.clone(), |l| l.text.clone()),
            zone: local.and_then(|l| l.zone),
            utc,
            unix: unix as u64,
        }
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
    use std::time::Duration;

    #[test]
    fn stamps_spell_utc_with_an_explicit_offset() {
        let s = Stamp::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_eq!(s.utc, "2023-11-14T22:13:20+00:00");
        assert_eq!(s.unix, 1_700_000_000);
        assert_eq!(s.local, nigehbaan_time::local(1_700_000_000).unwrap().text);
    }
}
