//! [`StoreConfig`]: one store's configuration, whichever its provider, and what is done
//! with it (check, build) through the provider registry.

use super::providers::{self, Provider, ProviderConfig};
use super::settings::StoreSettings;
use super::{place, BuildError, KeyError, Resolve};
use crate::error::Result;
use crate::layer::{PrefixedStore, RedactedStore};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::path::Path;
use std::sync::Arc;

/// The configuration of one store: what it is (its provider's configuration) and the
/// settings every store has (limits, deadline, metrics, tracing). Build one from a file
/// ([`Config`](crate::Config)), a URL ([`parse_url`](crate::config::parse_url)), or in code
/// from a provider's config (`S3Config::new("bucket").into()`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StoreConfig {
    /// What the store is: its provider's configuration.
    pub kind: ProviderConfig,
    /// How it is used: the settings every store has.
    pub settings: StoreSettings,
    /// The values `${VAR}` references put into it: cut from its errors like secrets.
    substituted: super::secret::Substituted,
}

impl From<ProviderConfig> for StoreConfig {
    fn from(kind: ProviderConfig) -> Self {
        Self {
            kind,
            settings: StoreSettings::default(),
            substituted: Default::default(),
        }
    }
}

impl StoreConfig {
    /// This configuration with `settings`.
    pub fn with_settings(mut self, settings: StoreSettings) -> Self {
        self.settings = settings;
        self
    }

    pub(crate) fn provider_ref(&self) -> &dyn Provider {
        self.kind.provider_ref()
    }

    pub(crate) fn provider_mut(&mut self) -> &mut dyn Provider {
        self.kind.provider_mut()
    }

    /// The provider's name as written in configuration.
    pub fn provider(&self) -> &'static str {
        self.provider_ref().entry().name
    }

    /// The key prefix that scopes the store, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.provider_ref()
            .prefix()
            .filter(|p| !p.trim_matches('/').is_empty())
    }

    /// Where a provider's store points, `id` naming it when nothing else can;
    /// `None` for a composite (the places of its members: [`place`]).
    pub(crate) fn place(&self, id: &str) -> Option<place::Place> {
        Some(self.provider_ref().place(id)?.below(self.prefix()))
    }

    /// Whether a scan of this store may cut its listings into key ranges
    /// ([`ScanOptions::key_ranges`](crate::inventory::ScanOptions::key_ranges)): its
    /// listings from an offset come from the server in byte order. False for local
    /// folders, S3 stores with `list_order = "sorted"` and composite stores, whose
    /// listings from an offset read whole folders again.
    pub fn key_ranges(&self) -> bool {
        self.provider_ref().key_ranges()
    }

    /// Whether this store's server is known to begin a listing at the offset asked
    /// ([`ScanOptions::offsets_on_server`](crate::inventory::ScanOptions::offsets_on_server)):
    /// S3 stores listed in byte order, GCS, and Azure on its own endpoint (not the
    /// emulator, not an endpoint set in the config or the environment).
    pub fn offsets_on_server(&self) -> bool {
        self.provider_ref().offsets_on_server()
    }

    /// Where a provider's store finds its credentials ([`Config::credentials`](super::Config::credentials)).
    pub(crate) fn credentials(&self) -> Option<String> {
        let text = self.provider_ref().credentials()?;
        Some(super::secret::scrub(&text, &self.secrets()).unwrap_or(text))
    }

    /// The secret values of this store's configuration (its inline members' included),
    /// and every value a `${VAR}` reference put into it: what no error about it may
    /// repeat.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let provider = self.provider_ref();
        let mut all = provider.secrets();
        all.extend(self.substituted.values());
        for member in provider.members() {
            if let super::MemberStore::Inline(inline) = member.store {
                all.extend(inline.secrets());
            }
        }
        // A key document's or SAS token's secret parts, not its public ones.
        all.into_iter()
            .flat_map(super::secret::secret_parts)
            .collect()
    }

    /// Check what can be checked without the network. [`Config`](super::Config) does
    /// this on load; call it yourself for a `StoreConfig` built in code.
    pub fn validate(&self) -> Result<()> {
        self.check().map_err(|e| {
            e.described(&self.substituted)
                .scrubbed(&self.secrets())
                .into_config_error("configuration", self.provider())
                .into()
        })
    }

    /// Build the store. A `StoreConfig` made in code is validated first. Members of a
    /// composite store that name other stores of a file cannot be built from here:
    /// [`Config::open`](super::Config::open) can.
    pub fn build(&self) -> Result<Arc<dyn ObjectStore>> {
        self.build_counted(&crate::requests::Requests::new())
    }

    /// [`Self::build`], its requests counted in `requests` under the provider's name
    /// (`s3`, `gcs`, `azure`).
    pub fn build_counted(
        &self,
        requests: &crate::requests::Requests,
    ) -> Result<Arc<dyn ObjectStore>> {
        self.validate()?;
        let mut named = |name: &str| -> Result<Arc<dyn ObjectStore>, BuildError> {
            Err(KeyError::new(
                "members",
                format!(
                    "member store `{name}` is another store of a file: open this store \
                     through its Config (or define the member inline)"
                ),
            )
            .into())
        };
        self.build_labelled(self.provider(), &mut Resolve::new(requests, &mut named))
            .map_err(|e| e.into_error("configuration", self.provider(), self))
    }

    /// What lists the store's versions and unfinished uploads ([`crate::billed`]; S3
    /// only), its requests counted in `requests` under the provider's name, as
    /// [`Self::build_counted`]'s are.
    pub fn billed_counted(
        &self,
        requests: &crate::requests::Requests,
    ) -> Result<Arc<dyn crate::billed::Billed>> {
        self.validate()?;
        self.billed_labelled(self.provider(), requests)
            .map_err(|e| e.into_error("configuration", self.provider(), self))
    }

    /// The region S3 says this `s3` store's bucket is in: one unsigned HEAD of the bucket
    /// (S3 answers it from any region, allowed or not), counted in `requests`. `None` for
    /// other stores and when the server does not say (S3-compatible servers rarely do).
    /// What a redirect from a bucket of another region is explained with: object_store
    /// drops the header that names it.
    #[cfg(feature = "aws")]
    pub async fn bucket_region(
        &self,
        requests: &crate::requests::Requests,
    ) -> Result<Option<String>> {
        self.bucket_region_labelled(self.provider(), requests)
            .await
            .map_err(|e| e.into_error("configuration", self.provider(), self))
    }

    #[cfg(feature = "aws")]
    pub(crate) async fn bucket_region_labelled(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<Option<String>, BuildError> {
        match &self.kind {
            ProviderConfig::S3(s3) => s3.bucket_region(label, requests).await,
            _ => Ok(None),
        }
    }

    /// For an `s3` store that nothing gives a region (no `region`, endpoint or flavor,
    /// no `AWS_REGION` / `AWS_DEFAULT_REGION`, no region in its AWS profile; its client
    /// would sign for `us-east-1`): its bucket's region asked of S3
    /// ([`Self::bucket_region`], one request) and set as its `region`. The region set;
    /// `None` when the store needs none or the server does not say.
    #[cfg(feature = "aws")]
    pub async fn resolve_region(
        &mut self,
        requests: &crate::requests::Requests,
    ) -> Result<Option<String>> {
        let label = self.provider();
        match self.resolve_region_labelled(label, requests).await {
            Ok(found) => Ok(found),
            Err(e) => Err(e.into_error("configuration", self.provider(), self)),
        }
    }

    #[cfg(feature = "aws")]
    pub(crate) async fn resolve_region_labelled(
        &mut self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<Option<String>, BuildError> {
        let ProviderConfig::S3(s3) = &mut self.kind else {
            return Ok(None);
        };
        if !s3.region_unknown() {
            return Ok(None);
        }
        let found = s3.bucket_region(label, requests).await?;
        if let Some(region) = &found {
            s3.region = Some(region.clone());
        }
        Ok(found)
    }

    /// [`Self::check_own`], and each inline member's [`Self::check`].
    pub(crate) fn check(&self) -> Result<(), KeyError> {
        self.check_own()?;
        for member in self.provider_ref().members() {
            if let super::MemberStore::Inline(inline) = member.store {
                inline.check().map_err(|e| {
                    KeyError::new(
                        format!("{}.store.{}", member.key(), e.key).trim_end_matches('.'),
                        e.message,
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The feature, the prefix and the provider's own checks, not its members'.
    fn check_own(&self) -> Result<(), KeyError> {
        let provider = self.provider_ref();
        if let Some((_, false)) = provider.entry().feature {
            return Err(providers::missing_feature(provider.entry()));
        }
        self.prefix_path()?;
        self.settings.check()?;
        provider.validate()
    }

    /// What lists the store's versions and unfinished uploads ([`crate::billed`]), for
    /// the providers that can; `label` names the store in request accounting.
    pub(crate) fn billed_labelled(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<Arc<dyn crate::billed::Billed>, BuildError> {
        let billed = self
            .provider_ref()
            .billed(label, requests)
            .unwrap_or_else(|| {
                Err(KeyError::new(
                    "provider",
                    format!(
                        "stratus lists versions and unfinished uploads of `s3`, `gcs` and \
                         `azure` stores only, not of `{}` stores",
                        self.provider()
                    ),
                )
                .into())
            })?;
        // A server may echo a credential in the refusal the errors quote.
        let secrets = self.secrets().into_iter().map(String::from).collect();
        Ok(crate::billed::redact::Redacted::wrap(billed, secrets))
    }

    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
    /// What signs URLs for the store's objects (S3, GCS, Azure), under its prefix:
    /// object_store's `Signer` of the provider's client, which the layers a store is
    /// built with do not expose. `label` names the store in request accounting.
    pub(crate) fn signer_labelled(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<Arc<dyn object_store::signer::Signer>, BuildError> {
        let signer = self
            .provider_ref()
            .signer(label, requests)
            .unwrap_or_else(|| {
                Err(KeyError::new(
                    "provider",
                    format!("`{}` stores have no signed URLs", self.provider()),
                )
                .into())
            })?;
        let prefix = match self.prefix() {
            Some(_) => Some(self.prefix_path()?),
            None => None,
        };
        Ok(Arc::new(RedactedSigner {
            inner: signer,
            store: label.to_string(),
            provider: self.provider(),
            prefix,
            secrets: self.all_secrets(),
        }))
    }

    /// The `prefix` key as a path, every character as written (`café` is the key
    /// `café`, not `caf%C3%A9`): [`crate::key`].
    fn prefix_path(&self) -> Result<ObjectPath, KeyError> {
        let prefix = self.prefix().unwrap_or_default();
        crate::key::check(prefix, false).map_err(|message| {
            KeyError::new(
                "prefix",
                format!("not a valid object key prefix: {message}"),
            )
        })
    }

    /// The URL this store's objects are under (`s3://bucket/prefix`), for the registry.
    pub(crate) fn url(&self) -> Option<String> {
        let base = self.provider_ref().url_base()?;
        Some(match self.prefix() {
            Some(prefix) => format!("{base}/{}", prefix.trim_matches('/')),
            None => base,
        })
    }

    /// [`Self::build_with`], with the settings applied, `label` naming the store in
    /// metrics and spans.
    pub(crate) fn build_labelled(
        &self,
        label: &str,
        resolve: &mut Resolve<'_>,
    ) -> Result<Arc<dyn ObjectStore>, BuildError> {
        if let Some(prices) = &self.settings.prices {
            resolve.requests.set_prices(label, prices);
        }
        Ok(self.settings.apply(label, self.build_with(label, resolve)?))
    }

    /// Build, after [`Self::check`] passed, resolving the stores a composite names with
    /// `resolve`. A provider's store is scoped to its prefix and, when it holds
    /// credentials, wrapped so that neither its `Debug` nor its errors show them; a
    /// composite's members are built (and wrapped) each by themselves.
    pub(crate) fn build_with(
        &self,
        label: &str,
        resolve: &mut Resolve<'_>,
    ) -> Result<Arc<dyn ObjectStore>, BuildError> {
        let provider = self.provider_ref();
        let store = provider.build(label, resolve)?;
        if provider.entry().composite {
            return Ok(store);
        }
        let store: Arc<dyn ObjectStore> = match self.prefix() {
            Some(_) => PrefixedStore::wrap(store, self.prefix_path()?),
            None => store,
        };
        if !provider.entry().credentials {
            return Ok(store);
        }
        Ok(RedactedStore::wrap(store, self.all_secrets()))
    }

    /// What its store's errors and `Display` must not show: the configuration's secrets
    /// and those its client reads from elsewhere.
    fn all_secrets(&self) -> Vec<String> {
        let mut all: Vec<String> = self.secrets().into_iter().map(str::to_owned).collect();
        all.extend(self.provider_ref().secrets_elsewhere());
        all
    }

    /// Parse one store's table (after interpolation), checked (its inline members were
    /// checked as they were parsed). Relative paths stay as written: see
    /// [`Self::resolve_paths`].
    pub(crate) fn from_value(mut value: serde_json::Value) -> Result<Self, KeyError> {
        let found = super::kind(&value);
        let table = value
            .as_object_mut()
            .ok_or_else(|| KeyError::new("", format!("expected a table of keys, found {found}")))?;
        let entry = match table.remove("provider") {
            Some(serde_json::Value::String(name)) => providers::entry(&name).ok_or_else(|| {
                KeyError::new(
                    "provider",
                    format!(
                        "unknown provider `{name}`; expected one of {}",
                        providers::names()
                    ),
                )
            })?,
            Some(other) => {
                return Err(KeyError::new(
                    "provider",
                    format!(
                        "expected a string (one of {}), found {}",
                        providers::names(),
                        super::kind(&other)
                    ),
                ))
            }
            None => {
                return Err(KeyError::new(
                    "provider",
                    format!("missing; expected one of {}", providers::names()),
                ))
            }
        };
        if let Some((_, false)) = entry.feature {
            return Err(providers::missing_feature(entry));
        }
        let settings = StoreSettings::take(table)?;
        let kind = (entry.parse)(value).map_err(|mut e| {
            if e.message.starts_with("unknown field") {
                e.message.push_str(&format!(
                    ", or a setting every store has: {}",
                    super::settings::KEYS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            e
        })?;
        let config = Self {
            kind,
            settings,
            substituted: Default::default(),
        };
        config.check_own()?;
        Ok(config)
    }

    /// Record the values `${VAR}` references put into this store's table.
    pub(crate) fn set_substituted(&mut self, substituted: super::secret::Substituted) {
        self.substituted = substituted;
    }

    /// The values `${VAR}` references put into this store's table.
    pub(crate) fn substituted(&self) -> &super::secret::Substituted {
        &self.substituted
    }

    /// Make relative paths (a local root, a key file) relative to `base`, the config
    /// file's folder, in inline members too.
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        let provider = self.provider_mut();
        provider.resolve_paths(base);
        for member in provider.members_mut() {
            if let super::MemberStore::Inline(inline) = member {
                inline.resolve_paths(base);
            }
        }
    }
}

/// The longest a signed URL may last (7 days): S3 refuses a longer `X-Amz-Expires`
/// and GCS a longer `X-Goog-Expires` when the URL is used. Azure has no such limit for a
/// SAS signed with the account key, but a user-delegation SAS (a `bearer_token`
/// credential) cannot outlive its delegation key, which Azure grants for 7 days at
/// most, and an account-key SAS can only be revoked by rotating the account's key: so
/// stratus holds Azure to the same 7 days (and object_store panicked on an expiry past
/// the calendar's end).
pub const MAX_SIGNED_URL_EXPIRY: std::time::Duration =
    std::time::Duration::from_secs(7 * 24 * 3600);

/// What [`Config::signer`](super::Config::signer) returns: the provider's signer, its
/// paths under the store's `prefix`, its expiry checked (1 s to
/// [`MAX_SIGNED_URL_EXPIRY`]) before object_store sees it, its `Debug` naming the store
/// only (object_store's signers print their credentials, a SAS or a bearer token
/// whole) and its errors scrubbed of the store's secrets, like
/// [`RedactedStore`](crate::layer::RedactedStore).
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
struct RedactedSigner {
    inner: Arc<dyn object_store::signer::Signer>,
    store: String,
    provider: &'static str,
    prefix: Option<ObjectPath>,
    secrets: Vec<String>,
}

#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
impl std::fmt::Debug for RedactedSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactedSigner")
            .field("store", &self.store)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
#[async_trait::async_trait]
impl object_store::signer::Signer for RedactedSigner {
    async fn signed_url(
        &self,
        method: object_store::signer::Method,
        path: &ObjectPath,
        expires_in: std::time::Duration,
    ) -> object_store::Result<object_store::signer::Url> {
        if expires_in < std::time::Duration::from_secs(1) || expires_in > MAX_SIGNED_URL_EXPIRY {
            return Err(object_store::Error::Generic {
                store: "stratus",
                source: format!(
                    "store `{}` ({}): a signed URL's expiry must be from 1 s to 7 days \
                     (604800 s), not {:?}: the most S3 and GCS accept, and what stratus holds \
                     Azure to (stratus::config::MAX_SIGNED_URL_EXPIRY)",
                    self.store, self.provider, expires_in
                )
                .into(),
            });
        }
        let full: ObjectPath = match &self.prefix {
            Some(prefix) => prefix.parts().chain(path.parts()).collect(),
            None => path.clone(),
        };
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        self.inner
            .signed_url(method, &full, expires_in)
            .await
            .map_err(|e| super::scrub_error(e, &secrets))
    }
}
