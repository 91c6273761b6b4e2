//! Text as the reports print it: escaping for HTML and markdown, dates, ages and numbers.
//! Everything read from the cluster (names, owners, messages) is tenant input and goes
//! through one of the escapes before it reaches a page.

use jiff::{SignedDuration, Timestamp};

/// `text` safe inside HTML and SVG text and attribute values (double- or single-quoted).
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` safe inside one markdown table cell or line: no table break (`|`), no line
/// break, no HTML (renderers pass raw HTML through), no emphasis, links or code spans.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A time to the minute, in UTC: `2026-04-02 09:01 UTC`.
pub fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// A date, in UTC: `2026-04-02`.
pub fn date(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

/// A duration as a person says an age: `12m`, `5h 3m`, `4d 2h`; `0m` when negative.
pub fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3_600, seconds % 3_600 / 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else {
        format!("{minutes}m")
    }
}

/// Seconds from `from` to `to` (negative when `to` is earlier).
pub fn seconds_between(from: Timestamp, to: Timestamp) -> i64 {
    to.duration_since(from).as_secs()
}

/// `from` moved by `seconds`, saturating at the ends of time.
pub fn plus_seconds(from: Timestamp, seconds: i64) -> Timestamp {
    from.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(if seconds < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(html("a\nb"), "a b");
    }

    #[test]
    fn markdown_keeps_a_cell_one_cell_and_inert() {
        assert_eq!(markdown("a|b"), "a\\|b");
        assert_eq!(markdown("<img src=x>"), "&lt;img src=x&gt;");
        assert_eq!(markdown("[x](http://e)\n`y`"), "\\[x\\](http://e) \\`y\\`");
    }

    #[test]
    fn ages_read_as_a_person_says_them() {
        assert_eq!(age(-5), "0m");
        assert_eq!(age(59), "0m");
        assert_eq!(age(12 * 60), "12m");
        assert_eq!(age(5 * 3600 + 180), "5h 3m");
        assert_eq!(age(4 * 86_400 + 2 * 3600 + 59), "4d 2h");
    }

    #[test]
    fn times_are_utc_to_the_minute() {
        let at: Timestamp = "2026-04-02T09:01:10Z".parse().unwrap();
        assert_eq!(time(at), "2026-04-02 09:01 UTC");
        assert_eq!(date(at), "2026-04-02");
        assert_eq!(plus_seconds(Timestamp::MAX, 10), Timestamp::MAX);
    }
}
