//! Store URLs: `s3://bucket/prefix?region=eu-west-1`, `gs://`, `az://`, `file://`, `memory://`.
//!
//! | URL | store |
//! |---|---|
//! | `s3://BUCKET[/PREFIX]` | S3 bucket |
//! | `gs://BUCKET[/PREFIX]` (or `gcs://`) | GCS bucket |
//! | `az://CONTAINER[/PREFIX]` (or `azure://`) | Azure container; `account` in the query or `AZURE_STORAGE_ACCOUNT_NAME` |
//! | `file:///ABSOLUTE/PATH` | local folder |
//! | `memory://[/PREFIX]` | a new in-memory store |
//!
//! Query parameters take the same keys as the provider's table in a file
//! (`?region=eu-west-1&endpoint=http://127.0.0.1:9000&allow_http=true`); any other
//! parameter is an object_store option (`?aws_copy_if_not_exists=multipart`), checked by
//! object_store's key parser, so a misspelt key is an error. `true` / `false` are booleans.
//! Percent-encoding in the path is decoded. Errors name the URL by scheme and bucket only:
//! a query may carry credentials.

use super::{KeyError, StoreConfig};
use crate::error::{ConfigError, Result};
use serde_json::{Map, Value};

/// The keys each provider's table has besides `options` (the rest of a query goes to
/// `options`). Kept in step with the structs by `fields_match_the_structs` below.
fn fields(provider: &str) -> &'static [&'static str] {
    match provider {
        "s3" => &[
            "region",
            "endpoint",
            "allow_http",
            "access_key_id",
            "secret_access_key",
            "session_token",
            "virtual_hosted_style",
            "skip_signature",
            "list_order",
        ],
        "gcs" => &[
            "service_account",
            "service_account_key",
            "application_credentials",
            "endpoint",
            "allow_http",
            "skip_signature",
        ],
        "azure" => &[
            "account",
            "access_key",
            "sas_token",
            "bearer_token",
            "use_emulator",
            "endpoint",
            "allow_http",
            "skip_signature",
        ],
        "local" => &["create_root"],
        _ => &[],
    }
}

/// The field that holds the URL's host part, for each provider that has one.
fn bucket_field(provider: &str) -> Option<&'static str> {
    match provider {
        "s3" | "gcs" => Some("bucket"),
        "azure" => Some("container"),
        _ => None,
    }
}

/// Parse a store URL into a validated [`StoreConfig`].
pub fn parse_url(input: &str) -> Result<StoreConfig> {
    let url = ::url::Url::parse(input).map_err(|e| {
        ConfigError::new(
            "URL",
            format!("not a URL ({e}); expected e.g. s3://bucket/prefix or file:///path"),
        )
    })?;
    let provider = match url.scheme() {
        "s3" | "s3a" => "s3",
        "gs" | "gcs" => "gcs",
        "az" | "azure" | "abfs" => "azure",
        "file" => "local",
        "memory" => "memory",
        other => {
            return Err(ConfigError::new(
                format!("URL {other}://"),
                "unknown scheme; expected s3://, gs://, az://, file:// or memory://",
            )
            .into())
        }
    };
    let host = url.host_str().unwrap_or_default();
    let origin = format!("URL {}://{host}", url.scheme());
    let err = |e: KeyError| ConfigError::new(&origin, e.message).key(e.key);

    let mut table = Map::new();
    table.insert("provider".into(), provider.into());
    let path = object_store::path::Path::from_url_path(url.path()).map_err(|e| {
        err(KeyError::new(
            "prefix",
            format!("the URL's path is not a valid key prefix: {e}"),
        ))
    })?;
    match bucket_field(provider) {
        Some(field) => {
            if host.is_empty() {
                return Err(err(KeyError::new(
                    field,
                    format!("missing: write {}://{field}/prefix", url.scheme()),
                ))
                .into());
            }
            table.insert(field.into(), host.into());
            table.insert("prefix".into(), path.as_ref().into());
        }
        None if provider == "local" => {
            if !host.is_empty() {
                return Err(err(KeyError::new(
                    "root",
                    "file URLs take an absolute path: file:///path/to/folder",
                ))
                .into());
            }
            // The path is the root folder, not a prefix.
            table.insert("root".into(), format!("/{path}").into());
        }
        None => {
            table.insert(
                "prefix".into(),
                format!("{host}/{path}").trim_matches('/').into(),
            );
        }
    }

    let mut options = Map::new();
    for (key, value) in url.query_pairs() {
        let value = match value.as_ref() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(value.into_owned()),
        };
        let target = if fields(provider).contains(&key.as_ref()) {
            &mut table
        } else {
            &mut options
        };
        if target.insert(key.to_string(), value).is_some() {
            return Err(err(KeyError::new(key, "given more than once")).into());
        }
    }
    if !options.is_empty() {
        table.insert("options".into(), Value::Object(options));
    }
    let table = Value::Object(table);
    let secrets = super::secret::secret_values(&table);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    Ok(StoreConfig::from_value(table, None).map_err(|e| err(e.scrubbed(&secrets)))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LocalConfig, MemoryConfig};

    #[test]
    fn fields_match_the_structs() {
        for provider in super::super::PROVIDERS {
            for field in fields(provider) {
                let mut table = Map::new();
                table.insert("provider".into(), (*provider).into());
                if let Some(bucket) = bucket_field(provider) {
                    table.insert(bucket.into(), "b".into());
                }
                if *provider == "local" {
                    table.insert("root".into(), "/tmp".into());
                }
                table.insert((*field).into(), Value::Bool(true));
                if let Err(e) = StoreConfig::from_value(Value::Object(table), None) {
                    assert!(
                        !e.message.contains("unknown field"),
                        "{provider}.{field}: {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn file_and_memory_urls() {
        assert_eq!(
            parse_url("file:///tmp/some%20dir").unwrap(),
            StoreConfig::Local(LocalConfig::new("/tmp/some dir"))
        );
        assert_eq!(
            parse_url("memory:///a/b").unwrap(),
            StoreConfig::Memory(MemoryConfig {
                prefix: Some("a/b".into())
            })
        );
        assert_eq!(
            parse_url("memory://").unwrap(),
            StoreConfig::Memory(MemoryConfig {
                prefix: Some(String::new())
            })
        );
    }
}
