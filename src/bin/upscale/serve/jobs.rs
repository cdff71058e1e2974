//! The jobs of the web page: what each one is, its state and event history, the store that
//! names them by server-made random ids, and the worker threads that run them one (or N) at a
//! time in order of arrival.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use upscale::Config;

use super::edit::Operation;

/// Whether a job's file is a picture or a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Media {
    Image,
    Video,
}

/// What a job does.
#[derive(Debug, Clone)]
pub enum Task {
    /// Upscale `input` with these settings.
    Upscale(Box<Config>),
    /// Replay edit operations on a finished result (copied in as `input`).
    Edit { source: String, ops: Vec<Operation> },
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl State {
    pub fn finished(self) -> bool {
        matches!(self, State::Done | State::Failed | State::Cancelled)
    }
}

/// Units done of a total (frames of a video, tiles of a picture).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
    pub unit: &'static str,
}

/// The changing part of a job.
#[derive(Debug)]
pub struct Status {
    pub state: State,
    pub progress: Progress,
    pub error: Option<String>,
    pub started: Option<Instant>,
    pub finished: Option<Instant>,
    /// Result size in pixels, once done.
    pub size: Option<(u32, u32)>,
}

/// One upload (or edit) and its result, in its own folder under the private work folder.
pub struct Job {
    pub id: String,
    /// The download name of the result (made from the client's file name, sanitized).
    pub name: String,
    /// The client's file name, sanitized (shown on the page).
    pub original: String,
    pub media: Media,
    pub task: Task,
    pub dir: PathBuf,
    pub input: PathBuf,
    pub output: PathBuf,
    pub created: Instant,
    status: Mutex<Status>,
    events: Mutex<Vec<String>>,
    /// Bumped at every event and state change; the event streams wait on it.
    pub tick: tokio::sync::watch::Sender<u64>,
    cancel: AtomicBool,
}

/// The server's start, the zero of the `started_ms` / `finished_ms` the API reports.
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Milliseconds from the server's start to `t`.
fn ms(t: Option<Instant>) -> Option<u64> {
    t.map(|t| t.duration_since(*EPOCH.get_or_init(Instant::now)).as_millis() as u64)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Job {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        name: String,
        original: String,
        media: Media,
        task: Task,
        dir: PathBuf,
        input: PathBuf,
        output: PathBuf,
    ) -> Job {
        Job {
            id,
            name,
            original,
            media,
            task,
            dir,
            input,
            output,
            created: Instant::now(),
            status: Mutex::new(Status {
                state: State::Queued,
                progress: Progress::default(),
                error: None,
                started: None,
                finished: None,
                size: None,
            }),
            events: Mutex::new(Vec::new()),
            tick: tokio::sync::watch::channel(0).0,
            cancel: AtomicBool::new(false),
        }
    }

    pub fn status(&self) -> MutexGuard<'_, Status> {
        lock(&self.status)
    }

    pub fn state(&self) -> State {
        self.status().state
    }

    fn bump(&self) {
        self.tick.send_modify(|t| *t += 1);
    }

    /// Records an event (the same objects as `--progress json`) and updates the progress.
    pub fn event(&self, e: Value) {
        if e["event"] == "progress" || e["event"] == "start" {
            let mut s = self.status();
            if let Some(d) = e["done"].as_u64() {
                s.progress.done = d;
            }
            if let Some(t) = e["total"].as_u64() {
                s.progress.total = Some(t);
            }
            if let Some(u) = e["unit"].as_str() {
                s.progress.unit = match u {
                    "frames" => "frames",
                    "tiles" => "tiles",
                    _ => "files",
                };
            }
        }
        lock(&self.events).push(e.to_string());
        self.bump();
    }

    /// Events from index `from` on.
    pub fn events_from(&self, from: usize) -> Vec<String> {
        lock(&self.events).get(from..).map(<[String]>::to_vec).unwrap_or_default()
    }

    pub fn set_state(&self, state: State, error: Option<String>) {
        {
            let mut s = self.status();
            s.state = state;
            if state == State::Running {
                s.started = Some(Instant::now());
            }
            if state.finished() {
                s.finished = Some(Instant::now());
            }
            if error.is_some() {
                s.error = error;
            }
        }
        self.bump();
    }

    /// Asks the job to stop (a queued job never starts).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        self.bump();
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The JSON the API returns for `GET /api/jobs/{id}`.
    pub fn to_json(&self) -> Value {
        let s = self.status();
        let eta = match (s.started, s.progress.total, s.state) {
            (Some(t0), Some(total), State::Running) if s.progress.done > 0 && total > s.progress.done => {
                let per = t0.elapsed().as_secs_f64() / s.progress.done as f64;
                Some((per * (total - s.progress.done) as f64).round())
            }
            _ => None,
        };
        let (task, source) = match &self.task {
            Task::Upscale(_) => ("upscale", None),
            Task::Edit { source, .. } => ("edit", Some(source.clone())),
        };
        json!({
            "id": self.id,
            "state": s.state,
            "progress": s.progress,
            "eta_seconds": eta,
            "error": s.error,
            "name": self.name,
            "original": self.original,
            "media": self.media,
            "task": task,
            "source": source,
            "started_ms": ms(s.started),
            "finished_ms": ms(s.finished),
            "width": s.size.map(|w| w.0),
            "height": s.size.map(|w| w.1),
        })
    }
}

/// All jobs, by id, and the queue feeding the workers.
pub struct Store {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    queue: Mutex<Option<crossbeam_channel::Sender<Arc<Job>>>>,
    pub root: PathBuf,
}

impl Store {
    pub fn new(root: PathBuf) -> (Arc<Store>, crossbeam_channel::Receiver<Arc<Job>>) {
        EPOCH.get_or_init(Instant::now);
        let (tx, rx) = crossbeam_channel::unbounded();
        (Arc::new(Store { jobs: Mutex::new(HashMap::new()), queue: Mutex::new(Some(tx)), root }), rx)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        lock(&self.jobs).get(id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Job>> {
        lock(&self.jobs).values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        lock(&self.jobs).len()
    }

    /// A fresh job folder named by a random id (128 bits, hex).
    pub fn new_dir(&self) -> std::io::Result<(String, PathBuf)> {
        let id = random_hex(16);
        let dir = self.root.join(&id);
        std::fs::create_dir(&dir)?;
        Ok((id, dir))
    }

    /// Adds a job and queues it.
    pub fn submit(&self, job: Arc<Job>) {
        lock(&self.jobs).insert(job.id.clone(), job.clone());
        match lock(&self.queue).as_ref() {
            Some(q) if q.send(job.clone()).is_ok() => {}
            _ => job.set_state(State::Cancelled, Some("the server is stopping".into())),
        }
    }

    /// Cancels a job, forgets it and removes its files (now, or when its worker lets go).
    pub fn remove(&self, id: &str) -> Option<Arc<Job>> {
        let job = lock(&self.jobs).remove(id)?;
        job.cancel();
        if job.state() != State::Running {
            let _ = std::fs::remove_dir_all(&job.dir);
        }
        Some(job)
    }

    /// Deletes the jobs finished more than `keep` ago.
    pub fn expire(&self, keep: Duration) {
        let old: Vec<String> = lock(&self.jobs)
            .values()
            .filter(|j| j.status().finished.is_some_and(|t| t.elapsed() >= keep))
            .map(|j| j.id.clone())
            .collect();
        for id in old {
            self.remove(&id);
        }
    }

    /// Stops taking work and cancels every job (the server is shutting down).
    pub fn shutdown(&self) {
        lock(&self.queue).take();
        for j in lock(&self.jobs).values() {
            j.cancel();
            if !j.state().finished() && j.state() != State::Running {
                j.set_state(State::Cancelled, Some("the server stopped".into()));
            }
        }
    }

    /// Whether the job is still in the store (not deleted).
    pub fn holds(&self, id: &str) -> bool {
        lock(&self.jobs).contains_key(id)
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).expect("the operating system's random source");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Starts `n` worker threads taking jobs from the queue in order; each runs `run` on a job.
pub fn start_workers(
    n: usize,
    store: Arc<Store>,
    rx: crossbeam_channel::Receiver<Arc<Job>>,
) -> Vec<std::thread::JoinHandle<()>> {
    let engines = Arc::new(super::work::Engines::default());
    (0..n.max(1))
        .map(|i| {
            let engines = engines.clone();
            let rx = rx.clone();
            let store = store.clone();
            std::thread::Builder::new()
                .name(format!("serve-worker-{i}"))
                .spawn(move || {
                    for job in rx.iter() {
                        if job.cancelled() {
                            job.set_state(State::Cancelled, None);
                            continue;
                        }
                        job.set_state(State::Running, None);
                        super::work::run(&job, &engines);
                        if !store.holds(&job.id) {
                            let _ = std::fs::remove_dir_all(&job.dir);
                        }
                    }
                })
                .expect("spawn a worker thread")
        })
        .collect()
}
