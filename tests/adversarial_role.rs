//! AWS profiles with `role_arn`, attacked through the CLI without a server: where STS is
//! plain http on a store that does not allow it, and names with terminal controls.

mod common;

use std::process::Command;

/// `stratus ARGS --config STORES` with these shared files and variables, none of the
/// caller's `AWS_*`: its exit code and what it printed.
fn stratus(
    dir: &std::path::Path,
    config: &str,
    stores: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String) {
    let (config_path, stores_path) = (dir.join("config"), dir.join("stores.toml"));
    std::fs::write(&config_path, config).unwrap();
    std::fs::write(&stores_path, stores).unwrap();
    let mut command = Command::new(common::stratus());
    command
        .args(args)
        .arg("--config")
        .arg(&stores_path)
        .env("AWS_CONFIG_FILE", &config_path)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (var, _) in std::env::vars() {
        if var.starts_with("AWS_") && var != "AWS_EC2_METADATA_DISABLED" {
            command.env_remove(var);
        }
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

const ROLE: &str = "[profile x]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = x\n\
                    aws_access_key_id = AKIAX\naws_secret_access_key = s3cr3tX\nregion = us-east-1\n";

/// A store of profile `x` on an https endpoint that is never reached.
const STORE: &str = "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nprofile = \"x\"\n\
                     endpoint = \"https://127.0.0.1:9\"\nretry = { max_retries = 0 }\n";

#[test]
fn a_plain_http_sts_is_refused_by_name_unless_the_store_allows_http() {
    let dir = tempfile::tempdir().unwrap();
    for env in [
        &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")][..],
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
    ] {
        let (code, text) = stratus(dir.path(), ROLE, STORE, &["inventory", "s"], env);
        assert_ne!(code, Some(0), "{text}");
        assert!(
            text.contains("STS") && text.contains("allow_http"),
            "{text}"
        );
        assert!(!text.contains("s3cr3tX"), "{text}");
    }
    // The profile's endpoint_url, not the store's endpoint (which the store sets).
    let config = format!("{ROLE}endpoint_url = http://127.0.0.1:9\n");
    let (code, text) = stratus(dir.path(), &config, STORE, &["inventory", "s"], &[]);
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("STS") && text.contains("allow_http"),
        "{text}"
    );
}

#[test]
fn terminal_controls_in_a_role_or_a_profile_name_reach_no_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[profile x\u{1b}]0;t\u{7}]\nrole_arn = arn:aws:iam::1:role/r\u{1b}[2J\u{9b}1m\n\
                  source_profile = y\u{1b}[31m\n\
                  [profile y\u{1b}[31m]\naws_access_key_id = AKIAY\naws_secret_access_key = s3cr3tY\n";
    let stores = STORE.replace("profile = \"x\"", "profile = \"x\\u001b]0;t\\u0007\"");
    for args in [&["config", "check"][..], &["inventory", "s"]] {
        let (_, text) = stratus(
            dir.path(),
            config,
            &stores,
            args,
            &[("AWS_ENDPOINT_URL_STS", "https://127.0.0.1:9")],
        );
        assert!(
            !text.contains(['\u{1b}', '\u{7}', '\u{9b}']),
            "{args:?}: {text:?}"
        );
        assert!(text.contains("role/r\\x1b[2J"), "{args:?}: {text}");
        assert!(!text.contains("s3cr3tY"), "{text}");
    }
}
