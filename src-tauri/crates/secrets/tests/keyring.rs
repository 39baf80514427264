//! The master key against a real Secret Service (a throw-away D-Bus session
//! with gnome-keyring-daemon, unlocked non-interactively) and without one.
//! Each case runs `secrets-probe` in its own process so that the keyring
//! library's one-time store set-up sees that case's environment.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PROBE: &str = env!("CARGO_BIN_EXE_secrets-probe");

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    eprintln!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

/// Runs a D-Bus session command with its output in files, not pipes: a daemon the
/// session started (gnome-keyring-daemon, activated services) can outlive it and
/// would hold a pipe open forever. The command is killed after `DEADLINE`, and every
/// process still running with this test's HOME is ended afterwards.
fn run_session(cmd: &mut Command, home: &Path) -> Output {
    const DEADLINE: Duration = Duration::from_secs(90);
    let out_path = home.join("session.stdout");
    let err_path = home.join("session.stderr");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    end_processes_of(home);
    let out = Output { status, stdout: std::fs::read(&out_path).unwrap(), stderr: std::fs::read(&err_path).unwrap() };
    eprintln!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

/// Kills the processes whose environment names `home` as HOME (daemons left by a session).
fn end_processes_of(home: &Path) {
    let wanted = format!("HOME={}", home.display()).into_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if environ.split(|b| *b == 0).any(|var| var == wanted.as_slice()) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The probe inside `dbus-run-session` with an unlocked login keyring in a fresh home.
fn in_keyring_session(home: &Path, args: &[&str]) -> Output {
    in_session(home, "echo switchboard-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1", args)
}

/// The probe inside `dbus-run-session` after `start_keyring` (a shell line) in a fresh home.
fn in_session(home: &Path, start_keyring: &str, args: &[&str]) -> Output {
    for tool in ["dbus-run-session", "gnome-keyring-daemon"] {
        assert!(
            Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().unwrap().status.success(),
            "{tool} is missing: install the Debian packages dbus and gnome-keyring (scripts/test does)"
        );
    }
    let script = format!(r#"{start_keyring}; exec "$@""#);
    run_session(
        Command::new("timeout")
            .args(["-k", "5", "60", "dbus-run-session", "--", "sh", "-c", &script, "sh", PROBE])
            .args(args)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_RUNTIME_DIR", home)
            .env("SWITCHBOARD_KEYRING_SERVICE", "switchboard-test"),
        home,
    )
}

#[test]
fn master_key_lives_in_a_real_secret_service_and_survives_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let key_file = home.path().join("master.key");
    let blob = home.path().join("blob");
    let key_file = key_file.to_str().unwrap();
    let first = in_keyring_session(home.path(), &[key_file, "keyring", "seal", blob.to_str().unwrap()]);
    assert!(first.status.success());
    assert_eq!(stdout(&first).lines().next(), Some("storage: keyring"));
    assert!(!Path::new(key_file).exists(), "no key file when the keyring holds the key");
    // The same keyring (the login keyring persists in the home) in a new session: same key.
    let second = in_keyring_session(home.path(), &[key_file, "auto", "open", blob.to_str().unwrap()]);
    assert!(second.status.success());
    assert!(stdout(&second).contains("storage: keyring") && stdout(&second).contains("open: ok"));
}

#[test]
fn without_a_keyring_the_key_goes_to_a_private_file_and_says_why() {
    let home = tempfile::tempdir().unwrap();
    let key_file = home.path().join("master.key");
    let blob = home.path().join("blob");
    let no_bus = |cmd: &mut Command| {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}/no-bus", home.path().display()))
            .env("XDG_RUNTIME_DIR", home.path());
    };
    let mut c = Command::new(PROBE);
    c.args([key_file.to_str().unwrap(), "auto", "seal", blob.to_str().unwrap()]);
    no_bus(&mut c);
    let out = run(&mut c);
    assert!(out.status.success());
    let line = stdout(&out);
    assert!(line.starts_with(&format!("storage: file {}", key_file.display())), "{line}");
    assert!(key_file.exists());

    // Required keyring and none there: a clear refusal, not a silent file.
    let mut c = Command::new(PROBE);
    c.args([home.path().join("other.key").to_str().unwrap(), "keyring"]);
    no_bus(&mut c);
    let out = run(&mut c);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keyring is required"));

    // The next start finds the file again; a replaced file fails clearly.
    let mut c = Command::new(PROBE);
    c.args([key_file.to_str().unwrap(), "auto", "open", blob.to_str().unwrap()]);
    no_bus(&mut c);
    assert!(stdout(&run(&mut c)).contains("open: ok"));
    std::fs::remove_file(&key_file).unwrap();
    let mut c = Command::new(PROBE);
    c.args([key_file.to_str().unwrap(), "file", "open", blob.to_str().unwrap()]);
    let out = run(&mut c);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("cannot be decrypted with this workstation's master key"), "{}", stdout(&out));
}

/// The probe in a D-Bus session whose Secret Service runs but was never unlocked.
fn in_locked_keyring_session(home: &Path, args: &[&str]) -> Output {
    in_session(home, "gnome-keyring-daemon --daemonize --components=secrets >/dev/null 2>&1 </dev/null", args)
}

#[test]
fn a_locked_keyring_does_not_get_a_second_key_in_a_file() {
    let home = tempfile::tempdir().unwrap();
    let key_file = home.path().join("master.key");
    let out = in_locked_keyring_session(home.path(), &[key_file.to_str().unwrap(), "auto"]);
    assert!(!out.status.success(), "a locked keyring is not silently replaced by a file");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("cannot be used now") && said.contains("unlock it"), "{said}");
    assert!(!key_file.exists(), "no second master key was made in a file");

    // A key file made earlier (when there was no keyring) is still the key.
    let blob = home.path().join("blob");
    let mut c = Command::new(PROBE);
    c.args([key_file.to_str().unwrap(), "file", "seal", blob.to_str().unwrap()]);
    assert!(run(&mut c).status.success());
    let out =
        in_locked_keyring_session(home.path(), &[key_file.to_str().unwrap(), "auto", "open", blob.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("storage: file") && stdout(&out).contains("open: ok"), "{}", stdout(&out));
}
