//! The command line's grammar (clap): what each subcommand takes and its `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Switchboard: which model serves which use case, and the engine that serves it.",
    long_about = "Switchboard without a window. Runs on the same data folder and database as the desktop app.\n\nExit codes: 0 done, 1 failed, 2 bad arguments or input."
)]
pub struct Cli {
    /// The data folder (database, sealed keys, models); else $SWITCHBOARD_DATA_DIR, else the app's own.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print results as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (OpenAI- and Ollama-compatible, configuration) without a window, until Ctrl-C.
    Serve(ServeArgs),
    /// Ask a use case (or one model) and print the answer as it comes.
    Chat(ChatArgs),
    /// Describe images with a vision use case.
    Describe(DescribeArgs),
    /// The local model library.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Use cases: list, show, change.
    #[command(subcommand, name = "use-cases")]
    UseCases(UseCasesCommand),
    /// Providers: list, add, change, test.
    #[command(subcommand)]
    Providers(ProvidersCommand),
    /// The configuration file: export and import.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The request ledger.
    #[command(subcommand)]
    Costs(CostsCommand),
    /// Run the same prompts against several candidates and report latency and cost.
    Compare(CompareArgs),
    /// API tokens: list, create, revoke.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Interface to listen on (default: Settings' choice, else 127.0.0.1).
    #[arg(long)]
    pub host: Option<String>,
    /// Port (default: Settings' choice, else 4315).
    #[arg(long)]
    pub port: Option<u16>,
    /// An origin allowed by CORS (repeat for more; none sends no CORS headers).
    #[arg(long = "allow-origin")]
    pub allow_origins: Vec<String>,
    /// Fetch images given as http(s) URLs.
    #[arg(long)]
    pub fetch_image_urls: bool,
    /// The largest request body in MiB.
    #[arg(long)]
    pub max_body_mib: Option<u32>,
    /// The most images in one request.
    #[arg(long)]
    pub max_images: Option<u32>,
    /// Requests served at once.
    #[arg(long)]
    pub max_concurrent: Option<u32>,
}

/// Parameters a request may set for itself.
#[derive(Debug, Args, Default)]
pub struct ParamArgs {
    #[arg(long)]
    pub temperature: Option<f32>,
    #[arg(long)]
    pub top_k: Option<u32>,
    #[arg(long)]
    pub top_p: Option<f32>,
    #[arg(long)]
    pub max_tokens: Option<u32>,
    #[arg(long)]
    pub repeat_penalty: Option<f32>,
    #[arg(long)]
    pub seed: Option<u32>,
    /// A stop sequence (repeat for more).
    #[arg(long = "stop")]
    pub stop: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The prompt; read from standard input when absent or "-".
    pub prompt: Option<String>,
    /// The use case whose route and parameters answer.
    #[arg(long, default_value = "answer_generation")]
    pub use_case: String,
    /// One model instead of the route (local/<id>, <provider>/<model>).
    #[arg(long)]
    pub model: Option<String>,
    /// Answer as JSON following this schema (a file or the schema itself).
    #[arg(long, value_name = "SCHEMA")]
    pub json_schema: Option<String>,
    #[command(flatten)]
    pub params: ParamArgs,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Image files (PNG, JPEG, WebP, GIF, BMP, TIFF); all go to the model together.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// What to ask about the images.
    #[arg(long)]
    pub prompt: Option<String>,
    #[arg(long, default_value = "vision_vlm")]
    pub use_case: String,
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub params: ParamArgs,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Every model a use case can be given: the local library and the providers' models.
    List,
    /// Add a GGUF file to the library.
    Import {
        path: PathBuf,
        /// Use the file where it is instead of copying it into the models folder.
        #[arg(long)]
        reference: bool,
    },
    /// Pair a model with a vision projector (mmproj) from the library, or "none".
    Pair {
        /// The model's id in the library.
        model: String,
        #[arg(long)]
        projector: String,
    },
    /// Change how a model is loaded; options not given stay as they are
    /// ("default" gives the choice back to the engine).
    Set {
        /// The model's id in the library.
        model: String,
        /// Layers on the GPU (0 to 1024), or "auto".
        #[arg(long, value_parser = optional_count)]
        gpu_layers: Option<LoadValue>,
        /// Context window in tokens, shared by the parallel requests, or "default".
        #[arg(long, value_parser = optional_count)]
        context: Option<LoadValue>,
        /// CPU threads, or "default".
        #[arg(long, value_parser = optional_count)]
        threads: Option<LoadValue>,
        /// Requests generated at once (1 to 64), or "default".
        #[arg(long, value_parser = optional_count)]
        parallel: Option<LoadValue>,
    },
    /// Download a GGUF file into the models folder (verified, resumable).
    Download {
        url: String,
        /// The expected sha256 (hex); the file is kept only if it matches.
        #[arg(long)]
        sha256: Option<String>,
        /// The name in the models folder (from the URL when absent).
        #[arg(long)]
        file_name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UseCasesCommand {
    /// Every use case with its model.
    List,
    /// One use case: model, parameters, route.
    Show { id: String },
    /// Change a use case (validated and audited as in the window).
    Set(SetArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    pub id: String,
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub enabled: Option<bool>,
    #[arg(long)]
    pub system_prompt: Option<String>,
    /// The route's fallbacks, in order (repeat; replaces the saved ones). "none" clears them.
    #[arg(long = "fallback")]
    pub fallbacks: Vec<String>,
    /// Use the parameters below (switches custom parameters on).
    #[command(flatten)]
    pub params: ParamArgs,
    /// Go back to the use case's default parameters.
    #[arg(long, conflicts_with_all = ["temperature", "top_k", "top_p", "max_tokens", "repeat_penalty", "seed", "stop"])]
    pub default_params: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Every provider with its state, spend and budget (keys masked).
    List,
    /// Add a provider (disabled, at its kind's default endpoint until set).
    Add {
        /// openai, azure, anthropic, gemini, dashscope, ollama, openai_compatible.
        #[arg(long)]
        kind: String,
        /// Shown in the window; the provider's id (which names its models) is made from it.
        #[arg(long)]
        name: String,
    },
    /// Change a provider.
    Set(ProviderSetArgs),
    /// Test the connection and list the provider's models.
    Test { id: String },
}

#[derive(Debug, Args)]
pub struct ProviderSetArgs {
    pub id: String,
    #[arg(long)]
    pub enabled: Option<bool>,
    #[arg(long)]
    pub base_url: Option<String>,
    /// Allow plain http to another machine.
    #[arg(long)]
    pub allow_http: Option<bool>,
    /// Monthly budget in US dollars; "none" for no budget.
    #[arg(long)]
    pub budget: Option<String>,
    /// Read an API key from standard input (it replaces the first key).
    #[arg(long)]
    pub key_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write the configuration (use cases, providers without keys, routing) as JSON.
    Export {
        /// The file to write; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Apply a configuration file (checked whole first; nothing changes if any part is wrong).
    Import {
        file: PathBuf,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CostsCommand {
    /// Write ledger rows to a CSV or JSON-lines file.
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: FormatArg,
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, included.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub use_case: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    /// ok, error or cancelled.
    #[arg(long)]
    pub status: Option<String>,
    /// window, cli, compare, token:<name>.
    #[arg(long)]
    pub caller: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[arg(long)]
    pub use_case: String,
    /// Two to eight candidates, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub candidates: Vec<String>,
    /// A JSON or CSV file of prompts.
    #[arg(long, conflicts_with = "samples")]
    pub prompts: Option<PathBuf>,
    /// The built-in sample prompts.
    #[arg(long)]
    pub samples: bool,
    #[arg(long)]
    pub name: Option<String>,
    /// Also write the report as Markdown (with SVG charts beside it).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Every token (never the secret), revoked ones included.
    List,
    /// Create a token; its secret is printed once.
    Create {
        name: String,
        /// May also change the configuration through the API.
        #[arg(long)]
        admin: bool,
    },
    /// Revoke a token by name.
    Revoke { name: String },
}

/// A load setting given on the command line: a number, or none for the engine's own choice.
#[derive(Debug, Clone, Copy)]
pub struct LoadValue(pub Option<u32>);

/// A whole number, or "default"/"auto" for the engine's own choice.
fn optional_count(s: &str) -> Result<LoadValue, String> {
    match s {
        "default" | "auto" => Ok(LoadValue(None)),
        n => n
            .parse()
            .map(|n| LoadValue(Some(n)))
            .map_err(|_| format!("{n:?} is not a whole number, \"default\" or \"auto\"")),
    }
}
