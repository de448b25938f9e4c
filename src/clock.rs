//! Time as the KMS API writes it (`YYYY-MM-DDThh:mm:ssZ`, UTC, seconds). Operations take
//! the time as a parameter instead of reading the clock, so tests can move it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `2024-05-20T06:34:21Z` for a Unix time (years before 1970 included, as certificate
/// validity needs; clamped to 0000..=9999).
pub fn format_unix(seconds: i64) -> String {
    let seconds = seconds.clamp(days_from_civil(0, 1, 1) * 86_400, days_from_civil(10_000, 1, 1) * 86_400 - 1);
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", time / 3600, time / 60 % 60, time % 60)
}

/// Serialises Unix seconds as [`format_unix`] prints them (`serialize_with`), so that JSON
/// output gives times as RFC 3339, as everything else keyseal prints does.
pub fn serialize_rfc3339<S: serde::Serializer>(seconds: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_unix(*seconds))
}

/// [`serialize_rfc3339`] for an optional time (`null` when absent).
pub fn serialize_rfc3339_option<S: serde::Serializer>(seconds: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
    match seconds {
        Some(seconds) => serialize_rfc3339(seconds, serializer),
        None => serializer.serialize_none(),
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (negative before it); H. Hinnant's
/// `days_from_civil`.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01: the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// How many days `month` (1–12) of `year` has.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `2024-05-20T06:34:21Z`, a bare `2024-05-20` (its midnight UTC), Unix seconds,
/// or RFC 3339 with fractional seconds (dropped) or a numeric offset such as `+02:00`.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not a time; write it as 2026-01-31T12:00:00Z or 2026-01-31");
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return text.parse().map_err(|_| format!("{text:?} is too large to be a time"));
    }
    if text.len() == 10 {
        return parse_time(&format!("{text}T00:00:00Z"));
    }
    let (seconds_part, rest) = text.split_at_checked(19).ok_or_else(bad)?;
    // Fractional seconds, then `Z`, `z` or `±hh:mm`.
    let zone = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if zone.len() < rest.len() && !rest.starts_with('.') {
        return Err(bad());
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let (sign, hours, minutes) = (zone.get(..1), zone.get(1..3), zone.get(4..6));
            let (Some(sign @ ("+" | "-")), Some(hours), Some(minutes)) = (sign, hours, minutes) else {
                return Err(bad());
            };
            if zone.len() != 6 || zone.as_bytes()[3] != b':' {
                return Err(bad());
            }
            let value =
                hours.parse::<i64>().map_err(|_| bad())? * 3600 + minutes.parse::<i64>().map_err(|_| bad())? * 60;
            if sign == "+" { value } else { -value }
        }
    };
    let base = format!("{}Z", seconds_part.replacen(' ', "T", 1)).parse::<der::DateTime>().map_err(|_| bad())?;
    Ok(base.unix_duration().as_secs() as i64 - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_api_dates() {
        assert_eq!(format_unix(1_716_186_861), "2024-05-20T06:34:21Z");
        assert_eq!(parse_time("2024-05-20T06:34:21Z"), Ok(1_716_186_861));
        assert_eq!(parse_time("2024-05-20"), Ok(1_716_163_200));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_time("1716186861"), Ok(1_716_186_861));
        assert_eq!(parse_time("2024-05-20T06:34:21.123456Z"), Ok(1_716_186_861));
        assert_eq!(parse_time("2024-05-20T08:34:21+02:00"), Ok(1_716_186_861));
        assert_eq!(parse_time("2024-05-20T06:34:21-00:00"), Ok(1_716_186_861));
        assert!(parse_time("2024-05-20T06:34:21").is_err());
        assert!(parse_time("2024-05-20T06:34:21+0200").is_err());
        assert!(parse_time("2024-05-20T06:34:21.5").is_err());
    }

    #[test]
    fn civil_dates_round_trip_before_and_after_the_epoch() {
        assert_eq!(format_unix(-631_152_000), "1950-01-01T00:00:00Z");
        assert_eq!(format_unix(951_825_600), "2000-02-29T12:00:00Z");
        for days in [-719_528, -25_567, -1, 0, 1, 11_016, 2_932_896] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
            assert!(day <= days_in_month(year, month));
        }
    }
}
