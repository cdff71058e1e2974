//! The page's queue: each entry holds one library [`upscale::jobs::Job`] (an upscale, or an
//! edit of an earlier result with its `settings.edit`), its state and its typed
//! [`upscale::progress::Event`]s (turned into JSON only when they leave over HTTP); the store that
//! names entries by server-made random ids and counts them exactly against `--max-jobs`, and
//! hands them to the worker threads (`work.rs`) in order of arrival.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use upscale::jobs::{Job, Kind};
use upscale::progress::{Event, Unit};

/// Where an entry's file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An upload, upscaled.
    Upload,
    /// The result of entry `source`, edited.
    Edit { source: String },
}

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Uploaded with `start=later`: waits for `POST /api/jobs/{id}/start` (networks may be
    /// compared on it meanwhile); never handed to a worker before.
    Held,
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

    pub fn name(self) -> &'static str {
        match self {
            State::Held => "held",
            State::Queued => "queued",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }
}

/// The changing part of an entry: state and events under one lock, so that a reader never sees
/// the last events of a run without its final state.
#[derive(Debug)]
struct Record {
    state: State,
    done: u64,
    total: Option<u64>,
    unit: Option<Unit>,
    error: Option<String>,
    started: Option<Instant>,
    finished: Option<Instant>,
    /// Result size in pixels, once done.
    size: Option<(u32, u32)>,
    events: Vec<Event>,
    /// The settings a held entry was started with, when they differ from its job's (another
    /// network chosen after comparing).
    chosen: Option<upscale::Config>,
}

/// One upload (or edit) and its result, in its own folder under the private work folder.
pub struct Entry {
    pub id: String,
    /// The download name of the result (made from the client's file name, sanitized).
    pub name: String,
    /// The client's file name, sanitized (shown on the page).
    pub original: String,
    pub origin: Origin,
    /// The job folder (input and result inside).
    pub dir: PathBuf,
    /// What runs: input, output, kind and settings (with the edit, for an edit).
    pub job: Job,
    pub created: Instant,
    record: Mutex<Record>,
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

impl Entry {
    pub fn new(id: String, name: String, original: String, origin: Origin, dir: PathBuf, job: Job) -> Entry {
        Entry::in_state(id, name, original, origin, dir, job, State::Queued)
    }

    /// An entry that starts in `state` (`Held` for an upload that waits for Run).
    pub fn in_state(
        id: String,
        name: String,
        original: String,
        origin: Origin,
        dir: PathBuf,
        job: Job,
        state: State,
    ) -> Entry {
        Entry {
            id,
            name,
            original,
            origin,
            dir,
            job,
            created: Instant::now(),
            record: Mutex::new(Record {
                state,
                done: 0,
                total: None,
                unit: None,
                error: None,
                started: None,
                finished: None,
                size: None,
                events: Vec::new(),
                chosen: None,
            }),
            tick: tokio::sync::watch::channel(0).0,
            cancel: AtomicBool::new(false),
        }
    }

    pub fn state(&self) -> State {
        lock(&self.record).state
    }

    /// The result's size in pixels, once done.
    pub fn size(&self) -> Option<(u32, u32)> {
        lock(&self.record).size
    }

    pub fn media(&self) -> &'static str {
        match self.job.kind {
            Kind::Image => "image",
            Kind::Video => "video",
        }
    }

    fn bump(&self) {
        self.tick.send_modify(|t| *t += 1);
    }

    /// Keeps an event (its paths already the client's names) and the progress it carries.
    pub fn record(&self, e: Event) {
        {
            let mut r = lock(&self.record);
            match &e {
                Event::Start { total, unit, .. } => {
                    (r.done, r.total, r.unit) = (0, *total, Some(*unit));
                }
                Event::Progress { done, total, unit } => {
                    r.done = *done;
                    r.total = total.or(r.total);
                    r.unit = Some(*unit);
                }
                _ => {}
            }
            r.events.push(e);
        }
        self.bump();
    }

    /// Events from index `from` on, and whether the entry is finished (read together: the
    /// events of a finished entry are all there).
    pub fn events_from(&self, from: usize) -> (Vec<Event>, bool) {
        let r = lock(&self.record);
        (r.events.get(from..).map(<[Event]>::to_vec).unwrap_or_default(), r.state.finished())
    }

    /// The entry's worker takes it.
    pub fn start(&self) {
        {
            let mut r = lock(&self.record);
            r.state = State::Running;
            r.started = Some(Instant::now());
        }
        self.bump();
    }

    /// The end: the final state, error and size, and the last events (file done or error, then
    /// the summary), all at once: whoever reads the summary reads the final state.
    pub fn finish(&self, state: State, error: Option<String>, size: Option<(u32, u32)>, last: Vec<Event>) {
        {
            let mut r = lock(&self.record);
            r.state = state;
            r.finished = Some(Instant::now());
            r.error = error.or(r.error.take());
            r.size = size;
            r.events.extend(last);
        }
        self.bump();
    }

    /// Asks the entry to stop (a queued one never starts; a held one is cancelled now, as no
    /// worker will ever see it).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        {
            let mut r = lock(&self.record);
            if r.state == State::Held {
                r.state = State::Cancelled;
                r.finished = Some(Instant::now());
                r.events.push(Event::Summary { done: 0, failed: 0, interrupted: true });
            }
        }
        self.bump();
    }

    /// Held → queued, once, with other settings if `chosen`: whether this call made the change.
    fn release(&self, chosen: Option<upscale::Config>) -> bool {
        let mut r = lock(&self.record);
        let held = r.state == State::Held && !self.cancelled();
        if held {
            r.state = State::Queued;
            r.chosen = chosen;
        }
        held
    }

    /// What the worker runs: the job, with the settings chosen at start if any.
    pub fn to_run(&self) -> Job {
        let mut job = self.job.clone();
        if let Some(cfg) = lock(&self.record).chosen.clone() {
            job.settings = cfg;
        }
        job
    }

    /// The network the entry runs (or ran) with, as the API shows it.
    fn model(&self, r: &Record) -> Option<String> {
        r.chosen.as_ref().unwrap_or(&self.job.settings).model.clone()
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// When the entry finished, if it has.
    fn finished_at(&self) -> Option<Instant> {
        lock(&self.record).finished
    }

    /// The JSON the API returns for `GET /api/jobs/{id}`.
    pub fn to_json(&self) -> Value {
        let r = lock(&self.record);
        let eta = match (r.started, r.total, r.state) {
            (Some(t0), Some(total), State::Running) if r.done > 0 && total > r.done => {
                let per = t0.elapsed().as_secs_f64() / r.done as f64;
                Some((per * (total - r.done) as f64).round())
            }
            _ => None,
        };
        let (task, source) = match &self.origin {
            Origin::Upload => ("upscale", None),
            Origin::Edit { source } => ("edit", Some(source.clone())),
        };
        json!({
            "id": self.id,
            "state": r.state,
            "progress": { "done": r.done, "total": r.total, "unit": r.unit },
            "eta_seconds": eta,
            "error": r.error,
            "name": self.name,
            "original": self.original,
            "media": self.media(),
            "task": task,
            "source": source,
            "started_ms": ms(r.started),
            "finished_ms": ms(r.finished),
            "width": r.size.map(|w| w.0),
            "height": r.size.map(|w| w.1),
            "model": self.model(&r),
        })
    }
}

/// The entries held, and the places promised to requests still arriving.
struct Held {
    entries: HashMap<String, Arc<Entry>>,
    reserved: usize,
}

/// All entries, by id, and the queue feeding the workers.
pub struct Store {
    held: Mutex<Held>,
    queue: Mutex<Option<crossbeam_channel::Sender<Arc<Entry>>>>,
    pub root: PathBuf,
    max_jobs: usize,
}

/// A place in the store, taken before a request does any work: at most `--max-jobs` entries and
/// places together, counted under one lock. Given back when dropped unless used.
pub struct Slot {
    store: Arc<Store>,
    used: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.used {
            lock(&self.store.held).reserved -= 1;
        }
    }
}

impl Store {
    pub fn new(root: PathBuf, max_jobs: usize) -> (Arc<Store>, crossbeam_channel::Receiver<Arc<Entry>>) {
        EPOCH.get_or_init(Instant::now);
        let (tx, rx) = crossbeam_channel::unbounded();
        let held = Mutex::new(Held { entries: HashMap::new(), reserved: 0 });
        (Arc::new(Store { held, queue: Mutex::new(Some(tx)), root, max_jobs }), rx)
    }

    /// A place for one more entry, or `None` when `--max-jobs` are held or promised.
    pub fn reserve(self: &Arc<Self>) -> Option<Slot> {
        let mut h = lock(&self.held);
        if h.entries.len() + h.reserved >= self.max_jobs {
            return None;
        }
        h.reserved += 1;
        Some(Slot { store: self.clone(), used: false })
    }

    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        lock(&self.held).entries.get(id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Entry>> {
        lock(&self.held).entries.values().cloned().collect()
    }

    /// A fresh job folder named by a random id (128 bits, hex).
    pub fn new_dir(&self) -> std::io::Result<(String, PathBuf)> {
        let id = random_hex(16)?;
        let dir = self.root.join(&id);
        std::fs::create_dir(&dir)?;
        Ok((id, dir))
    }

    /// Adds an entry in its reserved place and queues it (a `Held` one waits for [`start`]).
    ///
    /// [`start`]: Store::start
    pub fn submit(&self, mut slot: Slot, entry: Arc<Entry>) {
        {
            let mut h = lock(&self.held);
            h.reserved -= 1;
            slot.used = true;
            h.entries.insert(entry.id.clone(), entry.clone());
        }
        if entry.state() != State::Held {
            self.enqueue(entry);
        }
    }

    /// A held entry goes to the workers' queue, with `chosen` settings in place of its own if
    /// given; `false` when it was not held (already started, cancelled or finished).
    pub fn start(&self, entry: &Arc<Entry>, chosen: Option<upscale::Config>) -> bool {
        if !entry.release(chosen) {
            return false;
        }
        entry.bump();
        self.enqueue(entry.clone());
        true
    }

    fn enqueue(&self, entry: Arc<Entry>) {
        match lock(&self.queue).as_ref() {
            Some(q) if q.send(entry.clone()).is_ok() => {}
            _ => entry.finish(State::Cancelled, Some("the server is stopping".into()), None, Vec::new()),
        }
    }

    /// Cancels an entry, forgets it and removes its files (now, or when its worker lets go).
    pub fn remove(&self, id: &str) -> Option<Arc<Entry>> {
        let entry = lock(&self.held).entries.remove(id)?;
        entry.cancel();
        if entry.state() != State::Running {
            let _ = std::fs::remove_dir_all(&entry.dir);
        }
        Some(entry)
    }

    /// Deletes the entries finished more than `keep` ago, and those held (never started) for
    /// that long.
    pub fn expire(&self, keep: Duration) {
        let old: Vec<String> = lock(&self.held)
            .entries
            .values()
            .filter(|e| {
                e.finished_at().is_some_and(|t| t.elapsed() >= keep)
                    || (e.state() == State::Held && e.created.elapsed() >= keep)
            })
            .map(|e| e.id.clone())
            .collect();
        for id in old {
            self.remove(&id);
        }
    }

    /// Stops taking work and cancels every entry (the server is shutting down).
    pub fn shutdown(&self) {
        lock(&self.queue).take();
        for e in lock(&self.held).entries.values() {
            e.cancel();
            if e.state() == State::Queued {
                e.finish(State::Cancelled, Some("the server stopped".into()), None, Vec::new());
            }
        }
    }

    /// Whether the entry is still in the store (not deleted).
    pub fn holds(&self, id: &str) -> bool {
        lock(&self.held).entries.contains_key(id)
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> std::io::Result<String> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Arc<Entry> {
        let job = Job {
            input: "in.png".into(),
            output: "out.png".into(),
            kind: Kind::Image,
            settings: upscale::Config::default(),
            create_dirs: false,
        };
        Arc::new(Entry::new(id.into(), "n".into(), "o".into(), Origin::Upload, "/nonexistent".into(), job))
    }

    /// Issue 19 point 10: places are counted under one lock, whatever the interleaving.
    #[test]
    fn max_jobs_is_exact_under_concurrency() {
        let (store, _rx) = Store::new("/nonexistent".into(), 5);
        let accepted = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for i in 0..20 {
                let (store, accepted) = (&store, &accepted);
                s.spawn(move || {
                    if let Some(slot) = store.reserve() {
                        std::thread::sleep(Duration::from_millis(20));
                        store.submit(slot, entry(&format!("e{i}")));
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(accepted.load(Ordering::SeqCst), 5);
        assert!(store.reserve().is_none());
        let first = store.all()[0].id.clone();
        store.remove(&first);
        assert_eq!(store.all().len(), 4);
        assert!(store.reserve().is_some(), "a deleted entry frees its place");
    }

    /// Issue 19 point 5: whoever sees the summary sees the final state (one lock for both).
    #[test]
    fn the_state_is_final_whenever_the_summary_is_visible() {
        for _ in 0..200 {
            let e = entry("x");
            e.start();
            std::thread::scope(|s| {
                let watcher = s.spawn(|| loop {
                    let (events, finished) = e.events_from(0);
                    let summary = events.iter().any(|ev| matches!(ev, Event::Summary { .. }));
                    assert!(!summary || finished, "summary seen while the state was {:?}", e.state());
                    if summary {
                        return;
                    }
                });
                e.finish(
                    State::Done,
                    None,
                    Some((1, 1)),
                    vec![Event::Summary { done: 1, failed: 0, interrupted: false }],
                );
                watcher.join().unwrap();
            });
            assert_eq!(e.state(), State::Done);
        }
    }

    /// Issue 28 point 6: a held upload reaches the workers only through `start`, once; a held
    /// one cancelled is final at once (no worker would ever finish it).
    #[test]
    fn a_held_entry_waits_for_start_and_starts_once() {
        let (store, rx) = Store::new("/nonexistent".into(), 5);
        let job = entry("h").job.clone();
        let held = |id: &str| {
            let dir = PathBuf::from("/nonexistent");
            Arc::new(Entry::in_state(id.into(), "n".into(), "o".into(), Origin::Upload, dir, job.clone(), State::Held))
        };
        let (a, b) = (held("a"), held("b"));
        store.submit(store.reserve().unwrap(), a.clone());
        store.submit(store.reserve().unwrap(), b.clone());
        assert!(rx.try_recv().is_err(), "a held entry went to the workers");
        assert_eq!(a.to_json()["state"], "held");
        let mut other = a.job.settings.clone();
        other.model = Some("nearest".into());
        assert!(store.start(&a, Some(other)));
        assert!(!store.start(&a, None), "started twice");
        assert_eq!(a.to_run().settings.model.as_deref(), Some("nearest"), "the network chosen at start");
        assert_eq!(a.to_json()["model"], "nearest");
        assert_eq!(rx.try_recv().unwrap().id, "a");
        assert_eq!(a.state(), State::Queued);
        b.cancel();
        assert_eq!(b.state(), State::Cancelled);
        assert!(!store.start(&b, None), "a cancelled entry started");
        assert!(rx.try_recv().is_err());
        assert!(b.events_from(0).1, "the cancelled entry's stream ends");
    }
}
