//! Running one job on a worker thread: the upscale through the library (the one seam to the
//! engine), or an edit, with its events recorded for the page and its final state set.

use std::path::Path;

use serde_json::json;
use upscale::progress::Progress;
use upscale::{still, video, Config, Error, Upscaler};

use super::jobs::{Job, Media, State, Task};

/// Forwards the library's progress to the job's event stream; `false` when it is cancelled.
struct JobProgress<'a> {
    job: &'a Job,
    unit: &'static str,
    total: std::sync::Mutex<Option<u64>>,
}

impl Progress for JobProgress<'_> {
    fn start(&self, _what: &Path, total: Option<u64>) -> bool {
        *self.total.lock().unwrap_or_else(|e| e.into_inner()) = total;
        self.job.event(json!({"event": "start", "file": self.job.original, "total": total, "unit": self.unit}));
        !self.job.cancelled()
    }
    fn advance(&self, done: u64) -> bool {
        let total = *self.total.lock().unwrap_or_else(|e| e.into_inner());
        self.job.event(json!({"event": "progress", "done": done, "total": total, "unit": self.unit}));
        !self.job.cancelled()
    }
    fn warn(&self, msg: &str) {
        self.job.event(json!({"event": "warning", "file": self.job.original, "message": self.job.hide_paths(msg)}));
    }
    fn note(&self, msg: &str) {
        self.job.event(json!({"event": "note", "message": self.job.hide_paths(msg)}));
    }
}

impl Job {
    /// A message with the server's paths replaced by the names the client knows.
    pub fn hide_paths(&self, msg: &str) -> String {
        msg.replace(&self.input.display().to_string(), &self.original)
            .replace(&self.output.display().to_string(), &self.name)
            .replace(&still::temp_path(&self.output).display().to_string(), &self.name)
            .replace(&self.dir.display().to_string(), "")
    }
}

/// The upscale itself: today's `Upscaler` and file functions behind one call.
fn upscale(job: &Job, cfg: &Config, progress: &JobProgress) -> upscale::Result<()> {
    let mut up = Upscaler::new(cfg)?;
    if let Some(n) = up.device_note() {
        progress.note(&format!("device {n}"));
    }
    match job.media {
        Media::Image => {
            if !progress.start(&job.input, Some(1)) {
                return Err(Error::Cancelled);
            }
            still::upscale_file(&job.input, &job.output, &mut up, cfg.max_pixels, true)?;
            progress.advance(1);
            Ok(())
        }
        Media::Video => video::upscale_file(&job.input, &job.output, &mut up, cfg, progress),
    }
}

/// Runs a job to its end and records the outcome.
pub fn run(job: &Job) {
    let unit = match (&job.task, job.media) {
        (_, Media::Video) => "frames",
        (Task::Upscale(_), Media::Image) => "tiles",
        (Task::Edit { .. }, Media::Image) => "files",
    };
    let progress = JobProgress { job, unit, total: std::sync::Mutex::new(None) };
    let result = match &job.task {
        Task::Upscale(cfg) => upscale(job, cfg, &progress),
        Task::Edit { ops, .. } => super::edit::apply(job, ops, &progress),
    };
    let result = result.and_then(|()| if job.cancelled() { Err(Error::Cancelled) } else { Ok(()) });
    match result {
        Ok(()) => {
            job.status().size = result_size(job);
            job.event(json!({"event": "file_done", "input": job.original, "output": job.name, "interrupted": false}));
            job.event(json!({"event": "summary", "done": 1, "failed": 0, "interrupted": 0}));
            job.set_state(State::Done, None);
        }
        Err(_) if job.cancelled() => {
            let _ = std::fs::remove_file(&job.output);
            job.event(json!({"event": "summary", "done": 0, "failed": 0, "interrupted": 1}));
            job.set_state(State::Cancelled, None);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&job.output);
            let msg = job.hide_paths(&e.to_string());
            job.event(json!({"event": "error", "file": job.original, "message": msg}));
            job.event(json!({"event": "summary", "done": 0, "failed": 1, "interrupted": 0}));
            job.set_state(State::Failed, Some(msg));
        }
    }
}

/// The pixel size of a finished result.
fn result_size(job: &Job) -> Option<(u32, u32)> {
    match job.media {
        Media::Image => image::ImageReader::open(&job.output).ok()?.with_guessed_format().ok()?.into_dimensions().ok(),
        Media::Video => super::edit::video_size(&job.output),
    }
}
