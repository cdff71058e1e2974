//! `upscale job plan|run|status|join|emit`: the steps a scheduler runs to spread one video over
//! many machines (docs/CLI.md). Each step is a thin call into `upscale::segments`; this file
//! parses and reports, and ends with the status `upscale::exit` gives (`job run`: 0 done or done
//! before, 1 a retry may help, 2 it never will).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::{Subcommand, ValueEnum};
use upscale::progress::{Event, Progress};
use upscale::segments::plan::DEFAULT_SEGMENT_SECS;
use upscale::segments::{self, emit, store, Checked, Cut, Failure, Plan, RunOutcome, WorkDir};
use upscale::{exit, Engine, Error};

use crate::cli::{Opts, ProgressKind};
use crate::report::Reporter;

#[derive(Subcommand, Debug)]
pub enum JobCommand {
    /// Plan the job: keyframe cut points and every setting, into OUTPUT.upscale-work/plan.json.
    /// Prints the work folder and the number of segments, one a line.
    Plan {
        input: PathBuf,
        /// The joined output (its extension picks the container).
        #[arg(short, long)]
        output: PathBuf,
        /// This many segments of equal length (cut at any frame; at most the input's frames).
        #[arg(long, conflicts_with = "segment_seconds")]
        segments: Option<usize>,
        /// Segments of this many seconds (cut at any frame). Default: 30.
        #[arg(long)]
        segment_seconds: Option<f64>,
        #[command(flatten)]
        opts: Box<Opts>,
    },
    /// Encode one segment. Exit 0: done (or done before); 1: failed, a retry may help; 2: failed
    /// for good (bad plan, index out of range, settings that differ from the plan).
    Run {
        work: PathBuf,
        /// The segment; default from the scheduler: $SLURM_ARRAY_TASK_ID, $JOB_COMPLETION_INDEX
        /// (Kubernetes), $AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch) or $BATCH_TASK_INDEX (Google
        /// Cloud Batch).
        #[arg(long)]
        index: Option<usize>,
        /// No progress and no notes on stderr.
        #[arg(short, long)]
        quiet: bool,
        #[arg(long, value_enum, default_value_t = ProgressKind::Bar)]
        progress: ProgressKind,
    },
    /// Say which segments are done; with --missing print the others as "2,5" (for sbatch --array).
    Status {
        work: PathBuf,
        #[arg(long)]
        missing: bool,
    },
    /// Check every segment and write the output with the input's other streams laid back.
    Join {
        work: PathBuf,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print the scheduler's steps: a Slurm submit script or Kubernetes manifests.
    Emit {
        #[arg(value_enum)]
        target: Target,
        work: PathBuf,
        /// Kubernetes: the container image with `upscale` on its PATH.
        #[arg(long, default_value = "upscale:latest")]
        image: String,
        /// Kubernetes: the ReadWriteMany volume claim holding the work folder.
        #[arg(long, default_value = "upscale-work")]
        claim: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Target {
    Slurm,
    K8s,
}

pub fn main(cmd: JobCommand) -> ExitCode {
    match cmd {
        JobCommand::Plan { input, output, segments, segment_seconds, opts } => {
            plan(&input, &output, segments, segment_seconds, &opts)
        }
        JobCommand::Run { work, index, quiet, progress } => run(&work, index, &Reporter::new(progress, quiet)),
        JobCommand::Status { work, missing } => status(&work, missing),
        JobCommand::Join { work, quiet } => join(&work, &Reporter::new(ProgressKind::Bar, quiet)),
        JobCommand::Emit { target, work, image, claim } => emit(target, &work, &image, &claim),
    }
}

/// Says `e` in the command line's terms and ends with `code`.
fn fail(rep: &Reporter, e: &Error, code: u8) -> ExitCode {
    rep.error(&crate::cli::flags(e));
    ExitCode::from(code)
}

/// Says why a `job run` failed and ends with its status (retry or not).
fn step_failed(rep: &Reporter, f: &Failure) -> ExitCode {
    fail(rep, f.error(), f.exit_code())
}

/// A failure of the step's own, naming `path`.
fn failed(path: &Path, msg: String) -> Error {
    Error::Output { path: path.into(), msg }
}

fn load(work: &Path, rep: &Reporter) -> Result<(WorkDir, Plan), ExitCode> {
    // A work folder or plan that cannot be read will not be readable on a retry either.
    let w = WorkDir::at(work).map_err(|e| step_failed(rep, &Failure::Permanent(e)))?;
    let plan = Plan::load(w.path()).map_err(|e| step_failed(rep, &Failure::Permanent(e)))?;
    Ok((w, plan))
}

fn plan(input: &Path, output: &Path, n: Option<usize>, secs: Option<f64>, opts: &Opts) -> ExitCode {
    let rep = Reporter::new(opts.progress, opts.quiet);
    let cut = match (n, secs) {
        (Some(n), _) => Cut::Count(n),
        (None, Some(s)) => Cut::Seconds(s),
        (None, None) => Cut::Seconds(DEFAULT_SEGMENT_SECS),
    };
    let cfg = match opts.config().and_then(|c| cut.check().map(|_| c).map_err(Error::from)) {
        Ok(c) => c,
        Err(e) => return rep.fail(&e),
    };
    if !cfg.edit.is_empty() {
        // A plan does not carry the edit: refused rather than dropped.
        let e = Error::from(upscale::error::Conflict::Settings { setting: "edit", others: &["segments"] });
        return rep.fail(&e);
    }
    let work = WorkDir::for_output(output);
    if work.path().join(segments::plan::PLAN_FILE).exists() {
        let e = failed(work.path(), "already planned (remove the folder to plan again)".into());
        return fail(&rep, &e, exit::USAGE);
    }
    // The engine resolves device, precision, passes, tile and model files; the plan keeps its
    // report, so every worker builds the same upscaler from the plan alone.
    let made = upscale::output::check(input, output, cfg.overwrite)
        .and_then(|()| Engine::new(&cfg))
        .and_then(|engine| {
            let up = engine.upscaler(&cfg)?;
            Plan::make(input, output, work.path(), &cfg, &up, cut, &rep)
        })
        .and_then(|p| {
            std::fs::create_dir_all(work.path()).map_err(|e| Error::Io { path: work.path().into(), source: e })?;
            p.save(work.path()).map(|()| p)
        });
    let p = match made {
        Ok(p) => p,
        Err(e) => return rep.fail(&e),
    };
    let s = &p.settings;
    let on = match (s.engine.device, s.engine.precision) {
        (Some(d), Some(prec)) => format!(" ({d} {})", format!("{prec:?}").to_lowercase()),
        _ => String::new(),
    };
    rep.note(&format!(
        "{}: {} frames in {} segments; model {} denoise {}{on}, tile {}, codec {}",
        input.display(),
        p.video.frames,
        p.segments.len(),
        s.model,
        s.denoise,
        s.engine.tile,
        s.codec
    ));
    println!("{}", std::path::absolute(work.path()).unwrap_or_else(|_| work.path().to_path_buf()).display());
    println!("{}", p.segments.len());
    ExitCode::SUCCESS
}

/// The scheduler variables that carry an array task's index, in the order they are read.
const INDEX_VARIABLES: &[&str] =
    &["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "BATCH_TASK_INDEX"];

/// The index from the command line, else from the scheduler's environment.
fn index_here(work: &Path, index: Option<usize>) -> Result<usize, Error> {
    if let Some(i) = index {
        return Ok(i);
    }
    for var in INDEX_VARIABLES {
        if let Ok(v) = std::env::var(var) {
            return v.trim().parse().map_err(|_| failed(work, format!("${var} is '{v}': expected an index")));
        }
    }
    Err(failed(
        work,
        "no index: give --index I, or run under a Slurm array, a Kubernetes Indexed Job, or an AWS or Google \
         Cloud Batch array job"
            .into(),
    ))
}

/// SIGINT/SIGTERM (scancel, a pod stopped) ask the step to stop: its partial file is removed.
fn stop_on_signals(rep: &Reporter) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return };
    let cancel = rep.cancel.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            cancel.store(true, Ordering::SeqCst);
        }
    });
}

fn run(work: &Path, index: Option<usize>, rep: &Reporter) -> ExitCode {
    let (w, plan) = match load(work, rep) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let index = match index_here(work, index) {
        Ok(i) => i,
        Err(e) => return step_failed(rep, &Failure::Permanent(e)),
    };
    if let Err(f) = segments::worker::check_index(&w, &plan, index) {
        return step_failed(rep, &f);
    }
    if w.segment_path(index).is_file() {
        rep.note(&format!("segment {index}: done before"));
        return ExitCode::SUCCESS;
    }
    // The input is hashed here once; the model files once, by the engine.
    let checked = match Checked::new(&w, &plan) {
        Ok(c) => c,
        Err(f) => return step_failed(rep, &f),
    };
    stop_on_signals(rep);
    let cfg = plan.settings.config();
    // A missing GPU or model file on this machine is worth a retry elsewhere; settings never.
    // The runtime and precision are the plan's (no probe here): segments never mix them.
    let built = match plan.settings.engine.execution {
        Some(exec) => Engine::with_execution(&cfg, exec),
        None => Engine::new(&cfg),
    };
    let engine = match built {
        Ok(e) => e,
        Err(e) => return step_failed(rep, &Failure::from(e)),
    };
    let mut up = match engine.upscaler(&cfg) {
        Ok(u) => u,
        Err(e) => return step_failed(rep, &Failure::from(e)),
    };
    if let Err(f) = checked.engine(&up) {
        return step_failed(rep, &f);
    }
    let seg = &plan.segments[index];
    if !rep.start(&w.output(), Some(seg.frames)) {
        return ExitCode::from(exit::FAILED);
    }
    let r = segments::worker::run(&checked, index, &mut up, 0, rep);
    rep.event(&Event::FileDone {
        input: plan.input.path.clone(),
        output: w.segment_path(index),
        interrupted: r.is_err(),
    });
    match r {
        Ok(RunOutcome::Done { frames }) => {
            rep.note(&format!("segment {index}: {frames} frames done"));
            ExitCode::SUCCESS
        }
        Ok(RunOutcome::AlreadyDone) => {
            rep.note(&format!("segment {index}: done by another worker meanwhile"));
            ExitCode::SUCCESS
        }
        Err(Failure::Retry(Error::Cancelled)) => {
            let e = Error::Output {
                path: work.into(),
                msg: format!("segment {index}: interrupted (nothing kept; run it again)"),
            };
            fail(rep, &e, exit::FAILED)
        }
        Err(f) => step_failed(rep, &f),
    }
}

fn status(work: &Path, missing_only: bool) -> ExitCode {
    let rep = Reporter::new(ProgressKind::Bar, false);
    let (w, plan) = match load(work, &rep) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let missing = w.missing(plan.segments.len());
    if missing_only {
        println!("{}", store::index_list(&missing));
        return ExitCode::SUCCESS;
    }
    let n = plan.segments.len();
    println!("{} of {n} segments done ({} frames in all)", n - missing.len(), plan.video.frames);
    if !missing.is_empty() {
        println!("missing: {}", store::index_list(&missing));
    }
    let output = w.output();
    if output.exists() && missing.is_empty() {
        println!("output: {}", output.display());
    }
    ExitCode::SUCCESS
}

fn join(work: &Path, rep: &Reporter) -> ExitCode {
    let (w, plan) = match load(work, rep) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match segments::join::join(&w, &plan, rep) {
        Ok(out) => {
            rep.note(&format!("wrote {}", out.display()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            // The library says which segments are missing; the command that makes one is ours.
            let mut line = crate::cli::flags(&e);
            if let Some(&first) = w.missing(plan.segments.len()).first() {
                line.push_str(&format!(": run `upscale job run {} --index {first}`", work.display()));
            }
            rep.error(&line);
            ExitCode::from(e.exit_code())
        }
    }
}

fn emit(target: Target, work: &Path, image: &str, claim: &str) -> ExitCode {
    let rep = Reporter::new(ProgressKind::Bar, false);
    let (w, plan) = match load(work, &rep) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let text = match target {
        Target::Slurm => {
            let exe = std::env::current_exe().and_then(|e| e.canonicalize()).unwrap_or_else(|_| "upscale".into());
            emit::slurm(&plan, &w, &exe)
        }
        Target::K8s => emit::k8s(&plan, &w, image, claim),
    };
    print!("{text}");
    ExitCode::SUCCESS
}
