//! Configuration: every bad-input case names the file, the store, the key and what was
//! expected; secrets never show in Debug, Display or errors; URL and env forms.

use std::path::PathBuf;
use stratus::config::{ProviderConfig, S3Config, Secret, StoreConfig};
use stratus::object_store::path::Path;
use stratus::object_store::ObjectStoreExt;
use stratus::{Config, Error};

const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";

/// Write `text` to `dir/name` and load it; returns the path too, for message checks.
fn load_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf, Result<Config, Error>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let result = Config::load(&path);
    (dir, path, result)
}

/// Load TOML that must fail; return the error's text, checked to start with the file path.
fn toml_error(text: &str) -> String {
    let (_dir, path, result) = load_file("stores.toml", text);
    let err = result
        .expect_err("configuration should have been refused")
        .to_string();
    assert!(
        err.starts_with(&path.display().to_string()),
        "error does not name the file: {err}"
    );
    assert!(!err.contains(SECRET), "error leaks the secret: {err}");
    err
}

const S3_OK: &str = r#"
[stores.archive]
provider = "s3"
bucket = "acme"
"#;

#[test]
fn malformed_toml_gives_position_without_quoting_the_line() {
    let err = toml_error(&format!(
        "[stores.archive]\nprovider = \"s3\"\nsecret_access_key = \"{SECRET}\nbucket = \"b\"\n"
    ));
    assert!(err.contains("invalid TOML at line 3"), "{err}");
}

#[test]
fn malformed_json_gives_position() {
    let (_dir, path, result) = load_file(
        "stores.json",
        "{\"stores\": {\"a\": {\"provider\": \"memory\",}}}",
    );
    let err = result.unwrap_err().to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(
        err.contains("invalid JSON") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn json_files_are_read_like_toml_files() {
    let json = r#"{"default": "m", "stores": {"m": {"provider": "memory", "prefix": "p"},
                   "s": {"provider": "s3", "bucket": "b", "options": {"aws_copy_if_not_exists": "multipart"}}}}"#;
    let (_dir, _path, result) = load_file("stores.json", json);
    let config = result.unwrap();
    assert_eq!(config.names().collect::<Vec<_>>(), ["m", "s"]);
    assert_eq!(config.default_name().unwrap(), "m");
    assert_eq!(config.get("m").unwrap().prefix(), Some("p"));
}

#[test]
fn unknown_file_extension_is_refused() {
    let (_dir, _path, result) = load_file("stores.yaml", S3_OK);
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("name the file *.toml or *.json"));
}

#[test]
fn missing_file_names_it() {
    let err = Config::load("/nonexistent/stores.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read configuration file /nonexistent/stores.toml"),
        "{err}"
    );
}

#[test]
fn wrong_type_names_the_key_and_the_expected_type() {
    let err = toml_error("[stores.a]\nprovider = \"s3\"\nbucket = \"b\"\nallow_http = \"yes\"\n");
    assert!(err.contains("store `a`, key `allow_http`"), "{err}");
    assert!(err.contains("expected a boolean"), "{err}");
}

#[test]
fn missing_required_key_is_named() {
    let err = toml_error("[stores.a]\nprovider = \"s3\"\nregion = \"eu-west-1\"\n");
    assert!(
        err.contains("store `a`, key `bucket`: missing field `bucket`"),
        "{err}"
    );
    let err = toml_error("[stores.a]\nprovider = \"local\"\n");
    assert!(err.contains("key `root`"), "{err}");
    let err = toml_error("[stores.a]\nprovider = \"azure\"\naccount = \"x\"\n");
    assert!(err.contains("key `container`"), "{err}");
}

#[test]
fn unknown_keys_are_errors_everywhere() {
    // In a store.
    let err = toml_error("[stores.a]\nprovider = \"s3\"\nbucket = \"b\"\nbukcet = \"c\"\n");
    assert!(
        err.contains("store `a`, key `bukcet`: unknown field `bukcet`, expected one of"),
        "{err}"
    );
    // At the top level.
    let err = toml_error(&format!("stors = 1\n{S3_OK}"));
    assert!(err.contains("unknown field `stors`"), "{err}");
    // In options, checked by object_store's own key parser.
    let err = toml_error(&format!(
        "{S3_OK}options = {{ aws_copy_if_not_exist = \"multipart\" }}\n"
    ));
    assert!(
        err.contains("store `archive`, key `options.aws_copy_if_not_exist`"),
        "{err}"
    );
    assert!(err.contains("not an object_store option for s3"), "{err}");
    // A key of another provider is unknown, too.
    let err = toml_error("[stores.a]\nprovider = \"gcs\"\nbucket = \"b\"\nregion = \"x\"\n");
    assert!(
        err.contains("key `region`: unknown field `region`"),
        "{err}"
    );
    // Provider-specific aliases are valid options only for their provider.
    let err = toml_error(
        "[stores.a]\nprovider = \"azure\"\ncontainer = \"c\"\noptions = { aws_region = \"x\" }\n",
    );
    assert!(err.contains("key `options.aws_region`"), "{err}");
}

#[test]
fn options_may_not_shadow_dedicated_keys() {
    let err = toml_error(&format!(
        "{S3_OK}options = {{ aws_region = \"eu-west-1\" }}\n"
    ));
    assert!(
        err.contains("key `options.aws_region`: set `region` in the store itself"),
        "{err}"
    );
    let err = toml_error(&format!(
        "{S3_OK}options = {{ aws_secret_access_key = \"{SECRET}\" }}\n"
    ));
    assert!(
        err.contains("set `secret_access_key` in the store itself"),
        "{err}"
    );
}

#[test]
fn valid_options_pass_and_reach_object_store() {
    let text = format!("{S3_OK}options = {{ aws_copy_if_not_exists = \"multipart\", timeout = \"30s\", aws_disable_tagging = true }}\n");
    let (_dir, _path, result) = load_file("stores.toml", &text);
    let config = result.unwrap();
    config.open("archive").unwrap();
    // A value of the wrong form is caught by object_store at build time, with the store named.
    let text = format!("{S3_OK}options = {{ aws_disable_tagging = \"maybe\" }}\n");
    let (_dir, path, result) = load_file("stores.toml", &text);
    let err = result.unwrap().open("archive").unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: store `archive`: cannot build the s3 store",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn unknown_or_missing_provider() {
    let err = toml_error("[stores.a]\nprovider = \"dropbox\"\n");
    assert!(err.contains("key `provider`: unknown provider `dropbox`; expected one of s3, gcs, azure, local, memory"), "{err}");
    let err = toml_error("[stores.a]\nbucket = \"b\"\n");
    assert!(err.contains("key `provider`: missing"), "{err}");
    let err = toml_error("[stores.a]\nprovider = 3\n");
    assert!(err.contains("key `provider`: expected a string"), "{err}");
}

#[test]
fn unknown_store_names_the_available_ones() {
    let (_dir, path, result) = load_file(
        "stores.toml",
        &format!("{S3_OK}[stores.scratch]\nprovider = \"memory\"\n"),
    );
    let config = result.unwrap();
    let err = config.open("archiv").unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: no store named `archiv`; the stores are: `archive`, `scratch`",
            path.display()
        )
    );
    let err = config.open_default().unwrap_err().to_string();
    assert!(
        err.contains("several stores and no `default = \"NAME\"`"),
        "{err}"
    );
}

#[test]
fn default_must_name_a_store() {
    let err = toml_error(&format!("default = \"nope\"\n{S3_OK}"));
    assert!(
        err.contains("key `default`: `nope` is not a store in this file"),
        "{err}"
    );
}

#[test]
fn a_file_without_stores_is_refused() {
    let err = toml_error("default = \"x\"\n");
    assert!(err.contains("no stores"), "{err}");
}

#[test]
fn plain_http_endpoint_needs_allow_http() {
    let text =
        "[stores.minio]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9000\"\n";
    let err = toml_error(text);
    assert!(err.contains("store `minio`, key `endpoint`"), "{err}");
    assert!(
        err.contains("set `allow_http = true` in this store"),
        "{err}"
    );
    let (_dir, _path, ok) = load_file("stores.toml", &format!("{text}allow_http = true\n"));
    ok.unwrap().open("minio").unwrap();
    // The same rule for every provider with an endpoint.
    let err =
        toml_error("[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nendpoint = \"http://x\"\n");
    assert!(err.contains("allow_http"), "{err}");
    let err = toml_error("[stores.z]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"a\"\nendpoint = \"http://x\"\n");
    assert!(err.contains("allow_http"), "{err}");
    let err = toml_error("[stores.a]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"ftp://x\"\n");
    assert!(
        err.contains("unsupported scheme; expected https://"),
        "{err}"
    );
}

#[test]
fn an_endpoint_carrying_a_secret_is_refused_without_quoting_it() {
    let refused = "holds whitespace, a control character, a `\\` or an `@`";
    for (endpoint, says) in [
        ("https://admin:hunter2@minio.internal:9000", refused),
        ("https://hunter2@minio.internal:9000", refused),
        // The URL parser reads `\` as `/`: credentials would hide in a path.
        (
            r"http://127.0.0.1:1\CORP\alice:hunter2@minio.internal:9000",
            refused,
        ),
        ("http://127.0.0.1:1/AKIA:hunter2@x", refused),
        // What the parser trims or rewrites, object_store would send as written.
        (" https://hunter2.internal:9000", refused),
        ("https://hunter2.internal:9000 ", refused),
        ("https://hunter2.internal:9000/a b", refused),
        (r"https://hunter2.internal:9000\", refused),
        (
            "https://minio.internal:9000/?sig=hunter2",
            "has a query or fragment",
        ),
        (
            "https://minio.internal:9000/#hunter2",
            "has a query or fragment",
        ),
        // A mistyped endpoint whose scheme would be the secret.
        ("hunter2:9000", "unsupported scheme; expected https://"),
    ] {
        for (provider, location) in [
            ("s3", "bucket = \"b\""),
            ("gcs", "bucket = \"b\""),
            ("azure", "container = \"c\"\naccount = \"a\""),
        ] {
            let err = toml_error(&format!(
                "[stores.x]\nprovider = \"{provider}\"\n{location}\nendpoint = '{endpoint}'\n"
            ));
            assert!(err.contains("store `x`, key `endpoint`"), "{err}");
            assert!(err.contains(says), "{endpoint}: {err}");
            assert!(!err.contains("hunter2"), "the secret is quoted back: {err}");
        }
    }
}

#[test]
fn azure_emulator_and_endpoint_conflict_is_explained() {
    let err = toml_error(
        "[stores.z]\nprovider = \"azure\"\ncontainer = \"c\"\nuse_emulator = true\nendpoint = \"http://127.0.0.1:1\"\nallow_http = true\n",
    );
    assert!(err.contains("AZURITE_BLOB_STORAGE_URL"), "{err}");
}

#[test]
fn invalid_prefix_is_refused() {
    let err = toml_error("[stores.m]\nprovider = \"memory\"\nprefix = \"a//b\"\n");
    assert!(
        err.contains("store `m`, key `prefix`: not a valid object key prefix"),
        "{err}"
    );
}

#[test]
fn missing_environment_variable_is_named() {
    let err = toml_error(
        "[stores.a]\nprovider = \"s3\"\nbucket = \"b\"\nsecret_access_key = \"${STRATUS_TEST_SURELY_UNSET_VAR}\"\n",
    );
    assert!(err.contains("store `a`, key `secret_access_key`"), "{err}");
    assert!(
        err.contains("environment variable `STRATUS_TEST_SURELY_UNSET_VAR` is not set"),
        "{err}"
    );
}

#[test]
fn local_root_must_exist_unless_created() {
    let (dir, path, result) = load_file(
        "stores.toml",
        "[stores.l]\nprovider = \"local\"\nroot = \"missing\"\n",
    );
    let err = result.unwrap().open("l").unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: store `l`, key `root`", path.display())),
        "{err}"
    );
    assert!(err.contains("create_root = true"), "{err}");
    let (_dir2, _path, result) = load_file(
        "stores.toml",
        &format!(
            "[stores.l]\nprovider = \"local\"\nroot = \"{}/made\"\ncreate_root = true\n",
            dir.path().display()
        ),
    );
    result.unwrap().open("l").unwrap();
    assert!(dir.path().join("made").is_dir());
}

#[tokio::test]
async fn local_root_is_relative_to_the_config_file_and_prefix_scopes_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf/data")).unwrap();
    std::fs::write(
        dir.path().join("conf/stores.toml"),
        "[stores.l]\nprovider = \"local\"\nroot = \"data\"\nprefix = \"scoped/\"\n",
    )
    .unwrap();
    let store = Config::load(dir.path().join("conf/stores.toml"))
        .unwrap()
        .open("l")
        .unwrap();
    store.put(&Path::from("x.txt"), "x".into()).await.unwrap();
    assert!(dir.path().join("conf/data/scoped/x.txt").is_file());
}

// ---- secrets ----------------------------------------------------------------------

const ALL_SECRETS: &str = r#"
[stores.s3]
provider = "s3"
bucket = "b"
access_key_id = "AKIDEXAMPLE"
secret_access_key = "SECRET1-s3-secret"
session_token = "SECRET2-s3-token"

[stores.azure]
provider = "azure"
container = "c"
account = "acct"
access_key = "U0VDUkVUMy1henVyZS1rZXk="

[stores.azure_sas]
provider = "azure"
container = "c"
account = "acct"
sas_token = "sv=2021&sig=SECRET4-sas"

[stores.azure_bearer]
provider = "azure"
container = "c"
account = "acct"
bearer_token = "SECRET5-bearer"

[stores.gcs]
provider = "gcs"
bucket = "b"
service_account_key = '{"disable_oauth": true, "client_email": "", "private_key": "SECRET6-private-key", "private_key_id": ""}'

[stores.opts]
provider = "s3"
bucket = "b"
options = { aws_role_arn = "arn:aws:iam::1:role/r", aws_role_session_name = "SECRET7-option-value" }
"#;

const SECRET_MARKERS: &[&str] = &[
    "SECRET1",
    "SECRET2",
    "U0VDUkVUMy1henVyZS1rZXk",
    "SECRET4",
    "SECRET5",
    "SECRET6",
    "SECRET7",
];

fn assert_no_secret(what: &str, text: &str) {
    for marker in SECRET_MARKERS {
        assert!(!text.contains(marker), "{what} leaks {marker}: {text}");
    }
}

#[test]
fn secrets_never_appear_in_debug_display_or_built_stores() {
    let (_dir, _path, result) = load_file("stores.toml", ALL_SECRETS);
    let config = result.unwrap();
    assert_no_secret("Config Debug", &format!("{config:?}"));
    assert_no_secret("Config pretty Debug", &format!("{config:#?}"));
    for name in config.names() {
        let store_config = config.get(name).unwrap();
        assert_no_secret("StoreConfig Debug", &format!("{store_config:?}"));
        let store = config.open(name).unwrap();
        assert_no_secret("store Debug", &format!("{store:?}"));
        assert_no_secret("store Display", &format!("{store}"));
    }
    let secret = Secret::new("SECRET1");
    assert_eq!(format!("{secret} {secret:?}"), "<redacted> <redacted>");
}

#[test]
fn secrets_never_appear_in_errors() {
    // Errors in a store holding secrets, after the secret, in options...
    for broken in [
        format!("{ALL_SECRETS}\n[stores.bad]\nprovider = \"s3\"\nbucket = 1\nsecret_access_key = \"SECRET1\"\n"),
        ALL_SECRETS.replace("[stores.opts]\nprovider = \"s3\"", "[stores.opts]\nprovider = \"s3\"\nallow_http = \"x\""),
        ALL_SECRETS.replace("session_token = \"SECRET2-s3-token\"", "session_token = \"SECRET2-s3-token\nx"),
    ] {
        let (_dir, _path, result) = load_file("stores.toml", &broken);
        assert_no_secret("config error", &result.unwrap_err().to_string());
    }
    // ...an account key object_store refuses at build time...
    let text = "[stores.z]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"a\"\naccess_key = \"SECRET5 not base64!\"\n";
    let (_dir, _path, result) = load_file("stores.toml", text);
    let err = result.unwrap().open("z").unwrap_err();
    assert_no_secret("build error", &format!("{err} {err:?}"));
    // ...and a URL whose query carries a secret.
    let err = stratus::open("s3://b/p?secret_access_key=SECRET1&bogus_key=1").unwrap_err();
    let text = err.to_string();
    assert_no_secret("URL error", &format!("{text} {err:?}"));
    assert!(
        text.starts_with("URL s3://b, key `options.bogus_key`"),
        "{text}"
    );
}

// ---- URLs -------------------------------------------------------------------------

#[test]
fn url_forms() {
    let config = stratus::config::parse_url(
        "s3://acme/logs/2024?region=eu-west-1&endpoint=http://127.0.0.1:9000&allow_http=true&aws_copy_if_not_exists=multipart",
    )
    .unwrap();
    let ProviderConfig::S3(s3) = &config.kind else {
        panic!("{config:?}")
    };
    assert_eq!(s3.bucket, "acme");
    assert_eq!(s3.prefix.as_deref(), Some("logs/2024"));
    assert_eq!(s3.region.as_deref(), Some("eu-west-1"));
    assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert!(s3.allow_http);
    assert_eq!(s3.options.0.len(), 1);

    for (url, provider, prefix) in [
        ("gs://bucket/a/b", "gcs", Some("a/b")),
        ("gcs://bucket", "gcs", None),
        ("az://container/x?account=acct", "azure", Some("x")),
        ("azure://container?use_emulator=true", "azure", None),
        ("memory://", "memory", None),
        ("file:///tmp", "local", None),
    ] {
        let config = stratus::config::parse_url(url).unwrap();
        assert_eq!(
            (config.provider(), config.prefix()),
            (provider, prefix),
            "{url}"
        );
    }
}

#[test]
fn bad_urls_say_what_is_expected() {
    let err = |url: &str| {
        stratus::config::parse_url(url)
            .and_then(|config| config.build())
            .unwrap_err()
            .to_string()
    };
    assert!(err("dropbox://x")
        .contains("unknown scheme; expected s3://, s3a://, gs://, gcs://, az://, azure://, abfs://, abfss://, file://, memory://"));
    assert!(err("s3:///prefix").contains("key `bucket`: missing"));
    assert!(err("s3://b?endpoint=http://x").contains("allow_http"));
    assert!(err("s3://b?region=a&region=b").contains("key `region`: given more than once"));
    assert!(err("file://host/path").contains("file:///path/to/folder"));
    assert!(err("not a url").contains("not a URL"));
}

#[test]
fn store_config_built_in_code_is_validated() {
    let mut s3 = S3Config::new("b");
    s3.endpoint = Some("http://127.0.0.1:9000".into());
    let err = StoreConfig::from(s3.clone())
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("key `endpoint`") && err.contains("allow_http"),
        "{err}"
    );
    s3.allow_http = true;
    StoreConfig::from(s3).build().unwrap();
}

#[tokio::test]
async fn open_accepts_a_url_or_a_config_file() {
    let store = stratus::open("memory:///p").unwrap();
    store.put(&Path::from("k"), "v".into()).await.unwrap();
    assert_eq!(store.to_string(), "PrefixedStore(InMemory, p)");
    let (dir, path, _) = load_file(
        "stores.toml",
        "[stores.only]\nprovider = \"local\"\nroot = \".\"\n",
    );
    let store = stratus::open(path.to_str().unwrap()).unwrap();
    store.put(&Path::from("k"), "v".into()).await.unwrap();
    assert!(dir.path().join("k").is_file());
}

#[test]
fn bundled_fixture_configs_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stores");
    let local = Config::load(root.join("local.toml")).unwrap();
    assert_eq!(local.default_name().unwrap(), "sample");
    local.open_default().unwrap();
    let emulators = Config::load(root.join("emulators.toml")).unwrap();
    assert_eq!(emulators.names().count(), 5);
    for name in emulators.names() {
        emulators.open(name).unwrap();
    }
}

#[test]
fn open_with_takes_a_file_and_name_or_a_url() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stores/emulators.toml");
    let root = root.to_str().unwrap();
    let store = stratus::open_with(root, Some("sample")).unwrap();
    assert!(
        store
            .to_string()
            .starts_with("KeyOrderedStore(LocalFileSystem("),
        "{store}"
    );
    stratus::open_with("memory://", None).unwrap();
    let err = stratus::open_with("memory://", Some("x"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a store name goes with a config file"),
        "{err}"
    );
    let err = stratus::open_with(root, Some("nope"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no store named `nope`"), "{err}");
}

#[test]
fn retry_settings_are_validated() {
    let base = "[stores.a]\nprovider = \"s3\"\nbucket = \"b\"\n";
    let (_dir, _path, ok) = load_file(
        "stores.toml",
        &format!("{base}retry = {{ max_retries = 2, retry_timeout = \"30s\", init_backoff = \"50ms\", max_backoff = \"2s\", backoff_base = 3.0 }}\n"),
    );
    let config = ok.unwrap();
    let ProviderConfig::S3(s3) = &config.get("a").unwrap().kind else {
        panic!()
    };
    let retry = s3.retry.as_ref().unwrap();
    assert_eq!(retry.max_retries, Some(2));
    assert_eq!(
        retry.retry_timeout,
        Some(std::time::Duration::from_secs(30))
    );
    config.open("a").unwrap();

    let err = toml_error(&format!("{base}retry = {{ retry_timeout = \"soon\" }}\n"));
    assert!(
        err.contains("store `a`, key `retry.retry_timeout`: `soon` is not a duration"),
        "{err}"
    );
    let err = toml_error(&format!("{base}retry = {{ max_retrys = 1 }}\n"));
    assert!(
        err.contains("key `retry.max_retrys`: unknown field"),
        "{err}"
    );
    let err = toml_error(&format!("{base}retry = {{ backoff_base = 0.5 }}\n"));
    assert!(
        err.contains("key `retry.backoff_base`: expected a number above 1"),
        "{err}"
    );
    let err = toml_error(&format!(
        "{base}retry = {{ init_backoff = \"10s\", max_backoff = \"1s\" }}\n"
    ));
    assert!(err.contains("key `retry.init_backoff`"), "{err}");
    let err =
        toml_error("[stores.l]\nprovider = \"local\"\nroot = \".\"\nretry = { max_retries = 1 }\n");
    assert!(
        err.contains("key `retry`: unknown field `retry`"),
        "local stores have no retries: {err}"
    );
}

#[tokio::test]
async fn max_retries_zero_fails_on_the_first_error() {
    let text = "[stores.down]\nprovider = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9\"\n\
                allow_http = true\naccess_key_id = \"x\"\nsecret_access_key = \"y\"\nretry = { max_retries = 0 }\n";
    let (_dir, _path, config) = load_file("stores.toml", text);
    let store = config.unwrap().open("down").unwrap();
    let err = store.head(&Path::from("k")).await.unwrap_err().to_string();
    assert!(err.contains("Error performing HEAD"), "{err}");
    assert!(
        !err.contains("retries"),
        "retried although max_retries = 0: {err}"
    );
}

const SHARDED_OK: &str = r#"
default = "objects"
[stores.east]
provider = "memory"
[stores.west]
provider = "memory"
[stores.objects]
provider = "sharded"
slot_bits = 12
members = ["east", { store = "west", weight = 2 }, { name = "inline", store = { provider = "memory" } }]
"#;

#[tokio::test]
async fn sharded_store_from_a_file_spreads_keys_over_its_members() {
    let (_dir, path, config) = load_file("stores.toml", SHARDED_OK);
    let config = config.unwrap();
    let sharded = config.open_sharded("objects").unwrap();
    let names: Vec<_> = sharded.stores().map(|(n, _)| n.to_owned()).collect();
    assert_eq!(names, ["east", "west", "inline"]);
    let weights: Vec<_> = sharded
        .placement()
        .members()
        .iter()
        .map(|m| m.weight())
        .collect();
    assert_eq!(weights, [1.0, 2.0, 1.0]);
    let store = config.open_default().unwrap();
    for i in 0..50 {
        store
            .put(&Path::from(format!("k{i}")), "v".into())
            .await
            .unwrap();
    }
    assert_eq!(store.head(&Path::from("k7")).await.unwrap().size, 1);
    let err = config.open_sharded("east").unwrap_err().to_string();
    assert!(
        err.starts_with(&path.display().to_string()) && err.contains("not a sharded store"),
        "{err}"
    );
}

#[test]
fn sharded_config_errors_name_the_key() {
    let with = |members: &str, extra: &str| {
        toml_error(&format!(
            "[stores.east]\nprovider = \"memory\"\n[stores.s]\nprovider = \"sharded\"\n\
             members = {members}\n{extra}"
        ))
    };
    let err = with("[\"east\", \"nowhere\"]", "");
    assert!(
        err.contains("store `s`, key `members[1]`") && err.contains("`nowhere` is not a store"),
        "{err}"
    );
    let err = with("[\"east\", \"east\"]", "");
    assert!(
        err.contains("key `members[1]`") && err.contains("appears twice"),
        "{err}"
    );
    let err = with("[{ store = \"east\", wieght = 2 }]", "");
    assert!(
        err.contains("key `members[0].wieght`")
            && err.contains("unknown field `wieght`, expected one of `store`, `name`, `weight`"),
        "{err}"
    );
    let err = with("[{ store = \"east\", weight = 0 }]", "");
    assert!(
        err.contains("key `members[0].weight`") && err.contains("above 0"),
        "{err}"
    );
    let err = with("[\"east\"]", "slot_bits = 40\n");
    assert!(
        err.contains("key `slot_bits`") && err.contains("8 to 24"),
        "{err}"
    );
    let err = with("[\"east\"]", "replicas = 2\n");
    assert!(
        err.contains("key `replicas`") && err.contains("unknown field `replicas`"),
        "{err}"
    );
    let err = with("[{ store = { provider = \"memory\" } }]", "");
    assert!(
        err.contains("key `members[0].name`") && err.contains("needs a name"),
        "{err}"
    );
    let err = with("[{ name = \"m\", store = { provider = \"s3\" } }]", "");
    assert!(err.contains("key `members[0].store.bucket`"), "{err}");
    let err = with("[]", "");
    assert!(err.contains("at least one member"), "{err}");
    let err = toml_error(
        "[stores.a]\nprovider = \"sharded\"\nmembers = [\"b\"]\n\
         [stores.b]\nprovider = \"sharded\"\nmembers = [\"a\"]\n",
    );
    assert!(
        err.contains("stores contain each other: a -> b -> a"),
        "{err}"
    );
}

#[tokio::test]
async fn replicated_store_from_a_file_writes_every_member() {
    let (_dir, _path, config) = load_file(
        "stores.toml",
        r#"
[stores.a]
provider = "memory"
[stores.safe]
provider = "replicated"
members = ["a", { name = "b", store = { provider = "memory" } }]
write = { quorum = 1 }
read = { hedged_after_ms = 30 }
list = "merged"
"#,
    );
    let config = config.unwrap();
    let safe = config.open_replicated("safe").unwrap();
    assert_eq!(
        safe.write_policy(),
        stratus::replicate::WritePolicy::Quorum(1)
    );
    safe.put(&Path::from("k"), "v".into()).await.unwrap();
    for (name, member) in safe.members() {
        assert_eq!(
            member.head(&Path::from("k")).await.unwrap().size,
            1,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_replicated_store_journal_is_relative_to_the_file_and_created_with_its_folder() {
    let (dir, _path, config) = load_file(
        "stores.toml",
        "[stores.a]\nprovider = \"memory\"\n[stores.b]\nprovider = \"memory\"\n\
         [stores.safe]\nprovider = \"replicated\"\nmembers = [\"a\", \"b\"]\n\
         journal = \"state/safe.journal\"\n",
    );
    let safe = config.unwrap().open_replicated("safe").unwrap();
    assert!(dir.path().join("state/safe.journal").is_file());
    assert!(safe.journal_damage().is_none());
    let err = toml_error(
        "[stores.a]\nprovider = \"memory\"\n[stores.r]\nprovider = \"replicated\"\n\
         members = [\"a\"]\njournal = 3\n",
    );
    assert!(err.contains("key `journal`"), "{err}");
}

#[test]
fn replicated_config_errors_name_the_key() {
    let with = |extra: &str| {
        toml_error(&format!(
            "[stores.a]\nprovider = \"memory\"\n[stores.b]\nprovider = \"memory\"\n\
             [stores.r]\nprovider = \"replicated\"\nmembers = [\"a\", \"b\"]\n{extra}"
        ))
    };
    let err = with("write = { quorum = 3 }\n");
    assert!(
        err.contains("key `write.quorum`") && err.contains("1 to 2"),
        "{err}"
    );
    let err = with("write = \"most\"\n");
    assert!(
        err.contains("key `write`")
            && err.contains("unknown variant `most`, expected `all` or `quorum`"),
        "{err}"
    );
    let err = with("read = { hedged_after = 5 }\n");
    assert!(err.contains("key `read`"), "{err}");
    let err = with("list = \"all\"\n");
    assert!(err.contains("key `list`"), "{err}");
    let err = with("mirror = true\n");
    assert!(
        err.contains("key `mirror`")
            && err.contains("unknown field `mirror`, expected one of `members`, `write`"),
        "{err}"
    );
    let err = toml_error(
        "[stores.a]\nprovider = \"memory\"\n[stores.r]\nprovider = \"replicated\"\n\
         members = [{ store = \"a\", weight = 2 }]\n",
    );
    assert!(
        err.contains("key `members[0].weight`")
            && err.contains("unknown field `weight`, expected `store` or `name`"),
        "{err}"
    );
    let err = toml_error("[stores.r]\nprovider = \"replicated\"\nmembers = [\"ghost\"]\n");
    assert!(
        err.contains("key `members[0]`") && err.contains("`ghost` is not a store"),
        "{err}"
    );
}

#[test]
fn a_place_cuts_a_secret_the_environment_put_in_an_endpoint_whatever_its_case() {
    // A place folds its endpoint to lower case: the value from `${VAR}` is cut in that case
    // too.
    std::env::set_var("STRATUS_TEST_PLACE_TOKEN", "HUNTER2SECRETTOKEN");
    let (_dir, _path, config) = load_file(
        "stores.toml",
        "[stores.x]\nprovider = \"s3\"\nbucket = \"b\"\nallow_http = true\n\
         endpoint = \"http://127.0.0.1:9555/${STRATUS_TEST_PLACE_TOKEN}\"\n",
    );
    let place = config.unwrap().place("x").unwrap().unwrap();
    assert!(
        !place.to_ascii_lowercase().contains("secrettoken"),
        "{place}"
    );
    assert!(place.contains("<redacted>"), "{place}");
}

#[test]
fn a_region_is_a_name_and_the_s3_endpoint_option_has_the_endpoint_key() {
    // object_store puts the region into the host name: `x@host:1/` would send the signed
    // request to `host`.
    let err = toml_error(
        "[stores.x]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"x@127.0.0.1:38453/\"\n",
    );
    assert!(err.contains("key `region`: is not a region name"), "{err}");
    assert!(!err.contains("127.0.0.1"), "{err}");
    let err = toml_error(
        "[stores.x]\nprovider = \"s3\"\nbucket = \"b\"\n\
         options = { aws_endpoint_url_s3 = \"http://127.0.0.1:1\" }\n",
    );
    assert!(err.contains("`endpoint`"), "{err}");
}

#[test]
fn a_connection_string_is_checked_as_the_keys_it_stands_for() {
    let base = "[stores.z]\nprovider = \"azure\"\ncontainer = \"c\"\n";
    let err = toml_error(&format!(
        "{base}account = \"a\"\nconnection_string = \"AccountName=a;AccountKey=hunter2secret\"\n"
    ));
    assert!(
        err.contains("key `connection_string`: give either"),
        "{err}"
    );
    let err = toml_error(&format!(
        "{base}connection_string = \"AccountKey=hunter2secret\"\n"
    ));
    assert!(err.contains("has no AccountName"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // Its blob endpoint follows the endpoint's rules, named by where it came from.
    let err = toml_error(&format!(
        "{base}connection_string = \"AccountName=a;AccountKey=hunter2secret;BlobEndpoint=http://127.0.0.1:10000/a\"\n"
    ));
    assert!(
        err.contains("key `connection_string`: its blob endpoint"),
        "{err}"
    );
    assert!(err.contains("allow_http"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let (_dir, _path, ok) = load_file(
        "stores.toml",
        &format!(
            "{base}allow_http = true\nconnection_string = \"AccountName=a;AccountKey=hunter2secret;BlobEndpoint=http://127.0.0.1:10000/a\"\n"
        ),
    );
    let config = ok.unwrap();
    assert_eq!(
        config.place("z").unwrap().unwrap(),
        "azure http://127.0.0.1:10000/a account a container c"
    );
}

#[test]
fn a_gcs_credentials_file_object_store_cannot_use_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("wif.json");
    std::fs::write(
        &key,
        r#"{"type": "external_account", "audience": "//iam.googleapis.com/x", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}"#,
    )
    .unwrap();
    let config = Config::from_toml(
        &format!(
            "[stores.g]\nprovider = \"gcs\"\nbucket = \"b\"\nservice_account = \"{}\"\n",
            key.display()
        ),
        "stores.toml",
        ".",
    )
    .unwrap();
    let err = config.open("g").expect_err("refused").to_string();
    assert!(err.contains("key `service_account`"), "{err}");
    assert!(err.contains("of type `external_account`"), "{err}");
    assert!(err.contains("gcloud auth print-access-token"), "{err}");
}

#[test]
fn an_azure_account_is_one_place_however_it_is_written() {
    let (_dir, _path, config) = load_file(
        "stores.toml",
        "[stores.plain]\nprovider = \"azure\"\ncontainer = \"data\"\naccount = \"ACME\"\n\
         [stores.suffix]\nprovider = \"azure\"\ncontainer = \"data\"\nconnection_string = \
         \"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=k0k0k0k0;EndpointSuffix=core.windows.net\"\n\
         [stores.blob]\nprovider = \"azure\"\ncontainer = \"data\"\nconnection_string = \
         \"AccountName=acme;AccountKey=k0k0k0k0;BlobEndpoint=https://acme.blob.core.windows.net/\"\n\
         [stores.dev]\nprovider = \"azure\"\ncontainer = \"data\"\nconnection_string = \"UseDevelopmentStorage=true\"\n\
         [stores.devkeys]\nprovider = \"azure\"\ncontainer = \"data\"\naccount = \"devstoreaccount1\"\n\
         endpoint = \"http://127.0.0.1:10000/devstoreaccount1\"\nallow_http = true\n",
    );
    let config = config.unwrap();
    let place = |name: &str| config.place(name).unwrap().unwrap();
    assert_eq!(place("plain"), place("suffix"));
    assert_eq!(place("plain"), place("blob"));
    assert!(config.check_distinct(&["plain", "suffix"]).is_err());
    if std::env::var_os("AZURITE_BLOB_STORAGE_URL").is_none() {
        assert_eq!(place("dev"), place("devkeys"));
    }
    // An account becomes part of a host name: nothing else is one.
    let err = toml_error(
        "[stores.z]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"127.0.0.1:18080/x\"\n",
    );
    assert!(
        err.contains("key `account`: is not a storage account name"),
        "{err}"
    );
}

#[test]
fn a_flavor_is_the_endpoint_it_stands_for() {
    let (_dir, _path, config) = load_file(
        "stores.toml",
        "[stores.r2]\nprovider = \"s3\"\nflavor = \"r2\"\naccount = \"0f1e2d3c\"\nbucket = \"media\"\n\
         [stores.r2_spelled_out]\nprovider = \"s3\"\nbucket = \"media\"\nregion = \"auto\"\n\
         endpoint = \"https://0f1e2d3c.r2.cloudflarestorage.com\"\n\
         [stores.b2]\nprovider = \"s3\"\nflavor = \"b2\"\nregion = \"us-west-004\"\nbucket = \"media\"\n\
         [stores.gcs]\nprovider = \"s3\"\nflavor = \"gcs-hmac\"\nbucket = \"media\"\n",
    );
    let config = config.unwrap();
    let place = |name: &str| config.place(name).unwrap().unwrap();
    assert_eq!(place("r2"), place("r2_spelled_out"));
    assert!(config.check_distinct(&["r2", "r2_spelled_out"]).is_err());
    assert!(
        place("b2").contains("s3.us-west-004.backblazeb2.com"),
        "{}",
        place("b2")
    );
    assert!(
        place("gcs").contains("storage.googleapis.com"),
        "{}",
        place("gcs")
    );
    // What a flavor needs is asked for by key; an account is one host-name label.
    let err = toml_error("[stores.z]\nprovider = \"s3\"\nflavor = \"r2\"\nbucket = \"b\"\n");
    assert!(
        err.contains("key `account`") && err.contains("Cloudflare"),
        "{err}"
    );
    let err = toml_error(
        "[stores.z]\nprovider = \"s3\"\nflavor = \"r2\"\nbucket = \"b\"\naccount = \"x.evil.com:1/\"\n",
    );
    assert!(err.contains("key `account`"), "{err}");
    let err = toml_error("[stores.z]\nprovider = \"s3\"\nflavor = \"minio\"\nbucket = \"b\"\n");
    assert!(err.contains("key `endpoint`"), "{err}");
    let err = toml_error("[stores.z]\nprovider = \"s3\"\nflavor = \"r3\"\nbucket = \"b\"\n");
    assert!(err.contains("flavor") && err.contains("r2"), "{err}");
    let err = toml_error("[stores.z]\nprovider = \"s3\"\naccount = \"a\"\nbucket = \"b\"\n");
    assert!(
        err.contains("key `account`") && err.contains("flavor"),
        "{err}"
    );
}

/// Which stores a scan may cut into key ranges: those whose server lists from an offset
/// in byte order; not the ones stratus walks folder by folder, nor composites.
#[test]
fn key_ranges_only_where_the_server_lists_from_an_offset_in_order() {
    let config = Config::from_toml(
        "[stores.aws]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
         [stores.weed]\nprovider = \"s3\"\nflavor = \"seaweedfs\"\nbucket = \"b\"\n\
         endpoint = \"http://127.0.0.1:8333\"\nallow_http = true\n\
         [stores.sorted]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\nlist_order = \"sorted\"\n\
         [stores.gcs]\nprovider = \"gcs\"\nbucket = \"b\"\n\
         [stores.mem]\nprovider = \"memory\"\n\
         [stores.disk]\nprovider = \"local\"\nroot = \"/tmp\"\n\
         [stores.both]\nprovider = \"sharded\"\nmembers = [\"mem\", \"disk\"]\n",
        "stores.toml",
        ".",
    )
    .unwrap();
    let ranges = |name: &str| config.key_ranges(name).unwrap();
    assert!(ranges("aws") && ranges("gcs") && ranges("mem"));
    assert!(!ranges("weed") && !ranges("sorted") && !ranges("disk") && !ranges("both"));
}

/// Which stores' servers a scan is told begin a listing at the offset asked (so a flat
/// folder is cut with its first page): S3 in byte order, GCS, Azure on its own
/// endpoint; not Azurite (it ignores `startFrom`), an Azure endpoint the config names,
/// nor what is listed from an offset in the client.
#[cfg(all(feature = "aws", feature = "gcp", feature = "azure"))]
#[test]
fn offsets_on_the_server_only_where_the_server_is_known_to_begin_there() {
    let config = Config::from_toml(
        "[stores.aws]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
         [stores.weed]\nprovider = \"s3\"\nflavor = \"seaweedfs\"\nbucket = \"b\"\n\
         endpoint = \"http://127.0.0.1:8333\"\nallow_http = true\n\
         [stores.gcs]\nprovider = \"gcs\"\nbucket = \"b\"\n\
         [stores.azure]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"acct\"\n\
         [stores.azurite]\nprovider = \"azure\"\ncontainer = \"c\"\nuse_emulator = true\n\
         [stores.elsewhere]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"acct\"\n\
         endpoint = \"https://blob.example.com\"\n\
         [stores.mem]\nprovider = \"memory\"\n\
         [stores.disk]\nprovider = \"local\"\nroot = \"/tmp\"\n\
         [stores.both]\nprovider = \"sharded\"\nmembers = [\"mem\", \"disk\"]\n",
        "stores.toml",
        ".",
    )
    .unwrap();
    let told = |name: &str| config.offsets_on_server(name).unwrap();
    let yes: Vec<&str> = [
        "aws",
        "weed",
        "gcs",
        "azure",
        "azurite",
        "elsewhere",
        "mem",
        "disk",
        "both",
    ]
    .into_iter()
    .filter(|name| told(name))
    .collect();
    assert_eq!(yes, ["aws", "gcs", "azure"]);
}

#[test]
fn an_azure_credential_is_chosen_by_name_and_an_unknown_one_is_refused() {
    let store = |credential: &str| {
        format!(
            "[stores.z]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"acct\"\n\
             access_key = \"a2V5\"\ncredential = \"{credential}\"\n"
        )
    };
    for (credential, says) in [
        ("cli", "az login, the Azure CLI"),
        (
            "managed-identity",
            "managed identity, if the metadata service answers",
        ),
        ("auto", "the account key"),
    ] {
        let config = Config::from_toml(&store(credential), "test.toml", ".").unwrap();
        let described = config.credentials("z").unwrap().unwrap();
        assert!(described.contains(says), "{credential}: {described}");
        // Built as object_store builds it (nothing is sent).
        config.open("z").unwrap();
    }
    // Asked for, and its settings missing: object_store says which.
    let config = Config::from_toml(&store("workload-identity"), "test.toml", ".").unwrap();
    let err = config.open("z").err().unwrap().to_string();
    assert!(err.contains("workload_identity"), "{err}");
    let err = toml_error(&store("az-login"));
    assert!(err.contains("store `z`, key `credential`"), "{err}");
    assert!(err.contains("managed-identity"), "{err}");
    // object_store's own key for it points at this one.
    let err = toml_error(
        "[stores.z]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"acct\"\n\
         options = { azure_credential_type = \"azure_cli\" }\n",
    );
    assert!(err.contains("`credential`"), "{err}");
}
