//! Devices, pipes, folders, symlinks and oversized files named by a user.

use std::time::{Duration, Instant};

use switchboard_files::{open_regular, read_capped, read_text_capped, FileError};

#[test]
fn regular_files_and_symlinks_to_them_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, "hello").unwrap();
    assert_eq!(read_capped(&path, 5).unwrap(), b"hello");
    assert_eq!(read_text_capped(&path, 100).unwrap(), "hello");
    #[cfg(unix)]
    {
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(read_capped(&link, 5).unwrap(), b"hello");
    }
}

#[test]
fn a_file_over_the_cap_is_refused_with_the_cap_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, vec![7u8; 2048]).unwrap();
    let err = read_capped(&path, 1024).unwrap_err();
    assert!(matches!(err, FileError::TooLarge { size: 2048, limit: 1024 }));
    assert_eq!(err.to_string(), "it is larger than 1 KiB");
}

#[cfg(unix)]
#[test]
fn devices_pipes_folders_and_symlinks_to_them_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let to_zero = dir.path().join("zero.png");
    std::os::unix::fs::symlink("/dev/zero", &to_zero).unwrap();
    let to_pipe = dir.path().join("pipe.gguf");
    std::os::unix::fs::symlink(&fifo, &to_pipe).unwrap();
    for (path, kind) in [
        (std::path::PathBuf::from("/dev/zero"), "a device"),
        (std::path::PathBuf::from("/dev/urandom"), "a device"),
        (to_zero, "a device"),
        (fifo.clone(), "a pipe"),
        (to_pipe, "a pipe"),
        (dir.path().to_path_buf(), "a folder"),
    ] {
        let started = Instant::now();
        let err = read_capped(&path, 1 << 20).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{} hung", path.display());
        assert!(matches!(&err, FileError::NotAFile { kind: k } if *k == kind), "{}: {err}", path.display());
        assert!(open_regular(&path).is_err());
    }
    let missing = read_capped(&dir.path().join("nope"), 10).unwrap_err();
    assert!(matches!(missing, FileError::Io(ref e) if e.kind() == std::io::ErrorKind::NotFound));
}
