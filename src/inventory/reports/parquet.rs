//! Parquet data files: only the columns a report needs, a row group at a time, in
//! 8,192-row batches, whatever physical types the writer chose for them.

use super::manifest::DataFile;
use super::{parse_date, Fail, Role, Row, Rows};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use std::sync::Arc;

/// Rows decoded at once.
pub(crate) const BATCH: usize = 8192;

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
            let names: Vec<_> = fields.iter().map(|f| f.name().as_str()).collect();
            return Err(format!(
                "no {role:?} column among {names:?} (a report needs the key or name, the size \
                 and the last-modified time)"
            ));
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let mut batches = builder
        .with_projection(mask)
        .with_batch_size(BATCH)
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
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
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
                    .ok_or_else(|| format!("`{text}` is not a date")),
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
