//! [`Billed`] for Google Cloud Storage: noncurrent generations through the JSON API's
//! object listing with `versions=true`, and unfinished multipart uploads through the
//! XML API (`ListMultipartUploads`, `ListParts`, `AbortMultipartUpload`, as S3's:
//! [`super::multipart`]), sent with the store's HTTP client and bearer token. GCS has
//! no delete markers (a deleted object's live generation becomes noncurrent). Uploads
//! begun through the JSON API (resumable uploads) are not stored objects until
//! finished, and no API lists them.

use super::multipart::{self, query_string, XmlApi};
use super::{Billed, Upload, VersionEntry, VersionKind, Versioned, MAX_NAME_BYTES};
use crate::text::excerpt;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use object_store::client::{HttpClient, HttpRequest, HttpRequestBody};
use object_store::gcp::GcpCredentialProvider;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use std::collections::HashSet;

/// The name a listing gave last, and the generations it gave of it.
type Given = (String, HashSet<u64>);

/// A GCS bucket's generations.
pub(crate) struct GcsBilled {
    /// The store's name, for errors.
    pub label: String,
    pub client: HttpClient,
    pub credentials: GcpCredentialProvider,
    /// `https://storage.googleapis.com` or the configured endpoint, without a trailing `/`.
    pub base_url: String,
    pub bucket: String,
    /// Anonymous requests (`skip_signature`).
    pub unsigned: bool,
    /// The store's prefix with its trailing `/`, or empty.
    pub prefix: String,
}

impl std::fmt::Debug for GcsBilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsBilled")
            .field("store", &self.label)
            .field("base_url", &self.base_url)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for GcsBilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "gs://{}/{}", self.bucket, self.prefix)
    }
}

type Failure = object_store::Error;

fn generic(message: String) -> Failure {
    super::http::generic("GCS", message)
}

const WHAT: &str = "objects.list (versions)";

impl GcsBilled {
    /// One page of the listing of every generation under `prefix` (full), from `token`;
    /// with `by_folder` (the delimiter `/`), those directly under it, then the folders
    /// it rolled up.
    ///
    /// GCS gives names in byte order, each page after the one before (a name's
    /// generations oldest first; fake-gcs-server gives them newest first): `last` is the
    /// name given last and the generations given of it, and a name before it, or one of
    /// those generations again, is an error (it would be summed twice). Memory: 8 bytes
    /// per generation of one name.
    async fn page(
        &self,
        prefix: &str,
        by_folder: bool,
        start: Option<&str>,
        token: Option<&str>,
        last: &mut Option<Given>,
    ) -> Result<(Vec<Versioned>, Option<String>), Failure> {
        let encode = |v: &str| utf8_percent_encode(v, NON_ALPHANUMERIC).to_string();
        let mut url = format!(
            "{}/storage/v1/b/{}/o?versions=true&maxResults=1000&prefix={}",
            self.base_url,
            encode(&self.bucket),
            encode(prefix)
        );
        if by_folder {
            url.push_str("&delimiter=%2F");
        }
        // Names from `start` on (itself included), on every page as on the first.
        if let Some(start) = start {
            url.push_str(&format!("&startOffset={}", encode(start)));
        }
        if let Some(token) = token {
            url.push_str(&format!("&pageToken={}", encode(token)));
        }
        let (status, body) = super::http::send(&self.client, WHAT, || {
            self.request(http::Method::GET, &url, WHAT)
        })
        .await?;
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        if let Some(n) = values_over(&body, PAGE_VALUES) {
            return Err(generic(format!(
                "{WHAT}: the server gave a page of more than {n} values (a page holds at most \
                 1,000 objects)"
            )));
        }
        let page: Objects = serde_json::from_slice(&body).map_err(|e| {
            generic(format!(
                "{WHAT}: the answer is not what GCS sends: {}",
                excerpt(&e.to_string(), 200)
            ))
        })?;
        let mut entries = Vec::with_capacity(page.items.len());
        for item in page.items {
            if item.name.len() > MAX_NAME_BYTES {
                return Err(generic(format!(
                    "{WHAT}: the server gave a name of {} bytes",
                    item.name.len()
                )));
            }
            let generation = item.generation.parse::<u64>().map_err(|_| {
                generic(format!(
                    "{WHAT}: generation {} of {}",
                    excerpt(&item.generation, 32),
                    excerpt(&item.name, 64)
                ))
            })?;
            let again = match last {
                Some((name, given)) if *name == item.name => !given.insert(generation),
                Some((name, _)) if *name > item.name => true,
                _ => {
                    *last = Some((item.name.clone(), HashSet::from([generation])));
                    false
                }
            };
            if again {
                return Err(generic(format!(
                    "{WHAT}: the server gave {} generation {generation} out of order, or again",
                    excerpt(&item.name, 64),
                )));
            }
            let key = match item.name.strip_prefix(&self.prefix) {
                Some(key) => key.to_string(),
                None => {
                    return Err(generic(format!(
                        "{WHAT}: the server gave {} outside the prefix asked for",
                        excerpt(&item.name, 64)
                    )))
                }
            };
            let size = item.size.parse::<u64>().map_err(|_| {
                generic(format!(
                    "{WHAT}: size {} of {}",
                    excerpt(&item.size, 32),
                    excerpt(&key, 64)
                ))
            })?;
            let time = |t: &str| {
                DateTime::parse_from_rfc3339(t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| generic(format!("{WHAT}: time {}: {e}", excerpt(t, 40))))
            };
            entries.push(VersionEntry {
                key,
                version_id: item.generation.chars().take(64).collect(),
                // A generation that was deleted or replaced has `timeDeleted`.
                is_latest: item.time_deleted.is_none(),
                last_modified: time(&item.updated)?,
                replaced: item.time_deleted.as_deref().map(&time).transpose()?,
                kind: VersionKind::Version {
                    size,
                    class: item.storage_class.filter(|c| c.len() <= MAX_NAME_BYTES),
                },
            });
        }
        super::in_key_order(&mut entries, None, None);
        let mut items: Vec<Versioned> = entries.into_iter().map(Versioned::Entry).collect();
        for folder in page.prefixes {
            let relative = folder
                .strip_prefix(&self.prefix)
                .filter(|f| by_folder && folder.starts_with(prefix) && f.ends_with('/'));
            match relative {
                Some(f) if f.len() <= MAX_NAME_BYTES => items.push(Versioned::Folder(f.into())),
                _ => {
                    return Err(generic(format!(
                        "{WHAT}: the server gave folder {} that was not asked for",
                        excerpt(&folder, 64)
                    )))
                }
            }
        }
        let next = page.next_page_token.filter(|t| !t.is_empty());
        if next.is_some() && next.as_deref() == token {
            return Err(generic(format!(
                "{WHAT}: the server gave the same page token twice (it would never end)"
            )));
        }
        if next.as_ref().is_some_and(|t| t.len() > MAX_NAME_BYTES) {
            return Err(generic(format!(
                "{WHAT}: a page token longer than {MAX_NAME_BYTES} bytes"
            )));
        }
        Ok((items, next))
    }

    /// Every generation under `prefix` (relative to the store's), or with `by_folder`
    /// those directly under it and the folders below, page after page.
    fn listing<'a>(
        &'a self,
        prefix: Option<&'a str>,
        by_folder: bool,
        after: Option<&str>,
    ) -> BoxStream<'a, crate::Result<Versioned>> {
        let full = format!("{}{}", self.prefix, prefix.unwrap_or_default());
        let start = after.map(|after| format!("{}{after}", self.prefix));
        super::paged(
            (None, super::Followed::default(), None),
            move |(token, mut followed, mut last): (
                Option<String>,
                super::Followed,
                Option<Given>,
            )| {
                let (full, start) = (full.clone(), start.clone());
                async move {
                    self.page(
                        &full,
                        by_folder,
                        start.as_deref(),
                        token.as_deref(),
                        &mut last,
                    )
                    .await
                    .and_then(|(items, next)| {
                        followed.check(next.as_ref(), items.is_empty(), WHAT)?;
                        Ok((items, next.map(|next| (Some(next), followed, last))))
                    })
                    .map_err(|e| super::listing_error(&self.label, prefix, e))
                }
            },
        )
    }
}

#[async_trait]
impl Billed for GcsBilled {
    fn provider(&self) -> Option<&'static str> {
        Some("gcs")
    }

    fn versions<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<VersionEntry>> {
        super::entries(self.listing(prefix, false, None))
    }

    fn lists_after(&self) -> bool {
        true
    }

    fn versions_after<'a>(
        &'a self,
        prefix: Option<&'a str>,
        after: &'a str,
    ) -> BoxStream<'a, crate::Result<VersionEntry>> {
        super::entries(self.listing(prefix, false, Some(after)))
    }

    fn versions_by_folder<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<Versioned>> {
        self.listing(prefix, true, None)
    }

    fn uploads<'a>(&'a self, prefix: Option<&'a str>) -> BoxStream<'a, crate::Result<Upload>> {
        multipart::uploads(self, prefix)
    }

    async fn abort(&self, upload: &Upload) -> crate::Result<bool> {
        multipart::abort(self, upload).await
    }
}

impl GcsBilled {
    /// A `method` request of `url` with the store's bearer token (none when unsigned),
    /// asked for again for every attempt.
    async fn request(
        &self,
        method: http::Method,
        url: &str,
        what: &str,
    ) -> Result<HttpRequest, Failure> {
        let mut request: HttpRequest = http::Request::builder()
            .method(method)
            .uri(url)
            .body(HttpRequestBody::empty())
            .map_err(|e| generic(format!("{what}: {e}")))?;
        if !self.unsigned {
            let credential = self.credentials.get_credential().await?;
            if !credential.bearer.is_empty() {
                let value =
                    http::HeaderValue::from_str(&format!("Bearer {}", credential.bearer))
                        .map_err(|_| generic(format!("{what}: the token is not a header value")))?;
                request
                    .headers_mut()
                    .insert(http::header::AUTHORIZATION, value);
            }
        }
        Ok(request)
    }
}

/// The XML API (`https://storage.googleapis.com/BUCKET/OBJECT`), where GCS keeps
/// multipart uploads, S3's way.
#[async_trait]
impl XmlApi for GcsBilled {
    const PROVIDER: &'static str = "GCS";
    const URL_KEYS: bool = false;

    fn label(&self) -> &str {
        &self.label
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Bytes, Failure> {
        let bucket = utf8_percent_encode(&self.bucket, NON_ALPHANUMERIC);
        let object = match path {
            "" => String::new(),
            path => format!("/{path}"),
        };
        let url = format!("{}/{bucket}{object}?{}", self.base_url, query_string(query));
        let (status, body) = super::http::send(&self.client, what, || {
            self.request(method.clone(), &url, what)
        })
        .await?;
        match status.is_success() {
            true => Ok(body),
            false => Err(super::xml::status_error("GCS", status, &body, what, path)),
        }
    }
}

/// The error for a refused request: its status and the server's message (excerpted).
fn status_error(status: http::StatusCode, body: &Bytes) -> Failure {
    #[derive(Deserialize, Default)]
    struct Body {
        error: Option<Inner>,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: Option<String>,
    }
    let told = serde_json::from_slice::<Body>(body).unwrap_or_default();
    let mut message = format!("{WHAT}: {status}");
    if let Some(text) = told.error.and_then(|e| e.message) {
        message.push_str(": ");
        message.push_str(&excerpt(&text, 200));
    }
    let source = message.into();
    match status.as_u16() {
        401 => object_store::Error::Unauthenticated {
            path: String::new(),
            source,
        },
        403 => object_store::Error::PermissionDenied {
            path: String::new(),
            source,
        },
        404 => object_store::Error::NotFound {
            path: String::new(),
            source,
        },
        _ => object_store::Error::Generic {
            store: "GCS",
            source,
        },
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Objects {
    #[serde(default)]
    items: Vec<Item>,
    /// The folders rolled up, with a delimiter.
    #[serde(default)]
    prefixes: Vec<String>,
    next_page_token: Option<String>,
}

/// Values a page of the listing may hold in its top object and its lists (`items`,
/// `prefixes`): a page holds at most 1,000 objects and folders, each one value there.
/// Within the body's limit, a page of tiny values would otherwise be parsed into
/// millions of entries (each far larger than its bytes). Values nested deeper (an
/// object's metadata) are skipped by the parser, not kept.
const PAGE_VALUES: usize = 20_000;

/// `Some(most)` when `body` (JSON) holds more than `most` values in its top object and
/// the lists in it (counted as the commas between them, outside strings).
fn values_over(body: &[u8], most: usize) -> Option<usize> {
    let (mut values, mut depth, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in body {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'{' | b'[') => depth += 1,
            (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
            (false, _, b',') if depth <= 2 => {
                values += 1;
                if values > most {
                    return Some(most);
                }
            }
            (false, _, _) => {}
        }
    }
    None
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    name: String,
    size: String,
    updated: String,
    time_deleted: Option<String>,
    storage_class: Option<String>,
    #[serde(default)]
    generation: String,
}

#[cfg(test)]
mod tests {
    use super::values_over;

    #[test]
    fn values_are_counted_outside_strings_in_the_top_object_and_its_lists() {
        let page = br#"{"items":[{"name":"a,b{","metadata":{"k":"v","l":"w"}},{"name":"c\",{,"}],"prefixes":["x,y","z"]}"#;
        // Between the two items, the two prefixes, and the top object's two fields; the
        // metadata's comma is deeper, the others are in strings.
        assert_eq!(values_over(page, 3), None);
        assert_eq!(values_over(page, 2), Some(2));
        assert_eq!(values_over(b"[{},{},{}]", 1), Some(1));
        assert_eq!(values_over(b"", 0), None);
    }
}
