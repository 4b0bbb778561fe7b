//! Text a person typed (a command-line argument, a configuration's `prefix`, a URL's
//! path once decoded) as an object_store [`Path`]: every character kept as typed.
//!
//! object_store has two ways from text to a `Path`. `Path::from` percent-encodes what it
//! finds unsafe (non-ASCII letters, ``% ~ # [ ] ? * { } ^ \ ` " < > |``): `café` becomes the
//! key `caf%C3%A9`, a *different* key, which lists nothing, or another folder. Keys listed
//! from a store and rows of an inventory report are raw, so a prefix a person types must
//! be raw too: [`parse_prefix`] and [`parse_key`] keep the text (`Path::parse`) and refuse,
//! naming the text and what is wrong, what no object_store key can hold:
//!
//! - an empty segment (`a//b`): object_store's keys have none;
//! - a segment `.` or `..`;
//! - an ASCII control character (a newline, a tab, ...);
//! - for a key, nothing at all, or a trailing `/`.
//!
//! One leading `/` and, for a prefix, one trailing `/` are ignored (`/logs/` is `logs`).
//!
//! ```
//! let prefix = stratus::key::parse_prefix("café/日本 #1").unwrap();
//! assert_eq!(prefix.as_ref(), "café/日本 #1");
//! let wrong = stratus::key::parse_prefix("a//b").unwrap_err();
//! assert!(wrong.to_string().contains("empty segment"), "{wrong}");
//! ```

use crate::error::{Error, Result};
use object_store::path::Path;

/// `text` as a key prefix: `""` (or `/`) is the whole store.
pub fn parse_prefix(text: &str) -> Result<Path> {
    check(text, false).map_err(|message| invalid("prefix", text, message))
}

/// `text` as an object's key: not empty, not ending in `/`.
pub fn parse_key(text: &str) -> Result<Path> {
    check(text, true).map_err(|message| invalid("key", text, message))
}

fn invalid(what: &'static str, text: &str, message: String) -> Error {
    Error::InvalidKey {
        what,
        text: text.to_string(),
        message,
    }
}

/// The one conversion: `Ok` with the path, or what is wrong with `text` (without the text
/// itself, which the caller names).
pub(crate) fn check(text: &str, key: bool) -> std::result::Result<Path, String> {
    let inner = text.strip_prefix('/').unwrap_or(text);
    if key && inner.is_empty() {
        return Err("a key cannot be empty".into());
    }
    if key && inner.ends_with('/') {
        return Err(
            "a key cannot end with `/` (object_store keys name objects, not folders)".into(),
        );
    }
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    if inner.is_empty() {
        return Ok(Path::default());
    }
    for (n, segment) in inner.split('/').enumerate() {
        let n = n + 1;
        if segment.is_empty() {
            return Err(format!(
                "segment {n} is empty (`//`): object_store keys cannot hold an empty segment"
            ));
        }
        if segment == "." || segment == ".." {
            return Err(format!(
                "segment {n} is `{segment}`: object_store refuses relative segments"
            ));
        }
        if let Some(c) = segment.chars().find(char::is_ascii_control) {
            return Err(format!(
                "segment {n} holds the control character U+{:04X}: object_store keys cannot hold \
                 control characters",
                u32::from(c)
            ));
        }
    }
    Path::parse(inner).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character class that `Path::from` encodes comes back as typed.
    #[test]
    fn keeps_every_character_as_typed() {
        for text in [
            "café",
            "a%b",
            "a~b",
            "a#b",
            "日本",
            "🎉",
            "[x]",
            "a?b",
            "a*b",
            "{x}",
            "a^b",
            "a\\b",
            "a`b",
            "a\"b",
            "<x>",
            "a|b",
            "a b",
            "a+b",
            "caf%C3%A9",
            "x/café/🎉 #1",
        ] {
            assert_eq!(parse_prefix(text).unwrap().as_ref(), text, "{text}");
            assert_eq!(parse_key(text).unwrap().as_ref(), text, "{text}");
        }
        assert_eq!(parse_prefix("/logs/").unwrap().as_ref(), "logs");
        assert_eq!(parse_prefix("").unwrap().as_ref(), "");
        assert_eq!(parse_prefix("/").unwrap().as_ref(), "");
    }

    #[test]
    fn refuses_what_no_key_can_hold_naming_the_text() {
        for (text, says) in [
            ("a//b", "segment 2 is empty"),
            ("a/./b", "segment 2 is `.`"),
            ("../x", "segment 1 is `..`"),
            ("a\nb", "U+000A"),
            ("a\tb/c", "U+0009"),
        ] {
            let error = parse_prefix(text).unwrap_err().to_string();
            assert!(error.contains(says), "{text:?}: {error}");
            assert!(error.contains(&format!("{text:?}")), "{text:?}: {error}");
        }
        assert!(parse_key("").unwrap_err().to_string().contains("empty"));
        assert!(parse_key("a/")
            .unwrap_err()
            .to_string()
            .contains("end with"));
    }
}
