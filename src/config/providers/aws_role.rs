//! `role_arn`: an AWS profile that acts as a role, assumed through STS `AssumeRole` with
//! the credentials of its `source_profile` (keys, a `credential_process`, or a role
//! assumed in turn) or of its `credential_source` (`Environment`, `Ec2InstanceMetadata`,
//! `EcsContainer`: object_store's providers for the last two), as the AWS CLI, boto3 and
//! s5cmd assume it.
//!
//! The request is signed by object_store's [`AwsAuthorizer`] (no signing code here) and
//! sent with a client of the store's options and certificate authorities, not counted as
//! the store's requests. The role's keys are kept until [`super::aws_process::REFRESH_BEFORE`]
//! ahead of their `Expiration`, then assumed again with the source's current keys.
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
            Source::Profile(source) if source.name == *name => "with its own keys".to_string(),
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
            cached: Renewing::default(),
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
        parse(&answer).map_err(|e| format!("{what}: STS answered {e}"))
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
