//! Finds (or creates) the master key the way the app does and says where it
//! lives; `seal`/`open` prove a second run gets the same key. Used by the
//! keyring tests, which run it inside a throw-away D-Bus session, and handy
//! for an admin checking a workstation: `secrets-probe <key-file> auto`.

use std::path::PathBuf;
use std::process::ExitCode;

use switchboard_secrets::{open, seal, MasterKey, Sealed, StorePreference};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(key_file), Some(pref)) = (args.first(), args.get(1)) else {
        eprintln!("usage: secrets-probe <key-file> <auto|keyring|file> [seal|open <blob-file>]");
        return ExitCode::from(2);
    };
    let preference = match pref.as_str() {
        "keyring" => StorePreference::Keyring,
        "file" => StorePreference::File,
        _ => StorePreference::Auto,
    };
    let service = std::env::var("SWITCHBOARD_KEYRING_SERVICE").unwrap_or_else(|_| "switchboard".into());
    let (key, storage) = match MasterKey::load_or_create(&PathBuf::from(key_file), &service, preference) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("storage: {}", serde_json_like(&storage));
    let blob = args.get(3).map(PathBuf::from);
    match (args.get(2).map(String::as_str), blob) {
        (Some("seal"), Some(path)) => {
            let sealed = seal(&key, b"probe", b"probe").expect("seal");
            std::fs::write(path, [sealed.nonce, sealed.ciphertext].concat()).expect("write blob");
        }
        (Some("open"), Some(path)) => {
            let bytes = std::fs::read(path).expect("read blob");
            let sealed = Sealed { nonce: bytes[..24].to_vec(), ciphertext: bytes[24..].to_vec() };
            match open(&key, &sealed, b"probe") {
                Ok(_) => println!("open: ok"),
                Err(e) => {
                    println!("open: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => {}
    }
    ExitCode::SUCCESS
}

fn serde_json_like(storage: &switchboard_secrets::KeyStorage) -> String {
    match storage {
        switchboard_secrets::KeyStorage::Keyring => "keyring".into(),
        switchboard_secrets::KeyStorage::File { path, reason } => format!("file {path} ({reason})"),
    }
}
