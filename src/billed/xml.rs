//! What the XML providers' [`Billed`](super::Billed) share (S3 and Azure): a refusal's
//! error, an answer parsed, an ID or marker bounded.

use super::MAX_NAME_BYTES;
use crate::text::excerpt;
use serde::Deserialize;

/// The error for a refused request to `store` (object_store's name of the provider):
/// its status, and the server's `Code` and `Message` (excerpted), as object_store's kinds
/// where one fits. `path` names the object asked about, if any.
pub(crate) fn status_error(
    store: &'static str,
    status: http::StatusCode,
    body: &[u8],
    what: &str,
    path: &str,
) -> object_store::Error {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "PascalCase")]
    struct ErrorBody {
        code: Option<String>,
        message: Option<String>,
    }
    let told = quick_xml::de::from_reader::<_, ErrorBody>(body).unwrap_or_default();
    let mut message = format!("{what}: {status}");
    for text in [told.code, told.message].into_iter().flatten() {
        message.push_str(": ");
        message.push_str(&excerpt(&text, 200));
    }
    let source = message.into();
    let path = path.to_string();
    match status.as_u16() {
        401 => object_store::Error::Unauthenticated { path, source },
        403 => object_store::Error::PermissionDenied { path, source },
        404 => object_store::Error::NotFound { path, source },
        _ => object_store::Error::Generic { store, source },
    }
}

/// `body` (after a byte order mark, which Azure may send) as a `T`, or an error naming
/// `what` and quoting the parser (excerpted).
pub(crate) fn parse<'de, T: Deserialize<'de>>(
    store: &'static str,
    body: &'de [u8],
    what: &str,
) -> Result<T, object_store::Error> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|e| {
        super::http::generic(store, format!("{what}: the answer is not UTF-8: {e}"))
    })?;
    quick_xml::de::from_str(text).map_err(|e| {
        super::http::generic(
            store,
            format!(
                "{what}: the answer is not what {store} sends: {}",
                excerpt(&e.to_string(), 200)
            ),
        )
    })
}

/// `text`, or an error naming `what` past [`MAX_NAME_BYTES`] (an ID or a marker, sent
/// back in the next request's URL).
pub(crate) fn bounded(
    store: &'static str,
    text: String,
    name: &str,
    what: &str,
) -> Result<String, object_store::Error> {
    match text.len() > MAX_NAME_BYTES {
        true => Err(super::http::generic(
            store,
            format!(
                "{what}: the server gave {name} of {} bytes (at most {MAX_NAME_BYTES} are read)",
                text.len()
            ),
        )),
        false => Ok(text),
    }
}
