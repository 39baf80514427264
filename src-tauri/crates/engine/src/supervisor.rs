//! The app's side of the engine worker: starts it on demand, queues requests
//! fairly (interactive before background, first come first served within
//! each; a request cancelled while it waits leaves the queue at once),
//! forwards them (generation requests for the model that is generating join
//! its batch up to its parallel slots; anything else waits for the worker to
//! be free), streams each one's text back, cancels, and when the worker dies
//! says why (from its exit signal and the last lines llama.cpp wrote) to every
//! request it held and starts a fresh one for the next, backing off if it
//! keeps dying.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use switchboard_core::{
    AppError, Embeddings, EngineDevice, EngineRequest, ErrorCode, FinishReason, GenerationStats, ModelLoadSettings,
    Priority, ResidentModel, TextEngine, VisionRequest, VisionStats,
};

use crate::worker::{FromWorker, ToWorker, WORKER_FLAG};
use crate::EngineConfig;

const STDERR_LINES: usize = 60;
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Tells the worker which process owns it, so that it can tell when it was
/// orphaned before its parent-death signal was armed.
pub(crate) const OWNER_ENV: &str = "SWITCHBOARD_ENGINE_OWNER";

/// When the supervisor gives up on a worker that has stopped responding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchdog {
    /// A job with no sign of progress (text, a decoded batch, a model loading)
    /// for this long is stuck: the worker is killed and replaced.
    pub stall: Duration,
    /// A cancelled job must end within this long, progress or not.
    pub cancel_grace: Duration,
}

impl Default for Watchdog {
    fn default() -> Self {
        // Generous: one prompt batch of a large model on a slow CPU can take a
        // minute; the worker reports progress at least once a second otherwise.
        Self { stall: Duration::from_secs(180), cancel_grace: Duration::from_secs(10) }
    }
}

/// How to start the worker: a program that runs [`crate::worker::run_if_requested`].
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
}

/// Why the worker died, as the user reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashClass {
    OutOfMemory,
    Backend,
    BadModel,
    Assert,
    /// SIGKILL with nothing said: the kernel's out-of-memory killer or another program.
    Killed,
    /// No progress (or no end after a cancel) within the watchdog's bound.
    Unresponsive,
    Crash,
}

impl CrashClass {
    pub fn describe(self) -> &'static str {
        match self {
            Self::OutOfMemory => "out of memory",
            Self::Backend => "GPU backend or driver error",
            Self::BadModel => "bad model file",
            Self::Assert => "llama.cpp stopped on an internal check (GGML_ASSERT)",
            Self::Killed => "killed from outside",
            Self::Unresponsive => "the engine stopped responding",
            Self::Crash => "crash",
        }
    }
}

/// Where the worker's events go: each request's own channel, by id.
type Routes = Arc<Mutex<RouteTable>>;

#[derive(Default)]
struct RouteTable {
    /// False once the worker's output ended: no request may wait on it then.
    alive: bool,
    senders: HashMap<u64, mpsc::Sender<FromWorker>>,
}

struct Worker {
    /// Tells this worker from the ones before and after it.
    serial: u64,
    /// What it was started with; a changed configuration replaces it before the next job.
    config: EngineConfig,
    child: Child,
    stdin: ChildStdin,
    routes: Routes,
    /// When the worker last said anything (text, progress, a result).
    last_sign: Arc<Mutex<Instant>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    started: Instant,
}

/// A request's place in the route table, given back when it ends.
struct Route {
    routes: Routes,
    id: u64,
}

impl Drop for Route {
    fn drop(&mut self) {
        self.routes.lock().expect("routes lock").senders.remove(&self.id);
    }
}

#[derive(Default)]
struct Health {
    /// Deaths in a row without a request completed in between.
    failures: u32,
}

/// Which requests may share the worker: generation for one model loaded one
/// way shares its batch, up to its slots; anything else runs alone.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lane {
    Batch { model: PathBuf, load: ModelLoadSettings, slots: usize },
    Alone,
}

/// Requests waiting for the worker, in the order they will be served.
#[derive(Default)]
struct Queue {
    waiting: BTreeSet<(Priority, u64)>,
    /// Requests running now, and what they share.
    running: usize,
    lane: Option<Lane>,
}

/// Holding a place in the worker; the next waiting request may go when this is dropped.
struct Turn<'a>(&'a WorkerEngine);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock().expect("queue lock");
        queue.running -= 1;
        if queue.running == 0 {
            queue.lane = None;
        }
        drop(queue);
        self.0.turn.notify_all();
    }
}

/// Why a worker is given up on.
enum Failure<'a> {
    Died,
    Unresponsive(&'a str),
}

/// A [`TextEngine`] whose llama.cpp runs in a supervised child process.
pub struct WorkerEngine {
    command: WorkerCommand,
    config: Mutex<EngineConfig>,
    worker: Mutex<Option<Worker>>,
    health: Mutex<Health>,
    next_id: AtomicU64,
    queue: Mutex<Queue>,
    turn: Condvar,
    /// What the last worker reported finding.
    devices: Mutex<Option<Vec<EngineDevice>>>,
    /// The models the worker holds in memory, as it last reported.
    resident: Arc<Mutex<Vec<ResidentModel>>>,
    /// The worker whose reports `resident` holds: a replaced worker's last words do not count.
    resident_of: Arc<AtomicU64>,
    watchdog: Mutex<Watchdog>,
    /// The last worker given up on and why: every request it held fails with the same words.
    last_failure: Mutex<Option<(u64, AppError)>>,
}

/// How a job ended.
enum Outcome {
    Generated(GenerationStats),
    Embedded(Embeddings),
    Described(VisionStats),
    Loaded(f64),
    Unloaded(bool),
}

impl WorkerEngine {
    pub fn new(command: WorkerCommand, config: EngineConfig) -> Self {
        Self {
            command,
            config: Mutex::new(config),
            worker: Mutex::new(None),
            health: Mutex::default(),
            next_id: 1.into(),
            queue: Mutex::default(),
            turn: Condvar::new(),
            devices: Mutex::default(),
            resident: Arc::default(),
            resident_of: Arc::default(),
            watchdog: Mutex::default(),
            last_failure: Mutex::default(),
        }
    }

    /// Changes the bounds after which a stuck worker is replaced (for jobs started from now on).
    pub fn set_watchdog(&self, watchdog: Watchdog) {
        *self.watchdog.lock().expect("watchdog lock") = watchdog;
    }

    /// The compute devices the worker found; starts the worker if none has run yet.
    pub fn devices(&self) -> Result<Vec<EngineDevice>, AppError> {
        if let Some(devices) = self.devices.lock().expect("devices lock").clone() {
            return Ok(devices);
        }
        let mut slot = self.worker.lock().expect("worker lock");
        if slot.is_none() {
            *slot = Some(self.spawn()?);
        }
        drop(slot);
        Ok(self.devices.lock().expect("devices lock").clone().unwrap_or_default())
    }

    /// Requests waiting for their turn (not counting the one running).
    pub fn waiting(&self) -> usize {
        self.queue.lock().expect("queue lock").waiting.len()
    }

    /// Waits until this request is first in line and the worker can take it
    /// (free, or generating in the same lane with a slot to spare); `None`
    /// when it was cancelled while waiting.
    fn wait_turn(&self, priority: Priority, lane: Lane, cancel: &AtomicBool) -> Option<Turn<'_>> {
        let ticket = (priority, self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut queue = self.queue.lock().expect("queue lock");
        queue.waiting.insert(ticket);
        loop {
            let fits = match (&lane, &queue.lane) {
                _ if queue.running == 0 => true,
                (Lane::Batch { slots, .. }, Some(running)) => *running == lane && queue.running < *slots,
                _ => false,
            };
            if fits && queue.waiting.first() == Some(&ticket) {
                queue.waiting.remove(&ticket);
                queue.running += 1;
                queue.lane = Some(lane);
                drop(queue);
                // The next in line may fit too.
                self.turn.notify_all();
                return Some(Turn(self));
            }
            if cancel.load(Ordering::Relaxed) {
                queue.waiting.remove(&ticket);
                drop(queue);
                self.turn.notify_all();
                return None;
            }
            queue = self.turn.wait_timeout(queue, Duration::from_millis(25)).expect("queue lock").0;
        }
    }

    /// The lane of a generation request: its model, loaded its way, with as many slots as it has.
    fn batch_lane(&self, model_path: &Path, load: &ModelLoadSettings) -> Lane {
        let slots = load.parallel.unwrap_or(self.config().parallel).clamp(1, switchboard_core::MAX_PARALLEL);
        Lane::Batch { model: model_path.to_path_buf(), load: load.clone(), slots: slots as usize }
    }

    pub fn config(&self) -> EngineConfig {
        self.config.lock().expect("config lock").clone()
    }

    /// Applies a new configuration (resident models, idle time-out, ...): the
    /// worker is replaced, unloading its models, before the next job; a job
    /// running now finishes first.
    pub fn set_config(&self, config: EngineConfig) {
        *self.config.lock().expect("config lock") = config;
    }

    /// Ends a worker started with another configuration.
    fn retire_outdated(&self, slot: &mut Option<Worker>) {
        let current = self.config();
        if slot.as_ref().is_some_and(|w| w.config != current) {
            let mut old = slot.take().expect("checked");
            drop(old.stdin);
            if wait_briefly(&mut old.child).is_none() {
                let _ = old.child.kill();
            }
            self.resident.lock().expect("resident lock").clear();
            tracing::info!("engine worker restarted with new settings");
        }
    }

    /// The worker's process id, when one is running.
    pub fn worker_pid(&self) -> Option<u32> {
        self.worker.lock().expect("worker lock").as_ref().map(|w| w.child.id())
    }

    fn spawn(&self) -> Result<Worker, AppError> {
        let failures = self.health.lock().expect("health lock").failures;
        if failures > 0 {
            // Back off when it keeps dying: 0.25 s, 0.5 s, ... up to 5 s.
            std::thread::sleep(Duration::from_millis((250u64 << failures.min(5)).min(5_000)));
        }
        let config = self.config();
        let config_json = serde_json::to_string(&config).expect("config serialises");
        let mut command = Command::new(&self.command.program);
        command
            .arg(WORKER_FLAG)
            .arg(config_json)
            .env(OWNER_ENV, std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // From the long-lived spawner thread: the worker's parent-death signal
        // is tied to the thread that forks it (see `spawner`).
        let mut child = crate::spawner::spawn(command).map_err(|e| {
            AppError::new(
                ErrorCode::EngineFailed,
                format!("cannot start the engine worker {}: {e}", self.command.program.display()),
            )
        })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (ready_tx, ready) = mpsc::channel();
        let routes: Routes = Arc::new(Mutex::new(RouteTable { alive: true, senders: HashMap::new() }));
        let last_sign = Arc::new(Mutex::new(Instant::now()));
        let serial = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (resident, resident_of) = (self.resident.clone(), self.resident_of.clone());
        {
            let mut models = resident.lock().expect("resident lock");
            models.clear();
            resident_of.store(serial, Ordering::SeqCst);
        }
        {
            let (routes, last_sign) = (routes.clone(), last_sign.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    *last_sign.lock().expect("sign lock") = Instant::now();
                    let event = match serde_json::from_str::<FromWorker>(&line) {
                        Ok(event) => event,
                        Err(e) => {
                            tracing::warn!(%e, "unreadable line from the engine worker");
                            continue;
                        }
                    };
                    let id = match &event {
                        // Kept current here: the worker also reports between requests (idle unloads).
                        FromWorker::Resident { models } => {
                            let mut held = resident.lock().expect("resident lock");
                            if resident_of.load(Ordering::SeqCst) == serial {
                                *held = models.clone();
                            }
                            continue;
                        }
                        FromWorker::Ready { .. } => {
                            let _ = ready_tx.send(event);
                            continue;
                        }
                        FromWorker::Progress => continue,
                        FromWorker::Text { id, .. }
                        | FromWorker::Done { id, .. }
                        | FromWorker::Embedded { id, .. }
                        | FromWorker::Described { id, .. }
                        | FromWorker::Failed { id, .. }
                        | FromWorker::Counted { id, .. }
                        | FromWorker::Loaded { id, .. }
                        | FromWorker::Unloaded { id, .. } => *id,
                    };
                    if let Some(tx) = routes.lock().expect("routes lock").senders.get(&id) {
                        let _ = tx.send(event);
                    }
                }
                // The worker is gone: every request waiting on it hears so at
                // once, and what it held is no longer in memory.
                let mut table = routes.lock().expect("routes lock");
                table.alive = false;
                table.senders.clear();
                drop(table);
                let mut held = resident.lock().expect("resident lock");
                if resident_of.load(Ordering::SeqCst) == serial {
                    held.clear();
                }
            });
        }
        let stderr: Arc<Mutex<VecDeque<String>>> = Arc::default();
        {
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr_pipe).lines() {
                    let Ok(line) = line else { break };
                    tracing::debug!(target: "engine_worker", "{line}");
                    let mut tail = stderr.lock().expect("stderr lock");
                    if tail.len() == STDERR_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        let mut worker = Worker { serial, config, child, stdin, routes, last_sign, stderr, started: Instant::now() };
        match ready.recv_timeout(START_TIMEOUT) {
            Ok(FromWorker::Ready { pid, devices }) => {
                tracing::info!(pid, devices = ?devices.iter().map(|d| &d.name).collect::<Vec<_>>(), "engine worker started");
                *self.devices.lock().expect("devices lock") = Some(devices);
                Ok(worker)
            }
            _ => Err(self.died(&mut worker)),
        }
    }

    /// Waits for the dead worker's exit status and turns it into an error.
    fn died(&self, worker: &mut Worker) -> AppError {
        let status = wait_briefly(&mut worker.child);
        self.resident.lock().expect("resident lock").clear();
        // Let the stderr reader drain what the worker wrote last.
        std::thread::sleep(Duration::from_millis(100));
        let tail: Vec<String> = worker.stderr.lock().expect("stderr lock").iter().cloned().collect();
        self.health.lock().expect("health lock").failures += 1;
        let (class, detail) = classify(status, &tail);
        tracing::error!(?status, class = class.describe(), %detail, lived_ms = worker.started.elapsed().as_millis() as u64, "engine worker died");
        AppError::new(
            ErrorCode::EngineFailed,
            format!("the local engine stopped ({}): {detail}; it restarts for the next request", class.describe()),
        )
    }
}

fn wait_briefly(child: &mut Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What killed the worker, from its exit signal and llama.cpp's last words.
pub fn classify(status: Option<std::process::ExitStatus>, stderr_tail: &[String]) -> (CrashClass, String) {
    let said = |needles: &[&str]| {
        stderr_tail.iter().rev().find(|l| {
            let l = l.to_ascii_lowercase();
            needles.iter().any(|n| l.contains(n))
        })
    };
    #[cfg(unix)]
    let signal = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s));
    #[cfg(not(unix))]
    let signal: Option<i32> = None;
    let how = match (signal, status.and_then(|s| s.code())) {
        (Some(9), _) => "killed (SIGKILL)".to_string(),
        (Some(6), _) => "aborted (SIGABRT)".to_string(),
        (Some(11), _) => "segmentation fault (SIGSEGV)".to_string(),
        (Some(sig), _) => format!("signal {sig}"),
        (None, Some(code)) => format!("exit code {code}"),
        (None, None) => "unknown exit".to_string(),
    };
    if let Some(line) =
        said(&["out of memory", "failed to allocate", "cudamalloc", "erroroutofdevicememory", "cannot allocate memory"])
    {
        return (CrashClass::OutOfMemory, format!("{how}: {line}"));
    }
    if let Some(line) = said(&["cuda error", "vulkan", "vk::", "ggml_backend", "driver"]) {
        return (CrashClass::Backend, format!("{how}: {line}"));
    }
    if let Some(line) = said(&["gguf", "failed to load model", "tensor", "invalid magic"]) {
        return (CrashClass::BadModel, format!("{how}: {line}"));
    }
    if let Some(line) = said(&["ggml_assert", "assert"]) {
        return (CrashClass::Assert, format!("{how}: {line}"));
    }
    // A SIGKILL we did not send: the kernel's out-of-memory killer or another program.
    if signal == Some(9) {
        return (
            CrashClass::Killed,
            format!("{how} by another program or by the system (the out-of-memory killer sends SIGKILL)"),
        );
    }
    (CrashClass::Crash, how)
}

impl WorkerEngine {
    /// Runs one job in the worker when its turn comes; text goes to `on_text`.
    fn run_job(
        &self,
        priority: Priority,
        lane: Lane,
        cancel: &AtomicBool,
        start: Start,
        job: impl FnOnce(u64) -> ToWorker,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Option<Outcome>, AppError> {
        let Some(_turn) = self.wait_turn(priority, lane, cancel) else {
            return Ok(None);
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, events) = mpsc::channel();
        let (serial, last_sign, _route) = {
            let mut slot = self.worker.lock().expect("worker lock");
            // A worker with requests in flight keeps its configuration until they end.
            if slot.as_ref().is_none_or(|w| w.routes.lock().expect("routes lock").senders.is_empty()) {
                self.retire_outdated(&mut slot);
            }
            let dead = slot.as_mut().and_then(|w| matches!(w.child.try_wait(), Ok(Some(_))).then_some(w.serial));
            if let Some(serial) = dead {
                let _ = self.give_up(&mut slot, serial, Failure::Died);
            }
            if slot.is_none() {
                if start == Start::OnlyInRunningWorker {
                    return Ok(None);
                }
                *slot = Some(self.spawn()?);
            }
            let worker = slot.as_mut().expect("just started");
            let serial = worker.serial;
            {
                let mut table = worker.routes.lock().expect("routes lock");
                if !table.alive {
                    drop(table);
                    return Err(self.give_up(&mut slot, serial, Failure::Died));
                }
                table.senders.insert(id, tx);
            }
            let route = Route { routes: worker.routes.clone(), id };
            if send(&mut worker.stdin, &job(id)).is_err() {
                return Err(self.give_up(&mut slot, serial, Failure::Died));
            }
            (serial, worker.last_sign.clone(), route)
        };
        let watchdog = *self.watchdog.lock().expect("watchdog lock");
        let started = Instant::now();
        let mut cancel_sent: Option<Instant> = None;
        loop {
            // Checked on every event, not only when the stream pauses: tokens can arrive faster than the poll.
            if cancel.load(Ordering::Relaxed) && cancel_sent.is_none() {
                cancel_sent = Some(Instant::now());
                let mut slot = self.worker.lock().expect("worker lock");
                if let Some(worker) = slot.as_mut().filter(|w| w.serial == serial) {
                    let _ = send(&mut worker.stdin, &ToWorker::Cancel { id });
                }
            }
            let last = started.max(*last_sign.lock().expect("sign lock"));
            let stuck = match cancel_sent {
                Some(at) if at.elapsed() > watchdog.cancel_grace => {
                    Some(format!("a cancelled request did not end within {} s", watchdog.cancel_grace.as_secs_f64()))
                }
                _ if last.elapsed() > watchdog.stall => {
                    Some(format!("no progress for {} s", watchdog.stall.as_secs_f64()))
                }
                _ => None,
            };
            if let Some(why) = stuck {
                let mut slot = self.worker.lock().expect("worker lock");
                return Err(self.give_up(&mut slot, serial, Failure::Unresponsive(&why)));
            }
            let outcome = match events.recv_timeout(Duration::from_millis(25)) {
                Ok(FromWorker::Text { text, .. }) => {
                    on_text(&text);
                    continue;
                }
                Ok(FromWorker::Done { stats, .. }) => Outcome::Generated(stats),
                Ok(FromWorker::Embedded { embeddings, .. }) => Outcome::Embedded(embeddings),
                Ok(FromWorker::Described { stats, .. }) => Outcome::Described(stats),
                Ok(FromWorker::Loaded { load_ms, .. }) => Outcome::Loaded(load_ms),
                Ok(FromWorker::Unloaded { was_resident, .. }) => Outcome::Unloaded(was_resident),
                Ok(FromWorker::Failed { error, .. }) => return Err(error),
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let mut slot = self.worker.lock().expect("worker lock");
                    return Err(self.give_up(&mut slot, serial, Failure::Died));
                }
            };
            self.health.lock().expect("health lock").failures = 0;
            return Ok(Some(outcome));
        }
    }

    /// Gives up on worker `serial`: the first request to notice takes it out,
    /// learns why it died (or kills it when stuck) and records the reason; the
    /// others it held get the same words.
    fn give_up(&self, slot: &mut Option<Worker>, serial: u64, failure: Failure<'_>) -> AppError {
        if slot.as_ref().is_some_and(|w| w.serial == serial) {
            let mut worker = slot.take().expect("checked");
            let error = match failure {
                Failure::Died => self.died(&mut worker),
                Failure::Unresponsive(why) => self.unresponsive(&mut worker, why),
            };
            *self.last_failure.lock().expect("failure lock") = Some((serial, error.clone()));
            return error;
        }
        match &*self.last_failure.lock().expect("failure lock") {
            Some((s, error)) if *s == serial => error.clone(),
            _ => AppError::new(ErrorCode::EngineFailed, "the local engine stopped; it restarts for the next request"),
        }
    }

    /// Kills a worker that stopped responding; the next job gets a fresh one.
    fn unresponsive(&self, worker: &mut Worker, why: &str) -> AppError {
        let _ = worker.child.kill();
        let _ = worker.child.wait();
        self.resident.lock().expect("resident lock").clear();
        self.health.lock().expect("health lock").failures += 1;
        tracing::error!(pid = worker.child.id(), %why, "engine worker stopped responding; killed");
        AppError::new(
            ErrorCode::EngineFailed,
            format!(
                "{} ({why}); the worker was stopped and a fresh one starts for the next request",
                CrashClass::Unresponsive.describe()
            ),
        )
    }
}

/// Whether a job may start a worker when none runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    Worker,
    /// A job with nothing to do without a worker (an unload): `None` instead.
    OnlyInRunningWorker,
}

/// Writes one request line to the worker.
fn send(stdin: &mut ChildStdin, msg: &ToWorker) -> std::io::Result<()> {
    let line = serde_json::to_string(msg).expect("requests serialise");
    writeln!(stdin, "{line}").and_then(|_| stdin.flush())
}

/// A request cancelled while it waited: nothing ran.
fn cancelled_stats(waited: Instant) -> GenerationStats {
    GenerationStats {
        input_tokens: 0,
        cached_input_tokens: 0,
        output_tokens: 0,
        ttft_ms: None,
        latency_ms: waited.elapsed().as_secs_f64() * 1000.0,
        load_ms: 0.0,
        prompt_tokens_per_second: None,
        tokens_per_second: None,
        finish_reason: FinishReason::Cancelled,
    }
}

/// The longest a token count waits for the worker's answer.
const COUNT_TIMEOUT: Duration = Duration::from_secs(2);

impl WorkerEngine {
    /// Asks an idle, running worker to count a prompt's tokens; none when no
    /// worker runs, a request runs, or it does not answer in time (a count
    /// never starts a worker or waits for a turn).
    fn count_in_worker(&self, model_path: &Path, req: &EngineRequest) -> Option<u32> {
        if self.queue.lock().expect("queue lock").running > 0 {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, events) = mpsc::channel();
        let _route = {
            let mut slot = self.worker.try_lock().ok()?;
            let worker = slot.as_mut()?;
            if !matches!(worker.child.try_wait(), Ok(None)) {
                return None;
            }
            let mut table = worker.routes.lock().expect("routes lock");
            if !table.alive {
                return None;
            }
            table.senders.insert(id, tx);
            drop(table);
            let route = Route { routes: worker.routes.clone(), id };
            let msg = ToWorker::CountTokens { id, model_path: model_path.to_path_buf(), request: req.clone() };
            send(&mut worker.stdin, &msg).ok()?;
            route
        };
        match events.recv_timeout(COUNT_TIMEOUT) {
            Ok(FromWorker::Counted { tokens, .. }) => tokens,
            _ => None,
        }
    }
}

impl TextEngine for WorkerEngine {
    fn count_tokens(&self, model_path: &Path, req: &EngineRequest) -> Result<Option<u32>, AppError> {
        Ok(self.count_in_worker(model_path, req))
    }

    fn generate(
        &self,
        model_path: &Path,
        req: &EngineRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<GenerationStats, AppError> {
        let waited = Instant::now();
        let job = |id| ToWorker::Generate { id, model_path: model_path.to_path_buf(), request: req.clone() };
        let lane = self.batch_lane(model_path, &req.load);
        match self.run_job(req.priority, lane, cancel, Start::Worker, job, on_text)? {
            Some(Outcome::Generated(stats)) => Ok(stats),
            Some(_) => {
                Err(AppError::new(ErrorCode::EngineFailed, "the engine worker answered with the wrong kind of result"))
            }
            // Cancelled while waiting for its turn.
            None => Ok(cancelled_stats(waited)),
        }
    }

    fn embed(
        &self,
        model_path: &Path,
        load: &ModelLoadSettings,
        texts: &[String],
        priority: Priority,
    ) -> Result<Embeddings, AppError> {
        let never = AtomicBool::new(false);
        let job = |id| ToWorker::Embed {
            id,
            model_path: model_path.to_path_buf(),
            load: load.clone(),
            texts: texts.to_vec(),
        };
        match self.run_job(priority, Lane::Alone, &never, Start::Worker, job, &mut |_| {})? {
            Some(Outcome::Embedded(e)) => Ok(e),
            _ => {
                Err(AppError::new(ErrorCode::EngineFailed, "the engine worker answered with the wrong kind of result"))
            }
        }
    }

    fn describe(
        &self,
        model_path: &Path,
        projector_path: &Path,
        req: &VisionRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<VisionStats, AppError> {
        let waited = Instant::now();
        let job = |id| ToWorker::Describe {
            id,
            model_path: model_path.to_path_buf(),
            projector_path: projector_path.to_path_buf(),
            request: req.clone(),
        };
        match self.run_job(req.priority, Lane::Alone, cancel, Start::Worker, job, on_text)? {
            Some(Outcome::Described(stats)) => Ok(stats),
            Some(_) => {
                Err(AppError::new(ErrorCode::EngineFailed, "the engine worker answered with the wrong kind of result"))
            }
            None => Ok(VisionStats {
                stats: cancelled_stats(waited),
                image_count: req.images.len() as u32,
                image_tokens: 0,
                prompt_ms: 0.0,
                encode_ms: None,
            }),
        }
    }

    fn resident_models(&self) -> Vec<ResidentModel> {
        self.resident.lock().expect("resident lock").clone()
    }

    fn load_model(&self, model_path: &Path, load: &ModelLoadSettings) -> Result<f64, AppError> {
        let never = AtomicBool::new(false);
        let job = |id| ToWorker::Load { id, model_path: model_path.to_path_buf(), load: load.clone() };
        match self.run_job(Priority::Interactive, Lane::Alone, &never, Start::Worker, job, &mut |_| {})? {
            Some(Outcome::Loaded(ms)) => Ok(ms),
            _ => {
                Err(AppError::new(ErrorCode::EngineFailed, "the engine worker answered with the wrong kind of result"))
            }
        }
    }

    fn unload_model(&self, model_path: &Path) -> Result<bool, AppError> {
        // Neither in memory nor possibly on its way there (no request runs or
        // waits that could be loading it): nothing to wait for.
        let path = model_path.display().to_string();
        let in_memory = self.resident.lock().expect("resident lock").iter().any(|r| r.path == path);
        let busy = {
            let queue = self.queue.lock().expect("queue lock");
            queue.running > 0 || !queue.waiting.is_empty()
        };
        if !in_memory && !busy {
            return Ok(false);
        }
        let never = AtomicBool::new(false);
        let job = |id| ToWorker::Unload { id, model_path: model_path.to_path_buf() };
        // In line with interactive requests, first come first served: those already
        // running or waiting go first, later ones wait for it (at background priority
        // steady traffic could hold it back for ever); it never starts a worker.
        match self.run_job(Priority::Interactive, Lane::Alone, &never, Start::OnlyInRunningWorker, job, &mut |_| {})? {
            None => Ok(false),
            Some(Outcome::Unloaded(was)) => Ok(was),
            _ => {
                Err(AppError::new(ErrorCode::EngineFailed, "the engine worker answered with the wrong kind of result"))
            }
        }
    }
}

impl Drop for WorkerEngine {
    fn drop(&mut self) {
        if let Some(mut w) = self.worker.lock().ok().and_then(|mut s| s.take()) {
            // Closing stdin ends the worker; kill it if it does not go.
            drop(w.stdin);
            if wait_briefly(&mut w.child).is_none() {
                let _ = w.child.kill();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn signalled(sig: i32) -> Option<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        Some(std::process::ExitStatus::from_raw(sig))
    }

    #[cfg(unix)]
    #[test]
    fn crashes_are_classified_from_signal_and_stderr() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (c, d) = classify(signalled(6), &lines(&["llama.cpp:123: GGML_ASSERT(n_tokens <= n_batch) failed"]));
        assert_eq!(c, CrashClass::Assert);
        assert!(d.contains("SIGABRT") && d.contains("GGML_ASSERT"));
        let (c, d) = classify(signalled(9), &[]);
        assert_eq!(c, CrashClass::Killed, "a bare SIGKILL is not claimed to be out of memory");
        assert!(d.contains("SIGKILL"));
        assert_eq!(classify(signalled(6), &lines(&["CUDA error: out of memory"])).0, CrashClass::OutOfMemory);
        assert_eq!(classify(signalled(6), &lines(&["ggml_vulkan: vk::DeviceLostError"])).0, CrashClass::Backend);
        assert_eq!(classify(signalled(11), &lines(&["gguf_init_from_file: invalid magic"])).0, CrashClass::BadModel);
        assert_eq!(classify(signalled(11), &[]).0, CrashClass::Crash);
    }
}
