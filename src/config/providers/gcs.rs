//! `provider = "gcs"`: Google Cloud Storage.

use super::{check_remote, secrets_of, Registration, Provider, UrlForm};
use crate::config::place::{endpoint_space, Place};
use crate::config::{BuildError, KeyError, Options, Resolve, RetrySettings, Secret};
use object_store::ObjectStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

pub(super) static ENTRY: Registration = Registration {
    name: "gcs",
    schemes: &["gs", "gcs"],
    url: UrlForm::Bucket("bucket"),
    feature: Some(("gcp", cfg!(feature = "gcp"))),
    composite: false,
    credentials: true,
    parse: super::parse_as::<GcsConfig>,
    keys: super::keys_of::<GcsConfig>,
};

/// A Google Cloud Storage bucket.
///
/// Credentials, in the order object_store tries them: `service_account` (a key file) or
/// `service_account_key` (its JSON), then `GOOGLE_APPLICATION_CREDENTIALS` /
/// `application_credentials`, then the instance metadata server. Left-out keys also come
/// from the `GOOGLE_*` environment (`GoogleCloudStorageBuilder::from_env`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GcsConfig {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix that scopes the store.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Path of a service account key file; relative paths are relative to the config file.
    #[serde(default)]
    pub service_account: Option<PathBuf>,
    /// The service account key itself, as JSON (keep it in `${ENV}`).
    #[serde(default)]
    pub service_account_key: Option<Secret>,
    /// Path of an application-default-credentials file.
    #[serde(default)]
    pub application_credentials: Option<PathBuf>,
    /// Base URL of the JSON/XML API, for emulators (`http://127.0.0.1:4443`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Permit a plain `http://` endpoint.
    #[serde(default)]
    pub allow_http: bool,
    /// A PEM file of certificate authorities to trust besides the system's (a private
    /// CA); relative to the config file.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Send unsigned, unauthenticated requests (public buckets, emulators).
    #[serde(default)]
    pub skip_signature: bool,
    /// Further object_store options (`GoogleConfigKey` names and aliases).
    #[serde(default)]
    pub options: Options,
    /// Retry and backoff settings (object_store has no config keys for them).
    #[serde(default)]
    pub retry: Option<RetrySettings>,
}

impl Provider for GcsConfig {
    fn offsets_on_server(&self) -> bool {
        true
    }

    fn entry(&self) -> &'static Registration {
        &ENTRY
    }

    fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn validate(&self) -> Result<(), KeyError> {
        check_remote(
            self.retry.as_ref(),
            &self.options,
            self.endpoint.as_deref(),
            self.allow_http,
        )?;
        if self.service_account.is_some() && self.service_account_key.is_some() {
            return Err(KeyError::new(
                "service_account_key",
                "give either `service_account` (a file) or `service_account_key` (its JSON), not both",
            ));
        }
        #[cfg(feature = "gcp")]
        self.config_keys()?;
        Ok(())
    }

    fn resolve_paths(&mut self, base: &std::path::Path) {
        for path in [
            &mut self.service_account,
            &mut self.application_credentials,
            &mut self.ca_file,
        ]
            .into_iter()
            .flatten()
        {
            *path = crate::config::resolve_path(base, path);
        }
    }

    fn secrets(&self) -> Vec<&str> {
        secrets_of(&[&self.service_account_key], &self.options)
    }

    /// The environment's `GOOGLE_*` secrets, which its client reads.
    fn secrets_elsewhere(&self) -> Vec<String> {
        super::env_secrets("GOOGLE_")
    }

    fn credentials(&self) -> Option<String> {
        let env = crate::config::env_value;
        let shown = |path: &std::path::Path| crate::text::terminal(&path.display().to_string()).into_owned();
        Some(if self.skip_signature {
            "none: requests are unsigned (skip_signature)".into()
        } else if let Some(path) = &self.service_account {
            format!("the service account key file {}", shown(path))
        } else if self.service_account_key.is_some() {
            "a service account key in the config file".into()
        } else if let Some(path) = &self.application_credentials {
            format!("the credentials file {}", shown(path))
        } else if let Some(var) = ["GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH"]
            .into_iter()
            .find(|v| env(v).is_some())
        {
            format!("the service account key file {var} names")
        } else if env("GOOGLE_SERVICE_ACCOUNT_KEY").is_some() {
            "a service account key in the environment (GOOGLE_SERVICE_ACCOUNT_KEY)".into()
        } else if env("GOOGLE_APPLICATION_CREDENTIALS").is_some() {
            "the credentials file GOOGLE_APPLICATION_CREDENTIALS names".into()
        } else {
            "application default credentials: gcloud's file if it exists, else the metadata \
             server"
                .into()
        })
    }

    fn place(&self, _: &str) -> Option<Place> {
        let endpoint = endpoint_space(self.endpoint.as_deref(), "Google");
        Some(Place::new(format!("gcs {endpoint} bucket {}", self.bucket), ""))
    }

    #[cfg(feature = "gcp")]
    fn build(&self, label: &str, resolve: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Ok(Arc::new(self.client(label, resolve.requests)?))
    }

    #[cfg(feature = "gcp")]
    fn signer(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Option<Result<Arc<dyn object_store::signer::Signer>, BuildError>> {
        Some(self.client(label, requests).map(|c| Arc::new(c) as _))
    }

    #[cfg(feature = "gcp")]
    fn billed(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Option<Result<Arc<dyn crate::billed::Billed>, BuildError>> {
        Some(self.billed_client(label, requests).map(|b| Arc::new(b) as _))
    }

    fn url_base(&self) -> Option<String> {
        Some(format!("gs://{}", self.bucket))
    }

    #[cfg(not(feature = "gcp"))]
    fn build(&self, _label: &str, _: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Err(super::missing_feature(&ENTRY).into())
    }
}

impl GcsConfig {
    /// A credentials file object_store cannot use, named before it says `unknown variant`:
    /// it reads `service_account` keys and `authorized_user` (gcloud's application-default
    /// login) files, not impersonation or workload identity federation.
    #[cfg(feature = "gcp")]
    fn check_credential_files(&self) -> Result<(), KeyError> {
        let from_env = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from);
        let files = [
            ("service_account", self.service_account.clone()),
            ("application_credentials", self.application_credentials.clone()),
            ("application_credentials", from_env),
        ];
        for (key, path) in files {
            let Some(path) = path else { continue };
            let Some(kind) = credential_type(&path) else {
                // Unreadable or not JSON: object_store says what is wrong with it.
                continue;
            };
            if !matches!(kind.as_str(), "service_account" | "authorized_user") {
                let shown: String = kind.chars().take(40).collect();
                return Err(KeyError::new(
                    key,
                    format!(
                        "{} holds credentials of type `{shown}`, which object_store cannot \
                         use (it takes `service_account` keys and `authorized_user` files); \
                         for impersonation or workload identity federation, get a token \
                         outside (`gcloud auth print-access-token`) or use a service \
                         account key",
                        path.display()
                    ),
                ));
            }
        }
        Ok(())
    }
    /// The client, requests counted for `label`.
    #[cfg(feature = "gcp")]
    fn client(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<object_store::gcp::GoogleCloudStorage, BuildError> {
        self.check_credential_files()?;
        cloud_client!(
            self,
            label,
            requests,
            object_store::gcp::GoogleCloudStorageBuilder,
            [object_store::gcp::GoogleConfigKey::BaseUrl],
            "GOOGLE_BASE_URL",
            &[],
            |builder| self.with_sources(builder)
        )
    }

    /// `builder`, and when nothing gives credentials but the metadata server (no key,
    /// no credentials file, no gcloud application-default file), that server tried once
    /// with a short budget first ([`super::metadata`]).
    #[cfg(feature = "gcp")]
    fn with_sources(
        &self,
        builder: object_store::gcp::GoogleCloudStorageBuilder,
    ) -> Result<object_store::gcp::GoogleCloudStorageBuilder, KeyError> {
        use object_store::gcp::GoogleConfigKey as K;
        let set = |k: &K| builder.get_config_value(k).is_some_and(|v| !v.is_empty());
        let unsigned = builder.get_config_value(&K::SkipSignature).as_deref() == Some("true");
        // Where object_store looks for `gcloud auth application-default login`'s file.
        let gcloud_file = match cfg!(windows) {
            true => std::env::var_os("APPDATA")
                .map(|home| PathBuf::from(home).join("gcloud/application_default_credentials.json")),
            false => std::env::var_os("HOME").map(|home| {
                PathBuf::from(home).join(".config/gcloud/application_default_credentials.json")
            }),
        };
        let sourced = [K::ServiceAccount, K::ServiceAccountKey, K::ApplicationCredentials]
            .iter()
            .any(set)
            || gcloud_file.is_some_and(|file| file.exists());
        if sourced || unsigned {
            return Ok(builder);
        }
        // object_store's own provider (the metadata server's), found by a build that
        // sends nothing; when the build fails, the real one says why.
        let Ok(store) = builder.clone().build() else {
            return Ok(builder);
        };
        // object_store asks GCE_METADATA_HOST (else metadata.google.internal), then
        // GCE_METADATA_IP (else 169.254.169.254): the address is tried, the name needs DNS.
        let endpoint = match crate::config::env_value("GCE_METADATA_HOST") {
            Some(host) => format!("http://{host}"),
            None => format!(
                "http://{}",
                crate::config::env_value("GCE_METADATA_IP")
                    .unwrap_or_else(|| "169.254.169.254".into())
            ),
        };
        let looked_at = "this store's keys and files, the environment \
                         (GOOGLE_SERVICE_ACCOUNT*, GOOGLE_APPLICATION_CREDENTIALS) or gcloud's \
                         application-default file"
            .to_string();
        Ok(builder.with_credentials(std::sync::Arc::new(
            super::metadata::MetadataFirst::new(
                std::sync::Arc::clone(store.credentials()),
                super::metadata::Service::Google,
                endpoint,
                looked_at,
            ),
        )))
    }

    /// The generations of this store's bucket ([`crate::billed`]): the client's own
    /// configuration, credentials, certificate authorities and request counters.
    #[cfg(feature = "gcp")]
    fn billed_client(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<crate::billed::gcs::GcsBilled, BuildError> {
        use object_store::client::HttpConnector;
        use object_store::gcp::GoogleConfigKey as K;
        self.check_credential_files()?;
        let (builder, connector) = (|| -> Result<_, KeyError> {
            Ok(cloud_builder!(
                self,
                label,
                requests,
                object_store::gcp::GoogleCloudStorageBuilder,
                [K::BaseUrl],
                "GOOGLE_BASE_URL",
                &[],
                |builder| self.with_sources(builder)
            ))
        })()?;
        let options = super::client_options(|key| builder.get_config_value(&K::Client(key)));
        let client = connector.connect(&options)?;
        let store = builder.clone().build()?;
        let prefix = super::billed_prefix(self.prefix.as_deref());
        Ok(crate::billed::gcs::GcsBilled {
            label: label.to_string(),
            client,
            credentials: std::sync::Arc::clone(store.credentials()),
            base_url: builder
                .get_config_value(&K::BaseUrl)
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "https://storage.googleapis.com".into())
                .trim_end_matches('/')
                .to_string(),
            bucket: self.bucket.clone(),
            unsigned: builder
                .get_config_value(&K::SkipSignature)
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            prefix,
        })
    }

    /// A configuration for `bucket` with everything else at its default.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: None,
            service_account: None,
            service_account_key: None,
            application_credentials: None,
            endpoint: None,
            allow_http: false,
            ca_file: None,
            skip_signature: false,
            options: Options::default(),
            retry: None,
        }
    }

    #[cfg(feature = "gcp")]
    fn config_keys(&self) -> Result<Vec<(object_store::gcp::GoogleConfigKey, String)>, KeyError> {
        use object_store::gcp::GoogleConfigKey as K;
        use object_store::ClientConfigKey as C;
        let mut keys = self.options.parse::<K>("gcs", |key| match key {
            K::Bucket => Some("bucket"),
            K::ServiceAccount => Some("service_account"),
            K::ServiceAccountKey => Some("service_account_key"),
            K::ApplicationCredentials => Some("application_credentials"),
            K::BaseUrl => Some("endpoint"),
            K::SkipSignature => Some("skip_signature"),
            K::Client(C::AllowHttp) => Some("allow_http"),
            _ => None,
        })?;
        keys.extend([
            (K::Bucket, self.bucket.clone()),
            (K::Client(C::AllowHttp), self.allow_http.to_string()),
            (K::SkipSignature, self.skip_signature.to_string()),
        ]);
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        let optional = [
            (K::ServiceAccount, path(&self.service_account)),
            (
                K::ApplicationCredentials,
                path(&self.application_credentials),
            ),
            (
                K::ServiceAccountKey,
                self.service_account_key
                    .as_ref()
                    .map(|s| s.expose().to_string()),
            ),
            (K::BaseUrl, self.endpoint.clone()),
        ];
        keys.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        Ok(keys)
    }
}

/// The `type` of the JSON credentials file at `path` (read up to 1 MiB, without blocking
/// on a FIFO); `None` when it cannot be read or has none.
#[cfg(feature = "gcp")]
fn credential_type(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let (file, _) = crate::file::open_regular(path, "credentials file").ok()?;
    let mut text = String::new();
    file.take(1 << 20).read_to_string(&mut text).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("type")?.as_str().map(str::to_string)
}
