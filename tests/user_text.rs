//! Text a person types as a prefix or key (`--prefix café`, a config's `prefix`, a URL)
//! names the keys it spells, every character kept (issue 25), on a local folder,
//! SeaweedFS and Azurite, and from an exported report; a local folder's files that
//! object_store does not list (`NAME#N`) are reported, never dropped without a word; an
//! object's age bucket is the same listed and read back from an export.

mod common;

use common::Backend;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::Value;
use std::path::Path as FsPath;
use std::process::Command;
use std::sync::Arc;

/// Every character class that `Path::from` would percent-encode, unicode, and plain ones.
const NAMES: &[&str] = &[
    "plain", "a b", "a+b", "café", "日本", "🎉", "a%b", "a~b", "a#b", "[x]", "a?b", "a*b", "{y}",
    "a^b", "a\\b", "a`b", "a\"b", "<l>", "a|b",
];

/// Folders named as `Path::from` spells two of the names: `--prefix café` must not find them.
const DECOYS: &[&str] = &["caf%C3%A9", "a%7Eb", "a%25b", "a%23b"];

/// Run `stratus inventory ARGS`; its stdout as JSON and its stderr.
fn inventory(args: &[&str]) -> (Value, String) {
    let out = Command::new(common::stratus())
        .arg("inventory")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "inventory {args:?} failed: {stderr}");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("inventory {args:?}: not JSON ({e}): {stderr}"));
    (json, stderr)
}

/// `NAME/sub/f.txt` for every name (of size `10 + index`) and a 1,000-byte decoy in
/// each decoy folder.
async fn seed(store: &dyn ObjectStore) {
    for (i, name) in NAMES.iter().enumerate() {
        let key = stratus::key::parse_key(&format!("{name}/sub/f.txt")).unwrap();
        store.put(&key, vec![b'x'; 10 + i].into()).await.unwrap();
    }
    for decoy in DECOYS {
        let key = stratus::key::parse_key(&format!("{decoy}/sub/decoy")).unwrap();
        store.put(&key, vec![b'd'; 1000].into()).await.unwrap();
    }
}

/// A config file in `dir` with the store `t` (`table`) and a local store `out`.
fn config_file(dir: &FsPath, table: &str) -> String {
    let path = dir.join("stores.toml");
    let toml = format!(
        "[stores.t]\n{table}\n[stores.out]\nprovider = \"local\"\nroot = \"out\"\ncreate_root = true\n"
    );
    std::fs::write(&path, toml).unwrap();
    path.to_string_lossy().into_owned()
}

/// `--prefix NAME` inventories exactly `NAME/sub/f.txt`, for every name. `slash`: the
/// server stores a `\` of a key as `/` (SeaweedFS and Azurite do; S3 and Azure document
/// `\` as a character to avoid): the name `a\b` is then the folders `a/b`.
fn check_prefixes(config: &str, backend: &str, slash: bool) {
    for (i, name) in NAMES.iter().enumerate() {
        let name = &if slash {
            name.replace('\\', "/")
        } else {
            name.to_string()
        };
        for concurrency in ["1", "8"] {
            let (report, _) = inventory(&[
                "--config",
                config,
                "t",
                "--prefix",
                name,
                "--format",
                "json",
                "--concurrency",
                concurrency,
            ]);
            let what = format!("{backend}: --prefix {name:?} (concurrency {concurrency})");
            assert_eq!(report["objects"], 1, "{what}: {report}");
            assert_eq!(report["bytes"], 10 + i, "{what}");
            assert_eq!(
                report["top"]["objects"][0]["key"],
                format!("{name}/sub/f.txt"),
                "{what}"
            );
            assert_eq!(report["prefixes"]["entries"][0]["prefix"], "sub", "{what}");
        }
    }
}

async fn prefixes_keep_every_character_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let table = match backend {
        Backend::Local => "provider = \"local\"\nroot = \"data\"\ncreate_root = true\n".to_string(),
        _ => match backend.store_toml(&common::unique_prefix("user-text")) {
            Some(table) => table,
            None => return,
        },
    };
    let config = config_file(dir.path(), &table);
    let store = stratus::Config::load(&config).unwrap().open("t").unwrap();
    seed(store.as_ref()).await;
    check_prefixes(&config, &format!("{backend:?}"), backend != Backend::Local);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_prefixes_keep_every_character_on_a_local_folder() {
    prefixes_keep_every_character_on(Backend::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_prefixes_keep_every_character_on_seaweedfs() {
    prefixes_keep_every_character_on(Backend::SeaweedFs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_prefixes_keep_every_character_on_azurite() {
    prefixes_keep_every_character_on(Backend::Azurite).await;
}

/// `--export` under a prefix writes its rows, and `--from-report ... --prefix NAME`
/// counts the rows under `NAME/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_report_and_export_keep_every_character() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        "provider = \"local\"\nroot = \"data\"\ncreate_root = true\n",
    );
    let store = stratus::Config::load(&config).unwrap().open("t").unwrap();
    seed(store.as_ref()).await;
    // The whole tree, exported into the store `out`.
    let (_, stderr) = inventory(&[
        "--config", &config, "t", "--export", "out:", "--format", "json",
    ]);
    let manifest = stderr
        .lines()
        .find_map(|l| l.split("manifest: ").nth(1))
        .unwrap_or_else(|| panic!("no manifest named: {stderr}"))
        .trim()
        .to_string();
    for (i, name) in NAMES.iter().enumerate() {
        let (report, _) = inventory(&[
            "--config",
            &config,
            "out",
            "--from-report",
            &manifest,
            "--prefix",
            name,
            "--format",
            "json",
        ]);
        assert_eq!(
            report["objects"], 1,
            "--from-report --prefix {name:?}: {report}"
        );
        assert_eq!(report["bytes"], 10 + i, "--from-report --prefix {name:?}");
        // An export under the prefix writes that prefix's rows, into a folder of its own.
        let (_, stderr) = inventory(&[
            "--config",
            &config,
            "t",
            "--prefix",
            name,
            "--export",
            &format!("out:under/{name}"),
            "--format",
            "json",
        ]);
        assert!(
            stderr.contains("exported 1 row in"),
            "--export under --prefix {name:?}: {stderr}"
        );
    }
}

/// A config's `prefix` and a URL's path keep their characters too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_prefixes_and_urls_keep_every_character() {
    for backend in [Backend::Local, Backend::SeaweedFs, Backend::Azurite] {
        let dir = tempfile::tempdir().unwrap();
        let base = match backend {
            Backend::Local => String::new(),
            _ => common::unique_prefix("config-prefix"),
        };
        let table = |prefix: &str| -> Option<String> {
            let prefix = match base.as_str() {
                "" => prefix.to_string(),
                base => format!("{base}/{prefix}").trim_end_matches('/').to_string(),
            };
            // A literal string: the names hold `\` and `"`.
            let line = format!("prefix = '{prefix}'\n");
            match backend {
                Backend::Local => Some(format!(
                    "provider = \"local\"\nroot = \"data\"\ncreate_root = true\n{line}"
                )),
                _ => Some(
                    backend
                        .store_toml("PREFIX")?
                        .replace("prefix = \"PREFIX\"\n", &line),
                ),
            }
        };
        let Some(whole) = table("") else {
            continue;
        };
        let whole =
            stratus::Config::from_toml(&format!("[stores.t]\n{whole}"), "t.toml", dir.path())
                .unwrap()
                .open("t")
                .unwrap();
        seed(whole.as_ref()).await;
        for (i, name) in NAMES.iter().enumerate() {
            // As in `check_prefixes`: these servers store `\` as `/`.
            let name = &match backend {
                Backend::Local => name.to_string(),
                _ => name.replace('\\', "/"),
            };
            let toml = format!("[stores.t]\n{}", table(name).unwrap());
            let config = stratus::Config::from_toml(&toml, "t.toml", dir.path()).unwrap();
            let scoped: Arc<dyn ObjectStore> = config.open("t").unwrap();
            let options = stratus::inventory::ScanOptions::default();
            let report = stratus::inventory::scan(scoped.as_ref(), None, &options)
                .await
                .unwrap();
            let what = format!("{backend:?}: prefix = {name:?}");
            assert_eq!((report.objects, report.bytes), (1, 10 + i as u64), "{what}");
            assert_eq!(report.top.largest()[0].key, "sub/f.txt", "{what}");
        }
    }
    // URLs: percent-encoded or not, the prefix is the text; a `#` must be `%23`.
    for (url, prefix) in [
        ("s3://b/caf%C3%A9/a%23b?region=us-east-1", "café/a#b"),
        ("s3://b/café/日本/a%25b?region=us-east-1", "café/日本/a%b"),
        ("s3://b/a~b/%F0%9F%8E%89?region=us-east-1", "a~b/🎉"),
    ] {
        let config = stratus::config::parse_url(url).unwrap();
        assert_eq!(config.prefix(), Some(prefix), "{url}");
    }
    let error = stratus::config::parse_url("s3://b/a#b?region=us-east-1").unwrap_err();
    assert!(error.to_string().contains("%23"), "{error}");
}

/// A prefix no key can hold is refused, naming the text and what is wrong.
#[test]
fn a_prefix_no_key_can_hold_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        "provider = \"local\"\nroot = \"data\"\ncreate_root = true\n",
    );
    for (prefix, says) in [("a//b", "empty"), ("a/../b", "`..`"), ("x/./y", "`.`")] {
        let out = Command::new(common::stratus())
            .arg("inventory")
            .args(["--config", &config, "t", "--prefix", prefix])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--prefix {prefix:?} was accepted");
        assert!(
            stderr.contains(&format!("{prefix:?}")) && stderr.contains(says),
            "--prefix {prefix:?}: {stderr}"
        );
    }
}

/// Files object_store's local store does not list (`NAME#N`) are counted apart, with
/// their bytes and names, and the command warns; they are in no other figure.
#[test]
fn a_local_inventory_reports_the_files_object_store_hides() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("sub/deeper")).unwrap();
    std::fs::write(data.join("a#1"), "1234567").unwrap();
    std::fs::write(data.join("b"), "1234").unwrap();
    std::fs::write(data.join("c"), "1234").unwrap();
    std::fs::write(data.join("sub/x#12"), "12").unwrap();
    std::fs::write(data.join("sub/deeper/café#0042"), "123").unwrap();
    std::fs::write(data.join("sub/a#b"), "1").unwrap(); // listed: `b` is no number
    let config = config_file(dir.path(), "provider = \"local\"\nroot = \"data\"\n");
    for concurrency in ["1", "8"] {
        let (report, stderr) = inventory(&[
            "--config",
            &config,
            "t",
            "--format",
            "json",
            "--concurrency",
            concurrency,
        ]);
        assert_eq!(
            (report["objects"].as_u64(), report["bytes"].as_u64()),
            (Some(3), Some(9))
        );
        assert_eq!(report["unlisted"]["objects"], 3, "{report}");
        assert_eq!(report["unlisted"]["bytes"], 12);
        assert_eq!(
            report["unlisted"]["examples"],
            serde_json::json!(["a#1", "sub/deeper/café#0042", "sub/x#12"])
        );
        assert!(stderr.contains("warning: 3 files (12 B)"), "{stderr}");
        // Under a prefix: only what is below it, named by its full key.
        let (report, _) = inventory(&[
            "--config",
            &config,
            "t",
            "--prefix",
            "sub",
            "--format",
            "json",
            "--concurrency",
            concurrency,
        ]);
        assert_eq!(report["objects"], 1);
        assert_eq!(
            report["unlisted"]["examples"],
            serde_json::json!(["sub/deeper/café#0042", "sub/x#12"])
        );
    }
    // Under a config's prefix too.
    let config = config_file(
        dir.path(),
        "provider = \"local\"\nroot = \"data\"\nprefix = \"sub\"\n",
    );
    let (report, _) = inventory(&["--config", &config, "t", "--format", "json"]);
    assert_eq!(report["unlisted"]["objects"], 2, "{report}");
    assert_eq!(report["unlisted"]["examples"][1], "x#12");
    // The table says it.
    let out = Command::new(common::stratus())
        .arg("inventory")
        .args(["--config", &config, "t"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("NOT LISTED  2 files (5 B)"), "{table}");
}

/// An object modified within a millisecond of an age bucket's boundary falls in the same
/// bucket listed and read back from an export (which keeps milliseconds).
#[cfg(feature = "reports")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn age_buckets_survive_the_export_round_trip_at_a_boundary() {
    use stratus::inventory::export::{export, ExportOptions};
    use stratus::inventory::{reports, scan, ScanOptions};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // as_of at X.5 ms; one object at X - 1 day + 0.75 ms, younger than a day by 0.25 ms
    // in nanoseconds, exactly a day old in milliseconds; one at X - 7 days + 0.25 ms.
    let x_ms: i64 = 1_795_000_000_123;
    let as_of = chrono::DateTime::from_timestamp_nanos(x_ms * 1_000_000 + 500_000);
    for (name, ns) in [
        ("day", (x_ms - 86_400_000) * 1_000_000 + 750_000),
        ("week", (x_ms - 7 * 86_400_000) * 1_000_000 + 250_000),
    ] {
        std::fs::write(data.join(name), "x").unwrap();
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns as u64);
        let file = std::fs::File::options()
            .write(true)
            .open(data.join(name))
            .unwrap();
        file.set_modified(when).unwrap();
    }
    let config = stratus::Config::from_toml(
        "[stores.t]\nprovider = \"local\"\nroot = \"data\"\n\
         [stores.out]\nprovider = \"local\"\nroot = \"out\"\ncreate_root = true\n",
        "t.toml",
        dir.path(),
    )
    .unwrap();
    let store = config.open("t").unwrap();
    let out = config.open("out").unwrap();
    let options = ScanOptions::default().with_as_of(as_of);
    let listed = scan(store.as_ref(), None, &options).await.unwrap();
    let (_, written) = export(
        store.as_ref(),
        None,
        &options,
        Arc::clone(&out),
        None,
        &ExportOptions::default(),
    )
    .await
    .unwrap();
    let read = reports::read(out, &written.manifest, None, &options)
        .await
        .unwrap();
    let buckets = |r: &stratus::inventory::Report| -> Vec<(&'static str, u64)> {
        r.ages
            .buckets()
            .map(|(label, c)| (label, c.objects))
            .collect()
    };
    assert_eq!(buckets(&listed), buckets(&read));
    // Both at millisecond precision: a day old is in "1-7 days", a week old in "7-30".
    assert_eq!(buckets(&listed)[1], ("1-7 days", 1));
    assert_eq!(buckets(&listed)[2], ("7-30 days", 1));
}
