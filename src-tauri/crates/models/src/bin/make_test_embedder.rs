//! `make-test-embedder SOURCE PATH`: writes a copy of the GGUF model SOURCE
//! whose metadata names mean pooling, which makes the test model an embedding
//! model (the API tests' embeddings come from it).

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, path] = args.as_slice() else {
        eprintln!("usage: make-test-embedder SOURCE PATH");
        return std::process::ExitCode::from(2);
    };
    let (source, path) = (std::path::Path::new(source), std::path::Path::new(path));
    let arch = match switchboard_models::library::describe(source) {
        Ok(facts) => facts.architecture,
        Err(e) => {
            eprintln!("make-test-embedder: {}: {e}", source.display());
            return std::process::ExitCode::FAILURE;
        }
    };
    let key = format!("{arch}.pooling_type");
    match switchboard_models::gguf::copy_with_metadata(
        source,
        path,
        &[(&key, switchboard_models::gguf::NewValue::U32(1))],
    ) {
        Ok(()) => {
            println!("{}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-test-embedder: {}: {e}", path.display());
            std::process::ExitCode::FAILURE
        }
    }
}
