//! `provider = "azure"`: Azure Blob Storage (and Azurite).

use super::{check_remote, secrets_of, Registration, Provider, UrlForm};
use crate::config::place::{endpoint_space, Place};
use crate::config::{BuildError, KeyError, Options, Resolve, RetrySettings, Secret};
use object_store::ObjectStore;
use serde::Deserialize;
use std::sync::Arc;

pub(super) static ENTRY: Registration = Registration {
    name: "azure",
    schemes: &["az", "azure", "abfs"],
    url: UrlForm::Bucket("container"),
    feature: Some(("azure", cfg!(feature = "azure"))),
    composite: false,
    credentials: true,
    parse: super::parse_as::<AzureConfig>,
    keys: super::keys_of::<AzureConfig>,
};

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
    /// Talk to Azurite with its development account.
    #[serde(default)]
    pub use_emulator: bool,
    /// Account URL, e.g. `https://myaccount.blob.core.windows.net` (the default).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Permit a plain `http://` endpoint.
    #[serde(default)]
    pub allow_http: bool,
    /// Send unsigned requests (public containers).
    #[serde(default)]
    pub skip_signature: bool,
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

    fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn validate(&self) -> Result<(), KeyError> {
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

    fn secrets(&self) -> Vec<&str> {
        secrets_of(&[&self.access_key, &self.sas_token, &self.bearer_token], &self.options)
    }

    /// The environment's `AZURE_*` secrets, which its client reads.
    fn secrets_elsewhere(&self) -> Vec<String> {
        super::env_secrets("AZURE_")
    }

    fn place(&self, _: &str) -> Option<Place> {
        let default = if self.use_emulator {
            "Azurite"
        } else {
            "Azure"
        };
        let endpoint = endpoint_space(self.endpoint.as_deref(), default);
        let account = self.account.as_deref().unwrap_or("(default account)");
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

    fn url_base(&self) -> Option<String> {
        Some(format!("az://{}", self.container))
    }

    #[cfg(not(feature = "azure"))]
    fn build(&self, _label: &str, _: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Err(super::missing_feature(&ENTRY).into())
    }
}

impl AzureConfig {
    /// The client, requests counted for `label`.
    #[cfg(feature = "azure")]
    fn client(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<object_store::azure::MicrosoftAzure, BuildError> {
        if self.use_emulator {
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
        cloud_client!(
            self,
            label,
            requests,
            object_store::azure::MicrosoftAzureBuilder,
            [object_store::azure::AzureConfigKey::Endpoint],
            "AZURE_STORAGE_ENDPOINT or AZURE_ENDPOINT"
        )
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
            use_emulator: false,
            endpoint: None,
            allow_http: false,
            skip_signature: false,
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
        ];
        keys.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        Ok(keys)
    }
}
