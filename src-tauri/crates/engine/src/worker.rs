//! The engine worker: a child process that owns llama.cpp, so that an
//! `abort()` in a `GGML_ASSERT`, a segfault or an out-of-memory kill ends the
//! worker and not the app. It reads requests as JSON lines on stdin and
//! writes events as JSON lines on its own copy of stdout; anything llama.cpp
//! prints goes to stderr. It exits as soon as stdin closes, which happens
//! when the app exits or is killed.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use switchboard_core::{
    AppError, Embeddings, EngineDevice, EngineRequest, GenerationStats, ModelLoadSettings, ResidentModel,
    VisionRequest, VisionStats,
};

use crate::{BatchIo, Engine, EngineConfig, EngineError, SeqRequest};

/// The argument that turns a binary into the engine worker.
pub const WORKER_FLAG: &str = "--engine-worker";

/// App -> worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ToWorker {
    Generate {
        id: u64,
        model_path: PathBuf,
        request: EngineRequest,
    },
    Embed {
        id: u64,
        model_path: PathBuf,
        load: ModelLoadSettings,
        texts: Vec<String>,
    },
    Describe {
        id: u64,
        model_path: PathBuf,
        projector_path: PathBuf,
        request: VisionRequest,
    },
    Cancel {
        id: u64,
    },
    /// The prompt's tokens, if the model is in memory (see `Engine::count_prompt_tokens`).
    CountTokens {
        id: u64,
        model_path: PathBuf,
        request: EngineRequest,
    },
    /// Load the model ahead of a request.
    Load {
        id: u64,
        model_path: PathBuf,
        load: ModelLoadSettings,
    },
    /// Take the model out of memory.
    Unload {
        id: u64,
        model_path: PathBuf,
    },
}

/// Worker -> app.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FromWorker {
    Ready {
        pid: u32,
        #[serde(default)]
        devices: Vec<EngineDevice>,
    },
    Text {
        id: u64,
        text: String,
    },
    Done {
        id: u64,
        stats: GenerationStats,
    },
    Embedded {
        id: u64,
        embeddings: Embeddings,
    },
    Described {
        id: u64,
        stats: VisionStats,
    },
    Failed {
        id: u64,
        error: AppError,
    },
    Counted {
        id: u64,
        tokens: Option<u32>,
    },
    Loaded {
        id: u64,
        load_ms: f64,
    },
    Unloaded {
        id: u64,
        was_resident: bool,
    },
    /// Work was done in the last second (batches decoded, tokens produced): the job is slow, not stuck.
    Progress,
    /// The models in memory, sent after every request and whenever one is unloaded.
    Resident {
        models: Vec<ResidentModel>,
    },
}

/// One unit of work for the worker.
enum Job {
    Generate(SeqRequest),
    Embed(u64, PathBuf, ModelLoadSettings, Vec<String>),
    Count(u64, PathBuf, EngineRequest),
    Describe(u64, PathBuf, PathBuf, VisionRequest),
    Load(u64, PathBuf, ModelLoadSettings),
    Unload(u64, PathBuf),
}

/// Runs the worker if `args` asks for it (`<binary> --engine-worker <config json>`);
/// returns false otherwise, so a `main` can go on as the app.
pub fn run_if_requested(args: &[String]) -> bool {
    if args.get(1).map(String::as_str) != Some(WORKER_FLAG) {
        return false;
    }
    let config = match args.get(2).map(|c| serde_json::from_str::<EngineConfig>(c)) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            eprintln!("engine worker: bad configuration: {e}");
            std::process::exit(2);
        }
        None => EngineConfig::default(),
    };
    serve(config);
    true
}

/// The worker's main loop; returns when stdin closes.
pub fn serve(config: EngineConfig) {
    die_with_parent();
    let protocol = protocol_stdout();
    let out = Arc::new(Mutex::new(std::io::BufWriter::new(protocol)));
    let send = {
        let out = out.clone();
        move |event: &FromWorker| {
            let mut out = out.lock().expect("stdout lock");
            let line = serde_json::to_string(event).expect("events serialise");
            // A closed pipe means the app is gone: nothing left to do.
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                std::process::exit(0);
            }
        }
    };
    send(&FromWorker::Ready { pid: std::process::id(), devices: crate::devices() });
    {
        let send = send.clone();
        std::thread::spawn(move || {
            let mut seen = crate::text_engine::pulses();
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                let now = crate::text_engine::pulses();
                if now != seen {
                    seen = now;
                    send(&FromWorker::Progress);
                }
            }
        });
    }

    // The cancel flag of every request read and not yet answered.
    let flags: Arc<Mutex<HashMap<u64, Arc<AtomicBool>>>> = Arc::default();
    let (jobs_tx, jobs) = mpsc::channel::<Job>();
    {
        let flags = flags.clone();
        std::thread::spawn(move || {
            let flag = |id: u64| {
                flags.lock().expect("flags lock").insert(id, Arc::new(AtomicBool::new(false)));
            };
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<ToWorker>(&line) {
                    Ok(ToWorker::Generate { id, model_path, request }) => {
                        flag(id);
                        let received = Instant::now();
                        let _ = jobs_tx.send(Job::Generate(SeqRequest {
                            id,
                            path: model_path,
                            req: crate::GenerateRequest::from(&request),
                            received,
                        }));
                    }
                    Ok(ToWorker::Embed { id, model_path, load, texts }) => {
                        let _ = jobs_tx.send(Job::Embed(id, model_path, load, texts));
                    }
                    Ok(ToWorker::Describe { id, model_path, projector_path, request }) => {
                        flag(id);
                        let _ = jobs_tx.send(Job::Describe(id, model_path, projector_path, request));
                    }
                    Ok(ToWorker::CountTokens { id, model_path, request }) => {
                        let _ = jobs_tx.send(Job::Count(id, model_path, request));
                    }
                    Ok(ToWorker::Load { id, model_path, load }) => {
                        let _ = jobs_tx.send(Job::Load(id, model_path, load));
                    }
                    Ok(ToWorker::Unload { id, model_path }) => {
                        let _ = jobs_tx.send(Job::Unload(id, model_path));
                    }
                    // A request already answered has no flag: nothing to cancel.
                    Ok(ToWorker::Cancel { id }) => {
                        if let Some(flag) = flags.lock().expect("flags lock").get(&id) {
                            flag.store(true, Ordering::Relaxed);
                        }
                    }
                    Err(e) => eprintln!("engine worker: unreadable request: {e}"),
                }
            }
            // The app closed the pipe (exited, or was killed): stop now, even mid-generation.
            std::process::exit(0);
        });
    }

    let engine = Engine::new(config);
    let flag_of = |id: u64| flags.lock().expect("flags lock").get(&id).cloned().unwrap_or_default();
    let answered = |id: u64| {
        flags.lock().expect("flags lock").remove(&id);
    };
    // Jobs read but not started, in order: a batch takes the generation requests
    // at the front that are for its model, and ends before anything else runs.
    let mut queue: VecDeque<Job> = VecDeque::new();
    loop {
        let job = match queue.pop_front() {
            Some(job) => job,
            None => match jobs.recv_timeout(std::time::Duration::from_secs(1)) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if !engine.unload_idle().is_empty() {
                        send(&FromWorker::Resident { models: engine.resident_models() });
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
        };
        match job {
            Job::Generate(first) => {
                let mut counts = Vec::new();
                let mut io =
                    WorkerIo { jobs: &jobs, queue: &mut queue, counts: &mut counts, flags: &flags, send: &send };
                engine.serve(first, &mut io);
                send(&FromWorker::Resident { models: engine.resident_models() });
                // Counts that came while the model was generating, now that it is free.
                for (id, model_path, request) in counts {
                    let tokens = engine.count_prompt_tokens(&model_path, &crate::GenerateRequest::from(&request));
                    send(&FromWorker::Counted { id, tokens });
                }
            }
            Job::Describe(id, model_path, projector_path, request) => {
                let flag = flag_of(id);
                let mut on_text = |text: &str| send(&FromWorker::Text { id, text: text.to_string() });
                let result = engine.describe(&model_path, &projector_path, &request, &flag, &mut on_text);
                answered(id);
                send(&FromWorker::Resident { models: engine.resident_models() });
                send(&match result {
                    Ok(stats) => FromWorker::Described { id, stats },
                    Err(error) => FromWorker::Failed { id, error: error.into() },
                });
            }
            Job::Count(id, model_path, request) => {
                let tokens = engine.count_prompt_tokens(&model_path, &crate::GenerateRequest::from(&request));
                send(&FromWorker::Counted { id, tokens });
            }
            Job::Load(id, model_path, load) => {
                let result = engine.preload(&model_path, &load).map_err(AppError::from);
                send(&FromWorker::Resident { models: engine.resident_models() });
                send(&match result {
                    Ok(load_ms) => FromWorker::Loaded { id, load_ms },
                    Err(error) => FromWorker::Failed { id, error },
                });
            }
            Job::Unload(id, model_path) => {
                let was_resident = engine.unload(&model_path);
                send(&FromWorker::Resident { models: engine.resident_models() });
                send(&FromWorker::Unloaded { id, was_resident });
            }
            Job::Embed(id, model_path, load, texts) => {
                let result = engine.embed(&model_path, &load, &texts).map_err(AppError::from);
                send(&FromWorker::Resident { models: engine.resident_models() });
                send(&match result {
                    Ok(embeddings) => FromWorker::Embedded { id, embeddings },
                    Err(error) => FromWorker::Failed { id, error },
                });
            }
        }
    }
}

/// The batch's view of the worker: new requests from the pipe, cancel flags, events out.
struct WorkerIo<'a, S: Fn(&FromWorker)> {
    jobs: &'a mpsc::Receiver<Job>,
    queue: &'a mut VecDeque<Job>,
    counts: &'a mut Vec<(u64, PathBuf, EngineRequest)>,
    flags: &'a Mutex<HashMap<u64, Arc<AtomicBool>>>,
    send: &'a S,
}

impl<S: Fn(&FromWorker)> BatchIo for WorkerIo<'_, S> {
    fn next(&mut self, path: &Path, load: &ModelLoadSettings) -> Option<SeqRequest> {
        while let Ok(job) = self.jobs.try_recv() {
            match job {
                // Counted once the batch ends (the supervisor only asks while nothing runs, so
                // these came just as the batch ended).
                Job::Count(id, model_path, request) => self.counts.push((id, model_path, request)),
                job => self.queue.push_back(job),
            }
        }
        match self.queue.front() {
            Some(Job::Generate(r)) if r.path == path && r.req.load == *load => match self.queue.pop_front() {
                Some(Job::Generate(r)) => Some(r),
                _ => None,
            },
            _ => None,
        }
    }

    fn cancelled(&mut self, id: u64) -> bool {
        self.flags.lock().expect("flags lock").get(&id).is_some_and(|f| f.load(Ordering::Relaxed))
    }

    fn text(&mut self, id: u64, text: &str) {
        (self.send)(&FromWorker::Text { id, text: text.to_string() });
    }

    fn loaded(&mut self, models: Vec<ResidentModel>) {
        (self.send)(&FromWorker::Resident { models });
    }

    fn finished(&mut self, id: u64, result: Result<GenerationStats, EngineError>) {
        self.flags.lock().expect("flags lock").remove(&id);
        (self.send)(&match result {
            Ok(stats) => FromWorker::Done { id, stats },
            Err(error) => FromWorker::Failed { id, error: error.into() },
        });
    }
}

/// The protocol gets a private copy of stdout; fd 1 then points at stderr, so
/// whatever a library prints cannot corrupt the protocol.
fn protocol_stdout() -> std::fs::File {
    #[cfg(unix)]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: dup/dup2 on the process's own standard descriptors; the
        // duplicate is owned by the returned File and by nothing else.
        unsafe {
            let fd = libc::dup(1);
            if fd >= 0 && libc::dup2(2, 1) >= 0 {
                return std::fs::File::from_raw_fd(fd);
            }
        }
    }
    #[allow(unreachable_code)]
    {
        panic!("cannot set up the engine worker's protocol channel")
    }
}

/// Linux: the kernel kills the worker when the app dies, even by SIGKILL.
/// The signal is tied to the thread that started the worker, which is why the
/// supervisor starts it from its long-lived spawner thread.
fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_PDEATHSIG and a signal number has no memory effects.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        }
        // The owner may have died before the signal was armed: then we are an orphan already.
        let owner = std::env::var(crate::supervisor::OWNER_ENV).ok().and_then(|p| p.parse::<i32>().ok());
        // SAFETY: getppid has no preconditions.
        if owner.is_some_and(|owner| unsafe { libc::getppid() } != owner) {
            std::process::exit(0);
        }
    }
}
