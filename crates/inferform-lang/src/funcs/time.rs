//! Time functions: `timestamp`, `timeadd`, `timecmp`, `formatdate`, on RFC 3339 timestamps.

use inferform_types::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::args::{arity, err, string, FuncError};

pub(super) fn dispatch(name: &str, a: &[Value]) -> Option<Result<Value, FuncError>> {
    Some(match name {
        // The moment of the run: inferform plans and applies in one go, so the plan's time
        // is the run's.
        "timestamp" | "plantimestamp" => arity(name, a, 0).and_then(|_| {
            let now = OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            rfc3339(now).map(Value::String)
        }),
        "timeadd" => arity(name, a, 2).and_then(|_| {
            let t = parse(&string(&a[0], "the timestamp")?)?;
            let d = duration(&string(&a[1], "the duration")?)?;
            let later = t
                .checked_add(d)
                .ok_or_else(|| err("the result is out of range", "add a smaller duration"))?;
            rfc3339(later).map(Value::String)
        }),
        "timecmp" => arity(name, a, 2).and_then(|_| {
            let x = parse(&string(&a[0], "the first timestamp")?)?;
            let y = parse(&string(&a[1], "the second timestamp")?)?;
            Ok(Value::number(match x.cmp(&y) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            }))
        }),
        "formatdate" => arity(name, a, 2).and_then(|_| {
            let spec = string(&a[0], "the format")?;
            let t = parse(&string(&a[1], "the timestamp")?)?;
            formatdate(&spec, t).map(Value::String)
        }),
        _ => return None,
    })
}

fn parse(text: &str) -> Result<OffsetDateTime, FuncError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        err(
            format!("{text:?} is not an RFC 3339 timestamp"),
            "write a timestamp such as 2026-12-01T08:00:00Z",
        )
    })
}

/// RFC 3339 as Terraform writes it: whole seconds (a fraction is dropped), `Z` for UTC.
fn rfc3339(t: OffsetDateTime) -> Result<String, FuncError> {
    let mut out = formatdate("YYYY-MM-DD'T'hh:mm:ss", t)?;
    out.push_str(&zone(t.offset(), true));
    Ok(out)
}

/// `Z` for UTC when `z`, otherwise `+hh:mm`.
fn zone(offset: UtcOffset, z: bool) -> String {
    if z && offset.is_utc() {
        return "Z".into();
    }
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.abs(), m.abs())
}

/// A Go duration: a sequence of decimal numbers with units (`1h30m`, `-1.5s`, `300ms`).
fn duration(text: &str) -> Result<Duration, FuncError> {
    let bad = || {
        err(
            format!("{text:?} is not a duration"),
            "write a number with a unit: ns, us, ms, s, m or h (\"1h30m\")",
        )
    };
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        nanos += value * unit;
        rest = &rest[u..];
    }
    let nanos = if negative { -nanos } else { nanos };
    Ok(Duration::nanoseconds(nanos as i64))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Terraform's `formatdate` specification: runs of one letter are fields (`YYYY`, `MMM`,
/// `hh`, `ZZZZZ`...), text in single quotes is literal (`''` is a quote), and any other
/// character stands for itself.
fn formatdate(spec: &str, t: OffsetDateTime) -> Result<String, FuncError> {
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is one quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => {
                        return Err(err(
                            "the format has an unterminated quoted literal",
                            "close the literal with a single quote",
                        ))
                    }
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&ch) => {
                        out.push(ch);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        let field = match (c, n) {
            ('Y', 4) => format!("{:04}", t.year()),
            ('Y', 2) => format!("{:02}", t.year().rem_euclid(100)),
            ('M', 4) => MONTHS[t.month() as usize - 1].to_string(),
            ('M', 3) => MONTHS[t.month() as usize - 1][..3].to_string(),
            ('M', 2) => format!("{:02}", t.month() as u8),
            ('M', 1) => (t.month() as u8).to_string(),
            ('D', 2) => format!("{:02}", t.day()),
            ('D', 1) => t.day().to_string(),
            ('E', 4) => DAYS[t.weekday().number_days_from_monday() as usize].to_string(),
            ('E', 3) => DAYS[t.weekday().number_days_from_monday() as usize][..3].to_string(),
            ('h', 2) => format!("{:02}", t.hour()),
            ('h', 1) => t.hour().to_string(),
            ('H', 2) => format!("{hour12:02}"),
            ('H', 1) => hour12.to_string(),
            ('A', 2) => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
            ('a', 2) => if t.hour() < 12 { "am" } else { "pm" }.to_string(),
            ('m', 2) => format!("{:02}", t.minute()),
            ('m', 1) => t.minute().to_string(),
            ('s', 2) => format!("{:02}", t.second()),
            ('s', 1) => t.second().to_string(),
            ('Z', 5) => zone(t.offset(), false),
            ('Z', 4) => zone(t.offset(), false).replace(':', ""),
            ('Z', 3) if t.offset().is_utc() => "UTC".to_string(),
            ('Z', 3) => zone(t.offset(), false).replace(':', ""),
            ('Z', 1) => zone(t.offset(), true),
            _ => {
                return Err(err(
                    format!("invalid date format verb {:?}", c.to_string().repeat(n)),
                    "see formatdate's specification sequences (YYYY, MM, DD, hh, mm, ss, ...)",
                ))
            }
        };
        out.push_str(&field);
        i += n;
    }
    Ok(out)
}
