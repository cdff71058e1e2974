//! `--resume` on one machine: the scheduler's steps run in turn over the same plan — plan when
//! the work folder has none (else check that its plan is this job's), run each index not yet
//! done, join, remove the folder. An interrupted run keeps every finished segment; the next one
//! goes on from there.

use std::path::Path;

use super::keyframes::Cut;
use super::plan::{Plan, Settings, DEFAULT_SEGMENT_SECS};
use super::store::WorkDir;
use super::worker::{self, Checked, Failure};
use crate::config::Config;
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::outcome::Outcome;
use crate::progress::{NoProgress, Progress};

/// Upscales `input` into `output` through the work folder, continuing what an earlier run of
/// the same job left there, with `up`'s sessions set to the plan's settings (its tile included:
/// an earlier run's plan is followed, not this run's `cfg`). On interruption the folder is kept
/// and a note says how far it got.
pub fn upscale_file(
    input: &Path,
    output: &Path,
    up: &mut Upscaler<'_>,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<Outcome> {
    crate::output::check(input, output, cfg.overwrite)?;
    // The plan and the run use what a deep source needs, as the one-machine run and `job plan`
    // do (said once, here: the plan is made with the upscaler chosen).
    let bits = crate::video::depth(crate::video::open(input, cfg)?.info());
    let up = up.for_depth(input, bits, progress)?;
    let work = WorkDir::for_output(output);
    let stale = |why: String| {
        Error::video(
            output,
            format!("work folder {} {why}: remove it, or work without resuming", work.path().display()),
        )
    };
    let cut = match cfg.video.segment_frames {
        0 => Cut::Seconds(DEFAULT_SEGMENT_SECS),
        n => Cut::Frames(n),
    };
    // The plan is made with the upscaler for this source (its rule asked above, said once).
    let fresh = Plan::make(input, output, work.path(), cfg, &up, cut, &NoProgress)?;
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
    let mut up = up.for_job(&plan.settings.config())?;
    let result = run(input, &work, &plan, &mut up, progress);
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

/// The plan's settings against this run's, leaving out the tile size (the plan's is kept, as
/// an earlier run resolved or was asked for it).
fn same_job(planned: &Settings, now: &Settings) -> std::result::Result<(), String> {
    let mut now = now.clone();
    now.engine.tile = planned.engine.tile;
    planned.difference(&now).map_or(Ok(()), Err)
}

fn run(input: &Path, work: &WorkDir, plan: &Plan, up: &mut Upscaler<'_>, progress: &dyn Progress) -> Result<Outcome> {
    let failed = |f: Failure| match f {
        Failure::Retry(e) | Failure::Permanent(e) => e,
    };
    let checked = Checked::identified(work, plan, input).map_err(failed)?;
    checked.engine(up).map_err(failed)?;
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
        match worker::run(&checked, i, up, done, progress) {
            Ok(_) => done += plan.segments[i].frames,
            Err(Failure::Retry(Error::Cancelled)) => {
                progress.note(&format!(
                    "{}: interrupted: {done} of {} frames done, kept in {}: resume to go on",
                    input.display(),
                    plan.video.frames,
                    work.path().display()
                ));
                return Ok(Outcome::Interrupted { frames: done });
            }
            Err(f) => return Err(failed(f)),
        }
    }
    super::join::join(work, plan, progress)?;
    Ok(Outcome::Done)
}
