//! Review 5: adversarial tests of three changes.
//!
//! 1. 1921290: secrets cut from error text in more forms (`src/config/secret.rs`).
//! 2. b49c561: small folders' versions listed as one listing (`src/inventory/hidden.rs`).
//! 3. f0331f3: GCS unfinished multipart uploads through the XML API
//!    (`src/billed/multipart.rs`, `src/billed/gcs.rs`, `src/billed/xml.rs`).
//!
//! Each test says FINDING or HELD UP. The findings are fixed (their tests pass) but for
//! three known gaps, ignored with their reason and written in docs/STATUS.md.

mod common;

use common::billed::{all_uploads, refusal, versions_error};
use common::canned::{ok, Reply, Server};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use stratus::billed::{cleanup_uploads, CleanupOptions, Upload};
use stratus::inventory::hidden::{scan_hidden, HiddenOptions};
use stratus::Config;

// ---------------------------------------------------------------- helpers

fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn s3_store(server: &Server, secret: &str) -> Config {
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"AKIDEXAMPLE\"\n\
         secret_access_key = '{secret}'\n",
        server.port
    );
    Config::from_toml(&toml, "test.toml", ".").unwrap()
}

fn gcs_config(server: &Server, prefix: Option<&str>) -> Config {
    let prefix = prefix.map_or(String::new(), |p| format!("prefix = \"{p}\"\n"));
    let toml = format!(
        "[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\n{prefix}service_account_key = '{{\"disable_oauth\": true, \
         \"client_email\": \"\", \"private_key\": \"\", \"private_key_id\": \"\"}}'\n",
        server.port
    );
    Config::from_toml(&toml, "test.toml", ".").unwrap()
}

fn uploads_xml(root_open: &str, uploads: &[(&str, &str)]) -> String {
    let entries: String = uploads
        .iter()
        .map(|(key, id)| {
            format!(
                "<Upload><Key>{key}</Key><UploadId>{id}</UploadId>\
                 <Initiated>2010-01-01T00:00:00.000Z</Initiated><StorageClass>STANDARD</StorageClass></Upload>"
            )
        })
        .collect();
    format!("{root_open}<Bucket>b</Bucket><IsTruncated>false</IsTruncated>{entries}</ListMultipartUploadsResult>")
}

fn parts_xml(sizes: &[u64]) -> String {
    let parts: String = sizes
        .iter()
        .enumerate()
        .map(|(n, s)| {
            format!(
                "<Part><PartNumber>{}</PartNumber><Size>{s}</Size></Part>",
                n + 1
            )
        })
        .collect();
    format!("<ListPartsResult><IsTruncated>false</IsTruncated>{parts}</ListPartsResult>")
}

// ======================================================= 1. secrets (1921290)

/// FINDING (secret leak). A secret of 6 or 7 bytes is cut only where it occurs whole
/// (`SCRUB_MIN` = 6), and its base64 forms are dropped when shorter than `WINDOW` = 8
/// (`base64_forms`, src/config/secret.rs:258-262: 6 bytes give at most 7 characters that
/// depend on the secret alone at every alignment). A server or proxy quoting
/// `Authorization: Basic base64(user:secret)` shows it whole: decoding the quoted text
/// gives the secret back.
#[tokio::test]
async fn a_six_byte_secret_in_basic_credentials_is_cut() {
    const SECRET: &str = "hunt3r";
    let basic = b64(format!("AKIDEXAMPLE:{SECRET}").as_bytes());
    let said = format!("Authorization: Basic {basic} refused");
    let server = Server::start(move |_| refusal(&said)).await;
    let billed = s3_store(&server, SECRET).billed("s").unwrap();
    let shown = versions_error(billed.as_ref()).await;
    assert!(shown.contains("AccessDenied"), "{shown}");
    assert!(
        !shown.contains(&basic),
        "the credentials decode to the secret: {shown}"
    );
}

/// FINDING (secret leak). A secret echoed as hex (a proxy or server dumping the bytes
/// it was sent, e.g. a signing key debug line) is not one of `quoted_forms`
/// (src/config/secret.rs:217): the whole secret is readable.
#[tokio::test]
async fn a_secret_echoed_in_hex_is_cut() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let said = format!("key bytes {}", hex(SECRET.as_bytes()));
    let server = Server::start(move |_| refusal(&said)).await;
    let billed = s3_store(&server, SECRET).billed("s").unwrap();
    let shown = versions_error(billed.as_ref()).await;
    let hexed = hex(SECRET.as_bytes());
    // Any 16 hex digits (8 bytes) of it left is a run of the secret.
    let left = hexed
        .as_bytes()
        .windows(16)
        .filter(|w| shown.contains(std::str::from_utf8(w).unwrap()))
        .count();
    assert_eq!(left, 0, "{shown}");
}

/// FIXED (`config::secret::scrub` also matches runs over the text without its spaces,
/// line breaks and their escapes). FINDING (secret leak). A secret echoed with a line
/// break or space every 7 characters
/// (a server folding a long value, a wrapped log line, or MIME base64 lines that break
/// inside it) keeps no run of `WINDOW` = 8 bytes, so nothing is cut, and every
/// character of the secret is shown in order.
#[tokio::test]
async fn a_secret_echoed_with_line_breaks_is_cut() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let folded: String = SECRET
        .as_bytes()
        .chunks(7)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n ");
    let said = format!("signing key was {folded}");
    let server = Server::start(move |_| refusal(&said)).await;
    let billed = s3_store(&server, SECRET).billed("s").unwrap();
    let shown = versions_error(billed.as_ref()).await;
    // The message escapes the line break (`\x0a`): the pieces are shown in order. No
    // piece may be (a run of 8 bytes of another form can cut one piece by chance).
    for piece in SECRET.as_bytes().chunks(7) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(!shown.contains(piece), "{piece:?} in {shown}");
    }
}

/// FINDING (secret leak). HTML-escaped (`&amp;`, `&lt;`, `&quot;`), as a proxy's HTML
/// error page quotes what it was sent: a password holding `&`, `<` or `"` every few
/// characters keeps no run of 8 bytes of any form in `quoted_forms`.
#[tokio::test]
async fn a_secret_echoed_html_escaped_is_cut() {
    const SECRET: &str = "p&ssw0rd<9\"x&y<z";
    let escaped = SECRET
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    // The body is XML: escape once more so the Message says `&amp;` etc.
    let xml = escaped.replace('&', "&amp;");
    let said = format!("credential {xml}");
    let server = Server::start(move |_| refusal(&said)).await;
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"AKIDEXAMPLE\"\n\
         secret_access_key = '{SECRET}'\n",
        server.port
    );
    let billed = Config::from_toml(&toml, "t.toml", ".")
        .unwrap()
        .billed("s")
        .unwrap();
    let shown = versions_error(billed.as_ref()).await;
    assert!(shown.contains("credential"), "{shown}");
    assert!(!shown.contains(&escaped), "{shown}");
}

/// FIXED (`config::secret::secret_parts`: a key document's `private_key` and
/// `private_key_id`, a SAS token's `sig`, are its secrets). FINDING (cosmetic: useful
/// error text destroyed). A GCS service-account key is a
/// whole JSON document; every 8-byte run of it is "secret", including the public
/// boilerplate every key holds (`"type": "service_account"`, `"auth_uri":
/// "https://accounts.google.com/..."`, `"token_uri": "https://oauth2.googleapis.com/token"`).
/// So `https://` and `.google.com/` (and `googleapis.com/`, `service_account`) are cut
/// out of every error of that store: GCS's documentation link in a refusal reads
/// `see <redacted>cloud<redacted>storage/docs/access-control`. (Same for an Azure SAS
/// token: its `sv=2022-11-02` and `se=` date cut `2022-11-02` and timestamps from any
/// message.) src/config/secret.rs:183-205 (every 8-byte window of every form).
#[tokio::test]
async fn a_service_account_key_does_not_cut_public_words_from_errors() {
    let server = Server::start(|_| {
        Reply::Body(
            403,
            Arc::new(
                br#"{"error":{"code":403,"message":"svc@p.iam.gserviceaccount.com lacks storage.objects.list; see https://cloud.google.com/storage/docs/access-control"}}"#
                    .to_vec(),
            ),
        )
    })
    .await;
    let key = r#"{"type": "service_account", "project_id": "p", "private_key_id": "", "private_key": "", "client_email": "", "client_id": "1", "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token", "disable_oauth": true}"#;
    let toml = format!(
        "[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nservice_account_key = '{key}'\n",
        server.port
    );
    let billed = Config::from_toml(&toml, "t.toml", ".")
        .unwrap()
        .billed("g")
        .unwrap();
    let shown = versions_error(billed.as_ref()).await;
    assert!(
        shown.contains("https://cloud.google.com/storage/docs/access-control")
            && shown.contains("gserviceaccount.com"),
        "{shown}"
    );
}

/// HELD UP. The forms the change promised: the percent-decoded form of a URL-encoded
/// secret, upper and lower case, JSON-escaped, and `user:password` in base64 at every
/// user length, standard and URL-safe, are all cut from a refusal's message; and a
/// message quoting no secret is left as it is.
#[tokio::test]
async fn promised_forms_are_cut_and_other_text_is_kept() {
    const SECRET: &str = "wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY";
    let decoded = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let mut said = vec![
        decoded.to_string(),
        decoded.to_ascii_lowercase(),
        SECRET.to_ascii_uppercase(),
    ];
    for user in ["", "u", "us", "use", "user", "users"] {
        let basic = b64(format!("{user}:{decoded}").as_bytes());
        said.push(basic.clone());
        said.push(basic.replace('+', "-").replace('/', "_"));
    }
    for (i, text) in said.into_iter().enumerate() {
        let message = format!("case {i}: {text} end");
        let server = Server::start(move |_| refusal(&message)).await;
        let billed = s3_store(&server, SECRET).billed("s").unwrap();
        let shown = versions_error(billed.as_ref()).await;
        // No 12 characters of the form quoted are left.
        let left: Vec<&str> = text
            .as_bytes()
            .windows(12)
            .map(|w| std::str::from_utf8(w).unwrap())
            .filter(|w| shown.contains(w))
            .collect();
        assert!(left.is_empty(), "case {i}: {left:?} in {shown}");
        assert!(shown.contains(&format!("case {i}: ")), "{shown}");
    }
    let server = Server::start(|_| refusal("nothing secret here, bucket b")).await;
    let billed = s3_store(&server, SECRET).billed("s").unwrap();
    let shown = versions_error(billed.as_ref()).await;
    assert!(shown.contains("nothing secret here, bucket b"), "{shown}");
}

// ======================================================= 2. one listing (b49c561)

fn s3_version(key: &str, id: &str, latest: bool, time: &str, size: u64) -> String {
    format!(
        "<Version><Key>{key}</Key><VersionId>{id}</VersionId><IsLatest>{latest}</IsLatest>\
         <LastModified>{time}</LastModified><ETag>\"e\"</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Version>"
    )
}

fn s3_marker(key: &str, latest: bool) -> String {
    format!(
        "<DeleteMarker><Key>{key}</Key><VersionId>m</VersionId><IsLatest>{latest}</IsLatest>\
         <LastModified>2020-01-04T00:00:00.000Z</LastModified></DeleteMarker>"
    )
}

fn versions_page(entries: &str, next: Option<&str>) -> String {
    let (truncated, markers) = match next {
        Some(key) => (
            "true",
            format!(
                "<NextKeyMarker>{key}</NextKeyMarker><NextVersionIdMarker>1</NextVersionIdMarker>"
            ),
        ),
        None => ("false", String::new()),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>b</Name><IsTruncated>{truncated}</IsTruncated>{markers}{entries}</ListVersionsResult>"
    )
}

/// A key's entries: `shape` 0 a current and a noncurrent version (100 bytes, replaced
/// at `day`), 1 only a delete marker (orphaned), 2 a marker over a version (10 bytes).
fn entries_of(key: &str, shape: u8, day: u32) -> String {
    match shape {
        0 => [
            s3_version(
                key,
                "2",
                true,
                &format!("2020-01-{day:02}T00:00:00.000Z"),
                1,
            ),
            s3_version(key, "1", false, "2019-12-01T00:00:00.000Z", 100),
        ]
        .concat(),
        1 => s3_marker(key, true),
        _ => [
            s3_marker(key, true),
            s3_version(key, "1", false, "2019-11-01T00:00:00.000Z", 10),
        ]
        .concat(),
    }
}

/// An S3 server holding `keys` (sorted), one page a listing, answering a listing by
/// folder (delimiter `/`) and a plain one, for any prefix.
fn s3_bucket(keys: Vec<(String, u8, u32)>) -> impl Fn(&common::canned::Request) -> Reply {
    move |r| {
        let prefix = r.q("prefix").unwrap_or("").to_string();
        let under: Vec<&(String, u8, u32)> = keys
            .iter()
            .filter(|(k, ..)| k.starts_with(&prefix))
            .collect();
        match r.q("delimiter") {
            Some("/") => {
                let mut body = String::new();
                let mut folders = std::collections::BTreeSet::new();
                for (k, shape, day) in &under {
                    let rest = &k[prefix.len()..];
                    match rest.find('/') {
                        Some(i) => {
                            folders.insert(format!("{prefix}{}", &rest[..=i]));
                        }
                        None => body += &entries_of(k, *shape, *day),
                    }
                }
                for f in folders {
                    body += &format!("<CommonPrefixes><Prefix>{f}</Prefix></CommonPrefixes>");
                }
                ok(versions_page(&body, None))
            }
            _ => {
                let body: String = under
                    .iter()
                    .map(|(k, s, d)| entries_of(k, *s, *d))
                    .collect();
                ok(versions_page(&body, None))
            }
        }
    }
}

fn dataset(prefix: &str) -> Vec<(String, u8, u32)> {
    let mut keys = vec![];
    for (i, name) in [
        "a/k", "b/k", "b/m", "c/x/k", "d/k", "e/k", "f/k", "g/k", "top", "z/gone",
    ]
    .iter()
    .enumerate()
    {
        let shape = match *name {
            "z/gone" => 1,
            "b/m" => 2,
            _ => 0,
        };
        keys.push((format!("{prefix}{name}"), shape, (i + 2) as u32));
    }
    keys.sort();
    keys
}

/// HELD UP. Whatever the switch does (never: `page_entries` 0; always: u64::MAX; the
/// default; concurrency 1, 2, 3, 64), under no prefix or a prefix, the figures
/// (noncurrent counts and bytes, delete markers, orphaned markers, noncurrent_since,
/// classes, per-prefix breakdown) are those of one listing.
#[tokio::test]
async fn the_switch_never_changes_the_figures() {
    for prefix in [None, Some("p/")] {
        let server = Server::start(s3_bucket(dataset(prefix.unwrap_or("")))).await;
        let billed = server.s3_config("").billed("s").unwrap();
        let mut results = vec![];
        for concurrency in [1usize, 2, 3, 64] {
            for page_entries in [0u64, 1, 1000, u64::MAX] {
                let mut options = HiddenOptions::new(chrono::Utc::now())
                    .with_concurrency(concurrency)
                    .with_prefixes(2, 100)
                    .with_prefix(prefix.map(String::from));
                options.uploads = false;
                options.page_entries = page_entries;
                let hidden = tokio::time::timeout(
                    Duration::from_secs(10),
                    scan_hidden(billed.as_ref(), &options),
                )
                .await
                .expect("the scan ends")
                .unwrap();
                results.push(((concurrency, page_entries), hidden.versions.unwrap()));
            }
        }
        let first = &results[0].1;
        assert_eq!(
            (
                first.noncurrent.objects,
                first.noncurrent.bytes,
                first.delete_markers,
                first.orphaned_markers
            ),
            (9, 9 * 100 - 90, 2, Some(1)),
            "{prefix:?}: {first:?}"
        );
        for (what, v) in &results {
            assert_eq!(v, first, "{prefix:?} {what:?}");
        }
    }
}

/// HELD UP (no hang). Concurrency 2: folder `h/`'s listing never answers (headers,
/// then nothing); the other folders are small, so the switch comes while `h/` hangs:
/// the hung listing is dropped and the prefix is listed once. Figures are one
/// listing's.
#[tokio::test]
async fn a_switch_while_a_folder_listing_hangs_ends() {
    let keys: Vec<(String, u8, u32)> = ["a/k", "c/k", "d/k", "e/k", "f/k", "h/k"]
        .iter()
        .map(|k| (k.to_string(), 0, 3))
        .collect();
    let bucket = s3_bucket(keys);
    let server = Server::start(move |r| {
        if r.q("prefix") == Some("h/") {
            return Reply::Stall;
        }
        bucket(r)
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let mut options = HiddenOptions::new(chrono::Utc::now()).with_concurrency(2);
    options.uploads = false;
    let hidden = tokio::time::timeout(
        Duration::from_secs(8),
        scan_hidden(billed.as_ref(), &options),
    )
    .await
    .expect("no hang")
    .unwrap();
    assert_eq!(hidden.versions.unwrap().noncurrent.objects, 6);
}

/// HELD UP (no error swallowed). Concurrency 2: folder `a/`'s listing fails (400)
/// before enough folders are done for the switch: the scan is that error, not a
/// success missing `a/`. A refusal for permission (403) is no figure either: the
/// versions are said not looked at, with the server's words.
#[tokio::test]
async fn a_folder_refused_before_the_switch_is_an_error() {
    let keys: Vec<(String, u8, u32)> = ["a/k", "c/k", "d/k", "e/k", "f/k", "g/k"]
        .iter()
        .map(|k| (k.to_string(), 0, 3))
        .collect();
    let bucket = s3_bucket(keys);
    let bucket = Arc::new(bucket);
    for status in [400, 403] {
        let bucket = Arc::clone(&bucket);
        let server = Server::start(move |r| {
            if r.q("prefix") == Some("a/") {
                let body = "<Error><Code>Refused</Code><Message>no listing of a/</Message></Error>";
                return Reply::Body(status, Arc::new(body.as_bytes().to_vec()));
            }
            bucket(r)
        })
        .await;
        let billed = server.s3_config("").billed("s").unwrap();
        let mut options = HiddenOptions::new(chrono::Utc::now()).with_concurrency(2);
        options.uploads = false;
        let result = tokio::time::timeout(
            Duration::from_secs(8),
            scan_hidden(billed.as_ref(), &options),
        )
        .await
        .expect("the scan ends");
        match status {
            400 => assert!(result.is_err(), "{result:?}"),
            _ => {
                let hidden = result.unwrap();
                assert!(hidden.versions.is_none(), "{hidden:?}");
                assert!(
                    hidden.not_seen.join(" ").contains("no listing of a/"),
                    "{hidden:?}"
                );
            }
        }
    }
}

/// FINDING (cost: unbounded requests wasted; the doc's "Decided from the first
/// folders", src/inventory/hidden.rs:165, is not what happens). The choice is made
/// again at every folder given (`small()`, hidden.rs:202-210), from the average of
/// *all* folders done. A large first folder (`big/`, 3 pages of 1,000 entries) keeps
/// the average high; small folders after it bring it down, and then everything is
/// dropped and the prefix listed again, `big/`'s 3 pages included: each page of the
/// largest folder is requested twice. With a folder of a million entries, 1,000 pages
/// are thrown away. Figures are right; the requests (and their bill) are not bounded
/// by the `concurrency` folders the doc promises.
#[tokio::test]
async fn a_large_first_folder_is_not_listed_twice() {
    let big = |from: usize| -> String {
        (from..from + 500)
            .map(|i| entries_of(&format!("big/k{i:04}"), 0, 3))
            .collect()
    };
    let small: Vec<String> = (0..10).map(|i| format!("s{i}/k")).collect();
    let smalls = small.clone();
    let server = Server::start(move |r| {
        let page = |marker: Option<&str>, tail: &str| {
            let from = match marker {
                None => 0,
                Some("big/k0499") => 500,
                Some("big/k0999") => 1000,
                Some(m) => panic!("marker {m}"),
            };
            let next = (from < 1000).then(|| format!("big/k{:04}", from + 499));
            let extra = if from == 1000 { tail } else { "" };
            ok(versions_page(&(big(from) + extra), next.as_deref()))
        };
        match (r.q("delimiter"), r.q("prefix")) {
            (Some("/"), Some("")) => {
                let mut body = "<CommonPrefixes><Prefix>big/</Prefix></CommonPrefixes>".to_string();
                for s in &smalls {
                    body += &format!(
                        "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                        &s[..3]
                    );
                }
                ok(versions_page(&body, None))
            }
            (None, Some("big/")) => page(r.q("key-marker"), ""),
            (None, Some("")) => {
                let tail: String = smalls.iter().map(|k| entries_of(k, 0, 3)).collect();
                page(r.q("key-marker"), &tail)
            }
            (None, Some(p)) => ok(versions_page(&entries_of(&format!("{p}k"), 0, 3), None)),
            _ => Reply::Body(400, Arc::new(vec![])),
        }
    })
    .await;
    let billed = server.s3_config("").billed("s").unwrap();
    let mut options = HiddenOptions::new(chrono::Utc::now()).with_concurrency(1);
    options.uploads = false;
    let hidden = tokio::time::timeout(
        Duration::from_secs(10),
        scan_hidden(billed.as_ref(), &options),
    )
    .await
    .expect("the scan ends")
    .unwrap();
    assert_eq!(hidden.versions.unwrap().noncurrent.objects, 1500 + 10);
    let received = server.received();
    let big_pages = received
        .iter()
        .filter(|r| r.q("delimiter").is_none() && matches!(r.q("prefix"), Some("big/") | Some("")))
        .count();
    assert!(
        big_pages <= 3,
        "big/'s 3 pages were requested {big_pages} times in all ({} requests; one listing \
         by folder alone is 14, one listing alone 4)",
        received.len()
    );
}

// ======================================================= 3. GCS XML API (f0331f3)

fn decoded_path(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .to_string()
}

/// FINDING, fixed (wrong number, and aborts sent to another object / bucket; also S3). A key
/// with a `.` or `..` segment (`a/../b`, `./c`: valid object names on GCS and S3) is put
/// into the request path as it is (`PATH` leaves `.` unencoded,
/// src/billed/multipart.rs:29, used at :208 and :286), and the HTTP client (reqwest's
/// `Url`) removes dot segments: `ListParts` of `a/../b` is sent for `b` (404: counted
/// as 0 parts, 0 bytes), and with store prefix `p/`, upload `../../x` (full key
/// `p/../../x`) is asked for at `/x`: outside the store's prefix and outside the
/// bucket. The abort of the same upload goes to the same wrong path, and its 404
/// reads as "gone" (`Ok(false)`), so cleanup reports it gone and it stays billed.
/// Percent-encoding the dots does not help either (`%2E%2E` is a dot segment to the
/// URL standard); such a key needs to be refused, or sent without normalization.
/// S3 shares the code; on real S3 the SigV4 signature (over the path before
/// normalization) would fail instead (an error, not a silent 0); on GCS (bearer token)
/// it was silent: 0 parts, 0 bytes, cleanup said "gone", nothing aborted. Now such a
/// key is refused, naming it, before any request about it (`multipart::key_path`).
#[tokio::test]
async fn keys_with_dot_segments_are_refused_not_asked_for_at_another_path() {
    for provider in ["gcs", "s3"] {
        let keys = ["p/a/../b", "p/./c", "p/../../x", "p/d/.", "p/e/.."];
        let server = Server::start(move |r| {
            if r.q("uploads").is_some() {
                let uploads: Vec<(&str, &str)> = keys.iter().map(|k| (*k, "u")).collect();
                return ok(uploads_xml(
                    "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
                    &uploads,
                ));
            }
            ok(parts_xml(&[5]))
        })
        .await;
        let config = match provider {
            "gcs" => gcs_config(&server, Some("p")),
            _ => {
                let toml = format!(
                    "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
                     allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"k\"\n\
                     secret_access_key = \"sEcReTsEcReT\"\nprefix = \"p\"\n",
                    server.port
                );
                Config::from_toml(&toml, "t.toml", ".").unwrap()
            }
        };
        let billed = config
            .billed(if provider == "gcs" { "g" } else { "s" })
            .unwrap();
        let err = all_uploads(billed.as_ref(), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("`.` or `..` segment"), "{provider}: {err}");
        let err = cleanup_uploads(
            billed.as_ref(),
            &CleanupOptions::new(Duration::from_secs(60)).with_dry_run(false),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("`.` or `..` segment"), "{provider}: {err}");
        // An abort asked for directly is refused too, before anything is sent.
        let upload = Upload {
            key: "../../x".into(),
            upload_id: "u".into(),
            initiated: Some(chrono::Utc::now()),
            class: None,
            parts: 0,
            bytes: 0,
        };
        let err = billed.abort(&upload).await.unwrap_err().to_string();
        assert!(err.contains("`.` or `..` segment"), "{provider}: {err}");
        let sent: Vec<String> = server
            .received()
            .iter()
            .filter(|r| r.q("uploads").is_none())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(sent.is_empty(), "{provider}: asked about: {sent:?}");
    }
}

/// HELD UP. Keys with a space, `+`, `%`, `?`, `#`, unicode, `;` and `//` are asked for
/// (ListParts, abort) at their own path, percent-encoded, as GCS documents XML API
/// object names; nothing is sent outside the store's prefix.
#[tokio::test]
async fn odd_keys_are_asked_for_at_their_percent_encoded_path() {
    let keys = [
        "p/a b",
        "p/a+b",
        "p/50%",
        "p/q?x=1",
        "p/h#f",
        "p/한글 é",
        "p/s;t",
        "p/d//e",
        "p/~t",
    ];
    let server = Server::start(move |r| {
        if r.q("uploads").is_some() {
            let uploads: Vec<(&str, &str)> = keys.iter().map(|k| (*k, "u")).collect();
            return ok(uploads_xml("<ListMultipartUploadsResult>", &uploads));
        }
        let path = decoded_path(&r.path);
        match path.strip_prefix("/b/") {
            Some(key) if keys.contains(&key) && !r.path.contains(['?', '#', ' ', '+']) => {
                match r.method.as_str() {
                    "GET" => ok(parts_xml(&[5, 6])),
                    _ => Reply::Body(204, Arc::new(vec![])),
                }
            }
            _ => Reply::Body(404, Arc::new(vec![])),
        }
    })
    .await;
    let billed = gcs_config(&server, Some("p")).billed("g").unwrap();
    let uploads = all_uploads(billed.as_ref(), None).await.unwrap();
    assert_eq!(uploads.len(), keys.len());
    assert!(
        uploads.iter().all(|u| u.parts == 2 && u.bytes == 11),
        "{uploads:?}"
    );
    let report = cleanup_uploads(
        billed.as_ref(),
        &CleanupOptions::new(Duration::from_secs(60)).with_dry_run(false),
    )
    .await
    .unwrap();
    assert_eq!((report.old.len(), report.gone), (keys.len(), 0));
    let deletes = server
        .received()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, keys.len());
}

/// HELD UP. A legitimate answer is accepted with a namespace, an XML declaration, a
/// byte order mark, leading whitespace, a comment, a DOCTYPE, or a namespace prefix; a
/// different document (`Error` with 200, `ListBucketResult`, `ListPartsResult` for
/// uploads, JSON, HTML, an empty body) is an error.
#[tokio::test]
async fn the_root_element_check_accepts_real_answers_and_refuses_others() {
    let good = [
        "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListMultipartUploadsResult>",
        "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListMultipartUploadsResult>",
        "\n\r\n  \t<ListMultipartUploadsResult>",
        "<!-- a comment --><ListMultipartUploadsResult>",
        "<?xml version=\"1.0\"?><!DOCTYPE x><ListMultipartUploadsResult>",
    ];
    for open in good {
        let body = uploads_xml(open, &[("k", "u")]);
        let server = Server::start(move |r| match r.q("uploads") {
            Some(_) => ok(body.clone()),
            None => ok(
                "<?xml version=\"1.0\"?>\n<!-- c --><ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <IsTruncated>false</IsTruncated><Part><Size>7</Size></Part></ListPartsResult>"
                    .to_string(),
            ),
        })
        .await;
        let billed = gcs_config(&server, None).billed("g").unwrap();
        let uploads = all_uploads(billed.as_ref(), None).await;
        let got = uploads.map(|u| u.iter().map(|u| u.bytes).collect::<Vec<_>>());
        assert_eq!(got.map_err(|e| e.to_string()), Ok(vec![7]), "{open:?}");
    }
    let bad = [
        "<Error><Code>X</Code></Error>".to_string(),
        "<ListBucketResult><Name>b</Name></ListBucketResult>".to_string(),
        "<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>".to_string(),
        "{\"kind\":\"storage#objects\"}".to_string(),
        "<html><body>proxy</body></html>".to_string(),
        String::new(),
        // The right root, cut before its end (a truncated answer).
        "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>k</Key>"
            .to_string(),
    ];
    for body in bad {
        let shown = body.clone();
        let server = Server::start(move |_| ok(body.clone())).await;
        let billed = gcs_config(&server, None).billed("g").unwrap();
        let uploads = all_uploads(billed.as_ref(), None).await;
        assert!(
            uploads.is_err(),
            "{shown:?}: {:?}",
            uploads.map(|u| u.len())
        );
    }
}

/// FINDING (wrong number, low likelihood). The root check (`parse_page_of`,
/// src/billed/xml.rs:139-165) looks at the first element only, and quick_xml's
/// deserializer stops at the end of the first root: a 200 answer holding the right
/// (empty) root followed by more (a proxy concatenating, a server bug) reads as "no
/// uploads" instead of an error. Trailing content after the root should be refused.
#[tokio::test]
async fn content_after_the_root_element_is_not_ignored() {
    let body = format!(
        "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>{}",
        uploads_xml("<ListMultipartUploadsResult>", &[("k", "u")])
    );
    let server = Server::start(move |r| match r.q("uploads") {
        Some(_) => ok(body.clone()),
        None => ok(parts_xml(&[7])),
    })
    .await;
    let billed = gcs_config(&server, None).billed("g").unwrap();
    let uploads = all_uploads(billed.as_ref(), None).await;
    assert!(
        !matches!(&uploads, Ok(u) if u.is_empty()),
        "two documents read as no uploads: {:?}",
        uploads.map(|u| u.len())
    );
}

/// A throwaway RSA key made for this test (openssl genpkey), never used anywhere.
const TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCj1x4+9M0XLkIa
vIoxQXquqKwuIgc6Og30YxzY6cPCiL1nbyMe/BQf2e1+IMeqdnYaKK7U4BDYkSmJ
VxLI1EPLqxxmGvR8jrrD7LeeADizpfZnHHG5fQd4k6kOqK1ChLa9JuPrCk1mMG95
dkA+wt5joUI8ytfPSc7cI5iPCQ5nWYfyzjvqAK/YjjYC+dW7PT2HcHHpjSRAPHQp
XJWfawjCsTHBQngVqXERQiyLGypMBlpRGaIF7DIgW6/CxYua84d9XIvDzSzy0Btg
XYHOaVXYbe/GMrdlTWz8ggPsREo/EvS2wWFBNFSU5s2CtByqaZmzlDb9YmAsX26c
JU+c93LdAgMBAAECggEAC253q8jaLniJyuJwz0hUTlodJAg3x4uZbFMmBh8kC4S4
QmlHYrgP52ZbOGZXyBWv3oS203TheAWDh75Njzmlk/utEEASjZuf0wpx3VJX98uS
n6slEYjJu/4Bg7D9NcZGFyM0L91uJ70lagIi2r4vVMrsRjWY99ucf/uef2G7DDbf
EynlmB9IyVjrEnLCZVHcSmlPl1oTGKKwyxPXroAVGVJNS/3yngJjZ2uc+XAVH5bt
thXI3VEIpT7jU+udnr+4H+5xtPkSOKbTeTuXNeibnKAhqLJiGwvAKFX8LfyN2szo
sV+6uzNnNBLP0GHoaMqQ5Y+TcX2rSiZZF3S3EWeV+QKBgQDM0NHyLoDylwAE/kRN
2sXLeSk8t1eDNEodWWrzxPGwMT5NdEk5QGWVcIlQ2Wd03YOQ3L3NNA0kJflALDJb
Ri3wUAfbKYQe3TqyfaV2lfYrl2u8b36SyKbyK70PClAZno/8NK7aHq6U4Hf7o9tu
iWluIN8uZdSHg6d+58tvF4P1mwKBgQDMyOC9BdXBeb5QoRpUs8a96y3nCqDVaKHT
26pD2rYOVAxeG3NeyL4pYf/ct7n8I+YbGStCCmJlrAgn/oq9/VxKRgHHJCawKELh
jF44JfwrCxdFsVJ15YNnN0nMY3YyFNe5CvNIThvD/SzNI2Mt/xgJhvYRrS01ymeC
i4fBWYW85wKBgEygZ5uq6FVaRwiXNGjIS633c4UittwAiSX32TrAWQfpNHz335lK
zXaedtFHtRwU7+8Xlu8Z5Ty79EedAW4CkJdS6c2F98cwT5CNz4TRUBs4+Ha0Y+94
oHUEBiSFYDhliUr7TtuOFRTf8iO0RxlQ0aABLl6GfIACsnyZLhQvARC3AoGBAJiJ
SF2D6ySiOlB0r9hH0NHGS/q8v/A2b9QO21SPpOwnTs8KQ3Vmsb7BcIRHlhFp7Axj
QwV+Fq0E505jG5VJE2V/n/NlyiuM0cSPed747ExjhoIzAukufCJ13FKSA4hqXgVH
Us+Y3rWt76EdqtKoII94J/IivHpEubVTmVs8A5IhAoGAWQ34ntbjg8adl28dauzQ
0npbC/2Frvgzrwo2K3KychcZDbPutzDjGzqn4s1dz72EgSaaPPcVtdX1t2LCA1pJ
gnoBw2W1J9Chl5gzITG7dqPL4VtidEkVPKSh5ssa5m3H7PqEHIp4cTltrrluT50n
MzGTvXeINaBL6DXyV1KSU0s=
-----END PRIVATE KEY-----
";

/// GCS with a real (throwaway) service-account key and OAuth disabled: requests carry
/// `Authorization: Bearer <self-signed JWT>`.
fn gcs_signed_config(server: &Server) -> Config {
    let key = format!(
        "{{\"type\":\"service_account\",\"client_email\":\"x@y.iam.gserviceaccount.com\",\
         \"private_key_id\":\"kid\",\"private_key\":{}}}",
        serde_json_string(TEST_KEY_PEM)
    );
    let toml = format!(
        "[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nservice_account_key = '''{key}'''\n",
        server.port
    );
    Config::from_toml(&toml, "t.toml", ".").unwrap()
}

fn serde_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// HELD UP. A redirect (307) to another origin (another port) is followed by the HTTP
/// client; GCS's bearer token (a self-signed JWT from a throwaway key) is in
/// `Authorization`, which reqwest drops across origins: the other origin gets none.
#[tokio::test]
async fn no_token_follows_a_redirect_to_another_origin() {
    let other = Server::start(|r| match r.q("uploads") {
        Some(_) => ok(uploads_xml("<ListMultipartUploadsResult>", &[])),
        None => ok(versions_page("", None)),
    })
    .await;
    let port = other.port;
    let first = Server::start(move |r| {
        Reply::WithHeaders(
            307,
            format!("Location: http://localhost:{port}{}\r\n", r.target),
            vec![],
        )
    })
    .await;
    // GCS
    let billed = gcs_signed_config(&first).billed("g").unwrap();
    let _ = all_uploads(billed.as_ref(), None).await;
    let sent = first.received();
    assert!(
        sent.iter().any(|r| r
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))),
        "the first server gets the token: {sent:?}"
    );
    let followed = other.received();
    assert!(
        followed.iter().all(|r| r.header("authorization").is_none()),
        "GCS token sent to another origin: {followed:?}"
    );
}

/// FINDING (secret leak; S3, through the shared `billed::http::send`, not new in
/// f0331f3). An S3 server (or anything at its endpoint) answering 307 with a `Location`
/// on another origin gets the request replayed there by reqwest's default redirect
/// policy (object_store sets none); reqwest drops `Authorization` across origins but
/// not `x-amz-security-token`: the session token is sent to the other host.
/// src/billed/http.rs:40 (`client.execute`), client built by object_store without a
/// redirect policy.
#[tokio::test]
#[ignore = "known gap (docs/STATUS.md, Billed bytes): object_store's client follows redirects and ClientOptions cannot turn that off"]
async fn no_s3_session_token_follows_a_redirect_to_another_origin() {
    let other = Server::start(|_| ok(uploads_xml("<ListMultipartUploadsResult>", &[]))).await;
    let port = other.port;
    let first = Server::start(move |r| {
        Reply::WithHeaders(
            307,
            format!("Location: http://localhost:{port}{}\r\n", r.target),
            vec![],
        )
    })
    .await;
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"k\"\n\
         secret_access_key = \"sEcReTsEcReT\"\nsession_token = \"SESSIONtokenSESSION\"\n",
        first.port
    );
    let billed = Config::from_toml(&toml, "t.toml", ".")
        .unwrap()
        .billed("s")
        .unwrap();
    let _ = all_uploads(billed.as_ref(), None).await;
    let followed = other.received();
    assert!(
        followed
            .iter()
            .all(|r| r.header("x-amz-security-token").is_none()),
        "S3 session token sent to another origin: {:?}",
        followed.iter().map(|r| r.head.clone()).collect::<Vec<_>>()
    );
}

/// HELD UP (bounded). A ListParts answer of 40 MiB (past the 32 MiB limit) is refused,
/// not read whole; an endless `IsTruncated` with a repeating marker is an error.
#[tokio::test]
async fn gcs_bodies_and_part_markers_are_bounded() {
    let big = Arc::new({
        let mut v = b"<ListPartsResult><IsTruncated>false</IsTruncated>".to_vec();
        v.extend(std::iter::repeat_n(b' ', 40 << 20));
        v.extend(b"</ListPartsResult>");
        v
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let server = Server::start(move |r| {
        seen.fetch_add(1, Ordering::Relaxed);
        match (r.q("uploads"), r.path.as_str()) {
            (Some(_), _) => ok(uploads_xml("<ListMultipartUploadsResult>", &[("big", "u"), ("loop", "v")])),
            (None, "/b/big") => Reply::Body(200, Arc::clone(&big)),
            _ => ok("<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>1</NextPartNumberMarker>\
                     <Part><Size>1</Size></Part></ListPartsResult>"),
        }
    })
    .await;
    let billed = gcs_config(&server, None).billed("g").unwrap();
    let uploads = all_uploads(billed.as_ref(), None).await;
    assert!(uploads.is_err());
    assert!(calls.load(Ordering::Relaxed) < 20);
}
