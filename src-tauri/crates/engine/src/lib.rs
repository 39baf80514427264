//! Switchboard's local inference engine: llama.cpp (through `llama-cpp-2`)
//! loading GGUF models and generating text token by token, with cancellation,
//! stop sequences and measured timings.
//!
//! llama.cpp runs in a worker process ([`worker`]) supervised by
//! [`WorkerEngine`], so that an `abort()` inside llama.cpp ends the worker,
//! not the app; [`Engine`] is what runs inside that process (and in-process
//! for benchmarks and engine tests).
//!
//! **Invariant:** this is the only crate that links llama.cpp. The app talks to
//! it through `core::TextEngine`; nothing above it sees a llama.cpp type.

mod batch;
mod error;
mod gguf;
mod sampler;
mod spawner;
mod stop;
mod supervisor;
mod text_engine;
pub mod worker;

pub use batch::{BatchIo, SeqRequest};
pub use error::EngineError;
pub use gguf::check_gguf_header;
pub use stop::StopMatcher;
pub use supervisor::{classify, CrashClass, Watchdog, WorkerCommand, WorkerEngine};
pub use text_engine::{devices, Engine, EngineConfig, GenerateRequest, ModelInfo};

/// Physical cores of this machine: llama.cpp's generation is memory-bound and
/// slows down when it shares cores with hyper-threads.
pub fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32).min(physical_cores())
}

fn physical_cores() -> u32 {
    // /proc/cpuinfo lists (physical id, core id) pairs; count the distinct ones.
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return u32::MAX;
    };
    let mut cores = std::collections::BTreeSet::new();
    let mut physical = String::new();
    for line in info.lines() {
        if let Some((k, v)) = line.split_once(':') {
            match k.trim() {
                "physical id" => physical = v.trim().to_string(),
                "core id" => {
                    cores.insert((physical.clone(), v.trim().to_string()));
                }
                _ => {}
            }
        }
    }
    if cores.is_empty() {
        u32::MAX
    } else {
        cores.len() as u32
    }
}
