//! A string that never shows itself in `Debug` or `Display`.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A secret configuration value (secret key, account key, token, private key).
///
/// `Debug` and `Display` print `<redacted>`; the value is only reachable through
/// [`Secret::expose`], which is called in exactly one place per provider: when handing it
/// to the object_store builder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// The values `${VAR}` references put into a store's configuration: they may be secrets
/// (module [`super::interpolate`]), so errors treat them as such. Never printed, and
/// never part of a configuration's equality (two configurations that read the same are
/// equal, wherever their values came from).
#[derive(Clone, Default)]
pub(crate) struct Substituted {
    /// What the environment gave each reference.
    values: Vec<Secret>,
    /// The strings those values went into.
    strings: Vec<Substitution>,
}

/// A string of a store's table that a `${VAR}` reference put an environment value into.
#[derive(Clone)]
pub(crate) struct Substitution {
    /// Its key path in the store's table (`deadline`, `members[0].store.root`).
    pub key: String,
    /// The text as written in the file (`${DEADLINE}`): what errors say instead.
    written: String,
    /// The text after substitution.
    value: Secret,
}

impl Substitution {
    pub(crate) fn new(key: &str, written: String, value: String) -> Self {
        Self {
            key: key.to_owned(),
            written,
            value: Secret(value),
        }
    }
}

impl Substituted {
    pub(crate) fn new(values: Vec<String>, strings: Vec<Substitution>) -> Self {
        Self {
            values: values.into_iter().map(Secret).collect(),
            strings,
        }
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(Secret::expose)
    }

    /// `message`, about key `key`, with every place it quotes a substituted value of that
    /// key (or of a key inside it, or around it) saying ``the value from `${VAR}` ``
    /// instead: a value is never quoted, however short (module
    /// [`super::interpolate`]).
    pub(crate) fn describe(&self, key: &str, message: &str) -> String {
        let related = |other: &str| {
            let inside = |a: &str, b: &str| {
                a.strip_prefix(b)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            };
            inside(key, other) || inside(other, key)
        };
        self.strings
            .iter()
            .filter(|s| related(&s.key))
            .fold(message.to_owned(), |message, s| {
                let said = format!("the value from `{}`", s.written);
                replace_quoted(&message, s.value.expose(), &said)
            })
    }
}

/// `text` with each place it quotes `value` replaced by `said`: the word holding it (up
/// to whitespace, trailing punctuation left out) when that word is `value` in quotes, or
/// ends in it inside quotes (a folder under a base: `` `/base/value` ``); any word
/// holding it when it is long enough that it is no ordinary word.
fn replace_quoted(text: &str, value: &str, said: &str) -> String {
    if value.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (at, _) in text.match_indices(value) {
        if at < done {
            continue;
        }
        let end = at + value.len();
        let start = text[..at].rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word_end = text[end..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| end + i);
        let word = text[start..word_end].trim_end_matches([',', '.', ';', ':', ')']);
        let word_end = start + word.len().max(end - start);
        let word = &text[start..word_end];
        let quoted = ['`', '"', '\''].into_iter().any(|q| {
            word.len() >= 2
                && word.starts_with(q)
                && word.ends_with(q)
                && text[end..].starts_with(q)
                && word_end == end + q.len_utf8()
        });
        if !(quoted || value.len() >= SCRUB_MIN) || start < done {
            continue;
        }
        out.push_str(&text[done..start]);
        out.push_str(said);
        done = word_end;
    }
    out.push_str(&text[done..]);
    out
}

impl fmt::Debug for Substituted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} values from the environment>", self.values.len())
    }
}

impl PartialEq for Substituted {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Secrets shorter than this are not cut from error text: no real credential is that
/// short, and a shorter value would match ordinary words.
pub(crate) const SCRUB_MIN: usize = 6;
/// Any run of this many bytes of a secret (in any form it may be quoted in) is cut.
const WINDOW: usize = 8;

/// `text` without any part of `secrets`: every run of [`WINDOW`] bytes that also occurs
/// in a secret, or in the forms dependencies quote secrets in (JSON-escaped once or twice,
/// `Debug`-escaped, URL-encoded), becomes `<redacted>`; a secret shorter than the window
/// is cut where it occurs whole. `None` when nothing was cut.
///
/// This is the boundary rule for error text: object_store and serde put values into
/// their messages (a service-account key encoded twice is quoted whole, a request URL
/// carries a SAS token), and no error stratus returns may repeat one.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> Option<String> {
    let forms: Vec<String> = secrets
        .iter()
        .filter(|s| s.len() >= SCRUB_MIN)
        .flat_map(|s| quoted_forms(s))
        .collect();
    if forms.is_empty() || text.is_empty() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut hide = vec![false; bytes.len()];
    let mut grams = std::collections::HashSet::new();
    for form in &forms {
        if form.len() < WINDOW {
            for (at, found) in text.match_indices(form.as_str()) {
                hide[at..at + found.len()].fill(true);
            }
        } else {
            grams.extend(form.as_bytes().windows(WINDOW));
        }
    }
    if bytes.len() >= WINDOW {
        for at in 0..=bytes.len() - WINDOW {
            if grams.contains(&bytes[at..at + WINDOW]) {
                hide[at..at + WINDOW].fill(true);
            }
        }
    }
    // Folded: the same runs over the text without its line breaks and spaces (or their
    // escapes: a server folding a long value, a wrapped log line, MIME base64 lines),
    // each cut from its first byte to its last in the text, what lies between included.
    let (folded, origin) = unfolded(bytes);
    if folded.len() < bytes.len() && folded.len() >= WINDOW {
        let forms: Vec<Vec<u8>> = forms.iter().map(|f| unfolded(f.as_bytes()).0).collect();
        let grams: std::collections::HashSet<&[u8]> =
            forms.iter().flat_map(|form| form.windows(WINDOW)).collect();
        for at in 0..=folded.len() - WINDOW {
            if grams.contains(&folded[at..at + WINDOW]) {
                hide[origin[at]..=origin[at + WINDOW - 1]].fill(true);
            }
        }
        // Shorter ones where they occur whole.
        for form in forms
            .iter()
            .filter(|f| (SCRUB_MIN..WINDOW).contains(&f.len()))
        {
            for at in 0..=folded.len() - form.len() {
                if folded[at..at + form.len()] == form[..] {
                    hide[origin[at]..=origin[at + form.len() - 1]].fill(true);
                }
            }
        }
    }
    if !hide.contains(&true) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut hiding = false;
    for (at, ch) in text.char_indices() {
        if hide[at..at + ch.len_utf8()].contains(&true) {
            if !hiding {
                out.push_str("<redacted>");
            }
            hiding = true;
        } else {
            out.push(ch);
            hiding = false;
        }
    }
    Some(out)
}

/// `bytes` without spaces, tabs, form feeds and line breaks, and without their escapes
/// (`\n`, `\r`, `\t`, `\x0a`, `\u{a}`, `\u000a`, as `Debug` and JSON write them, once
/// or twice; `%0A`, `&#10;`, `<br>`; a no-break space, U+2028, a quoted-printable soft
/// break), and where each byte kept was in `bytes`.
fn unfolded(bytes: &[u8]) -> (Vec<u8>, Vec<usize>) {
    const ESCAPES: &[&[u8]] = &[
        b"\\n",
        b"\\r",
        b"\\t",
        b"\\x0a",
        b"\\x0d",
        b"\\x09",
        b"\\x0A",
        b"\\x0D",
        b"\\u{a}",
        b"\\u{d}",
        b"\\u{9}",
        b"\\u000a",
        b"\\u000d",
        b"\\u0009",
        b"\\u000A",
        b"\\u000D",
        // Escaped twice (a JSON string quoting a Debug one).
        b"\\\\n",
        b"\\\\r",
        b"\\\\t",
        b"\\\\u000a",
        b"\\\\u000d",
        // Encoded in a URL or HTML, an HTML line break, a no-break space, U+2028 and
        // U+2029, a quoted-printable soft break.
        b"%0A",
        b"%0a",
        b"%0D",
        b"%0d",
        b"%20",
        b"%09",
        b"&#10;",
        b"&#13;",
        b"&#xA;",
        b"&#xa;",
        b"&#xD;",
        b"&#xd;",
        b"&nbsp;",
        b"<br>",
        b"<br/>",
        b"<br />",
        b"<BR>",
        "\u{a0}".as_bytes(),
        "\u{2028}".as_bytes(),
        "\u{2029}".as_bytes(),
        b"=\r\n",
    ];
    let (mut kept, mut origin) = (
        Vec::with_capacity(bytes.len()),
        Vec::with_capacity(bytes.len()),
    );
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if matches!(rest[0], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
            at += 1;
        } else if let Some(escape) =
            matches!(rest[0], b'\\' | b'%' | b'&' | b'<' | b'=' | 0xc2 | 0xe2)
                .then(|| ESCAPES.iter().find(|e| rest.starts_with(e)))
                .flatten()
        {
            at += escape.len();
        } else {
            kept.push(rest[0]);
            origin.push(at);
            at += 1;
        }
    }
    (kept, origin)
}

/// `err` with any part of `secrets` cut from its sources' text (see [`scrub`]), keeping
/// its kind and path: a `NotFound` stays a `NotFound`.
pub(crate) fn scrub_error(err: object_store::Error, secrets: &[&str]) -> object_store::Error {
    crate::error::map_source(err, |source| {
        match scrub(&crate::error::error_chain(source.as_ref()), secrets) {
            Some(text) => text.into(),
            None => source,
        }
    })
}

/// `secret` as dependencies may quote it.
fn quoted_forms(secret: &str) -> Vec<String> {
    let json = |s: &str| {
        let quoted = serde_json::to_string(s).expect("a string serializes");
        quoted[1..quoted.len() - 1].to_string()
    };
    let debug = format!("{secret:?}");
    let url: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut forms = vec![
        secret.to_string(),
        json(secret),
        json(&json(secret)),
        debug[1..debug.len() - 1].to_string(),
        url,
    ];
    // A SAS token is kept URL-encoded (`sig=...%2B...%3D`); a server or proxy may quote
    // the URL it decoded.
    if let Ok(decoded) = percent_encoding::percent_decode_str(secret).decode_utf8() {
        forms.push(decoded.replace('+', " "));
        forms.push(decoded.into_owned());
    }
    forms.extend(base64_forms(secret));
    // A secret written JSON-escaped (a key file's value: `\n`, `\/`, `\u002b`) as a
    // server that decoded it would quote it.
    if secret.contains('\\') {
        if let Ok(decoded) = serde_json::from_str::<String>(&format!("\"{secret}\"")) {
            forms.push(decoded);
        }
    }
    // An HTML page's (a proxy's or gateway's refusal), a JSON encoder that escapes `/`,
    // and hex (a dump of the bytes sent).
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    forms.push(html);
    forms.push(json(secret).replace('/', "\\/"));
    forms.push(secret.bytes().map(|b| format!("{b:02x}")).collect());
    // A place folds its endpoint to lower case (`endpoint_space`), and hosts and schemes
    // are case-insensitive elsewhere too: a secret in one may come back in either case.
    let cased: Vec<String> = forms
        .iter()
        .flat_map(|f| [f.to_ascii_lowercase(), f.to_ascii_uppercase()])
        .collect();
    forms.extend(cased);
    forms.sort();
    forms.dedup();
    forms
}

/// `secret` inside base64 text, as a proxy quoting `Proxy-Authorization: Basic
/// base64(user:password)` or a server quoting a header it decoded would show it: the
/// characters that depend on the secret's bytes alone, at each of the three alignments
/// it can start at, in the standard and the URL-safe alphabet. Forms shorter than
/// [`SCRUB_MIN`] are left out (they would match ordinary words); shorter than the
/// window, they are cut where they occur whole.
fn base64_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut forms = Vec::new();
    for lead in 0..3usize {
        let mut bytes = vec![0u8; lead];
        bytes.extend_from_slice(secret.as_bytes());
        for engine in [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let text = engine.encode(&bytes);
            // Characters mixing the lead's bits, and the last one (which may mix the
            // padding's), are dropped: 6-bit characters, from bit 8 x lead on.
            let first = (8 * lead).div_ceil(6);
            let form = text.get(first..text.len().saturating_sub(1)).unwrap_or("");
            if form.len() >= SCRUB_MIN {
                forms.push(form.to_string());
            }
        }
    }
    forms
}

/// `error` with any part of `secrets` cut from the text it carries from outside (see
/// [`scrub`]), its variant and fields kept. Every variant is named, so one added later
/// must say whether it carries a server's words.
pub(crate) fn scrub_crate_error(error: crate::Error, secrets: &[&str]) -> crate::Error {
    use crate::Error as E;
    let text = |message: String| scrub(&message, secrets).unwrap_or(message);
    let store = |source: Box<object_store::Error>| Box::new(scrub_error(*source, secrets));
    match error {
        E::Build {
            origin,
            store: name,
            provider,
            source,
        } => E::Build {
            origin,
            store: name,
            provider,
            source: store(source),
        },
        E::Listing {
            store: name,
            prefix,
            source,
        } => E::Listing {
            store: name,
            prefix,
            source: store(source),
        },
        E::Store {
            store: name,
            source,
        } => E::Store {
            store: name,
            source: store(source),
        },
        E::ReadReport { path, message } => E::ReadReport {
            path,
            message: text(message),
        },
        E::InventoryReport {
            store,
            key,
            message,
        } => E::InventoryReport {
            store,
            key,
            message: text(message),
        },
        E::Checkpoint { path, message } => E::Checkpoint {
            path,
            message: text(message),
        },
        E::InvalidKey {
            what,
            text: quoted,
            message,
        } => E::InvalidKey {
            what,
            text: text(quoted),
            message: text(message),
        },
        E::Composition { composite, message } => E::Composition {
            composite,
            message: text(message),
        },
        E::Terminal(message) => E::Terminal(text(message)),
        // Made by stratus from its own values (a config already cut of its secrets,
        // counts, a local file's I/O error, placement and merge rules): nothing a server
        // said.
        other @ (E::Config(_)
        | E::ReadConfig { .. }
        | E::DeleteLimit { .. }
        | E::Placement(_)
        | E::Merge(_)) => other,
    }
}

/// Whether a configuration key holds a secret: the dedicated secret keys of every
/// provider and object_store option names that say secret, token, password, SAS or
/// private, or end in `key` (but not a key *id*).
pub(crate) fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["secret", "token", "password", "sas", "private"]
        .iter()
        .any(|word| key.contains(word))
        || (key.contains("key") && !key.ends_with("_id") && !key.ends_with("keyid"))
}

/// The parts of a secret value that are secret, for [`scrub`]: a whole credential
/// document would cut its public parts from every error too (a service-account key's
/// `https://oauth2.googleapis.com/token`, a SAS token's `sv=2022-11-02` date).
///
/// - A Google service-account key (`"type": "service_account"`): its `private_key` and
///   `private_key_id`; an `authorized_user` file: its `client_secret` and
///   `refresh_token`. Each as written in the document (JSON-escaped; [`scrub`] cuts the
///   unescaped forms too), found by a JSON parser and checked against the parsed value.
/// - An Azure SAS token (a query string of SAS parameters only, `?` first or not): its
///   `sig`.
/// - Anything else, or a document where a part cannot be found as written: the whole
///   value. Never less than the secret: what is not recognised stays whole.
pub(crate) fn secret_parts(value: &str) -> Vec<&str> {
    key_document_parts(value)
        .or_else(|| sas_signature(value).map(|sig| vec![sig]))
        .unwrap_or_else(|| vec![value])
}

/// [`secret_parts`] of a Google credentials document; `None` when `value` is not one:
/// an object whose `type` (given once) is `service_account` or `authorized_user`, whose
/// members are all ones that type's file has, with string values (or `disable_oauth`,
/// object_store's, a boolean).
fn key_document_parts(value: &str) -> Option<Vec<&str>> {
    const SERVICE_ACCOUNT: &[&str] = &[
        "type",
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
        "auth_uri",
        "token_uri",
        "auth_provider_x509_cert_url",
        "client_x509_cert_url",
        "universe_domain",
        "gcs_base_url",
        "disable_oauth",
    ];
    const AUTHORIZED_USER: &[&str] = &[
        "type",
        "client_id",
        "client_secret",
        "refresh_token",
        "quota_project_id",
        "universe_domain",
        "account",
    ];
    let doc: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(value.trim()).ok()?;
    // `type` once as written (a parser keeps the last of two).
    raw_string_value(value, "type")?;
    let (members, secret): (&[&str], &[&str]) = match doc.get("type")?.as_str()? {
        "service_account" => (SERVICE_ACCOUNT, &["private_key", "private_key_id"]),
        "authorized_user" => (AUTHORIZED_USER, &["client_secret", "refresh_token"]),
        _ => return None,
    };
    let plain = doc.iter().all(|(name, v)| {
        members.contains(&name.as_str())
            && (v.is_string() || (name == "disable_oauth" && v.is_boolean()))
    });
    if !plain {
        return None;
    }
    let mut parts = Vec::new();
    for field in secret {
        let Some(serde_json::Value::String(parsed)) = doc.get(*field) else {
            continue;
        };
        let raw = raw_string_value(value, field)?;
        // As written, it must decode to what the parser read (else: whole).
        let decoded: String = serde_json::from_str(&format!("\"{raw}\"")).ok()?;
        if decoded != *parsed {
            return None;
        }
        // A PEM key's armour (`-----BEGIN PRIVATE KEY-----`) is every key's: its body is
        // the secret.
        let raw = match *field {
            "private_key" => pem_body(raw)?,
            _ => raw,
        };
        if !raw.is_empty() {
            parts.push(raw);
        }
    }
    // Every member is one the type's file has, none nested: a secret member absent or
    // empty means the file holds no secret.
    Some(parts)
}

/// The body of the PEM text `raw` (JSON-escaped: its line breaks are `\n`), between its
/// `-----BEGIN ...-----` and `-----END ...-----` lines (or its end); `raw` itself when
/// it has no armour, `None` when its first line does not end.
fn pem_body(raw: &str) -> Option<&str> {
    let Some(rest) = raw.trim_start().strip_prefix("-----BEGIN ") else {
        return Some(raw);
    };
    let start = rest.find("-----")? + "-----".len();
    let body = &rest[start..];
    let end = body.find("-----END ").unwrap_or(body.len());
    let body = body[..end].trim_matches(|c: char| c.is_ascii_whitespace());
    let body = body.strip_prefix("\\n").unwrap_or(body);
    let body = body.strip_suffix("\\n").unwrap_or(body);
    Some(body)
}

/// The text between the quotes of the string value of the only member `field` of the
/// JSON object `doc` (as written: escapes kept); `None` when `"field"` occurs as
/// anything else too, or more than once.
fn raw_string_value<'a>(doc: &'a str, field: &str) -> Option<&'a str> {
    let name = format!("\"{field}\"");
    let mut found = doc.match_indices(&name);
    let (at, _) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let rest = doc[at + name.len()..].trim_start().strip_prefix(':')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

/// The `sig` of `value` when it is an Azure SAS token: `name=value` pairs joined by
/// `&`, every name a SAS parameter, one `sig`.
fn sas_signature(value: &str) -> Option<&str> {
    const PARAMETERS: &[&str] = &[
        "sv", "ss", "srt", "sp", "se", "st", "spr", "sip", "sr", "si", "sdd", "ses", "skoid",
        "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid", "rscc", "rscd", "rsce",
        "rscl", "rsct",
    ];
    let query = value.trim().strip_prefix('?').unwrap_or(value.trim());
    let mut sig = None;
    for pair in query.split('&') {
        let (name, v) = pair.split_once('=')?;
        match name {
            "sig" if sig.is_none() && !v.is_empty() => sig = Some(v),
            _ if PARAMETERS.contains(&name) => {}
            _ => return None,
        }
    }
    sig
}

/// The values under secret keys anywhere in a store's table (inline members included),
/// as text: what its parse errors must not repeat.
pub(crate) fn secret_values(value: &serde_json::Value) -> Vec<String> {
    fn leaves(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Number(n) => out.push(n.to_string()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
            serde_json::Value::Bool(_) | serde_json::Value::Null => {}
        }
    }
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    if is_secret_key(key) {
                        leaves(value, out);
                    } else {
                        walk(value, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_of_a_secret_in_every_quoted_form_is_cut() {
        let key = r#"{"private_key":"-----BEGIN KEY-----\nMIIEvQIBADAN","client_email":"x@y"}"#;
        let twice = serde_json::to_string(key).unwrap();
        let message = format!("invalid type: string {twice}, expected struct ServiceAccountKey");
        let cut = scrub(&message, &[key]).unwrap();
        assert!(cut.starts_with("invalid type: string "), "{cut}");
        assert!(cut.ends_with("expected struct ServiceAccountKey"), "{cut}");
        for part in key.as_bytes().windows(WINDOW) {
            let part = std::str::from_utf8(part).unwrap();
            assert!(!cut.contains(part), "{part:?} in {cut}");
        }
        // URL-encoded, inside a request URL.
        let sas = "sv=2024&sig=abc%2Fdef+ghi==";
        let encoded: String = url::form_urlencoded::byte_serialize(sas.as_bytes()).collect();
        let cut = scrub(&format!("GET http://h/c/k?{encoded} failed"), &[sas]).unwrap();
        assert_eq!(cut, "GET http://h/c/k?<redacted> failed");
        // Short secrets are cut whole; nothing to cut is None; UTF-8 stays whole.
        assert_eq!(scrub("a 123456 b", &["123456"]).unwrap(), "a <redacted> b");
        assert_eq!(scrub("nothing here", &["a-long-secret"]), None);
        assert_eq!(
            scrub("é-secret-ü-tail", &["é-secret-ü"]).unwrap(),
            "<redacted>-tail"
        );
        assert_eq!(scrub("retry", &["y"]), None, "too short to tell from text");
    }

    #[test]
    fn a_secret_folded_by_line_breaks_or_spaces_is_cut() {
        const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for fold in [
            "\n", "\n ", "\r\n\t", " ", "\\n", "\\x0a ", "\\u{a}", "\\u000a",
        ] {
            for width in [3, 5, 7] {
                let folded = SECRET
                    .as_bytes()
                    .chunks(width)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(fold);
                let text = format!("the key was {folded} (folded)");
                let cut = scrub(&text, &[SECRET]).unwrap_or(text.clone());
                assert_eq!(cut, "the key was <redacted> (folded)", "{text:?}");
            }
        }
        // Words that hold no run of it are kept, spaces and line breaks too.
        let text = "An error:\n  the request\\nwas refused (AccessDenied), key wJal.";
        assert_eq!(scrub(text, &[SECRET]), None);
    }

    #[test]
    fn a_key_document_or_sas_token_is_secret_in_its_secret_parts_only() {
        let pem = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n";
        let key = format!(
            r#"{{"type": "service_account", "project_id": "p", "private_key_id": "0123456789abcdef",
               "private_key": "{pem}", "client_email": "svc@p.iam.gserviceaccount.com",
               "token_uri": "https://oauth2.googleapis.com/token"}}"#
        );
        // The PEM armour is every key's: its body is the secret.
        assert_eq!(
            secret_parts(&key),
            ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "0123456789abcdef"]
        );
        let text = "svc@p.iam.gserviceaccount.com at https://oauth2.googleapis.com/token quoted \
                    -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n";
        let cut = scrub(text, &secret_parts(&key)).unwrap();
        assert!(!cut.contains("MIIEvQIBADANBgkq"), "{cut}");
        assert!(
            cut.starts_with("svc@p.iam.gserviceaccount.com at https://oauth2.googleapis.com/token"),
            "{cut}"
        );
        let user = r#"{"type":"authorized_user","client_id":"c.apps.googleusercontent.com","client_secret":"d-FL95Q19q7MQmFpd7hHD0Ty","refresh_token":"1//0gdFakeRefreshTokenxyz"}"#;
        assert_eq!(
            secret_parts(user),
            ["d-FL95Q19q7MQmFpd7hHD0Ty", "1//0gdFakeRefreshTokenxyz"]
        );
        let sas = "sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2026-12-31T00:00:00Z&spr=https&sig=AbC%2Bdef%2FghI%3D";
        assert_eq!(secret_parts(sas), ["AbC%2Bdef%2FghI%3D"]);
        assert_eq!(secret_parts(&format!("?{sas}")), ["AbC%2Bdef%2FghI%3D"]);
        // Not recognised, so whole: another document type, a field twice or written
        // otherwise than it parses, a name that is no SAS parameter (a connection string),
        // a SAS without a signature, any other value.
        for whole in [
            r#"{"type": "external_account", "private_key": "p-p-p-p-p-p"}"#.to_string(),
            r#"{"type": "service_account", "private_key": "a", "x": {"private_key": "b"}}"#
                .to_string(),
            r#"{"type": "service_account", "private_key": 7}"#.to_string(),
            format!("AccountName=a;AccountKey=k1==;SharedAccessSignature={sas}"),
            format!("{sas}&AccountKey=k1"),
            "sv=2022-11-02&sp=rl".to_string(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string(),
            "{not json".to_string(),
        ] {
            assert_eq!(secret_parts(&whole), [whole.as_str()], "{whole}");
        }
    }

    #[test]
    fn a_secret_decoded_or_in_base64_is_cut() {
        use base64::Engine as _;
        // A SAS signature kept URL-encoded, quoted decoded.
        let sas = "sv=2024&sig=Zm9vYmFy%2Bc2VjcmV0%2Fc2ln%3D";
        let cut = scrub("bad sig=Zm9vYmFy+c2VjcmV0/c2ln= here", &[sas]).unwrap();
        assert!(
            !cut.contains("c2VjcmV0") && !cut.contains("Zm9vYmFy"),
            "{cut}"
        );
        // A password inside `user:password` in base64 (a proxy quoting its
        // Proxy-Authorization), whatever the user's length, in either alphabet.
        let password = "pa55w0rd-that-is-long~enough?";
        for user in ["", "u", "us", "use", "user"] {
            for engine in [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE,
            ] {
                let basic = engine.encode(format!("{user}:{password}"));
                let message = format!("407 Proxy-Authorization: Basic {basic} refused");
                let cut = scrub(&message, &[password]).unwrap();
                // What is left of the base64 text is at most the characters that mix
                // the user's bytes and the end: too little to rebuild the password.
                let left = cut
                    .trim_start_matches("407 Proxy-Authorization: Basic ")
                    .trim_end_matches(" refused");
                let kept: usize = left.split("<redacted>").map(str::len).sum();
                assert!(kept <= (user.len() + 1) * 4 / 3 + 4, "{user:?}: {cut}");
            }
        }
        // A six-byte secret (the shortest cut) in Basic credentials, at every alignment.
        for user in ["AKIDEXAMPLE", "AKIDEXAMPL", "AKIDEXAMP"] {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:hunt3r"));
            let cut = scrub(&format!("Basic {basic}"), &["hunt3r"]).unwrap();
            assert!(!cut.contains(&basic[basic.len() - 6..]), "{user}: {cut}");
        }
        // HTML-escaped, JSON with `\/`, hex.
        let odd = "p&ssw0rd<9\"x&y<z/slash";
        for quoted in [
            "p&amp;ssw0rd&lt;9&quot;x&amp;y&lt;z/slash".to_string(),
            "p&ssw0rd<9\\\"x&y<z\\/slash".to_string(),
            odd.bytes().map(|b| format!("{b:02X}")).collect(),
        ] {
            let cut = scrub(&format!("refused: {quoted}."), &[odd]).unwrap();
            assert_eq!(cut, "refused: <redacted>.", "{quoted}");
        }
        // Every variant carrying outside text is cut; its kind and fields stay.
        let e = crate::Error::InventoryReport {
            store: "s".into(),
            key: "k".into(),
            message: format!("server said {password}"),
        };
        let e = scrub_crate_error(e, &[password]);
        assert!(matches!(e, crate::Error::InventoryReport { .. }));
        assert_eq!(
            e.to_string(),
            "store `s`: inventory report `k`: server said <redacted>"
        );
    }

    #[test]
    fn secret_keys_are_recognised_and_key_ids_are_not() {
        for key in [
            "secret_access_key",
            "session_token",
            "service_account_key",
            "access_key",
            "sas_token",
            "bearer_token",
            "aws_secret_access_key",
            "azure_storage_account_key",
            "google_service_account_key",
            "client_secret",
            "password",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "access_key_id",
            "aws_access_key_id",
            "bucket",
            "prefix",
            "endpoint",
            "skip_signature",
            "application_credentials",
            "region",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }
}

#[cfg(test)]
mod review7 {
    //! Review 7: adversarial unit tests of `secret_parts` (b4ae758) and the folded pass
    //! of `scrub` (8d544fc). FINDING tests failed while the defect stood (all fixed); HELD UP pass.
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const PEM: &str = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n-----END PRIVATE KEY-----\\n";
    const KEY_ID: &str = "7d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a";

    fn key_file() -> String {
        format!(
            r#"{{"type": "service_account", "project_id": "p", "private_key_id": "{KEY_ID}", "private_key": "{PEM}", "client_email": "svc@p.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"}}"#
        )
    }

    fn folded(secret: &str, width: usize, fold: &str) -> String {
        let chars: Vec<char> = secret.chars().collect();
        chars
            .chunks(width)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(fold)
    }

    /// FIXED after the review.
    /// FINDING (secret leak, fail-open). A document recognised as a service-account
    /// key but holding no top-level `private_key` gives no secret part at all
    /// (`key_document_parts` returns `Some(vec![])`): a private key one level down,
    /// or an `authorized_user` file with a second `"type"` member (serde_json keeps the
    /// last), is no longer cut anywhere. The doc promises "never less than the secret:
    /// what is not recognised stays whole".
    #[test]
    fn a_key_document_without_its_fields_at_the_top_stays_whole() {
        let nested = r#"{"type":"service_account","credentials":{"private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"}}"#;
        let twice = r#"{"type":"authorized_user","client_secret":"d-FL95Q19q7MQmFpd7hHD0Ty","refresh_token":"1//0gdFakeRefreshTokenxyz","type":"service_account"}"#;
        for (doc, said) in [
            (nested, "key MIIEvQIBADANBgkqhkiG9w0BAQEFAASC rejected"),
            (twice, "token 1//0gdFakeRefreshTokenxyz rejected"),
        ] {
            let parts = secret_parts(doc);
            let shown = scrub(said, &parts).unwrap_or(said.to_string());
            assert!(
                !shown.contains("BAQEFAAS") && !shown.contains("FakeRefresh"),
                "parts {parts:?}: {shown}"
            );
        }
    }

    /// FIXED after the review.
    /// FINDING (ordinary text destroyed). The PEM armour inside `private_key`
    /// (`-----BEGIN PRIVATE KEY-----`) is public boilerplate of every key, yet it is
    /// part of the secret part, so "private key" (any case folding, with or without a
    /// space, the folded pass reaching into the word before: "and private" ->
    /// "a<redacted>") and "-----BEGIN " are cut from every error of the store.
    #[test]
    fn pem_armour_words_are_kept_in_errors() {
        let key = key_file();
        let parts = secret_parts(&key);
        for text in [
            "the private key of svc@p.iam.gserviceaccount.com was disabled",
            "public and private keys",
            "ca_file: expected -----BEGIN CERTIFICATE-----",
        ] {
            assert_eq!(scrub(text, &parts), None, "{text}");
        }
    }

    /// FIXED after the review.
    /// FINDING (secret leak). The folded pass drops `\n` but a fold escaped twice
    /// (`\\n`: JSON-escaped twice, or `Debug` of an already `Debug`-escaped text, both
    /// forms `quoted_forms` promises for the secret itself) leaves a `\` every few
    /// characters, so no run of 8 matches and the secret is shown whole.
    #[test]
    fn a_folded_secret_escaped_twice_is_cut() {
        let text = format!("the key was {} (folded)", folded(SECRET, 5, "\\\\n"));
        let shown = scrub(&text, &[SECRET]).unwrap_or(text.clone());
        assert_eq!(shown, "the key was <redacted> (folded)", "{text}");
    }

    /// FIXED after the review.
    /// FINDING (secret leak, minor). A secret of 6 or 7 bytes is cut where it occurs
    /// whole, but the folded pass only knows runs of 8: `hunt\n3r1` keeps it.
    #[test]
    fn a_short_secret_folded_is_cut() {
        for text in ["code hunt\n3r1 x", "code hun t3r x"] {
            let secret = if text.contains("3r1") {
                "hunt3r1"
            } else {
                "hunt3r"
            };
            assert!(scrub(text, &[secret]).is_some(), "{text}");
        }
    }

    /// Reported as a gap, since fixed: other folds (`%0A`, `&#10;`, `<br>`, NBSP, form
    /// feed, U+2028, quoted-printable `=\r\n`) are dropped too, and the words around
    /// them kept.
    #[test]
    fn other_folds_are_recognised() {
        for fold in [
            "%0A", "%0a", "%20", "&#10;", "&#xA;", "<br>", "<br/>", "\u{a0}", "\x0c", "\u{2028}",
            "=\r\n",
        ] {
            let text = format!("k {} end", folded(SECRET, 5, fold));
            assert_eq!(
                scrub(&text, &[SECRET]).as_deref(),
                Some("k <redacted> end"),
                "{fold:?}"
            );
        }
    }

    /// HELD UP. Documents written otherwise than searched for (escaped member names,
    /// duplicate members, a BOM, a value that is no string) stay whole; a SAS with
    /// `sig` twice, encoded names, or extra names stays whole; a SAS decoded or encoded
    /// gives its `sig`.
    #[test]
    fn odd_documents_and_sas_tokens_stay_whole() {
        for whole in [
            r#"{"type":"service_account","private\u005fkey":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN"}"#.to_string(),
            r#"{"type":"service_account","private_key":"AAAAAAAAAA","private_key":"BBBBBBBBBB"}"#.to_string(),
            r#"{"type":"service_account","a\"private_key":"decoy-decoy","private\u005fkey":"real-real-real"}"#.to_string(),
            format!("\u{feff}{}", key_file()),
            r#"{"type":"service_account","private_key":null}"#.to_string(),
            "sv=2022-11-02&sig=AAAAAAAAAA&sig=BBBBBBBBBB".to_string(),
            "sv=2022-11-02&%73ig=AAAAAAAAAA".to_string(),
            "sv=2022-11-02&sig=AAAAAAAAAA&".to_string(),
            "https://a.blob.core.windows.net/c?sv=2022-11-02&sig=AAAAAAAAAA".to_string(),
        ] {
            assert_eq!(secret_parts(&whole), [whole.as_str()], "{whole}");
        }
        assert_eq!(secret_parts("?sv=1&sig=Ab+c/d=="), ["Ab+c/d=="]);
        let parts = secret_parts(" sv=1&sig=Ab%2Bc%2Fd%3D%3D ");
        assert_eq!(parts, ["Ab%2Bc%2Fd%3D%3D"]);
        let cut = scrub("sig=Ab+c/d== here", &parts).unwrap();
        assert!(!cut.contains("Ab+c/d"), "{cut}");
    }

    /// HELD UP. The decoded key body (real line breaks, one line, rewrapped at 76
    /// with CRLF, Debug-escaped) is cut; the client e-mail and token URI are kept.
    #[test]
    fn a_key_body_echoed_decoded_or_rewrapped_is_cut() {
        let key = key_file();
        let parts = secret_parts(&key);
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
        // The PEM's body, without the armour every key has.
        assert!(PEM.contains(body));
        assert_eq!(parts, [body, KEY_ID]);
        for said in [
            body.to_string(),
            folded(body, 20, "\r\n"),
            folded(body, 7, "\\n"),
            folded(body, 3, " "),
        ] {
            let text = format!(
                "svc@p.iam.gserviceaccount.com https://oauth2.googleapis.com/token: {said} end"
            );
            let cut = scrub(&text, &parts).unwrap();
            assert_eq!(
                cut,
                "svc@p.iam.gserviceaccount.com https://oauth2.googleapis.com/token: <redacted> end"
            );
        }
    }

    /// HELD UP. No panic and whole characters around cuts: multi-byte characters as
    /// folds' neighbours, a match ending at the last byte, a secret with spaces and
    /// backslashes, text of only escapes.
    #[test]
    fn utf8_and_text_end_hold() {
        let secret = "é-s€cr€t-ü ünd\\ mehr";
        for text in [
            format!("x {}", folded(secret, 3, "\n")),
            format!("{}é", folded(secret, 2, " ")),
            "\\n\\n\\n\\u{a}\\x0a \\".repeat(50),
            format!("€{}", &folded(secret, 1, "\\t")),
        ] {
            if let Some(cut) = scrub(&text, &[secret]) {
                assert!(!cut.contains("cr€t"), "{cut}");
            }
        }
        assert_eq!(
            scrub("ab wJalrXUtnFEM", &[SECRET]).unwrap(),
            "ab <redacted>"
        );
        assert_eq!(
            scrub("ab wJalrX\nUtnFEM", &[SECRET]).unwrap(),
            "ab <redacted>"
        );
    }

    /// HELD UP. 1 MiB of spaces, backslashes, escapes or matching runs: linear (each
    /// under a few seconds in a debug build, about twice the pass without folds).
    #[test]
    fn a_mib_of_folds_scrubs_in_linear_time() {
        let n = 1 << 20;
        let base = {
            let text = "a".repeat(n);
            let t = std::time::Instant::now();
            scrub(&text, &[SECRET]);
            t.elapsed()
        };
        for unit in [
            "\\",
            " ",
            "\\\\n",
            "\\u000",
            "wJalrXUt ",
            "w J a l r X U t n F E M I ",
        ] {
            let text = unit.repeat(n / unit.len());
            let t = std::time::Instant::now();
            scrub(&text, &[SECRET]);
            let took = t.elapsed();
            assert!(
                took < base * 8 + std::time::Duration::from_secs(2),
                "{unit:?}: {took:?} vs {base:?}"
            );
        }
    }
    /// FIXED after the review.
    /// FINDING (secret leak; the doc of `key_document_parts` says "[`scrub`] cuts the
    /// unescaped forms too"). Only the as-written text is a part, and no form JSON-decodes
    /// it: a key written by an encoder that escapes `/` (PHP's `\/`) or with `\uXXXX`
    /// escapes, echoed decoded, keeps every run that spans an escape. Dense here to show
    /// it; at a real key's density only characters next to each `/` are left.
    #[test]
    fn a_key_written_with_escaped_slashes_is_cut_when_echoed_decoded() {
        let doc = r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIE\/vQI\/BADA\/NBgk\/qhki\/G9w0\/BAQE\/FAAS\n","private_key_id":"7d1e2f3a4b5c6d7e8f90"}"#;
        let parts = secret_parts(doc);
        let text = "echo MIIE/vQI/BADA/NBgk/qhki/G9w0/BAQE/FAAS end";
        assert!(scrub(text, &parts).is_some(), "{parts:?}");
    }
}
