//! Random and mutated configuration files and URLs (property tests): loading and opening
//! never panic, never take long, and no error quotes any part of a secret planted in
//! the input.
//!
//! Inputs are built from the real keys of every provider (so that parsing goes deep)
//! mixed with garbage, then mutated (bytes flipped, lines dropped or repeated, cut
//! short). Every secret-named key gets a value containing a unique marker; a failing
//! case prints the input that proptest shrank it to.

use proptest::prelude::*;
use std::time::{Duration, Instant};
use stratus::Config;

/// The secret planted in every secret-named key: long enough that any 8 bytes of it
/// identify it.
const SECRET: &str = "Pl4nted+Secret/Value=XYZZY-0123456789";
/// The same, as a number (serde quotes integers in "invalid type" errors).
const SECRET_NUMBER: &str = "31415926535897932";

const PROVIDERS: &[&str] = &[
    "s3",
    "gcs",
    "azure",
    "local",
    "memory",
    "sharded",
    "replicated",
    "nope",
    "",
];
const KEYS: &[&str] = &[
    "bucket",
    "prefix",
    "region",
    "endpoint",
    "allow_http",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "virtual_hosted_style",
    "skip_signature",
    "service_account",
    "service_account_key",
    "application_credentials",
    "container",
    "account",
    "access_key",
    "sas_token",
    "bearer_token",
    "use_emulator",
    "root",
    "members",
    "previous",
    "slot_bits",
    "write",
    "read",
    "list",
    "weight",
    "name",
    "store",
    "retry",
    "options",
    "bogus",
];
const SECRET_KEYS: &[&str] = &[
    "secret_access_key",
    "session_token",
    "service_account_key",
    "access_key",
    "sas_token",
    "bearer_token",
];

/// A TOML value for `key`: the planted secret (in several shapes) under secret keys,
/// otherwise something plausible or not.
fn value(key: &'static str) -> BoxedStrategy<String> {
    let quoted = |s: String| toml::Value::String(s).to_string();
    if SECRET_KEYS.contains(&key) {
        return prop_oneof![
            Just(quoted(SECRET.to_string())),
            Just(quoted(serde_json::to_string(SECRET).unwrap())),
            Just(quoted(format!("{{\"private_key\": \"{SECRET}\"}}"))),
            Just(quoted(
                serde_json::to_string(&format!("{{\"private_key\": \"{SECRET}\"}}")).unwrap()
            )),
            Just(format!("[\"{SECRET}\"]")),
            Just(format!("{{ nested = \"{SECRET}\" }}")),
            Just(SECRET_NUMBER.to_string()),
        ]
        .boxed();
    }
    prop_oneof![
        "[a-z0-9._/-]{0,12}".prop_map(quoted),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("\"http://127.0.0.1:9\"".to_string()),
        Just("[\"a\", \"b\", { store = \"a\", weight = -1 }]".to_string()),
        Just("{ quorum = 0 }".to_string()),
        Just("{ max_retries = 1, backoff_base = 1, init_backoff = \"0s\" }".to_string()),
        Just(format!(
            "{{ aws_secret_access_key = \"{SECRET}\", bogus_token = \"{SECRET}\" }}"
        )),
        Just(format!(
            "[{{ name = \"in\", store = {{ provider = \"s3\", bucket = \"b\", \
             secret_access_key = \"{SECRET}\", bogus = 1 }} }}]"
        )),
        Just("\"${UNSET_STRATUS_VARIABLE}\"".to_string()),
    ]
    .boxed()
}

/// One store table.
fn store() -> impl Strategy<Value = String> {
    let entry = prop::sample::select(KEYS)
        .prop_flat_map(|key| value(key).prop_map(move |v| format!("{key} = {v}\n")));
    // Each store starts valid for its provider, so that random keys reach deep checks
    // (building, object_store's own parsers) instead of stopping at a missing bucket.
    // (A key given twice is a TOML error: also worth feeding.)
    let base = |provider: &str| match provider {
        "s3" => "bucket = \"b\"\nregion = \"us-east-1\"\n",
        "gcs" => "bucket = \"b\"\n",
        "azure" => "container = \"c\"\naccount = \"a\"\n",
        "local" => "root = \"/\"\n",
        "sharded" | "replicated" => "members = [\"s0\"]\n",
        _ => "",
    };
    (
        prop::sample::select(PROVIDERS),
        prop::collection::vec(entry, 0..6),
    )
        .prop_map(move |(provider, entries)| {
            format!(
                "provider = \"{provider}\"\n{}{}",
                base(provider),
                entries.concat()
            )
        })
}

/// A whole file: a few stores (names that other stores' members may use) and maybe a
/// default.
fn file() -> impl Strategy<Value = String> {
    (prop::collection::vec(store(), 1..5), any::<bool>()).prop_map(|(stores, default)| {
        let mut text = if default {
            "default = \"s0\"\n".to_string()
        } else {
            String::new()
        };
        for (i, store) in stores.iter().enumerate() {
            text.push_str(&format!("[stores.s{i}]\n{store}"));
        }
        text
    })
}

/// `text` with a few bytes flipped, lines dropped or repeated, or cut short.
fn mutated(text: String) -> impl Strategy<Value = String> {
    let len = text.len().max(1);
    (
        prop::collection::vec((0..len, any::<u8>()), 0..4),
        0..4u8,
        0..len,
    )
        .prop_map(move |(flips, how, at)| {
            let mut bytes = text.clone().into_bytes();
            for (i, b) in flips {
                if i < bytes.len() {
                    bytes[i] = b;
                }
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let lines: Vec<&str> = text.lines().collect();
            match how {
                0 => text.chars().take(at).collect(),
                1 if !lines.is_empty() => {
                    let mut l = lines.clone();
                    l.remove(at % lines.len());
                    l.join("\n")
                }
                2 if !lines.is_empty() => {
                    let mut l = lines.clone();
                    l.insert(at % lines.len(), lines[at % lines.len()]);
                    l.join("\n")
                }
                _ => text,
            }
        })
}

fn assert_no_secret(text: &str, input: &str) {
    for part in SECRET
        .as_bytes()
        .windows(8)
        .chain(SECRET_NUMBER.as_bytes().windows(8))
    {
        let part = std::str::from_utf8(part).unwrap();
        assert!(
            !text.contains(part),
            "{part:?} of the secret in {text:?}\ninput:\n{input}"
        );
    }
}

/// Load `text` (and open every store when it loads): no panic, a bounded time, no secret
/// in any error. Local stores never create folders (`create_root` is removed).
fn check(text: &str) {
    let text: String = text
        .lines()
        .filter(|l| !l.contains("create_root"))
        .collect::<Vec<_>>()
        .join("\n");
    let start = Instant::now();
    match Config::from_toml(&text, "fuzz.toml", "/nonexistent-stratus-fuzz") {
        Err(err) => assert_no_secret(&format!("{err}\n{err:?}\n{}", err.brief()), &text),
        Ok(config) => {
            assert_no_secret(&format!("{config:?}"), &text);
            for name in config.names().map(str::to_owned).collect::<Vec<_>>() {
                match config.open(&name) {
                    Err(err) => assert_no_secret(&format!("{err}\n{err:?}"), &text),
                    Ok(store) => assert_no_secret(&format!("{store:?}\n{store}"), &text),
                }
            }
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "slow input:\n{text}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_config_files(text in file()) {
        check(&text);
    }

    #[test]
    fn mutated_config_files(text in file().prop_flat_map(mutated)) {
        check(&text);
    }

    #[test]
    fn random_urls(
        scheme in prop::sample::select(&["s3", "gs", "az", "file", "memory", "http", "s3a", "abfs"][..]),
        host in "[a-z0-9.-]{0,10}",
        path in "[a-zA-Z0-9/%._-]{0,16}",
        pairs in prop::collection::vec(
            (prop::sample::select(KEYS), "[a-z0-9%+=&]{0,8}", any::<bool>()),
            0..5,
        ),
    ) {
        // The secret goes under secret keys (a value under another key, such as
        // `allow_http=maybe`, is quoted to explain why it is wrong).
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v, plant)| {
                let v = if *plant && SECRET_KEYS.contains(k) { SECRET } else { v.as_str() };
                let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                format!("{k}={v}")
            })
            .collect();
        let url = format!("{scheme}://{host}/{path}?{}", query.join("&"));
        let start = Instant::now();
        match stratus::open(&url) {
            Err(err) => assert_no_secret(&format!("{err}\n{err:?}\n{}", err.brief()), &url),
            Ok(store) => assert_no_secret(&format!("{store:?}"), &url),
        }
        prop_assert!(start.elapsed() < Duration::from_secs(5));
    }
}
