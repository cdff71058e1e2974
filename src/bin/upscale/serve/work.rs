//! The worker threads: each takes entries from the queue in order and runs one through the
//! library (`upscale::jobs::run_job` on the process's `upscale::Engines`, or
//! `upscale::jobs::run_edit`), the library's typed events kept with the server's paths replaced
//! by the client's names, and the final state set together with the last events.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use upscale::jobs::{self, Kind, Outcome};
use upscale::progress::{Event, Progress};
use upscale::{Engines, Error};

use super::queue::{Entry, Origin, State, Store};

/// Keeps the library's events on the entry, as the client may see them; `false` when the entry
/// is cancelled.
struct Shown<'a> {
    entry: &'a Entry,
}

impl Progress for Shown<'_> {
    fn event(&self, e: &Event) -> bool {
        self.entry.record(self.entry.shown(e));
        !self.entry.cancelled()
    }
}

impl Entry {
    /// A path as the client knows it: the result's download name, or the file's original name.
    fn shown_path(&self, p: &Path) -> PathBuf {
        if p == self.job.output || p == jobs::temp_path(&self.job.output) {
            PathBuf::from(&self.name)
        } else {
            PathBuf::from(&self.original)
        }
    }

    /// A message with the server's paths replaced by the names the client knows.
    fn hide_paths(&self, msg: &str) -> String {
        let shown = |p: &Path| p.display().to_string();
        msg.replace(&shown(&jobs::temp_path(&self.job.output)), &self.name)
            .replace(&shown(&self.job.output), &self.name)
            .replace(&shown(&self.job.input), &self.original)
            .replace(&shown(&self.dir), "")
    }

    /// The event with the server's paths replaced.
    fn shown(&self, e: &Event) -> Event {
        let path = |p: &Option<PathBuf>| p.as_deref().map(|p| self.shown_path(p));
        match e {
            Event::Start { file, total, unit, estimated } => {
                Event::Start { file: path(file), total: *total, unit: *unit, estimated: *estimated }
            }
            Event::Note { message } => Event::Note { message: self.hide_paths(message) },
            Event::Warning { message, file } => Event::Warning { message: self.hide_paths(message), file: path(file) },
            Event::FileDone { input, output, interrupted } => Event::FileDone {
                input: self.shown_path(input),
                output: self.shown_path(output),
                interrupted: *interrupted,
            },
            Event::Error { file, message } => Event::Error { file: path(file), message: self.hide_paths(message) },
            other => other.clone(),
        }
    }
}

/// Runs an entry to its end and records the outcome.
fn run(entry: &Entry, engines: &Engines) {
    let progress = Shown { entry };
    // The job as started: a held upload may have been given another network at Run.
    let job = entry.to_run();
    let result = match entry.origin {
        Origin::Upload => engines.get(&job.settings, &progress).and_then(|e| jobs::run_job(&job, &e, &progress)),
        Origin::Edit { .. } => upscale::jobs::run_edit(&job, &progress),
    };
    let result = match result {
        Ok(Outcome::Done) if !entry.cancelled() => Ok(()),
        Ok(_) => Err(Error::Cancelled),
        Err(e) => Err(e),
    };
    let summary = |done, failed, interrupted| Event::Summary { done, failed, interrupted };
    match result {
        Ok(()) => {
            let done = Event::FileDone { input: job.input.clone(), output: job.output.clone(), interrupted: false };
            entry.finish(State::Done, None, result_size(entry), vec![entry.shown(&done), summary(1, 0, false)]);
        }
        Err(_) if entry.cancelled() => {
            let _ = std::fs::remove_file(&job.output);
            entry.finish(State::Cancelled, None, None, vec![summary(0, 0, true)]);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&job.output);
            let msg = entry.hide_paths(&e.report());
            let error = Event::Error { file: Some(PathBuf::from(&entry.original)), message: msg.clone() };
            entry.finish(State::Failed, Some(msg), None, vec![error, summary(0, 1, false)]);
        }
    }
}

/// Starts `n` worker threads taking entries from the queue in order, on the process's `engines`.
pub fn start_workers(
    n: usize,
    store: Arc<Store>,
    rx: crossbeam_channel::Receiver<Arc<Entry>>,
    engines: Arc<Engines>,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    (0..n.max(1))
        .map(|i| {
            let engines = engines.clone();
            let rx = rx.clone();
            let store = store.clone();
            std::thread::Builder::new().name(format!("serve-worker-{i}")).spawn(move || {
                for entry in rx.iter() {
                    if entry.cancelled() {
                        let summary = Event::Summary { done: 0, failed: 0, interrupted: true };
                        entry.finish(State::Cancelled, None, None, vec![summary]);
                    } else {
                        entry.start();
                        run(&entry, &engines);
                    }
                    if !store.holds(&entry.id) {
                        let _ = std::fs::remove_dir_all(&entry.dir);
                    }
                }
            })
        })
        .collect()
}

/// The pixel size of a finished result.
fn result_size(entry: &Entry) -> Option<(u32, u32)> {
    let out = &entry.job.output;
    match entry.job.kind {
        Kind::Image => upscale::still::dimensions(out).ok(),
        Kind::Video => upscale::video::scan(out, 0, u64::MAX).ok().map(|r| (r.width, r.height)),
    }
}
