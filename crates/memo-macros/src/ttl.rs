//! Duration strings, parsed at compile time: `"60s"`, `"1h 30m"`, `"2 days"`,
//! `"1d2h34m"`, `"1.5h"`, `"500ms"`.

use std::time::Duration;

const UNITS: &[(&[&str], u128)] = &[
    (&["ns", "nanosecond", "nanoseconds"], 1),
    (&["us", "µs", "microsecond", "microseconds"], 1_000),
    (&["ms", "millisecond", "milliseconds"], 1_000_000),
    (&["s", "sec", "secs", "second", "seconds"], 1_000_000_000),
    (&["m", "min", "mins", "minute", "minutes"], 60_000_000_000),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600_000_000_000),
    (&["d", "day", "days"], 86_400_000_000_000),
    (&["w", "week", "weeks"], 604_800_000_000_000),
];

/// Parses a duration string, or says what is wrong with it.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("the duration is empty".into());
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() {
            return Err(format!("expected a number at `{rest}`"));
        }
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace() || c == ',')
            .unwrap_or(after.len());
        let (unit, tail) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!(
                "`{num}` has no unit: write `{num}s`, `{num}m`, `{num}h` or `{num}d`"
            ));
        }
        let nanos_per = UNITS
            .iter()
            .find(|(names, _)| names.contains(&unit.to_ascii_lowercase().as_str()))
            .map(|(_, n)| *n)
            .ok_or_else(|| format!("unknown unit `{unit}`; use ns, us, ms, s, m, h, d or w"))?;
        total = total
            .checked_add(scale(num, nanos_per)?)
            .ok_or("the duration is too long")?;
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    if total == 0 {
        return Err(
            "the duration is zero: entries would expire as soon as they are written".into(),
        );
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| "the duration is too long")?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

fn scale(num: &str, nanos_per: u128) -> Result<u128, String> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return Err(format!("`{num}` is not a number"));
    }
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| format!("`{num}` is too large"))?
    };
    let mut nanos = int
        .checked_mul(nanos_per)
        .ok_or("the duration is too long")?;
    let mut place = nanos_per;
    for d in frac.chars().take(18) {
        place /= 10;
        nanos += u128::from(d.to_digit(10).unwrap_or(0)) * place;
    }
    Ok(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_streamlit_and_humane_forms() {
        assert_eq!(parse("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("2 days"), Ok(Duration::from_secs(172_800)));
        assert_eq!(
            parse("1d2h34m"),
            Ok(Duration::from_secs(86_400 + 7_200 + 2_040))
        );
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1 minute, 5 seconds"), Ok(Duration::from_secs(65)));
    }

    #[test]
    fn rejects_ambiguous_or_broken() {
        assert!(parse("10").unwrap_err().contains("no unit"));
        assert!(parse("abc").is_err());
        assert!(parse("5 fortnights").unwrap_err().contains("unknown unit"));
        assert!(parse("0s").unwrap_err().contains("zero"));
        assert!(parse("").is_err());
        assert!(parse("1..5s").is_err());
    }
}
