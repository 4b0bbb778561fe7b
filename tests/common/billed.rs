//! What the tests of `stratus::billed` share: listings read whole (with a deadline, so a
//! listing that loops fails the test instead of hanging it), and Azure's `List Blobs`
//! answers for a canned server.
#![allow(dead_code)] // each test binary uses a different part of this module

use futures::TryStreamExt;
use std::time::Duration;
use stratus::billed::{Billed, Upload, VersionEntry};

/// Every version entry `billed` lists.
pub async fn all_versions(billed: &dyn Billed) -> stratus::Result<Vec<VersionEntry>> {
    tokio::time::timeout(Duration::from_secs(20), billed.versions(None).try_collect())
        .await
        .expect("the listing ends (it must not loop)")
}

/// The error (Display and Debug) of a versions listing of `billed` that must fail.
pub async fn versions_error(billed: &dyn Billed) -> String {
    let e = all_versions(billed).await.unwrap_err();
    format!("{e}\n{e:?}")
}

/// An S3 refusal (403, `AccessDenied`) saying `message`.
pub fn refusal(message: &str) -> super::canned::Reply {
    super::canned::Reply::Body(
        403,
        std::sync::Arc::new(
            format!("<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>")
                .into_bytes(),
        ),
    )
}

/// Every unfinished upload `billed` lists under `prefix`.
pub async fn all_uploads(
    billed: &dyn Billed,
    prefix: Option<&str>,
) -> stratus::Result<Vec<Upload>> {
    tokio::time::timeout(
        Duration::from_secs(20),
        billed.uploads(prefix).try_collect(),
    )
    .await
    .expect("the listing ends (it must not loop)")
}

/// An Azure shared key (base64, as object_store requires).
pub const AZURE_KEY: &str = "S0VZc2VjcmV0S0VZc2VjcmV0S0VZc2VjcmV0S0VZc2VjcmV0";

/// [`AZURE_KEY`] as a store's config line.
pub const WITH_AZURE_KEY: &str =
    "access_key = \"S0VZc2VjcmV0S0VZc2VjcmV0S0VZc2VjcmV0S0VZc2VjcmV0\"\n";

/// A `List Blobs` page of `items` (XML) with `next` as its `NextMarker`.
pub fn list_blobs_page(items: &str, next: Option<&str>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"http://x/\" \
         ContainerName=\"c\"><MaxResults>5000</MaxResults><Blobs>{items}</Blobs><NextMarker>{}</NextMarker>\
         </EnumerationResults>",
        next.unwrap_or_default()
    )
}

/// A blob (or, with `snapshot`, a snapshot of it) of `size` bytes, in a `List Blobs`
/// page.
pub fn blob(name: &str, snapshot: Option<&str>, size: &str) -> String {
    format!(
        "<Blob><Name>{name}</Name>{}<Properties><Creation-Time>Tue, 01 Dec 2026 09:00:00 GMT</Creation-Time>\
         <Last-Modified>Tue, 01 Dec 2026 09:00:00 GMT</Last-Modified><Content-Length>{size}</Content-Length>\
         <BlobType>BlockBlob</BlobType></Properties></Blob>",
        snapshot
            .map(|s| format!("<Snapshot>{s}</Snapshot>"))
            .unwrap_or_default()
    )
}
