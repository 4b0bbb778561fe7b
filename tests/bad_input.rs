//! Bad input must never crash, leak or hang: a test per case of the issue that found them.
//!
//! - a retry table object_store's backoff cannot run with is refused at load;
//! - no error quotes any part of a secret, whatever a dependency put in its message;
//! - loading is linear in the file's size, however composites share members;
//! - sizes near `u64::MAX` saturate instead of panicking or wrapping;
//! - what buffers or collects is bounded;
//! - random and mutated config files and URLs: no panic, no secret in an error, bounded
//!   time (a property test).

use object_store::path::Path;
use object_store::ObjectStoreExt;
use std::time::{Duration, Instant};
use stratus::Config;

fn load(text: &str) -> stratus::Result<Config> {
    Config::from_toml(text, "stores.toml", ".")
}

// ---------------------------------------------------------------------------------------
// 1. Retry tables.

const DOWN: &str = "[stores.down]\nprovider = \"s3\"\nbucket = \"b\"\n\
                    endpoint = \"http://127.0.0.1:9\"\nallow_http = true\nskip_signature = true\n";

#[test]
fn a_retry_table_object_store_would_panic_on_is_refused_naming_file_store_and_key() {
    for (retry, key) in [
        ("backoff_base = 1, max_retries = 1", "retry.backoff_base"),
        ("backoff_base = 0.5", "retry.backoff_base"),
        ("backoff_base = 1e300", "retry.backoff_base"),
        (
            "init_backoff = \"0s\", max_retries = 1",
            "retry.init_backoff",
        ),
        ("max_backoff = \"10ms\"", "retry.max_backoff"),
        (
            "init_backoff = \"2s\", max_backoff = \"1s\"",
            "retry.init_backoff",
        ),
    ] {
        let err = load(&format!("{DOWN}retry = {{ {retry} }}\n"))
            .map(drop)
            .unwrap_err()
            .to_string();
        let needle = format!("stores.toml: store `down`, key `{key}`");
        assert!(err.contains(&needle), "{retry}: {err}");
    }
}

#[tokio::test]
async fn the_issues_retry_table_ran_a_retry_and_panicked_the_accepted_ones_retry() {
    // The smallest accepted settings run their retries and return an error, no panic.
    let config = load(&format!(
        "{DOWN}retry = {{ backoff_base = 1.01, init_backoff = \"1ns\", max_backoff = \"1ms\", \
         max_retries = 2 }}\n"
    ))
    .unwrap();
    let store = config.open("down").unwrap();
    let err = store.head(&Path::from("k")).await.unwrap_err().to_string();
    assert!(err.contains("HEAD"), "{err}");
}

// ---------------------------------------------------------------------------------------
// 3. Loading is linear.

/// 40 levels where `a{i}` and `b{i}` each list `a{i+1}` and `b{i+1}`: 2^40 paths.
fn diamond(levels: usize, provider: &str) -> String {
    let mut text = String::new();
    for i in 0..levels {
        for name in ["a", "b"] {
            text.push_str(&format!(
                "[stores.{name}{i}]\nprovider = \"{provider}\"\nmembers = [\"a{}\", \"b{}\"]\n",
                i + 1,
                i + 1
            ));
            if provider == "sharded" {
                // Small placements: this measures the walk, not 80 placement builds.
                text.push_str("slot_bits = 8\n");
            }
        }
    }
    text.push_str(&format!(
        "[stores.a{levels}]\nprovider = \"memory\"\n[stores.b{levels}]\nprovider = \"memory\"\n"
    ));
    text
}

/// Run `f` on a thread and fail if it takes longer than `limit` (a hang, not a speed
/// target: the loads below take milliseconds).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("did not finish: exponential?")
}

#[test]
fn a_config_whose_composites_share_members_forty_levels_deep_loads_in_linear_time() {
    for provider in ["replicated", "sharded"] {
        let text = diamond(40, provider);
        let err = within(Duration::from_secs(20), move || {
            load(&text).map(drop).unwrap_err().to_string()
        });
        // Each level's two members reach the same stores below: refused, naming both.
        assert!(err.contains("both reach memory store"), "{err}");
        let level = err
            .split("members `a")
            .nth(1)
            .and_then(|rest| rest.split('`').next());
        let level = level.expect("names member a{i}");
        assert!(err.contains(&format!("`b{level}`")), "{err}");
    }
    // A deep chain that is valid loads and opens, each store built once.
    let mut chain = String::new();
    for i in 0..200 {
        chain.push_str(&format!(
            "[stores.r{i}]\nprovider = \"replicated\"\nmembers = [\"r{}\", \"m{i}\"]\n\
             [stores.m{i}]\nprovider = \"memory\"\n",
            i + 1
        ));
    }
    chain.push_str("[stores.r200]\nprovider = \"memory\"\n");
    within(Duration::from_secs(20), move || {
        load(&chain).unwrap().open("r0").unwrap();
    });
}

#[test]
fn loading_a_thousand_store_file_takes_about_as_long_per_store_as_a_hundred() {
    // Not a speed target: a guard against quadratic-or-worse growth (10x the stores may
    // take at most 40x the time, measured as the best of three). It caught the place
    // check comparing every pair of members: 60x.
    let file = |n: usize| {
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!("[stores.m{i}]\nprovider = \"memory\"\n"));
        }
        let members: Vec<String> = (0..n).map(|i| format!("\"m{i}\"")).collect();
        text.push_str(&format!(
            "[stores.all]\nprovider = \"replicated\"\nmembers = [{}]\n",
            members.join(", ")
        ));
        text
    };
    let best = |text: &str| {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                load(text).unwrap();
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let (small, large) = (best(&file(200)), best(&file(2000)));
    eprintln!("load: 200 stores {small:?}, 2,000 stores {large:?}");
    assert!(
        large < small * 40 + Duration::from_millis(50),
        "200 stores {small:?}, 2,000 stores {large:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Sizes near u64::MAX.

fn meta(key: &str, size: u64) -> object_store::ObjectMeta {
    object_store::ObjectMeta {
        location: Path::from(key),
        last_modified: chrono::Utc::now(),
        size,
        e_tag: None,
        version: None,
    }
}

#[test]
fn sizes_near_u64_max_saturate_in_reports_plans_and_tables() {
    use stratus::inventory::{table, Report};
    let huge = u64::MAX - 1;
    let mut report = Report::new(chrono::Utc::now(), 2, 10, 5);
    report.add("a/x", &meta("a/x", huge));
    report.add("a/y", &meta("a/y", huge));
    report.add("b/z", &meta("b/z", 7));
    assert_eq!((report.objects, report.bytes), (3, u64::MAX));
    let mut other = report.clone();
    other.merge(report.clone()).unwrap();
    assert_eq!((other.objects, other.bytes), (6, u64::MAX));
    other.finish();
    assert!(table::render(&other, "huge").contains("at least"));

    let moves = (0..3)
        .map(|i| shard::Move {
            location: Path::from(format!("k{i}")),
            from: "a".into(),
            to: "b".into(),
            size: huge,
        })
        .collect();
    let plan = shard::Plan {
        moves,
        objects: 3,
        bytes: u64::MAX,
    };
    assert_eq!(plan.move_bytes(), u64::MAX);
    assert_eq!(
        plan.routes()[&("a".to_string(), "b".to_string())].bytes,
        u64::MAX
    );
}

#[test]
fn a_report_with_an_extreme_as_of_accepts_objects() {
    use stratus::inventory::Report;
    for as_of in [
        chrono::DateTime::<chrono::Utc>::MIN_UTC,
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
    ] {
        let mut report = Report::new(as_of, 1, 10, 5);
        report.add("k", &meta("k", 1));
        // The same through JSON, as a report read back from a file is.
        report.finish();
        let json = serde_json::to_string(&report).unwrap();
        let mut read: Report = serde_json::from_str(&json).unwrap();
        read.add("k2", &meta("k2", 2));
        assert_eq!(read.objects, 2);
    }
}

use stratus::shard;

// ---------------------------------------------------------------------------------------
// 2. No error quotes any part of a secret.

/// Everything a user may see of an error: `Display`, `brief`, `Debug`, the source chain.
fn all_text(err: &stratus::Error) -> String {
    let mut text = format!("{err}\n{}\n{err:?}", err.brief());
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        text.push_str(&format!("\n{e}\n{e:?}"));
        source = e.source();
    }
    text
}

/// Fails when `text` holds any 8-byte run of `secret`, in it or JSON-escaped.
fn assert_no_part_of(secret: &str, text: &str) {
    let escaped = serde_json::to_string(secret).unwrap();
    for form in [secret, &escaped[1..escaped.len() - 1]] {
        for part in form.as_bytes().windows(8) {
            let part = String::from_utf8_lossy(part);
            assert!(
                !text.contains(part.as_ref()),
                "{part:?} of a secret in: {text}"
            );
        }
    }
}

#[test]
fn a_gcs_key_encoded_twice_is_refused_without_quoting_it() {
    // As some secret managers deliver it: the JSON key, as a JSON string.
    let key = r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n", "client_email": "svc@proj.iam.gserviceaccount.com", "private_key_id": "0123456789abcdef0123456789abcdef"}"#;
    let twice = serde_json::to_string(key).unwrap();
    let toml = format!(
        "[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nservice_account_key = {}\n",
        toml_string(&twice)
    );
    let err = load(&toml).unwrap().open("g").unwrap_err();
    let text = all_text(&err);
    assert!(text.contains("store `g`"), "{text}");
    assert_no_part_of(key, &text);
    assert_no_part_of(&twice, &text);
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// Malformed secrets of every provider, through a file and through a URL: each error
/// names the store or URL and quotes no part of the secret.
#[tokio::test]
async fn malformed_secrets_of_every_provider_never_reach_error_text() {
    let secret = "Zq8+Xy/secretVALUE==\"quoted\"\\back\u{e9}-0123456789";
    let cases = [
        (
            "s3",
            "bucket = \"b\"\nregion = \"us-east-1\"",
            "secret_access_key",
        ),
        (
            "s3",
            "bucket = \"b\"\nregion = \"us-east-1\"",
            "session_token",
        ),
        ("gcs", "bucket = \"b\"", "service_account_key"),
        (
            "azure",
            "container = \"c\"\naccount = \"acct\"",
            "access_key",
        ),
        (
            "azure",
            "container = \"c\"\naccount = \"acct\"",
            "sas_token",
        ),
        (
            "azure",
            "container = \"c\"\naccount = \"acct\"",
            "bearer_token",
        ),
    ];
    for (provider, base, key) in cases {
        let toml = format!(
            "[stores.x]\nprovider = \"{provider}\"\n{base}\n\
             endpoint = \"http://127.0.0.1:9\"\nallow_http = true\n\
             retry = {{ max_retries = 0 }}\n{key} = {}\n",
            toml_string(secret)
        );
        // Loading, building, and a request that fails: no error repeats the secret.
        match load(&toml).and_then(|c| c.open("x")) {
            Err(err) => assert_no_part_of(secret, &all_text(&err)),
            Ok(store) => {
                if let Err(err) = store.head(&Path::from("k")).await {
                    let text = format!("{err}\n{err:?}");
                    assert_no_part_of(secret, &text);
                }
            }
        }
        // The same secret where a string is wanted as a number, and as an option.
        let toml =
            format!("[stores.x]\nprovider = \"{provider}\"\n{base}\n{key} = 12345678901234\n");
        if let Err(err) = load(&toml) {
            assert_no_part_of("12345678901234", &all_text(&err));
        }
    }
    // Secret-looking object_store options, misspelt or malformed.
    for option in [
        "aws_secret_access_key",
        "aws_session_tokn",
        "azure_storage_account_key",
    ] {
        let toml = format!(
            "[stores.x]\nprovider = \"s3\"\nbucket = \"b\"\noptions = {{ {option} = {} }}\n",
            toml_string(secret)
        );
        if let Err(err) = load(&toml).and_then(|c| c.open("x")) {
            assert_no_part_of(secret, &all_text(&err));
        }
    }
    // URLs carry secrets in their query.
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    for url in [
        format!("s3://b/p?secret_access_key={encoded}&region=nowhere&endpoint=bad"),
        format!("gs://b/p?service_account_key={encoded}"),
        format!("az://c/p?account=a&sas_token={encoded}&bogus=1"),
        format!("az://c/p?account=a&access_key={encoded}&access_key={encoded}"),
    ] {
        if let Err(err) = stratus::open(&url) {
            assert_no_part_of(secret, &all_text(&err));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Symlinks in a local store.

#[cfg(unix)]
#[test]
fn symlink_cycles_in_a_local_store_end_the_listing_and_links_out_of_root_are_followed() {
    use futures::TryStreamExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    for folder in ["a", "b"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
        std::fs::write(root.join(folder).join("file"), folder).unwrap();
    }
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("elsewhere.txt"), "outside").unwrap();
    // Two links back to the root from two folders: without cycle detection the walk
    // doubles at every second level, forever.
    std::os::unix::fs::symlink(&root, root.join("a/up")).unwrap();
    std::os::unix::fs::symlink(&root, root.join("b/up")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
    let list = |root: &std::path::Path| {
        let toml = format!(
            "[stores.l]\nprovider = \"local\"\nroot = {}\n",
            toml_string(&root.to_string_lossy())
        );
        within(Duration::from_secs(20), move || {
            let store = load(&toml).unwrap().open("l").unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let metas: Vec<_> = store.list(None).try_collect().await?;
                Ok::<_, object_store::Error>(
                    metas
                        .into_iter()
                        .map(|m| m.location.to_string())
                        .collect::<Vec<_>>(),
                )
            })
        })
    };
    // Every real file, each once; the link out of root is followed, as object_store does.
    assert_eq!(
        list(&root).unwrap(),
        ["a/file", "b/file", "out/elsewhere.txt"]
    );
    // A link to the folder that holds it is object_store's own listing error, not a hang.
    std::os::unix::fs::symlink(root.join("a"), root.join("a/self")).unwrap();
    let err = list(&root).unwrap_err().to_string();
    assert!(err.contains("a/self"), "{err}");
}

// ---------------------------------------------------------------------------------------
// 5. What buffers or collects is bounded.

#[tokio::test]
async fn reports_keep_a_bounded_number_of_examples_and_count_everything() {
    use object_store::memory::InMemory;
    use std::sync::Arc;
    use stratus::layer::fault::{Fault, FaultyStore, Op};
    use stratus::replicate::{self, SyncOptions};
    let src = InMemory::new();
    for i in 0..50 {
        src.put(&Path::from(format!("k{i:02}")), "x".into())
            .await
            .unwrap();
    }
    let dst = FaultyStore::new(Arc::new(InMemory::new()));
    dst.inject(Fault::fail(Op::Put));
    let mut options = SyncOptions::default();
    options.examples = 5;
    let report = replicate::sync(&src, &dst, &options).await.unwrap();
    assert_eq!((report.failed, report.failures.len()), (50, 5));

    // Rebalance: every move fails; three examples kept, all counted.
    let a: Arc<dyn object_store::ObjectStore> = Arc::new(InMemory::new());
    let b = Arc::new(FaultyStore::new(Arc::new(InMemory::new())));
    b.inject(Fault::fail(Op::Get));
    for i in 0..30 {
        a.put(&Path::from(format!("k{i:02}")), "x".into())
            .await
            .unwrap();
    }
    let placement = |names: &[&str]| {
        shard::Rendezvous::with_slot_bits(names.iter().map(|n| shard::Member::new(*n)), 8).unwrap()
    };
    let store = shard::ShardedStore::new(
        placement(&["b"]),
        [(
            "b".to_string(),
            b.clone() as Arc<dyn object_store::ObjectStore>,
        )],
    )
    .unwrap()
    .with_previous(placement(&["a"]), [("a".to_string(), a)])
    .unwrap();
    let plan = shard::plan(&store).await.unwrap();
    b.inject(Fault::fail(Op::Put)); // after the plan: the probe and every copy fail
    let options = shard::ExecuteOptions::default().with_examples(3);
    let report = shard::execute(&store, &plan, &options).await;
    assert_eq!((report.failed, report.failures.len()), (30, 3));
}

#[tokio::test]
async fn a_conditional_copy_across_members_above_64_mib_is_refused_not_buffered() {
    use object_store::memory::InMemory;
    use std::sync::Arc;
    let members: Vec<(String, Arc<dyn object_store::ObjectStore>)> = ["a", "b"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                Arc::new(InMemory::new()) as Arc<dyn object_store::ObjectStore>,
            )
        })
        .collect();
    let placement =
        shard::Rendezvous::with_slot_bits(["a", "b"].iter().map(|n| shard::Member::new(*n)), 8)
            .unwrap();
    let owner = |k: &Path| {
        use shard::Placement;
        placement.members()[placement.locate(k.as_ref().as_bytes())]
            .name()
            .to_string()
    };
    let keys: Vec<Path> = (0..)
        .map(|i| Path::from(format!("k{i}")))
        .take(40)
        .collect();
    let from = keys.iter().find(|k| owner(k) == "a").unwrap().clone();
    let to = keys.iter().find(|k| owner(k) == "b").unwrap().clone();
    let store = shard::ShardedStore::new(placement.clone(), members).unwrap();
    store.put(&from, vec![0u8; 65 << 20].into()).await.unwrap();
    let err = store.copy_if_not_exists(&from, &to).await.unwrap_err();
    assert!(
        matches!(err, object_store::Error::NotSupported { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("held in memory"), "{err}");
    // Below the limit it works.
    store.put(&from, vec![1u8; 1 << 20].into()).await.unwrap();
    store.copy_if_not_exists(&from, &to).await.unwrap();
}
