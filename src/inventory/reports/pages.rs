//! The pages of a Parquet column chunk, walked from their own headers before anything in
//! them is decoded.
//!
//! The footer is written by whoever wrote the file, so nothing it says about a chunk
//! (encodings, where its dictionary is, sizes) bounds what decoding the chunk costs. The
//! page headers do: the parquet crate reads a chunk as a run of pages from its first byte
//! to its last, each a header (Thrift compact protocol) and a body, and decodes each body
//! by what its own header says. [`walk`] reads those headers the same way, on the very
//! bytes that will be decoded, and checks each page before the parquet crate sees it:
//!
//! - a page inflates to at most [`PAGE_LIMIT`] bytes, as its header declares; a gzip body
//!   is inflated here, bounded, and must come to exactly that (the parquet crate inflates
//!   gzip to the end of the stream and checks the size after);
//! - the body lies inside the chunk; the header is at most [`HEADER_LIMIT`] bytes, nested
//!   at most [`DEPTH_LIMIT`] deep, and names each field once;
//! - LZ4 (the deprecated Hadoop framing, whose fallback decoder is unbounded) is refused;
//!   SNAPPY, GZIP, LZ4_RAW and uncompressed chunks are read.
//!
//! What each data page can expand to then follows from its encoding
//! ([`Page::text_cost`]).

use parquet::basic::Compression;
use std::io::Read;

/// The most a page may inflate to (its header's `uncompressed_page_size`); writers aim at
/// 1 MiB and cap dictionary pages near that.
pub(crate) const PAGE_LIMIT: u64 = 8 << 20;

/// The longest page header read; one holds a few sizes and, at most, statistics of two
/// values.
pub(crate) const HEADER_LIMIT: usize = 1 << 20;

/// How deep a header's structs and lists may nest (a page header nests two deep).
pub(crate) const DEPTH_LIMIT: usize = 16;

/// One page of a chunk, as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    /// Where its header starts, from the chunk's first byte.
    pub offset: usize,
    /// Header and body, in bytes.
    pub length: usize,
    pub kind: Kind,
    /// Its size inflated (`uncompressed_page_size`), levels included.
    pub inflated: u64,
    /// Values (a dictionary page) or rows (a data page: levels, for a flat column).
    pub values: u64,
    /// The encoding of its values (Thrift enum value; see [`parquet::basic::Encoding`]).
    pub encoding: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dictionary,
    Data,
}

/// What decoding `rows` rows of a page may produce, in bytes, at most: each row counted
/// at `per_row`, the whole page at most `whole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cost {
    pub per_row: u64,
    pub whole: u64,
}

impl Cost {
    pub(crate) fn of(&self, rows: u64) -> u64 {
        rows.saturating_mul(self.per_row).min(self.whole)
    }
}

/// Thrift's `Encoding` values this module tells apart.
const PLAIN: i32 = 0;
const PLAIN_DICTIONARY: i32 = 2;
const DELTA_LENGTH_BYTE_ARRAY: i32 = 6;
const DELTA_BYTE_ARRAY: i32 = 7;
const RLE_DICTIONARY: i32 = 8;

impl Page {
    /// What a data page of a variable-length (BYTE_ARRAY) column may decode to, given the
    /// longest value of the chunk's dictionary (a page indexing one is refused before,
    /// when the chunk has given none): a dictionary index stands for any value of it; PLAIN values are stored whole (the page holds all it decodes to). Other
    /// encodings are refused: the DELTA ones' decoders make room for as many values as
    /// their body's own header counts, before the page's count is looked at, and no
    /// provider writes them.
    pub(crate) fn text_cost(&self, dictionary: u64) -> Result<Cost, String> {
        match self.encoding {
            PLAIN_DICTIONARY | RLE_DICTIONARY => Ok(Cost {
                per_row: dictionary,
                whole: u64::MAX,
            }),
            PLAIN => Ok(Cost {
                per_row: self.inflated,
                whole: self.inflated,
            }),
            DELTA_LENGTH_BYTE_ARRAY | DELTA_BYTE_ARRAY => Err(format!(
                "the page at byte {} is encoded {}: not read in a text column (its decoder \
                 sizes itself by counts the page's body gives; provider reports use \
                 dictionary or PLAIN pages)",
                self.offset,
                if self.encoding == DELTA_BYTE_ARRAY {
                    "DELTA_BYTE_ARRAY"
                } else {
                    "DELTA_LENGTH_BYTE_ARRAY"
                }
            )),
            other => Err(format!(
                "the page at byte {} has encoding {other}, not one of a text column",
                self.offset
            )),
        }
    }

    /// Whether a data page's values are indexes into the chunk's dictionary.
    pub(crate) fn indexes_dictionary(&self) -> bool {
        matches!(self.encoding, PLAIN_DICTIONARY | RLE_DICTIONARY)
    }

    /// Whether the values of a dictionary page are PLAIN (how every writer stores them).
    pub(crate) fn plain_values(&self) -> bool {
        matches!(self.encoding, PLAIN | PLAIN_DICTIONARY)
    }
}

/// The pages of one column chunk (`chunk`: all its bytes, as the footer places them),
/// checked as the module says and handed to `each` in order (nothing is kept: a chunk
/// can hold millions of pages). `codec` is the chunk's compression.
pub(crate) fn walk(
    chunk: &[u8],
    codec: Compression,
    mut each: impl FnMut(Page) -> Result<(), String>,
) -> Result<(), String> {
    if matches!(codec, Compression::LZ4) {
        return Err(
            "LZ4 (Hadoop framing) is not read: its size cannot be bounded before \
                    decoding (LZ4_RAW, SNAPPY, GZIP and uncompressed files are)"
                .to_string(),
        );
    }
    let mut at = 0usize;
    while at < chunk.len() {
        let fail = |message: String| format!("the page at byte {at} of the chunk: {message}");
        let window = &chunk[at..chunk.len().min(at.saturating_add(HEADER_LIMIT))];
        let (header, header_len) = Header::parse(window).map_err(fail)?;
        let body_len = usize::try_from(header.compressed).unwrap_or(usize::MAX);
        let body = chunk
            .get(at + header_len..)
            .and_then(|rest| rest.get(..body_len))
            .ok_or_else(|| {
                fail(format!(
                    "its body of {} bytes runs past the chunk's end",
                    header.compressed
                ))
            })?;
        if header.inflated > PAGE_LIMIT {
            return Err(fail(format!(
                "it inflates to {} bytes (the limit is {PAGE_LIMIT})",
                header.inflated
            )));
        }
        if header.levels > header.inflated || header.levels > header.compressed {
            return Err(fail(format!(
                "its levels take {} bytes, more than the page",
                header.levels
            )));
        }
        let compressed = !matches!(codec, Compression::UNCOMPRESSED) && header.compressed_body;
        let inflated_body = header.inflated - header.levels;
        if compressed && inflated_body > 0 && matches!(codec, Compression::GZIP(_)) {
            let levels = header.levels as usize;
            let got = inflated_size(&body[levels..], inflated_body).map_err(&fail)?;
            if got != inflated_body {
                return Err(fail(format!(
                    "it inflates to {}{got} bytes, not the {inflated_body} its header declares",
                    if got > inflated_body {
                        "more than "
                    } else {
                        ""
                    }
                )));
            }
        }
        each(Page {
            offset: at,
            length: header_len + body_len,
            kind: header.kind,
            inflated: header.inflated,
            values: header.values,
            encoding: header.encoding,
        })?;
        at += header_len + body_len;
    }
    Ok(())
}

/// The most list, set and map elements a footer may hold, all its lists together. The
/// parquet crate decodes each into a struct of up to a few hundred bytes (a column chunk's
/// metadata, a schema element, the Arrow field made of it); a report's footer holds a few
/// hundred to a few thousand. Bytes alone bound nothing useful here: one element can take
/// a byte, and a footer of [`FOOTER_LIMIT`](super::parquet::FOOTER_LIMIT) bytes could
/// hold millions.
pub(crate) const FOOTER_ELEMENTS: u64 = 1 << 16;

/// Walk a file's footer (its `FileMetaData`, Thrift compact protocol) before the parquet
/// crate decodes it: at most [`FOOTER_ELEMENTS`] list elements, nested at most
/// [`DEPTH_LIMIT`] deep, every value inside the bytes.
///
/// Its schema (field 2, a flat list of elements each giving its number of children) is
/// also walked as the tree the parquet crate builds of it, by recursion, giving every
/// leaf its path (the names of its ancestors, copied): at most [`DEPTH_LIMIT`] groups
/// deep, no group with more children than elements follow it, and at most
/// [`SCHEMA_PATHS`] bytes of paths in all. The element count alone let a chain of
/// 30,000 groups overflow the stack, a root of i32::MAX children reserve 16 GiB, and one
/// group of a 1 MiB name over 300 leaves take 300 MiB.
pub(crate) fn check_footer(footer: &[u8]) -> Result<(), String> {
    let mut input = Thrift::new(footer, "footer", FOOTER_ELEMENTS);
    let mut last = 0i16;
    while let Some((id, ty)) = input.field(&mut last)? {
        if id == 2 && ty == LIST {
            input.schema()?;
        } else {
            input.skip(ty, 1)?;
        }
    }
    Ok(())
}

/// The most bytes the paths of a footer's leaves may take together, each ancestor's name
/// counted with a `String`'s 24 bytes (a report's schema: a few dozen leaves, a few KiB).
pub(crate) const SCHEMA_PATHS: u64 = 16 << 20;

/// How many bytes a gzip stream (or several, one after another, as the parquet crate reads
/// them) inflates to, reading at most one past `expected`.
fn inflated_size(body: &[u8], expected: u64) -> Result<u64, String> {
    let decoder = flate2::read::MultiGzDecoder::new(body);
    std::io::copy(&mut decoder.take(expected + 1), &mut std::io::sink())
        .map_err(|e| format!("its gzip body is not readable: {e}"))
}

/// The fields of a page header this module uses.
#[derive(Debug)]
struct Header {
    kind: Kind,
    inflated: u64,
    compressed: u64,
    values: u64,
    encoding: i32,
    /// Bytes of levels stored before a v2 page's (compressed) values.
    levels: u64,
    /// Whether the body (past the levels) is compressed (v2 pages may say it is not).
    compressed_body: bool,
}

/// Thrift compact protocol types.
const STOP: u8 = 0;
const TRUE: u8 = 1;
const FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

/// `PageHeader.type` values.
const DATA_PAGE: i32 = 0;
const DICTIONARY_PAGE: i32 = 2;
const DATA_PAGE_V2: i32 = 3;

impl Header {
    /// A header from the start of `bytes`, and its length.
    fn parse(bytes: &[u8]) -> Result<(Header, usize), String> {
        let mut input = Thrift::new(bytes, "header", u64::MAX);
        let mut kind = None;
        let mut inflated = None;
        let mut compressed = None;
        let mut sub: Option<(i16, Sub)> = None;
        let mut seen = Fields::default();
        let mut last = 0i16;
        while let Some((id, ty)) = input.field(&mut last)? {
            seen.once(id)?;
            match id {
                1 => kind = Some(input.i32(ty)?),
                2 => inflated = Some(input.size(ty, "uncompressed_page_size")?),
                3 => compressed = Some(input.size(ty, "compressed_page_size")?),
                5 | 7 | 8 => {
                    if sub.is_some() {
                        return Err("its header describes more than one kind of page".into());
                    }
                    sub = Some((id, Sub::parse(&mut input, ty, id)?));
                }
                _ => input.skip(ty, 0)?,
            }
        }
        let missing = |name: &str| format!("its header has no {name}");
        let kind = kind.ok_or_else(|| missing("type"))?;
        let (sub_id, sub) = sub.ok_or_else(|| missing("data or dictionary page header"))?;
        let kind = match (kind, sub_id) {
            (DATA_PAGE, 5) | (DATA_PAGE_V2, 8) => Kind::Data,
            (DICTIONARY_PAGE, 7) => Kind::Dictionary,
            _ => {
                return Err(format!(
                    "a page of type {kind} with header field {sub_id} (not a data or \
                     dictionary page, or a header of another kind)"
                ))
            }
        };
        let header = Header {
            kind,
            inflated: inflated.ok_or_else(|| missing("uncompressed_page_size"))?,
            compressed: compressed.ok_or_else(|| missing("compressed_page_size"))?,
            values: sub.values,
            encoding: sub.encoding,
            levels: sub.levels,
            compressed_body: sub.compressed_body,
        };
        Ok((header, input.at))
    }
}

/// A data, dictionary or v2 data page header.
struct Sub {
    values: u64,
    encoding: i32,
    levels: u64,
    compressed_body: bool,
}

impl Sub {
    /// Field `id` of a page header (5: v1 data, 7: dictionary, 8: v2 data), of type `ty`.
    fn parse(input: &mut Thrift<'_>, ty: u8, id: i16) -> Result<Sub, String> {
        if ty != STRUCT {
            return Err(format!("header field {id} has type {ty}, not a struct"));
        }
        let mut values = None;
        let mut rows = None;
        let mut encoding = None;
        let mut levels = 0u64;
        let mut compressed_body = true;
        let mut seen = Fields::default();
        let mut last = 0i16;
        while let Some((field, ty)) = input.field(&mut last)? {
            seen.once(field)?;
            match (id, field) {
                (_, 1) => values = Some(input.size(ty, "num_values")?),
                (5 | 7, 2) | (8, 4) => encoding = Some(input.i32(ty)?),
                (8, 3) => rows = Some(input.size(ty, "num_rows")?),
                (8, 5 | 6) => levels = levels.saturating_add(input.size(ty, "levels_byte_length")?),
                (8, 7) => compressed_body = input.bool(ty)?,
                _ => input.skip(ty, 1)?,
            }
        }
        let values = values.ok_or("its header has no num_values")?;
        if id == 8 && rows != Some(values) {
            // The parquet crate reads a v2 page's `num_values`; a flat column has one
            // value (or null) a row, so the two must agree for rows to be costed.
            return Err(format!(
                "its v2 header counts {values} values in {} rows (a report's columns hold \
                 one value a row)",
                rows.map_or("no".to_string(), |r| r.to_string())
            ));
        }
        Ok(Sub {
            // A v2 page counts rows apart from values (levels); v1 pages of the flat
            // columns read here have one value (or null) a row.
            values: if id == 8 {
                rows.ok_or("its v2 header has no num_rows")?
            } else {
                values
            },
            encoding: encoding.ok_or("its header has no encoding")?,
            levels,
            compressed_body,
        })
    }
}

/// Field ids seen in one struct (ids 0..=63; a page header uses 1..=8).
#[derive(Default)]
struct Fields(u64);

impl Fields {
    fn once(&mut self, id: i16) -> Result<(), String> {
        let Some(bit) = u32::try_from(id).ok().filter(|&b| b < 64) else {
            return Ok(());
        };
        if self.0 & (1 << bit) != 0 {
            return Err(format!("its header gives field {id} twice"));
        }
        self.0 |= 1 << bit;
        Ok(())
    }
}

/// A reader of the Thrift compact protocol over a byte slice.
struct Thrift<'a> {
    bytes: &'a [u8],
    at: usize,
    /// What the bytes are, for messages: `header` or `footer`.
    what: &'static str,
    /// List, set and map elements still allowed.
    elements: u64,
}

impl<'a> Thrift<'a> {
    fn new(bytes: &'a [u8], what: &'static str, elements: u64) -> Self {
        Thrift {
            bytes,
            at: 0,
            what,
            elements,
        }
    }

    fn cut_short(&self) -> String {
        format!("its {} is cut short (or longer than the limit)", self.what)
    }

    /// One more list, set or map element.
    fn element_allowed(&mut self) -> Result<(), String> {
        self.elements = self.elements.checked_sub(1).ok_or_else(|| {
            format!(
                "its {} holds more than {FOOTER_ELEMENTS} list elements (the limit)",
                self.what
            )
        })?;
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.at).ok_or_else(|| self.cut_short())?;
        self.at += 1;
        Ok(b)
    }

    fn advance(&mut self, n: u64) -> Result<(), String> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.cut_short())?;
        self.at = end;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!(
            "its {} holds an integer of more than 10 bytes",
            self.what
        ))
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// The next field's id and type, or `None` at the struct's end.
    fn field(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>, String> {
        let b = self.byte()?;
        if b == STOP {
            return Ok(None);
        }
        let ty = b & 0x0f;
        let delta = i16::from(b >> 4);
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?)
                .map_err(|_| format!("its {} has a field id past i16", self.what))?
        } else {
            last.checked_add(delta)
                .ok_or_else(|| format!("its {} has a field id past i16", self.what))?
        };
        *last = id;
        Ok(Some((id, ty)))
    }

    fn i32(&mut self, ty: u8) -> Result<i32, String> {
        if ty != I32 {
            return Err(format!(
                "its {} has type {ty} where an i32 belongs",
                self.what
            ));
        }
        i32::try_from(self.zigzag()?)
            .map_err(|_| format!("its {} has an i32 out of range", self.what))
    }

    /// A count or size: an i32 that is not negative.
    fn size(&mut self, ty: u8, name: &str) -> Result<u64, String> {
        let v = self.i32(ty)?;
        u64::try_from(v).map_err(|_| format!("its {} gives {name} {v}", self.what))
    }

    fn bool(&mut self, ty: u8) -> Result<bool, String> {
        match ty {
            TRUE => Ok(true),
            FALSE => Ok(false),
            _ => Err(format!(
                "its {} has type {ty} where a bool belongs",
                self.what
            )),
        }
    }

    /// Past one value of type `ty` (`depth` structs and lists down). Every value takes at
    /// least one byte, so a count in a list header cannot make this loop past the bytes.
    fn skip(&mut self, ty: u8, depth: usize) -> Result<(), String> {
        if depth > DEPTH_LIMIT {
            return Err(format!("its {} nests deeper than {DEPTH_LIMIT}", self.what));
        }
        match ty {
            TRUE | FALSE => Ok(()),
            BYTE => self.advance(1),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.advance(8),
            BINARY => {
                let n = self.varint()?;
                self.advance(n)
            }
            LIST | SET => {
                let b = self.byte()?;
                let n = match b >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                self.elements(n, b & 0x0f, depth)
            }
            MAP => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                for _ in 0..n {
                    self.element_allowed()?;
                    self.element(types >> 4, depth)?;
                    self.element(types & 0x0f, depth)?;
                }
                Ok(())
            }
            STRUCT => {
                let mut last = 0i16;
                while let Some((_, ty)) = self.field(&mut last)? {
                    self.skip(ty, depth + 1)?;
                }
                Ok(())
            }
            _ => Err(format!(
                "its {} has a value of unknown type {ty}",
                self.what
            )),
        }
    }

    /// A footer's schema (the list header next), as [`check_footer`] says.
    fn schema(&mut self) -> Result<(), String> {
        let b = self.byte()?;
        let n = match b >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        if b & 0x0f != STRUCT {
            return self.elements(n, b & 0x0f, 1);
        }
        // The groups open: children still to come, and the bytes of the path to each.
        let mut open: Vec<(u64, u64)> = Vec::new();
        let mut paths = 0u64;
        for i in 0..n {
            self.element_allowed()?;
            let (name, children) = self.schema_element()?;
            if let Some(parent) = open.last_mut() {
                parent.0 -= 1;
            }
            let path = open.last().map_or(0, |g| g.1) + 24 + name;
            match children {
                Some(c) if c < 0 => return Err(format!("its footer's schema gives {c} children")),
                Some(c) if c > 0 => {
                    let c = c as u64;
                    if c > n - i - 1 {
                        return Err(format!(
                            "its footer's schema gives a group {c} children, more than the {} \
                             elements after it",
                            n - i - 1
                        ));
                    }
                    if open.len() >= DEPTH_LIMIT {
                        return Err(format!(
                            "its footer's schema nests groups deeper than {DEPTH_LIMIT}"
                        ));
                    }
                    open.push((c, path));
                }
                _ => {
                    paths += path;
                    if paths > SCHEMA_PATHS {
                        return Err(format!(
                            "its footer's schema gives its columns paths of more than \
                             {SCHEMA_PATHS} bytes in all (the limit)"
                        ));
                    }
                }
            }
            while open.last().is_some_and(|g| g.0 == 0) {
                open.pop();
            }
        }
        Ok(())
    }

    /// A schema element's name length and number of children (fields 4 and 5; the last
    /// given, as the parquet crate reads them), the rest skipped.
    fn schema_element(&mut self) -> Result<(u64, Option<i64>), String> {
        let (mut name, mut children) = (0, None);
        let mut last = 0i16;
        while let Some((id, ty)) = self.field(&mut last)? {
            match (id, ty) {
                (4, BINARY) => {
                    name = self.varint()?;
                    self.advance(name)?;
                }
                (5, I32) => children = Some(self.zigzag()?),
                _ => self.skip(ty, 3)?,
            }
        }
        Ok((name, children))
    }

    fn elements(&mut self, n: u64, ty: u8, depth: usize) -> Result<(), String> {
        for _ in 0..n {
            self.element_allowed()?;
            self.element(ty, depth)?;
        }
        Ok(())
    }

    /// One element of a list, set or map: a bool there takes a byte of its own.
    fn element(&mut self, ty: u8, depth: usize) -> Result<(), String> {
        match ty {
            TRUE | FALSE => self.advance(1),
            _ => self.skip(ty, depth + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_cut_anywhere_is_an_error_not_a_panic() {
        // type DATA_PAGE, sizes 10 and 5, data_page_header { num_values 3, encoding PLAIN,
        // levels RLE, RLE }.
        let header = [
            0x15, 0x00, 0x15, 0x14, 0x15, 0x0a, 0x2c, 0x15, 0x06, 0x15, 0x00, 0x15, 0x06, 0x15,
            0x06, 0x00, 0x00,
        ];
        let (parsed, len) = Header::parse(&header).unwrap();
        assert_eq!(len, header.len());
        assert_eq!(
            (parsed.inflated, parsed.compressed, parsed.values),
            (10, 5, 3)
        );
        assert_eq!(parsed.kind, Kind::Data);
        for cut in 0..header.len() {
            assert!(Header::parse(&header[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_field_given_twice_is_refused() {
        let header = [
            0x15, 0x00, 0x15, 0x14, 0x15, 0x0a, 0x05, 0x06, 0x0a, 0x2c, 0x15, 0x06, 0x15, 0x00,
            0x00, 0x00,
        ];
        let message = Header::parse(&header).unwrap_err();
        assert!(message.contains("field 3 twice"), "{message}");
    }

    #[test]
    fn nesting_past_the_limit_is_refused() {
        // Field 9 (unknown) as a struct holding a struct holding ... .
        let mut header = vec![0x15, 0x00, 0x15, 0x14, 0x15, 0x0a, 0x6c];
        header.extend(std::iter::repeat_n(0x1c, 40));
        header.extend(std::iter::repeat_n(0x00, 42));
        let message = Header::parse(&header).unwrap_err();
        assert!(message.contains("deeper"), "{message}");
    }
}
