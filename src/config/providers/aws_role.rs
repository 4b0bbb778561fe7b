//! `role_arn`: an AWS profile that acts as a role, assumed through STS `AssumeRole` with
//! the credentials of its `source_profile` (keys, a `credential_process`, or a role
//! assumed in turn) or of its `credential_source` (`Environment`, `Ec2InstanceMetadata`,
//! `EcsContainer`: object_store's providers for the last two), as the AWS CLI, boto3 and
//! s5cmd assume it.
//!
//! The request is signed by object_store's [`AwsAuthorizer`] (no signing code here) and
//! sent with a client of the store's options and certificate authorities, not counted as
//! the store's requests. The role's keys are kept until [`super::aws_process::REFRESH_BEFORE`]
//! ahead of their `Expiration` (a minute at least: [`KEEP_AT_LEAST`]), then assumed again
//! with the source's current keys.
//!
//! Where STS is: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the profile's
//! `endpoint_url` (which the AWS SDKs use for every service), else the regional endpoint
//! `https://sts.REGION.amazonaws.com` of the store's region (`us-east-1` without one).
//! Errors quote STS's code and message (ARNs, never keys); an answer that does not parse
//! is described, never quoted (it holds the role's secret).

use super::aws_process::{Keys, ProcessCredentials, Renewing};
use super::aws_profile::{Profile, Role, Source};
use crate::config::KeyError;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::aws::{AwsAuthorizer, AwsCredential, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpRequest, HttpRequestBody};
use object_store::CredentialProvider;
use std::sync::Arc;

/// The least time a role's keys are kept once assumed, and so the least time they must
/// have left when STS gives them (it gives 15 minutes at least: less left, by this
/// machine's clock, says the clock is wrong). At most one `AssumeRole` a minute, whatever
/// the clocks.
const KEEP_AT_LEAST: std::time::Duration = std::time::Duration::from_secs(60);

/// Where and how STS is asked: one client for every role of a store's chain.
pub(super) struct Sts {
    pub client: HttpClient,
    /// The URL the `AssumeRole` request is posted to.
    pub endpoint: String,
    /// The region the request is signed for.
    pub region: String,
}

impl std::fmt::Debug for Sts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sts")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Where STS is for a store in `region` whose profile gives `profile_endpoint`, with the
/// environment `var` gives.
pub(super) fn sts_endpoint(
    region: &str,
    profile_endpoint: Option<&str>,
    var: &dyn Fn(&str) -> Option<String>,
) -> String {
    var("AWS_ENDPOINT_URL_STS")
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .or_else(|| profile_endpoint.map(str::to_string))
        .unwrap_or_else(|| {
            let domain = match region.starts_with("cn-") {
                true => "amazonaws.com.cn",
                false => "amazonaws.com",
            };
            format!("https://sts.{region}.{domain}")
        })
}

/// What builds the providers a role may be assumed with besides profiles: the STS
/// client (`sts`) and object_store's metadata-service and container providers
/// (`metadata`, given [`Source::Ec2InstanceMetadata`] or [`Source::EcsContainer`] and
/// the profile's name).
pub(super) struct Makers<'a> {
    pub sts: &'a dyn Fn() -> Result<Arc<Sts>, KeyError>,
    pub metadata: &'a dyn Fn(&Source, &str) -> Result<AwsCredentialProvider, KeyError>,
}

/// The credentials `profile` gives: its role, else its keys, else its credential
/// process; `None` when it gives none.
pub(super) fn provider(
    profile: &Profile,
    make: &Makers<'_>,
) -> Result<Option<AwsCredentialProvider>, KeyError> {
    if let Some(role) = &profile.role {
        let source = match &role.source {
            Source::Profile(source) => provider(source, make)?.ok_or_else(|| {
                KeyError::new(
                    "profile",
                    format!("the AWS profile `{}` gives no credentials", source.name),
                )
            })?,
            Source::Environment => environment(&profile.name)?,
            other => (make.metadata)(other, &profile.name)?,
        };
        return Ok(Some(Arc::new(AssumedRole::new(
            profile,
            role,
            source,
            (make.sts)()?,
        ))));
    }
    if let (Some(key_id), Some(secret_key)) = (&profile.access_key_id, &profile.secret_access_key) {
        return Ok(Some(Arc::new(object_store::StaticCredentialProvider::new(
            AwsCredential {
                key_id: key_id.clone(),
                secret_key: secret_key.clone(),
                token: profile.session_token.clone(),
            },
        ))));
    }
    if let Some(command) = &profile.credential_process {
        let process = ProcessCredentials::new(&profile.name, command)
            .map_err(|message| KeyError::new("profile", message))?;
        return Ok(Some(Arc::new(process)));
    }
    Ok(None)
}

/// Where `profile`'s credentials come from, for `stratus config check`; `None` when it
/// gives none. Never a secret.
pub(super) fn describe(profile: &Profile) -> Option<String> {
    let name = &profile.name;
    if let Some(role) = &profile.role {
        let with = match &role.source {
            Source::Profile(source) if source.name == *name && source.has_keys() => {
                "with its own keys".to_string()
            }
            Source::Profile(source) => format!("with {}", describe(source)?),
            Source::Environment => "with the environment's keys (AWS_ACCESS_KEY_ID)".into(),
            Source::Ec2InstanceMetadata => {
                "with the instance's role (the EC2 metadata service)".into()
            }
            Source::EcsContainer => {
                "with the container's credentials (AWS_CONTAINER_CREDENTIALS_*)".into()
            }
        };
        return Some(format!(
            "AWS profile `{name}`: the role {} assumed through STS, {with}",
            role.arn
        ));
    }
    if profile.has_keys() {
        return Some(format!("AWS profile `{name}`: keys in the shared files"));
    }
    let command = profile.credential_process.as_deref()?;
    let program = shlex::split(command)
        .and_then(|argv| argv.into_iter().next())
        .unwrap_or_default();
    Some(format!(
        "AWS profile `{name}`: its credential_process `{}`",
        crate::text::terminal(&program)
    ))
}

/// `credential_source = Environment`: the `AWS_*` keys, read when the store is built.
fn environment(profile: &str) -> Result<AwsCredentialProvider, KeyError> {
    let env = crate::config::env_value;
    match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        (Some(key_id), Some(secret_key)) => Ok(Arc::new(
            object_store::StaticCredentialProvider::new(AwsCredential {
                key_id,
                secret_key,
                token: env("AWS_SESSION_TOKEN"),
            }),
        )),
        _ => Err(KeyError::new(
            "profile",
            format!(
                "the AWS profile `{profile}` assumes its role with `credential_source = \
                 Environment`, and AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both \
                 set"
            ),
        )),
    }
}

/// A role's keys, assumed with `source`'s and renewed before they expire.
pub(super) struct AssumedRole {
    profile: String,
    arn: String,
    session_name: String,
    external_id: Option<String>,
    duration_seconds: Option<u32>,
    source: AwsCredentialProvider,
    sts: Arc<Sts>,
    cached: Renewing,
}

impl std::fmt::Debug for AssumedRole {
    // The source's credentials and the external ID stay out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedRole")
            .field("profile", &self.profile)
            .field("role_arn", &self.arn)
            .field("sts", &self.sts)
            .finish_non_exhaustive()
    }
}

impl AssumedRole {
    fn new(profile: &Profile, role: &Role, source: AwsCredentialProvider, sts: Arc<Sts>) -> Self {
        Self {
            profile: profile.name.clone(),
            arn: role.arn.clone(),
            // As the AWS CLI names its sessions, with the time it began.
            session_name: role
                .session_name
                .clone()
                .unwrap_or_else(|| format!("stratus-session-{}", Utc::now().timestamp())),
            external_id: role.external_id.clone(),
            duration_seconds: role.duration_seconds,
            source,
            sts,
            cached: Renewing::keeping_at_least(KEEP_AT_LEAST),
        }
    }

    /// What was asked, for messages.
    fn what(&self) -> String {
        format!(
            "assuming the role {} of the AWS profile `{}` (STS at {})",
            crate::text::terminal(&self.arn),
            self.profile,
            crate::text::terminal(&self.sts.endpoint)
        )
    }

    /// The `AssumeRole` request's form.
    fn form(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", "AssumeRole")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", &self.arn)
            .append_pair("RoleSessionName", &self.session_name);
        if let Some(seconds) = self.duration_seconds {
            form.append_pair("DurationSeconds", &seconds.to_string());
        }
        if let Some(id) = &self.external_id {
            form.append_pair("ExternalId", id);
        }
        form.finish()
    }

    /// One `AssumeRole` request: the role's keys and their expiry.
    async fn assume(&self) -> Result<Keys, String> {
        let what = self.what();
        let credential = self
            .source
            .get_credential()
            .await
            .map_err(|e| format!("{what}: the credentials to assume it with: {e}"))?;
        let body = Bytes::from(self.form());
        let (status, answer) = crate::billed::http::send(&self.sts.client, &what, || async {
            let mut request: HttpRequest = http::Request::builder()
                .method(http::Method::POST)
                .uri(&self.sts.endpoint)
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(HttpRequestBody::from(body.clone()))
                .map_err(|e| crate::billed::http::generic("STS", format!("{what}: {e}")))?;
            AwsAuthorizer::new(&credential, "sts", &self.sts.region)
                .try_authorize(&mut request, None)?;
            Ok(request)
        })
        .await
        .map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{what}: {}", refusal(status, &answer)));
        }
        let (keys, expires) = parse(&answer).map_err(|e| format!("{what}: STS answered {e}"))?;
        let now = Utc::now();
        if let Some(at) = expires.filter(|at| *at < now + KEEP_AT_LEAST) {
            return Err(format!(
                "{what}: STS answered keys that expire at {} and this machine's clock says it \
                 is {}: STS gives keys for 15 minutes at least, so this clock is likely wrong \
                 (set it right, by NTP)",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        Ok((keys, expires))
    }
}

#[async_trait]
impl CredentialProvider for AssumedRole {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.cached.get("S3", || self.assume()).await
    }
}

/// STS's refusal: its code and message (they name ARNs and actions, never keys).
fn refusal(status: http::StatusCode, answer: &[u8]) -> String {
    // `<ErrorResponse><Error>` as STS writes it; `<ErrorResponse><Errors><Error>` as
    // moto writes it.
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct ErrorResponse {
        error: Option<Detail>,
        errors: Option<Errors>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Errors {
        error: Detail,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Detail {
        code: Option<String>,
        message: Option<String>,
    }
    let detail = std::str::from_utf8(answer)
        .ok()
        .and_then(|text| quick_xml::de::from_str::<ErrorResponse>(text).ok())
        .and_then(|response| response.error.or(response.errors.map(|e| e.error)));
    match detail {
        Some(Detail { code, message }) => format!(
            "STS refused it ({status}, {}: {})",
            crate::text::terminal(code.as_deref().unwrap_or("no code")),
            crate::text::excerpt(message.as_deref().unwrap_or(""), 300)
        ),
        None => format!("STS refused it ({status})"),
    }
}

/// An `AssumeRole` answer's keys and expiry. Errors describe, never quote: the answer
/// holds the role's secret.
fn parse(answer: &[u8]) -> Result<Keys, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct AssumeRoleResponse {
        assume_role_result: AssumeRoleResult,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct AssumeRoleResult {
        credentials: Credentials,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Credentials {
        access_key_id: String,
        secret_access_key: String,
        session_token: String,
        expiration: String,
    }
    let text = std::str::from_utf8(answer).map_err(|_| "something that is not UTF-8")?;
    let response: AssumeRoleResponse = quick_xml::de::from_str(text).map_err(|_| {
        "something that is not an AssumeRoleResponse with AccessKeyId, SecretAccessKey, \
         SessionToken and Expiration"
    })?;
    let c = response.assume_role_result.credentials;
    let expires = DateTime::parse_from_rfc3339(c.expiration.trim())
        .map_err(|_| "an Expiration that is not an RFC 3339 time")?
        .with_timezone(&Utc);
    let present = |v: String, name: &str| match v.trim().is_empty() {
        true => Err(format!("an empty {name}")),
        false => Ok(v.trim().to_string()),
    };
    Ok((
        AwsCredential {
            key_id: present(c.access_key_id, "AccessKeyId")?,
            secret_key: present(c.secret_access_key, "SecretAccessKey")?,
            token: Some(present(c.session_token, "SessionToken")?),
        },
        Some(expires),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_gives_keys_and_expiry_and_a_bad_one_quotes_nothing() {
        let good = br#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleResult>
            <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>
            <Credentials>
              <AccessKeyId>ASIA1</AccessKeyId>
              <SecretAccessKey>s3cr3tVALUE</SecretAccessKey>
              <SessionToken>tok</SessionToken>
              <Expiration>2026-12-04T22:17:42.194016Z</Expiration>
            </Credentials>
          </AssumeRoleResult>
          <ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>
        </AssumeRoleResponse>"#;
        let (keys, expires) = parse(good).unwrap();
        assert_eq!(
            (keys.key_id.as_str(), keys.token.as_deref()),
            ("ASIA1", Some("tok"))
        );
        assert_eq!(
            expires.unwrap().to_rfc3339(),
            "2026-12-04T22:17:42.194016+00:00"
        );
        let no_expiry = String::from_utf8_lossy(good).replace(
            "<Expiration>2026-12-04T22:17:42.194016Z</Expiration>",
            "<Expiration>s3cr3tVALUE</Expiration>",
        );
        for bad in [
            no_expiry.as_bytes(),
            b"<AssumeRoleResponse><SecretAccessKey>s3cr3tVALUE</SecretAccessKey>",
            b"s3cr3tVALUE",
            &[0xff, 0xfe],
        ] {
            let message = parse(bad).unwrap_err();
            assert!(!message.contains("s3cr3t"), "{message}");
        }
    }

    #[test]
    fn a_refusal_quotes_stss_code_and_message() {
        let answer = br#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
            <Message>User: arn:aws:iam::1:user/u is not authorized to perform: sts:AssumeRole</Message>
            </Error><RequestId>x</RequestId></ErrorResponse>"#;
        let message = refusal(http::StatusCode::FORBIDDEN, answer);
        assert!(
            message.contains("403") && message.contains("AccessDenied: `User: arn"),
            "{message}"
        );
        let moto = br#"<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Errors><Error>
            <Code>AccessDenied</Code><Message>no</Message></Error></Errors></ErrorResponse>"#;
        assert!(refusal(http::StatusCode::FORBIDDEN, moto).contains("AccessDenied: `no`"));
        assert_eq!(
            refusal(http::StatusCode::BAD_GATEWAY, b"<html>\x1b[31m"),
            "STS refused it (502 Bad Gateway)"
        );
    }

    #[test]
    fn sts_is_where_the_variables_or_the_profile_say_else_regional() {
        let none = |_: &str| None;
        assert_eq!(
            sts_endpoint("eu-west-1", None, &none),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            sts_endpoint("cn-north-1", None, &none),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            sts_endpoint("us-east-1", Some("http://127.0.0.1:5000"), &none),
            "http://127.0.0.1:5000"
        );
        let vars = |name: &str| match name {
            "AWS_ENDPOINT_URL" => Some("http://all".to_string()),
            "AWS_ENDPOINT_URL_STS" => Some("http://sts".to_string()),
            _ => None,
        };
        assert_eq!(
            sts_endpoint("us-east-1", Some("http://p"), &vars),
            "http://sts"
        );
    }
}

/// `AssumedRole` against STS servers that misbehave: each ends in a clear error, in
/// bounded time, quoting no secret.
#[cfg(test)]
mod hostile {
    use super::*;
    use object_store::client::{ClientOptions, HttpConnector, ReqwestConnector};
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    const SOURCE_SECRET: &str = "s3cr3tSOURCE";
    const SOURCE_TOKEN: &str = "s3cr3tSOURCETOKEN";
    const ROLE_SECRET: &str = "s3cr3tROLE";

    /// What the server does with a request.
    enum Answer {
        /// These bytes, then the connection closed.
        Bytes(Vec<u8>),
        /// Nothing, the connection held open for this long.
        Hang(Duration),
        /// A 200 whose body never ends (`Content-Length` of `n` bytes, sent in full).
        Huge(usize),
    }

    /// A server on 127.0.0.1 answering its `n`th request (from 0) with `answer(n)`, one
    /// request a connection.
    struct Server {
        endpoint: String,
        requests: Arc<AtomicUsize>,
    }

    fn serve(answer: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let answer = Arc::new(answer);
        let count = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (answer, count) = (Arc::clone(&answer), Arc::clone(&count));
                std::thread::spawn(move || handle(stream, &*answer, &count));
            }
        });
        Server { endpoint, requests }
    }

    fn handle(
        mut stream: TcpStream,
        answer: &(dyn Fn(usize) -> Answer + Send + Sync),
        count: &AtomicUsize,
    ) {
        // The request: its head, then its body by Content-Length.
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let length = String::from_utf8_lossy(&head)
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        if stream.read_exact(&mut body).is_err() {
            return;
        }
        match answer(count.fetch_add(1, Ordering::SeqCst)) {
            Answer::Bytes(bytes) => {
                let _ = stream.write_all(&bytes);
            }
            Answer::Hang(time) => std::thread::sleep(time),
            Answer::Huge(size) => {
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {size}\r\n\r\n"
                );
                let chunk = vec![b' '; 1 << 20];
                let mut sent = 0;
                while sent < size {
                    let n = chunk.len().min(size - sent);
                    if stream.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    sent += n;
                }
            }
        }
    }

    fn http(status: &str, extra: &str, body: &str) -> Answer {
        Answer::Bytes(
            format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\
                 connection: close\r\n{extra}\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }

    /// An `AssumeRole` answer whose keys expire at `expiration`.
    fn keys(expiration: &str) -> String {
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>\
             <SecretAccessKey>{ROLE_SECRET}</SecretAccessKey><SessionToken>roletoken</SessionToken>\
             <Expiration>{expiration}</Expiration></Credentials></AssumeRoleResult>\
             </AssumeRoleResponse>"
        )
    }

    fn later() -> String {
        (Utc::now() + chrono::Duration::hours(1)).to_rfc3339()
    }

    /// The role `x` assumed at `endpoint` with static source keys (and a session token).
    fn role(endpoint: &str, timeout: Duration) -> AssumedRole {
        let client = ReqwestConnector {}
            .connect(
                &ClientOptions::new()
                    .with_allow_http(true)
                    .with_timeout(timeout)
                    .with_connect_timeout(timeout),
            )
            .unwrap();
        let sts = Arc::new(Sts {
            client,
            endpoint: endpoint.to_string(),
            region: "us-east-1".into(),
        });
        let profile = Profile {
            name: "x".into(),
            ..Profile::default()
        };
        let role = Role {
            arn: "arn:aws:iam::1:role/r".into(),
            source: Source::Environment,
            external_id: Some("ext".into()),
            session_name: None,
            duration_seconds: None,
        };
        let source = Arc::new(object_store::StaticCredentialProvider::new(AwsCredential {
            key_id: "AKIASOURCE".into(),
            secret_key: SOURCE_SECRET.into(),
            token: Some(SOURCE_TOKEN.into()),
        }));
        AssumedRole::new(&profile, &role, source, sts)
    }

    /// The error `role`'s first credential gives, checked to quote no secret.
    async fn error_of(role: &AssumedRole) -> String {
        let message = role.get_credential().await.unwrap_err().to_string();
        for secret in [SOURCE_SECRET, SOURCE_TOKEN, ROLE_SECRET] {
            assert!(!message.contains(secret), "{message}");
        }
        assert!(message.contains("arn:aws:iam::1:role/r"), "{message}");
        message
    }

    #[tokio::test]
    async fn a_server_failing_for_ever_is_tried_four_times() {
        let server = serve(|_| http("500 Internal Server Error", "", "<oops/>"));
        let started = Instant::now();
        let message = error_of(&role(&server.endpoint, Duration::from_secs(5))).await;
        assert!(message.contains("500"), "{message}");
        assert_eq!(server.requests.load(Ordering::SeqCst), 4);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn bad_answers_are_errors_quoting_nothing() {
        let good = keys(&later());
        for (answer, says) in [
            (http("200 OK", "", "<AssumeRoleResponse><"), "not an AssumeRoleResponse"),
            (http("200 OK", "", &good.replace("<SessionToken>roletoken</SessionToken>", "")), "not an AssumeRoleResponse"),
            (http("200 OK", "", &good.replace("ASIAROLE", "")), "empty AccessKeyId"),
            (http("200 OK", "", &format!("<ErrorResponse><Error><Code>X</Code><Message>{ROLE_SECRET}</Message></Error></ErrorResponse>")), "not an AssumeRoleResponse"),
            (http("200 OK", "", &good.replace("</Credentials>", "</Credentials><Credentials/>")), "not an AssumeRoleResponse"),
            (http("403 Forbidden", "", "\u{1b}[31m"), "403"),
            (http("301 Moved Permanently", "", ""), "301"),
        ] {
            let server = serve(move |_| match &answer {
                Answer::Bytes(b) => Answer::Bytes(b.clone()),
                _ => unreachable!(),
            });
            let message = error_of(&role(&server.endpoint, Duration::from_secs(5))).await;
            assert!(message.contains(says), "{says}: {message}");
        }
    }

    #[tokio::test]
    async fn a_huge_answer_is_refused() {
        let server = serve(|_| Answer::Huge(crate::billed::MAX_RESPONSE_BYTES + 10));
        let message = error_of(&role(&server.endpoint, Duration::from_secs(20))).await;
        assert!(message.contains("longer than"), "{message}");
    }

    #[tokio::test]
    async fn a_silent_server_ends_in_bounded_time() {
        let server = serve(|_| Answer::Hang(Duration::from_secs(60)));
        let started = Instant::now();
        let message = error_of(&role(&server.endpoint, Duration::from_secs(1))).await;
        assert!(message.contains("4 attempts"), "{message}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn concurrent_first_uses_assume_once() {
        let server = serve(|_| http("200 OK", "", &keys(&later())));
        let role = Arc::new(role(&server.endpoint, Duration::from_secs(5)));
        let all: Vec<_> = (0..16)
            .map(|_| {
                let role = Arc::clone(&role);
                tokio::spawn(async move { role.get_credential().await.unwrap().key_id.clone() })
            })
            .collect();
        for task in all {
            assert_eq!(task.await.unwrap(), "ASIAROLE");
        }
        assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_uses_of_a_silent_server_wait_for_one_failure() {
        // Silent for its first four requests (one failed assume), then answering.
        let server = serve(|n| match n {
            0..4 => Answer::Hang(Duration::from_secs(60)),
            _ => http("200 OK", "", &keys(&later())),
        });
        let role = Arc::new(role(&server.endpoint, Duration::from_secs(1)));
        let started = Instant::now();
        let all: Vec<_> = (0..4)
            .map(|_| {
                let role = Arc::clone(&role);
                tokio::spawn(async move { role.get_credential().await.is_err() })
            })
            .collect();
        for task in all {
            assert!(task.await.unwrap());
        }
        assert_eq!(server.requests.load(Ordering::SeqCst), 4);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        // The failure is not kept: a later request assumes again.
        assert_eq!(role.get_credential().await.unwrap().key_id, "ASIAROLE");
        assert_eq!(server.requests.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn keys_that_expire_within_the_renewal_margin_are_not_assumed_again_for_every_request() {
        // STS gives 15 minutes at least: with this machine's clock 12 minutes ahead, the
        // keys look 3 minutes from expiry, inside the 5 minutes they are renewed ahead.
        let soon = (Utc::now() + chrono::Duration::minutes(3)).to_rfc3339();
        let server = serve(move |_| http("200 OK", "", &keys(&soon)));
        let role = role(&server.endpoint, Duration::from_secs(5));
        for _ in 0..5 {
            assert_eq!(role.get_credential().await.unwrap().key_id, "ASIAROLE");
        }
        assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn keys_already_expired_are_an_error_naming_the_clock() {
        let past = (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        let server = serve(move |_| http("200 OK", "", &keys(&past)));
        let message = error_of(&role(&server.endpoint, Duration::from_secs(5))).await;
        assert!(message.contains("clock"), "{message}");
        let now = Utc::now().to_rfc3339();
        let server = serve(move |_| http("200 OK", "", &keys(&now)));
        let message = error_of(&role(&server.endpoint, Duration::from_secs(5))).await;
        assert!(message.contains("clock"), "{message}");
    }
}
