//! [`Billed`] for S3 and S3-compatible servers: `ListObjectVersions`,
//! `ListMultipartUploads`, `ListParts`, `AbortMultipartUpload`, sent with the store's
//! HTTP client (its certificate authorities, proxy and request counters) and signed with
//! its credential provider by object_store's `AwsAuthorizer`.

use super::multipart::{self, query_string, relative, XmlApi};
use super::{Billed, Followed, Upload, VersionEntry, VersionKind, Versioned, MAX_NAME_BYTES};
use crate::text::excerpt;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpRequest, HttpRequestBody};
use serde::Deserialize;

/// An S3 bucket's versions and uploads.
pub(crate) struct S3Billed {
    /// The store's name, for errors.
    pub label: String,
    pub client: HttpClient,
    pub credentials: AwsCredentialProvider,
    /// `https://host/bucket` (path style) or `https://bucket.host` (virtual-hosted),
    /// without a trailing `/`.
    pub bucket_url: String,
    pub region: String,
    /// Anonymous requests (`skip_signature`).
    pub unsigned: bool,
    pub request_payer: bool,
    /// The store's prefix with its trailing `/`, or empty.
    pub prefix: String,
    /// `s3://bucket/prefix`, for `Display`.
    pub shown: String,
    /// The server begins listings after a key in folder order
    /// ([`Billed::after_in_folder_order`]): the store lists folder by folder.
    pub folder_order: bool,
}

impl std::fmt::Debug for S3Billed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Billed")
            .field("store", &self.label)
            .field("bucket_url", &self.bucket_url)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for S3Billed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.shown)
    }
}

/// A failed request, before it is put into the crate's error.
type Failure = object_store::Error;

/// How long asking a bucket's region may take (S3 answers in well under a second).
const REGION_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

impl S3Billed {
    /// The region S3 says the bucket is in (`x-amz-bucket-region`, which S3 gives on a
    /// HEAD of the bucket from any region, signed or not, allowed or not): one unsigned
    /// request. `None` when the server does not say (S3-compatible servers rarely do) or
    /// does not answer within [`REGION_BUDGET`] (a name lookup on a dead network takes
    /// five seconds and more: the store is then used as it is).
    pub(crate) async fn bucket_region(&self) -> Option<String> {
        let request: HttpRequest = http::Request::builder()
            .method(http::Method::HEAD)
            .uri(&self.bucket_url)
            .body(HttpRequestBody::empty())
            .ok()?;
        let response = tokio::time::timeout(REGION_BUDGET, self.client.execute(request))
            .await
            .ok()?
            .ok()?;
        let region = response
            .headers()
            .get("x-amz-bucket-region")?
            .to_str()
            .ok()?;
        let valid = !region.is_empty()
            && region.len() <= 64
            && region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| region.to_string())
    }
}

fn generic(message: String) -> Failure {
    super::http::generic("S3", message)
}

impl S3Billed {
    /// One page of `ListObjectVersions` from `markers` (key, version ID): its entries, the
    /// folders it rolled up (with `by_folder`, the delimiter `/`), and the next markers.
    async fn versions_page(
        &self,
        prefix: &str,
        by_folder: bool,
        markers: Option<&(String, String)>,
        begun: bool,
    ) -> Result<VersionsPage, Failure> {
        const WHAT: &str = "ListObjectVersions";
        let mut query = vec![
            ("versions", ""),
            ("encoding-type", "url"),
            ("max-keys", "1000"),
            ("prefix", prefix),
        ];
        if by_folder {
            query.push(("delimiter", "/"));
        }
        if let Some((key, version)) = markers {
            query.push(("key-marker", key));
            // Empty after a page that ended on a folder: AWS refuses an empty one.
            if !version.is_empty() {
                query.push(("version-id-marker", version));
            }
        }
        let body = self.send(http::Method::GET, "", &query, WHAT).await?;
        let page: ListVersions = parse_page(&body, WHAT)?;
        // The first page of a listing begun after a key: a key up to it (a server that
        // ignores a key marker without a version ID marker, or takes it inclusively) is
        // the caller's to skip, or to list again without (`Billed::versions_after`).
        let checked = markers.filter(|_| !begun);
        let url = page.encoding_type.as_deref() == Some("url");
        let mut entries = Vec::with_capacity(page.entries.len());
        let mut folders = Vec::new();
        for item in page.entries {
            let (entry, kind) = match item {
                VersionItem::CommonPrefixes(folder) => {
                    let full = decoded(folder.prefix, url, WHAT)?;
                    goes_on(&full, None, checked)?;
                    let folder = relative("S3", &self.prefix, full, prefix, WHAT)?;
                    if !by_folder || !folder.ends_with('/') {
                        return Err(generic(format!(
                            "{WHAT}: the server gave folder {} that was not asked for",
                            excerpt(&folder, 64)
                        )));
                    }
                    folders.push(folder);
                    continue;
                }
                VersionItem::Version(v) => {
                    let size = v.size.ok_or_else(|| {
                        generic(format!(
                            "{WHAT}: version of {} has no Size",
                            excerpt(&v.key, 64)
                        ))
                    })?;
                    let class = v
                        .storage_class
                        .clone()
                        .filter(|c| c.len() <= MAX_NAME_BYTES);
                    (v, VersionKind::Version { size, class })
                }
                VersionItem::DeleteMarker(v) => (v, VersionKind::DeleteMarker),
                VersionItem::Other => continue,
            };
            let full = decoded(entry.key, url, WHAT)?;
            let version_id = entry.version_id.unwrap_or_else(|| "null".into());
            goes_on(&full, Some(&version_id), checked)?;
            let key = relative("S3", &self.prefix, full, prefix, WHAT)?;
            entries.push(VersionEntry {
                key,
                version_id: bounded(version_id, "a version ID", WHAT)?,
                is_latest: entry.is_latest,
                last_modified: time(&entry.last_modified, WHAT)?,
                replaced: None,
                kind,
            });
        }
        let next = match page.is_truncated {
            false => None,
            true => {
                let key = page.next_key_marker.ok_or_else(|| {
                    generic(format!("{WHAT}: a truncated page without NextKeyMarker"))
                })?;
                let key = bounded(decoded(key, url, WHAT)?, "a NextKeyMarker", WHAT)?;
                let version = bounded(
                    page.next_version_id_marker.unwrap_or_default(),
                    "a NextVersionIdMarker",
                    WHAT,
                )?;
                let next = (key, version);
                if markers == Some(&next) {
                    return Err(generic(format!(
                        "{WHAT}: the server gave the same markers twice (it would never end)"
                    )));
                }
                Some(next)
            }
        };
        // The key the page goes on from, and the one the next page goes on with.
        let relative = |m: Option<&(String, String)>| {
            m.and_then(|(key, _)| key.strip_prefix(&self.prefix))
                .map(str::to_string)
        };
        super::in_key_order(&mut entries, relative(markers), relative(next.as_ref()));
        Ok(VersionsPage {
            entries,
            folders,
            next,
        })
    }

    /// Every entry under `prefix` (relative to the store's), or with `by_folder` those
    /// directly under it and the folders below, page after page; from the first key
    /// after `after` (relative to the store's) when given.
    fn versions_listing<'a>(
        &'a self,
        prefix: Option<&'a str>,
        by_folder: bool,
        after: Option<&str>,
    ) -> BoxStream<'a, crate::Result<Versioned>> {
        let full = self.full(prefix.unwrap_or_default());
        // A key marker without a version ID marker: the keys after it.
        let start = after.map(|after| (self.full(after), String::new()));
        let begun = start.is_some();
        super::paged(
            (start, Followed::default(), begun),
            move |(markers, mut followed, begun): (Option<(String, String)>, Followed, bool)| {
                let full = full.clone();
                async move {
                    let page = self
                        .versions_page(&full, by_folder, markers.as_ref(), begun)
                        .await
                        .and_then(|page| {
                            let empty = page.entries.is_empty() && page.folders.is_empty();
                            followed.check(page.next.as_ref(), empty, "ListObjectVersions")?;
                            Ok(page)
                        })
                        .map_err(|e| super::listing_error(&self.label, prefix, e))?;
                    let items = page.entries.into_iter().map(Versioned::Entry);
                    let items = items.chain(page.folders.into_iter().map(Versioned::Folder));
                    Ok((
                        items.collect(),
                        page.next.map(|next| (Some(next), followed, false)),
                    ))
                }
            },
        )
    }
}

#[async_trait]
impl Billed for S3Billed {
    fn provider(&self) -> Option<&'static str> {
        Some("s3")
    }

    fn versions<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<VersionEntry>> {
        super::entries(self.versions_listing(prefix, false, None))
    }

    fn lists_after(&self) -> bool {
        true
    }

    fn after_in_folder_order(&self) -> bool {
        self.folder_order
    }

    fn versions_after<'a>(
        &'a self,
        prefix: Option<&'a str>,
        after: &'a str,
    ) -> BoxStream<'a, crate::Result<VersionEntry>> {
        super::entries(self.versions_listing(prefix, false, Some(after)))
    }

    fn versions_by_folder<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<Versioned>> {
        self.versions_listing(prefix, true, None)
    }

    fn uploads<'a>(&'a self, prefix: Option<&'a str>) -> BoxStream<'a, crate::Result<Upload>> {
        multipart::uploads(self, prefix)
    }

    async fn abort(&self, upload: &Upload) -> crate::Result<bool> {
        multipart::abort(self, upload).await
    }
}

#[async_trait]
impl XmlApi for S3Billed {
    const PROVIDER: &'static str = "S3";
    const URL_KEYS: bool = true;

    fn label(&self) -> &str {
        &self.label
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Signed again for every attempt.
    async fn send(
        &self,
        method: http::Method,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Bytes, Failure> {
        let url = format!("{}/{path}?{}", self.bucket_url, query_string(query));
        let (status, body) = super::http::send(&self.client, what, || async {
            let mut request: HttpRequest = http::Request::builder()
                .method(method.clone())
                .uri(&url)
                .body(HttpRequestBody::empty())
                .map_err(|e| generic(format!("{what}: {e}")))?;
            if !self.unsigned {
                let credential = self.credentials.get_credential().await?;
                AwsAuthorizer::new(&credential, "s3", &self.region)
                    .with_request_payer(self.request_payer)
                    .try_authorize(&mut request, None)?;
            }
            Ok(request)
        })
        .await?;
        match status.is_success() {
            true => Ok(body),
            false => Err(status_error(status, &body, what, path)),
        }
    }
}

fn status_error(status: http::StatusCode, body: &[u8], what: &str, path: &str) -> Failure {
    super::xml::status_error("S3", status, body, what, path)
}

/// [`super::xml::parse_page`]: one page of a listing.
fn parse_page<'de, T: Deserialize<'de>>(body: &'de [u8], what: &str) -> Result<T, Failure> {
    super::xml::parse_page("S3", body, what)
}

fn bounded(text: String, name: &str, what: &str) -> Result<String, Failure> {
    super::xml::bounded("S3", text, name, what)
}

fn decoded(text: String, url: bool, what: &str) -> Result<String, Failure> {
    multipart::decoded("S3", text, url, what)
}

fn time(text: &str, what: &str) -> Result<DateTime<Utc>, Failure> {
    multipart::time("S3", text, what)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersions {
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_version_id_marker: Option<String>,
    encoding_type: Option<String>,
    /// Versions and delete markers in the server's order (interleaved: a key's entries
    /// together, the newest first).
    #[serde(rename = "$value", default)]
    entries: Vec<VersionItem>,
}

#[derive(Deserialize)]
enum VersionItem {
    Version(VersionXml),
    DeleteMarker(VersionXml),
    CommonPrefixes(PrefixXml),
    #[serde(other)]
    Other,
}

/// A folder of a listing with a delimiter.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixXml {
    prefix: String,
}

/// One page of [`S3Billed::versions_page`].
struct VersionsPage {
    entries: Vec<VersionEntry>,
    folders: Vec<String>,
    next: Option<(String, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VersionXml {
    key: String,
    version_id: Option<String>,
    #[serde(default)]
    is_latest: bool,
    last_modified: String,
    size: Option<u64>,
    storage_class: Option<String>,
}

/// Whether `key` (and `version`: an entry's; `None`: a folder) may come on a page asked
/// for after `markers`: S3 goes on after the key marker's version marker, or after the
/// whole key (a folder's keys too) when there is none. A server that goes back would
/// have entries summed twice; which page a key's versions fall on it decides, and their
/// order within a page (moto's is not the key order) is not checked.
fn goes_on(
    key: &str,
    version: Option<&str>,
    markers: Option<&(String, String)>,
) -> Result<(), Failure> {
    const WHAT: &str = "ListObjectVersions";
    let Some((marker, version_marker)) = markers else {
        return Ok(());
    };
    let repeated = match key.cmp(marker.as_str()) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Equal => {
            version_marker.is_empty() || version.is_none() || version == Some(version_marker)
        }
        std::cmp::Ordering::Greater => false,
    };
    match repeated {
        true => Err(generic(format!(
            "{WHAT}: the server gave {} again, on a page asked for after key marker {}",
            excerpt(key, 64),
            excerpt(marker, 64)
        ))),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::multipart::{PATH, QUERY};
    use super::*;
    use percent_encoding::utf8_percent_encode;

    #[test]
    fn versions_and_markers_keep_the_servers_order_and_decode_keys() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Prefix></Prefix><KeyMarker/><EncodingType>url</EncodingType>
<IsTruncated>true</IsTruncated><NextKeyMarker>a%20b</NextKeyMarker><NextVersionIdMarker>3</NextVersionIdMarker>
<DeleteMarker><Key>a%20b</Key><VersionId>3</VersionId><IsLatest>true</IsLatest><LastModified>2020-01-02T00:00:00.000Z</LastModified><Owner><ID>o</ID></Owner></DeleteMarker>
<Version><Key>a%20b</Key><VersionId>2</VersionId><IsLatest>false</IsLatest><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Version>
<MaxKeys>1000</MaxKeys></ListVersionsResult>"#;
        let page: ListVersions = parse_page(xml.as_bytes(), "t").unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.encoding_type.as_deref(), Some("url"));
        let kinds: Vec<&str> = page
            .entries
            .iter()
            .filter_map(|e| match e {
                VersionItem::Version(v) => Some(v.key.as_str()).map(|_| "version"),
                VersionItem::DeleteMarker(_) => Some("marker"),
                VersionItem::CommonPrefixes(_) | VersionItem::Other => None,
            })
            .collect();
        assert_eq!(kinds, ["marker", "version"]);
        assert_eq!(decoded("a%20b".into(), true, "t").unwrap(), "a b");
        assert_eq!(decoded("a%20b".into(), false, "t").unwrap(), "a%20b");
        assert_eq!(decoded("a+b%2Bc".into(), true, "t").unwrap(), "a b+c");
        assert_eq!(decoded("a+b".into(), false, "t").unwrap(), "a+b");
        assert!(decoded("%FF".into(), true, "t").is_err());
    }

    #[test]
    fn a_pages_entries_are_grouped_by_key_newest_first_whatever_the_servers_order() {
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let entry = |key: &str, t: i64, latest: bool, marker: bool| VersionEntry {
            key: key.into(),
            version_id: format!("{key}{t}"),
            is_latest: latest,
            last_modified: at(t),
            replaced: None,
            kind: match marker {
                true => VersionKind::DeleteMarker,
                false => VersionKind::Version {
                    size: 1,
                    class: None,
                },
            },
        };
        // moto's order: versions, then delete markers; keys in folder order ("b/" first).
        let mut page = vec![
            entry("b/x", 3, false, false),
            entry("b/x", 1, false, false),
            entry("a", 5, true, false),
            entry("b/x", 4, true, true),
            entry("b/x", 2, false, true),
        ];
        crate::billed::in_key_order(&mut page, None, None);
        let order: Vec<String> = page.iter().map(|e| e.version_id.clone()).collect();
        assert_eq!(order, ["b/x4", "b/x3", "b/x2", "b/x1", "a5"]);
    }

    #[test]
    fn a_refusal_names_the_request_status_and_code_escaped() {
        let body = b"<Error><Code>AccessDenied</Code><Message>no \x1b[31m</Message></Error>";
        let e = status_error(http::StatusCode::FORBIDDEN, body, "ListParts", "k");
        assert!(matches!(e, object_store::Error::PermissionDenied { .. }));
        let text = e.to_string();
        assert!(
            text.contains("ListParts: 403 Forbidden: `AccessDenied`"),
            "{text}"
        );
        assert!(!text.contains('\x1b'), "{text}");
    }

    #[test]
    fn query_values_are_encoded_as_sigv4_canonicalizes_them() {
        assert_eq!(
            utf8_percent_encode("a b+c/~é", QUERY).to_string(),
            "a%20b%2Bc%2F~%C3%A9"
        );
        assert_eq!(utf8_percent_encode("a b/c", PATH).to_string(), "a%20b/c");
    }
}
