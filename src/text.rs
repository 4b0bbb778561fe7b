//! Text for people: byte sizes, thousands separators, bars, and [`terminal`], which makes
//! any text (a key, a server's message) safe to print to a terminal. What the inventory
//! table, the browser and the examples print with.

use std::borrow::Cow;
use std::fmt::Write;

/// `1536` -> `"1.5 KiB"`; exact below 1 KiB.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1234567` -> `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A bar of `width` cells at most, proportional to `value / max`, with eighth-cell
/// resolution; any non-zero value gets at least a sliver.
pub fn bar(value: u64, max: u64, width: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max == 0 || value == 0 {
        return String::new();
    }
    let eighths = ((value as f64 / max as f64) * (width * 8) as f64)
        .round()
        .max(1.0) as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(EIGHTHS[eighths % 8]);
    }
    s
}

/// Whether `c` is escaped by [`terminal`]: C0 controls (U+0000-U+001F, tab and newline
/// included), DEL, C1 controls (U+0080-U+009F) and the bidirectional controls
/// (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
pub fn is_terminal_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` made safe for a terminal: every character a terminal would act on instead of
/// showing ([`is_terminal_control`]: escape sequences, carriage returns, C1 controls
/// such as CSI U+009B, bidi overrides that reorder what follows) is written visibly, as
/// `\x1b` (C0 and DEL) or `\u{202e}` (C1 and bidi), so that a key can neither retitle the
/// window, clear the screen, overwrite a line nor disguise itself. Anything else is kept
/// as it is (backslashes included): text without controls comes back unchanged and
/// unallocated.
///
/// Every key, prefix, storage class, title and error text stratus prints for people
/// (the inventory table, the diff table, the browser, the examples' errors and progress
/// line) goes through this, and the HTML page shows controls the same way (a line break
/// aside, which HTML reads as a space); JSON keeps the exact text, with every control
/// escaped ([`json`]).
///
/// ```
/// use stratus::text::terminal;
/// assert_eq!(terminal("logs/2026"), "logs/2026");
/// assert_eq!(terminal("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
/// assert_eq!(terminal("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
/// ```
pub fn terminal(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_terminal_control) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if !is_terminal_control(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// [`terminal`] for text of several lines (an error with a server's response): each
/// line made safe, the line breaks kept (a `\r` is still escaped).
pub fn terminal_lines(text: &str) -> Cow<'_, str> {
    if !text.contains(|c: char| c != '\n' && is_terminal_control(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.split('\n')
            .map(terminal)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Serialized JSON made safe for a terminal, exactly: every character [`terminal`] escapes
/// that a JSON writer leaves raw (DEL, the C1 controls such as CSI U+009B, the bidi
/// controls) written as a `\uXXXX` escape, which any JSON parser reads back as the same
/// character (C0 controls are escaped in strings already; outside them they are the
/// JSON's own line breaks). For JSON text only: outside its strings no other such
/// character can stand.
///
/// ```
/// let raw = serde_json::to_string("invoice\u{202e}fdp.exe").unwrap();
/// let safe = stratus::text::json(&raw);
/// assert_eq!(safe, r#""invoice\u202efdp.exe""#);
/// assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "invoice\u{202e}fdp.exe");
/// ```
pub fn json(serialized: &str) -> Cow<'_, str> {
    // A C0 character in valid JSON is whitespace between values (a string escapes its own).
    let raw = |c: char| c >= ' ' && is_terminal_control(c);
    if !serialized.contains(raw) {
        return Cow::Borrowed(serialized);
    }
    let mut out = String::with_capacity(serialized.len() + 16);
    for c in serialized.chars() {
        if raw(c) {
            // Every such character is in the Basic Multilingual Plane: one escape.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Up to `limit` characters of `text` for an error message, in backquotes, with the
/// length when cut, controls escaped ([`terminal`]): a value read from a
/// report or a key listed can be long, and hold anything.
pub(crate) fn excerpt(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => format!("`{}`", terminal(text)),
        Some((cut, _)) => format!("`{}`... ({} bytes)", terminal(&text[..cut]), text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_visibly_and_the_rest_kept() {
        assert_eq!(terminal("plain/key.csv"), "plain/key.csv");
        assert!(matches!(terminal("café ☃ \\x1b"), Cow::Borrowed(_)));
        assert_eq!(terminal("\x1b]0;t\x07"), "\\x1b]0;t\\x07");
        assert_eq!(
            terminal("\x1b[2J\r\n\t\x7f"),
            "\\x1b[2J\\x0d\\x0a\\x09\\x7f"
        );
        assert_eq!(terminal("a\u{9b}2Jb"), "a\\u{9b}2Jb");
        assert_eq!(
            terminal("\u{202e}\u{2066}\u{200e}\u{61c}"),
            "\\u{202e}\\u{2066}\\u{200e}\\u{61c}"
        );
        assert_eq!(terminal_lines("a\x1bb\nc\rd"), "a\\x1bb\nc\\x0dd");
        assert_eq!(terminal_lines("two\nlines"), "two\nlines");
    }

    #[test]
    fn json_escapes_every_control_and_reads_back_the_same() {
        let all: String = (0..=0x206f_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_terminal_control(c))
            .collect();
        let value = serde_json::json!({ "key": format!("a{all}b"), "n": 1 });
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let safe = json(&pretty);
        assert!(!safe.contains(|c: char| c != '\n' && is_terminal_control(c)));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
        assert!(matches!(json("{\"plain\": \"café\"}"), Cow::Borrowed(_)));
    }

    #[test]
    fn sizes_counts_and_bars() {
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(bar(0, 10, 4), "");
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(1, 1000, 4), "▏");
    }
}
