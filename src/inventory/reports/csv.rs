//! CSV data files (gzipped or not): streamed from the store into a blocking thread that
//! inflates and parses them, so neither a whole file nor its rows are ever in memory; a
//! row longer than [`ROW_LIMIT`] fails before more of it is read.

use super::manifest::DataFile;
use super::{column_names, excerpt, parse_date, Fail, Role, Row, Rows};
use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};
use object_store::{ObjectStore, ObjectStoreExt};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;
use std::sync::Arc;
use tokio::sync::mpsc;

pub(crate) struct Layout {
    pub header: bool,
    pub columns: Vec<String>,
    pub url_encoded_keys: bool,
}

/// The longest row read, in bytes (inflated), header included. A row of a provider's
/// report is a key of at most 1,024 bytes (3 KiB URL-encoded) and a few dozen short
/// fields; Azure's optional `Metadata` and `Tags` columns add a few KiB. A longer row
/// fails, naming its number, when this much of it has been read: the parser holds at most
/// about twice this per file.
pub(crate) const ROW_LIMIT: u64 = 1 << 20;

/// Chunks in flight between the download and the parser.
const CHUNKS: usize = 4;

/// Downloaded bytes are handed to the parser in pieces of at least this much (a local
/// file streams in 8 KiB chunks: a delivery each would cost more than the parsing).
const PIECE: usize = 256 << 10;

pub(crate) async fn read(
    store: &Arc<dyn ObjectStore>,
    file: &DataFile,
    layout: Layout,
    rows: Rows,
) -> Result<Rows, Fail> {
    let fail = |message: String| Fail::at(&file.path, message);
    let got = store
        .get(&file.path)
        .await
        .map_err(|e| file.unreadable(e))?;
    let (tx, rx) = mpsc::channel::<Bytes>(CHUNKS);
    let parse = tokio::task::spawn_blocking(move || parse(ChannelRead::new(rx), layout, rows));
    let mut body = crate::layer::body(got);
    let mut md5 = Md5::new();
    let mut size = 0u64;
    let mut download = Ok(());
    let mut piece = bytes::BytesMut::new();
    loop {
        let chunk = body.next().await;
        if let Some(Ok(chunk)) = &chunk {
            size += chunk.len() as u64;
            md5.update(chunk);
            if piece.is_empty() && chunk.len() >= PIECE {
                if tx.send(chunk.clone()).await.is_err() {
                    break; // the parser stopped: its error says why
                }
                continue;
            }
            piece.extend_from_slice(chunk);
        }
        let ended = !matches!(chunk, Some(Ok(_)));
        let full = piece.len() >= PIECE || (ended && !piece.is_empty());
        if full && tx.send(piece.split().freeze()).await.is_err() {
            break;
        }
        match chunk {
            Some(Ok(_)) => {}
            None => break,
            Some(Err(e)) => {
                download = Err(fail(format!("reading failed: {e}")));
                break;
            }
        }
    }
    drop(tx);
    let parsed = parse
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    download?;
    let rows = parsed.map_err(fail)?;
    file.check_size(size)?;
    file.check_md5(md5.finalize().into())?;
    Ok(rows)
}

/// The downloaded chunks as a `Read`, for the blocking parser.
struct ChannelRead {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl ChannelRead {
    fn new(rx: mpsc::Receiver<Bytes>) -> Self {
        Self {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Inflate (when the bytes start with gzip's magic number) and parse.
fn parse(input: ChannelRead, layout: Layout, rows: Rows) -> Result<Rows, String> {
    let mut input = BufReader::with_capacity(64 << 10, input);
    let gzip = input
        .fill_buf()
        .map_err(|e| e.to_string())?
        .starts_with(&[0x1f, 0x8b]);
    if gzip {
        let inflated = flate2::bufread::MultiGzDecoder::new(input);
        parse_csv(BufReader::with_capacity(64 << 10, inflated), layout, rows)
    } else {
        parse_csv(input, layout, rows)
    }
}

/// Which column plays which role.
#[derive(Default)]
struct Columns {
    key: Option<usize>,
    size: Option<usize>,
    modified: Option<usize>,
    class: Option<usize>,
    latest: Option<usize>,
    delete_marker: Option<usize>,
}

impl Columns {
    fn of<'a>(names: impl Iterator<Item = &'a str>) -> Result<Self, String> {
        let mut columns = Columns::default();
        let mut seen = Vec::new();
        for (i, name) in names.enumerate() {
            seen.push(name.to_string());
            let slot = match Role::of(name) {
                Some(Role::Key) => &mut columns.key,
                Some(Role::Size) => &mut columns.size,
                Some(Role::Modified) => &mut columns.modified,
                Some(Role::Class) => &mut columns.class,
                Some(Role::Latest) => &mut columns.latest,
                Some(Role::DeleteMarker) => &mut columns.delete_marker,
                None => continue,
            };
            slot.get_or_insert(i);
        }
        for (role, slot) in
            Role::required()
                .into_iter()
                .zip([columns.key, columns.size, columns.modified])
        {
            if slot.is_none() {
                return Err(format!(
                    "no {role:?} column among {} (a report needs the key or name, the \
                     size and the last-modified time)",
                    column_names(seen.iter().map(String::as_str))
                ));
            }
        }
        Ok(columns)
    }
}

/// The parser's input, refusing to give more of a row than [`ROW_LIMIT`] (and the
/// parser's buffer): the parser grows its record without bound, so the bound is on what
/// it is given. `row_start` is where the row being read starts, set after each row.
struct RowBound<R> {
    inner: R,
    given: u64,
    row_start: Rc<Cell<u64>>,
}

/// The error [`RowBound`] stops a row with.
#[derive(Debug)]
struct RowTooLong;

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "longer than {ROW_LIMIT} bytes")
    }
}

impl std::error::Error for RowTooLong {}

impl<R: Read> Read for RowBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.given - self.row_start.get() > ROW_LIMIT {
            return Err(std::io::Error::other(RowTooLong));
        }
        let n = self.inner.read(buf)?;
        self.given += n as u64;
        Ok(n)
    }
}

/// What a CSV error says, with the row it is at when the parser stopped a long one.
fn csv_error(e: ::csv::Error, row: u64) -> String {
    match e.kind() {
        ::csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|e| e.is::<RowTooLong>()) => {
            format!(
                "row {row}: longer than {ROW_LIMIT} bytes (the longest row read: a provider's \
                 rows are a 1,024-byte key and short fields)"
            )
        }
        ::csv::ErrorKind::Io(io) => format!("cannot read (or inflate) it: {io}"),
        _ => format!("not valid CSV: {e}"),
    }
}

fn parse_csv(input: impl Read, layout: Layout, mut rows: Rows) -> Result<Rows, String> {
    let row_start = Rc::new(Cell::new(0));
    let input = RowBound {
        inner: input,
        given: 0,
        row_start: Rc::clone(&row_start),
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(layout.header)
        .flexible(true)
        .buffer_capacity(64 << 10)
        .from_reader(input);
    let columns = if layout.header {
        let header = reader.headers().map_err(|e| match e.kind() {
            ::csv::ErrorKind::Io(_) => csv_error(e, 0).replacen("row 0", "the header", 1),
            _ => format!("no header: {e}"),
        })?;
        let columns = Columns::of(header.iter())?;
        row_start.set(reader.position().byte());
        columns
    } else {
        Columns::of(layout.columns.iter().map(String::as_str))?
    };
    let (key, size, modified) = (
        columns.key.expect("required"),
        columns.size.expect("required"),
        columns.modified.expect("required"),
    );
    let mut record = ::csv::ByteRecord::new();
    let mut decoded = String::new();
    let mut line = 0u64;
    let mut in_batch = 0u32;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e, line + 1)),
        }
        row_start.set(reader.position().byte());
        line += 1;
        let at = |message: String| format!("row {line}: {message}");
        let text = |i: usize| -> Result<&str, String> {
            std::str::from_utf8(record.get(i).unwrap_or_default())
                .map_err(|_| at(format!("column {} is not UTF-8", i + 1)))
        };
        let optional = |i: Option<usize>| -> Result<Option<&str>, String> {
            Ok(match i {
                Some(i) => Some(text(i)?).filter(|t| !t.is_empty()),
                None => None,
            })
        };
        let raw_key = text(key)?;
        let key_text = if layout.url_encoded_keys && raw_key.contains(['%', '+']) {
            decoded.clear();
            url_decode(raw_key, &mut decoded).map_err(at)?;
            decoded.as_str()
        } else {
            raw_key
        };
        let size_value = match record.get(size).unwrap_or_default() {
            b"" => None,
            digits => Some(parse_size(digits).ok_or_else(|| {
                at(format!(
                    "size {} is not a whole number of bytes",
                    excerpt(&String::from_utf8_lossy(digits), 64)
                ))
            })?),
        };
        let modified_value = match optional(Some(modified))? {
            Some(t) => {
                Some(parse_date(t).ok_or_else(|| at(format!("{} is not a date", excerpt(t, 64))))?)
            }
            None => None,
        };
        let flag = |i: Option<usize>| -> Result<Option<bool>, String> {
            match optional(i)? {
                None => Ok(None),
                Some(t) if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
                Some(t) if t.eq_ignore_ascii_case("false") => Ok(Some(false)),
                Some(t) => Err(at(format!("{} is not true or false", excerpt(t, 64)))),
            }
        };
        rows.add(Row {
            key: key_text,
            size: size_value,
            modified: modified_value,
            class: optional(columns.class)?,
            latest: flag(columns.latest)?,
            delete_marker: flag(columns.delete_marker)?,
        })
        .map_err(at)?;
        in_batch += 1;
        if in_batch == 8192 {
            rows.batch_done();
            in_batch = 0;
        }
    }
    Ok(rows)
}

/// A size in decimal digits, without going through `str`.
fn parse_size(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit()
            .then_some(())
            .and_then(|()| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
    })
}

/// Form decoding (`%XX` and `+` for a space), as S3 Inventory writes keys in CSV.
fn url_decode(raw: &str, out: &mut String) -> Result<(), String> {
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("key {} decodes to invalid UTF-8", excerpt(raw, 64)))?;
    out.push_str(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{parse_size, url_decode};

    #[test]
    fn sizes_parse_from_digits_only() {
        assert_eq!(parse_size(b"0"), Some(0));
        assert_eq!(parse_size(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_size(b"18446744073709551616"), None);
        assert_eq!(parse_size(b"-1"), None);
        assert_eq!(parse_size(b"1.5"), None);
        assert_eq!(parse_size(b""), None);
    }

    #[test]
    fn keys_are_form_decoded() {
        let mut out = String::new();
        url_decode("logs/my+file%2B1%25.txt", &mut out).unwrap();
        assert_eq!(out, "logs/my file+1%.txt");
        out.clear();
        url_decode("caf%C3%A9", &mut out).unwrap();
        assert_eq!(out, "café");
        out.clear();
        assert!(url_decode("bad%FF", &mut out).is_err());
    }
}
