//! Unfinished multipart uploads through S3's XML API, which GCS's XML API speaks too:
//! `ListMultipartUploads`, then `ListParts` for each upload, and
//! `AbortMultipartUpload`. Each provider sends them its own way (client, endpoint,
//! signature) through [`XmlApi`]; what is asked and what is checked in the answers is
//! written once, here.

use super::xml::{bounded, parse_page_of};
use super::{Followed, Upload, MAX_NAME_BYTES};
use crate::text::excerpt;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

type Failure = object_store::Error;

/// What SigV4 leaves unencoded in a query value: `A-Z a-z 0-9 - _ . ~` (GCS reads the
/// same encoding).
pub(crate) const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// In a key's path, `/` too.
pub(crate) const PATH: &AsciiSet = &QUERY.remove(b'/');

/// Parts listed concurrently (one `ListParts` listing per upload).
const PARTS_CONCURRENCY: usize = 8;

/// The root element of a `ListMultipartUploads` answer.
const UPLOADS_ROOTS: &[&str] = &["ListMultipartUploadsResult"];

/// The root element of a `ListParts` answer: S3's, and moto's (5.2 names it
/// `ListPartsResponse`).
const PARTS_ROOTS: &[&str] = &["ListPartsResult", "ListPartsResponse"];

/// `key` as the path of a request, or an error when the HTTP client would not send it
/// there: a `.` or `..` segment is resolved by the URL before it is sent (`a/../b` is
/// asked for at `b`, `../../x` outside the bucket), and `%2E` is read as a dot too. No
/// request about such a key is made (object_store cannot name it either).
fn key_path(provider: &'static str, key: &str, what: &str) -> Result<String, Failure> {
    if key
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(super::http::generic(
            provider,
            format!(
                "{what}: key {} has a `.` or `..` segment, which the request's URL would \
                 resolve to another key; it is not asked about",
                excerpt(key, 200)
            ),
        ));
    }
    Ok(utf8_percent_encode(key, PATH).to_string())
}

/// A bucket's XML API, as one provider sends requests to it.
#[async_trait]
pub(crate) trait XmlApi: Send + Sync {
    /// The provider, in errors (object_store's name: `S3`, `GCS`).
    const PROVIDER: &'static str;
    /// Whether keys are asked for URL-encoded (`encoding-type=url`, which S3 documents
    /// with `+` for a space); GCS's are read as the XML gives them.
    const URL_KEYS: bool;

    /// The store's name, for errors.
    fn label(&self) -> &str;

    /// The store's prefix with its trailing `/`, or empty.
    fn prefix(&self) -> &str;

    /// The full key for `relative` (with the store's prefix).
    fn full(&self, relative: &str) -> String {
        format!("{}{relative}", self.prefix())
    }

    /// `GET`/`DELETE` `path` (below the bucket, already encoded; empty: the bucket) with
    /// `query` (names and values unencoded; a name with an empty value is sent alone,
    /// `prefix` excepted); the body of a 2xx answer, at most
    /// [`MAX_RESPONSE_BYTES`](super::MAX_RESPONSE_BYTES). `what` names the request in
    /// errors; a refusal is [`super::xml::status_error`]'s (a 404 `NotFound`).
    async fn send(
        &self,
        method: http::Method,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Bytes, Failure>;
}

/// `query` as sent: names and values encoded (see [`XmlApi::send`]).
pub(crate) fn query_string(query: &[(&str, &str)]) -> String {
    query
        .iter()
        .map(
            |(name, value)| match value.is_empty() && *name != "prefix" {
                true => (*name).to_string(),
                false => format!("{name}={}", utf8_percent_encode(value, QUERY)),
            },
        )
        .collect::<Vec<_>>()
        .join("&")
}

/// `key` without the store's prefix (`store_prefix`); a key outside `asked` (the full
/// prefix the listing asked for: the store's and the caller's) is the server's error.
pub(crate) fn relative(
    provider: &'static str,
    store_prefix: &str,
    key: String,
    asked: &str,
    what: &str,
) -> Result<String, Failure> {
    if key.len() > MAX_NAME_BYTES {
        return Err(super::http::generic(
            provider,
            format!(
                "{what}: the server gave a key of {} bytes (at most {MAX_NAME_BYTES} are read)",
                key.len()
            ),
        ));
    }
    match key.strip_prefix(store_prefix) {
        Some(relative) if key.starts_with(asked) => Ok(relative.to_string()),
        _ => Err(super::http::generic(
            provider,
            format!(
                "{what}: the server gave key {} outside the prefix asked for",
                excerpt(&key, 64)
            ),
        )),
    }
}

/// `text` decoded when the server says it encoded its keys (`encoding-type=url`): as a
/// form value, `+` a space, as AWS (and MinIO) send it (`a b` is `a+b`, `a+b` is `a%2Bb`;
/// a server that encodes a space `%20` encodes `+` too).
pub(crate) fn decoded(
    provider: &'static str,
    text: String,
    url: bool,
    what: &str,
) -> Result<String, Failure> {
    if !url {
        return Ok(text);
    }
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| {
            super::http::generic(
                provider,
                format!(
                    "{what}: key {} decodes to bytes that are not UTF-8",
                    excerpt(&text, 64)
                ),
            )
        })
}

/// An RFC 3339 time of an answer.
pub(crate) fn time(
    provider: &'static str,
    text: &str,
    what: &str,
) -> Result<DateTime<Utc>, Failure> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            super::http::generic(provider, format!("{what}: time {}: {e}", excerpt(text, 40)))
        })
}

/// Every multipart upload under `prefix` (relative to the store's) begun and neither
/// completed nor aborted, with its parts counted, `PARTS_CONCURRENCY` uploads' parts at
/// once.
pub(crate) fn uploads<'a, A: XmlApi>(
    api: &'a A,
    prefix: Option<&'a str>,
) -> BoxStream<'a, crate::Result<Upload>> {
    let full = api.full(prefix.unwrap_or_default());
    super::paged(
        (None, Followed::default()),
        move |(markers, mut followed): (Option<(String, String)>, Followed)| {
            let full = full.clone();
            async move {
                let (uploads, next) = uploads_page(api, &full, markers.as_ref())
                    .await
                    .and_then(|(uploads, next)| {
                        let empty = uploads.is_empty();
                        followed.check(next.as_ref(), empty, "ListMultipartUploads")?;
                        Ok((uploads, next))
                    })
                    .map_err(|e| super::listing_error(api.label(), prefix, e))?;
                Ok((uploads, next.map(|next| (Some(next), followed))))
            }
        },
    )
    .map_ok(move |upload| async move {
        with_parts(api, upload)
            .await
            .map_err(|e| super::listing_error(api.label(), prefix, e))
    })
    .try_buffered(PARTS_CONCURRENCY)
    .boxed()
}

/// Abort `upload` (its parts are deleted); `Ok(false)` when it no longer exists
/// (completed or aborted since it was listed).
pub(crate) async fn abort<A: XmlApi>(api: &A, upload: &Upload) -> crate::Result<bool> {
    // Which upload, in the error: the run stops at it.
    let what = format!(
        "AbortMultipartUpload of {} (upload ID {})",
        excerpt(&upload.key, 200),
        excerpt(&upload.upload_id, 100)
    );
    let store = |source| crate::Error::Store {
        store: api.label().to_string(),
        source: Box::new(source),
    };
    let full = api.full(&upload.key);
    let path = key_path(A::PROVIDER, &full, &what).map_err(store)?;
    let query = [("uploadId", upload.upload_id.as_str())];
    match api.send(http::Method::DELETE, &path, &query, &what).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(source) => Err(store(source)),
    }
}

/// One page of `ListMultipartUploads` under `prefix` (full) from `markers` (key,
/// upload ID).
async fn uploads_page<A: XmlApi>(
    api: &A,
    prefix: &str,
    markers: Option<&(String, String)>,
) -> Result<(Vec<Upload>, Option<(String, String)>), Failure> {
    const WHAT: &str = "ListMultipartUploads";
    let provider = A::PROVIDER;
    let generic = |message: String| super::http::generic(provider, message);
    let mut query = vec![("uploads", ""), ("max-uploads", "1000"), ("prefix", prefix)];
    if A::URL_KEYS {
        query.push(("encoding-type", "url"));
    }
    if let Some((key, upload)) = markers {
        query.push(("key-marker", key));
        query.push(("upload-id-marker", upload));
    }
    let body = api.send(http::Method::GET, "", &query, WHAT).await?;
    let page: ListUploads = parse_page_of(provider, &body, WHAT, UPLOADS_ROOTS)?;
    let url = page.encoding_type.as_deref() == Some("url");
    let mut uploads = Vec::with_capacity(page.uploads.len());
    for upload in page.uploads {
        if upload.upload_id.len() > MAX_NAME_BYTES {
            return Err(generic(format!(
                "{WHAT}: an upload ID of {} bytes",
                upload.upload_id.len()
            )));
        }
        let key = decoded(provider, upload.key, url, WHAT)?;
        uploads.push(Upload {
            key: relative(provider, api.prefix(), key, prefix, WHAT)?,
            upload_id: upload.upload_id,
            initiated: Some(time(provider, &upload.initiated, WHAT)?),
            class: upload.storage_class.filter(|c| c.len() <= MAX_NAME_BYTES),
            parts: 0,
            bytes: 0,
        });
    }
    let next = match page.is_truncated {
        false => None,
        true => {
            let key = decoded(
                provider,
                page.next_key_marker.unwrap_or_default(),
                url,
                WHAT,
            )?;
            let key = bounded(provider, key, "a NextKeyMarker", WHAT)?;
            let id = page.next_upload_id_marker.unwrap_or_default();
            let next = (key, bounded(provider, id, "a NextUploadIdMarker", WHAT)?);
            if next.0.is_empty() || markers == Some(&next) {
                return Err(generic(format!(
                    "{WHAT}: a truncated page without new markers (it would never end)"
                )));
            }
            Some(next)
        }
    };
    Ok((uploads, next))
}

/// `upload` with its parts counted (`ListParts`, every page). An upload gone since it
/// was listed has no parts: it is no longer stored.
async fn with_parts<A: XmlApi>(api: &A, mut upload: Upload) -> Result<Upload, Failure> {
    const WHAT: &str = "ListParts";
    let provider = A::PROVIDER;
    let full = api.full(&upload.key);
    let path = key_path(provider, &full, WHAT)?;
    let mut marker: Option<String> = None;
    let mut followed = Followed::default();
    loop {
        let mut query = vec![
            ("max-parts", "1000"),
            ("uploadId", upload.upload_id.as_str()),
        ];
        if let Some(marker) = &marker {
            query.push(("part-number-marker", marker));
        }
        let body = match api.send(http::Method::GET, &path, &query, WHAT).await {
            Ok(body) => body,
            Err(object_store::Error::NotFound { .. }) => return Ok(upload),
            Err(e) => return Err(e),
        };
        let page: ListParts = parse_page_of(provider, &body, WHAT, PARTS_ROOTS)?;
        let empty = page.parts.is_empty();
        for part in page.parts {
            upload.parts += 1;
            upload.bytes = upload.bytes.saturating_add(part.size);
        }
        if !page.is_truncated {
            return Ok(upload);
        }
        let next = page.next_part_number_marker.filter(|m| !m.is_empty());
        let next = match next {
            Some(m) => Some(bounded(provider, m, "a NextPartNumberMarker", WHAT)?),
            None => None,
        };
        if next.is_none() || next == marker {
            return Err(super::http::generic(
                provider,
                format!("{WHAT}: a truncated page without a new NextPartNumberMarker"),
            ));
        }
        followed.check(next.as_ref(), empty, WHAT)?;
        marker = next;
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListUploads {
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
    encoding_type: Option<String>,
    #[serde(rename = "Upload", default)]
    uploads: Vec<UploadXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UploadXml {
    key: String,
    upload_id: String,
    initiated: String,
    storage_class: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListParts {
    #[serde(default)]
    is_truncated: bool,
    next_part_number_marker: Option<String>,
    #[serde(rename = "Part", default)]
    parts: Vec<PartXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PartXml {
    size: u64,
}
