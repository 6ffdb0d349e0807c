//! On-disk time formats to [`Timestamp`].

use super::Timestamp;

/// NTFS FILETIME: 100 ns intervals since 1601-01-01 UTC; 0 means unset.
pub(crate) fn filetime(v: u64) -> Option<Timestamp> {
    if v == 0 {
        return None;
    }
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    let secs = (v / 10_000_000) as i64 - EPOCH_DIFF_SECS;
    let nanos = (v % 10_000_000) as u32 * 100;
    Some(Timestamp { secs, nanos })
}

/// Unix seconds (ext), with the ext4 extra field: the low two bits extend
/// the seconds past 2038, the rest are nanoseconds; 0 means unset.
pub(crate) fn unix(secs: u32, extra: Option<u32>) -> Option<Timestamp> {
    let mut s = secs as i32 as i64;
    let mut nanos = 0;
    if let Some(x) = extra {
        s += ((x & 3) as i64) << 32;
        nanos = (x >> 2).min(999_999_999);
    }
    if s == 0 && nanos == 0 {
        return None;
    }
    Some(Timestamp { secs: s, nanos })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A DOS date and time (FAT, exFAT); `hundredths` adds 0..199 units of
/// 10 ms; `utc_offset_quarters` (exFAT) converts local time to UTC.
/// Returns `None` for a zero or impossible date.
pub(crate) fn dos(
    date: u16,
    time: u16,
    hundredths: u8,
    utc_offset_quarters: Option<i8>,
) -> Option<Timestamp> {
    let day = (date & 0x1F) as u32;
    let month = ((date >> 5) & 0x0F) as u32;
    let year = 1980 + (date >> 9) as i64;
    if day == 0 || !(1..=12).contains(&month) {
        return None;
    }
    let secs_of_day =
        (time >> 11) as i64 * 3600 + ((time >> 5) & 0x3F) as i64 * 60 + (time & 0x1F) as i64 * 2;
    let extra = (hundredths.min(199)) as i64 * 10; // milliseconds
    let mut secs = days_from_civil(year, month, day) * 86_400 + secs_of_day + extra / 1000;
    if let Some(q) = utc_offset_quarters {
        secs -= q as i64 * 15 * 60;
    }
    Some(Timestamp {
        secs,
        nanos: (extra % 1000) as u32 * 1_000_000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_epoch() {
        assert_eq!(filetime(116_444_736_000_000_000).unwrap().secs, 0);
        assert_eq!(filetime(0), None);
    }

    #[test]
    fn dos_date() {
        // 2020-02-29 13:45:30 -> 1582983930
        let date = ((2020 - 1980) << 9) | (2 << 5) | 29;
        let time = (13 << 11) | (45 << 5) | 15;
        assert_eq!(dos(date, time, 0, None).unwrap().secs, 1_582_983_930);
        assert_eq!(dos(0, 0, 0, None), None);
        // exFAT UTC offset +1h (4 quarters)
        assert_eq!(
            dos(date, time, 100, Some(4)).unwrap().secs,
            1_582_983_930 - 3600 + 1
        );
    }
}
