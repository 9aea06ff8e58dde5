//! A cron schedule as systemd's `OnCalendar=`: `*/15 * * * *` is `*-*-* *:00/15:00`.
//!
//! Cron fields are minute, hour, day of month, month, day of week (croner also takes a sixth,
//! seconds, first). Each maps to systemd's calendar syntax: `*` stays, `*/n` is `00/n`, a
//! range `a-b` is `a..b`, lists stay lists, day names are `Mon`…`Sun`. What has no systemd
//! form (`L`, `W`, `#`, `?`, a step on a range) is an error, for the caller to warn about.
//! Cron runs a job when the day of month OR the day of week matches, if both are set; systemd
//! needs both: that is an error too, rather than a timer that fires less often.

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/// A schedule as the five fields of classic cron, which Nomad and Kubernetes read: a first
/// seconds field of `0` is dropped (`0 */5 * * * *` is `*/5 * * * *`); any other seconds field
/// has no five-field form, and is the error. `@daily` and the like stay as they are.
pub(crate) fn five_fields(cron: &str) -> Result<String, String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    match fields.as_slice() {
        [one] if one.starts_with('@') => Ok((*one).to_owned()),
        [_, _, _, _, _] => Ok(fields.join(" ")),
        ["0", rest @ ..] if rest.len() == 5 => Ok(rest.join(" ")),
        [seconds, rest @ ..] if rest.len() == 5 => {
            Err(format!("`{cron}` runs at second `{seconds}`, which five-field cron cannot say"))
        }
        _ => Err(format!("`{cron}` has {} fields; cron has 5", fields.len())),
    }
}

/// systemd's names for cron's nicknames.
fn nickname(cron: &str) -> Option<&'static str> {
    Some(match cron {
        "@yearly" | "@annually" => "yearly",
        "@monthly" => "monthly",
        "@weekly" => "weekly",
        "@daily" | "@midnight" => "daily",
        "@hourly" => "hourly",
        _ => return None,
    })
}

/// The `OnCalendar=` value for a cron schedule, or why there is none.
pub(crate) fn on_calendar(cron: &str) -> Result<String, String> {
    if let Some(name) = nickname(cron.trim()) {
        return Ok(name.to_owned());
    }
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let (second, rest) = match fields.len() {
        5 => ("0", &fields[..]),
        6 => (fields[0], &fields[1..]),
        n => return Err(format!("`{cron}` has {n} fields; 5 (or 6, with seconds first) convert")),
    };
    let [minute, hour, dom, month, dow] = rest else { return Err(format!("`{cron}` is not a cron schedule")) };
    if *dom != "*" && *dow != "*" {
        return Err("cron runs on the day of month or the day of week, systemd only on both".into());
    }
    let time = format!("{}:{}:{}", field(hour, 0, None)?, field(minute, 0, None)?, field(second, 0, None)?);
    let date = format!("*-{}-{}", field(month, 1, Some(&MONTHS))?, field(dom, 1, None)?);
    let days = if *dow == "*" { String::new() } else { format!("{} ", weekdays(dow)?) };
    Ok(format!("{days}{date} {time}"))
}

/// One numeric field: `*`, `N`, `a-b`, `*/n`, `a/n`, and lists of them; `names` (months) as
/// numbers from `first`.
fn field(text: &str, first: u32, names: Option<&[&str]>) -> Result<String, String> {
    let parts: Result<Vec<String>, String> = text.split(',').map(|part| item(part, first, names)).collect();
    Ok(parts?.join(","))
}

fn item(part: &str, first: u32, names: Option<&[&str]>) -> Result<String, String> {
    let unsupported = || format!("`{part}` has no systemd calendar form");
    let number = |word: &str| -> Result<String, String> {
        if let Some(index) = names.and_then(|n| n.iter().position(|m| m.eq_ignore_ascii_case(word))) {
            return Ok(format!("{:02}", index + 1));
        }
        word.parse::<u32>().map(|n| format!("{n:02}")).map_err(|_| unsupported())
    };
    match part.split_once('/') {
        Some(("*", step)) => Ok(format!("{:02}/{}", first, step.parse::<u32>().map_err(|_| unsupported())?)),
        Some((start, step)) if !start.contains('-') => {
            Ok(format!("{}/{}", number(start)?, step.parse::<u32>().map_err(|_| unsupported())?))
        }
        Some(_) => Err(unsupported()),
        None if part == "*" => Ok("*".to_owned()),
        None => match part.split_once('-') {
            Some((a, b)) => Ok(format!("{}..{}", number(a)?, number(b)?)),
            None => number(part),
        },
    }
}

/// The day-of-week field as systemd's names: `1-5` is `Mon..Fri`, `0` and `7` are `Sun`.
fn weekdays(text: &str) -> Result<String, String> {
    let day = |word: &str| -> Result<&str, String> {
        if let Some(name) = DAYS.iter().find(|d| d.eq_ignore_ascii_case(word)) {
            return Ok(name);
        }
        match word.parse::<usize>() {
            Ok(n) if n <= 7 => Ok(DAYS[n % 7]),
            _ => Err(format!("`{word}` is not a day of the week systemd knows")),
        }
    };
    let mut out = Vec::new();
    for part in text.split(',') {
        out.push(match part.split_once('-') {
            Some((a, b)) => format!("{}..{}", day(a)?, day(b)?),
            None => day(part)?.to_owned(),
        });
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::{five_fields, on_calendar};

    #[test]
    fn five_fields_for_nomad_and_kubernetes() {
        assert_eq!(five_fields("*/5 * * * *").as_deref(), Ok("*/5 * * * *"));
        assert_eq!(five_fields("0 */6 * * * *").as_deref(), Ok("*/6 * * * *"));
        assert_eq!(five_fields("@daily").as_deref(), Ok("@daily"));
        assert!(five_fields("*/10 * * * * *").is_err());
        assert!(five_fields("* * *").is_err());
    }

    #[test]
    fn cron_as_on_calendar() {
        for (cron, calendar) in [
            ("*/15 * * * *", "*-*-* *:00/15:00"),
            ("0 3 * * *", "*-*-* 03:00:00"),
            ("30 9 * * 1-5", "Mon..Fri *-*-* 09:30:00"),
            ("0 0 1 JAN *", "*-01-01 00:00:00"),
            ("0 12 * * 0,6", "Sun,Sat *-*-* 12:00:00"),
            ("*/10 * * * * *", "*-*-* *:*:00/10"),
            ("5,35 8-18 * * *", "*-*-* 08..18:05,35:00"),
            ("@daily", "daily"),
            ("@hourly", "hourly"),
        ] {
            assert_eq!(on_calendar(cron).as_deref(), Ok(calendar), "{cron}");
        }
    }

    #[test]
    fn what_does_not_convert_says_why() {
        for cron in ["0 0 L * *", "0 0 * * 5#3", "0 0 1 * 1", "0 0-6/2 * * *", "* * *"] {
            assert!(on_calendar(cron).is_err(), "{cron}");
        }
    }
}
