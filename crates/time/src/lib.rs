//! The one place Nigehbaan turns a moment into text.
//!
//! Every time the tools write — report stamps, file and archive-entry
//! times, list import times, signature comments — has one spelling:
//! RFC 3339 with whole seconds and an explicit numeric offset,
//! `YYYY-MM-DDTHH:MM:SS+HH:MM` (UTC is `+00:00`). Times before 1970 are
//! written correctly; a moment outside the years 0000–9999 (which RFC 3339
//! cannot spell) gives `None`, never a wrong date.
//!
//! Local time comes from the host's time zone as `jiff` reads it (`TZ`,
//! else `/etc/localtime`), named by its IANA name where the system says.

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use std::time::SystemTime;

/// A moment in the host's local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Local {
    /// RFC 3339 with the zone's offset at that moment.
    pub text: String,
    /// The zone's offset from UTC at that moment, in seconds east.
    pub offset_secs: i32,
    /// The zone's IANA name (e.g. `Asia/Karachi`), when the host names it.
    pub zone: Option<String>,
}

/// Seconds since the Unix epoch now (negative if the clock is before 1970).
pub fn now_unix() -> i64 {
    unix_of(SystemTime::now())
}

/// Seconds since the Unix epoch of `t`, rounded down (so a moment half a
/// second before 1970 is -1), saturating at the ends of `i64`.
pub fn unix_of(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let up = i64::from(d.subsec_nanos() > 0);
            whole.saturating_add(up).saturating_neg()
        }
    }
}

/// RFC 3339 in UTC (`+00:00`) of `unix` seconds; `None` outside 0000–9999.
pub fn utc(unix: i64) -> Option<String> {
    at_offset(unix, 0)
}

/// RFC 3339 in UTC of a [`SystemTime`]; `None` outside 0000–9999.
pub fn utc_of(t: SystemTime) -> Option<String> {
    utc(unix_of(t))
}

/// RFC 3339 of `unix` seconds shown in a zone `offset_secs` east of UTC;
/// `None` when the offset is not a valid one (beyond ±25:59:59) or the
/// local date falls outside 0000–9999.
pub fn at_offset(unix: i64, offset_secs: i32) -> Option<String> {
    let ts = Timestamp::from_second(unix).ok()?;
    let offset = Offset::from_seconds(offset_secs).ok()?;
    spell(ts, offset)
}

/// `unix` seconds in the host's local time zone; `None` outside 0000–9999.
pub fn local(unix: i64) -> Option<Local> {
    in_zone(unix, &TimeZone::system())
}

/// `unix` seconds in the zone `tz` (the host's, or one named for tests).
pub fn in_zone(unix: i64, tz: &TimeZone) -> Option<Local> {
    let ts = Timestamp::from_second(unix).ok()?;
    let offset = tz.to_offset(ts);
    Some(Local {
        text: spell(ts, offset)?,
        offset_secs: offset.seconds(),
        zone: tz.iana_name().map(str::to_string),
    })
}

/// A named IANA zone from the host's time zone database, for tests and
/// for callers that are told the zone.
pub fn zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

fn spell(ts: Timestamp, offset: Offset) -> Option<String> {
    let dt = offset.to_datetime(ts);
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        return None;
    }
    let secs = offset.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    Some(format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        a / 3600,
        a / 60 % 60,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_known_instants() {
        assert_eq!(utc(0).unwrap(), "1970-01-01T00:00:00+00:00");
        assert_eq!(utc(951_782_400).unwrap(), "2000-02-29T00:00:00+00:00");
        assert_eq!(utc(1_700_000_000).unwrap(), "2023-11-14T22:13:20+00:00");
        assert_eq!(utc(1_780_000_000).unwrap(), "2026-05-28T20:26:40+00:00");
    }

    #[test]
    fn before_1970_is_correct() {
        assert_eq!(utc(-1).unwrap(), "1969-12-31T23:59:59+00:00");
        assert_eq!(utc(-86_400 * 365).unwrap(), "1969-01-01T00:00:00+00:00");
        // 1900 was not a leap year.
        assert_eq!(utc(-2_203_891_200).unwrap(), "1900-03-01T00:00:00+00:00");
        let t = SystemTime::UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(unix_of(t), -1);
        assert_eq!(utc_of(t).unwrap(), "1969-12-31T23:59:59+00:00");
    }

    #[test]
    fn out_of_range_is_none_not_wrong() {
        assert_eq!(utc(253_402_128_000).unwrap(), "9999-12-30T00:00:00+00:00");
        assert_eq!(utc(253_402_300_800), None);
        assert_eq!(utc(i64::MAX), None);
        assert_eq!(utc(i64::MIN), None);
        assert_eq!(at_offset(0, 26 * 3600), None);
    }

    #[test]
    fn offsets_are_written_explicitly() {
        assert_eq!(at_offset(0, 5 * 3600).unwrap(), "1970-01-01T05:00:00+05:00");
        assert_eq!(
            at_offset(36_000, -(3 * 3600 + 1800)).unwrap(),
            "1970-01-01T06:30:00-03:30"
        );
    }

    #[test]
    fn named_zones_carry_their_name_and_offset() {
        let Some(tz) = zone("Asia/Karachi") else {
            eprintln!("note: no time zone database here, named-zone test skipped");
            return;
        };
        let l = in_zone(1_700_000_000, &tz).unwrap();
        assert_eq!(l.text, "2023-11-15T03:13:20+05:00");
        assert_eq!(l.offset_secs, 5 * 3600);
        assert_eq!(l.zone.as_deref(), Some("Asia/Karachi"));
        // Daylight saving changes the offset with the moment.
        if let Some(ny) = zone("America/New_York") {
            assert_eq!(in_zone(1_700_000_000, &ny).unwrap().offset_secs, -5 * 3600);
            assert_eq!(in_zone(1_690_000_000, &ny).unwrap().offset_secs, -4 * 3600);
        }
    }

    #[test]
    fn utc_zone_and_local_agree_on_the_moment() {
        let l = local(1_700_000_000).unwrap();
        let back = l.text.parse::<Timestamp>().unwrap();
        assert_eq!(back.as_second(), 1_700_000_000);
    }
}
