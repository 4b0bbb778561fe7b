//! The settings every store has (`limits`, `deadline`, `metrics`, `tracing`): parsed and
//! refused from a config file, limits that hold, metrics and spans with the documented
//! names and labels, and no secret in any of them.

mod common;

use futures::{StreamExt, TryStreamExt};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stratus::config::{Limits, StoreSettings};
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::object_store::memory::InMemory;
use stratus::object_store::path::Path;
use stratus::object_store::{ObjectStore, ObjectStoreExt};
use stratus::Config;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

fn config(toml: &str) -> stratus::Result<Config> {
    Config::from_toml(toml, "stores.toml", std::path::Path::new("/tmp"))
}

fn err(toml: &str) -> String {
    config(toml).unwrap_err().to_string()
}

#[test]
fn settings_parse_on_any_store_and_inline_member_and_bad_ones_name_their_key() {
    let ok = config(
        r#"
[stores.m]
provider = "memory"
limits = { in_flight = 4, requests_per_second = 2.5, bytes_per_second = 1048576 }
deadline = "30s"
metrics = true
tracing = true
[stores.r]
provider = "replicated"
members = ["m", { name = "x", store = { provider = "memory", metrics = true } }]
tracing = true
"#,
    )
    .unwrap();
    let m = &ok.get("m").unwrap().settings;
    assert_eq!(
        m.limits.as_ref().unwrap().in_flight.map(|n| n.get()),
        Some(4)
    );
    assert_eq!(m.deadline, Some(Duration::from_secs(30)));
    assert!(m.metrics && m.tracing);
    assert!(ok.get("r").unwrap().settings.tracing);
    let opened = ok.open("r").unwrap().to_string();
    assert!(
        opened.starts_with("ObservedStore(ReplicatedStore(")
            && opened.contains("ObservedStore(LimitedStore(LimitStore(4, InMemory")
            && opened.contains("ObservedStore(InMemory"),
        "{opened}"
    );

    let cases = [
        ("limits = { in_flight = 0 }", "limits.in_flight"),
        (
            "limits = { in_flight = 2, burst = 3 }",
            "unknown field `burst`",
        ),
        (
            "limits = { requests_per_second = -1 }",
            "limits.requests_per_second",
        ),
        (
            "limits = { bytes_per_second = 0 }",
            "limits.bytes_per_second",
        ),
        ("deadline = \"soon\"", "`soon` is not a duration"),
        ("deadline = \"0s\"", "key `deadline`"),
        ("metrics = \"yes\"", "key `metrics`"),
        ("metric = true", "a setting every store has: `limits`"),
    ];
    for (line, expected) in cases {
        let message = err(&format!("[stores.m]\nprovider = \"memory\"\n{line}\n"));
        assert!(message.contains(expected), "{line}: {message}");
        assert!(message.contains("stores.toml"), "{line}: {message}");
    }
    // Inline: the key is named under the member.
    let message = err(
        "[stores.r]\nprovider = \"replicated\"\nmembers = [{ name = \"x\", store = { provider = \"memory\", limits = { in_flight = 0 } } }]\n",
    );
    assert!(
        message.contains("members[0].store.limits.in_flight"),
        "{message}"
    );
}

#[cfg(feature = "aws")]
#[test]
fn a_request_timeout_at_or_above_the_retry_budget_is_refused() {
    let s3 = |rest: &str| {
        format!("[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n{rest}\n")
    };
    let message = err(&s3("options = { timeout = \"5m\" }"));
    assert!(
        message.contains("options.timeout") && message.contains("retry budget of 180s"),
        "{message}"
    );
    let message = err(&s3(
        "options = { timeout = \"30s\" }\nretry = { retry_timeout = \"20s\" }",
    ));
    assert!(message.contains("retry budget of 20s"), "{message}");
    config(&s3(
        "options = { timeout = \"30s\" }\nretry = { retry_timeout = \"2m\" }",
    ))
    .unwrap();
    // One attempt, said so.
    config(&s3(
        "options = { timeout = \"5m\" }\nretry = { max_retries = 0 }",
    ))
    .unwrap();
}

fn limited(limits: Limits, deadline: Option<Duration>) -> (Arc<dyn ObjectStore>, Arc<FaultyStore>) {
    let faulty = Arc::new(FaultyStore::new(Arc::new(InMemory::new())));
    let mut settings = StoreSettings::default();
    settings.limits = Some(limits);
    settings.deadline = deadline;
    (settings.apply("limited", faulty.clone()), faulty)
}

#[tokio::test]
async fn in_flight_never_passes_its_limit() {
    let mut limits = Limits::default();
    limits.in_flight = std::num::NonZeroUsize::new(3);
    let (store, faulty) = limited(limits, None);
    faulty.inject(Fault::delay(Op::Put, Duration::from_millis(20)));
    faulty.inject(Fault::delay(Op::Get, Duration::from_millis(20)));
    let puts = (0..24).map(|i| {
        let store = Arc::clone(&store);
        async move { store.put(&Path::from(format!("k{i}")), "v".into()).await }
    });
    futures::future::try_join_all(puts).await.unwrap();
    let gets = (0..24).map(|i| {
        let store = Arc::clone(&store);
        async move { store.get(&Path::from(format!("k{i}"))).await?.bytes().await }
    });
    futures::future::try_join_all(gets).await.unwrap();
    assert_eq!(faulty.peak_in_flight(), 3, "at most 3, and 3 were reached");

    // Without the limit the same load runs all at once.
    let (store, faulty) = limited(Limits::default(), None);
    faulty.inject(Fault::delay(Op::Put, Duration::from_millis(20)));
    let puts = (0..24).map(|i| {
        let store = Arc::clone(&store);
        async move { store.put(&Path::from(format!("k{i}")), "v".into()).await }
    });
    futures::future::try_join_all(puts).await.unwrap();
    assert_eq!(faulty.peak_in_flight(), 24);
}

#[tokio::test]
async fn an_operation_past_its_deadline_fails_naming_it() {
    let (store, faulty) = limited(Limits::default(), Some(Duration::from_millis(50)));
    faulty.inject(Fault::delay(Op::Put, Duration::from_secs(5)));
    let err = store
        .put(&Path::from("k"), "v".into())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("deadline (50ms)"), "{err}");
    faulty.clear();
    store.put(&Path::from("k"), "v".into()).await.unwrap();
}

/// The metrics a run recorded: (name, labels, value).
fn recorded(recorder: &DebuggingRecorder) -> Vec<(String, BTreeMap<String, String>, DebugValue)> {
    recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            let labels = key
                .labels()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            (key.name().to_string(), labels, value)
        })
        .collect()
}

fn counter(
    metrics: &[(String, BTreeMap<String, String>, DebugValue)],
    name: &str,
    labels: &[(&str, &str)],
) -> u64 {
    metrics
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| match value {
            DebugValue::Counter(c) => *c,
            other => panic!("{name} is {other:?}"),
        })
        .sum()
}

#[test]
fn metrics_count_operations_outcomes_bytes_and_time_per_store() {
    let recorder = DebuggingRecorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let config = config("[stores.m]\nprovider = \"memory\"\nmetrics = true\n").unwrap();
            let store = config.open("m").unwrap();
            store.put(&Path::from("a"), "12345".into()).await.unwrap();
            store.put(&Path::from("b"), "123".into()).await.unwrap();
            let body = store
                .get(&Path::from("a"))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(body.len(), 5);
            assert!(store.get(&Path::from("nope")).await.is_err());
            let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
            assert_eq!(listed.len(), 2);
            store.delete(&Path::from("b")).await.unwrap();
        })
    });
    let metrics = recorded(&recorder);
    let ops = "stratus_operations_total";
    let m = ("store", "m");
    assert_eq!(
        counter(&metrics, ops, &[m, ("operation", "put"), ("outcome", "ok")]),
        2
    );
    assert_eq!(
        counter(&metrics, ops, &[m, ("operation", "get"), ("outcome", "ok")]),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            ops,
            &[m, ("operation", "get"), ("outcome", "not_found")]
        ),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            ops,
            &[m, ("operation", "list"), ("outcome", "ok")]
        ),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            ops,
            &[m, ("operation", "delete"), ("outcome", "ok")]
        ),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            "stratus_bytes_total",
            &[m, ("direction", "written")]
        ),
        8
    );
    assert_eq!(
        counter(&metrics, "stratus_bytes_total", &[m, ("direction", "read")]),
        5
    );
    for (name, labels, value) in &metrics {
        match (name.as_str(), value) {
            ("stratus_operations_in_flight", DebugValue::Gauge(g)) => {
                assert_eq!(g.into_inner(), 0.0, "{labels:?}: all ended")
            }
            ("stratus_operation_duration_seconds", DebugValue::Histogram(h)) => {
                assert!(!h.is_empty(), "{labels:?}")
            }
            ("stratus_operations_total" | "stratus_bytes_total", DebugValue::Counter(_)) => {}
            other => panic!("undocumented metric {other:?}"),
        }
    }
}

/// Spans as a subscriber saw them: name, fields, parent.
#[derive(Clone, Debug, Default)]
struct Seen {
    fields: BTreeMap<String, String>,
    parent: Option<u64>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<BTreeMap<u64, Seen>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            format!("{value:?}").trim_matches('"').to_string(),
        );
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = Seen {
            parent: ctx
                .span(id)
                .and_then(|s| s.parent())
                .map(|p| p.id().into_u64()),
            ..Seen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        self.0.lock().unwrap().insert(id.into_u64(), seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(seen) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
}

#[test]
fn a_span_per_operation_with_its_fields_and_a_composite_holds_its_members() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let config = config(
                "[stores.a]\nprovider = \"memory\"\ntracing = true\n\
                 [stores.r]\nprovider = \"replicated\"\ntracing = true\n\
                 members = [\"a\", { name = \"b\", store = { provider = \"memory\", tracing = true } }]\n",
            )
            .unwrap();
            let store = config.open("r").unwrap();
            store.put(&Path::from("dir/k"), "hello".into()).await.unwrap();
            assert!(store.get(&Path::from("missing")).await.is_err());
        })
    });
    let spans = capture.0.lock().unwrap().clone();
    let find = |store: &str, operation: &str| {
        spans
            .iter()
            .filter(|(_, s)| {
                s.fields.get("store").map(String::as_str) == Some(store)
                    && s.fields.get("operation").map(String::as_str) == Some(operation)
            })
            .map(|(id, s)| (*id, s.clone()))
            .collect::<Vec<_>>()
    };
    let put = find("r", "put");
    assert_eq!(put.len(), 1, "{spans:?}");
    let (put_id, put) = &put[0];
    assert_eq!(put.fields["key"], "dir/k");
    assert_eq!(put.fields["bytes"], "5");
    assert_eq!(put.fields["outcome"], "ok");
    for member in ["a", "b"] {
        let spans = find(member, "put");
        assert_eq!(spans.len(), 1, "{member}");
        assert_eq!(
            spans[0].1.parent,
            Some(*put_id),
            "{member}'s span is in r's"
        );
    }
    let get = find("r", "get");
    assert_eq!(get[0].1.fields["outcome"], "not_found");
}

/// Credentials appear in no span field, metric label or `Display`: an S3 store with a
/// secret key, observed both ways, whose requests fail (nothing listens).
#[cfg(feature = "aws")]
#[test]
fn no_secret_in_spans_metrics_or_names() {
    const SECRET: &str = "SECRETxyzSECRETxyz0123456789";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // closed when dropped: connections are refused
    let toml = format!(
        "[stores.s3]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
         endpoint = \"http://127.0.0.1:{port}\"\nallow_http = true\naccess_key_id = \"AKIA\"\n\
         secret_access_key = \"{SECRET}\"\nretry = {{ max_retries = 0 }}\n\
         metrics = true\ntracing = true\n"
    );
    let capture = Capture::default();
    let recorder = DebuggingRecorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let shown = tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async {
                let store = config(&toml).unwrap().open("s3").unwrap();
                let err = store.get(&Path::from("k")).await.unwrap_err();
                let listed = store.list(None).next().await;
                format!("{store} {store:?} {err} {err:?} {listed:?}")
            })
        })
    });
    assert!(!shown.contains(SECRET), "{shown}");
    let spans = capture.0.lock().unwrap().clone();
    assert!(!spans.is_empty());
    for seen in spans.values() {
        for value in seen.fields.values() {
            assert!(!value.contains(SECRET), "{seen:?}");
        }
    }
    let metrics = recorded(&recorder);
    assert!(!metrics.is_empty());
    for (name, labels, _) in &metrics {
        for value in labels.values() {
            assert!(!value.contains(SECRET), "{name} {labels:?}");
        }
    }
}

/// The requests counted for a store equal what the server logged: moto logs every
/// request (`"METHOD /path?query HTTP/1.1"`); the ones under this test's unique prefix
/// are this store's.
#[cfg(feature = "aws")]
#[tokio::test]
async fn request_counts_equal_what_the_server_saw() {
    use stratus::requests::RequestKind;
    let prefix = common::unique_prefix("requests");
    let Some(table) = common::Backend::Moto.store_toml(&prefix) else {
        return;
    };
    let Ok(log) = std::env::var("STRATUS_TEST_MOTO_LOG") else {
        assert!(
            std::env::var("STRATUS_REQUIRE_EMULATORS").as_deref() != Ok("1"),
            "STRATUS_TEST_MOTO_LOG is not set: start the emulators with scripts/emulators.sh"
        );
        return;
    };
    // Counts are per store name, in the book of the config that opened the store.
    let name = "counted";
    let loaded = config(&format!("[stores.{name}]\n{table}")).unwrap();
    let store = loaded.open(name).unwrap();
    for i in 0..5 {
        store
            .put(&Path::from(format!("k{i}")), vec![7u8; 100].into())
            .await
            .unwrap();
    }
    store
        .get(&Path::from("k0"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    store.head(&Path::from("k1")).await.unwrap();
    assert!(store.head(&Path::from("nope")).await.is_err());
    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert_eq!(listed.len(), 5);
    // (Not a delete: S3's batch delete names its keys in the body, which the log does
    // not show. `RequestKind::of` is checked on its request shape below.)
    let mut upload = store.put_multipart(&Path::from("big")).await.unwrap();
    upload
        .put_part(vec![1u8; 5 * 1024 * 1024].into())
        .await
        .unwrap();
    upload.complete().await.unwrap();

    let counted = loaded.requests().of(name);
    let other = config(&format!("[stores.{name}]\n{table}")).unwrap();
    assert_eq!(
        other.requests().of(name).total(),
        0,
        "another config's book is its own"
    );
    // moto's log: each line `... "METHOD PATH?QUERY HTTP/1.1" STATUS -`, the prefix in
    // the path (objects) or, URL-encoded, in the query (listings).
    let encoded = prefix.replace('/', "%2F");
    let mut lines = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(&log).unwrap();
        lines = text
            .lines()
            .filter(|l| l.contains(&prefix) || l.contains(&encoded))
            .map(str::to_string)
            .collect();
        if lines.len() as u64 >= counted.total() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut by_kind: BTreeMap<RequestKind, u64> = BTreeMap::new();
    // Requests the server failed with a 5xx were retried by the client (moto answers a
    // listing that races another test's deletes in the shared bucket with a 500): each
    // is one request more than the operations below asked for, seen by both sides.
    let mut retried: BTreeMap<RequestKind, u64> = BTreeMap::new();
    for line in &lines {
        // moto colours the request of an error status (ANSI escapes around it).
        let plain: String = line
            .split('\u{1b}')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once('m').map_or("", |(_, rest)| rest)
                }
            })
            .collect();
        let request = plain.split('"').nth(1).unwrap_or_default();
        let mut words = request.split(' ');
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let kind = RequestKind::of(method, path, query);
        *by_kind.entry(kind).or_default() += 1;
        let status = plain.split('"').nth(2).unwrap_or_default().trim();
        if status.starts_with('5') {
            *retried.entry(kind).or_default() += 1;
        }
    }
    for kind in [
        RequestKind::Put,
        RequestKind::Get,
        RequestKind::Head,
        RequestKind::List,
        RequestKind::Delete,
        RequestKind::Multipart,
    ] {
        assert_eq!(
            by_kind.get(&kind).copied().unwrap_or(0),
            counted.get(kind),
            "{kind:?}: the server saw {lines:#?}"
        );
    }
    assert_eq!(lines.len() as u64, counted.total(), "{lines:#?}");
    let asked = |kind: RequestKind| counted.get(kind) - retried.get(&kind).copied().unwrap_or(0);
    assert_eq!(asked(RequestKind::Put), 5);
    assert_eq!(asked(RequestKind::Get), 1);
    assert_eq!(asked(RequestKind::Head), 2);
    assert_eq!(asked(RequestKind::List), 1);
    assert_eq!(asked(RequestKind::Delete), 0);
    assert_eq!(asked(RequestKind::Multipart), 3, "create, part, complete");
}

#[test]
fn request_kinds_by_their_shape_on_each_provider() {
    use stratus::requests::RequestKind::{self, *};
    let cases: &[(&str, &str, &str, RequestKind)] = &[
        ("GET", "/b", "list-type=2&prefix=p%2F", List),
        ("GET", "/b/k", "", Get),
        ("HEAD", "/b/k", "", Head),
        ("PUT", "/b/k", "", Put),
        ("POST", "/b", "delete", Delete),
        ("DELETE", "/b/k", "", Delete),
        ("POST", "/b/k", "uploads=", Multipart),
        ("PUT", "/b/k", "partNumber=1&uploadId=x", Multipart),
        ("POST", "/b/k", "uploadId=x", Multipart),
        ("DELETE", "/b/k", "uploadId=x", Multipart),
        // Azure
        (
            "GET",
            "/account/c",
            "restype=container&comp=list&prefix=p",
            List,
        ),
        ("PUT", "/account/c/k", "comp=block&blockid=AA", Multipart),
        ("PUT", "/account/c/k", "comp=blocklist", Multipart),
        // GCS's JSON listing, and a token request
        ("GET", "/storage/v1/b/bucket/o", "prefix=p", List),
        ("POST", "/token", "", Other),
    ];
    for (method, path, query, kind) in cases {
        assert_eq!(
            RequestKind::of(method, path, query),
            *kind,
            "{method} {path}?{query}"
        );
    }
}

/// An operation the caller drops before its answer leaves the in-flight gauge, counted
/// as `cancelled`.
#[test]
fn a_dropped_operation_is_counted_cancelled_and_leaves_the_gauge() {
    let recorder = DebuggingRecorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let faulty = Arc::new(FaultyStore::new(Arc::new(InMemory::new())));
            faulty.inject(Fault::delay(Op::Put, Duration::from_secs(5)));
            let mut settings = StoreSettings::default();
            settings.metrics = true;
            let store = settings.apply("slow", faulty);
            let key = Path::from("k");
            let put = store.put(&key, "v".into());
            assert!(tokio::time::timeout(Duration::from_millis(20), put)
                .await
                .is_err());
        })
    });
    let metrics = recorded(&recorder);
    let cancelled = [
        ("store", "slow"),
        ("operation", "put"),
        ("outcome", "cancelled"),
    ];
    assert_eq!(counter(&metrics, "stratus_operations_total", &cancelled), 1);
    let gauge = metrics
        .iter()
        .find(|(n, _, _)| n == "stratus_operations_in_flight")
        .map(|(_, _, v)| v);
    assert!(
        matches!(gauge, Some(DebugValue::Gauge(g)) if g.into_inner() == 0.0),
        "{gauge:?}"
    );
}
