//! A cloud store with no credential source but the instance metadata service: object_store
//! would ask it with its full retry budget (12 to 35 seconds where the address drops
//! packets, as on most laptops), book those requests as the store's, and the error would
//! blame the bucket's endpoint. Here the service is tried once, with a short budget,
//! before object_store's own provider; when it does not answer, every request fails at
//! once saying which sources were looked at. `s3` stores (the EC2 / ECS metadata
//! service), `gcs` stores (the GCE metadata server) and `azure` stores (IMDS, for a
//! managed identity) use it.

use async_trait::async_trait;
use object_store::CredentialProvider;
use std::sync::Arc;
use std::time::Duration;

/// How long the metadata service may take to accept a connection.
pub(super) const BUDGET: Duration = Duration::from_secs(1);

/// Which metadata service, and how to ask it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Service {
    /// EC2's (`PUT /latest/api/token`, as every AWS client starts); off with
    /// `AWS_EC2_METADATA_DISABLED=true`.
    Aws,
    /// GCE's (`GET /computeMetadata/v1/` with `Metadata-Flavor: Google`).
    Google,
    /// Azure's IMDS (`GET /metadata/identity/oauth2/token` with `Metadata: true`).
    Azure,
}

impl Service {
    fn request(self, host: &str) -> String {
        match self {
            Service::Aws => format!(
                "PUT /latest/api/token HTTP/1.1\r\nHost: {host}\r\n\
                 X-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            ),
            Service::Google => format!(
                "GET /computeMetadata/v1/ HTTP/1.1\r\nHost: {host}\r\n\
                 Metadata-Flavor: Google\r\nConnection: close\r\n\r\n"
            ),
            Service::Azure => format!(
                "GET /metadata/identity/oauth2/token?api-version=2019-08-01&\
                 resource=https%3A%2F%2Fstorage.azure.com HTTP/1.1\r\nHost: {host}\r\n\
                 Metadata: true\r\nConnection: close\r\n\r\n"
            ),
        }
    }

    fn disabled(self) -> Option<&'static str> {
        match self {
            Service::Aws => std::env::var("AWS_EC2_METADATA_DISABLED")
                .is_ok_and(|v| v.eq_ignore_ascii_case("true"))
                .then_some("is disabled (AWS_EC2_METADATA_DISABLED)"),
            Service::Google | Service::Azure => None,
        }
    }

    fn store(self) -> &'static str {
        match self {
            Service::Aws => "S3",
            Service::Google => "GCS",
            Service::Azure => "MicrosoftAzure",
        }
    }

    fn advice(self) -> &'static str {
        match self {
            Service::Aws => "give keys or a profile",
            Service::Google => {
                "give a service account key, a credentials file or `gcloud auth \
                 application-default login`"
            }
            Service::Azure => "give a key, a SAS token or a connection string, or `credential = \"cli\"` after `az login`",
        }
    }
}

/// object_store's credential provider, behind one bounded look at the metadata service.
#[derive(Debug)]
pub(super) struct MetadataFirst<T> {
    inner: Arc<dyn CredentialProvider<Credential = T>>,
    service: Service,
    /// The metadata service's address (`http://169.254.169.254` unless configured).
    endpoint: String,
    /// What was looked at before it, for the message.
    looked_at: String,
    /// The verdict, found once per store.
    verdict: tokio::sync::OnceCell<Result<(), String>>,
}

impl<T> MetadataFirst<T> {
    pub(super) fn new(
        inner: Arc<dyn CredentialProvider<Credential = T>>,
        service: Service,
        endpoint: String,
        looked_at: String,
    ) -> Self {
        Self {
            inner,
            service,
            endpoint,
            looked_at,
            verdict: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether the service answers an HTTP request within [`BUDGET`] (and is not
    /// disabled): a connection accepted and never answered counts as no answer.
    async fn check(&self) -> Result<(), String> {
        let why = match self.service.disabled() {
            Some(why) => why.to_string(),
            None => {
                let (endpoint, service) = (self.endpoint.clone(), self.service);
                match tokio::task::spawn_blocking(move || answers(&endpoint, service)).await {
                    Ok(Ok(())) => return Ok(()),
                    Ok(Err(e)) => format!("at {} {e}", self.endpoint),
                    Err(e) => format!("at {} could not be tried ({e})", self.endpoint),
                }
            }
        };
        let provider = match self.service {
            Service::Aws => "AWS",
            Service::Google => "Google Cloud",
            Service::Azure => "Azure",
        };
        Err(format!(
            "no {provider} credentials for this store: none in {}, and the instance \
             metadata service {why}; {}, or run where the metadata service answers",
            self.looked_at,
            self.service.advice()
        ))
    }
}

/// Whether the service at `endpoint` answers the request every client starts with,
/// within [`BUDGET`] for the connection and again for the answer. Blocking.
fn answers(endpoint: &str, service: Service) -> Result<(), String> {
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
    stream
        .write_all(service.request(&host).as_bytes())
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
impl<T: Send + Sync + std::fmt::Debug + 'static> CredentialProvider for MetadataFirst<T> {
    type Credential = T;

    async fn get_credential(&self) -> object_store::Result<Arc<T>> {
        let verdict = self.verdict.get_or_init(|| self.check()).await;
        match verdict {
            Ok(()) => self.inner.get_credential().await,
            Err(message) => Err(object_store::Error::Generic {
                store: self.service.store(),
                source: message.clone().into(),
            }),
        }
    }
}
