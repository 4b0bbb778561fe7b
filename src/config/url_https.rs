//! `https://` URLs as the providers' consoles and documentation write them: the host
//! says which provider (and for S3 the region), the host or the path's first segment the
//! bucket or container. Only the providers' own hosts: another server's URL says nothing
//! about what speaks there, so it is refused with the form that says it
//! (`s3://bucket?endpoint=https://host`).

use super::providers::{self, Registration};
use super::KeyError;
use serde_json::{Map, Value};

/// The forms, for the error that refuses another.
const FORMS: &str = "https://BUCKET.s3.REGION.amazonaws.com/PREFIX, \
    https://s3.REGION.amazonaws.com/BUCKET/PREFIX, \
    https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (or .dfs.), \
    https://storage.googleapis.com/BUCKET/PREFIX or https://BUCKET.storage.googleapis.com/PREFIX";

/// The provider an `https://` URL names, its table (provider, bucket or container,
/// account or region) and the part of the URL's path that is the prefix (still escaped);
/// the caller reads the prefix and the query.
pub(super) fn read(
    url: &::url::Url,
) -> Result<(&'static Registration, Map<String, Value>, String), KeyError> {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let (first, rest) = url
        .path()
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((url.path().trim_start_matches('/'), ""));
    // (provider, its name key, the name, the prefix's path, what else the host says)
    let (provider, field, name, path, place) =
        if let Some(labels) = host.strip_suffix(".amazonaws.com") {
            let (bucket, region) = s3_host(labels)?;
            let (name, path) = match bucket {
                Some(bucket) => (bucket, url.path()),
                None => (first.to_string(), rest),
            };
            ("s3", "bucket", name, path, region.map(|r| ("region", r)))
        } else if let Some(labels) = host.strip_suffix(".core.windows.net") {
            let account = match labels.split_once('.') {
                Some((account, "blob" | "dfs")) if !account.is_empty() => account.to_string(),
                _ => return Err(refused()),
            };
            (
                "azure",
                "container",
                first.to_string(),
                rest,
                Some(("account", account)),
            )
        } else if host == "storage.googleapis.com" || host == "storage.cloud.google.com" {
            ("gcs", "bucket", first.to_string(), rest, None)
        } else if let Some(bucket) = host.strip_suffix(".storage.googleapis.com") {
            ("gcs", "bucket", bucket.to_string(), url.path(), None)
        } else {
            return Err(refused());
        };
    if name.is_empty() {
        return Err(KeyError::new(
            field,
            format!("missing: the URL names no {field} (forms: {FORMS})"),
        ));
    }
    // No bucket or container name holds an escape (it may be credentials escaped).
    if name.contains('%') {
        return Err(KeyError::new(
            field,
            format!("the URL's {field} holds a `%` escape, which no {field} name does"),
        ));
    }
    let entry = providers::entry(provider).expect("a registered provider");
    let mut table = Map::new();
    table.insert("provider".into(), provider.into());
    table.insert(field.into(), name.into());
    if let Some((key, value)) = place {
        table.insert(key.into(), value.into());
    }
    Ok((entry, table, path.to_string()))
}

/// An S3 host without `.amazonaws.com`: the bucket when the host names it
/// (virtual-hosted: `BUCKET.s3.REGION`), and the region when it names one (`s3`,
/// `s3.REGION`, `s3.dualstack.REGION`, `s3-REGION`; a bucket may hold dots).
fn s3_host(labels: &str) -> Result<(Option<String>, Option<String>), KeyError> {
    let labels: Vec<&str> = labels.split('.').collect();
    let at = labels
        .iter()
        .rposition(|l| *l == "s3" || l.strip_prefix("s3-").is_some_and(is_region))
        .ok_or_else(refused)?;
    let bucket = (at > 0).then(|| labels[..at].join("."));
    let region = match (labels[at].strip_prefix("s3-"), &labels[at + 1..]) {
        (Some(region), []) => Some(region.to_string()),
        (None, []) => None,
        (None, [region]) | (None, ["dualstack", region]) if is_region(region) => {
            Some(region.to_string())
        }
        _ => return Err(refused()),
    };
    Ok((bucket, region))
}

/// An AWS region name: `us-east-1`, `ap-southeast-2`, `us-gov-west-1` (two letters, words,
/// a number), not a service label such as `website` or `external-1`.
fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// The error for an `https://` URL of no form above (not quoting the host: it may hold
/// anything).
fn refused() -> KeyError {
    KeyError::new(
        "host",
        format!(
            "an https:// URL names a store by its provider's host ({FORMS}); for another \
             server write s3://BUCKET/PREFIX?endpoint=https://HOST (or a config file)"
        ),
    )
}
