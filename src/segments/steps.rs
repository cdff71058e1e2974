//! The scheduler's steps as one library call each (`upscale job plan|run|status|join`, and the
//! Python package's): the front end parses, reports and exits with the status the error's rule
//! gives ([`Failure::exit_code`], [`crate::Error::exit_code`]); every decision is made here.

use std::path::{Path, PathBuf};

use super::plan::{Plan, DEFAULT_SEGMENT_SECS, PLAN_FILE};
use super::store::WorkDir;
pub use super::worker::Failure;
pub use super::worker::Ran;
use super::worker::{self, Checked};
use crate::config::{Config, Kind};
use crate::engine::Engine;
use crate::error::{Conflict, Error, Result};
use crate::progress::{Event, Progress};

pub use super::keyframes::Cut;
pub use super::store::index_list;

/// The scheduler variables that carry an array task's index, in the order they are read:
/// Slurm, Kubernetes Indexed Jobs, AWS Batch and Google Cloud Batch arrays.
pub const INDEX_VARIABLES: &[&str] =
    &["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "BATCH_TASK_INDEX"];

/// `job plan`: plans `input` → `output` cut by `cut` (default: `DEFAULT_SEGMENT_SECS`
/// seconds a segment) with `cfg` (the video's default network when none is named), into
/// `<output>.upscale-work/plan.json`, written once. The engine resolves device, precision,
/// passes, tile and model files; the plan keeps its report, so every worker builds the same
/// upscaler from the plan alone. A plan does not carry an edit: one is refused, not dropped.
pub fn plan(
    input: &Path,
    output: &Path,
    cut: Option<Cut>,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<(WorkDir, Plan)> {
    let cut = cut.unwrap_or(Cut::Seconds(DEFAULT_SEGMENT_SECS)).check()?;
    let cfg = cfg.for_kind(Kind::Video);
    cfg.validate()?;
    if !cfg.edit.is_empty() {
        return Err(Conflict::Settings { setting: "edit", others: &["segments"] }.into());
    }
    let work = WorkDir::for_output(output);
    if work.path().join(PLAN_FILE).exists() {
        return Err(Conflict::Planned { work: work.path().to_path_buf() }.into());
    }
    crate::output::check(input, output, cfg.overwrite)?;
    let engine = Engine::new(&cfg)?;
    let plan = Plan::make(input, output, work.path(), &cfg, &engine.upscaler(&cfg)?, cut, progress)?;
    std::fs::create_dir_all(work.path()).map_err(|e| Error::io(work.path(), e))?;
    plan.save(work.path())?;
    Ok((work, plan))
}

/// The work folder `work` and its plan, for the steps after `plan`. A folder or plan that
/// cannot be read will not be readable on a retry either: a permanent failure.
pub fn open(work: &Path) -> std::result::Result<(WorkDir, Plan), Failure> {
    let w = WorkDir::at(work).map_err(Failure::Permanent)?;
    let plan = Plan::load(w.path()).map_err(Failure::Permanent)?;
    Ok((w, plan))
}

/// The index from `given`, else from the scheduler's environment ([`INDEX_VARIABLES`]).
pub fn index(work: &Path, given: Option<usize>) -> std::result::Result<usize, Failure> {
    if let Some(i) = given {
        return Ok(i);
    }
    let failed = |msg: String| Failure::Permanent(Error::Output { path: work.into(), msg });
    for var in INDEX_VARIABLES {
        if let Ok(v) = std::env::var(var) {
            return v.trim().parse().map_err(|_| failed(format!("${var} is '{v}': expected an index")));
        }
    }
    Err(failed(
        "no index: give --index I, or run under a Slurm array, a Kubernetes Indexed Job, or an AWS or Google \
         Cloud Batch array job"
            .into(),
    ))
}

/// `job run`: encodes segment `index` (else the scheduler's, [`index`]) of the plan in `work`
/// on this machine, with an upscaler built from the plan alone (the runtime and precision
/// pinned as planned: segments never mix them) and checked against it. A missing GPU or model
/// file on this machine is worth a retry elsewhere ([`Failure::Retry`]); settings never. An
/// interruption (`progress` answering `false`) keeps nothing and may be retried.
pub fn run(work: &Path, index: Option<usize>, progress: &dyn Progress) -> std::result::Result<Ran, Failure> {
    let (w, plan) = open(work)?;
    let index = self::index(work, index)?;
    worker::check_index(&w, &plan, index)?;
    if w.segment_path(index).is_file() {
        return Ok(Ran::DoneBefore);
    }
    // The input is hashed here once; the model files once, by the engine.
    let checked = Checked::new(&w, &plan)?;
    let cfg = plan.settings.config();
    let engine = match plan.settings.engine.execution {
        Some(exec) => Engine::with_execution(&cfg, exec),
        None => Engine::new(&cfg),
    }?;
    let mut up = engine.upscaler(&cfg)?;
    checked.engine(&up)?;
    if !progress.start(&w.output(), Some(plan.segments[index].frames)) {
        return Err(interrupted(work, index));
    }
    let r = worker::run(&checked, index, &mut up, 0, progress);
    progress.event(&Event::FileDone {
        input: plan.input.path.clone(),
        output: w.segment_path(index),
        interrupted: r.is_err(),
    });
    match r {
        Err(Failure::Retry(Error::Cancelled)) => Err(interrupted(work, index)),
        r => r,
    }
}

/// An interrupted step: nothing kept, a retry may finish it.
fn interrupted(work: &Path, index: usize) -> Failure {
    Failure::Retry(Error::Output {
        path: work.into(),
        msg: format!("segment {index}: interrupted (nothing kept; run it again)"),
    })
}

/// `job status`: the plan's segment count and the indices not done yet.
pub fn status(work: &Path) -> std::result::Result<Status, Failure> {
    let (w, plan) = open(work)?;
    let missing = w.missing(plan.segments.len());
    let output = w.output();
    let output = (output.exists() && missing.is_empty()).then_some(output);
    Ok(Status { segments: plan.segments.len(), frames: plan.video.frames, missing, output })
}

/// What `job status` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Segments in the plan.
    pub segments: usize,
    /// Frames in the input's video stream.
    pub frames: u64,
    /// Indices without a finished segment.
    pub missing: Vec<usize>,
    /// The joined output, when it is written.
    pub output: Option<PathBuf>,
}

/// `job join`: checks every segment and writes the output with the input's other streams laid
/// back; the path written.
pub fn join(work: &Path, progress: &dyn Progress) -> std::result::Result<PathBuf, Failure> {
    let (w, plan) = open(work)?;
    super::join::join(&w, &plan, progress).map_err(Failure::from)
}

/// `job emit slurm`: the Slurm submit script of the plan in `work` (an array of `job run`
/// steps, then `job join` after them), running `exe`.
pub fn slurm(work: &Path, exe: &Path) -> std::result::Result<String, Failure> {
    let (w, plan) = open(work)?;
    Ok(super::emit::slurm(&plan, &w, exe))
}

/// `job emit k8s`: the Kubernetes Indexed Job and join Job of the plan in `work`, on `image`
/// with the work folder on the volume claim `claim`.
pub fn k8s(work: &Path, image: &str, claim: &str) -> std::result::Result<String, Failure> {
    let (w, plan) = open(work)?;
    Ok(super::emit::k8s(&plan, &w, image, claim))
}
