//! `--resume` on one machine: the scheduler's steps run in turn over the same plan — plan when
//! the work folder has none (else check that its plan is this job's), run each index not yet
//! done, join, remove the folder. An interrupted run keeps every finished segment; the next one
//! goes on from there.

use std::path::Path;

use super::keyframes::Cut;
use super::plan::{Plan, Settings};
use super::store::WorkDir;
use super::worker::{self, Failure};
use crate::config::Config;
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::jobs::Outcome;
use crate::progress::Progress;

/// Segment length when none is configured, in seconds of input.
const DEFAULT_SEGMENT_SECS: f64 = 10.0;

/// Upscales `input` into `output` through the work folder, continuing what an earlier run of
/// the same job left there. On interruption the folder is kept and a note says how far it got.
pub fn upscale_file(
    input: &Path,
    output: &Path,
    up: &mut Upscaler<'_>,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let work = WorkDir::for_output(output);
    let stale = |why: String| {
        Error::video(output, format!("work folder {} {why}: remove it, or run without --resume", work.path().display()))
    };
    let cut = match cfg.video.segment_frames {
        0 => Cut::Seconds(DEFAULT_SEGMENT_SECS),
        n => Cut::Frames(n),
    };
    let fresh = Plan::make(input, output, work.path(), cfg, cut)?;
    let created = !work.path().join(super::plan::PLAN_FILE).exists();
    let plan = if created {
        if work.path().exists()
            && std::fs::read_dir(work.path()).map_err(|e| Error::io(work.path(), e))?.next().is_some()
        {
            return Err(stale("has no plan".into()));
        }
        std::fs::create_dir_all(work.path()).map_err(|e| Error::io(work.path(), e))?;
        fresh.save(work.path())?;
        fresh
    } else {
        let plan = Plan::load(work.path()).map_err(|e| stale(format!("holds no plan of this version ({e})")))?;
        if plan.input.id != fresh.input.id {
            return Err(stale("was made for another input".into()));
        }
        if let Some(d) = same_job(&plan.settings, &fresh.settings).err() {
            return Err(stale(format!("was made for another job ({d})")));
        }
        plan
    };
    let result = run(input, &work, &plan, up, progress);
    match &result {
        Ok(Outcome::Done) => std::fs::remove_dir_all(work.path()).map_err(|e| Error::io(work.path(), e))?,
        Ok(Outcome::Interrupted { .. }) => {}
        // Nothing worth keeping: leave no folder behind.
        Err(_) if created && work.missing(plan.segments.len()).len() == plan.segments.len() => {
            let _ = std::fs::remove_dir_all(work.path());
        }
        Err(_) => {}
    }
    result
}

/// The plan's settings against this run's, leaving out what this machine resolves on its own
/// (the automatic tile size: the plan's is kept).
fn same_job(planned: &Settings, now: &Settings) -> std::result::Result<(), String> {
    let now = Settings { tile: planned.tile, ..now.clone() };
    planned.difference(&now).map_or(Ok(()), Err)
}

fn run(input: &Path, work: &WorkDir, plan: &Plan, up: &mut Upscaler<'_>, progress: &dyn Progress) -> Result<Outcome> {
    let missing = work.missing(plan.segments.len());
    let mut done: u64 = plan.segments.iter().filter(|s| !missing.contains(&s.index)).map(|s| s.frames).sum();
    if missing.len() < plan.segments.len() {
        progress.note(&format!(
            "{}: resuming after frame {done}: {} of {} segments done in {}",
            input.display(),
            plan.segments.len() - missing.len(),
            plan.segments.len(),
            work.path().display()
        ));
    }
    if !progress.start(input, Some(plan.video.frames)) || (done > 0 && !progress.advance(done)) {
        return Err(Error::Cancelled);
    }
    for &i in &missing {
        match worker::run(work, plan, i, up, done, progress) {
            Ok(_) => done += plan.segments[i].frames,
            Err(Failure::Retry(Error::Cancelled)) => {
                progress.note(&format!(
                    "{}: interrupted: {done} of {} frames done, kept in {}: run again with --resume to go on",
                    input.display(),
                    plan.video.frames,
                    work.path().display()
                ));
                return Ok(Outcome::Interrupted { frames: done });
            }
            Err(Failure::Retry(e) | Failure::Permanent(e)) => return Err(e),
        }
    }
    super::join::join(work, plan, progress)?;
    Ok(Outcome::Done)
}
