//! `upscale job plan|run|status|join|emit`: the steps a scheduler runs to spread one video over
//! many machines (../shared/CLI.md). Each step is a thin call into `upscale::segments`; this file
//! parses, reports and picks the exit code (`job run`: 0 done or done before, 1 a retry may
//! help, 2 it never will).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::{Subcommand, ValueEnum};
use upscale::progress::{Event, Progress};
use upscale::segments::{self, emit, store, Cut, Failure, Plan, RunOutcome, WorkDir};
use upscale::{Engine, Error};

use crate::cli::{Opts, ProgressKind};
use crate::report::Reporter;

/// Segment length of `job plan` when neither --segments nor --segment-seconds is given.
const DEFAULT_SEGMENT_SECS: f64 = 60.0;

#[derive(Subcommand, Debug)]
pub enum JobCommand {
    /// Plan the job: keyframe cut points and every setting, into OUTPUT.upscale-work/plan.json.
    /// Prints the work folder and the number of segments, one a line.
    Plan {
        input: PathBuf,
        /// The joined output (its extension picks the container).
        #[arg(short, long)]
        output: PathBuf,
        /// About this many segments of equal length (cut at keyframes).
        #[arg(long, conflicts_with = "segment_seconds")]
        segments: Option<usize>,
        /// Segments of at least this many seconds (cut at the next keyframe). Default: 60.
        #[arg(long)]
        segment_seconds: Option<f64>,
        #[command(flatten)]
        opts: Box<Opts>,
    },
    /// Encode one segment. Exit 0: done (or done before); 1: failed, a retry may help; 2: failed
    /// for good (bad plan, index out of range, settings that differ from the plan).
    Run {
        work: PathBuf,
        /// The segment; default $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX.
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

const PERMANENT: u8 = 2;

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

fn fail(rep: &Reporter, e: &Error, code: u8) -> ExitCode {
    rep.error(&crate::cli::flags(e));
    ExitCode::from(code)
}

/// A failure of the step's own, naming `path`.
fn failed(path: &Path, msg: String) -> Error {
    Error::Output { path: path.into(), msg }
}

fn load(work: &Path, rep: &Reporter) -> Result<(WorkDir, Plan), ExitCode> {
    let w = WorkDir::at(work).map_err(|e| fail(rep, &e, PERMANENT))?;
    let plan = Plan::load(w.path()).map_err(|e| fail(rep, &e, PERMANENT))?;
    Ok((w, plan))
}

fn plan(input: &Path, output: &Path, n: Option<usize>, secs: Option<f64>, opts: &Opts) -> ExitCode {
    let rep = Reporter::new(opts.progress, opts.quiet);
    let cfg = match opts.config() {
        Ok(c) => c,
        Err(e) => return fail(&rep, &e, PERMANENT),
    };
    let cut = match (n, secs) {
        (Some(0), _) => return fail(&rep, &failed(input, "--segments 0: expected at least 1".into()), PERMANENT),
        (Some(n), _) => Cut::Count(n),
        (None, Some(s)) if s > 0.0 => Cut::Seconds(s),
        (None, Some(s)) => {
            return fail(&rep, &failed(input, format!("--segment-seconds {s}: expected more than 0")), PERMANENT)
        }
        (None, None) => Cut::Seconds(DEFAULT_SEGMENT_SECS),
    };
    let work = WorkDir::for_output(output);
    if work.path().join(segments::plan::PLAN_FILE).exists() {
        let e = failed(work.path(), "already planned (remove the folder to plan again)".into());
        return fail(&rep, &e, PERMANENT);
    }
    let made = upscale::output::check(input, output, cfg.overwrite)
        .and_then(|()| Plan::make(input, output, work.path(), &cfg, cut))
        .and_then(|p| {
            std::fs::create_dir_all(work.path()).map_err(|e| Error::Io { path: work.path().into(), source: e })?;
            p.save(work.path()).map(|()| p)
        });
    let p = match made {
        Ok(p) => p,
        Err(e) => return fail(&rep, &e, 1),
    };
    let s = &p.settings;
    rep.note(&format!(
        "{}: {} frames in {} segments; model {} denoise {} ({} {}), tile {}, codec {}",
        input.display(),
        p.video.frames,
        p.segments.len(),
        s.model,
        s.denoise,
        s.device,
        s.precision,
        s.tile,
        s.codec
    ));
    if let Cut::Count(n) = cut {
        if p.segments.len() < n {
            rep.note(&format!("{n} segments asked, {} made: the input has no more keyframes", p.segments.len()));
        }
    }
    println!("{}", std::path::absolute(work.path()).unwrap_or_else(|_| work.path().to_path_buf()).display());
    println!("{}", p.segments.len());
    ExitCode::SUCCESS
}

/// The index from the command line, else from the scheduler's environment.
fn index_here(work: &Path, index: Option<usize>) -> Result<usize, Error> {
    if let Some(i) = index {
        return Ok(i);
    }
    for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(v) = std::env::var(var) {
            return v.trim().parse().map_err(|_| failed(work, format!("${var} is '{v}': expected an index")));
        }
    }
    Err(failed(work, "no index: give --index I, or run under a Slurm array or a Kubernetes Indexed Job".into()))
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
        Err(e) => return fail(rep, &e, PERMANENT),
    };
    let code = |f: &Failure| if matches!(f, Failure::Permanent(_)) { PERMANENT } else { 1 };
    if let Err(f) = segments::worker::prepare(&w, &plan, index) {
        return fail(rep, f.error(), code(&f));
    }
    if w.segment_path(index).is_file() {
        rep.note(&format!("segment {index}: done before"));
        return ExitCode::SUCCESS;
    }
    stop_on_signals(rep);
    let cfg = plan.settings.config();
    let engine = match Engine::new(&cfg) {
        Ok(e) => e,
        Err(e @ (Error::Config(_) | Error::Conflict(_))) => return fail(rep, &e, PERMANENT),
        Err(e) => return fail(rep, &e, 1),
    };
    let mut up = match engine.upscaler(&cfg) {
        Ok(u) => u,
        Err(e) => return fail(rep, &e, 1),
    };
    let seg = &plan.segments[index];
    if !rep.start(&w.output(), Some(seg.frames)) {
        return ExitCode::from(1);
    }
    let r = segments::worker::run(&w, &plan, index, &mut up, 0, rep);
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
            fail(rep, &e, 1)
        }
        Err(f) => fail(rep, f.error(), code(&f)),
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
        Err(e) => fail(rep, &e, 1),
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
