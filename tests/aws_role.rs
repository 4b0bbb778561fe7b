//! AWS profiles that act as a role (`role_arn`), assumed through STS as the AWS CLI
//! assumes them, against a moto server of the test's own with IAM enforced: requests are
//! checked for a valid signature by a known key, and for a policy allowing them.
//!
//! The user whose keys are in the shared files may only call `sts:AssumeRole`; the role
//! `lister` (trusting that user, with an external ID) may do anything on S3. So an
//! inventory that works proves the role's keys signed it, and one refused proves they
//! were asked for as the profile says. The role `top` trusts only the session `hop-run`
//! of the role `hop`: only a chain of two roles reaches it.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto server on a free port of 127.0.0.1, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// `None` (after printing why) when there is no moto to start.
    fn start() -> Option<Moto> {
        let Some(python) = std::env::var_os("STRATUS_TEST_PYTHON") else {
            assert!(
                std::env::var("STRATUS_REQUIRE_EMULATORS").as_deref() != Ok("1"),
                "STRATUS_TEST_PYTHON is not set but STRATUS_REQUIRE_EMULATORS=1"
            );
            eprintln!("skipped: STRATUS_TEST_PYTHON is not set (scripts/test.sh sets it)");
            return None;
        };
        let server = std::path::Path::new(&python).with_file_name("moto_server");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server beside STRATUS_TEST_PYTHON");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user, the roles and a bucket of three objects, made while moto lets anyone do
/// anything; then IAM is enforced. Prints the user's keys.
const SETUP: &str = r#"
import boto3, json, os, sys, urllib.request
E = os.environ["ENDPOINT"]
c = dict(endpoint_url=E, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **c)
def allow(action):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
def trust(principal, condition=None):
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
iam.create_user(UserName="u")
key = iam.create_access_key(UserName="u")["AccessKey"]
iam.put_user_policy(UserName="u", PolicyName="assume", PolicyDocument=allow("sts:AssumeRole"))
user = "arn:aws:iam::123456789012:user/u"
iam.create_role(RoleName="lister", AssumeRolePolicyDocument=trust(user, {"StringEquals": {"sts:ExternalId": "ext-42"}}))
iam.put_role_policy(RoleName="lister", PolicyName="s3", PolicyDocument=allow("s3:*"))
iam.create_role(RoleName="hop", AssumeRolePolicyDocument=trust(user))
iam.put_role_policy(RoleName="hop", PolicyName="assume", PolicyDocument=allow("sts:AssumeRole"))
iam.create_role(RoleName="top", AssumeRolePolicyDocument=trust("arn:aws:sts::123456789012:assumed-role/hop/hop-run"))
iam.put_role_policy(RoleName="top", PolicyName="s3", PolicyDocument=allow("s3:*"))
s3 = boto3.client("s3", **c)
s3.create_bucket(Bucket="roles")
for k in ["a", "b/c", "b/d"]:
    s3.put_object(Bucket="roles", Key=k, Body=b"xyz")
request = urllib.request.Request(E + "/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
urllib.request.urlopen(request).read()
# What an instance or a pod whose role is `hop` gets from its metadata service.
sts = boto3.client("sts", endpoint_url=E, region_name="us-east-1",
                   aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
hop = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/hop", RoleSessionName="hop-run")["Credentials"]
session = {"Code": "Success", "AccessKeyId": hop["AccessKeyId"], "SecretAccessKey": hop["SecretAccessKey"],
           "Token": hop["SessionToken"], "Expiration": hop["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")}
print(json.dumps([key["AccessKeyId"], key["SecretAccessKey"], json.dumps(session)]))
"#;

/// A metadata service on 127.0.0.1 for an instance whose role's session is `session`
/// (a JSON document as IMDS gives it), and an EKS pod-identity endpoint (`/pod`) giving
/// the same to a request bearing `token`. Answers until the test ends.
fn metadata_service(session: String, token: &'static str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            let mut authorized = false;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                authorized |= line.to_ascii_lowercase() == format!("authorization: {token}\r\n");
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or_default();
            let (status, body) = match path {
                "/latest/api/token" => ("200 OK", "imds-token".to_string()),
                "/latest/meta-data/iam/security-credentials/" => ("200 OK", "hop".to_string()),
                "/latest/meta-data/iam/security-credentials/hop" => ("200 OK", session.clone()),
                "/pod" if authorized => ("200 OK", session.clone()),
                _ => ("403 Forbidden", String::new()),
            };
            let _ = write!(
                reader.into_inner(),
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address
}

#[test]
fn a_profiles_role_is_assumed_through_sts_down_a_chain_and_its_refusals_are_named() {
    let Some(moto) = Moto::start() else { return };
    let python = std::env::var("STRATUS_TEST_PYTHON").unwrap();
    let out = Command::new(&python)
        .arg("-c")
        .arg(SETUP)
        .env("ENDPOINT", &moto.endpoint)
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (key, secret, session): (String, String, String) =
        serde_json::from_slice(&out.stdout).unwrap();
    let metadata = metadata_service(session, "pod-token-7");
    let endpoint = &moto.endpoint;
    let dir = tempfile::tempdir().unwrap();
    let (credentials, config, stores) = (
        dir.path().join("credentials"),
        dir.path().join("config"),
        dir.path().join("stores.toml"),
    );
    std::fs::write(
        &credentials,
        format!("[base]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    let role = |name: &str| format!("arn:aws:iam::123456789012:role/{name}");
    let at = format!("region = us-east-1\nendpoint_url = {endpoint}\n");
    std::fs::write(
        &config,
        format!(
            "[profile base]\n{at}\
             [profile ops]\nrole_arn = {lister}\nsource_profile = base\nexternal_id = ext-42\n{at}\
             [profile wrongext]\nrole_arn = {lister}\nsource_profile = base\nexternal_id = ext-41\n{at}\
             [profile hop]\nrole_arn = {hop}\nsource_profile = base\nrole_session_name = hop-run\n{at}\
             [profile top]\nrole_arn = {top}\nsource_profile = hop\nduration_seconds = 900\n{at}\
             [profile direct]\nrole_arn = {top}\nsource_profile = base\n{at}\
             [profile env]\nrole_arn = {lister}\ncredential_source = Environment\nexternal_id = ext-42\n{at}\
             [profile imds]\nrole_arn = {top}\ncredential_source = Ec2InstanceMetadata\n{at}\
             [profile pod]\nrole_arn = {top}\ncredential_source = EcsContainer\n{at}",
            lister = role("lister"),
            hop = role("hop"),
            top = role("top"),
        ),
    )
    .unwrap();
    let names = [
        "base", "ops", "wrongext", "top", "direct", "env", "imds", "pod",
    ];
    let toml: String = names
        .iter()
        .map(|name| {
            format!(
                "[stores.{name}]\nprovider = \"s3\"\nbucket = \"roles\"\nprofile = \"{name}\"\n\
                 allow_http = true\nretry = {{ max_retries = 0 }}\n"
            )
        })
        .collect();
    let folder = dir.path().join("folder");
    std::fs::create_dir_all(folder.join("new")).unwrap();
    std::fs::write(folder.join("new/one"), "1").unwrap();
    std::fs::write(folder.join("new/two"), "22").unwrap();
    std::fs::write(
        &stores,
        format!(
            "{toml}[stores.folder]\nprovider = \"local\"\nroot = \"{}\"\n",
            folder.display()
        ),
    )
    .unwrap();
    let stratus = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(common::stratus());
        command
            .args(args)
            .arg("--config")
            .arg(&stores)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT",
            "AWS_CA_BUNDLE",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let out = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(&secret), "{text}");
        (out.status.code(), text)
    };
    let objects = |name: &str, env: &[(&str, &str)]| -> Result<u64, String> {
        let (code, text) = stratus(&["inventory", name, "--json"], env);
        if code != Some(0) {
            return Err(text);
        }
        let report: serde_json::Value = serde_json::Deserializer::from_str(&text)
            .into_iter()
            .next()
            .expect(&text)
            .expect(&text);
        Ok(report["objects"].as_u64().unwrap())
    };

    // The user's own keys may not list: IAM is enforced.
    let denied = objects("base", &[]).unwrap_err();
    assert!(denied.contains("access was denied"), "{denied}");
    // Through the role they may, and write (the role's session token signs the PUTs).
    assert_eq!(objects("ops", &[]), Ok(3));
    let (code, text) = stratus(&["sync", "folder", "ops"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(objects("ops", &[]), Ok(5));
    // A chain: `top` trusts only the session `hop-run` of the role `hop`.
    assert_eq!(objects("top", &[]), Ok(5));
    let refused = objects("direct", &[]).unwrap_err();
    assert!(
        refused.contains(&format!(
            "assuming the role {} of the AWS profile `direct` (STS at {endpoint})",
            role("top")
        )) && refused.contains("STS refused it (403 Forbidden, AccessDenied"),
        "{refused}"
    );
    // With another external ID than the trust policy asks for, STS refuses, and says so.
    let refused = objects("wrongext", &[]).unwrap_err();
    assert!(
        refused.contains("of the AWS profile `wrongext`") && refused.contains("AccessDenied"),
        "{refused}"
    );
    // The environment's keys assume it for `credential_source = Environment`.
    let env = [
        ("AWS_ACCESS_KEY_ID", key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
    ];
    assert_eq!(objects("env", &env), Ok(5));
    let missing = objects("env", &[]).unwrap_err();
    assert!(
        missing.contains("`credential_source = Environment`, and AWS_ACCESS_KEY_ID"),
        "{missing}"
    );
    // The instance's role (from its metadata service) and a pod's (EKS pod identity)
    // assume `top`: they are sessions of `hop-run`, which `top` trusts.
    assert_eq!(
        objects(
            "imds",
            &[
                ("AWS_METADATA_ENDPOINT", metadata.as_str()),
                ("AWS_EC2_METADATA_DISABLED", "false")
            ]
        ),
        Ok(5)
    );
    let token_file = dir.path().join("pod-token");
    std::fs::write(&token_file, "pod-token-7").unwrap();
    let pod = [
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{metadata}/pod"),
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            token_file.display().to_string(),
        ),
    ];
    let pod: Vec<(&str, &str)> = pod.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(objects("pod", &pod), Ok(5));
    let missing = objects("pod", &[]).unwrap_err();
    assert!(
        missing.contains("`credential_source = EcsContainer`, and neither"),
        "{missing}"
    );
    // Where each store's keys come from, with no request sent and no secret shown.
    let mut check_env = env.to_vec();
    check_env.extend(pod.iter().copied());
    let (code, text) = stratus(&["config", "check"], &check_env);
    assert_eq!(code, Some(0), "{text}");
    for (store, source) in [
        (
            "ops",
            format!(
                "AWS profile `ops`: the role {} assumed through STS, with AWS profile `base`: \
                 keys in the shared files",
                role("lister")
            ),
        ),
        (
            "env",
            format!(
                "AWS profile `env`: the role {} assumed through STS, with the environment's \
                 keys (AWS_ACCESS_KEY_ID)",
                role("lister")
            ),
        ),
        (
            "imds",
            format!(
                "AWS profile `imds`: the role {} assumed through STS, with the instance's role \
                 (the EC2 metadata service)",
                role("top")
            ),
        ),
        (
            "top",
            format!(
                "AWS profile `top`: the role {} assumed through STS, with AWS profile `hop`: \
                 the role {} assumed through STS, with AWS profile `base`",
                role("top"),
                role("hop")
            ),
        ),
    ] {
        let block = text.split(&format!("\n{store}  (s3)")).nth(1).expect(&text);
        let line = block
            .lines()
            .find(|l| l.contains("credentials:"))
            .expect(&text);
        assert!(line.contains(&source), "{store}: {line}");
    }
}
