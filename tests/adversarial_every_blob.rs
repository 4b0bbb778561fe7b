//! Adversarial review of 2379d98 ("billed: --every-blob reads every Azure block blob's
//! block list"): `Billed::uploads_per_object`, `AzureBilled::staged_uploads`,
//! `HiddenOptions::uploads_per_object`, `ScanOptions::uploads_per_object`, and the CLI's
//! `--every-blob`. Against a canned server on 127.0.0.1 (tests/common/canned.rs) and, where
//! the emulators run, against the Azure SDK on Azurite.
//!
//! Findings (failing at 2379d98): a name with a dot segment (`a/../b`) reads another
//! blob's block list; a blob given twice as current is counted twice; `scan_hidden` drops
//! `uploads_not_seen` for any `Billed` when `uploads_per_object` is set, even one that
//! keeps the default; blocks staged on a committed blob are said begun at its last
//! commit (stale, `oldest`); a failing `Get Block List` does not name its blob. Fixed
//! the same day: a name with a dot segment is refused naming it, a blob's second current
//! entry is refused as given again, `Billed::uploads_per_object_not_seen` (by default
//! `uploads_not_seen`) says what the per-object listing misses, such uploads have no
//! start (`Upload::initiated` is `None`: counted, not in `oldest` or `stale`, said in
//! `not_seen`), and a failed `Get Block List` names its blob.
//! Held up: counts against the Azure SDK on Azurite (every kind of blob, odd names, per
//! prefix, `not_seen`), a blob gone before its block list, no block list for snapshots,
//! deleted, noncurrent, append or page blobs, the `Redacted` wrapper and `inventory::scan`
//! (also part 1 of 2) forward the flag, exact repeats refused, hostile block lists refused
//! with control characters escaped, memory bounded by the concurrency, the CLI flag
//! refused without `--billed` and inert on S3.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::alloc::{peak_since, reset_peak, Counting, HEAVY};
use common::billed::{list_blobs_page as page, WITH_AZURE_KEY as WITH_KEY};
use common::canned::{ok, Reply, Server};
use futures::stream::BoxStream;
use futures::TryStreamExt;
use serde_json::Value;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use stratus::billed::{Billed, Upload, VersionEntry};
use stratus::inventory::hidden::{scan_hidden, Hidden, HiddenOptions};
use stratus::Config;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---- helpers ----

/// A `<Blob>` of a `List Blobs` page: `name` (raw XML), `extra` elements before
/// `Properties` (VersionId, Snapshot...), `size`, `modified` (RFC 2822), `kind`.
fn blob_xml(name: &str, extra: &str, size: u64, modified: &str, kind: &str) -> String {
    format!(
        "<Blob><Name>{name}</Name>{extra}<Properties><Creation-Time>{modified}</Creation-Time>\
         <Last-Modified>{modified}</Last-Modified><Content-Length>{size}</Content-Length>\
         <BlobType>{kind}</BlobType></Properties></Blob>"
    )
}

const RECENT: &str = "Mon, 07 Dec 2026 09:00:00 GMT";

/// A block list of `sizes` uncommitted blocks (and one committed block).
fn block_list(sizes: &[u64]) -> String {
    let blocks: String = sizes
        .iter()
        .map(|s| format!("<Block><Name>QQ==</Name><Size>{s}</Size></Block>"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><CommittedBlocks><Block><Name>Qg==</Name>\
         <Size>9</Size></Block></CommittedBlocks><UncommittedBlocks>{blocks}</UncommittedBlocks></BlockList>"
    )
}

async fn per_object(billed: &dyn Billed) -> stratus::Result<Vec<Upload>> {
    tokio::time::timeout(
        Duration::from_secs(60),
        billed.uploads_per_object(None, 8).try_collect(),
    )
    .await
    .expect("the listing ends")
}

fn options(per_object: bool) -> HiddenOptions {
    HiddenOptions::new(Utc::now())
        .with_prefixes(1, 100)
        .with_uploads_per_object(per_object)
}

fn keys(uploads: &[Upload]) -> Vec<(String, u64, u64)> {
    let mut v: Vec<_> = uploads
        .iter()
        .map(|u| (u.key.clone(), u.parts, u.bytes))
        .collect();
    v.sort();
    v
}

/// Control characters other than a newline (an error may span lines).
fn controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect()
}

// ---- 1. exact counts ----

/// HELD UP. On Azurite, against the Azure SDK: a committed blob with staged blocks, a
/// committed blob without, an uncommitted-only blob, an empty committed blob with staged
/// blocks, a blob whose staged blocks were then committed (none left), an append blob
/// and a page blob with bytes, a snapshot of a blob with staged blocks, a blob with
/// staged blocks then deleted, and odd names (space, `%`, `+`, `ü`, `#`, `?`, a
/// control character, `&lt;`). With `uploads_per_object`: (count, blocks, bytes) and the
/// per-prefix totals equal the SDK's sum of every listed blob's uncommitted block list;
/// without: only the blobs of length 0. `not_seen` names committed blobs exactly when
/// `uploads_per_object` is off.
#[tokio::test]
async fn every_kind_of_blob_on_azurite_counts_as_the_azure_sdk_does() {
    if common::Backend::Azurite.endpoint().is_none() {
        return;
    }
    let container = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let prefix = common::unique_prefix("every-kinds");
    let script = r#"
P = os.environ["PREFIX"] + "/"
def stage(name, sizes, commit=None):
    b = c.get_blob_client(P + name)
    if commit is not None:
        b.upload_blob(commit, overwrite=True)
    for i, s in enumerate(sizes):
        b.stage_block("%08d" % i, b"s" * s)
    return b
stage("a/committed+staged", [10, 20], b"committed")
stage("a/committed", [], b"plain")
stage("b/only staged", [5, 6, 7])
stage("b/empty+staged", [3], b"")
done = stage("c/restaged", [4, 4], b"x")
done.commit_block_list(["00000000", "00000001"])
app = c.get_blob_client(P + "c/app.log"); app.create_append_blob(); app.append_block(b"appended")
pg = c.get_blob_client(P + "c/disk.vhd"); pg.create_page_blob(1024); pg.upload_page(b"p" * 512, offset=0, length=512)
snap = stage("d/snapped", [11], b"snap me")
snap.create_snapshot()
gone = stage("d/gone", [12], b"gone")
gone.delete_blob(delete_snapshots="include")
for name in ["e/sp ace", "e/per%cent", "e/pl+us", "e/ü", "e/ha#sh", "e/qu?ery", "e/lt<gt>amp&"]:
    stage(name, [1, 2], b"odd")
stage("e/only-odd ü%", [9])
out = {"every": [0, 0, 0], "every_by_prefix": {}, "empty": [0, 0, 0], "empty_by_prefix": {}}
def add(key, name, staged):
    size = sum(b.size for b in staged)
    out[key][0] += 1; out[key][1] += len(staged); out[key][2] += size
    top = name[len(P):].split("/")[0]
    e = out[key + "_by_prefix"].setdefault(top, [0, 0]); e[0] += 1; e[1] += size
for x in c.list_blobs(name_starts_with=P, include=["uncommittedblobs"]):
    if x.blob_type != "BlockBlob":
        continue
    staged = c.get_blob_client(x.name).get_block_list("uncommitted")[1]
    if staged:
        add("every", x.name, staged)
        if x.size == 0:
            add("empty", x.name, staged)
print(json.dumps(out))
"#;
    let expected: Value =
        serde_json::from_str(&common::azure_sdk(&container, &prefix, script, &[])).unwrap();
    let toml = common::Backend::Azurite.store_toml(&prefix).unwrap();
    let config = Config::from_toml(&format!("[stores.az]\n{toml}"), "t.toml", ".").unwrap();
    let billed = config.billed("az").unwrap();
    let by_prefix = |hidden: &Hidden| -> Value {
        let map: serde_json::Map<String, Value> = hidden
            .uploads
            .as_ref()
            .unwrap()
            .prefixes
            .entries()
            .into_iter()
            .filter(|e| e.depth == 1)
            .map(|e| (e.prefix, serde_json::json!([e.objects, e.bytes])))
            .collect();
        Value::Object(map)
    };
    let totals = |hidden: &Hidden| -> Value {
        let u = hidden.uploads.as_ref().unwrap();
        serde_json::json!([u.uploads.objects, u.parts, u.uploads.bytes])
    };
    let every = scan_hidden(billed.as_ref(), &options(true)).await.unwrap();
    let empty = scan_hidden(billed.as_ref(), &options(false)).await.unwrap();
    assert_eq!(totals(&every), expected["every"], "{expected}");
    assert_eq!(by_prefix(&every), expected["every_by_prefix"], "{expected}");
    assert_eq!(totals(&empty), expected["empty"], "{expected}");
    assert_eq!(by_prefix(&empty), expected["empty_by_prefix"], "{expected}");
    // Sanity: the history really has blocks staged on committed blobs.
    assert!(expected["every"][0].as_u64() > expected["empty"][0].as_u64());
    let said = |h: &Hidden| h.not_seen.iter().any(|n| n.contains("committed bytes"));
    assert!(!said(&every), "{:?}", every.not_seen);
    assert!(said(&empty), "{:?}", empty.not_seen);
}

/// HELD UP. A blob deleted between the listing and its `Get Block List` (404
/// `BlobNotFound`), with `uploads_per_object`: not an error, not an upload; the others
/// are counted.
#[tokio::test]
async fn a_blob_gone_before_its_block_list_is_not_an_error() {
    let server = Server::start(|r| match r.q("comp") {
        Some("list") => ok(page(
            &format!(
                "{}{}",
                blob_xml("gone", "", 100, RECENT, "BlockBlob"),
                blob_xml("kept", "", 100, RECENT, "BlockBlob")
            ),
            None,
        )),
        _ if r.path == "/c/gone" => Reply::Body(
            404,
            Arc::new(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>BlobNotFound</Code><Message>gone</Message></Error>".to_vec()),
        ),
        _ => ok(block_list(&[7])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let uploads = per_object(billed.as_ref()).await.unwrap();
    assert_eq!(keys(&uploads), [("kept".to_string(), 1, 7)]);
}

/// HELD UP. Snapshots, soft-deleted blobs, noncurrent versions, append and page blobs
/// (even if the server answered their block lists) and committed blobs with no staged
/// blocks are never uploads, and no `Get Block List` is sent for the non-current ones or
/// for append/page blobs.
#[tokio::test]
async fn only_current_block_blobs_are_read() {
    let items = [
        blob_xml(
            "a",
            "<Snapshot>2026-12-01T10:00:00.0000000Z</Snapshot>",
            5,
            RECENT,
            "BlockBlob",
        ),
        blob_xml("a", "", 5, RECENT, "BlockBlob"),
        blob_xml("b", "<Deleted>true</Deleted>", 5, RECENT, "BlockBlob"),
        blob_xml(
            "c",
            "<VersionId>2026-12-01T09:00:00.0000000Z</VersionId>",
            5,
            RECENT,
            "BlockBlob",
        ),
        blob_xml("d", "", 5, RECENT, "AppendBlob"),
        blob_xml("e", "", 512, RECENT, "PageBlob"),
        blob_xml("f", "", 5, RECENT, "BlockBlob"),
    ]
    .concat();
    let server = Server::start(move |r| match r.q("comp") {
        Some("list") => ok(page(&items, None)),
        _ if r.path == "/c/f" => ok(block_list(&[])),
        _ => ok(block_list(&[1000])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let uploads = per_object(billed.as_ref()).await.unwrap();
    assert_eq!(keys(&uploads), [("a".to_string(), 1, 1000)]);
    let asked: Vec<String> = server
        .received()
        .into_iter()
        .filter(|r| r.q("comp") == Some("blocklist"))
        .map(|r| r.path)
        .collect();
    let mut asked_sorted = asked.clone();
    asked_sorted.sort();
    assert_eq!(
        asked_sorted,
        ["/c/a", "/c/f"],
        "block lists asked: {asked:?}"
    );
}

// ---- 2. wrappers and not_seen ----

/// HELD UP. `Config::billed` of a store with a SAS token (so the `Redacted` wrapper is
/// in place: src/config/store.rs `billed_labelled`) forwards `uploads_per_object`: the
/// blocks staged on a committed blob are counted through it and through
/// `inventory::scan` (`ScanOptions::with_uploads_per_object`, also as part 1 of 2), and
/// every request is counted in the store's requests.
#[tokio::test]
async fn the_redacting_wrapper_and_the_scan_forward_per_object() {
    let server = Server::start(|r| match r.q("comp") {
        Some("list") if r.q("include") == Some("uncommittedblobs") => ok(page(
            &blob_xml("k/committed", "", 100, RECENT, "BlockBlob"),
            None,
        )),
        Some("list") => ok(page("", None)),
        _ => ok(block_list(&[7, 8])),
    })
    .await;
    let config = server.azure_config("sas_token = \"sv=2022-11-02&sr=c&sp=rl&sig=SIGxyz\"\n");
    let billed = config.billed("az").unwrap();
    let uploads = per_object(billed.as_ref()).await.unwrap();
    assert_eq!(keys(&uploads), [("k/committed".to_string(), 2, 15)]);
    let store: Arc<dyn object_store::ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    for part in [None, Some((1usize, 2usize))] {
        let mut o = stratus::inventory::ScanOptions::default()
            .with_hidden(Arc::clone(&billed))
            .with_uploads_per_object(true);
        if let Some((k, n)) = part {
            o = o.with_part(k, n);
        }
        let report = stratus::inventory::scan(store.as_ref(), None, &o)
            .await
            .unwrap();
        let hidden = report.hidden.unwrap();
        let u = hidden.uploads.unwrap();
        assert_eq!(
            (u.uploads.objects, u.parts, u.uploads.bytes),
            (1, 2, 15),
            "{part:?}"
        );
        assert!(
            !hidden
                .not_seen
                .iter()
                .any(|n| n.contains("committed bytes")),
            "{:?}",
            hidden.not_seen
        );
    }
}

/// A wrapper as any user of the public `Billed` trait wrote it before this change: it
/// forwards everything it knew of, `uploads_not_seen` included, but not the new
/// `uploads_per_object` (which has a default, so it still compiles).
#[derive(Debug)]
struct Forwarding(Arc<dyn Billed>);

impl std::fmt::Display for Forwarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait::async_trait]
impl Billed for Forwarding {
    fn versions<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, stratus::Result<VersionEntry>> {
        self.0.versions(prefix)
    }
    fn uploads<'a>(&'a self, prefix: Option<&'a str>) -> BoxStream<'a, stratus::Result<Upload>> {
        self.0.uploads(prefix)
    }
    fn uploads_not_seen(&self) -> Option<String> {
        self.0.uploads_not_seen()
    }
    fn aborts_uploads(&self) -> bool {
        self.0.aborts_uploads()
    }
    fn provider(&self) -> Option<&'static str> {
        self.0.provider()
    }
    async fn abort(&self, upload: &Upload) -> stratus::Result<bool> {
        self.0.abort(upload).await
    }
}

/// FINDING, fixed (not_seen mis-said, silent under-count). `scan_hidden` drops
/// `uploads_not_seen()` whenever `options.uploads_per_object` is set
/// (src/inventory/hidden.rs, `scan_hidden`), whether or not the `Billed` actually reads
/// per object. A `Billed` that says something is not seen but keeps the default
/// `uploads_per_object` (= `uploads`) — any wrapper written against the public trait
/// before this change, e.g. one like `Meanwhile`/`OneListing` in tests/billed.rs that
/// also forwards `uploads_not_seen` — gets neither the blocks staged on committed blobs
/// nor the sentence saying they were not looked at. In src/ the only wrapper
/// (`Redacted`) forwards both, so the CLI is not affected today.
#[tokio::test]
async fn a_wrapper_without_per_object_still_says_what_it_did_not_see() {
    let server = Server::start(|r| match r.q("comp") {
        Some("list") if r.q("include") == Some("uncommittedblobs") => ok(page(
            &blob_xml("committed", "", 100, RECENT, "BlockBlob"),
            None,
        )),
        Some("list") => ok(page("", None)),
        _ => ok(block_list(&[7])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let wrapped = Forwarding(billed);
    let hidden = scan_hidden(&wrapped, &options(true)).await.unwrap();
    let u = hidden.uploads.as_ref().unwrap();
    let said = hidden
        .not_seen
        .iter()
        .any(|n| n.contains("committed bytes"));
    assert!(
        u.uploads.objects == 1 || said,
        "the staged blocks are neither counted ({} uploads) nor said not seen ({:?})",
        u.uploads.objects,
        hidden.not_seen
    );
}

/// FINDING, fixed (mis-said age). With `uploads_per_object` a blob with committed bytes is an
/// upload "begun" at its Last-Modified (src/billed/azure.rs, `staged_uploads`), but
/// `Put Block` does not touch Last-Modified (Azurite: checked below; Azure documents no
/// change either), so a block staged a minute ago on a blob committed a year ago is
/// reported as begun a year ago: `oldest` is the commit time and the upload counts as
/// `stale` (begun more than 7 days before `as_of`), though Azure discards staged blocks
/// a week after the last one is staged. Part 1: the canned server (committed in 2025,
/// report as of 2026-12-07). Part 2: Azurite, commit, 2 s later stage: `oldest` is before
/// the staging.
#[tokio::test]
async fn blocks_staged_today_on_an_old_blob_are_not_said_stale() {
    let server = Server::start(|r| match r.q("comp") {
        Some("list") => ok(page(
            &blob_xml("old", "", 100, "Mon, 01 Dec 2025 09:00:00 GMT", "BlockBlob"),
            None,
        )),
        _ => ok(block_list(&[7])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let as_of = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
    let mut o = HiddenOptions::new(as_of).with_uploads_per_object(true);
    o.versions = false;
    let hidden = scan_hidden(billed.as_ref(), &o).await.unwrap();
    let u = hidden.uploads.unwrap();
    let mut problems = Vec::new();
    if u.stale.objects != 0 {
        problems.push(format!(
            "canned: {} of {} uploads said stale, oldest {:?} (the blocks may have been staged today)",
            u.stale.objects, u.uploads.objects, u.oldest
        ));
    }
    if common::Backend::Azurite.endpoint().is_some() {
        let container = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
        let prefix = common::unique_prefix("every-age");
        let out = common::azure_sdk(
            &container,
            &prefix,
            r#"
import time
b = c.get_blob_client(os.environ["PREFIX"] + "/old")
b.upload_blob(b"committed")
before = b.get_blob_properties().last_modified
time.sleep(2.5)
staged_at = time.time()
b.stage_block("b1", b"y" * 10)
after = b.get_blob_properties().last_modified
print(json.dumps({"staged_at": staged_at, "lm_unchanged": before == after}))
"#,
            &[],
        );
        let out: Value = serde_json::from_str(&out).unwrap();
        let staged_at =
            DateTime::from_timestamp(out["staged_at"].as_f64().unwrap() as i64, 0).unwrap();
        let toml = common::Backend::Azurite.store_toml(&prefix).unwrap();
        let config = Config::from_toml(&format!("[stores.az]\n{toml}"), "t.toml", ".").unwrap();
        let billed = config.billed("az").unwrap();
        let hidden = scan_hidden(billed.as_ref(), &options(true)).await.unwrap();
        if !hidden.not_seen.iter().any(|n| n.contains("does not date")) {
            problems.push(format!(
                "azurite: the undated upload is not said: {:?}",
                hidden.not_seen
            ));
        }
        let oldest = hidden.uploads.unwrap().oldest;
        if let Some(oldest) = oldest.filter(|o| *o < staged_at - chrono::Duration::seconds(1)) {
            problems.push(format!(
                "azurite: oldest {oldest} but the only block was staged at {staged_at} \
                 (Last-Modified unchanged by Put Block: {})",
                out["lm_unchanged"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---- 3. hostile input ----

/// FINDING, fixed (wrong blob read). A blob named with a dot segment (`a/../b`, `./x`: legal
/// Azure names, and object_store refuses to write them, so another client did) is read
/// with `Get Block List` at a path built by `utf8_percent_encode(.., PATH)`
/// (src/billed/azure.rs, `staged`), which leaves `.` and `/` as they are; the HTTP client
/// (reqwest's `Url`) then removes the dot segments, so the request goes to another blob
/// (`/c/b`), whose staged blocks are counted a second time under the dotted name — or,
/// when that blob does not exist, a 404 hides the dotted blob's own blocks. With
/// `uploads_per_object` every committed blob is now read, so any such name counts.
#[tokio::test]
async fn a_dot_segment_name_reads_its_own_block_list() {
    let items = [
        blob_xml("a/../b", "", 10, RECENT, "BlockBlob"),
        blob_xml("b", "", 10, RECENT, "BlockBlob"),
    ]
    .concat();
    let server = Server::start(move |r| match r.q("comp") {
        Some("list") => ok(page(&items, None)),
        // Only `b` has staged blocks; the dotted blob has none.
        _ if r.path == "/c/b" => ok(block_list(&[7])),
        _ => ok(block_list(&[])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let result = per_object(billed.as_ref()).await;
    let asked: Vec<String> = server
        .received()
        .into_iter()
        .filter(|r| r.q("comp") == Some("blocklist"))
        .map(|r| r.path)
        .collect();
    // Exact, or refused naming the blob; never `b`'s blocks read for the dotted name.
    assert!(
        asked.iter().filter(|p| p.as_str() == "/c/b").count() <= 1,
        "block lists asked at {asked:?}"
    );
    match result {
        Ok(uploads) => assert_eq!(keys(&uploads), [("b".to_string(), 1, 7)], "{asked:?}"),
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("a/../b") && e.contains("segment"), "{e}");
        }
    }
}

/// FINDING, fixed (double count, hostile or buggy server). A `List Blobs include=uncommittedblobs`
/// page that gives the same blob twice as current (two version IDs, both
/// `IsCurrentVersion`): `goes_on` only refuses the same *state* twice, so both entries
/// pass, each gets its own `Get Block List` of the same blob, and the blob's staged blocks
/// are counted twice (src/billed/azure.rs, `staged_uploads` / `page`). Without
/// `uploads_per_object` the same happens to empty blobs; with it, to every blob.
#[tokio::test]
async fn a_blob_given_twice_as_current_is_not_counted_twice() {
    let items = [
        blob_xml(
            "x",
            "<VersionId>2026-12-01T09:00:00.0000000Z</VersionId><IsCurrentVersion>true</IsCurrentVersion>",
            10,
            RECENT,
            "BlockBlob",
        ),
        blob_xml(
            "x",
            "<VersionId>2026-12-02T09:00:00.0000000Z</VersionId><IsCurrentVersion>true</IsCurrentVersion>",
            10,
            RECENT,
            "BlockBlob",
        ),
    ]
    .concat();
    let server = Server::start(move |r| match r.q("comp") {
        Some("list") => ok(page(&items, None)),
        _ => ok(block_list(&[7])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    match per_object(billed.as_ref()).await {
        Err(e) => assert!(controls(&e.to_string()).is_empty(), "{e}"),
        Ok(uploads) => assert_eq!(
            keys(&uploads),
            [("x".to_string(), 1, 7)],
            "one blob, one upload (or an error)"
        ),
    }
}

/// HELD UP. A listing that repeats a blob exactly (same page, and across two pages) is
/// refused with an error naming the listing; with `uploads_per_object` as without.
#[tokio::test]
async fn a_blob_repeated_in_the_listing_is_refused() {
    let one = blob_xml("x", "", 10, RECENT, "BlockBlob");
    let same_page = Arc::new(format!("{one}{one}"));
    let s = Arc::clone(&same_page);
    let server = Server::start(move |r| match r.q("comp") {
        Some("list") => ok(page(&s, None)),
        _ => ok(block_list(&[7])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let e = per_object(billed.as_ref()).await.unwrap_err().to_string();
    assert!(e.contains("again"), "{e}");
    drop(server);
    let one2 = one.clone();
    let server = Server::start(move |r| match (r.q("comp"), r.q("marker")) {
        (Some("list"), None) => ok(page(&one2, Some("m1"))),
        (Some("list"), Some(_)) => ok(page(&one2, None)),
        _ => ok(block_list(&[7])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let e = per_object(billed.as_ref()).await.unwrap_err().to_string();
    assert!(e.contains("again"), "{e}");
}

/// HELD UP. Hostile `Get Block List` answers for a committed blob read only with
/// `uploads_per_object`: malformed XML, a size that is not a number and holds escape
/// sequences, an error whose Code/Message hold control characters, a 200 that is not
/// XML at all, a name (encoded, with control characters) whose block list fails: each an
/// error, no panic, and no raw control character in the error's Display or Debug.
#[tokio::test]
async fn hostile_block_lists_are_refused_without_raw_control_characters() {
    let bodies: Vec<(u16, Vec<u8>)> = vec![
        (200, b"<BlockList><UncommittedBlocks><Block><Size>1".to_vec()),
        (
            200,
            b"<BlockList><UncommittedBlocks><Block><Size>\x1b[31m12\x07</Size></Block></UncommittedBlocks></BlockList>".to_vec(),
        ),
        (
            500,
            b"<?xml version=\"1.0\"?><Error><Code>Bad\x1b[2J\x07</Code><Message>line\rover\x1b]0;title\x07</Message></Error>".to_vec(),
        ),
        (200, b"\x00\x01\x02\xff\xfe not xml at all \x1b[0m".to_vec()),
        (200, b"<BlockList><UncommittedBlocks><Block><Size>-5</Size></Block></UncommittedBlocks></BlockList>".to_vec()),
    ];
    for (status, body) in bodies {
        let shown = body.clone();
        let body = Arc::new(body);
        let server = Server::start(move |r| match r.q("comp") {
            Some("list") => ok(page(
                &blob_xml("c%01%1B[31mname", "", 10, RECENT, "BlockBlob")
                    .replace("<Name>", "<Name Encoded=\"true\">"),
                None,
            )),
            _ => Reply::Body(status, Arc::clone(&body)),
        })
        .await;
        let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
        let e = per_object(billed.as_ref()).await.unwrap_err();
        let text = format!("{e}\n{e:?}");
        eprintln!("error shown: {e}");
        assert!(
            controls(&text).is_empty(),
            "body {:?}: control characters {:?} in\n{text}",
            String::from_utf8_lossy(&shown),
            controls(&text)
        );
        // Without per-object reading the committed blob is not read: no error.
        assert!(
            scan_hidden(billed.as_ref(), &options(false)).await.is_ok(),
            "{:?}",
            String::from_utf8_lossy(&shown)
        );
    }
}

/// HELD UP. Memory stays bounded by the concurrency, not by the number of blobs: 64
/// committed blobs each answering a 1 MiB block list of ~36,000 one-byte blocks (64 MiB
/// in all), read with `uploads_per_object`: every one counted, and the peak allocated
/// stays under 32 MiB (8 block lists at once, each read and parsed).
#[tokio::test]
async fn many_huge_block_lists_stay_bounded() {
    let _heavy = HEAVY.lock().await;
    let mut blocks = String::new();
    while blocks.len() < (1 << 20) - 200 {
        blocks.push_str("<Block><Size>1</Size></Block>");
    }
    let count = (blocks.len() / "<Block><Size>1</Size></Block>".len()) as u64;
    let list = Arc::new(
        format!("<BlockList><UncommittedBlocks>{blocks}</UncommittedBlocks></BlockList>")
            .into_bytes(),
    );
    drop(blocks);
    let items: String = (0..64)
        .map(|i| blob_xml(&format!("k{i:03}"), "", 1 << 30, RECENT, "BlockBlob"))
        .collect();
    let served = Arc::clone(&list);
    let server = Server::start(move |r| match r.q("comp") {
        Some("list") => ok(page(&items, None)),
        _ => Reply::Body(200, Arc::clone(&served)),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let before = reset_peak();
    let uploads = per_object(billed.as_ref()).await.unwrap();
    let peak = peak_since(before);
    assert_eq!(uploads.len(), 64);
    assert!(uploads.iter().all(|u| u.parts == count && u.bytes == count));
    let bound = 32 << 20;
    assert!(
        peak < bound,
        "peak {} MB, bound {} MB",
        peak >> 20,
        bound >> 20
    );
}

// ---- 4. the CLI ----

/// HELD UP. `--every-blob` without `--billed` is refused (clap, exit 2, naming
/// `--billed`), also beside `--from-report`; on an S3 store (SeaweedFS) with an
/// unfinished multipart upload, `--billed --every-blob` gives the same hidden section
/// (uploads, parts, bytes, per-prefix, not_seen) as `--billed`.
#[tokio::test]
async fn the_flag_is_refused_alone_and_changes_nothing_on_s3() {
    let Some(endpoint) = common::Backend::SeaweedFs.endpoint() else {
        return;
    };
    use object_store::{MultipartUpload, ObjectStoreExt};
    let (key, secret) = common::seaweed_identity(common::Identity::Admin);
    let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let prefix = common::unique_prefix("every-s3");
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"{bucket}\"\nprefix = \"{prefix}\"\nendpoint = \"{endpoint}\"\n\
         allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\n"
    );
    let config = Config::from_toml(&toml, "t.toml", ".").unwrap();
    let store = config.open("s").unwrap();
    store
        .put(
            &object_store::path::Path::from("d/plain"),
            vec![1u8; 10].into(),
        )
        .await
        .unwrap();
    let mut up = store
        .put_multipart(&object_store::path::Path::from("d/unfinished"))
        .await
        .unwrap();
    up.put_part(vec![7u8; 5 << 20].into()).await.unwrap();
    drop(up);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stores.toml");
    std::fs::write(&file, &toml).unwrap();
    let run = |args: &[&str]| {
        Command::new(common::stratus())
            .arg("--config")
            .arg(&file)
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &["inventory", "s", "--every-blob"][..],
        &["inventory", "s", "--every-blob", "--json"][..],
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--billed"), "{err}");
    }
    let hidden = |args: &[&str]| -> Value {
        let out = run(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut h = report["hidden"].clone();
        h["uploads"]["oldest"] = Value::Null;
        h
    };
    let plain = hidden(&[
        "inventory",
        "s",
        "--billed",
        "--json",
        "--as-of",
        "2026-12-07T00:00:00Z",
    ]);
    let every = hidden(&[
        "inventory",
        "s",
        "--billed",
        "--every-blob",
        "--json",
        "--as-of",
        "2026-12-07T00:00:00Z",
    ]);
    assert_eq!(plain["uploads"]["uploads"]["objects"], 1, "{plain}");
    assert_eq!(plain, every);
}

/// FINDING, fixed (unclear refusal). With `uploads_per_object` a container's every block blob
/// gets a `Get Block List`; when one of them fails (here a 500 for one blob among three),
/// the whole scan fails with `store `az`: listing `` failed: ... Get Block List: 500 ...`,
/// which names neither the blob nor its key, so on a container of millions of blobs the
/// user cannot tell which blob to look at (src/billed/azure.rs, `staged_uploads`: the
/// error of `staged` is wrapped with `listing_error(label, prefix, e)` only).
#[tokio::test]
async fn a_failing_block_list_names_its_blob() {
    let items = [
        blob_xml("a-fine", "", 10, RECENT, "BlockBlob"),
        blob_xml("b-the-broken-one", "", 10, RECENT, "BlockBlob"),
        blob_xml("c-fine", "", 10, RECENT, "BlockBlob"),
    ]
    .concat();
    let server = Server::start(move |r| match r.q("comp") {
        Some("list") => ok(page(&items, None)),
        _ if r.path == "/c/b-the-broken-one" => Reply::Body(
            500,
            Arc::new(b"<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>boom</Message></Error>".to_vec()),
        ),
        _ => ok(block_list(&[7])),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let e = per_object(billed.as_ref()).await.unwrap_err().to_string();
    assert!(
        e.contains("b-the-broken-one"),
        "the error does not name the blob: {e}"
    );
}
