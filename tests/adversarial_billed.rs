//! `stratus::billed` against a hostile (or merely unusual) S3 server: a tiny HTTP server
//! in the test answers canned XML, and the config's `endpoint` points at it.
//!
//! - AWS's `encoding-type=url` encodes a space as `+` (and `+` as `%2B`);
//! - markers that cycle (A, B, A, ...) end in an error, never a loop;
//! - overlong version IDs and markers are refused;
//! - moto's order (a page's versions, then its delete markers) with a key split across
//!   two pages counts orphaned markers right;
//! - a key outside the prefix asked for is an error, and cleanup never aborts it;
//! - and what held: bodies over 32 MiB, markers repeated, truncated pages without
//!   markers, keys that decode to invalid UTF-8, control characters, retries on 5xx,
//!   request counts, secrets.

mod common;

use common::billed::{all_uploads, all_versions};
use common::canned::Server;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stratus::billed::{cleanup_uploads, Billed, CleanupOptions, Upload};
use stratus::inventory::hidden::{scan_hidden, HiddenOptions};
use stratus::requests::RequestKind;
use stratus::Config;

fn ok(xml: String) -> (u16, Vec<u8>) {
    (200, xml.into_bytes())
}

/// A `ListVersionsResult` page of `entries` (already XML).
fn versions_page(entries: &str, next: Option<(&str, &str)>, url: bool) -> String {
    let (truncated, markers) = match next {
        Some((key, version)) => (
            "true",
            format!("<NextKeyMarker>{key}</NextKeyMarker><NextVersionIdMarker>{version}</NextVersionIdMarker>"),
        ),
        None => ("false", String::new()),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>b</Name><Prefix></Prefix>{}<IsTruncated>{truncated}</IsTruncated>{markers}{entries}</ListVersionsResult>",
        if url { "<EncodingType>url</EncodingType>" } else { "" }
    )
}

fn version(key: &str, id: &str, latest: bool, time: &str, size: u64) -> String {
    format!(
        "<Version><Key>{key}</Key><VersionId>{id}</VersionId><IsLatest>{latest}</IsLatest>\
         <LastModified>{time}</LastModified><ETag>\"e\"</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Version>"
    )
}

fn marker(key: &str, id: &str, latest: bool, time: &str) -> String {
    format!(
        "<DeleteMarker><Key>{key}</Key><VersionId>{id}</VersionId><IsLatest>{latest}</IsLatest>\
         <LastModified>{time}</LastModified></DeleteMarker>"
    )
}

/// A `ListMultipartUploadsResult` page.
fn uploads_page(uploads: &[(&str, &str)], next: Option<(&str, &str)>, url: bool) -> String {
    let entries: String = uploads
        .iter()
        .map(|(key, id)| {
            format!(
                "<Upload><Key>{key}</Key><UploadId>{id}</UploadId>\
                 <Initiated>2010-01-01T00:00:00.000Z</Initiated><StorageClass>STANDARD</StorageClass></Upload>"
            )
        })
        .collect();
    let (truncated, markers) = match next {
        Some((key, id)) => (
            "true",
            format!(
                "<NextKeyMarker>{key}</NextKeyMarker><NextUploadIdMarker>{id}</NextUploadIdMarker>"
            ),
        ),
        None => ("false", String::new()),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListMultipartUploadsResult><Bucket>b</Bucket>{}\
         <IsTruncated>{truncated}</IsTruncated>{markers}{entries}</ListMultipartUploadsResult>",
        if url { "<EncodingType>url</EncodingType>" } else { "" }
    )
}

fn parts_page(sizes: &[u64], next: Option<&str>) -> String {
    let parts: String = sizes
        .iter()
        .enumerate()
        .map(|(n, size)| {
            format!(
                "<Part><PartNumber>{}</PartNumber><Size>{size}</Size></Part>",
                n + 1
            )
        })
        .collect();
    let (truncated, marker) = match next {
        Some(m) => (
            "true",
            format!("<NextPartNumberMarker>{m}</NextPartNumberMarker>"),
        ),
        None => ("false", String::new()),
    };
    format!(
        "<ListPartsResult><IsTruncated>{truncated}</IsTruncated>{marker}{parts}</ListPartsResult>"
    )
}

/// AWS answers `encoding-type=url` with keys form-encoded: a space is `+`, a `+` is
/// `%2B`. The key `a b` is `a+b` on the wire; read as `a+b`, its parts are asked for at
/// the wrong key (404: counted as none) and its abort finds nothing.
#[tokio::test]
async fn an_url_encoded_plus_is_a_space_as_aws_sends_it() {
    let server = Server::start(
        |r| match (r.method.as_str(), r.q("versions"), r.q("uploads")) {
            ("GET", Some(_), _) => ok(versions_page(
                &[
                    version("a+b.txt", "1", true, "2020-01-01T00:00:00.000Z", 1),
                    version("a%2Bb.txt", "2", true, "2020-01-01T00:00:00.000Z", 2),
                    version(
                        "run+books/%ED%95%9C",
                        "3",
                        true,
                        "2020-01-01T00:00:00.000Z",
                        3,
                    ),
                ]
                .concat(),
                None,
                true,
            )),
            ("GET", _, Some(_)) => ok(uploads_page(&[("up+load", "u1")], None, true)),
            ("GET", _, _) if r.path == "/b/up%20load" => ok(parts_page(&[7, 8], None)),
            ("GET", _, _) => (404, b"<Error><Code>NoSuchUpload</Code></Error>".to_vec()),
            _ => (500, Vec::new()),
        },
    )
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let keys: Vec<String> = all_versions(billed.as_ref())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(keys, ["a b.txt", "a+b.txt", "run books/한"]);
    let uploads = all_uploads(billed.as_ref(), None).await.unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].key, "up load");
    assert_eq!((uploads[0].parts, uploads[0].bytes), (2, 15));
}

/// A server whose markers cycle (A, B, A, B, ...) never ends a listing: stratus must
/// see the marker it already followed and stop with an error.
#[tokio::test]
async fn cycling_version_markers_are_an_error() {
    let server = Server::start(|r| {
        let entry = |k: &str| version(k, "v", true, "2020-01-01T00:00:00.000Z", 1);
        match r.q("key-marker") {
            None | Some("b") => ok(versions_page(&entry("a"), Some(("a", "v")), false)),
            Some(_) => ok(versions_page(&entry("b"), Some(("b", "v")), false)),
        }
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let err = all_versions(billed.as_ref()).await.unwrap_err().to_string();
    assert!(err.contains("ListObjectVersions"), "{err}");
}

#[tokio::test]
async fn cycling_upload_markers_are_an_error() {
    let server = Server::start(|r| match (r.q("uploads"), r.q("key-marker")) {
        (Some(_), None | Some("b")) => ok(uploads_page(&[("a", "1")], Some(("a", "1")), false)),
        (Some(_), Some(_)) => ok(uploads_page(&[("b", "2")], Some(("b", "2")), false)),
        _ => ok(parts_page(&[], None)),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let err = all_uploads(billed.as_ref(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ListMultipartUploads"), "{err}");
}

#[tokio::test]
async fn cycling_part_markers_are_an_error() {
    let server = Server::start(|r| match (r.q("uploads"), r.q("part-number-marker")) {
        (Some(_), _) => ok(uploads_page(&[("a", "1")], None, false)),
        (None, None | Some("2")) => ok(parts_page(&[1], Some("1"))),
        (None, Some(_)) => ok(parts_page(&[1], Some("2"))),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let err = all_uploads(billed.as_ref(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ListParts"), "{err}");
}

/// Version IDs and markers are bounded as keys and upload IDs are.
#[tokio::test]
async fn overlong_version_ids_and_markers_are_errors_naming_the_request() {
    let long = "v".repeat(100_000);
    let id = long.clone();
    let server = Server::start(move |_| {
        ok(versions_page(
            &version("a", &id, true, "2020-01-01T00:00:00.000Z", 1),
            None,
            false,
        ))
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let result = all_versions(billed.as_ref()).await;
    assert!(
        result.is_err(),
        "a version ID of 100,000 bytes was accepted"
    );
    let err = result.unwrap_err().to_string();
    assert!(err.contains("ListObjectVersions"), "{err}");

    let server = Server::start(move |r| match r.q("key-marker") {
        None => ok(versions_page(
            &version("a", "1", true, "2020-01-01T00:00:00.000Z", 1),
            Some(("a", &long)),
            false,
        )),
        Some(_) => ok(versions_page("", None, false)),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let result = all_versions(billed.as_ref()).await;
    assert!(result.is_err(), "a marker of 100,000 bytes was accepted");
    let err = result.unwrap_err().to_string();
    assert!(err.contains("ListObjectVersions"), "{err}");
    assert_eq!(
        server.received().len(),
        1,
        "the overlong marker is not sent back"
    );
}

/// moto's order: a page's versions, then its delete markers (keys in order within
/// each). Key `a` has only a marker; key `k` has two versions on page 1 and its oldest
/// entry, a delete marker, on page 2 after `z`'s version. `k` has versions: its marker
/// is not orphaned.
#[tokio::test]
async fn a_key_split_across_pages_in_motos_order_keeps_its_versions() {
    let server = Server::start(|r| match r.q("key-marker") {
        None => ok(versions_page(
            &[
                version("k", "3", true, "2020-01-03T00:00:00.000Z", 30),
                version("k", "2", false, "2020-01-02T00:00:00.000Z", 20),
                marker("a", "9", true, "2020-01-05T00:00:00.000Z"),
            ]
            .concat(),
            Some(("k", "2")),
            false,
        )),
        // Page 2, moto's order again: `z`'s version before `k`'s marker.
        Some(_) => ok(versions_page(
            &[
                version("z", "7", true, "2020-01-01T00:00:00.000Z", 5),
                marker("k", "1", false, "2020-01-01T00:00:00.000Z"),
            ]
            .concat(),
            None,
            false,
        )),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let mut options = HiddenOptions::new(chrono::Utc::now());
    options.uploads = false;
    let hidden = tokio::time::timeout(
        Duration::from_secs(20),
        scan_hidden(billed.as_ref(), &options),
    )
    .await
    .unwrap()
    .unwrap();
    let versions = hidden.versions.unwrap();
    assert_eq!(
        (
            versions.noncurrent.objects,
            versions.noncurrent.bytes,
            versions.delete_markers,
            versions.orphaned_markers
        ),
        (1, 20, 2, Some(1))
    );
}

/// `cleanup uploads --prefix tmp/` against a server that ignores `prefix`: the upload of
/// `keep/x` is outside what was asked for. It is an error, and nothing is aborted.
#[tokio::test]
async fn an_upload_outside_the_prefix_asked_for_is_never_aborted() {
    let server = Server::start(|r| match (r.method.as_str(), r.q("uploads")) {
        ("GET", Some(_)) => ok(uploads_page(
            &[("tmp/a", "1"), ("keep/x", "2")],
            None,
            false,
        )),
        ("GET", None) => ok(parts_page(&[5], None)),
        _ => (204, Vec::new()),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let options = CleanupOptions::new(Duration::from_secs(86_400))
        .with_dry_run(false)
        .with_prefix(Some("tmp/".into()));
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        cleanup_uploads(billed.as_ref(), &options),
    )
    .await
    .unwrap();
    let aborted: Vec<String> = server
        .received()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect();
    assert!(
        !aborted.iter().any(|p| p.contains("keep")),
        "aborted outside the prefix: {aborted:?}"
    );
    let err = result.unwrap_err().to_string();
    assert!(err.contains("ListMultipartUploads"), "{err}");
}

// ---- What held ----

/// A body over 32 MiB is refused, named by its request.
#[tokio::test]
async fn a_body_over_32_mib_is_refused() {
    let server = Server::start(|_| (200, vec![b' '; (32 << 20) + 10])).await;
    let billed = server.s3_config("").billed("s").unwrap();
    let err = all_versions(billed.as_ref()).await.unwrap_err().to_string();
    assert!(
        err.contains("ListObjectVersions") && err.contains("longer"),
        "{err}"
    );
}

/// The same markers twice, and a truncated page without markers, end in errors.
#[tokio::test]
async fn repeated_or_missing_markers_are_errors() {
    let server = Server::start(|_| {
        ok(versions_page(
            &version("a", "1", true, "2020-01-01T00:00:00.000Z", 1),
            Some(("a", "1")),
            false,
        ))
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    assert!(all_versions(billed.as_ref()).await.is_err());

    let server = Server::start(|r| match r.q("uploads") {
        Some(_) => ok(uploads_page(&[("a", "1")], None, false)
            .replace("<IsTruncated>false", "<IsTruncated>true")),
        None => ok(parts_page(&[], None)),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    assert!(all_uploads(billed.as_ref(), None).await.is_err());

    let server = Server::start(|r| match r.q("uploads") {
        Some(_) => ok(uploads_page(&[("a", "1")], None, false)),
        None => ok(parts_page(&[1], None).replace("<IsTruncated>false", "<IsTruncated>true")),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    assert!(all_uploads(billed.as_ref(), None).await.is_err());
}

/// Keys outside the store's prefix, keys decoding to invalid UTF-8 and keys holding
/// control characters are errors naming the request, the characters escaped.
#[tokio::test]
async fn bad_keys_are_errors_naming_the_request_escaped() {
    for (key, url) in [
        ("other/x", false),
        ("p/%FF", true),
        ("p/\u{1b}[31mred", false),
    ] {
        let key = key.to_string();
        let server = Server::start(move |_| {
            ok(versions_page(
                &version(&key, "1", true, "2020-01-01T00:00:00.000Z", 1),
                None,
                url,
            ))
        })
        .await;
        let billed = server.s3_config("prefix = \"p\"\n").billed("s").unwrap();
        let result = all_versions(billed.as_ref()).await;
        match result {
            Err(e) => {
                let text = format!("{e} {e:?}");
                assert!(text.contains("ListObjectVersions"), "{text}");
                assert!(!text.contains('\u{1b}'), "{text}");
            }
            // A control character in a key under the prefix is a key like any other.
            Ok(entries) => assert_eq!(entries[0].key, "\u{1b}[31mred"),
        }
    }
}

/// A 5xx is retried; every request is counted as a listing, the abort as multipart.
#[tokio::test]
async fn a_5xx_is_retried_and_requests_are_counted() {
    let failed = Arc::new(Mutex::new(false));
    let server = Server::start(move |r| {
        let mut failed = failed.lock().unwrap();
        if !*failed {
            *failed = true;
            return (503, b"<Error><Code>SlowDown</Code></Error>".to_vec());
        }
        match (r.method.as_str(), r.q("uploads")) {
            ("GET", Some(_)) => ok(uploads_page(&[("a", "1")], None, false)),
            ("GET", None) => ok(parts_page(&[5], None)),
            _ => (204, Vec::new()),
        }
    })
    .await;
    let config = server.s3_config("");
    let billed = config.billed("s").unwrap();
    let options = CleanupOptions::new(Duration::from_secs(86_400)).with_dry_run(false);
    let report = cleanup_uploads(billed.as_ref(), &options).await.unwrap();
    assert_eq!(report.old.len(), 1);
    let counts = config.requests().of("s");
    assert_eq!(counts.get(RequestKind::List), 3, "{counts}");
    assert_eq!(counts.get(RequestKind::Multipart), 1, "{counts}");
}

/// No secret in Debug, Display or an error.
#[tokio::test]
async fn no_secret_in_debug_display_or_errors() {
    const SECRET: &str = "SECRETsecretSECRET";
    const TOKEN: &str = "TOKENtokenTOKEN";
    let server =
        Server::start(|_| (403, b"<Error><Code>AccessDenied</Code></Error>".to_vec())).await;
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"k\"\n\
         secret_access_key = \"{SECRET}\"\nsession_token = \"{TOKEN}\"\n",
        server.port
    );
    let config = Config::from_toml(&toml, "test.toml", ".").unwrap();
    let billed = config.billed("s").unwrap();
    let mut shown = format!("{billed} {billed:?}");
    let e = all_versions(billed.as_ref()).await.unwrap_err();
    shown += &format!("{e} {e:?}");
    let e = all_uploads(billed.as_ref(), None).await.unwrap_err();
    shown += &format!("{e} {e:?}");
    let upload = Upload {
        key: "k".into(),
        upload_id: "u".into(),
        initiated: Some(chrono::Utc::now()),
        class: None,
        parts: 0,
        bytes: 0,
    };
    let e = billed.abort(&upload).await.unwrap_err();
    shown += &format!("{e} {e:?}");
    assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
}

/// An abort refused stops the run: the error names the request, the upload's key
/// (escaped) and its ID, and no abort is sent after it.
#[tokio::test]
async fn an_abort_refused_stops_the_run_with_an_error_naming_the_upload() {
    let server = Server::start(|r| match (r.method.as_str(), r.q("uploads")) {
        ("GET", Some(_)) => ok(uploads_page(
            &[("a", "1"), ("b\u{1b}[31m", "2"), ("c", "3")],
            None,
            false,
        )),
        ("GET", None) => ok(parts_page(&[5], None)),
        ("DELETE", _) if r.path.starts_with("/b/b") => {
            (500, b"<Error><Code>InternalError</Code></Error>".to_vec())
        }
        _ => (204, Vec::new()),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let options = CleanupOptions::new(Duration::from_secs(86_400)).with_dry_run(false);
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        cleanup_uploads(billed.as_ref(), &options),
    )
    .await
    .unwrap()
    .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("AbortMultipartUpload"), "{text}");
    assert!(text.contains("b\\x1b[31m") && text.contains('2'), "{text}");
    let deletes: Vec<String> = server
        .received()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect();
    assert!(!deletes.iter().any(|p| p == "/b/c"), "{deletes:?}");
}

/// A `<CommonPrefixes>` folder, as a listing with a delimiter gives it.
fn folder(prefix: &str) -> String {
    format!("<CommonPrefixes><Prefix>{prefix}</Prefix></CommonPrefixes>")
}

/// The versions of each folder are listed on their own, once each: a page that ended on a
/// folder goes on without an (empty) version-ID marker, and a server that gives a
/// folder twice, or one outside the prefix asked for, or folders to a listing without a
/// delimiter, is an error rather than bytes counted twice or from elsewhere.
#[tokio::test]
async fn folders_are_listed_once_each_and_a_folder_given_twice_is_an_error() {
    // `repeat`: page 2 of the folder listing gives `d/` again.
    for repeat in [false, true] {
        let server =
            Server::start(
                move |r| match (r.q("delimiter"), r.q("prefix"), r.q("key-marker")) {
                    (Some("/"), Some(""), None) => ok(versions_page(
                        &[
                            version("a", "1", true, "2020-01-02T00:00:00.000Z", 1),
                            version("a", "0", false, "2020-01-01T00:00:00.000Z", 10),
                            folder("d/"),
                        ]
                        .concat(),
                        Some(("d/", "")),
                        false,
                    )),
                    (Some("/"), Some(""), Some("d/")) => {
                        assert_eq!(
                            r.q("version-id-marker"),
                            None,
                            "an empty marker is refused by AWS"
                        );
                        let first = if repeat { folder("d/") } else { String::new() };
                        ok(versions_page(&[first, folder("e/")].concat(), None, false))
                    }
                    (None, Some(p @ ("d/" | "e/")), None) => ok(versions_page(
                        &[
                            version(&format!("{p}k"), "2", true, "2020-01-03T00:00:00.000Z", 1),
                            version(
                                &format!("{p}k"),
                                "1",
                                false,
                                "2020-01-02T00:00:00.000Z",
                                100,
                            ),
                            marker(&format!("{p}gone"), "3", true, "2020-01-04T00:00:00.000Z"),
                        ]
                        .concat(),
                        None,
                        false,
                    )),
                    _ => (400, format!("unexpected {r:?}").into_bytes()),
                },
            )
            .await;
        let billed = server.s3_config("").billed("s").unwrap();
        let mut options = HiddenOptions::new(chrono::Utc::now()).with_concurrency(4);
        options.uploads = false;
        let result = tokio::time::timeout(
            Duration::from_secs(20),
            scan_hidden(billed.as_ref(), &options),
        )
        .await
        .unwrap();
        if repeat {
            let err = result.unwrap_err().to_string();
            // Refused as a page that goes back (the folder listing's own check of a
            // folder twice stands behind it, for a server whose pages give no order).
            assert!(err.contains("gave `d/` again"), "{err}");
            continue;
        }
        let versions = result.unwrap().versions.unwrap();
        assert_eq!(
            (
                versions.noncurrent.objects,
                versions.noncurrent.bytes,
                versions.delete_markers,
                versions.orphaned_markers
            ),
            (3, 210, 2, Some(2))
        );
        let folders: Vec<(u64, u64)> = versions
            .prefixes
            .entries()
            .iter()
            .map(|e| (e.objects, e.bytes))
            .collect();
        assert_eq!(folders, [(1, 100), (1, 100)]);
        let d_listings = server
            .received()
            .iter()
            .filter(|r| r.q("prefix") == Some("d/"))
            .count();
        assert_eq!(d_listings, 1);
    }

    // Folders where none were asked for, or outside the prefix asked for.
    for (asked, given) in [(None, "d/"), (Some("/"), "elsewhere/")] {
        let server = Server::start(move |r| {
            if r.q("delimiter") == asked {
                ok(versions_page(&folder(given), None, false))
            } else {
                ok(versions_page("", None, false))
            }
        })
        .await;
        let billed = server.s3_config("").billed("s").unwrap();
        let err = match asked {
            None => all_versions(billed.as_ref()).await.map(|_| ()),
            Some(_) => {
                let mut options =
                    HiddenOptions::new(chrono::Utc::now()).with_prefix(Some("p/".into()));
                options.uploads = false;
                scan_hidden(billed.as_ref(), &options).await.map(|_| ())
            }
        }
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("not asked for") || err.contains("outside the prefix"),
            "{err}"
        );
    }
}

/// A listing by folder that gives a folder and keys inside folders too (a server that
/// half-ignores the delimiter) is an error: those keys would be counted twice.
#[tokio::test]
async fn a_folder_beside_keys_inside_folders_is_an_error() {
    let server = Server::start(|r| match r.q("delimiter") {
        Some("/") => ok(versions_page(
            &[
                version("d/k", "2", true, "2020-01-03T00:00:00.000Z", 1),
                version("d/k", "1", false, "2020-01-02T00:00:00.000Z", 100),
                folder("d/"),
            ]
            .concat(),
            None,
            false,
        )),
        _ => ok(versions_page(
            &version("d/k", "1", false, "2020-01-02T00:00:00.000Z", 100),
            None,
            false,
        )),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let mut options = HiddenOptions::new(chrono::Utc::now());
    options.uploads = false;
    let err = scan_hidden(billed.as_ref(), &options)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("keys inside folders"), "{err}");
}

// ---- What a listing by folder refuses rather than count twice ----

/// The versions of `hidden` as (noncurrent objects, noncurrent bytes, markers, orphaned).
async fn billed_sums(
    billed: &dyn Billed,
    prefix: Option<&str>,
) -> stratus::Result<(u64, u64, u64, Option<u64>)> {
    let mut options = HiddenOptions::new(chrono::Utc::now())
        .with_concurrency(4)
        .with_prefix(prefix.map(String::from));
    options.uploads = false;
    let hidden = tokio::time::timeout(Duration::from_secs(20), scan_hidden(billed, &options))
        .await
        .expect("the scan ends")?;
    let v = hidden.versions.unwrap();
    Ok((
        v.noncurrent.objects,
        v.noncurrent.bytes,
        v.delete_markers,
        v.orphaned_markers,
    ))
}

/// The two entries of key `k`: current (1 byte) and noncurrent (100 bytes).
fn history_of(k: &str) -> String {
    [
        version(k, "2", true, "2020-01-03T00:00:00.000Z", 1),
        version(k, "1", false, "2020-01-02T00:00:00.000Z", 100),
    ]
    .concat()
}

/// A hostile server gives, in the listing by folder, a folder *and* a folder inside it
/// (`a/` and `a/b/`): listing both would count `a/b/k` twice. A folder is one segment
/// below the prefix: `a/b/` is an error.
#[tokio::test]
async fn a_folder_inside_another_folder_is_an_error_not_a_double_count() {
    let server = Server::start(|r| match (r.q("delimiter"), r.q("prefix")) {
        (Some("/"), Some("")) => ok(versions_page(
            &[folder("a/"), folder("a/b/")].concat(),
            None,
            false,
        )),
        (None, Some("a/" | "a/b/")) => ok(versions_page(&history_of("a/b/k"), None, false)),
        _ => (400, format!("unexpected {r:?}").into_bytes()),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let err = billed_sums(billed.as_ref(), None)
        .await
        .expect_err("a/b/k counted twice")
        .to_string();
    assert!(err.contains("one segment below the prefix"), "{err}");
}

/// The folder the listing asked for, given back as a folder of itself (prefix `p/`,
/// CommonPrefix `p/`): listing it would list the whole prefix again, the top keys
/// included. It is no segment below the prefix: an error.
#[tokio::test]
async fn the_prefix_itself_given_as_a_folder_is_an_error() {
    let server = Server::start(|r| match (r.q("delimiter"), r.q("prefix")) {
        (Some("/"), Some("p/")) => ok(versions_page(
            &[history_of("p/k"), folder("p/")].concat(),
            None,
            false,
        )),
        (None, Some("p/")) => ok(versions_page(&history_of("p/k"), None, false)),
        _ => (400, format!("unexpected {r:?}").into_bytes()),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let err = billed_sums(billed.as_ref(), Some("p/"))
        .await
        .expect_err("p/k counted twice")
        .to_string();
    assert!(err.contains("one segment below the prefix"), "{err}");
}

/// A GCS JSON API server on 127.0.0.1 (the same tiny server, JSON bodies).
fn gcs_config(server: &Server) -> Config {
    let toml = format!(
        "[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nservice_account_key = '{{\"disable_oauth\": true, \
         \"client_email\": \"\", \"private_key\": \"\", \"private_key_id\": \"\"}}'\n",
        server.port
    );
    Config::from_toml(&toml, "test.toml", ".").unwrap()
}

/// Two generations of `name` (the older one deleted: noncurrent, 100 bytes).
fn gcs_items(name: &str) -> String {
    format!(
        "{{\"name\":\"{name}\",\"size\":\"100\",\"generation\":\"1\",\"updated\":\"2020-01-01T00:00:00Z\",\
         \"timeDeleted\":\"2020-01-02T00:00:00Z\",\"storageClass\":\"STANDARD\"}},\
         {{\"name\":\"{name}\",\"size\":\"1\",\"generation\":\"2\",\"updated\":\"2020-01-02T00:00:00Z\",\
         \"storageClass\":\"STANDARD\"}}"
    )
}

fn gcs_page(items: &[&str], prefixes: &[&str]) -> (u16, Vec<u8>) {
    let items: Vec<String> = items.iter().map(|n| gcs_items(n)).collect();
    let prefixes: Vec<String> = prefixes.iter().map(|p| format!("\"{p}\"")).collect();
    ok(format!(
        "{{\"kind\":\"storage#objects\",\"items\":[{}],\"prefixes\":[{}]}}",
        items.join(","),
        prefixes.join(",")
    ))
}

/// GCS: the listing of folder `a/` (no delimiter) gives a name outside it, `b/k`, which
/// folder `b/` gives too: every folder's entries are checked to be inside it, whatever
/// the provider's own checks.
#[tokio::test]
async fn gcs_a_name_outside_the_folder_listed_is_an_error() {
    let server = Server::start(|r| {
        assert!(r.path.ends_with("/o"), "{r:?}");
        match (r.q("delimiter"), r.q("prefix")) {
            (Some("/"), Some("")) => gcs_page(&[], &["a/", "b/"]),
            (None, Some("a/")) => gcs_page(&["a/k", "b/k"], &[]),
            (None, Some("b/")) => gcs_page(&["b/k"], &[]),
            _ => (400, format!("unexpected {r:?}").into_bytes()),
        }
    })
    .await;
    let billed = gcs_config(&server).billed("g").unwrap();
    let err = billed_sums(billed.as_ref(), None)
        .await
        .expect_err("b/k counted twice")
        .to_string();
    assert!(err.contains("outside the prefix asked for"), "{err}");
}

/// GCS: `prefixes` with a folder and a folder inside it: an error, as for S3.
#[tokio::test]
async fn gcs_a_folder_inside_another_folder_is_an_error() {
    let server = Server::start(|r| match (r.q("delimiter"), r.q("prefix")) {
        (Some("/"), Some("")) => gcs_page(&["top"], &["a/", "a/b/"]),
        (None, Some("a/" | "a/b/")) => gcs_page(&["a/b/k"], &[]),
        _ => (400, format!("unexpected {r:?}").into_bytes()),
    })
    .await;
    let billed = gcs_config(&server).billed("g").unwrap();
    let err = billed_sums(billed.as_ref(), None)
        .await
        .expect_err("a/b/k counted twice")
        .to_string();
    assert!(err.contains("one segment below the prefix"), "{err}");
}

/// GCS: `items` and `prefixes` on one page, legitimately (`top` directly under the
/// prefix, folder `d/`): summed once each.
#[tokio::test]
async fn gcs_items_and_prefixes_on_one_page_are_summed_once() {
    let server = Server::start(|r| match (r.q("delimiter"), r.q("prefix")) {
        (Some("/"), Some("")) => gcs_page(&["top", "z"], &["d/"]),
        (None, Some("d/")) => gcs_page(&["d/k", "d/l/m"], &[]),
        _ => (400, format!("unexpected {r:?}").into_bytes()),
    })
    .await;
    let billed = gcs_config(&server).billed("g").unwrap();
    assert_eq!(
        billed_sums(billed.as_ref(), None).await.unwrap(),
        (4, 400, 0, Some(0))
    );
}

/// GCS lists a name's generations oldest first, and its page tokens say nothing of
/// where a page ends: a name whose generations a page boundary splits (the older,
/// deleted one at the end of page 1, the live one on page 2) cannot be ordered newest
/// first. Its "noncurrent since" is the server's `timeDeleted`, not the time of the entry
/// read before it, so it is the same wherever pages split (and one listing and the
/// listing by folder split them in different places).
#[tokio::test]
async fn gcs_a_name_split_across_pages_keeps_its_noncurrent_since() {
    let gen = |g: u32, updated: &str, deleted: Option<&str>| {
        format!(
            "{{\"name\":\"d/k\",\"size\":\"5\",\"generation\":\"{g}\",\"updated\":\"{updated}\"{}}}",
            deleted
                .map(|d| format!(",\"timeDeleted\":\"{d}\""))
                .unwrap_or_default()
        )
    };
    let old = gen(1, "2020-01-01T00:00:00Z", Some("2020-01-02T00:00:00Z"));
    let live = gen(2, "2020-01-02T00:00:00Z", None);
    let mut since = Vec::new();
    for split in [false, true] {
        let (old, live) = (old.clone(), live.clone());
        let server =
            Server::start(
                move |r| match (r.q("delimiter"), r.q("prefix"), r.q("pageToken")) {
                    (Some("/"), Some(""), None) => gcs_page(&[], &["d/"]),
                    (None, Some("d/"), None) if split => {
                        ok(format!("{{\"items\":[{old}],\"nextPageToken\":\"t\"}}"))
                    }
                    (None, Some("d/"), Some("t")) if split => ok(format!("{{\"items\":[{live}]}}")),
                    (None, Some("d/"), None) => ok(format!("{{\"items\":[{old},{live}]}}")),
                    _ => (400, format!("unexpected {r:?}").into_bytes()),
                },
            )
            .await;
        let billed = gcs_config(&server).billed("g").unwrap();
        let mut options = HiddenOptions::new(chrono::Utc::now());
        options.uploads = false;
        let hidden = scan_hidden(billed.as_ref(), &options).await.unwrap();
        let v = hidden.versions.unwrap();
        assert_eq!((v.noncurrent.objects, v.noncurrent.bytes), (1, 5));
        since.push(v.noncurrent_since);
    }
    assert_eq!(
        since[0], since[1],
        "noncurrent since, one page vs the name split across two"
    );
}

/// What the listing by folder costs where folders are small: 1,000 folders of one key
/// (two entries: one noncurrent) each, one page of 2,000 entries for one listing. Each
/// folder alone cost a `ListObjectVersions` (1,001 billed LIST requests where one
/// listing sends 2) until the folders listed, averaging under a page per `concurrency`
/// folders, made the rest one listing: the delimiter page, the first folders (at most
/// two per slot), then one listing of two pages. Pinned so that a change in what a
/// `--billed` inventory costs is seen; the sums are the same either way.
#[tokio::test]
async fn many_small_folders_are_listed_as_one_listing() {
    let key = |i: usize| format!("f{i:04}/k");
    let server = Server::start(move |r| match (r.q("delimiter"), r.q("prefix")) {
        (Some("/"), Some("")) => {
            let folders: String = (0..1000).map(|i| folder(&format!("f{i:04}/"))).collect();
            ok(versions_page(&folders, None, false))
        }
        // One listing of everything, in pages of 1,000 entries (500 keys), from the
        // first key after the key marker (the page before's last, or a key range's
        // start: 2,000 entries are more than a block, so the rest is cut into ranges).
        (None, Some("")) => {
            let from = r.q("key-marker").map_or(0, |m| {
                (0..1000).take_while(|&i| key(i).as_str() <= m).count()
            });
            let to = (from + 500).min(1000);
            let entries: String = (from..to).map(|i| history_of(&key(i))).collect();
            let next = (to < 1000).then(|| (key(to - 1), "1".to_string()));
            ok(versions_page(
                &entries,
                next.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
                false,
            ))
        }
        (None, Some(p)) => ok(versions_page(&history_of(&format!("{p}k")), None, false)),
        _ => (400, Vec::new()),
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let sums = billed_sums(billed.as_ref(), None).await.unwrap();
    assert_eq!(sums, (1000, 100_000, 0, Some(0)));
    let received = server.received();
    let folders = received
        .iter()
        .filter(|r| r.q("prefix") != Some(""))
        .count();
    assert!(
        (4..=8).contains(&folders),
        "folders listed alone before the rest went as one listing: {folders}"
    );
    // The delimiter page, the folders, and the listing's pages: 2 for the first block,
    // and the rest cut into ranges (up to 4 listings at once, a few requests more).
    let whole = received.len() - 1 - folders;
    assert!(
        (3..=8).contains(&whole),
        "ListObjectVersions requests for one listing of 1,000 keys of two entries: {whole}"
    );
}

// ---- A page that goes back: an error, not a second sum ----

/// S3: the listing of folder `d/` is two pages; page 2 (asked from the markers `d/k`,
/// version `1`, which page 1 ended on) gives that entry, `d/k` version `1`, again. The
/// markers advance (`d/k`/`1`, then none), so no check of markers sees it; summed, it
/// would be 2 noncurrent objects and 200 bytes where the bucket holds 1 and 100.
#[tokio::test]
async fn a_page_repeating_the_entry_it_goes_on_from_is_an_error() {
    let server = Server::start(|r| {
        match (
            r.q("delimiter"),
            r.q("prefix"),
            r.q("key-marker"),
            r.q("version-id-marker"),
        ) {
            (Some("/"), Some(""), None, None) => ok(versions_page(&folder("d/"), None, false)),
            (None, Some("d/"), None, None) => {
                ok(versions_page(&history_of("d/k"), Some(("d/k", "1")), false))
            }
            (None, Some("d/"), Some("d/k"), Some("1")) => ok(versions_page(
                &version("d/k", "1", false, "2020-01-02T00:00:00.000Z", 100),
                None,
                false,
            )),
            _ => (400, format!("unexpected {r:?}").into_bytes()),
        }
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let sums = billed_sums(billed.as_ref(), None).await;
    let err = sums.expect_err("d/k version 1 summed twice").to_string();
    assert!(err.contains("gave `d/k` again"), "{err}");
}

/// S3: page 2 of the listing by folder (asked from `d/`, the folder page 1 ended on)
/// gives the top key `a` again, a key before the marker it was asked from: S3 gives keys
/// after the key marker only, so `a` is a repeat: an error, not summed twice.
#[tokio::test]
async fn a_page_going_back_before_its_key_marker_is_an_error() {
    let server = Server::start(
        |r| match (r.q("delimiter"), r.q("prefix"), r.q("key-marker")) {
            (Some("/"), Some(""), None) => ok(versions_page(
                &[history_of("a"), folder("d/")].concat(),
                Some(("d/", "")),
                false,
            )),
            (Some("/"), Some(""), Some("d/")) => ok(versions_page(&history_of("a"), None, false)),
            (None, Some("d/"), None) => ok(versions_page(&history_of("d/k"), None, false)),
            _ => (400, format!("unexpected {r:?}").into_bytes()),
        },
    )
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let sums = billed_sums(billed.as_ref(), None).await;
    let err = sums.expect_err("a summed twice").to_string();
    assert!(err.contains("gave `a` again"), "{err}");
}

/// GCS: the listing of folder `d/` is two pages, and page 2 (a new page token) gives
/// `d/k`'s two generations again. Page tokens never repeat, so no check of tokens sees
/// it; a generation not after the last one given is an error.
#[tokio::test]
async fn gcs_a_page_repeating_the_page_before_is_an_error() {
    let server = Server::start(
        |r| match (r.q("delimiter"), r.q("prefix"), r.q("pageToken")) {
            (Some("/"), Some(""), None) => gcs_page(&[], &["d/"]),
            (None, Some("d/"), None) => ok(format!(
                "{{\"items\":[{}],\"nextPageToken\":\"t\"}}",
                gcs_items("d/k")
            )),
            (None, Some("d/"), Some("t")) => gcs_page(&["d/k"], &[]),
            _ => (400, format!("unexpected {r:?}").into_bytes()),
        },
    )
    .await;
    let billed = gcs_config(&server).billed("g").unwrap();
    let sums = billed_sums(billed.as_ref(), None).await;
    let err = sums.expect_err("d/k summed twice").to_string();
    assert!(err.contains("out of order, or again"), "{err}");
}

/// Hostile listings by folder under prefix `p/` (S3 and GCS) are errors, never
/// sums: a top entry `p` (the prefix without its `/`), a top entry `q/k` outside the
/// prefix, a folder `p/d` not ending with `/`, a folder `p/d/e/` (the delimiter inside),
/// a folder `p` and a folder `p//x/`. The folder listings, were they asked for, would
/// give `p/d/k`.
#[tokio::test]
async fn hostile_top_entries_and_folders_under_a_prefix_are_errors() {
    let cases: [(&[&str], &[&str]); 6] = [
        (&["p"], &[]),
        (&["q/k"], &[]),
        (&[], &["p/d"]),
        (&[], &["p/d/e/"]),
        (&[], &["p"]),
        (&[], &["p//x/"]),
    ];
    for (items, folders) in cases {
        for gcs in [false, true] {
            let (items2, folders2): (Vec<String>, Vec<String>) = (
                items.iter().map(|s| s.to_string()).collect(),
                folders.iter().map(|s| s.to_string()).collect(),
            );
            let server = Server::start(move |r| {
                let items: Vec<&str> = items2.iter().map(String::as_str).collect();
                let folders: Vec<&str> = folders2.iter().map(String::as_str).collect();
                match (r.q("delimiter"), gcs) {
                    (Some("/"), true) => gcs_page(&items, &folders),
                    (Some("/"), false) => {
                        let mut xml: String = items.iter().map(|k| history_of(k)).collect();
                        xml.extend(folders.iter().map(|f| folder(f)));
                        ok(versions_page(&xml, None, false))
                    }
                    (None, true) => gcs_page(&["p/d/k"], &[]),
                    (None, false) => ok(versions_page(&history_of("p/d/k"), None, false)),
                    _ => (400, Vec::new()),
                }
            })
            .await;
            let billed = match gcs {
                true => gcs_config(&server).billed("g").unwrap(),
                false => server.s3_config("").billed("s").unwrap(),
            };
            let sums = billed_sums(billed.as_ref(), Some("p/")).await;
            assert!(
                sums.is_err(),
                "items {items:?}, folders {folders:?}, gcs {gcs}: summed {sums:?}"
            );
        }
    }
}

// ---- GCS multipart uploads (the XML API) ----

/// GCS keeps XML API multipart uploads as S3 does: `GET /BUCKET?uploads` (two pages,
/// markers followed), `ListParts` per upload at its key (a name with a space and a `+`,
/// sent as GCS reads them, not `encoding-type=url`), an abort `DELETE` with the upload
/// ID, all with the store's bearer token (none here: the key disables OAuth). A server
/// answering another document (fake-gcs-server answers its object listing) is an
/// error naming what it answered, not a store without uploads.
#[tokio::test]
async fn gcs_uploads_are_listed_counted_and_aborted_through_the_xml_api() {
    let server = Server::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/b") if r.q("uploads").is_some() => match r.q("key-marker") {
            None => ok(uploads_page(
                &[("a b+c", "u1")],
                Some(("a b+c", "u1")),
                false,
            )),
            Some("a b+c") if r.q("upload-id-marker") == Some("u1") => {
                ok(uploads_page(&[("z", "u2")], None, false))
            }
            _ => (400, Vec::new()),
        },
        ("GET", "/b/a%20b%2Bc") if r.q("uploadId") == Some("u1") => ok(parts_page(&[5, 6], None)),
        ("GET", "/b/z") if r.q("uploadId") == Some("u2") => ok(parts_page(&[7], None)),
        ("DELETE", "/b/z") if r.q("uploadId") == Some("u2") => (204, Vec::new()),
        _ => (400, Vec::new()),
    })
    .await;
    let config = gcs_config(&server);
    let billed = config.billed("g").unwrap();
    assert!(billed.lists_uploads() && billed.aborts_uploads());
    let uploads = all_uploads(billed.as_ref(), None).await.unwrap();
    let got: Vec<(&str, &str, u64, u64)> = uploads
        .iter()
        .map(|u| (u.key.as_str(), u.upload_id.as_str(), u.parts, u.bytes))
        .collect();
    assert_eq!(got, [("a b+c", "u1", 2, 11), ("z", "u2", 1, 7)]);
    assert!(server
        .received()
        .iter()
        .all(|r| r.q("encoding-type").is_none()));
    assert!(billed.abort(&uploads[1]).await.unwrap());
    assert!(server.received().iter().any(|r| r.method == "DELETE"));

    let fake = Server::start(|_| {
        ok(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult><Name>b</Name>\
            <KeyCount>0</KeyCount></ListBucketResult>"
                .to_string(),
        )
    })
    .await;
    let config = gcs_config(&fake);
    let billed = config.billed("g").unwrap();
    let err = all_uploads(billed.as_ref(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ListMultipartUploads") && err.contains("`ListBucketResult`"),
        "{err}"
    );
}

// ---- A permission the store's other requests do not need ----

/// Credentials allowed to list objects but not versions (`s3:ListBucketVersions`) or
/// uploads (`s3:ListBucketMultipartUploads`; GCS's `storage.multipartUploads.list`):
/// the report keeps what it could list and says what it could not, and why; any other
/// failure (a 5xx after the retries, a bad page) still ends it.
#[tokio::test]
async fn a_listing_refused_for_permission_is_said_not_looked_at() {
    const DENIED: &str =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
                          <Message>Access Denied</Message></Error>";
    for denied in ["uploads", "versions"] {
        let server = Server::start(move |r| match (r.q("uploads"), r.q("versions")) {
            (Some(_), _) if denied == "uploads" => (403, DENIED.as_bytes().to_vec()),
            (_, Some(_)) if denied == "versions" => (403, DENIED.as_bytes().to_vec()),
            (Some(_), _) => ok(uploads_page(&[], None, false)),
            (_, Some(_)) => ok(versions_page(&history_of("k"), None, false)),
            _ => (400, Vec::new()),
        })
        .await;
        let billed = server.s3_config("").billed("s").unwrap();
        let hidden = scan_hidden(billed.as_ref(), &HiddenOptions::new(chrono::Utc::now()))
            .await
            .unwrap();
        let said = hidden.not_seen.join("\n");
        assert!(said.contains("AccessDenied"), "{denied}: {said}");
        match denied {
            "uploads" => {
                assert!(hidden.uploads.is_none(), "{denied}");
                assert_eq!(hidden.versions.unwrap().noncurrent.objects, 1);
                assert!(said.starts_with("unfinished uploads: "), "{said}");
            }
            _ => {
                assert!(hidden.versions.is_none(), "{denied}");
                assert_eq!(hidden.uploads.unwrap().uploads.objects, 0);
                assert!(said.starts_with("noncurrent versions"), "{said}");
            }
        }
    }
    // A page that is not XML ends the report, as before.
    let server = Server::start(|_| ok("not xml".to_string())).await;
    let billed = server.s3_config("").billed("s").unwrap();
    let err = scan_hidden(billed.as_ref(), &HiddenOptions::new(chrono::Utc::now())).await;
    assert!(err.is_err());
}
