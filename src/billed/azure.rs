//! [`Billed`] for Azure Blob Storage: the container's listing with
//! `include=versions,snapshots,deleted` (every kept state of a blob besides its current
//! one: noncurrent versions, snapshots, soft-deleted blobs) and, for unfinished uploads,
//! the blocks staged and never committed (`include=uncommittedblobs`, then `Get Block
//! List` of each blob that has no committed bytes). Sent with the store's HTTP client and
//! signed by object_store's own `AzureAuthorizer` with the store's credential (shared
//! key, SAS or bearer token).
//!
//! How Azure's kinds map onto [`VersionEntry`]: a noncurrent version, a snapshot and a
//! soft-deleted blob are each a noncurrent [`VersionKind::Version`] of the blob's name
//! (its `version_id` says which: the version ID, `snapshot <time>`, or `deleted`); Azure
//! has no delete markers. Their sizes are the blobs' lengths: Azure bills a version or
//! snapshot for the blocks it does not share with the blob's other states, so for a
//! blob rewritten in place the figure is exact and otherwise an upper bound.
//!
//! Unfinished uploads: staged blocks are stored (and billed) until they are committed or
//! Azure discards them, a week after the blob's last block was staged. By default only
//! the blocks of blobs with no committed bytes are counted (one `Get Block List` each, 8
//! at once): blocks staged on a blob that has committed bytes are not listed by any
//! listing and cost a request per blob to find, which [`Billed::uploads_per_object`]
//! spends (every block blob's list). Nothing aborts them:
//! [`Billed::aborts_uploads`] is false (committing an empty list or deleting the blob
//! would change what readers see).

use super::{Billed, Followed, Upload, VersionEntry, VersionKind, Versioned, MAX_NAME_BYTES};
use crate::text::excerpt;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::azure::{AzureAuthorizer, AzureCredentialProvider};
use object_store::client::{HttpClient, HttpRequest, HttpRequestBody};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use std::collections::HashSet;

/// Left unencoded in a query value or a blob's path: `A-Z a-z 0-9 - _ . ~`.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// In a blob's path, `/` too.
const PATH: &AsciiSet = &QUERY.remove(b'/');

/// Block lists read at once (one `Get Block List` per blob without committed bytes).
const BLOCK_LISTS_CONCURRENCY: usize = 8;

/// Entries a listing page asks for (Azure's largest page).
const PAGE: &str = "5000";

/// The service version sent on unsigned requests: the one object_store 0.14 signs with
/// (`include=versions` needs 2019-10-10 or later).
const SERVICE_VERSION: &str = "2023-11-03";

/// A container's kept states and staged blocks.
pub(crate) struct AzureBilled {
    /// The store's name, for errors.
    pub label: String,
    pub client: HttpClient,
    pub credentials: AzureCredentialProvider,
    /// The storage account, which a shared key signs for.
    pub account: String,
    /// `https://account.blob.core.windows.net/container` (or the emulator's
    /// `http://127.0.0.1:10000/account/container`), without a trailing `/`.
    pub container_url: String,
    /// Anonymous requests (`skip_signature`).
    pub unsigned: bool,
    /// The store's prefix with its trailing `/`, or empty.
    pub prefix: String,
    /// `az://container/prefix`, for `Display`.
    pub shown: String,
}

impl std::fmt::Debug for AzureBilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureBilled")
            .field("store", &self.label)
            .field("container_url", &self.container_url)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for AzureBilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.shown)
    }
}

type Failure = object_store::Error;

fn generic(message: String) -> Failure {
    super::http::generic(STORE, message)
}

const LIST: &str = "List Blobs";
const BLOCKS: &str = "Get Block List";

/// The state a blob's current entry adds besides its own (see [`Given`]).
const CURRENT: u64 = u64::MAX;

/// What a listing gave last, so that anything given twice is an error, not a double
/// count: the last blob's name and its states given so far (version IDs, snapshot
/// times), and the last folder. Blobs and folders are each in byte order, but not
/// necessarily with each other (Azurite gives a page's folders before its blobs).
/// Memory: 8 bytes per state of one blob (its hash: a collision, one in 2^64, would
/// refuse the listing, never count twice).
#[derive(Default)]
struct Given {
    blob: Option<(String, HashSet<u64>)>,
    folder: Option<String>,
    hasher: std::hash::RandomState,
}

/// What a listing includes besides current blobs.
#[derive(Clone, Copy)]
enum Include {
    /// Versions, snapshots and soft-deleted blobs.
    States,
    /// Blobs with no committed block (the candidates for staged blocks).
    Uncommitted,
}

/// One page of a listing: the entries (each with its blob's creation time, where the
/// server gives it), the folders rolled up, and the next marker.
struct Page {
    entries: Vec<(VersionEntry, Option<DateTime<Utc>>)>,
    folders: Vec<String>,
    next: Option<String>,
    /// Items the server gave (some may not be kept).
    given: usize,
}

impl AzureBilled {
    /// `GET` `path` (below the container, already encoded; empty: the container) with
    /// `query` (names and values unencoded), signed again for every attempt; the body of
    /// a 2xx answer, at most [`MAX_RESPONSE_BYTES`](super::MAX_RESPONSE_BYTES). A 404 is
    /// `object_store::Error::NotFound`.
    async fn get(&self, path: &str, query: &[(&str, &str)], what: &str) -> Result<Bytes, Failure> {
        let query: Vec<String> = query
            .iter()
            .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, QUERY)))
            .collect();
        let url = match path {
            "" => format!("{}?{}", self.container_url, query.join("&")),
            path => format!("{}/{path}?{}", self.container_url, query.join("&")),
        };
        let (status, body) = super::http::send(&self.client, what, || async {
            let mut request: HttpRequest = http::Request::builder()
                .uri(&url)
                .body(HttpRequestBody::empty())
                .map_err(|e| generic(format!("{what}: {e}")))?;
            if self.unsigned {
                // What the authorizer adds when it signs: without it Azure answers an
                // anonymous request as its oldest version, which lists no versions.
                request.headers_mut().insert(
                    "x-ms-version",
                    http::HeaderValue::from_static(SERVICE_VERSION),
                );
            } else {
                let credential = self.credentials.get_credential().await?;
                AzureAuthorizer::new(&credential, &self.account).try_authorize(&mut request)?;
            }
            Ok(request)
        })
        .await?;
        match status.is_success() {
            true => Ok(body),
            false => Err(status_error(status, &body, what)),
        }
    }

    fn full(&self, relative: &str) -> String {
        format!("{}{relative}", self.prefix)
    }

    /// One page of the listing of `prefix` (full) from `marker`; with `by_folder` (the
    /// delimiter `/`) the blobs directly under it, then the folders rolled up.
    async fn page(
        &self,
        prefix: &str,
        include: Include,
        by_folder: bool,
        marker: Option<&str>,
        last: &mut Given,
    ) -> Result<Page, Failure> {
        let mut query = vec![
            ("restype", "container"),
            ("comp", "list"),
            (
                "include",
                match include {
                    Include::States => "versions,snapshots,deleted",
                    Include::Uncommitted => "uncommittedblobs",
                },
            ),
            ("maxresults", PAGE),
            ("prefix", prefix),
        ];
        if by_folder {
            query.push(("delimiter", "/"));
        }
        if let Some(marker) = marker {
            query.push(("marker", marker));
        }
        let body = self.get("", &query, LIST).await?;
        let listing: ListBlobs = parse_page(&body, LIST)?;
        let given = listing.blobs.items.len();
        let mut entries = Vec::new();
        let mut folders = Vec::new();
        for item in listing.blobs.items {
            let blob = match item {
                BlobItem::Blob(blob) => blob,
                BlobItem::BlobPrefix(folder) => {
                    let name = folder.name.decoded(LIST)?;
                    let relative = self.relative(&name, prefix)?;
                    if !by_folder || !relative.ends_with('/') {
                        return Err(generic(format!(
                            "{LIST}: the server gave folder {} that was not asked for",
                            excerpt(&name, 64)
                        )));
                    }
                    folder_goes_on(&mut last.folder, &name)?;
                    folders.push(relative);
                    continue;
                }
                BlobItem::Other => continue,
            };
            let name = blob.name.decoded(LIST)?;
            let key = self.relative(&name, prefix)?;
            let deleted = blob.deleted.unwrap_or(false);
            let (version_id, is_latest) = match (&blob.snapshot, &blob.version_id) {
                (Some(snapshot), _) => (format!("snapshot {}", excerpt(snapshot, 64)), false),
                (None, Some(version)) => (
                    bounded(version.clone(), "a version ID")?,
                    !deleted && blob.is_current_version.unwrap_or(false),
                ),
                (None, None) if deleted => ("deleted".to_string(), false),
                (None, None) => ("null".to_string(), true),
            };
            // A soft-deleted blob with neither is told apart from its other deleted
            // states by its deletion time.
            let state = match (deleted, &blob.properties.deleted_time) {
                (true, Some(t)) => format!("{version_id} {t}"),
                _ => version_id.clone(),
            };
            let state = std::hash::BuildHasher::hash_one(&last.hasher, &state);
            goes_on(&mut last.blob, &name, state)?;
            if is_latest {
                // One current state a blob: two (two version IDs each said current) would
                // be counted, and their blocks read, twice. `CURRENT` stands beside the
                // states' hashes (equal to one of them once in 2^64, as any two are).
                goes_on(&mut last.blob, &name, CURRENT)?;
            }
            let properties = blob.properties;
            let block_blob = properties
                .blob_type
                .as_deref()
                .is_none_or(|t| t == "BlockBlob");
            if matches!(include, Include::Uncommitted) && !block_blob {
                // Only a block blob stages blocks: `Get Block List` refuses the others.
                continue;
            }
            let last_modified = time(&properties.last_modified)?;
            let replaced = match (deleted, properties.deleted_time.as_deref()) {
                (true, Some(t)) => Some(time(t)?),
                _ => None,
            };
            let created = properties.creation_time.as_deref().map(time).transpose()?;
            entries.push((
                VersionEntry {
                    key,
                    version_id,
                    is_latest,
                    last_modified,
                    replaced,
                    kind: VersionKind::Version {
                        size: properties.content_length,
                        class: properties.access_tier.filter(|c| c.len() <= MAX_NAME_BYTES),
                    },
                },
                created,
            ));
        }
        let next = listing.next_marker.filter(|m| !m.is_empty());
        if let Some(next) = &next {
            bounded(next.clone(), "a NextMarker")?;
            if Some(next.as_str()) == marker {
                return Err(generic(format!(
                    "{LIST}: the server gave the same marker twice (it would never end)"
                )));
            }
        }
        Ok(Page {
            entries,
            folders,
            next,
            given,
        })
    }

    /// `name` (full) without the store's prefix; a name outside `asked` (the full prefix
    /// the listing asked for) is the server's error.
    fn relative(&self, name: &str, asked: &str) -> Result<String, Failure> {
        match name.strip_prefix(&self.prefix) {
            Some(relative) if name.starts_with(asked) => Ok(relative.to_string()),
            _ => Err(generic(format!(
                "{LIST}: the server gave blob {} outside the prefix asked for",
                excerpt(name, 64)
            ))),
        }
    }

    /// Every page of the listing of `prefix` (relative to the store's), each made into
    /// the items `items` gives of it.
    fn listing<'a, T: Send + 'a>(
        &'a self,
        prefix: Option<&'a str>,
        include: Include,
        by_folder: bool,
        items: fn(Page) -> Vec<T>,
    ) -> BoxStream<'a, crate::Result<T>> {
        let full = self.full(prefix.unwrap_or_default());
        super::paged(
            (None, Followed::default(), Given::default()),
            move |(marker, mut followed, mut last): (Option<String>, Followed, Given)| {
                let full = full.clone();
                async move {
                    let page = self
                        .page(&full, include, by_folder, marker.as_deref(), &mut last)
                        .await
                        .and_then(|page| {
                            followed.check(page.next.as_ref(), page.given == 0, LIST)?;
                            Ok(page)
                        })
                        .map_err(|e| super::listing_error(&self.label, prefix, e))?;
                    let next = page.next.clone().map(|next| (Some(next), followed, last));
                    Ok((items(page), next))
                }
            },
        )
    }

    /// The states of the blobs under `prefix` and, with `by_folder`, the folders.
    fn states<'a>(
        &'a self,
        prefix: Option<&'a str>,
        by_folder: bool,
    ) -> BoxStream<'a, crate::Result<Versioned>> {
        self.listing(prefix, Include::States, by_folder, |page| {
            let mut entries: Vec<VersionEntry> =
                page.entries.into_iter().map(|(entry, _)| entry).collect();
            // Azure gives a blob's snapshots and versions oldest first.
            super::in_key_order(&mut entries, None, None);
            let items = entries.into_iter().map(Versioned::Entry);
            items
                .chain(page.folders.into_iter().map(Versioned::Folder))
                .collect()
        })
    }

    /// The blocks staged on `key` (relative) and not committed: how many, and their
    /// bytes. A blob gone since it was listed has none. Errors name the blob.
    async fn staged(&self, key: &str) -> Result<(u64, u64), Failure> {
        let full = self.full(key);
        let what = format!("{BLOCKS} of blob {}", excerpt(&full, 64));
        // The HTTP client resolves `.` and `..` segments (`a/../b` asks for `b`), even
        // escaped (`%2E`): such a name cannot be asked for. Azure resolves them too, so
        // no blob has one; a listing that gives one is refused, not read as another blob.
        if full
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return Err(generic(format!(
                "{what}: the name has a `.` or `..` segment, which a request cannot name \
                 (it would read another blob)"
            )));
        }
        let path = utf8_percent_encode(&full, PATH).to_string();
        let query = [("comp", "blocklist"), ("blocklisttype", "uncommitted")];
        let body = match self.get(&path, &query, &what).await {
            Ok(body) => body,
            Err(object_store::Error::NotFound { .. }) => return Ok((0, 0)),
            Err(e) => return Err(e),
        };
        let list: BlockList = parse(&body, &what)?;
        let blocks = list.uncommitted.map(|u| u.blocks).unwrap_or_default();
        let bytes = blocks
            .iter()
            .fold(0u64, |sum, block| sum.saturating_add(block.size));
        Ok((blocks.len() as u64, bytes))
    }

    /// The blobs under `prefix` with blocks staged and not committed, as uploads: those
    /// without committed bytes (a blob of length 0, begun when it was created), their
    /// block lists read [`BLOCK_LISTS_CONCURRENCY`] at once; with `every_blob` (how many
    /// at once) also those with committed bytes, begun at a time no listing says (Put
    /// Block leaves the blob's Last-Modified as it was: blocks staged today on a blob
    /// committed a year ago would look a year old). One `Get Block List` per blob read.
    fn staged_uploads<'a>(
        &'a self,
        prefix: Option<&'a str>,
        every_blob: Option<usize>,
    ) -> BoxStream<'a, crate::Result<Upload>> {
        let at_once = every_blob.unwrap_or(BLOCK_LISTS_CONCURRENCY);
        self.listing(prefix, Include::Uncommitted, false, |page| {
            page.entries
                .into_iter()
                .filter(|(entry, _)| entry.is_latest)
                .collect()
        })
        .try_filter(move |(entry, _)| {
            let empty = matches!(entry.kind, VersionKind::Version { size: 0, .. });
            std::future::ready(every_blob.is_some() || empty)
        })
        .map_ok(move |(entry, created)| async move {
            let (blocks, bytes) = self
                .staged(&entry.key)
                .await
                .map_err(|e| super::listing_error(&self.label, prefix, e))?;
            let initiated = match entry.kind {
                VersionKind::Version { size: 0, .. } => {
                    Some(created.unwrap_or(entry.last_modified))
                }
                _ => None,
            };
            Ok((blocks > 0).then(|| Upload {
                key: entry.key,
                upload_id: String::new(),
                initiated,
                class: None,
                parts: blocks,
                bytes,
            }))
        })
        .try_buffered(at_once)
        .try_filter_map(|upload| async move { Ok(upload) })
        .boxed()
    }
}

#[async_trait]
impl Billed for AzureBilled {
    fn provider(&self) -> Option<&'static str> {
        Some("azure")
    }

    fn versions<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<VersionEntry>> {
        super::entries(self.states(prefix, false))
    }

    fn versions_by_folder<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<Versioned>> {
        self.states(prefix, true)
    }

    fn aborts_uploads(&self) -> bool {
        false
    }

    fn uploads_per_object_not_seen(&self) -> Option<String> {
        None
    }

    fn uploads_not_seen(&self) -> Option<String> {
        Some(format!(
            "unfinished uploads: blocks staged on blobs that have committed bytes are not \
             listed for {self} (only those of blobs without any; `--every-blob` reads \
             each blob's block list, a request per blob)"
        ))
    }

    /// Every blob under `prefix` with blocks staged and no committed bytes: its blocks
    /// and their bytes, begun when the blob was created.
    fn uploads<'a>(&'a self, prefix: Option<&'a str>) -> BoxStream<'a, crate::Result<Upload>> {
        self.staged_uploads(prefix, None)
    }

    /// Every block blob under `prefix` with blocks staged: one `Get Block List` per blob,
    /// `concurrency` at once, where [`Self::uploads`] reads only those without committed
    /// bytes.
    fn uploads_per_object<'a>(
        &'a self,
        prefix: Option<&'a str>,
        concurrency: usize,
    ) -> BoxStream<'a, crate::Result<Upload>> {
        self.staged_uploads(prefix, Some(concurrency.max(1)))
    }

    async fn abort(&self, _upload: &Upload) -> crate::Result<bool> {
        Err(crate::Error::Store {
            store: self.label.clone(),
            source: Box::new(object_store::Error::NotSupported {
                source: "Azure has no abort for staged blocks: it discards them a week after \
                         the blob's last block was staged (stratus does not commit or delete \
                         a blob to drop them)"
                    .into(),
            }),
        })
    }
}

/// That blob `name` (in `state`) may come after what the listing gave before (`last`):
/// Azure lists names in byte order, a blob's states together. A name before the last, or
/// a state of it given again, would be summed twice.
fn goes_on(
    last: &mut Option<(String, HashSet<u64>)>,
    name: &str,
    state: u64,
) -> Result<(), Failure> {
    let again = match last {
        Some((given, states)) if given == name => !states.insert(state),
        Some((given, _)) if given.as_str() > name => true,
        _ => {
            *last = Some((name.to_string(), HashSet::from([state])));
            false
        }
    };
    match again {
        true => Err(out_of_order(name)),
        false => Ok(()),
    }
}

/// That folder `name` comes after the last folder the listing gave.
fn folder_goes_on(last: &mut Option<String>, name: &str) -> Result<(), Failure> {
    if last.as_deref().is_some_and(|given| given >= name) {
        return Err(out_of_order(name));
    }
    *last = Some(name.to_string());
    Ok(())
}

fn out_of_order(name: &str) -> Failure {
    generic(format!(
        "{LIST}: the server gave {} out of order, or again",
        excerpt(name, 64)
    ))
}

const STORE: &str = "MicrosoftAzure";

fn status_error(status: http::StatusCode, body: &[u8], what: &str) -> Failure {
    super::xml::status_error(STORE, status, body, what, "")
}

fn parse<'de, T: Deserialize<'de>>(body: &'de [u8], what: &str) -> Result<T, Failure> {
    super::xml::parse(STORE, body, what)
}

/// [`super::xml::parse_page`]: one page of a listing.
fn parse_page<'de, T: Deserialize<'de>>(body: &'de [u8], what: &str) -> Result<T, Failure> {
    super::xml::parse_page(STORE, body, what)
}

fn bounded(text: String, name: &str) -> Result<String, Failure> {
    super::xml::bounded(STORE, text, name, LIST)
}

/// A time as Azure's listings give it (`Sun, 06 Dec 2026 17:04:35 GMT`).
fn time(text: &str) -> Result<DateTime<Utc>, Failure> {
    DateTime::parse_from_rfc2822(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| generic(format!("{LIST}: time {}: {e}", excerpt(text, 40))))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBlobs {
    next_marker: Option<String>,
    #[serde(default)]
    blobs: BlobsXml,
}

#[derive(Deserialize, Default)]
struct BlobsXml {
    /// Blobs and folders in the server's order (names in byte order).
    #[serde(rename = "$value", default)]
    items: Vec<BlobItem>,
}

#[derive(Deserialize)]
enum BlobItem {
    Blob(BlobXml),
    BlobPrefix(PrefixXml),
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixXml {
    name: NameXml,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BlobXml {
    name: NameXml,
    snapshot: Option<String>,
    version_id: Option<String>,
    is_current_version: Option<bool>,
    deleted: Option<bool>,
    properties: PropertiesXml,
}

/// A blob's name: percent-encoded where it holds characters XML cannot carry
/// (`Encoded="true"`).
#[derive(Deserialize)]
struct NameXml {
    #[serde(rename = "@Encoded", default)]
    encoded: bool,
    #[serde(rename = "$text", default)]
    text: String,
}

impl NameXml {
    fn decoded(self, what: &str) -> Result<String, Failure> {
        let name = match self.encoded {
            false => self.text,
            true => percent_encoding::percent_decode_str(&self.text)
                .decode_utf8()
                .map(|name| name.into_owned())
                .map_err(|_| {
                    generic(format!(
                        "{what}: name {} decodes to bytes that are not UTF-8",
                        excerpt(&self.text, 64)
                    ))
                })?,
        };
        if name.len() > MAX_NAME_BYTES {
            return Err(generic(format!(
                "{what}: the server gave a name of {} bytes (at most {MAX_NAME_BYTES} are read)",
                name.len()
            )));
        }
        Ok(name)
    }
}

#[derive(Deserialize)]
struct PropertiesXml {
    #[serde(rename = "Creation-Time")]
    creation_time: Option<String>,
    #[serde(rename = "Last-Modified")]
    last_modified: String,
    #[serde(rename = "Content-Length")]
    content_length: u64,
    #[serde(rename = "AccessTier")]
    access_tier: Option<String>,
    #[serde(rename = "DeletedTime")]
    deleted_time: Option<String>,
    /// `BlockBlob`, `AppendBlob` or `PageBlob`.
    #[serde(rename = "BlobType")]
    blob_type: Option<String>,
}

#[derive(Deserialize)]
struct BlockList {
    #[serde(rename = "UncommittedBlocks")]
    uncommitted: Option<Blocks>,
}

#[derive(Deserialize, Default)]
struct Blocks {
    #[serde(rename = "Block", default)]
    blocks: Vec<BlockXml>,
}

#[derive(Deserialize)]
struct BlockXml {
    #[serde(rename = "Size")]
    size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page as the REST reference documents it (version 2023-11-03): a blob with a
    /// snapshot, two versions, a soft-deleted one, a folder, and an encoded name.
    const PAGE_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://acct.blob.core.windows.net/" ContainerName="c">
  <Prefix>p/</Prefix><MaxResults>5000</MaxResults><Delimiter>/</Delimiter>
  <Blobs>
    <Blob><Name>p/a</Name><Snapshot>2026-12-01T10:00:00.0000000Z</Snapshot>
      <Properties><Creation-Time>Tue, 01 Dec 2026 09:00:00 GMT</Creation-Time><Last-Modified>Tue, 01 Dec 2026 09:00:00 GMT</Last-Modified><Content-Length>30</Content-Length><AccessTier>Hot</AccessTier></Properties></Blob>
    <Blob><Name>p/a</Name><VersionId>2026-12-01T09:00:00.0000000Z</VersionId>
      <Properties><Last-Modified>Tue, 01 Dec 2026 09:00:00 GMT</Last-Modified><Content-Length>30</Content-Length><AccessTier>Cool</AccessTier></Properties></Blob>
    <Blob><Name>p/a</Name><VersionId>2026-12-02T09:00:00.0000000Z</VersionId><IsCurrentVersion>true</IsCurrentVersion>
      <Properties><Last-Modified>Wed, 02 Dec 2026 09:00:00 GMT</Last-Modified><Content-Length>40</Content-Length><AccessTier>Hot</AccessTier></Properties></Blob>
    <Blob><Name>p/b</Name><Deleted>true</Deleted>
      <Properties><Last-Modified>Wed, 02 Dec 2026 09:00:00 GMT</Last-Modified><Content-Length>7</Content-Length><DeletedTime>Thu, 03 Dec 2026 09:00:00 GMT</DeletedTime></Properties></Blob>
    <BlobPrefix><Name>p/d/</Name></BlobPrefix>
    <Blob><Name Encoded="true">p/e%01</Name>
      <Properties><Last-Modified>Wed, 02 Dec 2026 09:00:00 GMT</Last-Modified><Content-Length>1</Content-Length></Properties></Blob>
  </Blobs>
  <NextMarker>2!72!MDAwMDE</NextMarker>
</EnumerationResults>"#;

    #[test]
    fn a_page_parses_with_its_states_folders_and_encoded_names() {
        let listing: ListBlobs = parse(PAGE_XML.as_bytes(), LIST).unwrap();
        assert_eq!(listing.next_marker.as_deref(), Some("2!72!MDAwMDE"));
        let kinds: Vec<&str> = listing
            .blobs
            .items
            .iter()
            .map(|item| match item {
                BlobItem::Blob(_) => "blob",
                BlobItem::BlobPrefix(_) => "folder",
                BlobItem::Other => "other",
            })
            .collect();
        assert_eq!(kinds, ["blob", "blob", "blob", "blob", "folder", "blob"]);
        let BlobItem::Blob(last) = listing.blobs.items.into_iter().last().unwrap() else {
            unreachable!()
        };
        assert_eq!(last.name.decoded(LIST).unwrap(), "p/e\u{1}");
    }

    #[test]
    fn names_or_folders_going_back_or_given_twice_are_refused() {
        let mut last = None;
        goes_on(&mut last, "a", 1).unwrap();
        goes_on(&mut last, "a", 2).unwrap();
        assert!(goes_on(&mut last, "a", 1).is_err());
        goes_on(&mut last, "b", 1).unwrap();
        assert!(goes_on(&mut last, "a", 3).is_err());
        // Folders in order of their own, whatever the blobs' (Azurite: folders first).
        let mut folder = None;
        folder_goes_on(&mut folder, "c/").unwrap();
        folder_goes_on(&mut folder, "d/").unwrap();
        assert!(folder_goes_on(&mut folder, "d/").is_err());
        assert!(folder_goes_on(&mut folder, "c/").is_err());
    }

    #[test]
    fn times_are_read_as_azure_writes_them() {
        let t = time("Sun, 06 Dec 2026 17:04:35 GMT").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-06T17:04:35+00:00");
        assert!(time("2026-12-06").is_err());
    }

    #[test]
    fn a_block_list_counts_only_uncommitted_blocks() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><BlockList><CommittedBlocks><Block><Name>QQ==</Name><Size>9</Size></Block></CommittedBlocks><UncommittedBlocks><Block><Name>Qg==</Name><Size>50</Size></Block><Block><Name>Qw==</Name><Size>5</Size></Block></UncommittedBlocks></BlockList>"#;
        let list: BlockList = parse(xml.as_bytes(), BLOCKS).unwrap();
        let sizes: Vec<u64> = list
            .uncommitted
            .unwrap()
            .blocks
            .iter()
            .map(|b| b.size)
            .collect();
        assert_eq!(sizes, [50, 5]);
        let empty: BlockList = parse(
            b"<BlockList><CommittedBlocks/><UncommittedBlocks/></BlockList>",
            BLOCKS,
        )
        .unwrap();
        assert!(empty.uncommitted.unwrap_or_default().blocks.is_empty());
    }
}
