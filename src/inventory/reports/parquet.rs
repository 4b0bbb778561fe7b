//! Parquet data files: only the columns a report needs, a row group at a time, in
//! batches of up to 8,192 rows, whatever physical types the writer chose for them.
//!
//! Decoding expands a text column: a dictionary value stands for every row that points at
//! it, so 12 KB of Parquet can decode to gigabytes. Before decoding, every text column's
//! dictionary page is read and its longest value found: a value longer than
//! [`VALUE_LIMIT`] fails the file (naming row group and column), and the batch is as many
//! rows as keep the decoded text under [`BATCH_BYTES`] (8,192 for real reports). The
//! footer is refused past [`FOOTER_LIMIT`].

use super::manifest::DataFile;
use super::{column_names, excerpt, parse_date, Fail, Role, Row, Rows};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use bytes::Buf;
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, MetadataFetch};
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::basic::Type as PhysicalType;
use parquet::column::page::{Page, PageReader};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;
use std::sync::Arc;

/// Rows decoded at once, at most.
pub(crate) const BATCH: usize = 8192;

/// The decoded text a batch may hold at most, counting each row at the longest value
/// each of its text columns can have.
pub(crate) const BATCH_BYTES: u64 = 16 << 20;

/// The longest value a text column read may have in its dictionary: a key is at most
/// 1,024 bytes (about 4 KiB for Azure), a class, date or flag a few dozen.
pub(crate) const VALUE_LIMIT: u64 = 64 << 10;

/// The largest dictionary page read (compressed, with its header); writers cap them at
/// about 1 MiB.
pub(crate) const DICTIONARY_LIMIT: u64 = 16 << 20;

/// The largest footer (file metadata) read; a report's is a few KiB to a few MiB.
pub(crate) const FOOTER_LIMIT: u64 = 16 << 20;

pub(crate) async fn read(
    store: &Arc<dyn ObjectStore>,
    file: &DataFile,
    verify: bool,
    rows: Rows,
) -> Result<Rows, Fail> {
    let fail = |message: String| Fail::at(&file.path, message);
    let meta = store
        .head(&file.path)
        .await
        .map_err(|e| file.unreadable(e))?;
    file.check_size(meta.size)?;
    let checksum = async {
        if !verify || file.md5.is_none() {
            return Ok(());
        }
        let mut body = store
            .get(&file.path)
            .await
            .map_err(|e| file.unreadable(e))?
            .into_stream();
        let mut md5 = Md5::new();
        while let Some(chunk) = body.next().await {
            md5.update(chunk.map_err(|e| fail(format!("reading failed: {e}")))?);
        }
        file.check_md5(md5.finalize().into())
    };
    let decode = decode(store, file, meta.size, rows);
    let (checked, rows) = futures::join!(checksum, decode);
    checked?;
    rows.map_err(fail)
}

async fn decode(
    store: &Arc<dyn ObjectStore>,
    file: &DataFile,
    size: u64,
    mut rows: Rows,
) -> Result<Rows, String> {
    let reader = StoreReader {
        store: Arc::clone(store),
        path: file.path.clone(),
        size,
    };
    // Types from the Parquet schema alone (no embedded Arrow schema): strings read as
    // Utf8, whatever dictionary or view type the writer's Arrow schema had.
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let builder = ParquetRecordBatchStreamBuilder::new_with_options(reader, options)
        .await
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let fields = builder.schema().fields().clone();
    let mut wanted = Vec::new();
    let mut roles = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if let Some(role) = Role::of(field.name()) {
            if !roles.contains(&role) {
                wanted.push(i);
                roles.push(role);
            }
        }
    }
    for role in Role::required() {
        if !roles.contains(&role) {
            let names = column_names(fields.iter().map(|f| f.name().as_str()));
            return Err(format!(
                "no {role:?} column among {names} (a report needs the key or name, the size \
                 and the last-modified time)"
            ));
        }
    }
    let schema = builder.parquet_schema();
    let mask = ProjectionMask::roots(schema, wanted.iter().copied());
    let leaves: Vec<usize> = (0..schema.num_columns())
        .filter(|&leaf| wanted.contains(&schema.get_column_root_idx(leaf)))
        .collect();
    let batch = batch_rows(store, &file.path, builder.metadata(), &leaves).await?;
    let mut batches = builder
        .with_projection(mask)
        .with_batch_size(batch)
        .build()
        .map_err(|e| format!("cannot read: {e}"))?;
    let mut first_row = 0u64;
    while let Some(batch) = batches
        .try_next()
        .await
        .map_err(|e| format!("cannot decode: {e}"))?
    {
        let columns = Columns::of(&batch, &roles)?;
        for i in 0..batch.num_rows() {
            let at = |message: String| format!("row {}: {message}", first_row + i as u64 + 1);
            let row = Row {
                key: columns.key.get(i).ok_or_else(|| at("no key".to_string()))?,
                size: columns.size.as_ref().and_then(|c| c.get(i)),
                modified: match &columns.modified {
                    Some(c) => c.get(i).map_err(at)?,
                    None => None,
                },
                class: columns.class.as_ref().and_then(|c| c.get(i)),
                latest: columns.latest.as_ref().and_then(|c| c.get(i)),
                delete_marker: columns.delete_marker.as_ref().and_then(|c| c.get(i)),
            };
            rows.add(row).map_err(at)?;
        }
        first_row += batch.num_rows() as u64;
        rows.batch_done();
    }
    Ok(rows)
}

/// Rows per batch: as many as keep the decoded text of the columns read (`leaves`) under
/// [`BATCH_BYTES`], in every row group, counting each row at the longest value its
/// columns can hold. Fails on a value longer than [`VALUE_LIMIT`].
async fn batch_rows(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    meta: &ParquetMetaData,
    leaves: &[usize],
) -> Result<usize, String> {
    let mut batch = BATCH;
    for (group_at, group) in meta.row_groups().iter().enumerate() {
        let mut per_row = 0u64;
        for &leaf in leaves {
            let column = group.column(leaf);
            let longest = match column.column_type() {
                PhysicalType::BYTE_ARRAY => {
                    let mut longest = match column.dictionary_page_offset() {
                        Some(_) => longest_in_dictionary(store, path, column, group.num_rows())
                            .await
                            .map_err(|e| {
                                format!(
                                    "row group {group_at}, column `{}`: cannot read its \
                                     dictionary: {e}",
                                    column.column_path().string()
                                )
                            })?,
                        None => 0,
                    };
                    if longest > VALUE_LIMIT {
                        return Err(format!(
                            "row group {group_at}, column `{}`: a dictionary value of {longest} \
                             bytes (the limit is {VALUE_LIMIT}: no key, class, date or flag is \
                             that long)",
                            column.column_path().string()
                        ));
                    }
                    // DELTA_BYTE_ARRAY shares prefixes between values: one can be as
                    // long as the chunk's text (PLAIN values are as long as they are
                    // stored, with no expansion).
                    if column
                        .encodings()
                        .any(|e| e == parquet::basic::Encoding::DELTA_BYTE_ARRAY)
                    {
                        longest =
                            longest.max(u64::try_from(column.uncompressed_size()).unwrap_or(0));
                    }
                    longest
                }
                PhysicalType::FIXED_LEN_BYTE_ARRAY => {
                    let length = u64::try_from(column.column_descr().type_length()).unwrap_or(0);
                    if length > VALUE_LIMIT {
                        return Err(format!(
                            "column `{}`: values of {length} bytes (the limit is {VALUE_LIMIT})",
                            column.column_path().string()
                        ));
                    }
                    length
                }
                _ => 12,
            };
            per_row = per_row.saturating_add(longest);
        }
        let rows = (BATCH_BYTES / per_row.max(1)).clamp(1, BATCH as u64);
        batch = batch.min(rows as usize);
    }
    Ok(batch)
}

/// The longest value in a column chunk's dictionary page (PLAIN: each value is a 4-byte
/// length and its bytes), read on its own.
async fn longest_in_dictionary(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    column: &ColumnChunkMetaData,
    rows: i64,
) -> Result<u64, String> {
    let (start, length) = column.byte_range();
    let end = match u64::try_from(column.data_page_offset()) {
        Ok(data) if data > start => data.min(start.saturating_add(length)),
        _ => start.saturating_add(length),
    };
    if end - start > DICTIONARY_LIMIT {
        return Err(format!(
            "its dictionary page takes {} bytes (the limit is {DICTIONARY_LIMIT})",
            end - start
        ));
    }
    let bytes = store
        .get_range(path, start..end)
        .await
        .map_err(|e| e.to_string())?;
    let chunk = Arc::new(Ranged { start, bytes });
    let mut pages =
        SerializedPageReader::new(chunk, column, usize::try_from(rows).unwrap_or(0), None)
            .map_err(|e| e.to_string())?;
    let buf = match pages.get_next_page().map_err(|e| e.to_string())? {
        Some(Page::DictionaryPage { buf, .. }) => buf,
        _ => return Err("the chunk does not start with it".to_string()),
    };
    let mut longest = 0u64;
    let mut at = 0usize;
    while let Some(prefix) = buf.get(at..at + 4) {
        let length = u32::from_le_bytes(prefix.try_into().expect("4 bytes"));
        longest = longest.max(u64::from(length));
        at = at.saturating_add(4).saturating_add(length as usize);
    }
    Ok(longest)
}

/// The bytes of one range of a file, at their offsets in it (what the page reader takes).
struct Ranged {
    start: u64,
    bytes: Bytes,
}

impl Ranged {
    fn slice(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let from = start
            .checked_sub(self.start)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|&s| s <= self.bytes.len())
            .ok_or_else(|| {
                ParquetError::EOF(format!("offset {start} is outside the range read"))
            })?;
        let to = from.saturating_add(length).min(self.bytes.len());
        Ok(self.bytes.slice(from..to))
    }
}

impl Length for Ranged {
    fn len(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl ChunkReader for Ranged {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.slice(start, usize::MAX)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let bytes = self.slice(start, length)?;
        if bytes.len() < length {
            return Err(ParquetError::EOF(format!(
                "{length} bytes at {start} are past the range read"
            )));
        }
        Ok(bytes)
    }
}

/// A Parquet file in a store, read by ranges (object_store coalesces nearby ranges).
struct StoreReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

fn parquet_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreReader {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(64 << 10))
                .load_and_finish(FooterFetch(self), size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// The reads of the footer, each refused past [`FOOTER_LIMIT`] (before it is read).
struct FooterFetch<'a>(&'a mut StoreReader);

impl MetadataFetch for FooterFetch<'_> {
    fn fetch(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        if range.end.saturating_sub(range.start) > FOOTER_LIMIT {
            let message = format!(
                "a footer of {} bytes (the limit is {FOOTER_LIMIT})",
                range.end.saturating_sub(range.start)
            );
            return async move { Err(ParquetError::General(message)) }.boxed();
        }
        self.0.get_bytes(range)
    }
}

/// A batch's columns by role, typed.
struct Columns<'a> {
    key: Text<'a>,
    size: Option<Size<'a>>,
    modified: Option<Time<'a>>,
    class: Option<Text<'a>>,
    latest: Option<Flag<'a>>,
    delete_marker: Option<Flag<'a>>,
}

impl<'a> Columns<'a> {
    fn of(batch: &'a RecordBatch, roles: &[Role]) -> Result<Self, String> {
        let mut columns = Columns {
            key: Text::Absent,
            size: None,
            modified: None,
            class: None,
            latest: None,
            delete_marker: None,
        };
        for (array, role) in batch.columns().iter().zip(roles) {
            let unsupported = || {
                format!(
                    "column for {role:?} has type {}, which is not supported",
                    array.data_type()
                )
            };
            match role {
                Role::Key => columns.key = Text::of(array).ok_or_else(unsupported)?,
                Role::Class => columns.class = Some(Text::of(array).ok_or_else(unsupported)?),
                Role::Size => columns.size = Some(Size::of(array).ok_or_else(unsupported)?),
                Role::Modified => columns.modified = Some(Time::of(array).ok_or_else(unsupported)?),
                Role::Latest => columns.latest = Some(Flag::of(array).ok_or_else(unsupported)?),
                Role::DeleteMarker => {
                    columns.delete_marker = Some(Flag::of(array).ok_or_else(unsupported)?)
                }
            }
        }
        Ok(columns)
    }
}

enum Text<'a> {
    Absent,
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    Binary(&'a arrow_array::BinaryArray),
}

impl<'a> Text<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Utf8 => Text::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Text::Large(array.as_string::<i64>()),
            DataType::Binary => Text::Binary(array.as_binary::<i32>()),
            _ => return None,
        })
    }

    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Text::Absent => None,
            Text::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Text::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Text::Binary(a) => a
                .is_valid(i)
                .then(|| std::str::from_utf8(a.value(i)).ok())
                .flatten(),
        }
    }
}

enum Size<'a> {
    I64(&'a arrow_array::Int64Array),
    I32(&'a arrow_array::Int32Array),
    U64(&'a arrow_array::UInt64Array),
    U32(&'a arrow_array::UInt32Array),
}

impl<'a> Size<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Int64 => Size::I64(array.as_primitive::<Int64Type>()),
            DataType::Int32 => Size::I32(array.as_primitive::<Int32Type>()),
            DataType::UInt64 => Size::U64(array.as_primitive::<UInt64Type>()),
            DataType::UInt32 => Size::U32(array.as_primitive::<UInt32Type>()),
            _ => return None,
        })
    }

    /// A negative size (a corrupt report) reads as no size, which `Rows` refuses.
    fn get(&self, i: usize) -> Option<u64> {
        match self {
            Size::I64(a) => a
                .is_valid(i)
                .then(|| u64::try_from(a.value(i)).ok())
                .flatten(),
            Size::I32(a) => a
                .is_valid(i)
                .then(|| u64::try_from(a.value(i)).ok())
                .flatten(),
            Size::U64(a) => a.is_valid(i).then(|| a.value(i)),
            Size::U32(a) => a.is_valid(i).then(|| u64::from(a.value(i))),
        }
    }
}

enum Time<'a> {
    /// Any timestamp unit: its nulls, its values and nanoseconds per unit.
    Stamp(&'a dyn Array, &'a [i64], i64),
    /// Milliseconds since 1970 without a timestamp annotation.
    Millis(&'a arrow_array::Int64Array),
    Text(Text<'a>),
}

impl<'a> Time<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Timestamp(unit, _) => {
                let (values, per): (&[i64], i64) = match unit {
                    TimeUnit::Second => (
                        array.as_primitive::<TimestampSecondType>().values(),
                        1_000_000_000,
                    ),
                    TimeUnit::Millisecond => (
                        array.as_primitive::<TimestampMillisecondType>().values(),
                        1_000_000,
                    ),
                    TimeUnit::Microsecond => (
                        array.as_primitive::<TimestampMicrosecondType>().values(),
                        1_000,
                    ),
                    TimeUnit::Nanosecond => {
                        (array.as_primitive::<TimestampNanosecondType>().values(), 1)
                    }
                };
                Time::Stamp(array.as_ref(), values, per)
            }
            DataType::Int64 => Time::Millis(array.as_primitive::<Int64Type>()),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary => Time::Text(Text::of(array)?),
            _ => return None,
        })
    }

    fn get(&self, i: usize) -> Result<Option<DateTime<Utc>>, String> {
        let from_nanos = |n: i128| {
            i64::try_from(n)
                .ok()
                .map(|n| Utc.timestamp_nanos(n))
                .ok_or_else(|| "the last-modified time is out of range".to_string())
        };
        match self {
            Time::Stamp(a, values, per) => match a.is_valid(i) {
                true => from_nanos(i128::from(values[i]) * i128::from(*per)).map(Some),
                false => Ok(None),
            },
            Time::Millis(a) => match a.is_valid(i) {
                true => from_nanos(i128::from(a.value(i)) * 1_000_000).map(Some),
                false => Ok(None),
            },
            Time::Text(t) => match t.get(i) {
                Some(text) => parse_date(text)
                    .map(Some)
                    .ok_or_else(|| format!("{} is not a date", excerpt(text, 64))),
                None => Ok(None),
            },
        }
    }
}

enum Flag<'a> {
    Bool(&'a arrow_array::BooleanArray),
    Text(Text<'a>),
}

impl<'a> Flag<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Boolean => Flag::Bool(array.as_boolean()),
            _ => Flag::Text(Text::of(array)?),
        })
    }

    fn get(&self, i: usize) -> Option<bool> {
        match self {
            Flag::Bool(a) => a.is_valid(i).then(|| a.value(i)),
            Flag::Text(t) => t.get(i).map(|t| t.eq_ignore_ascii_case("true")),
        }
    }
}
