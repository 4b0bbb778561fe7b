//! An `s3` store with no credential source but the instance metadata service: object_store
//! would ask it with its full retry budget (12 to 35 seconds where the address drops
//! packets, as on most laptops) and the error would blame the bucket's endpoint. Here the
//! service is tried once, with a short budget, before object_store's own provider; when it
//! does not answer, every request fails at once saying which sources were looked at.

use async_trait::async_trait;
use object_store::aws::{AwsCredential, AwsCredentialProvider};
use object_store::CredentialProvider;
use std::sync::Arc;
use std::time::Duration;

/// How long the metadata service may take to accept a connection.
pub(super) const BUDGET: Duration = Duration::from_secs(1);

/// object_store's credential provider, behind one bounded look at the metadata service.
#[derive(Debug)]
pub(super) struct MetadataFirst {
    inner: AwsCredentialProvider,
    /// The metadata service's address (`http://169.254.169.254` unless configured).
    endpoint: String,
    /// What was looked at before it, for the message.
    looked_at: String,
    /// The verdict, found once per store.
    verdict: tokio::sync::OnceCell<Result<(), String>>,
}

impl MetadataFirst {
    pub(super) fn new(inner: AwsCredentialProvider, endpoint: String, looked_at: String) -> Self {
        Self {
            inner,
            endpoint,
            looked_at,
            verdict: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether the service answers an HTTP request within [`BUDGET`] (and is not
    /// disabled): a connection accepted and never answered counts as no answer.
    async fn check(&self) -> Result<(), String> {
        let disabled = std::env::var("AWS_EC2_METADATA_DISABLED")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let why = if disabled {
            "is disabled (AWS_EC2_METADATA_DISABLED)".to_string()
        } else {
            let endpoint = self.endpoint.clone();
            match tokio::task::spawn_blocking(move || answers(&endpoint)).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => format!("at {} {e}", self.endpoint),
                Err(e) => format!("at {} could not be tried ({e})", self.endpoint),
            }
        };
        Err(format!(
            "no AWS credentials for this store: none in {}, and the instance metadata \
             service {why}; give keys or a profile, or run where the metadata service \
             answers",
            self.looked_at
        ))
    }
}

/// Whether the service at `endpoint` answers the token request every client starts with,
/// within [`BUDGET`] for the name lookup and connection and again for the answer. Blocking.
fn answers(endpoint: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    let url = url::Url::parse(endpoint).map_err(|_| "is not a URL".to_string())?;
    let host = url.host_str().unwrap_or_default().to_string();
    let address = url
        .socket_addrs(|| Some(80))
        .ok()
        .and_then(|a| a.into_iter().next())
        .ok_or_else(|| "has no address".to_string())?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, BUDGET)
        .map_err(|e| format!("did not answer within {} s ({e})", BUDGET.as_secs()))?;
    let silent = |e: std::io::Error| {
        format!(
            "took a connection but did not answer within {} s ({e})",
            BUDGET.as_secs()
        )
    };
    stream.set_read_timeout(Some(BUDGET)).map_err(silent)?;
    stream.set_write_timeout(Some(BUDGET)).map_err(silent)?;
    write!(
        stream,
        "PUT /latest/api/token HTTP/1.1\r\nHost: {host}\r\n\
         X-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .map_err(silent)?;
    let mut first = [0u8; 5];
    stream.read_exact(&mut first).map_err(silent)?;
    if &first == b"HTTP/" {
        Ok(())
    } else {
        Err("answered, but not in HTTP".to_string())
    }
}

#[async_trait]
impl CredentialProvider for MetadataFirst {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let verdict = self.verdict.get_or_init(|| self.check()).await;
        match verdict {
            Ok(()) => self.inner.get_credential().await,
            Err(message) => Err(object_store::Error::Generic {
                store: "S3",
                source: message.clone().into(),
            }),
        }
    }
}
