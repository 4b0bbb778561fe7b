//! Store configuration: files with named stores, URLs, the environment, and building
//! `Arc<dyn ObjectStore>` from them. This page is the reference for the file format: every
//! provider's keys, the settings every store has, metrics, tracing, request counts, signed
//! URLs, the URL registry and URL forms.
//!
//! # Files
//!
//! A TOML file (or JSON with the same structure: the name must end in `.toml` or `.json`)
//! names stores under `[stores.NAME]`; `default = "NAME"` picks the one
//! [`Config::open_default`] returns (optional when there is only one store).
//!
//! ```toml
//! default = "archive"
//!
//! [stores.archive]
//! provider = "s3"
//! bucket = "acme-archive"
//! prefix = "v2"
//! region = "eu-west-1"
//! access_key_id = "AKIA..."
//! secret_access_key = "${ARCHIVE_SECRET}"          # from the environment
//! options = { aws_copy_if_not_exists = "multipart", timeout = "30s" }
//!
//! [stores.minio]
//! provider = "s3"
//! bucket = "backups"
//! endpoint = "http://minio.internal:9000"
//! allow_http = true                                # plain http must be asked for
//! region = "us-east-1"
//! access_key_id = "${MINIO_USER}"
//! secret_access_key = "${MINIO_PASSWORD}"
//!
//! [stores.scratch]
//! provider = "local"
//! root = "../scratch"                              # relative to this file's folder
//! create_root = true
//! ```
//!
//! Swapping providers is an edit of the file: change `provider` and its keys; the code that
//! calls `config.open("archive")` stays the same (the repository's
//! `examples/swap_provider.rs` shows it, and `stratus config check` shows every store of a
//! file, what it is built as and where it points, secrets hidden).
//!
//! **Checked on load, with the file, store and key in every message:** TOML/JSON syntax
//! (line and column, without quoting the line, which may hold a secret); every key's name
//! and type; unknown keys anywhere (top level, store, members of composite stores,
//! `options`), with one message shape for all (``unknown field `x`, expected one of ...``:
//! composite stores are parsed by serde like providers); missing required keys; unknown
//! providers; `${VAR}` references; `http://` endpoints without `allow_http = true`;
//! prefixes; that `default` names a store. Opening an unknown store name lists the ones
//! there are. The file must be a regular file (links followed) of at most
//! [`MAX_CONFIG_BYTES`].
//!
//! **`${VAR}` and `${VAR:-default}`** in any string value are replaced from the
//! environment; an unset variable without a default is an error naming it. `$${` is a
//! literal `${`. Credentials left out of the file also come from each provider's usual
//! environment (`AWS_ACCESS_KEY_ID`, `AZURE_STORAGE_ACCOUNT_KEY`,
//! `GOOGLE_SERVICE_ACCOUNT`...), and for `s3` from the AWS shared files (`profile`). Every value a `${VAR}` put into a store is cut from its
//! errors (load, open, signer, its requests' errors for cloud stores) as a secret is.
//!
//! **Secrets** (`secret_access_key`, `session_token`, `access_key`, `sas_token`,
//! `bearer_token`, `service_account_key`, every `options` value) never appear in `Debug`,
//! `Display` or error text: config types print `<redacted>`, and every cloud store stratus
//! builds is wrapped (`RedactedStore`) so that its `Debug` shows only its `Display` form,
//! provider and bucket (object_store 0.14's own Azure store prints tokens in `Debug`; tests
//! pin both); local and memory stores hold no credentials and are not wrapped. Dependencies
//! quote values in their messages (serde's "invalid type: string ...", a GCS key encoded
//! twice, a request URL carrying a SAS token), so error text is scrubbed at every boundary
//! (parse, build, and every error a built store returns): any run of 8 characters of a
//! secret, raw or in the forms it gets quoted in (JSON-escaped once or twice,
//! `Debug`-escaped, URL-encoded), becomes `<redacted>`. Secrets are the values of the keys
//! above, of `options` whose name says secret, token, password, SAS, private or ends in
//! `key` (not a key id), and of such keys in inline members; values shorter than 6
//! characters are too short to tell from ordinary words and are not scrubbed. Values of
//! other keys are quoted when that explains the error (`allow_http = "maybe"`).
//!
//! # Keys of every provider
//!
//! Every provider except `sharded` and `replicated` also takes `prefix` (a key prefix that
//! scopes the store: it sees only keys below it, without the prefix). The keys are the
//! fields of [`S3Config`], [`GcsConfig`], [`AzureConfig`], [`LocalConfig`],
//! [`MemoryConfig`], [`ShardedConfig`] and [`ReplicatedConfig`].
//!
//! | provider | key | type | meaning |
//! |---|---|---|---|
//! | `s3` | `bucket` | string, **required** | bucket name |
//! | | `region` | string | default `us-east-1`; use that for MinIO. For AWS, when nothing gives one (no endpoint, flavor, `AWS_REGION` or profile region), [`Config::resolve_regions`] (which the `stratus` command runs) asks S3 where the bucket is (one HEAD) |
//! | | `endpoint` | URL | S3-compatible server, e.g. `http://127.0.0.1:9000` |
//! | | `flavor` | `"r2"`, `"b2"`, `"wasabi"`, `"spaces"`, `"oci"`, `"gcs-hmac"`, `"minio"`, `"ceph"`, `"seaweedfs"` | the S3-compatible service the bucket is on: sets its endpoint, region, options and listing order where the store leaves them unset (table: [`Flavor`]) |
//! | | `account` | string | with `flavor = "r2"` the Cloudflare account id, with `"oci"` the tenancy's namespace (part of the endpoint's host) |
//! | | `allow_http` | bool | permit an `http://` endpoint |
//! | | `ca_file` | path | PEM file of certificate authorities trusted besides the system's (a private CA); relative to the config file. Unset: the file `AWS_CA_BUNDLE` names. `SSL_CERT_FILE` extends the system's roots for every store |
//! | | `access_key_id` | string | |
//! | | `secret_access_key` | secret | |
//! | | `session_token` | secret | temporary credentials |
//! | | `profile` | string | the AWS profile to take keys, session token, `region` and `endpoint_url` from (`~/.aws/credentials`, `~/.aws/config`, or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`); without it `AWS_PROFILE` (or `AWS_DEFAULT_PROFILE`), else `default` if it exists; `[profile  NAME]` may space its words as botocore allows. The store's own keys come first, then (for a profile not named here) `AWS_ACCESS_KEY_ID`; a profile's `credential_process` is run as the AWS CLI runs it and again before its keys expire; a profile's `role_arn` is assumed through STS (`AssumeRole`, signed by object_store) with its `source_profile` (keys, process or a role in turn) or `credential_source` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`), with `external_id`, `role_session_name` and `duration_seconds`, and assumed again before its keys expire; SSO, `mfa_serial` and web identity in a profile are refused by name |
//! | | `virtual_hosted_style` | bool | `bucket.host/key` instead of path-style `host/bucket/key` (default path-style, what MinIO wants) |
//! | | `skip_signature` | bool | unsigned requests (public buckets) |
//! | | `list_order` | `"server"` or `"sorted"` | `"sorted"`: stratus lists folder by folder in byte order, for servers that do not (SeaweedFS); at least one request per folder (default `"server"`, `"sorted"` with `flavor = "seaweedfs"`) |
//! | | `options` | table | any other `AmazonS3ConfigKey`, e.g. `aws_copy_if_not_exists`, `aws_conditional_put`, `aws_server_side_encryption`, `timeout`, `connect_timeout` |
//! | | `retry` | table | `max_retries`, `retry_timeout`, `init_backoff`, `max_backoff` (durations like `"30s"`), `backoff_base`; unset fields keep object_store's defaults (10 retries, 3 min) |
//! | `gcs` | `bucket` | string, **required** | |
//! | | `service_account` | path | key file; relative to the config file |
//! | | `service_account_key` | secret | the key file's JSON |
//! | | `application_credentials` | path | ADC file |
//! | | `endpoint` | URL | API base URL (emulators) |
//! | | `allow_http` | bool | |
//! | | `ca_file` | path | as for `s3` (no variable) |
//! | | `skip_signature` | bool | unauthenticated reads |
//! | | `options` | table | any other `GoogleConfigKey` |
//! | | `retry` | table | as for `s3` |
//! | `azure` | `container` | string, **required** | |
//! | | `account` | string | storage account (required unless `use_emulator`) |
//! | | `access_key` | secret | account key |
//! | | `sas_token` | secret | shared access signature query string |
//! | | `connection_string` | secret | an Azure Storage connection string (`AccountName=...;AccountKey=...;BlobEndpoint=...`, or `UseDevelopmentStorage=true`) instead of `account`, `access_key` / `sas_token`, `endpoint` and `use_emulator`; without them all, `AZURE_STORAGE_CONNECTION_STRING`. The az CLI's `AZURE_STORAGE_ACCOUNT` and `AZURE_STORAGE_KEY` are read where nothing else gives an account or key |
//! | | `bearer_token` | secret | static OAuth token |
//! | | `use_emulator` | bool | Azurite with its development account; URL from `AZURITE_BLOB_STORAGE_URL` (default `http://127.0.0.1:10000`), so `endpoint` is refused with it |
//! | | `endpoint` | URL | account URL, default `https://ACCOUNT.blob.core.windows.net` |
//! | | `allow_http` | bool | |
//! | | `ca_file` | path | as for `s3` (no variable) |
//! | | `skip_signature` | bool | public containers |
//! | | `credential` | string | which credential, when not the first the keys and environment give (`auto`): `cli` (az login), `managed-identity`, `workload-identity`, `client-secret`, `access-key`, `sas-token`, `bearer-token` |
//! | | `options` | table | any other `AzureConfigKey`, e.g. `azure_client_id`, `azure_tenant_id`, `azure_use_azure_cli` |
//! | | `retry` | table | as for `s3` |
//! | `local` | `root` | path, **required** | folder; relative to the config file, `~/...` under `HOME` |
//! | | `create_root` | bool | create `root` if missing (otherwise a missing root is an error) |
//! | `memory` | | | a new, empty in-process store on every `open` |
//! | `sharded` | `members` | list, **required** | each a store name of this file, or `{ store = NAME or { inline store table }, weight = 1.0, name = NAME }`; `name` (default: the store's name, required inline) is what placement hashes |
//! | | `slot_bits` | integer | 8 to 24, default 20 |
//! | | `previous` | list | while rebalancing, the membership objects move from (same form as `members`; a name in both must be the same store) |
//! | `replicated` | `members` | list, **required** | store names of this file or `{ store = NAME or { inline store table }, name = NAME }`; the first is the primary |
//! | | `write` | `"all"` or `{ quorum = N }` | when a write is acknowledged (default `"all"`) |
//! | | `read` | `"ordered"` or `{ hedged_after_ms = N }` | where reads go (default `"ordered"`) |
//! | | `list` | `"first"` or `"merged"` | where listings come from (default `"first"`) |
//! | | `journal` | path | a file (relative to the config file) that keeps what members missed across restarts; created if missing |
//! | | `member_timeout_ms` | integer | a member call taking longer is abandoned and counts as failed |
//! | | `breaker` | `{ failures = N, open_for_ms = M }` | after N failed calls in a row a member is skipped for M ms (doubling after a failed probe, at most 16×) |
//!
//! `options` keys are object_store's config keys (and their aliases) for that provider,
//! checked by object_store's own parser: a misspelt key is an error, and a key that has a
//! dedicated stratus key (`aws_region` → `region`) is refused so each setting has one place.
//! Values may be strings, numbers or booleans. A `retry` table object_store's backoff cannot
//! run with (`backoff_base` at or below 1 or above 1000, `init_backoff = "0s"`, a first
//! backoff longer than the longest, counting object_store's defaults for unset fields) is
//! refused at load, naming file, store and key, instead of panicking on the first retry
//! ([`RetrySettings`]).
//!
//! The composites, how they place, write, read and list, are described in
//! [`crate::shard`] and [`crate::replicate`].
//!
//! # Settings every store has: limits, deadline, metrics, tracing, prices
//!
//! Any store, of any provider, composites and inline members included, takes these keys
//! ([`StoreSettings`]; a composite's apply to the whole, a member's to that member; a
//! member that names another store of the file has that store's):
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `limits` | `{ in_flight = N, requests_per_second = R, bytes_per_second = B }` | at most N operations at once (object_store's `LimitStore`; a get holds its slot until its body is read or dropped); operations started per second (R may be fractional; `governor`'s GCRA with bursts of a tenth of a second, so a 10 s window stays within 1%); bytes written (payloads, parts) and read (bodies, paced as they are read) per second. A listing counts one request when it starts, whatever its pages ([`Limits`]) |
//! | `deadline` | duration | an operation taking longer fails (`"the operation took longer than its deadline (30s)"`), waiting for a limit included; for a listing, the wait for each entry |
//! | `metrics` | bool | metrics through the [`metrics`](https://docs.rs/metrics) facade (any exporter), below |
//! | `tracing` | bool | a span per operation through [`tracing`](https://docs.rs/tracing), below |
//! | `prices` | `{ list, get, head, put, delete, multipart, other }` | USD (or any currency) per 1,000 requests of each kind, for the estimated cost of the requests counted ([`crate::requests`]); the `stratus` command prints it |
//!
//! ```toml
//! [stores.aws]
//! provider = "s3"
//! bucket = "logs"
//! limits = { in_flight = 32, requests_per_second = 200, bytes_per_second = 104857600 }
//! deadline = "2m"
//! metrics = true
//! tracing = true
//! ```
//!
//! Rates (`requests_per_second`, `bytes_per_second`) need the crate feature `limits`;
//! `metrics` and `tracing` need the feature `observe` (both on by default): a build without
//! one refuses a file that asks for it, naming the key and the feature. The accepted ranges:
//! `requests_per_second` from 1e-6 (one request every 11.6 days) to 1e9
//! ([`Limits::REQUESTS_PER_SECOND`]), `bytes_per_second` from 1 to `u64::MAX` (counted in
//! blocks above a million a second), `in_flight` at most [`Limits::MAX_IN_FLIGHT`];
//! outside, the load fails naming file, store, key and range; never a panic at open.
//!
//! Off unless set: on in-memory stores metrics + tracing add about 200 ns per operation
//! (+40%); on SeaweedFS an inventory of 20,000 objects costs the same observed or not (the
//! repository's `docs/BENCHMARKS.md`). The order is fixed:
//! `ObservedStore(LimitedStore(LimitStore(store)))`, so observed latency includes waiting
//! for a limit. A request `timeout` (in `options`) at or above the retry budget
//! (`retry.retry_timeout`, 3 min by default) is refused on load: a request that times out
//! would leave no time to retry it (say `retry.max_retries = 0` if one attempt is meant).
//! [`StoreSettings::apply`] does the same for a store built in code.
//!
//! ## Metrics
//!
//! Labels `store` (the store's name in the file, or the inline member's name) and
//! `operation` (`put`, `put_multipart`, `get`, `get_ranges`, `delete`, `list`,
//! `list_with_delimiter`, `copy`, `rename`, `multipart_part`, `multipart_complete`,
//! `multipart_abort`):
//!
//! | name | kind | more labels | what |
//! |---|---|---|---|
//! | `stratus_operations_total` | counter | `outcome` | operations ended: `ok`, `cancelled` (dropped by the caller), or the error's kind (`not_found`, `already_exists`, `precondition`, `not_modified`, `permission_denied`, `unauthenticated`, `not_implemented`, `not_supported`, `invalid_path`, `generic`, ...) |
//! | `stratus_operation_duration_seconds` | histogram | | from the call to its answer (a get: to its response; a listing: to its end) |
//! | `stratus_operations_in_flight` | gauge | | operations started and not ended |
//! | `stratus_bytes_total` | counter | `direction` = `written` / `read` | put payloads and parts written; get responses' bodies (their whole range, counted when the answer comes, not what the caller reads) |
//!
//! Install the recorder before a store's first operation (the handles of the `ok` path are
//! registered with the recorder installed when the store first runs an operation of that
//! kind). The repository's `examples/prometheus.rs` (`cargo run --example prometheus
//! [CONFIG [STORE]]`) runs an inventory with metrics on and prints what a Prometheus scrape
//! would get.
//!
//! ## Tracing
//!
//! A `DEBUG` span named `stratus` per operation, fields `store`, `operation`, `key` (the
//! object's path; a listing's prefix), `bytes`, `outcome`. It is entered while the operation
//! runs, so a composite's span holds its members' spans (a replicated put: one span for the
//! store, one per member inside it). Keys are paths; no span, metric label or log line holds
//! a credential or a URL.
//!
//! # Requests sent, signed URLs, the URL registry
//!
//! **Requests sent** ([`crate::requests`]): every S3, GCS and Azure store a [`Config`]
//! builds sends its HTTP requests through a counting connector, below object_store's
//! retries, so retries count. `config.requests().of("aws")` ([`Config::requests`]) gives
//! them by kind (LIST, GET, HEAD, PUT, DELETE, multipart, other), counted in that `Config`'s
//! own book; the `stratus` command ends with a line per store on stderr, e.g.
//! `requests: aws: 153 LIST, 0 GET, 0 HEAD, 0 PUT, 0 DELETE, 0 multipart, 0 other: about $0.0008`
//! (with `prices`).
//!
//! **Signed URLs**: [`Config::signer`]`("aws")` is the provider client's object_store
//! `Signer` (S3, GCS, Azure) under the store's prefix, which the wrapped store itself cannot
//! offer. It shows only its store and provider in `Debug`, scrubs the store's secrets from
//! its errors, and refuses an expiry under 1 s or over 7 days ([`MAX_SIGNED_URL_EXPIRY`]:
//! the most S3 and GCS accept; Azure is held to it too, since a user-delegation SAS cannot
//! outlive its 7-day key and an account-key SAS is revoked only by rotating the key) before
//! object_store sees it. `stratus sign aws docs/report.pdf [--method put] [--expires 600]`
//! prints one; the repository's `examples/sign.rs` signs offline with made-up keys. Signed
//! URLs are verified on SeaweedFS and moto, not on Azurite (it refuses object_store's SAS
//! for its path-style URLs) nor on GCS.
//!
//! **A URL registry**: [`ConfigRegistry::new`]`(config)` implements object_store's
//! `ObjectStoreRegistry`: `resolve("s3://acme/logs/2024/x.json")` returns the file's store
//! for that bucket (the one with the longest matching `prefix`, built once, with its
//! credentials and settings) and the path below it. URLs match by whole, decoded segments:
//! `s3://acme/team%20reports/q3.csv` is `q3.csv` in the store whose `prefix` is
//! `team reports`. Composites have no URL: `register` them under one.
//!
//! # URLs
//!
//! [`parse_url`] (and [`crate::open`], and the `stratus` command wherever it takes a store)
//! takes these forms:
//!
//! | URL | store |
//! |---|---|
//! | `s3://BUCKET[/PREFIX]` (also `s3a://`) | S3 |
//! | `gs://BUCKET[/PREFIX]` (also `gcs://`) | GCS |
//! | `az://CONTAINER[/PREFIX]` (also `azure://`, `abfs://`) | Azure; `?account=NAME` or `AZURE_STORAGE_ACCOUNT_NAME` |
//! | `abfss://CONTAINER@ACCOUNT.dfs.core.windows.net[/PREFIX]` (also `abfs://`) | Azure, the Data Lake form Hadoop and object_store write |
//! | `https://BUCKET.s3.REGION.amazonaws.com[/PREFIX]`, `https://s3.REGION.amazonaws.com/BUCKET[/PREFIX]` (also without `.REGION`, `s3-REGION`, `s3.dualstack.REGION`) | S3, the region from the host |
//! | `https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]` (also `.dfs.`) | Azure |
//! | `https://storage.googleapis.com/BUCKET[/PREFIX]`, `https://BUCKET.storage.googleapis.com[/PREFIX]` | GCS |
//! | `file:///ABSOLUTE/PATH` | local folder (the path is the root) |
//! | `memory://[/PREFIX]` | a new in-memory store |
//!
//! An `https://` URL of another host is refused: it does not say what speaks there (write
//! `s3://BUCKET/PREFIX?endpoint=https://HOST`).
//!
//! Query parameters take the provider's keys from the table above
//! (`s3://b/p?region=eu-west-1&endpoint=http://127.0.0.1:9000&allow_http=true`); any other
//! parameter is an object_store option (`?aws_copy_if_not_exists=multipart`), checked the
//! same way. `true`/`false` are booleans; percent-encoding in the path is decoded
//! (`caf%C3%A9` and `café` are the prefix `café`; a `#` must be `%23`, or it starts a
//! fragment, which is refused; write `?` as `%3F` and `%` as `%25`). Errors name the URL by
//! scheme and bucket only, since its query may carry credentials.
//!
//! # Networks: certificate authorities and proxies
//!
//! A server whose certificate a private authority signed (MinIO or Ceph behind a
//! company's CA, a TLS-inspecting proxy) needs that authority: `ca_file = "ca.pem"` in
//! the store (a PEM file, one certificate or a bundle, trusted besides the system's roots;
//! for `s3`, the file `AWS_CA_BUNDLE` names when `ca_file` is unset), or `SSL_CERT_FILE`
//! for every store of the process. Without it the error says that the certificate was not
//! accepted, and `-v` (or [`Error::full`](crate::Error::full)) says why.
//!
//! Proxies: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their lower-case
//! forms) are followed as curl follows them; one store can have its own with
//! `options = { proxy_url = "http://proxy:3128", proxy_excludes = "10.0.0.0/8,.internal" }`
//! (`proxy_ca_certificate`: the proxy's own CA, PEM text). Keep a proxy password in
//! `${VAR}`: values put in by a reference are cut from every error.
//!
//! # The environment
//!
//! [`crate::from_env`] reads `STRATUS_URL`, or `STRATUS_CONFIG` (a file) with
//! `STRATUS_STORE` (a store in it; the file's default when unset).

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
mod url_https;

pub use self::member::{MemberStore, ReplicatedMember, ShardedMember};
pub use self::options::{OptionValue, Options};
pub use self::providers::{
    AzureConfig, AzureCredential, Flavor, GcsConfig, ListOrder, LocalConfig, MemoryConfig,
    ProviderConfig, ReplicatedConfig, S3Config, ShardedConfig,
};
pub use self::registry::ConfigRegistry;
pub use self::retry::RetrySettings;
pub use self::secret::Secret;
pub(crate) use self::secret::{scrub, scrub_crate_error, scrub_error};
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

/// The environment variable `name` when it is set and not empty: an empty variable is
/// unset, as for the AWS CLI and the Azure SDKs.
pub(crate) fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `path` from a configuration file, made absolute: `~` and `~/...` are under `HOME` (as a
/// shell would have it), anything relative is relative to `base`, the file's folder.
pub(crate) fn resolve_path(base: &std::path::Path, path: &std::path::Path) -> std::path::PathBuf {
    let home = || std::env::var_os("HOME").filter(|h| !h.is_empty());
    match path.strip_prefix("~") {
        Ok(rest) => match home() {
            Some(home) => std::path::Path::new(&home).join(rest),
            None => base.join(path),
        },
        Err(_) => base.join(path),
    }
}

/// Refuse `http://` endpoints unless `allow_http` is set; check the URL's form
/// ([`endpoint_form`]).
pub(crate) fn check_endpoint(endpoint: Option<&str>, allow_http: bool) -> Result<(), KeyError> {
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    let parsed = endpoint_form(endpoint).map_err(|message| KeyError::new("endpoint", message))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_http => Ok(()),
        "http" => Err(KeyError::new(
            "endpoint",
            "a plain http:// endpoint sends data unencrypted; set `allow_http = true` in this \
             store to allow it (or use https://)",
        )),
        // Not quoted: a mistyped endpoint (`KEY:SECRET@host` without a scheme) would make
        // the secret the scheme.
        _ => Err(KeyError::new(
            "endpoint",
            "unsupported scheme; expected https:// (or http:// with allow_http = true)",
        )),
    }
}

/// `endpoint` parsed, when it is what an endpoint may be: scheme, host, port and at most a
/// path, written as the URL parser reads it. Whatever an endpoint carries is shown wherever
/// the store is (errors, logs, `Display`, signed URLs), so it may carry no credentials
/// (`user:password@`), query or fragment; and what the parser would rewrite (whitespace,
/// a `\` it reads as `/`, so that `host\user:secret@other` hides credentials in a path)
/// is refused too: object_store sends the text as written. No message quotes the value.
pub(crate) fn endpoint_form(endpoint: &str) -> Result<::url::Url, String> {
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '@')
    {
        return Err(
            "holds whitespace, a control character, a `\\` or an `@`, which no endpoint \
             needs (credentials go in the store's keys, not in `user:password@host`)"
                .into(),
        );
    }
    let parsed = ::url::Url::parse(endpoint)
        .map_err(|e| format!("not a URL ({e}); expected e.g. https://host:port"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "carries credentials (`user:password@host`), which would be shown \
                    wherever the endpoint is; remove them and give the store's credential \
                    keys instead"
                .into(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(
            "has a query or fragment (`?...`, `#...`), where a token would be shown \
                    wherever the endpoint is; an endpoint is scheme, host, port and at most \
                    a path"
                .into(),
        );
    }
    Ok(parsed)
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
            // A name with `@` is most likely a mistyped URL with credentials in it
            // (`s3:/KEY:SECRET@bucket`): not quoted.
            let named = if name.contains('@') {
                "no store by that name (it holds an `@`: a URL is written \
                 scheme://bucket/prefix, credentials never in it)"
                    .to_string()
            } else {
                format!("no store named `{name}`")
            };
            ConfigError::new(
                &self.origin,
                format!("{named}; {}", names_hint(&self.stores)),
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

    /// Where store `name` will find its credentials, as people read it (`keys in the config
    /// file`, `AWS profile ops: its credential_process`, `the environment
    /// (AWS_ACCESS_KEY_ID)`, `az login`), read from the configuration, the environment
    /// and the files its client reads, without a request: never a secret. `None` for a
    /// store that needs none (local, memory) or a composite (its members have theirs).
    pub fn credentials(&self, name: &str) -> Result<Option<String>> {
        Ok(self.get(name)?.credentials())
    }

    /// Whether a scan of store `name` may cut its listings into key ranges
    /// ([`StoreConfig::key_ranges`]).
    pub fn key_ranges(&self, name: &str) -> Result<bool> {
        Ok(self.get(name)?.key_ranges())
    }

    /// Whether the server of store `name` is known to begin a listing at the offset asked
    /// ([`StoreConfig::offsets_on_server`]).
    pub fn offsets_on_server(&self, name: &str) -> Result<bool> {
        Ok(self.get(name)?.offsets_on_server())
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

    /// What lists the versions, delete markers and unfinished uploads of store `name`
    /// ([`crate::billed`]; its provider must be S3), under the store's prefix, with the
    /// store's credentials, and its requests counted with the store's.
    pub fn billed(&self, name: &str) -> Result<Arc<dyn crate::billed::Billed>> {
        let config = self.get(name)?;
        config
            .billed_labelled(name, &self.requests)
            .map_err(|e| e.into_error(&self.origin, name, config))
    }

    /// [`StoreConfig::resolve_region`] for every `s3` store that nothing gives a region
    /// (one HEAD each, counted as the store's): the stores and the regions set.
    #[cfg(feature = "aws")]
    pub async fn resolve_regions(&mut self) -> Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        for (name, store) in self.stores.iter_mut() {
            match store.resolve_region_labelled(name, &self.requests).await {
                Ok(Some(region)) => found.push((name.clone(), region)),
                Ok(None) => {}
                Err(e) => return Err(e.into_error(&self.origin, name, store)),
            }
        }
        Ok(found)
    }

    /// [`StoreConfig::bucket_region`] of store `name`.
    #[cfg(feature = "aws")]
    pub async fn bucket_region(&self, name: &str) -> Result<Option<String>> {
        let config = self.get(name)?;
        config
            .bucket_region_labelled(name, &self.requests)
            .await
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
