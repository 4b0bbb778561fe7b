//! Review of 84493d2 (`inventory --billed` cuts a large versions listing into key
//! ranges begun at S3's `key-marker` / GCS's `startOffset`), against canned servers
//! that model a whole bucket: every request is answered from one sorted list of
//! entries, paged as S3 (or GCS) pages, so any range stratus asks for is answered.

mod common;

use common::canned::Server;
use std::sync::Arc;
use std::time::Duration;
use stratus::inventory::hidden::{scan_hidden, HiddenOptions, Versions};

/// How a server treats a `key-marker` sent without a `version-id-marker` (what a key
/// range sends; a listing's own next pages always send both).
#[derive(Clone, Copy, Debug)]
enum MarkerAlone {
    /// AWS: the keys after it.
    After,
    /// Ignored: the listing from the prefix's first key (a server that resumes only
    /// from the pair of markers it gave itself).
    Ignored,
    /// Inclusive (Ceph RGW before ceph#60068, tracker 68055): from the marker's own key
    /// when one exists.
    Inclusive,
}

/// One entry: key, version id, XML.
type Entry = (String, String, String);

/// `n` hashed names, each with a current version, then 0..3 noncurrent versions or
/// delete markers (some keys hold delete markers only).
fn bucket(n: u64) -> Vec<Entry> {
    let mut keys: Vec<String> = (0..n)
        .map(|i| format!("{:08x}", i.wrapping_mul(0x9E37_79B9) % (1 << 32)))
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let versions = i % 4;
        let orphaned = i % 7 == 0;
        for j in 0..=versions {
            let latest = j == 0;
            let vid = format!("v{}", versions - j);
            let time = format!("2020-01-{:02}T00:00:00.000Z", 28 - j - (i % 5));
            let xml = if orphaned || (j == 1 && i % 3 == 0) {
                format!(
                    "<DeleteMarker><Key>{key}</Key><VersionId>{vid}</VersionId><IsLatest>{latest}</IsLatest>\
                     <LastModified>{time}</LastModified></DeleteMarker>"
                )
            } else {
                let class = if i % 2 == 0 { "STANDARD" } else { "GLACIER" };
                format!(
                    "<Version><Key>{key}</Key><VersionId>{vid}</VersionId><IsLatest>{latest}</IsLatest>\
                     <LastModified>{time}</LastModified><ETag>\"e\"</ETag><Size>{}</Size>\
                     <StorageClass>{class}</StorageClass></Version>",
                    (i * 37 + j) % 1000 + 1
                )
            };
            out.push((key.clone(), vid, xml));
        }
    }
    out
}

/// A ListObjectVersions server of `entries` (flat keys: the delimiter rolls nothing up),
/// 1,000 entries a page.
async fn s3_server(entries: Vec<Entry>, alone: MarkerAlone) -> Server {
    let entries = Arc::new(entries);
    Server::start(move |r| {
        if r.q("versions").is_none() {
            return (400, format!("unexpected {r:?}").into_bytes());
        }
        let from = match (r.q("key-marker"), r.q("version-id-marker")) {
            (None, _) => 0,
            (Some(k), Some(v)) => entries
                .iter()
                .position(|(key, vid, _)| key == k && vid == v)
                .map_or_else(
                    || entries.partition_point(|(key, ..)| key.as_str() <= k),
                    |i| i + 1,
                ),
            (Some(k), None) => match alone {
                MarkerAlone::After => entries.partition_point(|(key, ..)| key.as_str() <= k),
                MarkerAlone::Ignored => 0,
                MarkerAlone::Inclusive => entries.partition_point(|(key, ..)| key.as_str() < k),
            },
        };
        page_from(&entries, from)
    })
    .await
}

/// The page of `ListObjectVersions` holding `entries` (key, version ID, entry XML) from
/// index `from`, 1,000 at most, and the markers of its last entry when more follow.
fn page_from(entries: &[(String, String, String)], from: usize) -> (u16, Vec<u8>) {
    let to = (from + 1000).min(entries.len());
    let body: String = entries[from..to]
        .iter()
        .map(|(_, _, x)| x.as_str())
        .collect();
    let markers = match to < entries.len() {
        true => format!(
            "<IsTruncated>true</IsTruncated><NextKeyMarker>{}</NextKeyMarker>\
             <NextVersionIdMarker>{}</NextVersionIdMarker>",
            entries[to - 1].0,
            entries[to - 1].1
        ),
        false => "<IsTruncated>false</IsTruncated>".to_string(),
    };
    (
        200,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListVersionsResult \
             xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix></Prefix>\
             {markers}{body}</ListVersionsResult>"
        )
        .into_bytes(),
    )
}

fn options(page_entries: u64, concurrency: usize) -> HiddenOptions {
    let mut o = HiddenOptions::new(chrono::Utc::now())
        .with_concurrency(concurrency)
        .with_prefixes(2, 50);
    o.uploads = false;
    o.page_entries = page_entries;
    o
}

async fn versions(
    billed: &dyn stratus::billed::Billed,
    options: &HiddenOptions,
) -> stratus::Result<Versions> {
    let hidden = tokio::time::timeout(Duration::from_secs(60), scan_hidden(billed, options))
        .await
        .expect("the scan ends")?;
    Ok(hidden.versions.expect("versions listed"))
}

/// The plain sequential listing (never cut: `page_entries` 0, one listing at once) and
/// the default (cut every 1,000 entries, 8 at once) against `server`.
async fn plain_and_ranged(server: &Server) -> (Versions, stratus::Result<Versions>, usize) {
    let billed = server.s3_config("").billed("s").unwrap();
    let plain = versions(billed.as_ref(), &options(0, 1)).await.unwrap();
    let before = server.received().len();
    let ranged = versions(billed.as_ref(), &options(1_000, 8)).await;
    let begun_alone = server.received()[before..]
        .iter()
        .filter(|r| r.q("key-marker").is_some() && r.q("version-id-marker").is_none())
        .count();
    (plain, ranged, begun_alone)
}

/// Held up: an AWS-like server (a key marker alone: the keys after it), 8,000 hashed
/// names of 1 to 4 entries (delete markers only at some) in pages of 1,000 entries: cut
/// into ranges, the sums are the plain listing's, field for field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_like_server_ranges_equal_the_plain_listing() {
    let server = s3_server(bucket(8_000), MarkerAlone::After).await;
    let (plain, ranged, begun) = plain_and_ranged(&server).await;
    assert!(begun > 0, "no key range was begun");
    assert_eq!(ranged.unwrap(), plain);
}

/// FIXED: the first page of a listing begun after a key is not checked against its
/// marker (`billed::s3`); `hidden.rs` skips those keys or lists the folder again uncut.
/// FINDING: a server that ignores a `key-marker` sent without a `version-id-marker`
/// (stratus never sent one alone before this change, except after a page ending on a
/// folder) answers a key range with the listing from its first key. `hidden.rs` is
/// meant to see a key before the offset and list the folder again uncut
/// (`Ranged::Uncut`), but S3's own page check (`s3::goes_on`) turns the first key
/// before the marker into an error ("the server gave `…` again") first: the whole
/// `inventory --billed` fails where the plain listing succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_server_ignoring_a_key_marker_alone_is_listed_again_uncut() {
    let server = s3_server(bucket(8_000), MarkerAlone::Ignored).await;
    let (plain, ranged, begun) = plain_and_ranged(&server).await;
    assert!(begun > 0, "no key range was begun");
    match ranged {
        Ok(ranged) => assert_eq!(ranged, plain),
        Err(e) => panic!("the plain listing succeeds, the ranged scan fails: {e}"),
    }
}

/// A GCS `objects.list?versions=true` server of `names` (each: noncurrent generations
/// then the live one, oldest first as GCS gives them), 1,000 items a page (the page
/// token is the index), `startOffset` honoured (inclusive) or ignored.
async fn gcs_server(names: Vec<String>, honour_start: bool) -> Server {
    let mut items: Vec<(String, String)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let generations = 1 + i % 4;
        for g in 1..=generations {
            let live = g == generations;
            let deleted = match live {
                true => String::new(),
                false => format!(
                    ",\"timeDeleted\":\"2020-01-{:02}T00:00:00Z\"",
                    2 + g + i % 3
                ),
            };
            items.push((
                name.clone(),
                format!(
                    "{{\"name\":\"{name}\",\"size\":\"{}\",\"generation\":\"{g}\",\
                     \"updated\":\"2020-01-{:02}T00:00:00Z\",\"storageClass\":\"{}\"{deleted}}}",
                    (i * 31 + g) % 500 + 1,
                    1 + g + i % 3,
                    if i % 2 == 0 { "STANDARD" } else { "NEARLINE" }
                ),
            ));
        }
    }
    let items = Arc::new(items);
    Server::start(move |r| {
        let prefix = r.q("prefix").unwrap_or_default().to_string();
        let start = match (honour_start, r.q("startOffset")) {
            (true, Some(s)) => s.to_string(),
            _ => String::new(),
        };
        let from: usize = r.q("pageToken").map_or(0, |t| t.parse().unwrap());
        let chosen: Vec<&String> = items
            .iter()
            .filter(|(n, _)| n.starts_with(&prefix) && n.as_str() >= start.as_str())
            .map(|(_, json)| json)
            .collect();
        let to = (from + 1000).min(chosen.len());
        let page: Vec<&str> = chosen[from..to].iter().map(|s| s.as_str()).collect();
        let token = match to < chosen.len() {
            true => format!(",\"nextPageToken\":\"{to}\""),
            false => String::new(),
        };
        (
            200,
            format!("{{\"items\":[{}]{token}}}", page.join(",")).into_bytes(),
        )
    })
    .await
}

fn gcs_billed(server: &Server) -> Arc<dyn stratus::billed::Billed> {
    let toml = format!(
        "[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nservice_account_key = '{{\"disable_oauth\": true, \
         \"client_email\": \"\", \"private_key\": \"\", \"private_key_id\": \"\"}}'\n",
        server.port
    );
    let config = stratus::Config::from_toml(&toml, "test.toml", ".").unwrap();
    config.billed("g").unwrap()
}

fn hashed_names(n: u64) -> Vec<String> {
    let mut names: Vec<String> = (0..n)
        .map(|i| format!("{:08x}", i.wrapping_mul(0x9E37_79B9) % (1 << 32)))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Held up: GCS, `startOffset` honoured (inclusive) or ignored (a range is then given
/// names before its offset, and the listing goes again uncut): the sums are the plain
/// listing's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_ranges_whether_start_offset_is_honoured_or_ignored_equal_the_plain_listing() {
    for honour in [true, false] {
        let server = gcs_server(hashed_names(3_000), honour).await;
        let billed = gcs_billed(&server);
        let plain = versions(billed.as_ref(), &options(0, 1)).await.unwrap();
        let before = server.received().len();
        let ranged = versions(billed.as_ref(), &options(1_000, 8)).await.unwrap();
        let begun = server.received()[before..]
            .iter()
            .filter(|r| r.q("startOffset").is_some())
            .count();
        assert!(begun > 0, "no key range was begun (honour {honour})");
        assert_eq!(ranged, plain, "honour {honour}");
    }
}

/// FIXED (as above). FINDING (narrow): a key range's listing begins at a made-up key
/// just before its start (`ranges::offset`: `…d0~` for a cut `…d1`), which `hidden.rs` means to skip
/// when a server gives it ("a listing may also give keys up to `after`"). Where a key
/// of that very name exists and the server's lone `key-marker` is inclusive (Ceph RGW
/// until 2024), S3's page check calls it a repeat and the scan fails. Found by adding
/// the offsets a first scan asked for as keys, until one scan asks for an offset that
/// is a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_inclusive_key_marker_on_an_existing_offset_key() {
    let mut entries = bucket(8_000);
    for round in 0..6 {
        let server = s3_server(entries.clone(), MarkerAlone::Inclusive).await;
        let billed = server.s3_config("").billed("s").unwrap();
        let plain = versions(billed.as_ref(), &options(0, 1)).await.unwrap();
        let before = server.received().len();
        let ranged = versions(billed.as_ref(), &options(1_000, 8)).await;
        let offsets: Vec<String> = server.received()[before..]
            .iter()
            .filter(|r| r.q("version-id-marker").is_none())
            .filter_map(|r| r.q("key-marker").map(String::from))
            .collect();
        let hit = offsets.iter().any(|o| {
            entries
                .binary_search_by(|(k, ..)| k.as_str().cmp(o))
                .is_ok()
        });
        if hit {
            match ranged {
                Ok(ranged) => assert_eq!(ranged, plain),
                Err(e) => panic!("round {round}: an offset that is a key: {e}"),
            }
            return;
        }
        assert_eq!(ranged.unwrap(), plain);
        for o in offsets {
            let xml = format!(
                "<Version><Key>{o}</Key><VersionId>v0</VersionId><IsLatest>true</IsLatest>\
                 <LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>\"e\"</ETag>\
                 <Size>1</Size><StorageClass>STANDARD</StorageClass></Version>"
            );
            entries.push((o, "v0".into(), xml));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    }
    eprintln!("no offset that is a key was asked for in 6 rounds");
}

/// Held up: keys of 1,500 versions (each over a page, so split across pages and across
/// a block's end) among 4,000 hashed names, and keys of delete markers only: ranges
/// begun at a lone key marker sum as the plain listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_like_server_keys_of_many_versions_across_pages_and_cuts() {
    let mut entries = Vec::new();
    for (i, (key, vid, xml)) in bucket(4_000).into_iter().enumerate() {
        let heavy = i % 700 == 3 && vid.starts_with('v') && xml.contains("<IsLatest>true");
        entries.push((key.clone(), vid, xml));
        if heavy {
            for j in 0..1_500u32 {
                let marker = j % 5 == 4;
                let body = match marker {
                    true => format!(
                        "<DeleteMarker><Key>{key}</Key><VersionId>h{j:04}</VersionId><IsLatest>false</IsLatest>\
                         <LastModified>2019-12-{:02}T{:02}:{:02}:00.000Z</LastModified></DeleteMarker>",
                        28 - j / 1440, 23 - (j / 60) % 24, 59 - j % 60
                    ),
                    false => format!(
                        "<Version><Key>{key}</Key><VersionId>h{j:04}</VersionId><IsLatest>false</IsLatest>\
                         <LastModified>2019-12-{:02}T{:02}:{:02}:00.000Z</LastModified><ETag>\"e\"</ETag>\
                         <Size>{}</Size><StorageClass>DEEP_ARCHIVE</StorageClass></Version>",
                        28 - j / 1440, 23 - (j / 60) % 24, 59 - j % 60, j + 1
                    ),
                };
                entries.push((key.clone(), format!("h{j:04}"), body));
            }
        }
    }
    let server = s3_server(entries, MarkerAlone::After).await;
    let (plain, ranged, begun) = plain_and_ranged(&server).await;
    assert!(begun > 0, "no key range was begun");
    assert!(plain.classes.contains_key("DEEP_ARCHIVE"));
    assert_eq!(ranged.unwrap(), plain);
}
