//! What the providers' [`Billed`](super::Billed) (and the STS requests of a profile's
//! `role_arn`) share: a request sent with the store's
//! HTTP client, again after a failure the server may not repeat (5xx, 429, no answer),
//! its answer read up to [`MAX_RESPONSE_BYTES`].

use super::MAX_RESPONSE_BYTES;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use object_store::client::{HttpClient, HttpRequest};
use std::future::Future;
use std::time::Duration;

/// Attempts for a request the server failed (5xx, 429) or that did not reach it.
const ATTEMPTS: u32 = 4;

/// A provider's generic error.
pub(crate) fn generic(store: &'static str, message: String) -> object_store::Error {
    object_store::Error::Generic {
        store,
        source: message.into(),
    }
}

/// Send the request `make` builds (built, and signed, anew for each attempt), up to
/// [`ATTEMPTS`] times while the server fails or does not answer: the final status and
/// body (at most [`MAX_RESPONSE_BYTES`]). `what` names the request in errors.
pub(crate) async fn send<F, Fut>(
    client: &HttpClient,
    what: &str,
    make: F,
) -> Result<(http::StatusCode, Bytes), object_store::Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<HttpRequest, object_store::Error>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let again = attempt < ATTEMPTS;
        let response = match client.execute(make().await?).await {
            Ok(response) => response,
            Err(_) if again => {
                backoff(attempt).await;
                continue;
            }
            Err(e) => {
                return Err(generic(
                    "HTTP",
                    format!("{what}: error sending request after {attempt} attempts: {e}"),
                ))
            }
        };
        let status = response.status();
        let body = read_bounded(response.into_body(), what).await;
        if (status.is_server_error() || status.as_u16() == 429) && again {
            backoff(attempt).await;
            continue;
        }
        return match body {
            Ok(body) => Ok((status, body)),
            // A refusal whose body could not be read is still a refusal.
            Err(_) if !status.is_success() => Ok((status, Bytes::new())),
            Err(e) => Err(e),
        };
    }
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(100 << attempt.min(6))).await;
}

/// The body of a response, refused past [`MAX_RESPONSE_BYTES`].
async fn read_bounded(
    body: object_store::client::HttpResponseBody,
    what: &str,
) -> Result<Bytes, object_store::Error> {
    let mut chunks = body.bytes_stream();
    let mut body = BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        let chunk =
            chunk.map_err(|e| generic("HTTP", format!("{what}: reading the answer: {e}")))?;
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(generic(
                "HTTP",
                format!("{what}: the answer is longer than {MAX_RESPONSE_BYTES} bytes (the limit)"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
