//! Files at the edge of the app. Reading files a user names (an image dropped
//! on the window, a model to import): only regular files, or symlinks to
//! them, are opened; a device (`/dev/zero`), a pipe or a socket is refused
//! before a byte is read, and reads stop one byte past a cap instead of
//! filling memory. Creating the app's own files (data folder, database, key
//! file, logs, exports): readable by the user only.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Why a user-named file was not read.
#[derive(Debug)]
pub enum FileError {
    /// It is a folder, a device, a pipe or a socket.
    NotAFile {
        kind: &'static str,
    },
    /// It holds `size` bytes, more than the cap.
    TooLarge {
        size: u64,
        limit: u64,
    },
    Io(io::Error),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAFile { kind } => write!(f, "it is {kind}, not a regular file"),
            Self::TooLarge { limit, .. } => write!(f, "it is larger than {}", human(*limit)),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FileError {}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// For callers that speak `io::Error`: the refusal's words travel with it.
impl From<FileError> for io::Error {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Io(e) => e,
            other => io::Error::other(other.to_string()),
        }
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

fn kind_of(meta: &std::fs::Metadata) -> Option<&'static str> {
    let ty = meta.file_type();
    if ty.is_file() {
        return None;
    }
    if ty.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ty.is_char_device() || ty.is_block_device() {
            return Some("a device");
        }
        if ty.is_fifo() {
            return Some("a pipe");
        }
        if ty.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Opens `path` for reading if it is a regular file (a symlink is followed
/// and judged by what it points to). The check is made on the path and again
/// on the opened file, which was opened without blocking, so swapping in a
/// pipe between the two cannot hang the reader.
pub fn open_regular(path: &Path) -> Result<File, FileError> {
    if let Some(kind) = kind_of(&std::fs::metadata(path)?) {
        return Err(FileError::NotAFile { kind });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if let Some(kind) = kind_of(&file.metadata()?) {
        return Err(FileError::NotAFile { kind });
    }
    Ok(file)
}

/// The whole of the regular file at `path`, refused when it holds more than `limit` bytes.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    if len > limit {
        return Err(FileError::TooLarge { size: len, limit });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // The file may grow after the check: read one byte past the cap at most.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { size: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_text_capped(path: &Path, limit: u64) -> Result<String, FileError> {
    String::from_utf8(read_capped(path, limit)?)
        .map_err(|_| FileError::Io(io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text")))
}

/// Creates `dir` and any missing parents readable by the user only (0700 on
/// Unix). A folder that already exists is left as it is: it may be shared.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Options that create a file readable by the user only (0600 on Unix); the
/// caller says how to open it (write, append, create, create_new).
pub fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}
