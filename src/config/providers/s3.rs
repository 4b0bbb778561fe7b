//! `provider = "s3"`: AWS S3 and S3-compatible servers (MinIO, Ceph, R2, SeaweedFS, moto...).

pub use super::s3_flavor::{Flavor, ListOrder};
use super::s3_flavor::FlavorKeys;
use super::{check_remote, secrets_of, Registration, Provider, UrlForm};
use std::borrow::Cow;
use crate::config::place::{endpoint_space, Place};
use crate::config::{BuildError, KeyError, Options, Resolve, RetrySettings, Secret};
use object_store::ObjectStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

pub(super) static ENTRY: Registration = Registration {
    name: "s3",
    schemes: &["s3", "s3a"],
    url: UrlForm::Bucket("bucket"),
    feature: Some(("aws", cfg!(feature = "aws"))),
    composite: false,
    credentials: true,
    parse: super::parse_as::<S3Config>,
    keys: super::keys_of::<S3Config>,
};

/// An S3 bucket (AWS or any S3-compatible server).
///
/// Credentials left out here come from the usual AWS environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, ...; see
/// `object_store::aws::AmazonS3Builder::from_env`). For MinIO and other self-hosted servers,
/// set `endpoint`, `region = "us-east-1"` and, for plain http, `allow_http = true`; requests
/// are path-style unless `virtual_hosted_style = true`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix that scopes the store: the store sees only keys below it.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Region, e.g. `eu-west-1`; object_store defaults to `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint URL for S3-compatible servers, e.g. `http://127.0.0.1:9000`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The S3-compatible service the bucket is on (`"r2"`, `"b2"`, `"wasabi"`, `"spaces"`,
    /// `"oci"`, `"gcs-hmac"`, `"minio"`, `"ceph"`, `"seaweedfs"`): it sets what that
    /// service needs where this store leaves it unset ([`Flavor`]). Unset: AWS, or any
    /// server `endpoint` names.
    #[serde(default)]
    pub flavor: Option<Flavor>,
    /// The account a flavor puts in its endpoint: the Cloudflare account id (`r2`), the
    /// tenancy's namespace (`oci`).
    #[serde(default)]
    pub account: Option<String>,
    /// Permit a plain `http://` endpoint.
    #[serde(default)]
    pub allow_http: bool,
    /// A PEM file of certificate authorities to trust besides the system's (a private
    /// CA); relative to the config file. Unset: the file `AWS_CA_BUNDLE` names, if any.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Access key id.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key.
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// Session token for temporary credentials.
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// The AWS profile of the shared files (`~/.aws/credentials`, `~/.aws/config`) to take
    /// keys, session token, region and `endpoint_url` from. Without it, `AWS_PROFILE`,
    /// else `default` when it exists; the keys above, and for a profile not named here the
    /// `AWS_ACCESS_KEY_ID` variables, come first.
    #[serde(default)]
    pub profile: Option<String>,
    /// Use `https://bucket.endpoint/key` instead of `https://endpoint/bucket/key`.
    #[serde(default)]
    pub virtual_hosted_style: bool,
    /// Send unsigned requests (public buckets).
    #[serde(default)]
    pub skip_signature: bool,
    /// Further object_store options (`AmazonS3ConfigKey` names and aliases), e.g.
    /// `aws_copy_if_not_exists = "multipart"`, `timeout = "30s"`.
    #[serde(default)]
    pub options: Options,
    /// Retry and backoff settings (object_store has no config keys for them).
    #[serde(default)]
    pub retry: Option<RetrySettings>,
    /// How listings are ordered: `"server"` (the default, but `"sorted"` for flavor
    /// `seaweedfs`) or `"sorted"`.
    #[serde(default)]
    pub list_order: Option<ListOrder>,
}

impl Provider for S3Config {
    fn entry(&self) -> &'static Registration {
        &ENTRY
    }

    fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(path) = &mut self.ca_file {
            *path = crate::config::resolve_path(base, path);
        }
    }

    /// What the flavor needs, endpoint form, retry settings and option keys.
    fn validate(&self) -> Result<(), KeyError> {
        let this = self.resolved()?;
        check_remote(
            this.retry.as_ref(),
            &this.options,
            this.endpoint.as_deref(),
            this.allow_http,
        )?;
        if let Some(region) = &this.region {
            check_region(region).map_err(|message| KeyError::new("region", message))?;
        }
        let key_id = this.access_key_id.as_ref().map(|id| Secret::new(id.as_str()));
        super::one_line_credentials(&[
            ("access_key_id", &key_id),
            ("secret_access_key", &this.secret_access_key),
            ("session_token", &this.session_token),
        ])?;
        #[cfg(feature = "aws")]
        this.config_keys()?;
        Ok(())
    }

    fn secrets(&self) -> Vec<&str> {
        secrets_of(&[&self.secret_access_key, &self.session_token], &self.options)
    }

    /// The environment's `AWS_*` secrets and the AWS profile's secret key and token.
    fn secrets_elsewhere(&self) -> Vec<String> {
        #[allow(unused_mut)]
        let mut all = super::env_secrets("AWS_");
        #[cfg(feature = "aws")]
        if let Ok(Some(profile)) = super::aws_profile::load(self.profile.as_deref()) {
            all.extend(profile.secrets());
        }
        all
    }

    fn place(&self, _: &str) -> Option<Place> {
        let this = self.resolved().unwrap_or(Cow::Borrowed(self));
        let elsewhere = match &this.endpoint {
            Some(_) => None,
            None => this.endpoint_elsewhere(),
        };
        let endpoint = endpoint_space(this.endpoint.as_deref().or(elsewhere.as_deref()), "AWS");
        Some(Place::new(format!("s3 {endpoint} bucket {}", this.bucket), ""))
    }

    /// In the order the client takes them: the store's keys, its profile (or, for a
    /// profile it does not name, the environment's keys first), web identity, the
    /// container endpoint, the instance metadata service.
    fn credentials(&self) -> Option<String> {
        let env = crate::config::env_value;
        if self.skip_signature {
            return Some("none: requests are unsigned (skip_signature)".into());
        }
        if self.access_key_id.is_some() || self.secret_access_key.is_some() {
            return Some("keys in the config file".into());
        }
        if super::sets_option(&self.options, &["aws_access_key_id", "access_key_id"]) {
            return Some("keys in the store's options".into());
        }
        let env_keys = env("AWS_ACCESS_KEY_ID").is_some();
        #[cfg(feature = "aws")]
        if let Ok(Some(profile)) = super::aws_profile::load(self.profile.as_deref()) {
            if self.profile.is_some() || !env_keys {
                if let Some(described) = super::aws_role::describe(&profile) {
                    return Some(described);
                }
            }
        }
        Some(if env_keys {
            "the environment (AWS_ACCESS_KEY_ID)".into()
        } else if env("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
            "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)".into()
        } else if env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
            || env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
        {
            "the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*)".into()
        } else {
            "the instance metadata service, if it answers (nothing else gives keys)".into()
        })
    }

    fn key_ranges(&self) -> bool {
        // As `build` wraps it: folder by folder, offsets read whole folders.
        self.resolved()
            .is_ok_and(|this| this.list_order.unwrap_or_default() == ListOrder::Server)
    }

    fn offsets_on_server(&self) -> bool {
        self.key_ranges()
    }

    #[cfg(feature = "aws")]
    fn build(&self, label: &str, resolve: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        let this = self.resolved()?;
        let store: Arc<dyn ObjectStore> = Arc::new(this.client(label, resolve.requests)?);
        Ok(match this.list_order.unwrap_or_default() {
            ListOrder::Server => store,
            ListOrder::Sorted => crate::layer::KeyOrderedStore::wrap(store, None),
        })
    }

    #[cfg(feature = "aws")]
    fn signer(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Option<Result<Arc<dyn object_store::signer::Signer>, BuildError>> {
        let client = match self.resolved() {
            Ok(this) => this.client(label, requests),
            Err(e) => Err(e.into()),
        };
        Some(client.map(|c| Arc::new(c) as _))
    }

    #[cfg(feature = "aws")]
    fn billed(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Option<Result<Arc<dyn crate::billed::Billed>, BuildError>> {
        Some(
            self.resolved()
                .map_err(BuildError::from)
                .and_then(|this| this.billed_client(label, requests))
                .map(|b| Arc::new(b) as _),
        )
    }

    fn url_base(&self) -> Option<String> {
        Some(format!("s3://{}", self.bucket))
    }

    #[cfg(not(feature = "aws"))]
    fn build(&self, _label: &str, _: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Err(super::missing_feature(&ENTRY).into())
    }
}

/// The variables object_store's `from_env` takes an S3 endpoint from.
const ENDPOINT_VARIABLES: [&str; 3] = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"];

/// A region is a name such as `eu-west-1`: object_store puts it into the host name
/// (`s3.REGION.amazonaws.com`), where `x@evil:1/` would send the signed request elsewhere.
fn check_region(region: &str) -> Result<(), String> {
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err("is not a region name (letters, digits, `-` and `_`, e.g. eu-west-1)".into())
    }
}

impl S3Config {
    /// This configuration with what its [`Flavor`] needs filled in where it is unset
    /// (its options are added by `config_keys`).
    fn resolved(&self) -> Result<Cow<'_, Self>, KeyError> {
        let Some(flavor) = self.flavor else {
            if self.account.is_some() {
                return Err(KeyError::new(
                    "account",
                    "is only read with `flavor = \"r2\"` or `\"oci\"`",
                ));
            }
            return Ok(Cow::Borrowed(self));
        };
        let mut this = self.clone();
        flavor.fill(FlavorKeys {
            account: this.account.as_deref(),
            endpoint: &mut this.endpoint,
            region: &mut this.region,
            list_order: &mut this.list_order,
        })?;
        Ok(Cow::Owned(this))
    }

    /// The endpoint the client will use when this store sets none: the environment's
    /// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT`), else the AWS profile's.
    /// Two stores reaching one server one way each are one place. A value that is no
    /// endpoint (the client refuses it) is not shown.
    fn endpoint_elsewhere(&self) -> Option<String> {
        let from_env = ENDPOINT_VARIABLES
            .into_iter()
            .find_map(crate::config::env_value);
        #[cfg(feature = "aws")]
        let from_env = from_env.or_else(|| {
            super::aws_profile::load(self.profile.as_deref())
                .ok()
                .flatten()
                .and_then(|p| p.endpoint_url)
        });
        from_env.map(|e| match crate::config::endpoint_form(&e) {
            Ok(_) => e,
            Err(_) => "(an endpoint the client refuses)".to_string(),
        })
    }

    /// The client, requests counted for `label`.
    #[cfg(feature = "aws")]
    fn client(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<object_store::aws::AmazonS3, BuildError> {
        use object_store::aws::AmazonS3ConfigKey as K;
        cloud_client!(
            self,
            label,
            requests,
            object_store::aws::AmazonS3Builder,
            [K::Endpoint, K::S3Endpoint],
            "AWS_ENDPOINT_URL, AWS_ENDPOINT or AWS_ENDPOINT_URL_S3",
            &["AWS_CA_BUNDLE"],
            |builder| self.with_sources(builder)
        )
    }

    /// The versions and uploads of this store's bucket ([`crate::billed`]): the client's
    /// own configuration, credentials, certificate authorities and request counters.
    #[cfg(feature = "aws")]
    fn billed_client(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<crate::billed::s3::S3Billed, BuildError> {
        use object_store::aws::AmazonS3ConfigKey as K;
        use object_store::client::HttpConnector;
        let (builder, connector) = (|| -> Result<_, KeyError> {
            Ok(cloud_builder!(
                self,
                label,
                requests,
                object_store::aws::AmazonS3Builder,
                [K::Endpoint, K::S3Endpoint],
                "AWS_ENDPOINT_URL, AWS_ENDPOINT or AWS_ENDPOINT_URL_S3",
                &["AWS_CA_BUNDLE"],
                |builder| self.with_sources(builder)
            ))
        })()?;
        let value = |key: K| builder.get_config_value(&key).filter(|v| !v.is_empty());
        let is_true = |key: K| value(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let options = super::client_options(|key| builder.get_config_value(&K::Client(key)));
        let client = connector.connect(&options)?;
        // The credentials as the store's client gets them (keys, profile, process,
        // metadata service), from a store that sends nothing until asked.
        let store = builder.clone().build()?;
        let region = value(K::Region)
            .or_else(|| value(K::DefaultRegion))
            .unwrap_or_else(|| "us-east-1".into());
        let bucket = &self.bucket;
        let virtual_hosted = is_true(K::VirtualHostedStyleRequest);
        let bucket_url = match (value(K::Endpoint), virtual_hosted) {
            (Some(endpoint), true) => endpoint.trim_end_matches('/').to_string(),
            (Some(endpoint), false) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        let prefix = super::billed_prefix(self.prefix.as_deref());
        Ok(crate::billed::s3::S3Billed {
            label: label.to_string(),
            client,
            credentials: std::sync::Arc::clone(store.credentials()),
            bucket_url,
            region,
            unsigned: is_true(K::SkipSignature),
            request_payer: is_true(K::RequestPayer),
            shown: format!("s3://{bucket}/{prefix}"),
            prefix,
            folder_order: !self.key_ranges(),
        })
    }

    /// Whether nothing gives this store a region, so that its client would sign for
    /// `us-east-1` and a bucket elsewhere would answer with a redirect: no `region`, no
    /// endpoint (an S3-compatible server answers to any region), no flavor, no
    /// `AWS_REGION` / `AWS_DEFAULT_REGION`, no region in the AWS profile.
    #[cfg(feature = "aws")]
    pub(crate) fn region_unknown(&self) -> bool {
        use object_store::aws::AmazonS3ConfigKey as K;
        let Ok(this) = self.resolved() else {
            return false;
        };
        let in_options = this.config_keys().is_ok_and(|keys| {
            keys.iter()
                .any(|(k, _)| matches!(k, K::Region | K::DefaultRegion | K::Endpoint | K::S3Endpoint))
        });
        let from_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .into_iter()
            .any(|var| crate::config::env_value(var).is_some());
        let from_profile = || {
            super::aws_profile::load(this.profile.as_deref())
                .ok()
                .flatten()
                .is_some_and(|profile| profile.region.is_some())
        };
        this.region.is_none()
            && this.endpoint.is_none()
            && !in_options
            && !from_env
            && this.endpoint_elsewhere().is_none()
            && !from_profile()
    }

    /// The region S3 says this store's bucket is in: one unsigned HEAD of the bucket,
    /// with the store's client options, certificate authorities and request counters;
    /// `None` when the server does not say.
    #[cfg(feature = "aws")]
    pub(crate) async fn bucket_region(
        &self,
        label: &str,
        requests: &crate::requests::Requests,
    ) -> Result<Option<String>, BuildError> {
        let this = self.resolved()?;
        Ok(this.billed_client(label, requests)?.bucket_region().await)
    }

    /// `builder` with what the AWS profile gives ([`Self::with_profile`]) and, when no
    /// credential source is left but the instance metadata service, that service tried
    /// once with a short budget first ([`super::metadata`]).
    #[cfg(feature = "aws")]
    fn with_sources(
        &self,
        builder: object_store::aws::AmazonS3Builder,
    ) -> Result<object_store::aws::AmazonS3Builder, KeyError> {
        use object_store::aws::AmazonS3ConfigKey as K;
        let (mut builder, from_profile) = self.with_profile(builder)?;
        let set = |k: &K| builder.get_config_value(k).is_some_and(|v| !v.is_empty());
        let sourced = from_profile
            || set(&K::AccessKeyId)
            || set(&K::ContainerCredentialsRelativeUri)
            || set(&K::ContainerCredentialsFullUri)
            || set(&K::WebIdentityTokenFile);
        let unsigned = builder.get_config_value(&K::SkipSignature).as_deref() == Some("true");
        if sourced || unsigned {
            return Ok(builder);
        }
        // object_store's own provider (the metadata service's), found by a build that
        // sends nothing; when the build fails, the real one says why.
        if let Ok(store) = builder.clone().build() {
            let endpoint = builder
                .get_config_value(&K::MetadataEndpoint)
                .unwrap_or_else(|| "http://169.254.169.254".to_string());
            let files = match &self.profile {
                Some(name) => format!("the AWS shared files (profile `{name}`)"),
                None => "the AWS shared files (AWS_PROFILE, default)".to_string(),
            };
            let looked_at = format!(
                "this store's keys, the environment (AWS_ACCESS_KEY_ID, \
                 AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_*) or {files}"
            );
            builder = builder.with_credentials(std::sync::Arc::new(
                super::metadata::MetadataFirst::new(
                    std::sync::Arc::clone(store.credentials()),
                    super::metadata::Service::Aws,
                    endpoint,
                    looked_at,
                ),
            ));
        }
        Ok(builder)
    }

    /// `builder` with what the AWS profile gives ([`super::aws_profile`]) where nothing
    /// before it did: keys and session token unless this store sets keys (or, for a
    /// profile it does not name, the environment does), region and endpoint unless the
    /// store or the environment sets them. Whether the profile's keys are the store's.
    #[cfg(feature = "aws")]
    fn with_profile(
        &self,
        builder: object_store::aws::AmazonS3Builder,
    ) -> Result<(object_store::aws::AmazonS3Builder, bool), KeyError> {
        use object_store::aws::AmazonS3ConfigKey as K;
        if self.region.is_none() {
            for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
                if let Some(region) = crate::config::env_value(var) {
                    check_region(&region).map_err(|message| {
                        KeyError::new("region", format!("the region {var} gives {message}"))
                    })?;
                }
            }
        }
        let store_keys = self.access_key_id.is_some()
            || self.secret_access_key.is_some()
            || self.session_token.is_some()
            || self
                .config_keys()?
                .iter()
                .any(|(k, _)| matches!(k, K::AccessKeyId | K::SecretAccessKey | K::Token));
        // object_store's `from_env` takes the environment in its order: with two endpoint
        // variables that differ, which one it uses is not what any place could say.
        if self.endpoint.is_none() {
            let mut given: Vec<String> = ENDPOINT_VARIABLES
                .iter()
                .filter_map(|var| crate::config::env_value(var))
                .collect();
            given.sort();
            given.dedup();
            if given.len() > 1 {
                return Err(KeyError::new(
                    "endpoint",
                    format!(
                        "the environment gives different endpoints ({}): unset all but one, \
                         or set `endpoint` in this store",
                        ENDPOINT_VARIABLES.join(", ")
                    ),
                ));
            }
        }
        // A store that sets all a profile could give reads no file.
        if self.profile.is_none() && store_keys && self.region.is_some() && self.endpoint.is_some()
        {
            return Ok((builder, false));
        }
        let Some(profile) = super::aws_profile::load(self.profile.as_deref())? else {
            return Ok((builder, false));
        };
        let mut from_profile = false;
        let mut builder = builder;
        // Empty is unset, as for the AWS CLI.
        let env_keys = crate::config::env_value("AWS_ACCESS_KEY_ID").is_some();
        // A profile this store names beats the environment's keys (as `--profile` does
        // for the AWS CLI); `AWS_PROFILE` or `default` does not.
        let profile_keys = !store_keys && (self.profile.is_some() || !env_keys);
        let unset = |b: &object_store::aws::AmazonS3Builder, keys: &[K]| {
            keys.iter().all(|k| b.get_config_value(k).is_none())
        };
        if let Some(region) = &profile.region {
            if unset(&builder, &[K::Region, K::DefaultRegion]) {
                check_region(region).map_err(|message| {
                    KeyError::new(
                        "profile",
                        format!("the region of the AWS profile `{}` {message}", profile.name),
                    )
                })?;
                builder = builder.with_region(region);
            }
        }
        if let Some(endpoint) = &profile.endpoint_url {
            if unset(&builder, &[K::Endpoint, K::S3Endpoint]) {
                let problem = |message: String| {
                    KeyError::new(
                        "profile",
                        format!(
                            "the endpoint_url of the AWS profile `{}` {message}",
                            profile.name
                        ),
                    )
                };
                let parsed = crate::config::endpoint_form(endpoint).map_err(problem)?;
                if parsed.scheme() == "http" && !self.allow_http {
                    return Err(problem(
                        "is plain http://: set `allow_http = true` in this store to allow it"
                            .into(),
                    ));
                }
                builder = builder.with_endpoint(endpoint);
            }
        }
        // Last, so that STS is asked in the region the store ends with.
        if profile_keys {
            let make_sts = || {
                let region = builder
                    .get_config_value(&K::Region)
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "us-east-1".into());
                let endpoint = super::aws_role::sts_endpoint(
                    &region,
                    profile.endpoint_url.as_deref(),
                    &|var| crate::config::env_value(var),
                );
                let parsed = crate::config::endpoint_form(&endpoint).map_err(|message| {
                    KeyError::new(
                        "profile",
                        format!("the STS endpoint for the AWS profile `{}` {message}", profile.name),
                    )
                })?;
                // The client would refuse it on every attempt with a bare "builder error".
                let allow_http = builder
                    .get_config_value(&K::Client(object_store::ClientConfigKey::AllowHttp))
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                if parsed.scheme() == "http" && !allow_http {
                    return Err(KeyError::new(
                        "profile",
                        format!(
                            "the STS endpoint for the AWS profile `{}`, {endpoint} (from \
                             AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the profile's \
                             endpoint_url), is plain http://: set `allow_http = true` in this \
                             store to allow it",
                            profile.name
                        ),
                    ));
                }
                use object_store::client::HttpConnector;
                // The store's client options and authorities; not counted as its requests.
                let options = super::client_options(|key| builder.get_config_value(&K::Client(key)));
                let connector = super::ca::Trusting {
                    authorities: super::ca::authorities(self.ca_file.as_deref(), &["AWS_CA_BUNDLE"])?,
                    inner: object_store::client::ReqwestConnector {},
                };
                let client = connector.connect(&options).map_err(|e| {
                    KeyError::new("profile", format!("the STS client cannot be made: {e}"))
                })?;
                Ok(std::sync::Arc::new(super::aws_role::Sts { client, endpoint, region }))
            };
            // One STS client for every role of a chain.
            let shared = std::cell::OnceCell::new();
            let sts = || -> Result<std::sync::Arc<super::aws_role::Sts>, KeyError> {
                if let Some(sts) = shared.get() {
                    return Ok(std::sync::Arc::clone(sts));
                }
                let sts = make_sts()?;
                let _ = shared.set(std::sync::Arc::clone(&sts));
                Ok(sts)
            };
            // object_store's metadata-service and container providers, for a role's
            // `credential_source`: a store of the same bucket and region that sets only
            // what picks the provider (the metadata service tried once first).
            let metadata = |source: &super::aws_profile::Source, profile: &str| {
                use super::aws_profile::Source;
                let value = |k: K| builder.get_config_value(&k).filter(|v| !v.is_empty());
                let region = value(K::Region).unwrap_or_else(|| "us-east-1".into());
                let options =
                    super::client_options(|key| builder.get_config_value(&K::Client(key)));
                let mut bare = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(&self.bucket)
                    .with_region(&region)
                    .with_client_options(options);
                let keys: &[K] = match source {
                    Source::EcsContainer => &[
                        K::ContainerCredentialsRelativeUri,
                        K::ContainerCredentialsFullUri,
                        K::ContainerAuthorizationTokenFile,
                    ],
                    _ => &[K::MetadataEndpoint, K::ImdsV1Fallback],
                };
                for key in keys {
                    if let Some(v) = value(*key) {
                        bare = bare.with_config(*key, v);
                    }
                }
                let container = value(K::ContainerCredentialsRelativeUri).is_some()
                    || (value(K::ContainerCredentialsFullUri).is_some()
                        && value(K::ContainerAuthorizationTokenFile).is_some());
                if matches!(source, Source::EcsContainer) && !container {
                    return Err(KeyError::new(
                        "profile",
                        format!(
                            "the AWS profile `{profile}` assumes its role with \
                             `credential_source = EcsContainer`, and neither \
                             AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor \
                             AWS_CONTAINER_CREDENTIALS_FULL_URI with \
                             AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE is set"
                        ),
                    ));
                }
                let built = bare.build().map_err(|e| {
                    KeyError::new("profile", format!("the AWS profile `{profile}`: {e}"))
                })?;
                let inner = std::sync::Arc::clone(built.credentials());
                Ok(match source {
                    Source::EcsContainer => inner,
                    _ => std::sync::Arc::new(super::metadata::MetadataFirst::new(
                        inner,
                        super::metadata::Service::Aws,
                        value(K::MetadataEndpoint)
                            .unwrap_or_else(|| "http://169.254.169.254".to_string()),
                        format!(
                            "the AWS profile `{profile}`'s `credential_source = \
                             Ec2InstanceMetadata`"
                        ),
                    )) as object_store::aws::AwsCredentialProvider,
                })
            };
            let make = super::aws_role::Makers {
                sts: &sts,
                metadata: &metadata,
            };
            if let Some(provider) = super::aws_role::provider(&profile, &make)? {
                from_profile = true;
                builder = builder.with_credentials(provider);
            }
        }
        Ok((builder, from_profile))
    }

    /// A configuration for `bucket` with everything else at its default.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: None,
            region: None,
            endpoint: None,
            flavor: None,
            account: None,
            allow_http: false,
            ca_file: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            profile: None,
            virtual_hosted_style: false,
            skip_signature: false,
            options: Options::default(),
            retry: None,
            list_order: None,
        }
    }

    /// Everything this configuration sets, as object_store config keys.
    #[cfg(feature = "aws")]
    fn config_keys(&self) -> Result<Vec<(object_store::aws::AmazonS3ConfigKey, String)>, KeyError> {
        use object_store::aws::AmazonS3ConfigKey as K;
        use object_store::ClientConfigKey as C;
        let mut keys = self.options.parse::<K>("s3", |key| match key {
            K::Bucket => Some("bucket"),
            K::Region | K::DefaultRegion => Some("region"),
            K::Endpoint | K::S3Endpoint => Some("endpoint"),
            K::AccessKeyId => Some("access_key_id"),
            K::SecretAccessKey => Some("secret_access_key"),
            K::Token => Some("session_token"),
            K::VirtualHostedStyleRequest => Some("virtual_hosted_style"),
            K::SkipSignature => Some("skip_signature"),
            K::Client(C::AllowHttp) => Some("allow_http"),
            _ => None,
        })?;
        keys.extend([
            (K::Bucket, self.bucket.clone()),
            (K::Client(C::AllowHttp), self.allow_http.to_string()),
            (
                K::VirtualHostedStyleRequest,
                self.virtual_hosted_style.to_string(),
            ),
            (K::SkipSignature, self.skip_signature.to_string()),
        ]);
        let optional = [
            (K::Region, self.region.as_deref()),
            (K::Endpoint, self.endpoint.as_deref()),
            (K::AccessKeyId, self.access_key_id.as_deref()),
            (
                K::SecretAccessKey,
                self.secret_access_key.as_ref().map(Secret::expose),
            ),
            (K::Token, self.session_token.as_ref().map(Secret::expose)),
        ];
        keys.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?.to_string()))),
        );
        for (name, value) in self.flavor.map_or(&[][..], Flavor::options) {
            let key: K = name.parse().expect("a flavor's option is an AmazonS3ConfigKey");
            if !keys.iter().any(|(k, _)| *k == key) {
                keys.push((key, value.to_string()));
            }
        }
        Ok(keys)
    }
}

#[cfg(all(test, feature = "aws"))]
mod tests {
    use super::*;
    use object_store::aws::AmazonS3ConfigKey as K;

    fn value(config: &S3Config, key: K) -> Option<String> {
        let config = config.resolved().unwrap();
        let keys = config.config_keys().unwrap();
        keys.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    #[test]
    fn a_flavors_options_are_set_unless_the_store_sets_them() {
        let mut r2 = S3Config::new("b");
        r2.flavor = Some(Flavor::R2);
        r2.account = Some("acct".into());
        assert_eq!(
            value(&r2, K::CopyIfNotExists).as_deref(),
            Some("header: cf-copy-destination-if-none-match: *")
        );
        r2.options = toml::from_str("copy_if_not_exists = \"multipart\"").unwrap();
        assert_eq!(value(&r2, K::CopyIfNotExists).as_deref(), Some("multipart"));
        let mut gcs = S3Config::new("b");
        gcs.flavor = Some(Flavor::GcsHmac);
        assert_eq!(value(&gcs, K::DisableBulkDelete).as_deref(), Some("true"));
        assert_eq!(value(&S3Config::new("b"), K::DisableBulkDelete), None);
    }
}
