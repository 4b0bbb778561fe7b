//! Adversarial review 4 of 003a18c (the fixes of tests/adversarial_billed_azure.rs):
//! a server within the 32 MiB body limit, against the element bound of `parse_page`
//! (src/billed/xml.rs) and the Get Block List parse (src/billed/azure.rs).
//! The local HTTP server and the counting allocator are tests/common's.
//!
//! Failed at 1bd3574, all fixed since: Get Block List and S3 ListParts buffered into ~1 GB
//! (quick-xml's overlapped-lists; now at most 200,000 events are held between two items),
//! a legitimate GCS page refused by `values_over` (now only the top object's and its
//! lists' values count), an S3 session token with a newline panicked (now refused by the
//! config, as Azure's credentials are).
//! Passing: attributes and 9,000-child blobs within `parse_page` stay bounded; real S3
//! (1,000 entries) and Azure (5,000 blobs, Metadata, Tags) pages parse.
#![allow(dead_code, unused_imports)]

mod common;

use common::alloc::{peak_since, reset_peak, Counting, HEAVY};
use common::billed::{
    all_uploads, all_versions, blob, list_blobs_page as page, AZURE_KEY as KEY,
    WITH_AZURE_KEY as WITH_KEY,
};
use common::canned::{ok, Reply, Request, Server};
use futures::TryStreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stratus::billed::{cleanup_uploads, Billed, CleanupOptions, Upload, VersionEntry};
use stratus::inventory::hidden::{scan_hidden, HiddenOptions};
use stratus::Config;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated while `uploads` runs against a server answering List Blobs with
/// one block blob and Get Block List with `list`.
async fn block_list_peak(list: Vec<u8>) -> (usize, usize, Result<usize, String>) {
    let list = Arc::new(list);
    let len = list.len();
    assert!(len <= stratus::billed::MAX_RESPONSE_BYTES);
    let served = Arc::clone(&list);
    let server = Server::start(move |r| match r.q("comp") {
        Some("list") => ok(page(&blob("staged", None, "0"), None)),
        _ => Reply::Body(200, Arc::clone(&served)),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let before = reset_peak();
    let uploads = all_uploads(billed.as_ref(), None).await;
    let peak = peak_since(before);
    (
        len,
        peak,
        uploads.map(|u| u.len()).map_err(|e| e.to_string()),
    )
}

/// FINDING (memory, hostile server). `Get Block List` is parsed with `xml::parse`, not
/// `parse_page` (src/billed/azure.rs, `parse(&body, ...)` for `BlockList`), and
/// quick-xml's `overlapped-lists` feature (Cargo.toml:106) buffers every event between
/// two `<Block>`s of the `Block` list (`Blocks::blocks`, src/billed/azure.rs:612-615) to
/// replay it later. A 32 MiB body of one `<Block>`, ~8.4 million `<x/>` and one more
/// `<Block>` is buffered as ~16.8 million events. Bound used: 8x the body.
#[tokio::test]
async fn a_block_list_with_unknown_elements_between_blocks_stays_bounded() {
    let _heavy = HEAVY.lock().await;
    let block = "<Block><Size>1</Size></Block>";
    let mut body = String::with_capacity(32 << 20);
    body.push_str("<BlockList><UncommittedBlocks>");
    body.push_str(block);
    while body.len() + 200 < (32 << 20) {
        body.push_str("<x/>");
    }
    body.push_str(block);
    body.push_str("</UncommittedBlocks></BlockList>");
    let (len, peak, listed) = block_list_peak(body.into_bytes()).await;
    assert!(
        peak < 8 * len,
        "a Get Block List of {len} bytes took {} MB at its peak (bound {} MB); {listed:?}",
        peak >> 20,
        (8 * len) >> 20
    );
}

/// List Blobs page peak.
async fn list_peak(body: String) -> (usize, usize, Result<usize, String>) {
    let body = Arc::new(body.into_bytes());
    let len = body.len();
    assert!(len <= stratus::billed::MAX_RESPONSE_BYTES);
    let served = Arc::clone(&body);
    let server = Server::start(move |_| Reply::Body(200, Arc::clone(&served))).await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let before = reset_peak();
    let listed = all_versions(billed.as_ref()).await;
    let peak = peak_since(before);
    (
        len,
        peak,
        listed.map(|l| l.len()).map_err(|e| e.to_string()),
    )
}

/// HELD UP. 9,000 unknown children under each blob's Properties and in another element
/// (~1,800 blobs, 32 MiB): skipped, not buffered; 10,000 x 10,000 at depth (each blob's Properties holding many unknown empty
/// elements; each parent under the 10,000 bound of `parse_page`).
#[tokio::test]
async fn a_page_of_blobs_each_with_many_unknown_children_stays_bounded() {
    let _heavy = HEAVY.lock().await;
    let inner = "<a/>".repeat(9_000);
    let mut items = String::with_capacity(32 << 20);
    let mut i = 0;
    while items.len() + inner.len() + 600 < (32 << 20) - 400 {
        items.push_str(&format!(
            "<Blob><Name>b{i:06}</Name><Properties><Last-Modified>Tue, 01 Dec 2026 09:00:00 GMT</Last-Modified>\
             <Content-Length>1</Content-Length>{inner}</Properties><M>{inner}</M></Blob>"
        ));
        i += 1;
    }
    let (len, peak, listed) = list_peak(page(&items, None)).await;
    assert!(
        peak < 8 * len,
        "a page of {len} bytes ({i} blobs) took {} MB at its peak; {listed:?}",
        peak >> 20
    );
}

/// HELD UP. Attributes instead of elements (not counted by `parse_page`): skipped.
#[tokio::test]
async fn a_page_of_attributes_stays_bounded() {
    let _heavy = HEAVY.lock().await;
    let attrs: String = (0..2_000).map(|i| format!(" a{i}=\"\"")).collect();
    let mut items = String::with_capacity(32 << 20);
    let mut i = 0;
    while items.len() + attrs.len() + 600 < (32 << 20) - 400 {
        items.push_str(&format!(
            "<Blob{attrs}><Name{attrs}>b{i:06}</Name><Properties{attrs}><Last-Modified>Tue, 01 Dec 2026 09:00:00 GMT</Last-Modified>\
             <Content-Length>1</Content-Length></Properties></Blob>"
        ));
        i += 1;
    }
    let (len, peak, listed) = list_peak(page(&items, None)).await;
    assert!(
        peak < 8 * len,
        "a page of {len} bytes ({i} blobs) took {} MB at its peak; {listed:?}",
        peak >> 20
    );
}

/// Legitimate page: 5,000 blobs with Metadata, Tags, OrMetadata, every property Azure
/// documents (HELD UP: parses).
#[tokio::test]
async fn a_real_azure_page_of_5000_blobs_with_metadata_and_tags_parses() {
    let mut items = String::new();
    for i in 0..5_000 {
        items.push_str(&format!(
            "<Blob><Name>dir/b{i:05}</Name><VersionId>2026-12-01T09:00:00.{i:07}Z</VersionId>\
             <IsCurrentVersion>true</IsCurrentVersion><Properties>\
             <Creation-Time>Tue, 01 Dec 2026 09:00:00 GMT</Creation-Time>\
             <Last-Modified>Tue, 01 Dec 2026 09:00:00 GMT</Last-Modified><Etag>0x8D</Etag>\
             <Content-Length>10</Content-Length><Content-Type>text/plain</Content-Type>\
             <Content-Encoding /><Content-Language /><Content-CRC64 /><Content-MD5>abc=</Content-MD5>\
             <Cache-Control /><Content-Disposition /><BlobType>BlockBlob</BlobType>\
             <AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>\
             <LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>\
             <ServerEncrypted>true</ServerEncrypted><TagCount>3</TagCount></Properties>\
             <Metadata>{}</Metadata><Tags><TagSet>{}</TagSet></Tags>\
             <OrMetadata /></Blob>",
            (0..20).map(|m| format!("<k{m}>v</k{m}>")).collect::<String>(),
            (0..10).map(|t| format!("<Tag><Key>k{t}</Key><Value>v</Value></Tag>")).collect::<String>(),
        ));
    }
    let body = page(&items, Some("next"));
    let served = Arc::new(body.into_bytes());
    let server = Server::start(move |r| match r.q("marker") {
        Some("next") => ok(page("", None)),
        _ => Reply::Body(200, Arc::clone(&served)),
    })
    .await;
    let billed = server.azure_config(WITH_KEY).billed("az").unwrap();
    let listed = all_versions(billed.as_ref()).await.map(|l| l.len());
    assert_eq!(listed.map_err(|e| e.to_string()), Ok(5_000));
}

// ---- S3 ----

const UPLOADS: &str =
    "<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated>\
    <Upload><Key>k</Key><UploadId>u1</UploadId><Initiated>2026-12-01T09:00:00.000Z</Initiated>\
    <StorageClass>STANDARD</StorageClass></Upload></ListMultipartUploadsResult>";

/// FINDING (memory, hostile server). S3 `ListParts` goes through `parse_page`, but its
/// bound is per parent: wrappers of 9,000 `<a/>` each (~930 of them at the root, under
/// 10,000) pass it, and quick-xml's `overlapped-lists` buffers all their events between
/// two `<Part>`s of `ListParts::parts` (src/billed/s3.rs:592-598; Cargo.toml:106). Same
/// for `ListMultipartUploads` (`uploads`, src/billed/s3.rs:578). Bound: 8x the body.
#[tokio::test]
async fn s3_list_parts_with_wrapped_unknown_elements_between_parts_stays_bounded() {
    let _heavy = HEAVY.lock().await;
    let part = "<Part><PartNumber>1</PartNumber><Size>1</Size></Part>";
    let wrapper = format!("<x>{}</x>", "<a/>".repeat(9_000));
    let mut body = String::with_capacity(32 << 20);
    body.push_str("<ListPartsResult><IsTruncated>false</IsTruncated>");
    body.push_str(part);
    while body.len() + wrapper.len() + 200 < (32 << 20) {
        body.push_str(&wrapper);
    }
    body.push_str(part);
    body.push_str("</ListPartsResult>");
    let body = Arc::new(body.into_bytes());
    let len = body.len();
    let served = Arc::clone(&body);
    let server = Server::start(move |r| match r.q("uploadId") {
        Some(_) => Reply::Body(200, Arc::clone(&served)),
        None => ok(UPLOADS),
    })
    .await;
    let config = server.s3_config("");
    let billed = config.billed("s").unwrap();
    let before = reset_peak();
    let uploads = all_uploads(billed.as_ref(), None).await;
    let peak = peak_since(before);
    assert!(
        peak < 8 * len,
        "a ListParts page of {len} bytes took {} MB at its peak (bound {} MB); {:?}",
        peak >> 20,
        (8 * len) >> 20,
        uploads
            .map(|u| u.iter().map(|u| u.parts).collect::<Vec<_>>())
            .map_err(|e| e.to_string())
    );
}

/// Legitimate page: S3 ListObjectVersions of 1,000 entries (versions and delete markers)
/// with Owner, ChecksumAlgorithm, ChecksumType, RestoreStatus, ETag, and 1,000
/// as AWS documents them (HELD UP: parses).
#[tokio::test]
async fn a_real_s3_versions_page_of_1000_entries_parses() {
    let mut items = String::new();
    for i in 0..1_000 {
        if i % 2 == 0 {
            items.push_str(&format!(
                "<Version><Key>k{i:04}</Key><VersionId>v{i}</VersionId><IsLatest>true</IsLatest>\
                 <LastModified>2026-12-01T09:00:00.000Z</LastModified><ETag>\"e\"</ETag>\
                 <Size>5</Size><Owner><ID>abc</ID><DisplayName>me</DisplayName></Owner>\
                 <ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumAlgorithm>SHA256</ChecksumAlgorithm>\
                 <ChecksumType>FULL_OBJECT</ChecksumType>\
                 <RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress></RestoreStatus>\
                 <StorageClass>STANDARD</StorageClass></Version>"
            ));
        } else {
            items.push_str(&format!(
                "<DeleteMarker><Key>k{i:04}</Key><VersionId>d{i}</VersionId><IsLatest>true</IsLatest>\
                 <LastModified>2026-12-01T09:00:00.000Z</LastModified>\
                 <Owner><ID>abc</ID><DisplayName>me</DisplayName></Owner></DeleteMarker>"
            ));
        }
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>b</Name><Prefix></Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>\
         <MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{items}</ListVersionsResult>"
    );
    let server = Server::start(move |_| ok(body.clone())).await;
    let config = server.s3_config("");
    let billed = config.billed("s").unwrap();
    let listed = all_versions(billed.as_ref()).await.map(|l| l.len());
    assert_eq!(listed.map_err(|e| e.to_string()), Ok(1_000));
}

// ---- GCS ----

/// FINDING (false refusal of a legitimate page). The GCS listing asks for whole objects
/// (no `fields=`, src/billed/gcs.rs:82), so each object comes with its custom `metadata`
/// map (GCS allows 8 KiB of it per object). `values_over` counts every comma and `{`
/// outside strings and refuses a page over 200,000 (src/billed/gcs.rs:348, 117): 1,000
/// objects (the page size asked for) of ~20 fields and 200 short metadata entries each
/// (about 1.6 KiB of metadata, ~221,000 values, a 2.5 MB page) are refused, and the whole
/// listing fails.
#[tokio::test]
async fn a_real_gcs_page_of_1000_objects_with_metadata_maps_parses() {
    let mut items = Vec::new();
    for i in 0..1_000 {
        let metadata: Vec<String> = (0..200).map(|m| format!("\"m{m}\":\"v\"")).collect();
        items.push(format!(
            "{{\"kind\":\"storage#object\",\"id\":\"b/o{i:04}/1\",\"selfLink\":\"http://x/o{i:04}\",\
             \"mediaLink\":\"http://x/o{i:04}?alt=media\",\"name\":\"o{i:04}\",\"bucket\":\"b\",\
             \"generation\":\"1700000000000000\",\"metageneration\":\"1\",\"contentType\":\"text/plain\",\
             \"storageClass\":\"STANDARD\",\"size\":\"10\",\"md5Hash\":\"abc==\",\"crc32c\":\"AAAAAA==\",\
             \"etag\":\"CAE=\",\"timeCreated\":\"2026-12-01T09:00:00.000Z\",\
             \"updated\":\"2026-12-01T09:00:00.000Z\",\
             \"timeStorageClassUpdated\":\"2026-12-01T09:00:00.000Z\",\"metadata\":{{{}}}}}",
            metadata.join(",")
        ));
    }
    let body = format!(
        "{{\"kind\":\"storage#objects\",\"items\":[{}]}}",
        items.join(",")
    );
    let len = body.len();
    let server = Server::start(move |_| ok(body.clone())).await;
    let config = {
        let toml = format!(
            "[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
             allow_http = true\nservice_account_key = '{{\"disable_oauth\": true, \
             \"client_email\": \"\", \"private_key\": \"\", \"private_key_id\": \"\"}}'\n",
            server.port
        );
        Config::from_toml(&toml, "test.toml", ".").unwrap()
    };
    let billed = config.billed("g").unwrap();
    let listed = all_versions(billed.as_ref()).await.map(|l| l.len());
    assert_eq!(
        listed.map_err(|e| e.to_string()),
        Ok(1_000),
        "a page of {len} bytes"
    );
}

// ---- Credentials ----

/// FINDING (panic). The control-character check was added to Azure's config only
/// (src/config/providers/azure.rs `check`); an S3 `session_token` with a newline is
/// accepted by the config and panics the first billed request inside object_store
/// (object_store-0.14.2 src/aws/credential.rs:225, `HeaderValue::from_str(..).unwrap()`
/// for `x-amz-security-token`).
#[tokio::test]
async fn an_s3_session_token_with_a_newline_is_not_a_panic() {
    let server = Server::start(|_| ok("<ListVersionsResult></ListVersionsResult>")).await;
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{}\"\n\
         allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"k\"\n\
         secret_access_key = \"sEcReTsEcReT\"\nsession_token = \"tok\\nen\"\n",
        server.port
    );
    let Ok(config) = Config::from_toml(&toml, "test.toml", ".") else {
        return;
    };
    let Ok(billed) = config.billed("s") else {
        return;
    };
    let billed: Arc<dyn Billed> = billed;
    let listed =
        tokio::spawn(async move { all_versions(billed.as_ref()).await.map(|l| l.len()) }).await;
    assert!(listed.is_ok(), "the listing panicked: {listed:?}");
}
