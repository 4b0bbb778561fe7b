//! The `stratus` command as a user runs it: where it finds its config file, `config
//! check`, completions, the man page and its exit codes. (The subcommands' own behaviour
//! is tested in the library's tests/, which run this binary.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's sample config: two local stores, `sample` the default.
fn local_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/stores/local.toml")
}

/// `stratus ARGS` with no config in the environment (HOME set to `home`).
fn stratus(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(args)
        .env_remove("STRATUS_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", home)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn config_check_shows_every_store_with_its_display_and_place() {
    let home = tempfile::tempdir().unwrap();
    let file = local_toml();
    let out = stratus(
        home.path(),
        &["config", "check", "--config", file.to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("default store: sample"), "{stdout}");
    let data =
        std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data"))
            .unwrap();
    assert!(stdout.contains("sample  (local)"), "{stdout}");
    assert!(
        stdout.contains(&format!("place: local folder {}", data.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "store: KeyOrderedStore(LocalFileSystem(file://{}))",
            data.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("exports  (local)"), "{stdout}");
}

#[test]
fn config_check_never_prints_a_secret() {
    let home = tempfile::tempdir().unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
    let file = home.path().join("stores.toml");
    std::fs::write(
        &file,
        format!(
            "[stores.aws]\nprovider = \"s3\"\nbucket = \"logs\"\nregion = \"eu-west-1\"\n\
             prefix = \"2026\"\naccess_key_id = \"AKIAEXAMPLE\"\nsecret_access_key = \"{secret}\"\n\
             [stores.both]\nprovider = \"replicated\"\nmembers = [\"aws\", \"disk\"]\n\
             [stores.disk]\nprovider = \"local\"\nroot = \"d\"\ncreate_root = true\n"
        ),
    )
    .unwrap();
    let out = stratus(
        home.path(),
        &["--config", file.to_str().unwrap(), "config", "check"],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        !stdout.contains(secret) && !stderr.contains(secret),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("place: s3 AWS bucket logs /2026"),
        "{stdout}"
    );
    assert!(stdout.contains("AmazonS3(logs)"), "{stdout}");
    // A composite: no place of its own, its members in its `Display`.
    assert!(
        stdout.contains("both  (replicated)\n  place: its members'"),
        "{stdout}"
    );
    assert!(stdout.contains("ReplicatedStore(aws: "), "{stdout}");
}

#[test]
fn an_endpoint_the_environment_gives_is_checked_as_a_configured_one() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("stores.toml");
    std::fs::write(
        &file,
        "[stores.aws]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
         access_key_id = \"AKIAEXAMPLE\"\nsecret_access_key = \"otherSecretValue123\"\n\
         [stores.az]\nprovider = \"azure\"\ncontainer = \"c\"\nuse_emulator = true\n",
    )
    .unwrap();
    for (variable, value, store) in [
        (
            "AWS_ENDPOINT_URL",
            "https://AKIA:hunter2SECRET@127.0.0.1:1",
            "aws",
        ),
        (
            "AWS_ENDPOINT",
            r"http://127.0.0.1:1\u:hunter2SECRET@x",
            "aws",
        ),
        (
            "AZURITE_BLOB_STORAGE_URL",
            "http://u:hunter2SECRET@127.0.0.1:1",
            "az",
        ),
    ] {
        for args in [
            &["sign", store, "k"][..],
            &["inventory", store],
            &["config", "check"],
        ] {
            let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
                .args(args)
                .args(["--config", file.to_str().unwrap()])
                .env_remove("STRATUS_CONFIG")
                .env("HOME", home.path())
                .env(variable, value)
                .output()
                .unwrap();
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            assert_eq!(
                out.status.code(),
                Some(1),
                "{variable} {args:?}: {stdout}{stderr}"
            );
            // `config check` says it under the store (stdout), the others on stderr.
            assert!(
                format!("{stdout}{stderr}").contains("the environment gives"),
                "{stdout}{stderr}"
            );
            assert!(
                !stdout.contains("hunter2") && !stderr.contains("hunter2"),
                "{variable} {args:?}: {stdout}{stderr}"
            );
        }
    }
}

#[test]
fn the_config_file_comes_from_the_flag_the_environment_or_the_config_folder() {
    let home = tempfile::tempdir().unwrap();
    // Nowhere: the error names all three places, and the exit code is 1.
    let out = stratus(home.path(), &["inventory"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let platform = home.path().join(".config/stratus/stores.toml");
    assert!(
        stderr.contains("--config FILE")
            && stderr.contains("STRATUS_CONFIG")
            && stderr.contains(&platform.display().to_string()),
        "{stderr}"
    );
    // STRATUS_CONFIG.
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["config", "check"])
        .env("STRATUS_CONFIG", local_toml())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("default store: sample"));
    // ~/.config/stratus/stores.toml, then $XDG_CONFIG_HOME/stratus/stores.toml.
    std::fs::create_dir_all(platform.parent().unwrap()).unwrap();
    let toml = "[stores.here]\nprovider = \"memory\"\n";
    std::fs::write(&platform, toml).unwrap();
    let out = stratus(home.path(), &["config", "check"]);
    assert!(
        text(&out.stdout).contains("default store: here"),
        "{}",
        text(&out.stderr)
    );
    let xdg = home.path().join("xdg");
    std::fs::create_dir_all(xdg.join("stratus")).unwrap();
    std::fs::write(xdg.join("stratus/stores.toml"), toml.replace("here", "xdg")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["config", "check"])
        .env_remove("STRATUS_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", &xdg)
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("default store: xdg"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_store_url_needs_no_config_file() {
    let home = tempfile::tempdir().unwrap();
    let out = stratus(home.path(), &["inventory", "memory://", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["objects"], 0);
}

#[test]
fn exit_codes_are_documented_and_kept() {
    let home = tempfile::tempdir().unwrap();
    let help = text(&stratus(home.path(), &["--help"]).stdout);
    for line in ["Exit codes:", "  0  success", "  1  failure", "  2  usage"] {
        assert!(help.contains(line), "{help}");
    }
    // A usage error is clap's 2; a missing store is a failure, 1.
    let out = stratus(home.path(), &["inventory", "--depth", "deep"]);
    assert_eq!(out.status.code(), Some(2));
    // Nothing in flight would never finish: zero is a usage error, not quietly one.
    for args in [
        &["inventory", "--concurrency", "0"][..],
        &["sync", "a", "b", "--concurrency", "0"],
        &["shard", "rebalance", "s", "--concurrency", "0"],
    ] {
        let out = stratus(home.path(), args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--concurrency"), "{stderr}");
    }
    let file = local_toml();
    let out = stratus(
        home.path(),
        &["inventory", "nope", "--config", file.to_str().unwrap()],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no store named `nope`"), "{stderr}");
    // A mistyped URL with credentials is not quoted back.
    let out = stratus(
        home.path(),
        &[
            "inventory",
            "s3:/AKIA:hunter2SECRET@bucket/p",
            "--config",
            file.to_str().unwrap(),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no store by that name"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn completions_and_the_man_page_cover_every_subcommand() {
    let home = tempfile::tempdir().unwrap();
    let bash = stratus(home.path(), &["completions", "bash"]);
    assert!(bash.status.success());
    let bash = text(&bash.stdout);
    assert!(bash.contains("_stratus()"), "{bash}");
    let man = stratus(home.path(), &["man"]);
    assert!(man.status.success());
    let man = text(&man.stdout);
    assert!(
        man.starts_with(".ie") || man.contains(".TH stratus"),
        "{man}"
    );
    for command in [
        "inventory",
        "diff",
        "sync",
        "verify",
        "repair",
        "status",
        "shard",
        "sign",
        "cleanup",
        "config",
    ] {
        assert!(bash.contains(command), "completions lack {command}");
        assert!(man.contains(command), "the man page lacks {command}");
    }
    assert!(man.contains("Exit codes"), "{man}");
}

/// A server that answers every request as S3 answers an invalid session token: a 400
/// whose body quotes the token it was sent. Its address.
fn token_quoting_server() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut token = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("x-amz-security-token") {
                        token = value.trim().to_string();
                    }
                }
                line.clear();
            }
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidToken</Code>\
                 <Message>The provided token is malformed or otherwise invalid.</Message>\
                 <Token-0>{token}</Token-0></Error>"
            );
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address
}

#[test]
fn a_token_from_the_profile_or_the_environment_is_cut_from_what_the_server_quotes() {
    let home = tempfile::tempdir().unwrap();
    let endpoint = token_quoting_server();
    let (credentials, stores) = (
        home.path().join("credentials"),
        home.path().join("stores.toml"),
    );
    std::fs::write(
        &credentials,
        "[ops]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profileSecret123\n\
         aws_session_token = profileTokenXYZ123\n",
    )
    .unwrap();
    std::fs::write(
        &stores,
        format!(
            "[stores.viaprofile]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
             endpoint = \"{endpoint}\"\nallow_http = true\nprofile = \"ops\"\n\
             retry = {{ max_retries = 0 }}\n\
             [stores.viaenv]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
             endpoint = \"{endpoint}\"\nallow_http = true\nretry = {{ max_retries = 0 }}\n"
        ),
    )
    .unwrap();
    for (store, env) in [
        ("viaprofile", &[][..]),
        (
            "viaenv",
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAENV"),
                ("AWS_SECRET_ACCESS_KEY", "envSecret123"),
                ("AWS_SESSION_TOKEN", "envTokenXYZ123"),
            ][..],
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(["-v", "inventory", store, "--config"])
            .arg(&stores)
            .env("HOME", home.path())
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CONFIG_FILE", home.path().join("none"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{text}");
        // The server did quote it: the error shows where, cut.
        assert!(text.contains("InvalidToken"), "{text}");
        assert!(text.contains("<Token-0><redacted>"), "{text}");
        for secret in ["TokenXYZ123", "Secret123"] {
            assert!(!text.contains(secret), "{store}: {text}");
        }
    }
}

#[test]
fn two_endpoints_from_the_environment_that_differ_are_refused() {
    // object_store takes the environment in its order: which would win is no place.
    let home = tempfile::tempdir().unwrap();
    let stores = home.path().join("stores.toml");
    std::fs::write(
        &stores,
        "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\nallow_http = true\n\
         access_key_id = \"AKIAEXAMPLE\"\nsecret_access_key = \"otherSecretValue123\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["config", "check", "--config"])
        .arg(&stores)
        .env("HOME", home.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_ENDPOINT", "http://127.0.0.1:2")
        .output()
        .unwrap();
    let text = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the environment gives different endpoints"),
        "{text}"
    );
}

#[test]
fn no_credentials_anywhere_fails_at_once_naming_what_was_looked_at() {
    let home = tempfile::tempdir().unwrap();
    // The bucket's server: it must never be asked.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    server.set_nonblocking(true).unwrap();
    // Where the metadata service would be: a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metadata = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let stores = home.path().join("stores.toml");
    std::fs::write(
        &stores,
        format!(
            "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
             endpoint = \"http://{}\"\nallow_http = true\n\
             options = {{ aws_metadata_endpoint = \"{metadata}\" }}\n",
            server.local_addr().unwrap()
        ),
    )
    .unwrap();
    // And one that takes connections and never answers (it held `inventory` for the whole
    // retry budget, three minutes, when only a connection was tried).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_metadata = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().take(4).collect();
        std::thread::sleep(std::time::Duration::from_secs(30));
        drop(held);
    });
    let silent_stores = home.path().join("silent.toml");
    std::fs::write(
        &silent_stores,
        std::fs::read_to_string(&stores)
            .unwrap()
            .replace(&metadata, &silent_metadata),
    )
    .unwrap();
    for (disabled, file, says) in [
        (
            None,
            &stores,
            format!("at {metadata} did not answer within 1 s"),
        ),
        (
            Some("true"),
            &stores,
            "is disabled (AWS_EC2_METADATA_DISABLED)".to_string(),
        ),
        (
            None,
            &silent_stores,
            format!("at {silent_metadata} took a connection but did not answer within 1 s"),
        ),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
        command
            .args(["inventory", "s", "--config"])
            .arg(file)
            .env("HOME", home.path());
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_CONFIG_FILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_EC2_METADATA_DISABLED",
        ] {
            command.env_remove(var);
        }
        if let Some(value) = disabled {
            command.env("AWS_EC2_METADATA_DISABLED", value);
        }
        let out = command.output().unwrap();
        let text = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("no AWS credentials for this store"), "{text}");
        assert!(text.contains("AWS_ACCESS_KEY_ID"), "{text}");
        assert!(text.contains("the AWS shared files"), "{text}");
        assert!(text.contains(&says), "{text}");
        assert!(
            !text.contains("check `endpoint`"),
            "not the endpoint's fault: {text}"
        );
        assert!(
            server.accept().is_err(),
            "the bucket's server was asked: {text}"
        );
    }
}

/// A laptop's network as the issue found it: the metadata addresses (EC2/GCE/Azure
/// 169.254.169.254, ECS 169.254.170.2) drop packets, nothing answers. Made in a new
/// network namespace (`unshare -n`, as root): a veth pair whose far end has no address,
/// the metadata addresses pinned to a neighbour that never answers. With no credentials
/// anywhere, each provider fails within 5 s (it took 12 to 35), names credentials and not
/// the endpoint, and books no request as the store's.
#[test]
fn no_credentials_where_the_metadata_address_drops_packets_fails_within_5_s() {
    const SETUP: &str = "ip link set lo up && ip link add v0 type veth peer name v1 && \
        ip addr add 10.9.0.1/24 dev v0 && ip link set v0 up && ip link set v1 up && \
        ip route add default dev v0 && \
        ip neigh add 169.254.169.254 lladdr 02:00:00:00:00:01 dev v0 && \
        ip neigh add 169.254.170.2 lladdr 02:00:00:00:00:01 dev v0";
    let probe = Command::new("unshare")
        .args(["-n", "sh", "-c", SETUP])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!(
                "skipped: a network namespace with a veth pair cannot be made here ({})",
                text(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            eprintln!("skipped: `unshare` cannot be run here ({e})");
            return;
        }
    }
    let home = tempfile::tempdir().unwrap();
    for (url, says) in [
        ("s3://some-bucket/", "no AWS credentials for this store"),
        (
            "gs://some-bucket/",
            "no Google Cloud credentials for this store",
        ),
        ("az://container/", "no Azure credentials for this store"),
    ] {
        let started = std::time::Instant::now();
        let out = Command::new("unshare")
            .args(["-n", "sh", "-c", &format!("{SETUP} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_stratus"))
            .args(["inventory", url])
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AZURE_STORAGE_ACCOUNT", "someaccount")
            .output()
            .unwrap();
        let took = started.elapsed();
        let text = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{url}: {text}");
        assert!(text.contains(says), "{url}: {text}");
        assert!(
            text.contains("169.254.169.254 did not answer within 1 s"),
            "{url}: {text}"
        );
        assert!(!text.contains("check `endpoint`"), "{url}: {text}");
        // No metadata request is booked as the store's; an `s3` store without a region
        // has asked its bucket's region (one HEAD, given up after 2 s here).
        let booked = text.lines().find(|l| l.starts_with("requests:"));
        assert!(
            booked.is_none_or(|l| l.contains(" 0 GET") && l.contains(" 0 LIST")),
            "{url}: requests booked: {text}"
        );
        assert!(
            took < std::time::Duration::from_secs(5),
            "{url}: took {took:?}: {text}"
        );
    }
}

#[test]
fn a_bucket_in_another_region_is_said_so() {
    // S3's answer for a bucket of another region: 301 PermanentRedirect, no Location.
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let body = "<Error><Code>PermanentRedirect</Code><Message>The bucket you are \
                        attempting to access must be addressed using the specified \
                        endpoint.</Message></Error>";
            let _ = write!(
                reader.into_inner(),
                "HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-1\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let home = tempfile::tempdir().unwrap();
    let stores = home.path().join("stores.toml");
    std::fs::write(
        &stores,
        format!(
            "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
             endpoint = \"{endpoint}\"\nallow_http = true\nretry = {{ max_retries = 0 }}\n\
             access_key_id = \"AKIAEXAMPLE\"\nsecret_access_key = \"otherSecretValue123\"\n"
        ),
    )
    .unwrap();
    let out = stratus(
        home.path(),
        &["inventory", "s", "--config", stores.to_str().unwrap()],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The redirect names no region; a HEAD of the bucket does, and the error says it.
    assert!(
        stderr.contains(
            "store `s`: bucket `b` is in eu-west-1, not us-east-1: set `region = \"eu-west-1\"`"
        ),
        "{stderr}"
    );
}

/// A store of real AWS that nothing gives a region: its bucket's region is asked of S3
/// (one HEAD) and used. AWS is played by a proxy on 127.0.0.1 that every HTTPS request
/// goes through (`HTTPS_PROXY`), presenting certificates of a private CA (`ca_file`) for
/// the S3 host names: the bucket answers from eu-west-1 and redirects from anywhere else.
#[test]
fn a_bucket_of_aws_is_found_in_its_region_and_a_wrong_region_is_named() {
    const AWS: &str = r#"
import socket, ssl, sys, threading
port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], open(sys.argv[4], "a")
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
LISTING = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult '
    'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>some-bucket</Name><Prefix></Prefix>'
    '<KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents>'
    '<Key>k</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag>'
    '<Size>3</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>')
REDIRECT = ('<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to '
    'access must be addressed using the specified endpoint.</Message></Error>')
def serve(conn):
    f = conn.makefile("rb")
    host = f.readline().split()[1].decode().split(":")[0]
    while f.readline() not in (b"\r\n", b""):
        pass
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    tls = ctx.wrap_socket(conn, server_side=True)
    r = tls.makefile("rb")
    while True:
        line = r.readline()
        if not line:
            break
        length = 0
        while True:
            h = r.readline()
            if h in (b"\r\n", b""):
                break
            name, _, value = h.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        r.read(length)
        method, path = line.decode().split()[:2]
        log.write(f"{method} {host} {path}\n")
        log.flush()
        status, body = ("200 OK", LISTING) if ".eu-west-1." in host else ("301 Moved Permanently", REDIRECT)
        body = b"" if method == "HEAD" else body.encode()
        tls.sendall((f"HTTP/1.1 {status}\r\nx-amz-bucket-region: eu-west-1\r\n"
            f"Content-Type: application/xml\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
    tls.close()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"#;
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "*.us-east-1.amazonaws.com",
        "*.eu-west-1.amazonaws.com",
        "*.s3.amazonaws.com",
        "*.s3.us-east-1.amazonaws.com",
        "*.s3.eu-west-1.amazonaws.com",
    ];
    let san: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
    let san: Vec<&str> = san.iter().map(String::as_str).collect();
    let made = private_ca(dir.path(), &san);
    if !made {
        eprintln!("SKIPPED: openssl could not make a CA and a certificate");
        return;
    }
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let log = dir.path().join("requests.log");
    let Ok(mut server) = Command::new("python3")
        .args(["-c", AWS, &port.to_string()])
        .arg(dir.path().join("cert.pem"))
        .arg(dir.path().join("key.pem"))
        .arg(&log)
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        eprintln!("SKIPPED: no python3 to play AWS");
        return;
    };
    let listening = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let keys = "access_key_id = \"AKIAEXAMPLE\"\nsecret_access_key = \"otherSecretValue123\"\n";
    let stores = dir.path().join("stores.toml");
    std::fs::write(
        &stores,
        format!(
            "[stores.aws]\nprovider = \"s3\"\nbucket = \"some-bucket\"\nca_file = \"ca.pem\"\n{keys}\
             retry = {{ max_retries = 0 }}\n\
             [stores.pinned]\nprovider = \"s3\"\nbucket = \"some-bucket\"\nca_file = \"ca.pem\"\n{keys}\
             region = \"us-east-1\"\nretry = {{ max_retries = 0 }}\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str], env: &[(&str, &Path)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
        command
            .args(args)
            .env("HOME", dir.path())
            .env("HTTPS_PROXY", format!("http://127.0.0.1:{port}"));
        for var in [
            "STRATUS_CONFIG",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT",
            "AWS_ENDPOINT_URL_S3",
            "AWS_CA_BUNDLE",
            "NO_PROXY",
            "no_proxy",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            command.env_remove(var);
        }
        for (var, value) in env {
            command.env(var, value);
        }
        let out = command.output().unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let config = stores.to_str().unwrap();
    let found = run(&["inventory", "aws", "--json", "--config", config], &[]);
    let pinned = run(&["inventory", "pinned", "--config", config], &[]);
    let ca = dir.path().join("ca.pem");
    let url = {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
        command
            .args(["inventory", "s3://some-bucket/", "--json"])
            .env("HOME", dir.path())
            .env("HTTPS_PROXY", format!("http://127.0.0.1:{port}"))
            .env("AWS_CA_BUNDLE", &ca)
            .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "otherSecretValue123");
        for var in [
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "NO_PROXY",
            "no_proxy",
        ] {
            command.env_remove(var);
        }
        let out = command.output().unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(listening, "the AWS stand-in did not start");
    let requests = std::fs::read_to_string(&log).unwrap_or_default();

    let (code, stdout, stderr) = found;
    assert_eq!(code, Some(0), "{stderr}\n{requests}");
    assert!(stdout.contains("\"objects\": 1"), "{stdout}");
    assert!(
        stderr.contains("store `aws`: its bucket is in eu-west-1 (S3 said so"),
        "{stderr}"
    );
    // One HEAD, booked as the store's; the listing went to eu-west-1.
    assert!(stderr.contains("1 HEAD"), "{stderr}");
    assert!(
        requests.contains("HEAD s3.us-east-1.amazonaws.com /some-bucket\n")
            && requests.contains("GET s3.eu-west-1.amazonaws.com /some-bucket?list-type=2"),
        "{requests}"
    );

    let (code, _, stderr) = pinned;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "store `pinned`: bucket `some-bucket` is in eu-west-1, not us-east-1: set \
             `region = \"eu-west-1\"`"
        ),
        "{stderr}"
    );

    let (code, stdout, stderr) = url;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("\"objects\": 1"), "{stdout}");
    assert!(
        stderr.contains("store `s3://some-bucket/`: its bucket is in eu-west-1"),
        "{stderr}"
    );
}

#[test]
fn a_root_under_the_home_folder_is_written_with_a_tilde() {
    let home = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let stores = elsewhere.path().join("stores.toml");
    std::fs::write(
        &stores,
        "[stores.mine]\nprovider = \"local\"\nroot = \"~/stratus-data\"\ncreate_root = true\n",
    )
    .unwrap();
    let out = stratus(
        home.path(),
        &["config", "check", "--config", stores.to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let under_home = std::fs::canonicalize(home.path())
        .unwrap()
        .join("stratus-data");
    assert!(
        stdout.contains(&format!("place: local folder {}", under_home.display())),
        "{stdout}"
    );
}

/// `openssl ARGS` in `dir`; whether it worked.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// In `dir`: a private CA (`ca.pem`) and a server certificate it signed (`cert.pem`,
/// `key.pem`) for the subject alternative names `san` (`IP:127.0.0.1`, `DNS:*.x.com`).
/// False when openssl cannot make them.
fn private_ca(dir: &Path, san: &[&str]) -> bool {
    let run = |args: &str| openssl(dir, &args.split(' ').collect::<Vec<_>>());
    run("req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=stratus-test-CA -keyout ca-key.pem -out ca.pem")
        && run("req -newkey rsa:2048 -nodes -subj /CN=stratus-test-server -keyout key.pem -out server.csr")
        && std::fs::write(dir.join("san.ext"), format!("subjectAltName={}\n", san.join(","))).is_ok()
        && run("x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 1 -extfile san.ext -out cert.pem")
}

#[test]
fn an_untrusted_certificate_is_named_and_ca_file_makes_it_trusted() {
    // A TLS server whose certificate a private CA signed (openssl makes both, python3
    // serves it; without them this test says so and passes nothing off as checked).
    let dir = tempfile::tempdir().unwrap();
    let made = private_ca(dir.path(), &["IP:127.0.0.1"]);
    if !made {
        eprintln!("SKIPPED: openssl could not make a CA and a certificate");
        return;
    }
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let script = "import http.server, ssl, sys\n\
        srv = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.BaseHTTPRequestHandler)\n\
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])\n\
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n\
        srv.serve_forever()\n";
    let Ok(mut server) = Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .arg(dir.path().join("cert.pem"))
        .arg(dir.path().join("key.pem"))
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        eprintln!("SKIPPED: no python3 to serve TLS");
        return;
    };
    let listening = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let store = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
         endpoint = \"https://127.0.0.1:{port}\"\nretry = {{ max_retries = 0 }}\n\
         access_key_id = \"AKIAEXAMPLE\"\nsecret_access_key = \"otherSecretValue123\"\n"
    );
    let untrusted = dir.path().join("untrusted.toml");
    std::fs::write(&untrusted, &store).unwrap();
    // Relative to the config file's folder.
    let trusted = dir.path().join("trusted.toml");
    std::fs::write(&trusted, format!("{store}ca_file = \"ca.pem\"\n")).unwrap();
    let not_pem = dir.path().join("not-pem.toml");
    std::fs::write(&not_pem, format!("{store}ca_file = \"san.ext\"\n")).unwrap();
    let run = |config: &Path, bundle: Option<(&str, &str)>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
        command
            .args(["-v", "inventory", "s", "--config", config.to_str().unwrap()])
            .env_remove("STRATUS_CONFIG")
            .env_remove("AWS_CA_BUNDLE")
            .env_remove("SSL_CERT_FILE")
            .env("HOME", dir.path());
        if let Some((variable, bundle)) = bundle {
            command.env(variable, dir.path().join(bundle));
        }
        let out = command.output().unwrap();
        (out.status.code(), text(&out.stderr))
    };
    let refused = run(&untrusted, None);
    let with_ca_file = run(&trusted, None);
    let with_bundle = run(&untrusted, Some(("AWS_CA_BUNDLE", "ca.pem")));
    let with_ssl_cert_file = run(&untrusted, Some(("SSL_CERT_FILE", "ca.pem")));
    let with_bad_file = run(&not_pem, None);
    let _ = server.kill();
    let _ = server.wait();
    assert!(listening, "the TLS server did not start");

    let (code, stderr) = refused;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the endpoint's TLS certificate was not accepted"),
        "{stderr}"
    );
    assert!(stderr.contains("ca_file"), "{stderr}");
    assert!(!stderr.contains("did not answer"), "{stderr}");
    // `-v` shows the reason, from under "error sending request".
    assert!(stderr.contains("invalid peer certificate"), "{stderr}");

    // Trusted, the request gets through TLS to the server, which answers every GET with
    // 501 (it is no S3).
    for (code, stderr) in [with_ca_file, with_bundle, with_ssl_cert_file] {
        assert_eq!(code, Some(1), "{stderr}");
        assert!(!stderr.contains("certificate"), "{stderr}");
        assert!(stderr.contains("501"), "{stderr}");
    }
    let (code, stderr) = with_bad_file;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("ca_file") && stderr.contains("holds no PEM certificate"),
        "{stderr}"
    );
}

#[test]
fn proxies_from_the_environment_and_from_options_are_followed() {
    // A plain HTTP proxy sees the request line with the whole URL; python3's file server
    // logs it (and answers 404: it is no proxy). The endpoint's host does not resolve, so a
    // request that got there went through the proxy.
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let Ok(mut proxy) = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIPPED: no python3 to stand in for a proxy");
        return;
    };
    let listening = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let store = "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
                 allow_http = true\nretry = { max_retries = 0 }\n\
                 access_key_id = \"AKIAEXAMPLE\"\nsecret_access_key = \"otherSecretValue123\"\n";
    let from_env = dir.path().join("env.toml");
    std::fs::write(
        &from_env,
        format!("{store}endpoint = \"http://from-env.invalid:9000\"\n"),
    )
    .unwrap();
    let from_options = dir.path().join("options.toml");
    std::fs::write(
        &from_options,
        format!(
            "{store}endpoint = \"http://from-options.invalid:9000\"\n\
             options = {{ proxy_url = \"http://127.0.0.1:{port}\" }}\n"
        ),
    )
    .unwrap();
    let run = |config: &Path, proxy: Option<String>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
        command
            .args(["inventory", "s", "--config", config.to_str().unwrap()])
            .env_remove("STRATUS_CONFIG")
            .env("HOME", dir.path());
        for variable in [
            "NO_PROXY",
            "no_proxy",
            "ALL_PROXY",
            "all_proxy",
            "http_proxy",
        ] {
            command.env_remove(variable);
        }
        match proxy {
            Some(proxy) => command.env("HTTP_PROXY", proxy),
            None => command.env_remove("HTTP_PROXY"),
        };
        command.output().unwrap()
    };
    let through_env = run(&from_env, Some(format!("http://127.0.0.1:{port}")));
    let through_options = run(&from_options, None);
    let _ = proxy.kill();
    let proxy = proxy.wait_with_output().unwrap();
    assert!(listening, "the stand-in proxy did not start");
    let seen = text(&proxy.stderr);
    for (out, host) in [
        (through_env, "from-env.invalid"),
        (through_options, "from-options.invalid"),
    ] {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        // The stand-in answers 404: the host name did not stop the request.
        assert!(stderr.contains("404 Not Found"), "{stderr}");
        assert!(
            seen.contains(&format!("GET http://{host}:9000/b?list-type=2")),
            "{host} not seen by the proxy: {seen}"
        );
    }
}

/// A scan split with `--part K/N` and merged with `inventory merge` prints what one scan
/// prints; a missing or repeated part is refused.
#[test]
fn parts_of_a_split_scan_merge_into_one_scans_report() {
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    for i in 0..2400u64 {
        let key = match i % 5 {
            0 => format!("t/d{}/f{i}", i % 7),
            _ => format!("flat/{:016x}", (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        };
        let path = data.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![1u8; (i % 300) as usize]).unwrap();
    }
    let url = format!("file://{}", data.path().display());
    let common = [
        "--json",
        "--as-of",
        "2026-12-04T00:00:00Z",
        "--depth",
        "3",
        "--concurrency",
        "4",
    ];
    let run = |extra: &[&str]| {
        let mut args = vec!["inventory", url.as_str()];
        args.extend(common);
        args.extend(extra);
        let out = stratus(home.path(), &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        out.stdout
    };
    let whole: serde_json::Value = serde_json::from_slice(&run(&[])).unwrap();
    assert_eq!(whole["objects"], 2400);
    for n in [3, 7] {
        let files: Vec<PathBuf> = (1..=n)
            .map(|k| {
                let part = format!("{k}/{n}");
                let path = home.path().join(format!("part-{k}-of-{n}.json"));
                std::fs::write(&path, run(&["--part", &part])).unwrap();
                path
            })
            .collect();
        let mut args = vec!["inventory", "merge", "--json"];
        args.extend(files.iter().rev().map(|p| p.to_str().unwrap()));
        let out = stratus(home.path(), &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let merged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(merged, whole, "{n} parts merged");
        // One part short, or one twice: refused, saying which.
        let short = stratus(
            home.path(),
            &["inventory", "merge", files[0].to_str().unwrap()],
        );
        assert_eq!(short.status.code(), Some(2), "{}", text(&short.stderr));
        assert!(
            text(&short.stderr).contains("are missing"),
            "{}",
            text(&short.stderr)
        );
        let f = files[0].to_str().unwrap();
        let twice = stratus(home.path(), &["inventory", "merge", f, f]);
        assert!(
            text(&twice.stderr).contains("both reports hold part 1"),
            "{}",
            text(&twice.stderr)
        );
    }
    // A part needs --json and --as-of.
    let out = stratus(home.path(), &["inventory", url.as_str(), "--part", "1/2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// `--export file:///new/folder` makes the folder it writes to, and says where it wrote
/// as the user named it; `?create_root=false` keeps a missing folder an error.
#[test]
fn an_export_to_a_new_local_folder_creates_it() {
    let home = tempfile::tempdir().unwrap();
    // A folder whose name says `create_root` is still created.
    let dest = home.path().join("exports/create_root");
    let url = format!("file://{}", dest.display());
    let file = local_toml();
    let config = file.to_str().unwrap();
    let out = stratus(
        home.path(),
        &["inventory", "--config", config, "--json", "--export", &url],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("rows in 1 Parquet file to {url};")),
        "{stderr}"
    );
    let manifest = stderr
        .split("manifest: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no manifest named: {stderr}"))
        .lines()
        .next()
        .unwrap();
    assert!(dest.join(manifest).is_file(), "{stderr}");
    let other = home.path().join("exports/other");
    let refused = format!("file://{}?create_root=false", other.display());
    let out = stratus(
        home.path(),
        &[
            "inventory",
            "--config",
            config,
            "--json",
            "--export",
            &refused,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not an existing folder"),
        "{}",
        text(&out.stderr)
    );
    assert!(!other.exists());
}
