//! Reading a file someone named (a configuration, a journal, a checkpoint, a report):
//! regular files only, symbolic links followed, at most a stated number of bytes. A FIFO
//! would block the reader forever and `/dev/zero` would be read until memory runs out:
//! both are refused, naming the file, what it is and what was expected.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Open `path` (a `what`: "configuration file", "journal"...) for reading, if it is a
/// regular file once links are followed, with its metadata. Opening never blocks: on
/// Unix the file is opened non-blocking (a FIFO without a writer would wait for one) and
/// checked through the open handle, so a name swapped after a check cannot slip through.
/// A missing file is an error of kind `NotFound`, for callers that allow one.
pub(crate) fn open_regular(path: &Path, what: &str) -> io::Result<(File, Metadata)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a regular file ({}): a {what} is read from a regular file",
                path.display(),
                kind(&metadata)
            ),
        ));
    }
    Ok((file, metadata))
}

/// The bytes of `file` (opened with [`open_regular`] from `path`), at most `limit`: a
/// file larger than that, or one that grows past it while it is read, is an error
/// naming the file, the limit and the size found.
pub(crate) fn read_capped(
    file: File,
    metadata: &Metadata,
    path: &Path,
    limit: u64,
    what: &str,
) -> io::Result<Vec<u8>> {
    let too_big = |found: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} {found}, more than a {what} may ({limit} bytes, {})",
                path.display(),
                crate::text::human_bytes(limit)
            ),
        )
    };
    if metadata.len() > limit {
        return Err(too_big(format!("holds {} bytes", metadata.len())));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big("grew while it was read".to_string()));
    }
    Ok(bytes)
}

/// The bytes of the regular file `path` (a `what`), at most `limit`: [`open_regular`]
/// then [`read_capped`]. What every user-named file stratus reads goes through.
pub(crate) fn read_regular(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let (file, metadata) = open_regular(path, what)?;
    read_capped(file, &metadata, path, limit, what)
}

/// [`read_regular`], as UTF-8 text.
pub(crate) fn read_regular_text(path: &Path, limit: u64, what: &str) -> io::Result<String> {
    String::from_utf8(read_regular(path, limit, what)?).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is not UTF-8 text (byte {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// What a file that is not a regular one is, in words.
fn kind(metadata: &Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = metadata.file_type();
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device, such as /dev/zero";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if metadata.is_dir() {
        "a folder"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_up_to_the_cap_and_nothing_else_is() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "0123456789").unwrap();
        assert_eq!(read_regular(&file, 10, "test file").unwrap(), b"0123456789");
        let err = read_regular(&file, 9, "test file").unwrap_err().to_string();
        assert!(
            err.contains("holds 10 bytes, more than a test file may (9 bytes"),
            "{err}"
        );
        let err = read_regular(dir.path(), 9, "test file")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file (a folder)"), "{err}");
        #[cfg(unix)]
        {
            let link = dir.path().join("zero");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            let err = read_regular(&link, 9, "test file").unwrap_err().to_string();
            assert!(err.contains("a character device"), "{err}");
        }
        let missing = read_regular(&dir.path().join("none"), 9, "x").unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
