//! Store URLs: `s3://bucket/prefix?region=eu-west-1`, `gs://`, `az://`, `file://`, `memory://`.
//! The forms and query keys are listed in the `config` module's documentation ("URLs").

use super::providers::{self, Registration, UrlForm};
use super::{KeyError, StoreConfig};
use crate::error::{ConfigError, Result};
use serde_json::{Map, Value};

/// Parse a store URL into a validated [`StoreConfig`]; the forms are listed in the
/// [module documentation](crate::config#urls).
pub fn parse_url(input: &str) -> Result<StoreConfig> {
    let url = ::url::Url::parse(input).map_err(|e| {
        ConfigError::new(
            "URL",
            format!("not a URL ({e}); expected e.g. s3://bucket/prefix or file:///path"),
        )
    })?;
    if url.scheme() == "https" {
        return https(&url);
    }
    let entry = providers::entry_for_scheme(url.scheme()).ok_or_else(|| {
        ConfigError::new(
            format!("URL {}://", url.scheme()),
            format!("unknown scheme; expected {}", schemes()),
        )
    })?;
    // The host names the URL in errors, unless it holds an escape (refused below: it may be
    // escaped credentials).
    let host = url.host_str().unwrap_or_default();
    let origin = format!(
        "URL {}://{}",
        url.scheme(),
        if host.contains('%') { "..." } else { host }
    );
    let err = |e: KeyError| ConfigError::new(&origin, e.message).key(e.key);
    // Azure's Data Lake form, as Hadoop and object_store write it:
    // `abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/prefix`.
    let data_lake_form = matches!(url.scheme(), "abfs" | "abfss") && !url.username().is_empty();
    // `s3://key:secret@bucket/` would be ignored silently, and shown wherever the URL is.
    if !data_lake_form && (!url.username().is_empty() || url.password().is_some()) {
        return Err(ConfigError::new(
            &origin,
            "the URL has a `name@` or `name:password@` part, which store URLs do not read \
             (a password there would show wherever the URL is shown): write \
             s3://bucket/prefix or az://container/prefix?account=NAME, and give credentials \
             in the environment or a config file",
        )
        .into());
    }
    let table = if data_lake_form {
        data_lake(&url)
    } else {
        location(entry, &url)
    }
    .map_err(err)?;
    finish(entry, &url, table, &origin)
}

/// The store of a provider's own `https://` URL ([`super::url_https`]).
fn https(url: &::url::Url) -> Result<StoreConfig> {
    let refuse = |e: KeyError| ConfigError::new("URL https://", e.message).key(e.key);
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(KeyError::new(
            "host",
            "the URL has a `name@` or `name:password@` part, which store URLs do not read: \
             give credentials in the environment or a config file",
        ))
        .into());
    }
    let (entry, mut table, path) = super::url_https::read(url).map_err(refuse)?;
    let origin = format!("URL https://{}", url.host_str().unwrap_or_default());
    table.insert(
        "prefix".into(),
        path_prefix(url, &path).map_err(refuse)?.as_ref().into(),
    );
    finish(entry, url, table, &origin)
}

/// The store of `table` (what the URL's host and path say) with the URL's query added.
fn finish(
    entry: &Registration,
    url: &::url::Url,
    mut table: Map<String, Value>,
    origin: &str,
) -> Result<StoreConfig> {
    let err = |e: KeyError| ConfigError::new(origin, e.message).key(e.key);
    query(entry, url, &mut table).map_err(err)?;
    let table = Value::Object(table);
    let secrets = super::secret::secret_values(&table);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    Ok(StoreConfig::from_value(table).map_err(|e| err(e.scrubbed(&secrets)))?)
}

/// `abfs[s]://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX[?query]`: the container
/// before the `@`, the account the host's first label (any `*.core.windows.net` host:
/// `dfs` and `blob` name the same account). No password may stand there.
fn data_lake(url: &::url::Url) -> Result<Map<String, Value>, KeyError> {
    let refuse = |message: &str| KeyError::new("container", message.to_string());
    if url.password().is_some() {
        return Err(refuse(
            "the URL has a `name:password@` part; a Data Lake URL is \
             abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/prefix, credentials never in it",
        ));
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let account = match host.split_once('.') {
        Some((account, rest)) if rest.ends_with("core.windows.net") && !account.is_empty() => {
            account.to_string()
        }
        _ => {
            return Err(refuse(
                "a Data Lake URL's host is ACCOUNT.dfs.core.windows.net (or .blob.); for \
                 another host give the endpoint in a config file",
            ))
        }
    };
    let container = percent_decode(url.username());
    let mut table = Map::new();
    table.insert("provider".into(), "azure".into());
    table.insert("container".into(), container.into());
    table.insert("account".into(), account.into());
    table.insert("prefix".into(), url_prefix(url)?.as_ref().into());
    Ok(table)
}

/// The URL's path as a key prefix: percent-decoded, then kept as decoded (`caf%C3%A9` and
/// `café` are the prefix `café`), refused where no key can hold it (what `crate::key`
/// does with text), and never with a fragment (`s3://b/a#b` would silently be the prefix
/// `a`).
fn url_prefix(url: &::url::Url) -> Result<object_store::path::Path, KeyError> {
    path_prefix(url, url.path())
}

/// [`url_prefix`] of `path`, a part of the URL's path.
fn path_prefix(url: &::url::Url, path: &str) -> Result<object_store::path::Path, KeyError> {
    if url.fragment().is_some() {
        return Err(KeyError::new(
            "prefix",
            "the URL has a fragment (`#...`), which is not part of a prefix: write a `#` \
             in a key prefix as `%23` (`?` as `%3F`, `%` as `%25`)",
        ));
    }
    object_store::path::Path::from_url_path(path).map_err(|e| {
        KeyError::new(
            "prefix",
            format!("the URL's path is not a valid key prefix: {e}"),
        )
    })
}

/// `text` with its `%XX` escapes decoded (a container name holds none in practice).
fn percent_decode(text: &str) -> String {
    ::url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Every scheme a URL may have: `s3://, s3a://, gs://, ...`.
fn schemes() -> String {
    let all: Vec<String> = providers::ENTRIES
        .iter()
        .flat_map(|e| e.schemes)
        .map(|s| format!("{s}://"))
        .collect();
    all.join(", ")
}

/// The provider's table with what the URL's host and path say, as its [`UrlForm`] reads.
fn location(entry: &Registration, url: &::url::Url) -> Result<Map<String, Value>, KeyError> {
    let host = url.host_str().unwrap_or_default();
    let mut table = Map::new();
    table.insert("provider".into(), entry.name.into());
    match entry.url {
        UrlForm::Bucket(field) => {
            if host.is_empty() {
                return Err(KeyError::new(
                    field,
                    format!("missing: write {}://{field}/prefix", url.scheme()),
                ));
            }
            // No bucket or container name holds an escape: `s3://KEY%3ASECRET%40bucket/`
            // is credentials escaped, and would be shown as the bucket. Not quoted.
            if host.contains('%') {
                return Err(KeyError::new(
                    field,
                    format!(
                        "the URL's {field} holds a `%` escape, which no {field} name does \
                         (credentials go in the environment or a config file)"
                    ),
                ));
            }
            table.insert(field.into(), host.into());
            table.insert("prefix".into(), url_prefix(url)?.as_ref().into());
        }
        UrlForm::Root(field) => {
            table.insert(field.into(), file_root(url, field)?.into());
        }
        UrlForm::Prefix => {
            let path = url_prefix(url)?;
            table.insert(
                "prefix".into(),
                format!("{host}/{path}").trim_matches('/').into(),
            );
        }
        UrlForm::None => unreachable!("a provider without URLs has no scheme"),
    }
    Ok(table)
}

/// The folder of a `file://` URL, as this system writes paths (`Url::to_file_path`):
/// `file:///srv/data` on Unix; `file:///C:/data` (`C:\data`) and `file://server/share/d`
/// (`\\server\share\d`) on Windows. A host, or a drive letter, on another system is
/// refused by name rather than read as a folder under `/`.
fn file_root(url: &::url::Url, field: &str) -> Result<String, KeyError> {
    let scheme = url.scheme();
    if url.fragment().is_some() {
        return Err(KeyError::new(
            field,
            "the URL has a fragment (`#...`): write a `#` in a folder name as `%23`",
        ));
    }
    let host = url.host_str().unwrap_or_default();
    if !host.is_empty() && !cfg!(windows) {
        return Err(KeyError::new(
            field,
            format!("{scheme}:// URLs take an absolute path: {scheme}:///path/to/folder"),
        ));
    }
    let drive = |path: &str| {
        let bytes = path.as_bytes();
        bytes.len() >= 3
            && bytes[0] == b'/'
            && bytes[1].is_ascii_alphabetic()
            && bytes[2] == b':'
            && bytes.get(3).is_none_or(|b| *b == b'/')
    };
    if !cfg!(windows) && drive(url.path()) {
        return Err(KeyError::new(
            field,
            format!(
                "{scheme}:///{}:/... is a Windows path; on this system write \
                 {scheme}:///path/to/folder",
                &url.path()[1..2]
            ),
        ));
    }
    let path = url.to_file_path().map_err(|()| {
        KeyError::new(
            field,
            format!(
                "the URL's path is not a folder of this system: write {scheme}:///path/to/folder"
            ),
        )
    })?;
    let path = path.into_os_string().into_string().map_err(|_| {
        KeyError::new(
            field,
            "the URL's path is not UTF-8 (its escapes decode to other bytes)",
        )
    })?;
    // `file:///data/` and `file:///data` are one folder.
    let trimmed = path.trim_end_matches(['/', '\\']);
    Ok(match trimmed.is_empty() || trimmed.ends_with(':') {
        true => path,
        false => trimmed.to_string(),
    })
}

/// The query's parameters: a key of the provider's table goes there, anything else to
/// `options` (checked by object_store's key parser later). `true` / `false` are booleans.
fn query(
    entry: &Registration,
    url: &::url::Url,
    table: &mut Map<String, Value>,
) -> Result<(), KeyError> {
    let keys = (entry.keys)();
    let mut options = Map::new();
    for (key, value) in url.query_pairs() {
        let value = match value.as_ref() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(value.into_owned()),
        };
        let target = if keys.contains(&key.as_ref()) && key != "options" {
            &mut *table
        } else {
            &mut options
        };
        if target.insert(key.to_string(), value).is_some() {
            return Err(KeyError::new(key, "given more than once"));
        }
    }
    if !options.is_empty() {
        table.insert("options".into(), Value::Object(options));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LocalConfig, MemoryConfig, ProviderConfig};

    #[test]
    #[cfg(feature = "aws")]
    fn a_query_key_of_the_table_sets_it_and_any_other_is_an_option() {
        let config = parse_url(
            "s3://b/p?region=eu-west-1&list_order=sorted&aws_copy_if_not_exists=multipart",
        )
        .unwrap();
        let ProviderConfig::S3(s3) = config.kind else {
            panic!("expected s3")
        };
        assert_eq!(s3.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s3.list_order, Some(crate::config::ListOrder::Sorted));
        assert!(s3.options.0.contains_key("aws_copy_if_not_exists"));
    }

    #[test]
    fn a_url_carrying_credentials_is_refused_without_quoting_them() {
        for url in ["s3://AKIA:hunter2@bucket/p", "gs://me:hunter2@bucket/p"] {
            let err = parse_url(url).unwrap_err().to_string();
            assert!(err.contains("`name:password@` part"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        let err = parse_url("abfss://c:hunter2@acct.dfs.core.windows.net/p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`name:password@` part"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = parse_url("s3://AKIA%3Ahunter2%40bucket/p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds a `%` escape"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    #[cfg(feature = "azure")]
    fn data_lake_urls_name_the_container_and_the_account() {
        for url in [
            "abfss://logs@acme.dfs.core.windows.net/2026/01",
            "abfs://logs@acme.blob.core.windows.net/2026/01",
        ] {
            let config = parse_url(url).unwrap();
            let ProviderConfig::Azure(azure) = config.kind else {
                panic!("expected azure")
            };
            assert_eq!(azure.container, "logs");
            assert_eq!(azure.account.as_deref(), Some("acme"));
            assert_eq!(azure.prefix.as_deref(), Some("2026/01"));
        }
        // The short form stays: abfs://container/prefix.
        let ProviderConfig::Azure(short) = parse_url("abfs://logs/p?account=acme").unwrap().kind
        else {
            panic!("expected azure")
        };
        assert_eq!(
            (short.container.as_str(), short.account.as_deref()),
            ("logs", Some("acme"))
        );
        // The same prefix rules as every URL: a fragment is no part of it.
        let err = parse_url("abfss://logs@acme.dfs.core.windows.net/a#b")
            .unwrap_err()
            .to_string();
        assert!(err.contains("has a fragment"), "{err}");
        let err = parse_url("abfss://logs@example.com/p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ACCOUNT.dfs.core.windows.net"), "{err}");
    }

    /// (provider, bucket or container, region or account, prefix) of a URL.
    fn parts(url: &str) -> (&'static str, String, Option<String>, Option<String>) {
        match parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}")).kind {
            ProviderConfig::S3(c) => ("s3", c.bucket, c.region, c.prefix),
            ProviderConfig::Gcs(c) => ("gcs", c.bucket, None, c.prefix),
            ProviderConfig::Azure(c) => ("azure", c.container, c.account, c.prefix),
            _ => panic!("{url}: not a cloud store"),
        }
    }

    #[test]
    #[cfg(all(feature = "aws", feature = "gcp", feature = "azure"))]
    fn the_providers_https_urls_name_their_store() {
        let some = |s: &str| Some(s.to_string());
        for (url, expected) in [
            (
                "https://acme.s3.eu-west-1.amazonaws.com/logs/2026",
                ("s3", "acme", some("eu-west-1"), some("logs/2026")),
            ),
            (
                "https://my.dotted.bucket.s3.us-gov-west-1.amazonaws.com/",
                ("s3", "my.dotted.bucket", some("us-gov-west-1"), some("")),
            ),
            (
                "https://acme.s3.amazonaws.com/a%20b/c",
                ("s3", "acme", None, some("a b/c")),
            ),
            (
                "https://acme.s3-ap-southeast-2.amazonaws.com/x",
                ("s3", "acme", some("ap-southeast-2"), some("x")),
            ),
            (
                "https://acme.s3.dualstack.eu-central-1.amazonaws.com/x?list_order=sorted",
                ("s3", "acme", some("eu-central-1"), some("x")),
            ),
            (
                "https://s3.eu-west-1.amazonaws.com/acme/logs/",
                ("s3", "acme", some("eu-west-1"), some("logs")),
            ),
            (
                "https://s3.amazonaws.com/acme",
                ("s3", "acme", None, some("")),
            ),
            (
                "https://Acct1.blob.core.windows.net/logs/2026/01",
                ("azure", "logs", some("acct1"), some("2026/01")),
            ),
            (
                "https://acct1.dfs.core.windows.net/logs",
                ("azure", "logs", some("acct1"), some("")),
            ),
            (
                "https://storage.googleapis.com/acme/a/b",
                ("gcs", "acme", None, some("a/b")),
            ),
            (
                "https://storage.cloud.google.com/acme/a",
                ("gcs", "acme", None, some("a")),
            ),
            (
                "https://acme.storage.googleapis.com/a",
                ("gcs", "acme", None, some("a")),
            ),
        ] {
            let (provider, name, place, prefix) = expected;
            assert_eq!(
                parts(url),
                (provider, name.to_string(), place, prefix),
                "{url}"
            );
        }
        // The query is read as for the provider's own scheme.
        let ProviderConfig::S3(s3) =
            parse_url("https://acme.s3.eu-west-1.amazonaws.com/x?list_order=sorted")
                .unwrap()
                .kind
        else {
            panic!("expected s3")
        };
        assert_eq!(s3.list_order, Some(crate::config::ListOrder::Sorted));
    }

    #[test]
    fn other_https_urls_are_refused_with_the_forms() {
        for url in [
            "https://example.com/bucket/x",
            "https://acme.s3-website-us-east-1.amazonaws.com/x",
            "https://acme.s3-external-1.amazonaws.com/x",
            "https://acme.s3.eu-west-1.evil.com.amazonaws.com.example/x",
            "https://acct.queue.core.windows.net/q",
            "https://acme.s3.not_a_region.amazonaws.com/x",
        ] {
            let err = parse_url(url).unwrap_err().to_string();
            assert!(
                err.contains("names a store by its provider's host"),
                "{url}: {err}"
            );
            assert!(err.contains("endpoint=https://HOST"), "{url}: {err}");
        }
        for (url, expected) in [
            ("https://s3.eu-west-1.amazonaws.com/", "names no bucket"),
            ("https://acct.blob.core.windows.net/", "names no container"),
            ("https://storage.googleapis.com", "names no bucket"),
            ("https://s3.amazonaws.com/acme/a#b", "has a fragment"),
        ] {
            let err = parse_url(url).unwrap_err().to_string();
            assert!(err.contains(expected), "{url}: {err}");
        }
        let err = parse_url("https://AKIA:hunter2@acme.s3.amazonaws.com/")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`name:password@` part") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn file_urls_are_paths_of_this_system() {
        let root = |url: &str| parse_url(url).map_err(|e| e.to_string());
        let local = |path: &str| Ok(StoreConfig::from(LocalConfig::new(path)));
        #[cfg(unix)]
        {
            assert_eq!(root("file:///srv/data/"), local("/srv/data"));
            assert_eq!(root("file:///"), local("/"));
            assert_eq!(root("file:///a%23b"), local("/a#b"));
            let err = root("file:///C:/data").unwrap_err();
            assert!(err.contains("is a Windows path"), "{err}");
            let err = root("file://server/share/d").unwrap_err();
            assert!(err.contains("file:///path/to/folder"), "{err}");
            let err = root("file:///%FF").unwrap_err();
            assert!(err.contains("not UTF-8"), "{err}");
        }
        #[cfg(windows)]
        {
            assert_eq!(root("file:///C:/data/"), local("C:\\data"));
            assert_eq!(root("file://server/share/d"), local("\\\\server\\share\\d"));
        }
        assert!(root("file:///a#b").unwrap_err().contains("fragment"));
    }

    #[test]
    fn file_and_memory_urls() {
        assert_eq!(
            parse_url("file:///tmp/some%20dir").unwrap(),
            StoreConfig::from(LocalConfig::new("/tmp/some dir"))
        );
        assert_eq!(
            parse_url("memory:///a/b").unwrap(),
            StoreConfig::from(MemoryConfig {
                prefix: Some("a/b".into())
            })
        );
        assert_eq!(
            parse_url("memory://").unwrap(),
            StoreConfig::from(MemoryConfig {
                prefix: Some(String::new())
            })
        );
    }
}
