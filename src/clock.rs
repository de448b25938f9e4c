//! Time as the KMS API writes it (`YYYY-MM-DDThh:mm:ssZ`, UTC, seconds). Operations take
//! the time as a parameter instead of reading the clock, so tests can move it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `2024-05-20T06:34:21Z` for a Unix time (clamped to 1970..=9999).
pub fn format_unix(seconds: i64) -> String {
    let duration = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    der::DateTime::from_unix_duration(duration).unwrap_or(der::DateTime::INFINITY).to_string()
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
}
