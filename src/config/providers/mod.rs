//! The registry: every kind of store a configuration can name (`provider = "..."`), each
//! in one file, registered by one line of the [`registry!`] call below.
//!
//! A provider's file holds everything about it: its keys (a serde struct with
//! `deny_unknown_fields`), its URL schemes, its validation, where it points (its
//! [`Place`]) and how it is built; the [`Provider`] trait and a [`Registration`] tie them to the
//! rest. Nothing outside this folder names a provider. Adding one (say `provider = "hdfs"`)
//! is a file `hdfs.rs` with `HdfsConfig`, `impl Provider for HdfsConfig` and
//! `static ENTRY`, and the line `Hdfs(hdfs::HdfsConfig)` below.
//!
//! The composite stores (`sharded`, `replicated`) are entries too: their keys are parsed
//! the same way, and their members are reported through [`Provider::members`] so that
//! references, places and secrets are walked by one piece of code for both.

pub(crate) use super::keys::keys_of;
use super::member::MemberStore;
use super::place::Place;
use super::{
    check_endpoint, BuildError, KeyError, Options, Resolve, RetrySettings, Secret, StoreConfig,
};
use object_store::ObjectStore;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;

/// Whether `options` sets one of `names` (object_store option names, compared without
/// regard to case).
fn sets_option(options: &Options, names: &[&str]) -> bool {
    options
        .0
        .keys()
        .any(|key| names.iter().any(|name| key.eq_ignore_ascii_case(name)))
}

/// Registers the providers: declares each file's module, re-exports its config type,
/// and generates [`ProviderConfig`] (one variant each), `From` for each config type (into
/// it and into [`StoreConfig`]), and the dispatch to [`Provider`].
macro_rules! registry {
    ($( $(#[$doc:meta])* $variant:ident($module:ident::$config:ident), )*) => {
        $( mod $module; pub use self::$module::$config; )*

        /// What a store is: its provider's configuration, whichever the provider (the
        /// [`StoreConfig::kind`] of a store).
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum ProviderConfig {
            $( $(#[$doc])* $variant($config), )*
        }

        /// Every provider, in the order errors list them.
        pub(crate) static ENTRIES: &[&Registration] = &[ $( &$module::ENTRY, )* ];

        impl ProviderConfig {
            /// The provider behind this configuration.
            pub(crate) fn provider_ref(&self) -> &dyn Provider {
                match self { $( Self::$variant(c) => c, )* }
            }

            pub(crate) fn provider_mut(&mut self) -> &mut dyn Provider {
                match self { $( Self::$variant(c) => c, )* }
            }
        }

        $(
            impl From<$config> for ProviderConfig {
                fn from(config: $config) -> Self {
                    Self::$variant(config)
                }
            }

            impl From<$config> for StoreConfig {
                fn from(config: $config) -> Self {
                    ProviderConfig::$variant(config).into()
                }
            }
        )*
    };
}

/// A cloud provider's client (`$config`: its config, with `config_keys()` and `retry`):
/// its keys folded into `$builder::from_env()`, its retry settings, its requests counted
/// for store `$label` in `$requests`. The builders share method names, not a trait.
///
/// The environment may name an endpoint too (`$endpoints`: its keys, `$env`: the
/// variables): it gets the form check a configured one gets ([`endpoint_form`]) before
/// anything is sent to it or shows it.
///
/// [`endpoint_form`]: crate::config::endpoint_form
///
/// Its client trusts the authorities of `$config.ca_file`, else of the file the first set
/// variable of `$ca_variables` names ([`ca`]).
///
/// `$more` (optional) adds what a provider reads itself (S3: the AWS shared files) to the
/// builder, after the environment and the configuration.
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
macro_rules! cloud_client {
    ($config:expr, $label:expr, $requests:expr, $builder:ty, $endpoints:expr, $env:literal, $ca_variables:expr) => {
        cloud_client!(
            $config,
            $label,
            $requests,
            $builder,
            $endpoints,
            $env,
            $ca_variables,
            |b| { Ok::<_, KeyError>(b) }
        )
    };
    ($config:expr, $label:expr, $requests:expr, $builder:ty, $endpoints:expr, $env:literal, $ca_variables:expr, $more:expr) => {{
        let (builder, connector) = cloud_builder!(
            $config,
            $label,
            $requests,
            $builder,
            $endpoints,
            $env,
            $ca_variables,
            $more
        );
        Ok(builder.with_http_connector(connector).build()?)
    }};
}

/// What [`cloud_client!`] builds its client from: the builder, without its connector, and
/// the connector (which counts the requests for the label and trusts the `ca_file`), for
/// a caller that also sends requests of its own with them (`S3Config::billed`).
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
macro_rules! cloud_builder {
    ($config:expr, $label:expr, $requests:expr, $builder:ty, $endpoints:expr, $env:literal, $ca_variables:expr, $more:expr) => {{
        let builder = $config
            .config_keys()?
            .into_iter()
            .fold(<$builder>::from_env(), |b, (k, v)| b.with_config(k, v));
        let builder = $more(builder)?;
        for key in $endpoints {
            if let Some(endpoint) = builder.get_config_value(&key) {
                crate::config::endpoint_form(&endpoint).map_err(|message| {
                    KeyError::new(
                        "endpoint",
                        format!("the endpoint the environment gives ({}) {message}", $env),
                    )
                })?;
            }
        }
        let builder = match &$config.retry {
            Some(retry) => builder.with_retry(retry.to_retry_config()),
            None => builder,
        };
        let authorities = super::ca::authorities($config.ca_file.as_deref(), $ca_variables)?;
        (
            builder,
            super::ca::Trusting {
                authorities,
                inner: $requests.counting($label),
            },
        )
    }};
}

/// A store's `prefix` as the billed listings ask for it: without its outer `/`s and
/// with one after it (`logs/`), or empty for none.
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
fn billed_prefix(prefix: Option<&str>) -> String {
    match prefix.map(|p| p.trim_matches('/')) {
        Some(p) if !p.is_empty() => format!("{p}/"),
        _ => String::new(),
    }
}

/// The HTTP client options a builder holds (object_store keeps its `ClientOptions` to
/// itself): every key of `ClientConfigKey` that `value` gives, for requests a provider
/// sends beside its client's (`crate::billed`).
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
fn client_options(
    value: impl Fn(object_store::ClientConfigKey) -> Option<String>,
) -> object_store::ClientOptions {
    /// `ClientConfigKey`'s names (it has no list of its variants).
    const CLIENT_KEYS: [&str; 20] = [
        "allow_http",
        "allow_invalid_certificates",
        "disable_system_certificates",
        "connect_timeout",
        "default_content_type",
        "http1_only",
        "http2_only",
        "http2_keep_alive_interval",
        "http2_keep_alive_timeout",
        "http2_keep_alive_while_idle",
        "http2_max_frame_size",
        "pool_idle_timeout",
        "pool_max_idle_per_host",
        "proxy_url",
        "proxy_ca_certificate",
        "proxy_excludes",
        "randomize_addresses",
        "read_timeout",
        "timeout",
        "user_agent",
    ];
    CLIENT_KEYS
        .iter()
        .filter_map(|name| name.parse::<object_store::ClientConfigKey>().ok())
        .fold(
            object_store::ClientOptions::new(),
            |options, key| match value(key) {
                Some(v) => options.with_config(key, v),
                None => options,
            },
        )
}

#[cfg(feature = "aws")]
mod aws_process;
#[cfg(feature = "aws")]
mod aws_profile;
#[cfg(feature = "aws")]
mod aws_role;
mod azure_connection;
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
mod ca;
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
mod metadata;
mod s3_flavor;

// Types a provider defines besides its config, re-exported beside it.
pub use self::azure::AzureCredential;
pub use self::s3_flavor::{Flavor, ListOrder};

registry! {
    /// `provider = "s3"`
    S3(s3::S3Config),
    /// `provider = "gcs"`
    Gcs(gcs::GcsConfig),
    /// `provider = "azure"`
    Azure(azure::AzureConfig),
    /// `provider = "local"`
    Local(local::LocalConfig),
    /// `provider = "memory"`
    Memory(memory::MemoryConfig),
    /// `provider = "sharded"`
    Sharded(sharded::ShardedConfig),
    /// `provider = "replicated"`
    Replicated(replicated::ReplicatedConfig),
}

/// What stratus knows of a provider before it has a configuration of it.
pub(crate) struct Registration {
    /// The name in `provider = "..."`.
    pub name: &'static str,
    /// The URL schemes that name it (none: it has no URL form).
    pub schemes: &'static [&'static str],
    /// How its URL reads.
    pub url: UrlForm,
    /// The cargo feature it needs, if any, and whether this build has it.
    pub feature: Option<(&'static str, bool)>,
    /// Whether it is a composite store (its members are other stores).
    pub composite: bool,
    /// Whether its stores hold credentials (from the configuration or the environment):
    /// stratus wraps them in a `RedactedStore`.
    pub credentials: bool,
    /// Parse its table (without `provider`, after `${VAR}` interpolation).
    pub parse: fn(serde_json::Value) -> Result<ProviderConfig, KeyError>,
    /// Its keys, in the order they are declared.
    pub keys: fn() -> &'static [&'static str],
}

/// How a provider's URL reads.
#[derive(Clone, Copy)]
pub(crate) enum UrlForm {
    /// `scheme://BUCKET/PREFIX`: the host is this key.
    Bucket(&'static str),
    /// `scheme:///PATH`: the path (absolute) is this key; there is no host.
    Root(&'static str),
    /// `scheme://PREFIX`: host and path are the prefix.
    Prefix,
    /// No URL form.
    None,
}

/// Everything about a provider that needs its configuration.
pub(crate) trait Provider: Send + Sync {
    /// Its registry entry.
    fn entry(&self) -> &'static Registration;

    /// The key prefix that scopes the store, if any.
    fn prefix(&self) -> Option<&str> {
        None
    }

    /// Checks that need no network (what serde cannot say: value ranges, keys that
    /// exclude each other, object_store's option names).
    fn validate(&self) -> Result<(), KeyError> {
        Ok(())
    }

    /// Make relative paths relative to `base` (the config file's folder).
    fn resolve_paths(&mut self, _base: &Path) {}

    /// The secret values of this configuration (not its members'), which no error
    /// about it may repeat.
    fn secrets(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Secrets its client reads from outside the configuration (the environment, the AWS
    /// shared files), which no error of its store may repeat either.
    fn secrets_elsewhere(&self) -> Vec<String> {
        Vec::new()
    }

    /// Where the store points; `id` names it when nothing else can (a memory store is
    /// its own place). `None` for a composite: it is the places of its members.
    fn place(&self, id: &str) -> Option<Place>;

    /// Where its client will find credentials, as people read it (`keys in the config
    /// file`, `AWS profile ops`), from the configuration, the environment and the files
    /// it reads; never a secret. `None` where a store needs none.
    fn credentials(&self) -> Option<String> {
        None
    }

    /// Whether its listings from an offset come from the server in byte order, so that a
    /// scan may cut them into key ranges (`ScanOptions::key_ranges`). Not for local
    /// folders and S3 servers listed folder by folder, whose key-ordered layer reads a
    /// whole folder again for every offset, nor for composites.
    fn key_ranges(&self) -> bool {
        true
    }

    /// Whether its server is known to begin a listing at the offset asked
    /// (`ScanOptions::offsets_on_server`): S3 in byte order (`start-after`), GCS
    /// (`startOffset`), Azure on its own endpoint (`startFrom`; not Azurite, which
    /// ignores it). Not a store whose listing from an offset is filtered in the client.
    fn offsets_on_server(&self) -> bool {
        false
    }

    /// A composite's members (none for a provider).
    fn members(&self) -> Vec<MemberRef<'_>> {
        Vec::new()
    }

    /// A composite's members, to change (resolve paths of inline stores).
    fn members_mut(&mut self) -> Vec<&mut MemberStore> {
        Vec::new()
    }

    /// Build the store, after [`Self::validate`] passed (`label`: its name, for request
    /// accounting). Composites build the stores their members name with `resolve`;
    /// providers ignore it.
    fn build(
        &self,
        label: &str,
        resolve: &mut Resolve<'_>,
    ) -> Result<Arc<dyn ObjectStore>, BuildError>;

    /// What signs URLs for the store's objects, for providers that can (`None`: this one
    /// cannot). Unprefixed: the caller adds the prefix.
    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
    fn signer(
        &self,
        _label: &str,
        _requests: &crate::requests::Requests,
    ) -> Option<Result<Arc<dyn object_store::signer::Signer>, BuildError>> {
        None
    }

    /// What lists the versions and unfinished uploads of the store's objects, for
    /// providers that can ([`crate::billed`]; `None`: this one cannot). Under the store's
    /// prefix, its requests counted for `label`.
    fn billed(
        &self,
        _label: &str,
        _requests: &crate::requests::Requests,
    ) -> Option<Result<Arc<dyn crate::billed::Billed>, BuildError>> {
        None
    }

    /// The URL the store's objects are under, without its prefix (`s3://bucket`), for
    /// the registry; `None` for a provider without a URL form.
    fn url_base(&self) -> Option<String> {
        None
    }
}

/// One member of a composite store, as the registry walks it.
pub(crate) struct MemberRef<'a> {
    /// The list it is in (`members`, `previous`).
    pub list: &'static str,
    /// Its position in that list.
    pub index: usize,
    /// The member's name.
    pub name: &'a str,
    /// Its store.
    pub store: &'a MemberStore,
}

impl MemberRef<'_> {
    /// Its key in errors, by position (`members[0]`): a name can come from `${VAR}`,
    /// and a key path never repeats a value.
    pub(crate) fn key(&self) -> String {
        format!("{}[{}]", self.list, self.index)
    }
}

/// The entry of the provider named `name`.
pub(crate) fn entry(name: &str) -> Option<&'static Registration> {
    ENTRIES.iter().copied().find(|e| e.name == name)
}

/// The entry whose URLs have the scheme `scheme`.
pub(crate) fn entry_for_scheme(scheme: &str) -> Option<&'static Registration> {
    ENTRIES
        .iter()
        .copied()
        .find(|e| e.schemes.contains(&scheme))
}

/// The providers' names, for error messages: `s3, gcs, ...`.
pub(crate) fn names() -> String {
    let names: Vec<_> = ENTRIES.iter().map(|e| e.name).collect();
    names.join(", ")
}

/// The error for a provider this build of stratus lacks the feature of.
pub(crate) fn missing_feature(entry: &Registration) -> KeyError {
    let feature = entry.feature.map_or("?", |(feature, _)| feature);
    KeyError::new(
        "provider",
        format!(
            "stratus was built without the `{feature}` feature, which `{}` needs",
            entry.name
        ),
    )
}

/// What every cloud provider checks first: its retry settings, its request timeout
/// against them, then its endpoint's form.
pub(crate) fn check_remote(
    retry: Option<&RetrySettings>,
    options: &Options,
    endpoint: Option<&str>,
    allow_http: bool,
) -> Result<(), KeyError> {
    if let Some(retry) = retry {
        retry.validate()?;
    }
    RetrySettings::check_timeout(retry, options)?;
    check_endpoint(endpoint, allow_http)
}

/// [`Provider::secrets`] of a cloud provider: its secret keys that are set, and its
/// options whose names say they hold a credential.
pub(crate) fn secrets_of<'a>(keys: &[&'a Option<Secret>], options: &'a Options) -> Vec<&'a str> {
    let set = keys
        .iter()
        .filter_map(|key| key.as_ref().map(Secret::expose));
    set.chain(options.secrets()).collect()
}

/// [`Registration::parse`] for a provider whose table is its serde struct.
pub(crate) fn parse_as<T: DeserializeOwned + Into<ProviderConfig>>(
    value: serde_json::Value,
) -> Result<ProviderConfig, KeyError> {
    super::deserialize::<T>(value).map(Into::into)
}

/// Values of the environment variables named `prefix...` whose names say they hold a
/// secret ([`is_secret_key`](crate::config::secret::is_secret_key): `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AZURE_STORAGE_ACCOUNT_KEY`, ...): object_store's clients read them
/// (`from_env`), and a server may quote one back (S3 answers an invalid token with it).
#[cfg_attr(
    not(any(feature = "aws", feature = "gcp", feature = "azure")),
    allow(dead_code)
)]
pub(super) fn env_secrets(prefix: &str) -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let value = value.into_string().ok()?;
            (name.starts_with(prefix)
                && crate::config::secret::is_secret_key(&name)
                && !value.is_empty())
            .then_some(value)
        })
        .collect()
}

/// Credentials that go into a request's header or URL as they are, each refused when it
/// holds a control character: object_store's signers unwrap the header value they make
/// of one, so a line break copied with a token would panic the first request.
pub(crate) fn one_line_credentials(
    credentials: &[(&'static str, &Option<crate::config::Secret>)],
) -> Result<(), KeyError> {
    for (key, value) in credentials {
        if value
            .as_ref()
            .is_some_and(|v| v.expose().chars().any(char::is_control))
        {
            return Err(KeyError::new(
                *key,
                "holds a control character (a line break copied with it?): a credential is \
                 one line of printable characters",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_is_registered_once_by_name_and_by_scheme() {
        for (i, a) in ENTRIES.iter().enumerate() {
            assert!(entry(a.name).is_some_and(|e| std::ptr::eq(e, *a)));
            for b in &ENTRIES[i + 1..] {
                assert_ne!(a.name, b.name);
                assert!(
                    a.schemes.iter().all(|s| !b.schemes.contains(s)),
                    "{}",
                    a.name
                );
            }
            assert_eq!(a.schemes.is_empty(), matches!(a.url, UrlForm::None));
            assert!(!(a.keys)().is_empty(), "{}", a.name);
        }
    }

    #[test]
    fn keys_come_from_the_struct() {
        let keys = (entry("s3").unwrap().keys)();
        assert!(keys.contains(&"bucket") && keys.contains(&"list_order"));
        assert!(!keys.contains(&"provider"));
    }
}
