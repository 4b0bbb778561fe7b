//! Hostile input (issue 24, items 4 to 8): what reaches a terminal, limits, secrets,
//! signing and files that are not files. Each test failed on the code before the fix.
//!
//! - keys with escape sequences, `\r`, C1 controls and bidi overrides are printed escaped
//!   by the inventory example (stdout and stderr), the table, the diff table and errors;
//!   JSON keeps them exact; a local file whose name holds ESC is inventoried;
//! - a rate limit anywhere in its accepted range opens without a panic; one outside it is
//!   refused on load naming the file, the key and the range;
//! - a signer's `Debug` shows no credential; `${ENV}` values are never echoed in errors;
//! - signing refuses an expiry outside what the provider accepts, before object_store
//!   sees it (which panicked on some);
//! - a config, checkpoint or report path that is a FIFO or `/dev/zero` is refused, not
//!   read forever.

mod common;

use object_store::path::Path;
use object_store::ObjectStoreExt;
use proptest::prelude::*;
use std::time::Duration;
use stratus::object_store::signer::Method;
use stratus::Config;

fn load(text: &str) -> stratus::Result<Config> {
    Config::from_toml(text, "stores.toml", "/tmp")
}

/// The characters a terminal acts on: C0, DEL, C1 and the bidi controls.
fn is_control(c: char) -> bool {
    matches!(c as u32, 0..=0x1f | 0x7f..=0x9f | 0x61c | 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069)
}

/// `text` holds no control but line breaks.
fn assert_clean(what: &str, text: &str) {
    let found: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && is_control(c))
        .collect();
    assert!(
        found.is_empty(),
        "{what}: raw controls {found:?} in {text:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Nothing raw on a terminal.

/// The hostile names of the issue: a window title, a screen clear, a carriage return, a
/// C1 CSI and a right-to-left override.
const HOSTILE: [&str; 5] = [
    "a\x1b]0;pwned\x07b",
    "c\x1b[2Jd",
    "e\rf",
    "g\u{9b}2Jh",
    "invoice\u{202e}fdp.exe",
];

#[test]
fn the_inventory_example_prints_hostile_local_names_escaped_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub\x1b[1m")).unwrap();
    for name in HOSTILE {
        std::fs::write(dir.path().join(name), "x").unwrap();
        std::fs::write(dir.path().join("sub\x1b[1m").join(name), "yy").unwrap();
    }
    let url = format!("file://{}", dir.path().display());
    let inventory = common::stratus();
    let out = std::process::Command::new(&inventory)
        .args([
            "inventory",
            url.as_str(),
            "--depth",
            "2",
            "--top",
            "20",
            "-v",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_clean("stdout", &stdout);
    assert_clean("stderr", &stderr);
    assert!(out.status.success(), "{stderr}");
    // Every file counted: the two names a key can hold as objects, the three with
    // ASCII controls and the five below the folder whose name holds ESC apart, as files
    // the store does not list (never as a made-up key that would name another file).
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["objects", "2"])),
        "{stdout}"
    );
    assert!(stdout.contains("g\\u{9b}2Jh"), "{stdout}");
    assert!(stdout.contains("invoice\\u{202e}fdp.exe"), "{stdout}");
    assert!(stdout.contains("NOT LISTED  8 files"), "{stdout}");
    assert!(stdout.contains("c\\x1b[2Jd"), "{stdout}");
    // JSON keeps the key exactly.
    let out = std::process::Command::new(&inventory)
        .args(["inventory", url.as_str(), "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["objects"], 2, "{json}");
    assert_eq!(json["unlisted"]["objects"], 8, "{json}");
    assert_eq!(json["unlisted"]["bytes"], 3 + 5 * 2, "{json}");
    assert!(
        json.to_string().contains("invoice\u{202e}fdp.exe"),
        "{json}"
    );
    assert!(json["unlisted"]["examples"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("c\x1b[2Jd")));
}

/// A report whose keys, prefixes and class hold every hostile name (as a provider's
/// report or another tool's JSON can).
fn hostile_report() -> stratus::inventory::Report {
    use stratus::inventory::{scan, ScanOptions};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = object_store::memory::InMemory::new();
    let report = rt.block_on(async {
        for i in 0..HOSTILE.len() {
            store
                .put(&Path::from(format!("DIR{i}/KEY{i}")), "data".into())
                .await
                .unwrap();
        }
        scan(&store, None, &ScanOptions::default().with_depth(1))
            .await
            .unwrap()
    });
    let mut json = serde_json::to_string(&report).unwrap();
    for (i, name) in HOSTILE.iter().enumerate() {
        let quoted = serde_json::to_string(name).unwrap();
        let inner = &quoted[1..quoted.len() - 1];
        json = json
            .replace(&format!("DIR{i}"), &format!("dir-{inner}"))
            .replace(&format!("KEY{i}"), inner);
    }
    serde_json::from_str(&json).unwrap()
}

#[test]
fn the_table_the_diff_and_errors_escape_controls_json_keeps_them() {
    let report = hostile_report();
    let table = stratus::inventory::table::render(&report, "title\x1b]0;x\x07");
    assert_clean("table", &table);
    assert!(table.contains("c\\x1b[2Jd"), "{table}");
    let diff = stratus::inventory::Report::new(report.as_of, 1, 50, 10).diff(&report);
    let rendered = diff.render(20);
    assert_clean("diff", &rendered);
    assert!(rendered.contains("dir-e\\x0df/"), "{rendered}");
    // JSON keeps every key exactly.
    let json = serde_json::to_string(&report).unwrap();
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(back.to_string().contains("e\\rf"), "{back}");
    // An error naming such a key: its brief form (what the examples print) is clean.
    let err = stratus::Error::in_store(
        "s",
        object_store::Error::NotFound {
            path: HOSTILE.join("/"),
            source: "gone".into(),
        },
    );
    assert_clean("brief", &err.brief());
    assert!(
        err.brief().contains("a\\x1b]0;pwned\\x07b"),
        "{}",
        err.brief()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_sanitizer_never_yields_a_control_and_keeps_printable_text(
        text in any::<String>(),
        printable in "[^\\x00-\\x1f\\x7f-\\u{9f}\\u{61c}\\u{200e}\\u{200f}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}]*",
    ) {
        let safe = stratus::text::terminal(&text);
        prop_assert!(!safe.chars().any(is_control), "{:?} -> {:?}", text, safe);
        let kept = stratus::text::terminal(&printable);
        prop_assert_eq!(kept.as_ref(), printable.as_str());
        let lines = stratus::text::terminal_lines(&text);
        prop_assert!(!lines.chars().any(|c| c != '\n' && is_control(c)));
    }
}

// ---------------------------------------------------------------------------------------
// 5. Limits never panic.

const MEMORY: &str = "[stores.m]\nprovider = \"memory\"\n";

#[tokio::test]
async fn every_accepted_rate_opens_and_moves_bytes_without_a_panic() {
    for limits in [
        "bytes_per_second = 10000000000",
        "bytes_per_second = 18446744073709551615",
        "bytes_per_second = 1",
        "requests_per_second = 1e9",
        "requests_per_second = 1e-6",
        "requests_per_second = 3e8, bytes_per_second = 999999999999",
    ] {
        let config = load(&format!("{MEMORY}limits = {{ {limits} }}\n")).unwrap();
        let store = config.open("m").unwrap();
        let fast = !limits.contains("= 1\n")
            && !limits.contains("1e-6")
            && limits != "bytes_per_second = 1";
        if fast {
            let started = std::time::Instant::now();
            store
                .put(&Path::from("k"), vec![7u8; 1 << 20].into())
                .await
                .unwrap();
            let back = store
                .get(&Path::from("k"))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(back.len(), 1 << 20, "{limits}");
            assert!(started.elapsed() < Duration::from_secs(5), "{limits}");
        }
    }
}

#[test]
fn a_rate_outside_its_range_is_refused_on_load_naming_file_key_and_range() {
    for (limits, key) in [
        ("requests_per_second = 1e-20", "limits.requests_per_second"),
        ("requests_per_second = 2e9", "limits.requests_per_second"),
        ("requests_per_second = 0", "limits.requests_per_second"),
        ("bytes_per_second = 0", "limits.bytes_per_second"),
    ] {
        let err = load(&format!("{MEMORY}limits = {{ {limits} }}\n"))
            .map(drop)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("stores.toml: store `m`, key `{key}`")),
            "{limits}: {err}"
        );
        if key == "limits.requests_per_second" {
            assert!(
                err.contains("1e-6") && err.contains("1e9"),
                "{limits}: {err}"
            );
        }
    }
}

#[test]
fn nan_inf_a_negative_price_and_in_flight_above_the_semaphore_maximum_are_refused_on_load() {
    let refused = |text: &str| load(text).map(drop).unwrap_err().to_string();
    for (table, key) in [
        (
            "limits = { requests_per_second = nan }",
            "limits.requests_per_second",
        ),
        (
            "limits = { requests_per_second = -inf }",
            "limits.requests_per_second",
        ),
        ("prices = { get = inf }", "prices.get"),
        ("prices = { put = -0.5 }", "prices.put"),
        (
            "prices = { storage = { STANDARD = nan } }",
            "prices.storage.STANDARD",
        ),
        (
            "prices = { storage = { GLACIER = -1.0 } }",
            "prices.storage.GLACIER",
        ),
        ("prices = { storage = { \"\" = 1.0 } }", "prices.storage."),
        (
            "prices = { storage = { \"\\u001b[31mX\" = 1.0 } }",
            "prices.storage.\\x1b[31mX",
        ),
    ] {
        let err = refused(&format!("{MEMORY}{table}\n"));
        assert!(
            err.starts_with(&format!("stores.toml: store `m`, key `{key}`")),
            "{table}: {err}"
        );
    }
    let err = refused(
        "[stores.m]\nprovider = \"memory\"\n[stores.s]\nprovider = \"sharded\"\n\
         members = [{ store = \"m\", weight = nan }]\n",
    );
    assert!(
        err.starts_with("stores.toml: store `s`, key `members[0].weight`"),
        "{err}"
    );
    // 2^61 - 1 is tokio's `Semaphore::MAX_PERMITS`: the highest, accepted; one more is not.
    load(&format!(
        "{MEMORY}limits = {{ in_flight = 2305843009213693951 }}\n"
    ))
    .unwrap()
    .open("m")
    .unwrap();
    let err = refused(&format!(
        "{MEMORY}limits = {{ in_flight = 2305843009213693952 }}\n"
    ));
    assert!(
        err.starts_with("stores.toml: store `m`, key `limits.in_flight`")
            && err.contains("from 1 to 2305843009213693951"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// 6. Secrets.

const SAS: &str =
    "sv=2024-08-04&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig=SuperSecretSignatureValue%3D";

#[test]
fn an_error_names_a_value_from_the_environment_by_its_reference_never_by_its_text() {
    std::env::set_var("STRATUS_HOSTILE_D", "9q");
    std::env::set_var("STRATUS_HOSTILE_R", "ab");
    std::env::set_var("STRATUS_HOSTILE_M", "tk");
    let error = |toml: &str| {
        let error = match stratus::Config::from_toml(toml, "stores.toml", "/nonexistent-base") {
            Ok(config) => config.open("a").map(drop).unwrap_err(),
            Err(error) => error,
        };
        error.to_string()
    };
    assert_eq!(
        error("[stores.a]\nprovider = \"local\"\nroot = \"${STRATUS_HOSTILE_R}\"\n"),
        "stores.toml: store `a`, key `root`: the value from `${STRATUS_HOSTILE_R}` is not an \
         existing folder (create it, or set `create_root = true`)"
    );
    let err = error("[stores.a]\nprovider = \"memory\"\ndeadline = \"${STRATUS_HOSTILE_D}\"\n");
    assert!(
        err.starts_with(
            "stores.toml: store `a`, key `deadline`: the value from `${STRATUS_HOSTILE_D}` is \
             not a duration"
        ),
        "{err}"
    );
    for members in [
        "[\"${STRATUS_HOSTILE_M}\"]",
        "[{ store = \"${STRATUS_HOSTILE_M}\" }]",
    ] {
        let err = error(&format!(
            "[stores.a]\nprovider = \"sharded\"\nmembers = {members}\n"
        ));
        assert!(
            err.starts_with(
                "stores.toml: store `a`, key `members[0]`: the value from \
                 `${STRATUS_HOSTILE_M}` is not a store in this file"
            ),
            "{err}"
        );
    }
}

#[test]
fn a_signers_debug_shows_no_credential() {
    for (key, value, secret) in [
        ("sas_token", SAS, "SuperSecretSignatureValue"),
        (
            "bearer_token",
            "bearer-token-very-secret-123",
            "bearer-token-very-secret-123",
        ),
        (
            "access_key",
            "c2VjcmV0LWFjY291bnQta2V5LXZhbHVlLTEyMzQ1Njc4OTA=",
            "c2VjcmV0LWFjY291bnQta2V5",
        ),
    ] {
        let config = load(&format!(
            "[stores.az]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"acct\"\n\
             {key} = \"{value}\"\n"
        ))
        .unwrap();
        let signer = config.signer("az").unwrap();
        let debug = format!("{signer:?}");
        assert!(!debug.contains(secret), "{key}: {debug}");
        assert!(debug.contains("az"), "{key}: names the store: {debug}");
    }
    let config = load(
        "[stores.s3]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"eu-west-1\"\n\
         access_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"wJalrXUtnFEMI/K7MDENG-secret\"\n",
    )
    .unwrap();
    let debug = format!("{:?}", config.signer("s3").unwrap());
    assert!(!debug.contains("wJalrXUtnFEMI"), "{debug}");
}

/// Set `name` to `value` for this process (each test uses its own names).
fn set_env(name: &str, value: &str) {
    std::env::set_var(name, value);
}

#[test]
fn values_from_the_environment_are_never_echoed_in_errors() {
    let journal_parent = tempfile::tempdir().unwrap();
    let blocker = journal_parent.path().join("a-file-not-a-folder");
    std::fs::write(&blocker, "").unwrap();
    let journal = format!("{}/secret-journal-name/j", blocker.display());
    let cases: Vec<(&str, String, String)> = vec![
        (
            "provider",
            "zz-secret-qwxv-value".into(),
            "[stores.a]\nprovider = \"${STRATUS_T24_provider}\"\nbucket = \"b\"\n".into(),
        ),
        (
            "prefix",
            "secret-prefix-value/../up".into(),
            "[stores.a]\nprovider = \"memory\"\nprefix = \"${STRATUS_T24_prefix}\"\n".into(),
        ),
        (
            "deadline",
            "secret-deadline-value".into(),
            "[stores.a]\nprovider = \"memory\"\ndeadline = \"${STRATUS_T24_deadline}\"\n".into(),
        ),
        (
            "retry.max_retries",
            "secret-retries-value".into(),
            "[stores.a]\nprovider = \"s3\"\nbucket = \"b\"\n\
             retry = { max_retries = \"${STRATUS_T24_retry.max_retries}\" }\n"
                .into(),
        ),
        (
            "journal",
            journal.clone(),
            "[stores.m]\nprovider = \"memory\"\n[stores.a]\nprovider = \"replicated\"\n\
             members = [\"m\"]\njournal = \"${STRATUS_T24_journal}\"\n"
                .into(),
        ),
        (
            "bucket",
            "secret-bucket-value".into(),
            "[stores.a]\nprovider = \"s3\"\nbucket = \"${STRATUS_T24_bucket}\"\nregion = \"r\"\n\
             skip_signature = true\n[stores.b]\nprovider = \"s3\"\nbucket = \"secret-bucket-value\"\n\
             region = \"r\"\nskip_signature = true\n[stores.both]\nprovider = \"replicated\"\n\
             members = [\"a\", \"b\"]\n"
                .into(),
        ),
    ];
    for (key, value, toml) in cases {
        let name = format!("STRATUS_T24_{key}");
        set_env(&name, &value);
        let toml = toml.replace(
            "${STRATUS_T24_retry.max_retries}",
            "${STRATUS_T24_retry_max}",
        );
        if key == "retry.max_retries" {
            set_env("STRATUS_T24_retry_max", &value);
        }
        let err = match load(&toml) {
            Err(e) => e.to_string(),
            Ok(config) => match config.open("a").and_then(|_| config.open_default()) {
                Err(e) => e.to_string(),
                Ok(_) => match config.open("both") {
                    Err(e) => e.to_string(),
                    Ok(_) => panic!("{key}: no error"),
                },
            },
        };
        eprintln!("{key}: {err}");
        let shown = value.trim_end_matches("/../up");
        assert!(!err.contains(shown), "{key}: {err}");
        let tail = &value[value.len().saturating_sub(12)..];
        assert!(!err.contains(tail), "{key}: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// 7. Signing.

fn s3_signer() -> std::sync::Arc<dyn object_store::signer::Signer> {
    load(
        "[stores.s3]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"eu-west-1\"\n\
         access_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"wJalrXUtnFEMI/K7MDENG-secret\"\n",
    )
    .unwrap()
    .signer("s3")
    .unwrap()
}

fn azure_signer() -> std::sync::Arc<dyn object_store::signer::Signer> {
    load(
        "[stores.az]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"acct\"\n\
         access_key = \"c2VjcmV0LWFjY291bnQta2V5LXZhbHVlLTEyMzQ1Njc4OTA=\"\n",
    )
    .unwrap()
    .signer("az")
    .unwrap()
}

#[tokio::test]
async fn an_expiry_outside_what_the_provider_accepts_is_refused_before_signing() {
    let key = Path::from("k");
    let week = Duration::from_secs(7 * 24 * 3600);
    for (name, signer) in [("s3", s3_signer()), ("azure", azure_signer())] {
        for bad in [
            Duration::ZERO,
            Duration::from_millis(999),
            week + Duration::from_secs(1),
            Duration::from_secs(10_000 * 365 * 24 * 3600),
            Duration::from_secs(9_223_372_036_854_775),
            Duration::MAX,
        ] {
            let err = signer
                .signed_url(Method::GET, &key, bad)
                .await
                .expect_err(&format!("{name}: {bad:?} was signed"))
                .to_string();
            assert!(err.contains("7 days"), "{name} {bad:?}: {err}");
        }
        for good in [Duration::from_secs(1), Duration::from_secs(3600), week] {
            let url = signer.signed_url(Method::GET, &key, good).await.unwrap();
            if name == "s3" {
                assert!(
                    url.as_str()
                        .contains(&format!("X-Amz-Expires={}", good.as_secs())),
                    "{url}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 8. Files that are not files.

/// `f` on another thread, its result if it ends within `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(f());
    });
    receive.recv_timeout(limit).ok()
}

fn fifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_config_that_is_a_fifo_or_dev_zero_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("stores.toml");
    fifo(&pipe);
    let zero = dir.path().join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for path in [pipe, zero] {
        let shown = path.display().to_string();
        let err = within(Duration::from_secs(10), move || {
            Config::load(&path).map(drop).unwrap_err().to_string()
        })
        .unwrap_or_else(|| panic!("loading {shown} did not end"));
        assert!(err.contains(&shown), "{err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
    // A regular file above the cap: refused, with the cap and the size found.
    let big = dir.path().join("big.toml");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(17 << 20).unwrap();
    let err = Config::load(&big).map(drop).unwrap_err().to_string();
    assert!(err.contains(&big.display().to_string()), "{err}");
    assert!(
        err.contains("17825792 bytes") && err.contains("16777216"),
        "{err}"
    );
}

#[test]
fn a_report_to_diff_or_a_checkpoint_that_is_a_fifo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("report.json");
    fifo(&pipe);
    let shown = pipe.display().to_string();
    let err = within(Duration::from_secs(10), move || {
        stratus::inventory::Report::load(&pipe)
            .map(drop)
            .unwrap_err()
            .to_string()
    })
    .expect("loading a FIFO report did not end");
    assert!(
        err.contains(&shown) && err.contains("not a regular file"),
        "{err}"
    );

    let pipe = dir.path().join("checkpoint");
    fifo(&pipe);
    let err = within(Duration::from_secs(10), move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let a = object_store::memory::InMemory::new();
            let b = object_store::memory::InMemory::new();
            let options = stratus::replicate::SyncOptions::default().with_checkpoint(&pipe, 10);
            stratus::replicate::sync(&a, &b, &options)
                .await
                .map(drop)
                .unwrap_err()
                .to_string()
        })
    })
    .expect("a sync with a FIFO checkpoint did not end");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn a_journal_that_is_a_fifo_or_dev_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("fifo.journal");
    fifo(&pipe);
    let zero = dir.path().join("zero.journal");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for path in [pipe, zero] {
        let toml = format!(
            "[stores.m]\nprovider = \"memory\"\n[stores.r]\nprovider = \"replicated\"\n\
             members = [\"m\"]\njournal = \"{}\"\n",
            path.display()
        );
        let shown = path.display().to_string();
        let err = within(Duration::from_secs(10), move || {
            load(&toml)
                .unwrap()
                .open("r")
                .map(drop)
                .unwrap_err()
                .to_string()
        })
        .unwrap_or_else(|| panic!("opening journal {shown} did not end"));
        assert!(err.contains("not a regular file"), "{err}");
    }
}
