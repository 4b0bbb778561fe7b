//! Store configuration: files with named stores, URLs, the environment, and building
//! `Arc<dyn ObjectStore>` from them.
//!
//! # Files
//!
//! A TOML file (or JSON, chosen by the `.json` extension) names one or more stores:
//!
//! ```toml
//! default = "archive"            # optional when there is only one store
//!
//! [stores.archive]
//! provider = "s3"
//! bucket = "acme-archive"
//! prefix = "v2"
//! region = "eu-west-1"
//! secret_access_key = "${ARCHIVE_SECRET}"
//! options = { aws_copy_if_not_exists = "multipart" }
//!
//! [stores.scratch]
//! provider = "local"
//! root = "../scratch"            # relative to this file's folder
//! ```
//!
//! Loading checks everything that can be checked without the network: the syntax, every
//! key's name and type, unknown keys (also inside `options`, against object_store's own
//! key parser), `${VAR}` references, plain-http endpoints without `allow_http`, the
//! prefix, and that `default` names a store. Each error names the file, the store and the
//! key, and never repeats a value that could be secret.
//!
//! The keys of each provider are the fields of [`S3Config`], [`GcsConfig`],
//! [`AzureConfig`], [`LocalConfig`] and [`MemoryConfig`]; README.md has the full table.

mod interpolate;
mod keys;
mod member;
mod options;
mod place;
mod providers;
mod registry;
mod retry;
mod secret;
mod settings;
mod store;
mod url;

pub use self::member::{MemberStore, ReplicatedMember, ShardedMember};
pub use self::options::{OptionValue, Options};
pub use self::providers::{
    AzureConfig, GcsConfig, ListOrder, LocalConfig, MemoryConfig, ProviderConfig, ReplicatedConfig,
    S3Config, ShardedConfig,
};
pub use self::registry::ConfigRegistry;
pub use self::retry::RetrySettings;
pub(crate) use self::secret::scrub_error;
pub use self::secret::Secret;
pub use self::settings::{Limits, StoreSettings};
pub use self::store::{StoreConfig, MAX_SIGNED_URL_EXPIRY};
pub use self::url::parse_url;

use crate::error::{ConfigError, Error, Result};
use interpolate::{interpolate_value, process_env, Lookup};
use object_store::ObjectStore;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest configuration file read (16 MiB): thousands of stores fit in far less.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Builds the store a composite's member names.
pub(crate) type Named<'a> = dyn FnMut(&str) -> Result<Arc<dyn ObjectStore>, BuildError> + 'a;

/// What building a store takes from the file it is in: the stores a composite's members
/// name, and the book its requests are counted in.
pub(crate) struct Resolve<'a> {
    pub(crate) requests: &'a crate::requests::Requests,
    named: &'a mut Named<'a>,
}

impl<'a> Resolve<'a> {
    pub(crate) fn new(requests: &'a crate::requests::Requests, named: &'a mut Named<'a>) -> Self {
        Self { requests, named }
    }

    /// The store named `name` (a composite's member naming another store of the file).
    pub(crate) fn named(&mut self, name: &str) -> Result<Arc<dyn ObjectStore>, BuildError> {
        (self.named)(name)
    }
}

/// Deserialize a provider table, keeping the path of the key that failed.
pub(crate) fn deserialize<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, KeyError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        // serde reports a missing field at its parent; name the field itself.
        let key = match message.strip_prefix("missing field `") {
            Some(rest) => join_key(&path, rest.trim_end_matches('`')),
            None => path.trim_start_matches('.').to_string(),
        };
        KeyError::new(key, message)
    })
}

fn join_key(parent: &str, key: &str) -> String {
    match parent.trim_start_matches('.') {
        "" => key.to_string(),
        parent => format!("{parent}.{key}"),
    }
}

pub(crate) fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "a table",
    }
}

/// Refuse `http://` endpoints unless `allow_http` is set; check the URL's form.
pub(crate) fn check_endpoint(endpoint: Option<&str>, allow_http: bool) -> Result<(), KeyError> {
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    let parsed = ::url::Url::parse(endpoint).map_err(|e| {
        KeyError::new(
            "endpoint",
            format!("not a URL ({e}); expected e.g. https://host:port"),
        )
    })?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_http => Ok(()),
        "http" => Err(KeyError::new(
            "endpoint",
            "a plain http:// endpoint sends data unencrypted; set `allow_http = true` in this \
             store to allow it (or use https://)",
        )),
        other => Err(KeyError::new(
            "endpoint",
            format!("unsupported scheme `{other}`; expected https:// (or http:// with allow_http = true)"),
        )),
    }
}

/// A problem with one key of one store, before the file and store names are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyError {
    pub key: String,
    pub message: String,
}

impl KeyError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same error saying ``the value from `${VAR}` `` where its message quotes a
    /// value `substituted` records for its key.
    pub(crate) fn described(mut self, substituted: &secret::Substituted) -> Self {
        self.message = substituted.describe(&self.key, &self.message);
        self
    }

    /// The same error with any part of `secrets` cut from its message.
    pub(crate) fn scrubbed(mut self, secrets: &[&str]) -> Self {
        if let Some(message) = secret::scrub(&self.message, secrets) {
            self.message = message;
        }
        self
    }

    fn into_config_error(self, origin: &str, store: &str) -> ConfigError {
        ConfigError::new(origin, self.message)
            .store(store)
            .key(self.key)
    }
}

/// Why building a validated store failed.
#[derive(Debug)]
pub(crate) enum BuildError {
    Config(KeyError),
    Store(object_store::Error),
    /// A store that a composite store names failed to build (its error says which).
    Member(Error),
}

impl BuildError {
    /// The error to return for store `store` configured by `config`: no value a `${VAR}`
    /// gave quoted, any part of its secrets cut from its text.
    fn into_error(self, origin: &str, store: &str, config: &StoreConfig) -> Error {
        let secrets = config.secrets();
        let secrets = secrets.as_slice();
        let provider = config.provider();
        match self {
            Self::Config(e) => e
                .described(config.substituted())
                .scrubbed(secrets)
                .into_config_error(origin, store)
                .into(),
            Self::Store(source) => Error::Build {
                origin: origin.to_string(),
                store: store.to_string(),
                provider,
                source: Box::new(scrub_error(source, secrets)),
            },
            Self::Member(error) => error,
        }
    }
}

impl From<KeyError> for BuildError {
    fn from(e: KeyError) -> Self {
        Self::Config(e)
    }
}

/// A composite store's constructor refused its members: the configuration's mistake.
impl From<Error> for BuildError {
    fn from(e: Error) -> Self {
        match e {
            Error::Composition { message, .. } => Self::Config(KeyError::new("members", message)),
            other => Self::Member(other),
        }
    }
}

impl From<object_store::Error> for BuildError {
    fn from(e: object_store::Error) -> Self {
        Self::Store(e)
    }
}

/// A configuration file's top level.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    stores: BTreeMap<String, serde_json::Value>,
}

/// A configuration file: named stores and an optional default.
#[derive(Clone, Debug)]
pub struct Config {
    origin: String,
    default: Option<String>,
    stores: BTreeMap<String, StoreConfig>,
    requests: crate::requests::Requests,
}

impl Config {
    /// Load and validate a file: TOML, or JSON when the name ends in `.json`.
    /// `${VAR}` references are read from the process environment. The file must be a
    /// regular one (links followed) of at most [`MAX_CONFIG_BYTES`]: a FIFO or a device
    /// is refused, not read.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with_env(path.as_ref(), &process_env)
    }

    pub(crate) fn load_with_env(path: &Path, env: Lookup<'_>) -> Result<Self> {
        let text = crate::file::read_regular_text(path, MAX_CONFIG_BYTES, "configuration file")
            .map_err(|source| Error::ReadConfig {
                path: path.to_path_buf(),
                source,
            })?;
        let origin = path.display().to_string();
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("toml") => Format::Toml,
            _ => {
                return Err(ConfigError::new(
                    origin,
                    "unknown file type: name the file *.toml or *.json",
                )
                .into())
            }
        };
        Self::parse(&text, format, &origin, &base, env)
    }

    /// Parse TOML text. `origin` names it in errors; relative paths resolve against `base`.
    pub fn from_toml(text: &str, origin: &str, base: impl Into<PathBuf>) -> Result<Self> {
        Self::parse(text, Format::Toml, origin, &base.into(), &process_env)
    }

    /// Parse JSON text. `origin` names it in errors; relative paths resolve against `base`.
    pub fn from_json(text: &str, origin: &str, base: impl Into<PathBuf>) -> Result<Self> {
        Self::parse(text, Format::Json, origin, &base.into(), &process_env)
    }

    fn parse(
        text: &str,
        format: Format,
        origin: &str,
        base: &Path,
        env: Lookup<'_>,
    ) -> Result<Self> {
        let raw: RawFile = match format {
            Format::Toml => toml::from_str(text).map_err(|e| {
                // toml's Display quotes the offending line, which may hold a secret: give
                // the position and the message only.
                let at = e
                    .span()
                    .map(|span| line_col(text, span.start))
                    .map(|(l, c)| format!(" at line {l}, column {c}"))
                    .unwrap_or_default();
                ConfigError::new(origin, format!("invalid TOML{at}: {}", e.message().trim()))
            })?,
            Format::Json => serde_json::from_str(text)
                .map_err(|e| ConfigError::new(origin, format!("invalid JSON: {e}")))?,
        };
        if let Format::Toml = format {
            refuse_non_finite(text, origin)?;
        }
        if raw.stores.is_empty() {
            return Err(ConfigError::new(
                origin,
                "no stores: add at least one [stores.NAME] table with a `provider`",
            )
            .into());
        }
        let mut stores = BTreeMap::new();
        // Every value a `${VAR}` put into the file: cut from every error, as secrets are.
        let mut substituted_here = Vec::new();
        for (name, mut value) in raw.stores {
            let err = |e: KeyError| e.into_config_error(origin, &name);
            let seen = std::cell::RefCell::new(Vec::new());
            let recording = |var: &str| {
                let value = env(var);
                if let Some(value) = &value {
                    seen.borrow_mut().push(value.clone());
                }
                value
            };
            let mut strings = Vec::new();
            interpolate_value(&mut value, "", &recording, &mut strings)
                .map_err(|e| err(KeyError::new(e.key, e.message)))?;
            let values = seen.into_inner();
            let mut secrets = secret::secret_values(&value);
            secrets.extend(values.iter().cloned());
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let substituted = secret::Substituted::new(values.clone(), strings);
            let mut config = StoreConfig::from_value(value)
                .map_err(|e| err(e.described(&substituted).scrubbed(&secrets)))?;
            config.resolve_paths(base);
            config.set_substituted(substituted);
            substituted_here.extend(values);
            stores.insert(name, config);
        }
        let substituted: Vec<&str> = substituted_here.iter().map(String::as_str).collect();
        let scrubbed =
            |e: Error| scrub_config_error(describe_config_error(e, &stores), &substituted);
        check_references(origin, &stores).map_err(scrubbed)?;
        place::check_distinct_members(origin, &stores).map_err(scrubbed)?;
        if let Some(default) = &raw.default {
            if !stores.contains_key(default) {
                return Err(ConfigError::new(
                    origin,
                    format!(
                        "`{default}` is not a store in this file; {}",
                        names_hint(&stores)
                    ),
                )
                .key("default")
                .into());
            }
        }
        Ok(Self {
            origin: origin.to_string(),
            default: raw.default,
            stores,
            requests: crate::requests::Requests::new(),
        })
    }

    /// Where this configuration came from (a file path).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The stores' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.stores.keys().map(String::as_str)
    }

    /// The default store's name: `default`, or the only store.
    pub fn default_name(&self) -> Result<&str> {
        match (&self.default, self.stores.len()) {
            (Some(name), _) => Ok(name),
            (None, 1) => Ok(self.stores.keys().next().expect("one store")),
            (None, _) => Err(ConfigError::new(
                &self.origin,
                format!(
                    "several stores and no `default = \"NAME\"`: name the store to use; {}",
                    names_hint(&self.stores)
                ),
            )
            .into()),
        }
    }

    /// The configuration of store `name`.
    pub fn get(&self, name: &str) -> Result<&StoreConfig> {
        self.stores.get(name).ok_or_else(|| {
            ConfigError::new(
                &self.origin,
                format!("no store named `{name}`; {}", names_hint(&self.stores)),
            )
            .into()
        })
    }

    /// Where store `name` points, as people read it (`s3 AWS bucket logs /2026`,
    /// `local folder /srv/data`): what identifies a store, whatever its name. `None` for
    /// a composite store (its members have places). Secret values are cut from it.
    pub fn place(&self, name: &str) -> Result<Option<String>> {
        let config = self.get(name)?;
        Ok(config.place(name).map(|place| {
            let text = place.to_string();
            secret::scrub(&text, &config.secrets()).unwrap_or(text)
        }))
    }

    /// Build store `name` (and, for a composite store, the stores it names: each once,
    /// however many composites share it).
    pub fn open(&self, name: &str) -> Result<Arc<dyn ObjectStore>> {
        self.open_shared(name, &mut HashMap::new())
    }

    /// Build store `name`, reusing the stores already in `built` (and adding to it).
    fn open_shared(
        &self,
        name: &str,
        built: &mut HashMap<String, Arc<dyn ObjectStore>>,
    ) -> Result<Arc<dyn ObjectStore>> {
        if let Some(store) = built.get(name) {
            return Ok(Arc::clone(store));
        }
        let config = self.get(name)?;
        let store = config
            .build_labelled(
                name,
                &mut Resolve::new(&self.requests, &mut self.resolver(built)),
            )
            .map_err(|e| e.into_error(&self.origin, name, config))?;
        built.insert(name.to_owned(), Arc::clone(&store));
        Ok(store)
    }

    /// What signs URLs for store `name`'s objects (its provider must be S3, GCS or
    /// Azure): object_store's `Signer`, under the store's prefix.
    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
    pub fn signer(&self, name: &str) -> Result<Arc<dyn object_store::signer::Signer>> {
        let config = self.get(name)?;
        config
            .signer_labelled(name, &self.requests)
            .map_err(|e| e.into_error(&self.origin, name, config))
    }

    /// What a composite's named members are built with: [`Self::open_shared`].
    fn resolver<'a>(
        &'a self,
        built: &'a mut HashMap<String, Arc<dyn ObjectStore>>,
    ) -> impl FnMut(&str) -> Result<Arc<dyn ObjectStore>, BuildError> + 'a {
        move |member| self.open_shared(member, built).map_err(BuildError::Member)
    }

    /// Build store `name`, which must be `provider = "replicated"`, as a
    /// [`ReplicatedStore`](crate::replicate::ReplicatedStore) (for
    /// [`crate::replicate::repair`], which needs the type).
    pub fn open_replicated(&self, name: &str) -> Result<crate::replicate::ReplicatedStore> {
        let store = self.get(name)?;
        let ProviderConfig::Replicated(config) = &store.kind else {
            return Err(ConfigError::new(&self.origin, "not a replicated store")
                .store(name)
                .key("provider")
                .into());
        };
        config
            .build_with(&mut Resolve::new(
                &self.requests,
                &mut self.resolver(&mut HashMap::new()),
            ))
            .map_err(|e| e.into_error(&self.origin, name, store))
    }

    /// Build store `name`, which must be `provider = "sharded"`, as a
    /// [`ShardedStore`](crate::shard::ShardedStore) (for [`crate::shard::plan`] and
    /// friends, which need the type).
    pub fn open_sharded(&self, name: &str) -> Result<crate::shard::ShardedStore> {
        let store = self.get(name)?;
        let ProviderConfig::Sharded(config) = &store.kind else {
            return Err(ConfigError::new(&self.origin, "not a sharded store")
                .store(name)
                .key("provider")
                .into());
        };
        config
            .build_with(&mut Resolve::new(
                &self.requests,
                &mut self.resolver(&mut HashMap::new()),
            ))
            .map_err(|e| e.into_error(&self.origin, name, store))
    }

    /// Refuse `names` (stores of this file) when two of them reach the same place or one
    /// inside the other (a bucket and a prefix of it, a folder and a sub-folder), the way
    /// composite stores refuse such members. Call it before [`crate::replicate::sync`]
    /// with `delete` between two stores of a file: it cannot tell by itself (it takes any
    /// two stores), and between nested places a key it deletes from the destination can
    /// be an object of the source under another key.
    pub fn check_distinct(&self, names: &[&str]) -> Result<()> {
        place::check_apart(&self.origin, &self.stores, names).map_err(|e| {
            let secrets: Vec<&str> = self
                .stores
                .values()
                .flat_map(StoreConfig::secrets)
                .collect();
            scrub_config_error(e, &secrets)
        })
    }

    /// The requests the cloud stores this configuration opened have sent, by store name
    /// (and their estimated cost, for stores with `prices`): see [`crate::requests`].
    pub fn requests(&self) -> &crate::requests::Requests {
        &self.requests
    }

    /// Build the default store (see [`Config::default_name`]).
    pub fn open_default(&self) -> Result<Arc<dyn ObjectStore>> {
        self.open(self.default_name()?)
    }
}

#[derive(Clone, Copy)]
enum Format {
    Toml,
    Json,
}

/// Every store a composite store names exists, and no store contains itself. A depth-first
/// walk that visits each store once (`done`), so a file whose composites share members
/// is checked in time linear in its size, not once per path.
fn check_references(origin: &str, stores: &BTreeMap<String, StoreConfig>) -> Result<()> {
    fn visit<'a>(
        origin: &str,
        stores: &'a BTreeMap<String, StoreConfig>,
        name: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::HashSet<&'a str>,
    ) -> Result<()> {
        if done.contains(name) {
            return Ok(());
        }
        let references: Vec<(String, &str)> = stores
            .get(name)
            .map(|config| config.provider_ref().members())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| match m.store {
                MemberStore::Named(store) => Some((m.key(), store.as_str())),
                MemberStore::Inline(_) => None,
            })
            .collect();
        path.push(name);
        for (key, member) in references {
            if !stores.contains_key(member) {
                return Err(ConfigError::new(
                    origin,
                    format!(
                        "`{member}` is not a store in this file; {}",
                        names_hint(stores)
                    ),
                )
                .store(name)
                .key(key)
                .into());
            }
            if path.contains(&member) {
                let cycle = path.join(" -> ");
                return Err(ConfigError::new(
                    origin,
                    format!("stores contain each other: {cycle} -> {member}"),
                )
                .store(name)
                .key(key)
                .into());
            }
            visit(origin, stores, member, path, done)?;
        }
        path.pop();
        done.insert(name);
        Ok(())
    }
    let mut done = std::collections::HashSet::new();
    for name in stores.keys() {
        visit(origin, stores, name, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

fn names_hint<V>(stores: &BTreeMap<String, V>) -> String {
    let names: Vec<_> = stores.keys().map(|n| format!("`{n}`")).collect();
    format!("the stores are: {}", names.join(", "))
}

/// Refuse `nan` and `inf` anywhere in TOML `text` (valid TOML floats): a store's table
/// passes through JSON values, which hold them as null, so `requests_per_second = nan`
/// would read as no limit at all, and no range check would see it.
fn refuse_non_finite(text: &str, origin: &str) -> Result<()> {
    fn walk(value: &toml::Value, path: &str) -> Option<(String, f64)> {
        let at = |key: &str| match path {
            "" => key.to_string(),
            path => format!("{path}.{key}"),
        };
        match value {
            toml::Value::Float(x) if !x.is_finite() => Some((path.to_string(), *x)),
            toml::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            toml::Value::Table(table) => table.iter().find_map(|(k, v)| walk(v, &at(k))),
            _ => None,
        }
    }
    // Only a file that parsed already gets here: `text` is valid TOML.
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Ok(());
    };
    // Only stores hold numbers (`RawFile` refused any other top-level key).
    let Some(toml::Value::Table(stores)) = table.get("stores") else {
        return Ok(());
    };
    let Some((store, (key, value))) = stores
        .iter()
        .find_map(|(store, v)| Some((store, walk(v, "")?)))
    else {
        return Ok(());
    };
    let error = ConfigError::new(
        origin,
        format!("expected a finite number, found {value} (`nan` and `inf` are never accepted)"),
    )
    .store(store)
    .key(key);
    Err(error.into())
}

/// `error` (a configuration error about a store of `stores`) saying ``the value from
/// `${VAR}` `` where it would quote a value the store's references gave its key.
fn describe_config_error(error: Error, stores: &BTreeMap<String, StoreConfig>) -> Error {
    match error {
        Error::Config(mut config) => {
            let store = config.store.as_ref().and_then(|name| stores.get(name));
            if let (Some(store), Some(key)) = (store, &config.key) {
                config.message = store.substituted().describe(key, &config.message);
            }
            Error::Config(config)
        }
        other => other,
    }
}

/// `error` (a configuration error) with any part of `secrets` cut from its message.
fn scrub_config_error(error: Error, secrets: &[&str]) -> Error {
    match error {
        Error::Config(mut config) => {
            if let Some(message) = secret::scrub(&config.message, secrets) {
                config.message = message;
            }
            Error::Config(config)
        }
        other => other,
    }
}

/// 1-based line and column of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(text: &str, env: Lookup<'_>) -> Result<Config> {
        Config::parse(text, Format::Toml, "stores.toml", Path::new("/base"), env)
    }

    #[test]
    #[cfg(feature = "aws")]
    fn interpolates_from_the_given_environment() {
        let env = |name: &str| (name == "BUCKET").then(|| "from-env".to_string());
        let config = parse_with(
            "[stores.a]\nprovider = \"s3\"\nbucket = \"${BUCKET}\"\nregion = \"${REGION:-eu-west-1}\"\n",
            &env,
        )
        .unwrap();
        let ProviderConfig::S3(s3) = &config.get("a").unwrap().kind else {
            panic!("expected s3")
        };
        assert_eq!(s3.bucket, "from-env");
        assert_eq!(s3.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn missing_variable_names_file_store_key_and_variable() {
        let env = |_: &str| None;
        let err = parse_with(
            "[stores.a]\nprovider = \"s3\"\nbucket = \"b\"\nsecret_access_key = \"${S3_SECRET}\"\n",
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("stores.toml: store `a`, key `secret_access_key`:"),
            "{err}"
        );
        assert!(err.contains("`S3_SECRET` is not set"), "{err}");
    }

    #[test]
    fn relative_local_root_resolves_against_the_file() {
        let env = |_: &str| None;
        let config =
            parse_with("[stores.l]\nprovider = \"local\"\nroot = \"data\"\n", &env).unwrap();
        assert_eq!(
            config.get("l").unwrap(),
            &StoreConfig::from(LocalConfig::new("/base/data"))
        );
    }

    #[test]
    fn relative_roots_of_inline_members_resolve_against_the_file_at_any_depth() {
        let env = |_: &str| None;
        let config = parse_with(
            "[stores.s]\nprovider = \"sharded\"\nmembers = [\n\
             { name = \"x\", store = { provider = \"local\", root = \"x\" } },\n\
             { name = \"r\", store = { provider = \"replicated\", members = [\n\
               { name = \"y\", store = { provider = \"local\", root = \"y\" } }] } }]\n",
            &env,
        )
        .unwrap();
        let ProviderConfig::Sharded(sharded) = &config.get("s").unwrap().kind else {
            panic!("expected sharded")
        };
        let inline = |store: &MemberStore| match store {
            MemberStore::Inline(config) => (**config).clone(),
            MemberStore::Named(name) => panic!("{name} is not inline"),
        };
        assert_eq!(
            inline(&sharded.members[0].store),
            StoreConfig::from(LocalConfig::new("/base/x"))
        );
        let ProviderConfig::Replicated(replicated) = inline(&sharded.members[1].store).kind else {
            panic!("expected replicated")
        };
        assert_eq!(
            inline(&replicated.members[0].store),
            StoreConfig::from(LocalConfig::new("/base/y"))
        );
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
