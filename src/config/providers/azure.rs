//! `provider = "azure"`: Azure Blob Storage (and Azurite).

use super::{check_remote, secrets_of, Registration, Provider, UrlForm};
use crate::config::place::{endpoint_space, Place};
use crate::config::{BuildError, KeyError, Options, Resolve, RetrySettings, Secret};
use object_store::ObjectStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

pub(super) static ENTRY: Registration = Registration {
    name: "azure",
    schemes: &["az", "azure", "abfs", "abfss"],
    url: UrlForm::Bucket("container"),
    feature: Some(("azure", cfg!(feature = "azure"))),
    composite: false,
    credentials: true,
    parse: super::parse_as::<AzureConfig>,
    keys: super::keys_of::<AzureConfig>,
};

/// Which credential an `azure` store uses (`credential = "..."`), as object_store's
/// `azure_credential_type` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AzureCredential {
    /// The first the keys and the environment give, else managed identity.
    Auto,
    /// `access_key` (or a connection string's, or `AZURE_STORAGE_KEY`).
    AccessKey,
    /// `sas_token`.
    SasToken,
    /// `bearer_token`.
    BearerToken,
    /// A service principal's secret (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_SECRET`, or the `options` of those names).
    ClientSecret,
    /// Workload identity (`AZURE_FEDERATED_TOKEN_FILE`, as AKS sets it).
    WorkloadIdentity,
    /// The Azure CLI's login (`az login`).
    Cli,
    /// The managed identity of the VM, App Service or container (the metadata service).
    ManagedIdentity,
}

impl AzureCredential {
    /// object_store's name for it.
    #[cfg_attr(not(feature = "azure"), allow(dead_code))]
    fn object_store_name(self) -> &'static str {
        match self {
            AzureCredential::Auto => "auto",
            AzureCredential::AccessKey => "access_key",
            AzureCredential::SasToken => "sas_token",
            AzureCredential::BearerToken => "bearer_token",
            AzureCredential::ClientSecret => "client_secret",
            AzureCredential::WorkloadIdentity => "workload_identity",
            AzureCredential::Cli => "azure_cli",
            AzureCredential::ManagedIdentity => "managed_identity",
        }
    }
}

/// An Azure Blob Storage container.
///
/// With `use_emulator = true` the account and key default to Azurite's well-known
/// development ones and the endpoint is `http://127.0.0.1:10000` unless the environment
/// variable `AZURITE_BLOB_STORAGE_URL` says otherwise (object_store reads it; an
/// `endpoint` key is refused in emulator mode because object_store would ignore it).
/// Left-out keys also come from the `AZURE_*` environment
/// (`MicrosoftAzureBuilder::from_env`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AzureConfig {
    /// Container name.
    pub container: String,
    /// Storage account name.
    #[serde(default)]
    pub account: Option<String>,
    /// Key prefix that scopes the store.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Storage account access key.
    #[serde(default)]
    pub access_key: Option<Secret>,
    /// A shared access signature (SAS), as its query string.
    #[serde(default)]
    pub sas_token: Option<Secret>,
    /// A static OAuth bearer token.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// An Azure Storage connection string (`AccountName=...;AccountKey=...;...`, as the
    /// portal, `az` and the SDKs give it), instead of `account`, `access_key` /
    /// `sas_token` and `endpoint`. Without it and those keys,
    /// `AZURE_STORAGE_CONNECTION_STRING` is read.
    #[serde(default)]
    pub connection_string: Option<Secret>,
    /// Talk to Azurite with its development account.
    #[serde(default)]
    pub use_emulator: bool,
    /// Account URL, e.g. `https://myaccount.blob.core.windows.net` (the default).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Permit a plain `http://` endpoint.
    #[serde(default)]
    pub allow_http: bool,
    /// A PEM file of certificate authorities to trust besides the system's (a private
    /// CA); relative to the config file.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Send unsigned requests (public containers).
    #[serde(default)]
    pub skip_signature: bool,
    /// Which credential to use, when not the first the keys and the environment give
    /// (`auto`, the default): `cli` (az login), `managed-identity`, `workload-identity`,
    /// `client-secret`, `access-key`, `sas-token`, `bearer-token`.
    #[serde(default)]
    pub credential: Option<AzureCredential>,
    /// Further object_store options (`AzureConfigKey` names and aliases).
    #[serde(default)]
    pub options: Options,
    /// Retry and backoff settings (object_store has no config keys for them).
    #[serde(default)]
    pub retry: Option<RetrySettings>,
}

impl Provider for AzureConfig {
    fn entry(&self) -> &'static Registration {
        &ENTRY
    }

    /// On Azure's own blob endpoint (`https://ACCOUNT.blob.core.windows.net`), which
    /// begins a listing at `startFrom`. Not with the emulator (object_store lists
    /// Azurite from the start and filters in the client: Azurite ignores `startFrom`),
    /// nor with any other endpoint (one of the config, of the environment, Fabric's),
    /// whose server is not known.
    #[cfg(feature = "azure")]
    fn offsets_on_server(&self) -> bool {
        use object_store::azure::{AzureConfigKey as K, MicrosoftAzureBuilder};
        let Ok(keys) = self.checked().and_then(|resolved| resolved.config_keys()) else {
            return false;
        };
        // As the client is built, without the credential sources (they may ask the
        // network): only where it points matters here.
        let builder = keys
            .into_iter()
            .fold(MicrosoftAzureBuilder::from_env(), |b, (k, v)| b.with_config(k, v));
        let set = |k: K| {
            builder
                .get_config_value(&k)
                .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "false" | "0"))
        };
        !set(K::UseEmulator) && !set(K::Endpoint) && !set(K::UseFabricEndpoint)
    }

    fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(path) = &mut self.ca_file {
            *path = crate::config::resolve_path(base, path);
        }
    }

    fn validate(&self) -> Result<(), KeyError> {
        if self.connection_string.is_some() && self.sets_location_or_credentials() {
            return Err(KeyError::new(
                "connection_string",
                "give either `connection_string` or `account`, `access_key`, `sas_token`, \
                 `bearer_token`, `endpoint` and `use_emulator`, not both",
            ));
        }
        let resolved = self.resolved()?;
        resolved.check().map_err(|e| {
            // What a connection string gave is named by where it came from.
            if e.key == "endpoint" && resolved.endpoint != self.endpoint {
                KeyError::new(
                    "connection_string",
                    format!("its blob endpoint {}", e.message.trim_start_matches("a ")),
                )
            } else {
                e
            }
        })
    }

    /// Its keys' secrets and a connection string's key or signature (its account and
    /// endpoint name the store's place, and are shown).
    fn secrets(&self) -> Vec<&str> {
        let mut all = secrets_of(
            &[&self.access_key, &self.sas_token, &self.bearer_token],
            &self.options,
        );
        if let Some(text) = &self.connection_string {
            all.extend(super::azure_connection::secret_parts(text.expose()));
        }
        all
    }

    /// The environment's `AZURE_*` secrets, which its client reads, and the key or
    /// signature of a connection string there (`AZURE_STORAGE_CONNECTION_STRING` is not
    /// named as a secret: its account and endpoint name the place and are shown).
    fn secrets_elsewhere(&self) -> Vec<String> {
        let mut all = super::env_secrets("AZURE_");
        if let Some(text) = crate::config::env_value("AZURE_STORAGE_CONNECTION_STRING") {
            all.extend(
                super::azure_connection::secret_parts(&text)
                    .into_iter()
                    .map(str::to_string),
            );
        }
        all
    }

    /// Roughly in the order object_store's builder takes them.
    fn credentials(&self) -> Option<String> {
        let this = self.resolved().unwrap_or(std::borrow::Cow::Borrowed(self));
        fn env(names: &[&'static str]) -> Option<&'static str> {
            names
                .iter()
                .find(|n| crate::config::env_value(n).is_some())
                .copied()
        }
        let option = |names: &[&str]| super::sets_option(&this.options, names);
        let chosen = match this.credential {
            Some(AzureCredential::AccessKey) => Some("the account key (`credential = \"access-key\"`)"),
            Some(AzureCredential::SasToken) => Some("a SAS token (`credential = \"sas-token\"`)"),
            Some(AzureCredential::BearerToken) => Some("a bearer token (`credential = \"bearer-token\"`)"),
            Some(AzureCredential::ClientSecret) => Some("a service principal's secret (`credential = \"client-secret\"`)"),
            Some(AzureCredential::WorkloadIdentity) => Some("workload identity (`credential = \"workload-identity\"`)"),
            Some(AzureCredential::Cli) => Some("az login, the Azure CLI (`credential = \"cli\"`)"),
            Some(AzureCredential::ManagedIdentity) => Some(
                "managed identity, if the metadata service answers (`credential = \"managed-identity\"`)",
            ),
            Some(AzureCredential::Auto) | None => None,
        };
        Some(if this.skip_signature {
            "none: requests are unsigned (skip_signature)".into()
        } else if let Some(chosen) = chosen.filter(|_| !this.use_emulator) {
            chosen.into()
        } else if this.use_emulator {
            "Azurite's development account".into()
        } else if this.bearer_token.is_some() {
            "a bearer token in the config file".into()
        } else if this.access_key.is_some() {
            "the account key (config file, connection string or AZURE_STORAGE_KEY)".into()
        } else if let Some(var) = env(&["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY"]) {
            format!("the account key in the environment ({var})")
        } else if option(&["azure_client_secret", "client_secret"])
            || env(&["AZURE_CLIENT_SECRET"]).is_some()
        {
            "a service principal's secret (azure_client_secret or AZURE_CLIENT_SECRET)".into()
        } else if option(&["azure_federated_token_file", "federated_token_file"])
            || env(&["AZURE_FEDERATED_TOKEN_FILE"]).is_some()
        {
            "workload identity (AZURE_FEDERATED_TOKEN_FILE)".into()
        } else if option(&["azure_use_azure_cli", "use_azure_cli"])
            || env(&["AZURE_USE_AZURE_CLI"]).is_some()
        {
            "az login (the Azure CLI)".into()
        } else if this.sas_token.is_some() || env(&["AZURE_STORAGE_SAS_TOKEN"]).is_some() {
            "a SAS token".into()
        } else {
            "managed identity, if the metadata service answers (nothing else gives \
             credentials)"
                .into()
        })
    }

    fn place(&self, _: &str) -> Option<Place> {
        let resolved = self.resolved().unwrap_or(std::borrow::Cow::Borrowed(self));
        let env = crate::config::env_value;
        // The account and endpoint the client will use, written out: a store that names
        // only its account and one whose connection string spells out the same endpoint
        // are one place.
        let account = if resolved.use_emulator {
            Some(
                resolved
                    .account
                    .clone()
                    .unwrap_or_else(|| "devstoreaccount1".to_string()),
            )
        } else {
            resolved
                .account
                .clone()
                .or_else(|| env("AZURE_STORAGE_ACCOUNT_NAME"))
        }
        .map(|a| match super::azure_connection::check_account(&a) {
            Ok(()) => a.to_ascii_lowercase(),
            Err(_) => "(an account the client refuses)".to_string(),
        });
        let implicit = match (&account, resolved.use_emulator) {
            (Some(account), true) => Some(format!(
                "{}/{account}",
                env("AZURITE_BLOB_STORAGE_URL")
                    // What the client refuses is not shown (it may hold credentials).
                    .map(|url| match crate::config::endpoint_form(&url) {
                        Ok(_) => url,
                        Err(_) => "(an endpoint the client refuses)".to_string(),
                    })
                    .unwrap_or_else(|| "http://127.0.0.1:10000".to_string())
                    .trim_end_matches('/')
            )),
            (Some(account), false) => Some(format!("https://{account}.blob.core.windows.net")),
            (None, _) => None,
        };
        let endpoint = endpoint_space(
            resolved.endpoint.as_deref().or(implicit.as_deref()),
            "Azure",
        );
        let account = account.as_deref().unwrap_or("(default account)");
        Some(Place::new(
            format!(
                "azure {endpoint} account {account} container {}",
                self.container
            ),
            "",
        ))
    }

    #[cfg(feature = "azure")]
    fn build(&self, label: &str, resolve: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Ok(Arc::new(self.client(label, resolve.requests)?))
    }

    #[cfg(feature = "azure")]
    fn signer(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Option<Result<Arc<dyn object_store::signer::Signer>, BuildError>> {
        Some(self.client(label, requests).map(|c| Arc::new(c) as _))
    }

    #[cfg(feature = "azure")]
    fn billed(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Option<Result<Arc<dyn crate::billed::Billed>, BuildError>> {
        Some(self.billed_client(label, requests).map(|b| Arc::new(b) as _))
    }

    fn url_base(&self) -> Option<String> {
        Some(format!("az://{}", self.container))
    }

    #[cfg(not(feature = "azure"))]
    fn build(&self, _label: &str, _: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Err(super::missing_feature(&ENTRY).into())
    }
}

impl AzureConfig {
    /// Whether this store sets where it points or how it signs.
    fn sets_location_or_credentials(&self) -> bool {
        self.account.is_some()
            || self.access_key.is_some()
            || self.sas_token.is_some()
            || self.bearer_token.is_some()
            || self.endpoint.is_some()
            || self.use_emulator
    }

    /// This configuration with what a connection string says filled in (from
    /// `connection_string`, or `AZURE_STORAGE_CONNECTION_STRING` when the store sets none
    /// of those keys), and the az CLI's variables `AZURE_STORAGE_ACCOUNT` and
    /// `AZURE_STORAGE_KEY` where neither the store nor object_store's own variables give
    /// an account or a key.
    fn resolved(&self) -> Result<std::borrow::Cow<'_, Self>, KeyError> {
        let env = crate::config::env_value;
        let (text, from_env) = match &self.connection_string {
            Some(text) => (Some(text.expose().to_string()), false),
            None if !self.sets_location_or_credentials() => {
                (env("AZURE_STORAGE_CONNECTION_STRING"), true)
            }
            None => (None, false),
        };
        let mut resolved = std::borrow::Cow::Borrowed(self);
        if let Some(text) = text {
            let connection =
                super::azure_connection::parse(&text, "connection_string").map_err(|e| {
                    if from_env {
                        KeyError::new(
                            "connection_string",
                            format!("AZURE_STORAGE_CONNECTION_STRING {}", e.message),
                        )
                    } else {
                        e
                    }
                })?;
            let to = resolved.to_mut();
            to.connection_string = None;
            to.account = connection.account;
            to.access_key = connection.key.map(Secret::new);
            to.sas_token = connection.sas.map(Secret::new);
            to.endpoint = connection.endpoint;
            to.use_emulator = connection.emulator;
        }
        if resolved.account.is_none() && env("AZURE_STORAGE_ACCOUNT_NAME").is_none() {
            if let Some(account) = env("AZURE_STORAGE_ACCOUNT") {
                resolved.to_mut().account = Some(account);
            }
        }
        let signs = resolved.access_key.is_some()
            || resolved.sas_token.is_some()
            || resolved.bearer_token.is_some()
            || resolved.use_emulator;
        if !signs && env("AZURE_STORAGE_ACCOUNT_KEY").is_none() {
            if let Some(key) = env("AZURE_STORAGE_KEY") {
                resolved.to_mut().access_key = Some(Secret::new(key));
            }
        }
        Ok(resolved)
    }

    /// The checks of a resolved configuration (what the keys say, a connection string's
    /// parts included).
    fn check(&self) -> Result<(), KeyError> {
        if let Some(account) = &self.account {
            super::azure_connection::check_account(account)
                .map_err(|message| KeyError::new("account", message))?;
        }
        super::one_line_credentials(&[
            ("access_key", &self.access_key),
            ("sas_token", &self.sas_token),
            ("bearer_token", &self.bearer_token),
        ])?;

        // Before the endpoint's form: an Azurite `http://` endpoint would otherwise be
        // refused for want of `allow_http`, which is not what is wrong.
        if self.use_emulator && self.endpoint.is_some() {
            return Err(KeyError::new(
                "endpoint",
                "with `use_emulator = true` object_store takes the Azurite URL from the \
                 environment variable AZURITE_BLOB_STORAGE_URL (default http://127.0.0.1:10000); \
                 remove `endpoint` or set that variable",
            ));
        }
        check_remote(
            self.retry.as_ref(),
            &self.options,
            self.endpoint.as_deref(),
            self.allow_http,
        )?;
        #[cfg(feature = "azure")]
        self.config_keys()?;
        Ok(())
    }

    /// The resolved configuration, after the checks of what the environment gives
    /// (the account and Azurite's URL) that object_store would take unchecked.
    #[cfg(feature = "azure")]
    fn checked(&self) -> Result<std::borrow::Cow<'_, Self>, KeyError> {
        let resolved = self.resolved()?;
        if resolved.account.is_none() {
            // object_store takes it from the environment then; it becomes a host name.
            if let Ok(account) = std::env::var("AZURE_STORAGE_ACCOUNT_NAME") {
                super::azure_connection::check_account(&account).map_err(|message| {
                    KeyError::new(
                        "account",
                        format!("the account AZURE_STORAGE_ACCOUNT_NAME gives {message}"),
                    )
                })?;
            }
        }
        if resolved.use_emulator {
            // object_store reads Azurite's address from this variable.
            if let Ok(url) = std::env::var("AZURITE_BLOB_STORAGE_URL") {
                crate::config::endpoint_form(&url).map_err(|message| {
                    KeyError::new(
                        "use_emulator",
                        format!("the endpoint the environment gives (AZURITE_BLOB_STORAGE_URL) {message}"),
                    )
                })?;
            }
        }
        Ok(resolved)
    }

    /// The client, requests counted for `label`.
    #[cfg(feature = "azure")]
    fn client(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<object_store::azure::MicrosoftAzure, BuildError> {
        let resolved = self.checked()?;
        cloud_client!(
            resolved,
            label,
            requests,
            object_store::azure::MicrosoftAzureBuilder,
            [object_store::azure::AzureConfigKey::Endpoint],
            "AZURE_STORAGE_ENDPOINT or AZURE_ENDPOINT",
            &[],
            |builder| resolved.with_sources(builder)
        )
    }

    /// The versions, snapshots and staged blocks of this store's container
    /// ([`crate::billed`]): the client's own configuration, credentials, certificate
    /// authorities and request counters, and the container URL object_store's client
    /// uses (the emulator's, the configured endpoint's, or the account's).
    #[cfg(feature = "azure")]
    fn billed_client(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<crate::billed::azure::AzureBilled, BuildError> {
        use object_store::azure::AzureConfigKey as K;
        use object_store::client::HttpConnector;
        let resolved = self.checked()?;
        let (builder, connector) = (|| -> Result<_, KeyError> {
            Ok(cloud_builder!(
                resolved,
                label,
                requests,
                object_store::azure::MicrosoftAzureBuilder,
                [K::Endpoint],
                "AZURE_STORAGE_ENDPOINT or AZURE_ENDPOINT",
                &[],
                |builder| resolved.with_sources(builder)
            ))
        })()?;
        let value = |k: K| builder.get_config_value(&k).filter(|v| !v.is_empty());
        let is_true = |k: K| value(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let emulator = is_true(K::UseEmulator);
        let mut options = super::client_options(|key| builder.get_config_value(&K::Client(key)));
        if emulator {
            // As object_store's client does for Azurite.
            options = options.with_allow_http(true);
        }
        let client = connector.connect(&options)?;
        let store = builder.clone().build()?;
        let account = match (value(K::AccountName), emulator) {
            (Some(account), _) => account,
            (None, true) => "devstoreaccount1".to_string(),
            // The build above refuses a store without an account.
            (None, false) => return Err(KeyError::new("account", "no account is given").into()),
        };
        let service = match (emulator, value(K::Endpoint)) {
            (true, _) => format!(
                "{}/{account}",
                std::env::var("AZURITE_BLOB_STORAGE_URL")
                    .unwrap_or_else(|_| "http://127.0.0.1:10000".to_string())
                    .trim_end_matches('/')
            ),
            (false, Some(endpoint)) => endpoint.trim_end_matches('/').to_string(),
            (false, None) if is_true(K::UseFabricEndpoint) => {
                format!("https://{account}.blob.fabric.microsoft.com")
            }
            (false, None) => format!("https://{account}.blob.core.windows.net"),
        };
        let container = percent_encoding::utf8_percent_encode(
            &self.container,
            percent_encoding::NON_ALPHANUMERIC,
        );
        let prefix = super::billed_prefix(self.prefix.as_deref());
        Ok(crate::billed::azure::AzureBilled {
            label: label.to_string(),
            client,
            credentials: std::sync::Arc::clone(store.credentials()),
            account,
            container_url: format!("{service}/{container}"),
            unsigned: is_true(K::SkipSignature),
            shown: format!("az://{}/{prefix}", self.container),
            prefix,
        })
    }

    /// `builder`, and when its credential is managed identity (asked for, or nothing
    /// else gives one), the metadata service tried once with a short budget first
    /// ([`super::metadata`]).
    #[cfg(feature = "azure")]
    fn with_sources(
        &self,
        builder: object_store::azure::MicrosoftAzureBuilder,
    ) -> Result<object_store::azure::MicrosoftAzureBuilder, KeyError> {
        use object_store::azure::AzureConfigKey as K;
        let value = |k: K| builder.get_config_value(&k).filter(|v| !v.is_empty());
        let is_true = |k: K| value(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let managed = match value(K::CredentialType).as_deref() {
            Some("managed_identity") => true,
            None | Some("auto") => {
                // object_store's order in `auto`: the first that is set wins; managed
                // identity when none is.
                let fabric = value(K::FabricTokenServiceUrl).is_some();
                let has = |k: K| value(k).is_some();
                let sourced = fabric
                    || has(K::Token)
                    || has(K::AccessKey)
                    || (has(K::ClientId) && has(K::AuthorityId) && has(K::FederatedTokenFile))
                    || (has(K::ClientId) && has(K::AuthorityId) && has(K::ClientSecret))
                    || has(K::SasKey)
                    || is_true(K::UseAzureCli);
                !sourced
            }
            Some(_) => false,
        };
        if !managed || is_true(K::UseEmulator) || is_true(K::SkipSignature) {
            return Ok(builder);
        }
        // object_store's own provider, found by a build that sends nothing; when the
        // build fails, the real one says why.
        let Ok(store) = builder.clone().build() else {
            return Ok(builder);
        };
        let endpoint = value(K::MsiEndpoint)
            .and_then(|url| url::Url::parse(&url).ok())
            .map(|url| url[..url::Position::BeforePath].to_string())
            .unwrap_or_else(|| "http://169.254.169.254".to_string());
        let looked_at = "this store's keys, a connection string, the environment \
                         (AZURE_STORAGE_KEY, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, \
                         AZURE_STORAGE_SAS_TOKEN) or az login (`credential = \"cli\"`)"
            .to_string();
        Ok(builder.with_credentials(std::sync::Arc::new(
            super::metadata::MetadataFirst::new(
                std::sync::Arc::clone(store.credentials()),
                super::metadata::Service::Azure,
                endpoint,
                looked_at,
            ),
        )))
    }

    /// A configuration for `container` with everything else at its default.
    pub fn new(container: impl Into<String>) -> Self {
        Self {
            container: container.into(),
            account: None,
            prefix: None,
            access_key: None,
            sas_token: None,
            bearer_token: None,
            connection_string: None,
            use_emulator: false,
            endpoint: None,
            allow_http: false,
            ca_file: None,
            skip_signature: false,
            credential: None,
            options: Options::default(),
            retry: None,
        }
    }

    #[cfg(feature = "azure")]
    fn config_keys(&self) -> Result<Vec<(object_store::azure::AzureConfigKey, String)>, KeyError> {
        use object_store::azure::AzureConfigKey as K;
        use object_store::ClientConfigKey as C;
        let mut keys = self.options.parse::<K>("azure", |key| match key {
            K::ContainerName => Some("container"),
            K::AccountName => Some("account"),
            K::AccessKey => Some("access_key"),
            K::SasKey => Some("sas_token"),
            K::Token => Some("bearer_token"),
            K::UseEmulator => Some("use_emulator"),
            K::Endpoint => Some("endpoint"),
            K::SkipSignature => Some("skip_signature"),
            K::CredentialType => Some("credential"),
            K::Client(C::AllowHttp) => Some("allow_http"),
            _ => None,
        })?;
        keys.extend([
            (K::ContainerName, self.container.clone()),
            (K::UseEmulator, self.use_emulator.to_string()),
            (K::SkipSignature, self.skip_signature.to_string()),
        ]);
        // The emulator switches allow_http on itself; an explicit `false` would not stop it.
        if !self.use_emulator {
            keys.push((K::Client(C::AllowHttp), self.allow_http.to_string()));
        }
        let secret = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_string());
        let optional = [
            (K::AccountName, self.account.clone()),
            (K::AccessKey, secret(&self.access_key)),
            (K::SasKey, secret(&self.sas_token)),
            (K::Token, secret(&self.bearer_token)),
            (K::Endpoint, self.endpoint.clone()),
            (
                K::CredentialType,
                self.credential.map(|c| c.object_store_name().to_string()),
            ),
        ];
        keys.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        Ok(keys)
    }
}
