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

    /// Whether the service accepts a connection within [`BUDGET`] (and is not disabled).
    async fn check(&self) -> Result<(), String> {
        let disabled = std::env::var("AWS_EC2_METADATA_DISABLED")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let why = if disabled {
            "is disabled (AWS_EC2_METADATA_DISABLED)".to_string()
        } else {
            let address = url::Url::parse(&self.endpoint)
                .ok()
                .and_then(|u| u.socket_addrs(|| Some(80)).ok())
                .and_then(|a| a.into_iter().next());
            let Some(address) = address else {
                return Err(format!("{} is not an address", self.endpoint));
            };
            let tried = tokio::task::spawn_blocking(move || {
                std::net::TcpStream::connect_timeout(&address, BUDGET)
            })
            .await;
            match tried {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => format!(
                    "at {} did not answer within {} s ({e})",
                    self.endpoint,
                    BUDGET.as_secs()
                ),
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
