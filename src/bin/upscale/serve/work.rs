//! Running one job on a worker thread: the upscale through the library's engine (one engine per
//! model, cached and shared by the workers) and `jobs::run_job`, or an edit, with the library's
//! events forwarded to the job's event stream (server paths replaced by the client's names) and
//! its final state set.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use upscale::jobs::{self, Kind, Outcome};
use upscale::progress::{Event, Progress};
use upscale::{output, Config, Engine, Error};

use super::jobs::{Job, Media, State, Task};

/// Loaded engines by model name, shared by the worker threads.
#[derive(Default)]
pub struct Engines(Mutex<HashMap<String, Arc<Engine>>>);

impl Engines {
    /// The engine for `cfg.model` (loaded on first use; a failed load is not kept).
    fn get(&self, cfg: &Config) -> upscale::Result<(Arc<Engine>, bool)> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.get(&cfg.model) {
            return Ok((e.clone(), false));
        }
        let e = Arc::new(Engine::new(cfg)?);
        map.insert(cfg.model.clone(), e.clone());
        Ok((e, true))
    }
}

/// Forwards events to the job's stream; `false` when the job is cancelled.
pub struct JobProgress<'a> {
    pub job: &'a Job,
}

impl Progress for JobProgress<'_> {
    fn event(&self, e: &Event) -> bool {
        let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
        for (key, shown) in [("file", &self.job.original), ("input", &self.job.original), ("output", &self.job.name)] {
            if v.get(key).is_some_and(|f| !f.is_null()) {
                v[key] = Value::String(shown.clone());
            }
        }
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            v["message"] = Value::String(self.job.hide_paths(m));
        }
        self.job.event(v);
        !self.job.cancelled()
    }
}

impl Job {
    /// A message with the server's paths replaced by the names the client knows.
    pub fn hide_paths(&self, msg: &str) -> String {
        let shown = |p: &Path| p.display().to_string();
        msg.replace(&shown(&output::temp_path(&self.output)), &self.name)
            .replace(&shown(&self.output), &self.name)
            .replace(&shown(&self.input), &self.original)
            .replace(&shown(&self.dir), "")
    }
}

/// The upscale itself: the cached engine and the library's job runner.
fn upscale(job: &Job, cfg: &Config, engines: &Engines, progress: &JobProgress) -> upscale::Result<Outcome> {
    let (engine, fresh) = engines.get(cfg)?;
    if let Some(n) = engine.device_note().filter(|_| fresh) {
        progress.note(&format!("device {n}"));
    }
    let kind = match job.media {
        Media::Image => Kind::Image,
        Media::Video => Kind::Video,
    };
    let lib_job = jobs::Job {
        input: job.input.clone(),
        output: job.output.clone(),
        kind,
        settings: cfg.clone(),
        create_dirs: false,
    };
    jobs::run_job(&lib_job, &engine, progress)
}

/// Runs a job to its end and records the outcome.
pub fn run(job: &Job, engines: &Engines) {
    let progress = JobProgress { job };
    let result = match &job.task {
        Task::Upscale(cfg) => upscale(job, cfg, engines, &progress),
        Task::Edit { ops, .. } => super::edit::apply(job, ops, &progress).map(|()| Outcome::Done),
    };
    let result = match result {
        Ok(Outcome::Done) if !job.cancelled() => Ok(()),
        Ok(_) => Err(Error::Cancelled),
        Err(e) => Err(e),
    };
    let summary = |done, failed, interrupted| Event::Summary { done, failed, interrupted };
    match result {
        Ok(()) => {
            job.status().size = result_size(job);
            let input = job.input.clone();
            progress.event(&Event::FileDone { input, output: job.output.clone(), interrupted: false });
            progress.event(&summary(1, 0, false));
            job.set_state(State::Done, None);
        }
        Err(_) if job.cancelled() => {
            let _ = std::fs::remove_file(&job.output);
            progress.event(&summary(0, 0, true));
            job.set_state(State::Cancelled, None);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&job.output);
            let msg = job.hide_paths(&e.report());
            progress.event(&Event::Error { file: Some(job.input.clone()), message: msg.clone() });
            progress.event(&summary(0, 1, false));
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
