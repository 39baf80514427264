//! `export-bindings [PATH]`: writes the TypeScript bindings (default `src/bindings.ts`).

fn main() {
    let path = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(switchboard_app::bindings::default_path);
    if let Err(e) = switchboard_app::bindings::export(&switchboard_app::bindings::builder(), &path) {
        eprintln!("export-bindings: {e}");
        std::process::exit(1);
    }
    println!("{}", path.display());
}
