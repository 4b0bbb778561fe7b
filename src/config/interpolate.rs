//! `${VAR}` and `${VAR:-default}` in configuration strings.
//!
//! Rules, applied to every string value (never to keys):
//! - `${NAME}` is replaced by the environment variable `NAME`; if it is unset the
//!   configuration is rejected with an error naming `NAME` and the key that used it.
//! - `${NAME:-default}` uses `default` when `NAME` is unset or empty (as in POSIX shells).
//! - `$${` is a literal `${`; a `$` not followed by `{` is kept as it is.
//! - `NAME` is letters, digits and `_`, not starting with a digit.
//!
//! Substituted values are never echoed in errors: they may be secrets. An error about a
//! key whose value a reference gave names the value by the text written
//! (``the value from `${NAME}` is not a duration``) wherever it would quote it, whatever
//! its length; any other error text has every run of 6 bytes or more of a substituted
//! value cut (`<redacted>`): shorter values are too common to cut from text (a `1` or
//! an `eu`), so they are left where they are not quoted as a key's value.

use super::secret::Substitution;
use serde_json::Value;

/// Where environment variables come from; a closure in tests, the process in real use.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// An interpolation failure: the dotted key path and what went wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InterpolationError {
    pub key: String,
    pub message: String,
}

/// Interpolate every string inside `value` in place. `path` is the key path of `value`;
/// each string the environment gave a value to is added to `found`.
pub(crate) fn interpolate_value(
    value: &mut Value,
    path: &str,
    env: Lookup<'_>,
    found: &mut Vec<Substitution>,
) -> Result<(), InterpolationError> {
    match value {
        Value::String(s) => {
            if s.contains('$') {
                let from_env = std::cell::Cell::new(false);
                let reading = |name: &str| {
                    let value = env(name);
                    from_env.set(from_env.get() || value.is_some());
                    value
                };
                let written = std::mem::take(s);
                *s = interpolate_str(&written, &reading).map_err(|message| InterpolationError {
                    key: path.to_string(),
                    message,
                })?;
                if from_env.get() {
                    found.push(Substitution::new(path, written, s.clone()));
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .try_for_each(|(i, item)| interpolate_value(item, &format!("{path}[{i}]"), env, found)),
        Value::Object(map) => map.iter_mut().try_for_each(|(key, item)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            interpolate_value(item, &child, env, found)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Interpolate one string. The error message names the variable, never a value.
pub(crate) fn interpolate_str(input: &str, env: Lookup<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            out.push_str("${");
            rest = escaped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| {
                "unterminated `${`: write `${NAME}` or `${NAME:-default}`, or `$${` for a literal `${`"
                    .to_string()
            })?;
            out.push_str(&expand(&body[..end], env)?);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn expand(expr: &str, env: Lookup<'_>) -> Result<String, String> {
    let (name, default) = match expr.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (expr, None),
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`${{{expr}}}` is not a valid reference: expected `${{NAME}}` or `${{NAME:-default}}` \
             where NAME is letters, digits and `_`"
        ));
    }
    match (env(name), default) {
        (Some(value), Some(default)) if value.is_empty() => Ok(default.to_string()),
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_string()),
        (None, None) => Err(format!(
            "environment variable `{name}` is not set (set it, or give a default with \
             `${{{name}:-default}}`)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "BUCKET" => Some("data".into()),
            "EMPTY" => Some(String::new()),
            "SECRET" => Some("hunter2".into()),
            _ => None,
        }
    }

    #[test]
    fn replaces_variables_and_defaults() {
        let s = |i| interpolate_str(i, &env);
        assert_eq!(s("${BUCKET}").unwrap(), "data");
        assert_eq!(s("s3://${BUCKET}/x").unwrap(), "s3://data/x");
        assert_eq!(s("${MISSING:-fallback}").unwrap(), "fallback");
        assert_eq!(s("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(s("${EMPTY}").unwrap(), "");
        assert_eq!(s("${BUCKET:-unused}").unwrap(), "data");
        assert_eq!(s("${MISSING:-}").unwrap(), "");
        assert_eq!(
            s("cost $5 and $${BUCKET}").unwrap(),
            "cost $5 and ${BUCKET}"
        );
        assert_eq!(s("$").unwrap(), "$");
    }

    #[test]
    fn missing_variable_names_it_and_not_other_values() {
        let err = interpolate_str("${SECRET}-${NOPE}", &env).unwrap_err();
        assert!(err.contains("`NOPE`"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(interpolate_str("${UNCLOSED", &env)
            .unwrap_err()
            .contains("unterminated"));
        assert!(interpolate_str("${1ABC}", &env)
            .unwrap_err()
            .contains("not a valid"));
        assert!(interpolate_str("${}", &env)
            .unwrap_err()
            .contains("not a valid"));
    }

    #[test]
    fn walks_nested_values_and_reports_the_key_path() {
        let mut v = json!({"bucket": "${BUCKET}", "options": {"a": "${NOPE}"}, "n": 3});
        let err = interpolate_value(&mut v, "", &env, &mut Vec::new()).unwrap_err();
        assert_eq!(err.key, "options.a");
        let mut v = json!({"bucket": "${BUCKET}", "list": ["${BUCKET}"], "n": 3});
        let mut found = Vec::new();
        interpolate_value(&mut v, "", &env, &mut found).unwrap();
        assert_eq!(v, json!({"bucket": "data", "list": ["data"], "n": 3}));
        let keys: Vec<_> = found.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["bucket", "list[0]"]);
    }
}
