//! What the XML providers' [`Billed`](super::Billed) share (S3, Azure, GCS's XML API): a refusal's
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

/// Parser events held between two items of a list (a page of 1,000 S3 versions, each a
/// few dozen events, with delete markers between them, holds far fewer).
const SKIPPED_EVENTS: usize = 200_000;

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
    // Elements between two items of a list are kept to be read later (the
    // `overlapped-lists` feature: S3 lists versions and delete markers mixed): at most
    // this many, or a page of a few items with millions of elements between them is
    // held whole.
    let mut de = quick_xml::de::Deserializer::from_str(text);
    de.event_buffer_size(std::num::NonZeroUsize::new(SKIPPED_EVENTS));
    T::deserialize(&mut de).map_err(|e| {
        super::http::generic(
            store,
            format!(
                "{what}: the answer is not what {store} sends: {}",
                excerpt(&e.to_string(), 200)
            ),
        )
    })
}

/// Elements one element of a listing's page may hold: a page holds at most 5,000 entries
/// (Azure; S3 and GCS 1,000), each one element of the page's list.
const PAGE_CHILDREN: usize = 10_000;

/// Elements a listing's page may nest.
const PAGE_DEPTH: usize = 32;

/// [`parse`] for one page of a listing, which becomes a list of entries: refused before
/// it is parsed when an element holds more than [`PAGE_CHILDREN`] elements or they nest
/// deeper than [`PAGE_DEPTH`], or when a second root element follows the first. Within the body's limit, a page of tiny unknown elements
/// would otherwise become millions of entries (each far larger than its bytes).
pub(crate) fn parse_page<'de, T: Deserialize<'de>>(
    store: &'static str,
    body: &'de [u8],
    what: &str,
) -> Result<T, object_store::Error> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    // Elements held so far by each element open.
    let mut open: Vec<usize> = vec![0];
    let refuse = |message: String| super::http::generic(store, format!("{what}: {message}"));
    // On an error, the parser below says what is wrong, in its own words.
    while let Ok(event) = reader.read_event() {
        let (held, opens) = match event {
            Event::Start(_) => (true, true),
            Event::Empty(_) => (true, false),
            Event::End(_) => {
                open.pop();
                if open.is_empty() {
                    break;
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if held {
            let count = open
                .last_mut()
                .expect("the document's level is never closed");
            *count += 1;
            let count = *count;
            if open.len() == 1 && count > 1 {
                // The parser would read the first document and never look at the second.
                return Err(refuse(
                    "the server gave more than one document (a second root element)".into(),
                ));
            }
            if count > PAGE_CHILDREN {
                return Err(refuse(format!(
                    "the server gave a page of more than {PAGE_CHILDREN} elements in one \
                     (a page holds at most 5,000 entries)"
                )));
            }
        }
        if opens {
            open.push(0);
            if open.len() > PAGE_DEPTH {
                return Err(refuse(format!(
                    "the server gave elements nested more than {PAGE_DEPTH} deep"
                )));
            }
        }
    }
    parse(store, body, what)
}

/// [`parse_page`] for a page whose root element must be one of `roots`: a server that
/// answers another document (fake-gcs-server answers `GET /bucket?uploads` with its
/// object listing, `ListBucketResult`) would otherwise read as a page of nothing.
#[cfg(any(feature = "aws", feature = "gcp"))]
pub(crate) fn parse_page_of<'de, T: Deserialize<'de>>(
    store: &'static str,
    body: &'de [u8],
    what: &str,
    roots: &[&str],
) -> Result<T, object_store::Error> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let found = loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                break Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Ok(Event::Eof) | Err(_) => break None,
            Ok(_) => continue,
        }
    };
    match found {
        Some(name) if roots.contains(&name.as_str()) => parse_page(store, body, what),
        // Another document (fake-gcs-server's object listing for `?uploads`): the
        // server does not serve this request, which a report says it did not look at.
        Some(name) if name != "Error" => Err(object_store::Error::NotSupported {
            source: format!(
                "{what}: the server answered {}, not `{}` (it does not serve this request)",
                excerpt(&name, 64),
                roots.join("` or `")
            )
            .into(),
        }),
        found => Err(super::http::generic(
            store,
            format!(
                "{what}: the server answered {}, not `{}`",
                match found {
                    Some(name) => format!("an {} document", excerpt(&name, 64)),
                    None => "no XML document".to_string(),
                },
                roots.join("` or `")
            ),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Page {
        #[serde(rename = "$value", default)]
        items: Vec<String>,
    }

    #[test]
    fn a_page_too_wide_or_too_deep_is_refused_before_it_is_parsed() {
        let page = |n: usize| format!("<P>{}</P>", "<a>x</a>".repeat(n));
        let read = |body: String| parse_page::<Page>("S3", body.as_bytes(), "ListParts");
        assert_eq!(
            read(page(PAGE_CHILDREN)).unwrap().items.len(),
            PAGE_CHILDREN
        );
        let wide = read(page(PAGE_CHILDREN + 1)).unwrap_err().to_string();
        assert!(wide.contains("more than 10000 elements in one"), "{wide}");
        let deep = format!("<P>{}{}</P>", "<a>".repeat(40), "</a>".repeat(40));
        let deep = read(deep).unwrap_err().to_string();
        assert!(deep.contains("nested more than 32 deep"), "{deep}");
        // Broken XML is left to the parser, which says what is wrong.
        let broken = read("<P><a>".to_string()).unwrap_err().to_string();
        assert!(broken.contains("not what S3 sends"), "{broken}");
    }
}
