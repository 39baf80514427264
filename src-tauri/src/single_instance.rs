//! One app per data folder: the first launch listens on `<data>/app.sock`; a
//! second launch on the same folder asks it to show its window and exits
//! (the command line and `switchboard serve` are not affected: they share the
//! database through SQLite's locking).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tauri::{AppHandle, Manager};

pub enum Claim {
    /// This is the first: it listens for later launches (none where the socket could not be made).
    First(Option<UnixListener>),
    /// Another app serves this folder and was asked to show itself.
    Other,
}

/// Set once the app is ending: a launch asking now is told to wait and start on its own.
static EXITING: AtomicBool = AtomicBool::new(false);

pub fn exiting() {
    EXITING.store(true, Ordering::SeqCst);
}

pub fn claim(data_dir: &Path) -> Claim {
    let path = data_dir.join("app.sock");
    // An app that is ending says so; this launch waits for it to go (up to 15 s).
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Ok(other) = UnixStream::connect(&path) {
        match ask_to_show(other) {
            Some(answer) if answer == "shown" => return Claim::Other,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            _ => break,
        }
    }
    // Nobody answers: a socket left by an app that ended without removing it.
    let _ = std::fs::remove_file(&path);
    match UnixListener::bind(&path) {
        Ok(listener) => Claim::First(Some(listener)),
        Err(e) => {
            tracing::warn!(%e, path = %path.display(), "no single-instance socket: a second launch will open a second window");
            Claim::First(None)
        }
    }
}

fn ask_to_show(mut other: UnixStream) -> Option<String> {
    other.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    other.write_all(b"show\n").ok()?;
    let mut answer = String::new();
    BufReader::new(other).read_line(&mut answer).ok()?;
    Some(answer.trim().to_string())
}

/// Shows the window whenever a later launch asks (unless this app is ending).
pub fn listen(listener: UnixListener, app: AppHandle) {
    std::thread::Builder::new()
        .name("single-instance".into())
        .spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut line = String::new();
                let asked = BufReader::new(&stream).read_line(&mut line).is_ok() && line.trim() == "show";
                if !asked {
                    continue;
                }
                if EXITING.load(Ordering::SeqCst) {
                    let _ = stream.write_all(b"exiting\n");
                } else {
                    show_window(&app);
                    let _ = stream.write_all(b"shown\n");
                }
            }
        })
        .expect("a thread");
}

/// Brings the main window back (from the tray or behind other windows).
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}
