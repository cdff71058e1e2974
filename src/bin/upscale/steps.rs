//! `upscale job plan|run|status|join|emit`: the steps a scheduler runs to spread one video over
//! many machines (docs/CLI.md). Each step is one call into `upscale::steps`; this file parses
//! and reports, and ends with the status the library's rule gives (`job run`: 0 done or done
//! before, 1 a retry may help, 2 it never will).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::{Subcommand, ValueEnum};
use upscale::exit;
use upscale::steps::{self, Cut, Failure, Ran};

use crate::opts::{Opts, ProgressKind};
use crate::report::{status, Reporter};

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
            let cut = segments.map(Cut::Count).or(segment_seconds.map(Cut::Seconds));
            plan(&input, &output, cut, &opts)
        }
        JobCommand::Run { work, index, quiet, progress } => run(&work, index, &Reporter::new(progress, quiet)),
        JobCommand::Status { work, missing } => show_status(&work, missing),
        JobCommand::Join { work, quiet } => join(&work, &Reporter::new(ProgressKind::Bar, quiet)),
        JobCommand::Emit { target, work, image, claim } => emit(target, &work, &image, &claim),
    }
}

/// Says why a step failed, in the command line's terms, and ends with its status (retry or not).
fn step_failed(rep: &Reporter, f: &Failure) -> ExitCode {
    rep.error(&crate::opts::flags(f.error()));
    status(f.exit_code())
}

fn plan(input: &Path, output: &Path, cut: Option<Cut>, opts: &Opts) -> ExitCode {
    let rep = Reporter::new(opts.progress, opts.quiet);
    let planned = opts.config().and_then(|cfg| steps::plan(input, output, cut, &cfg, &rep));
    let (work, p) = match planned {
        Ok(x) => x,
        Err(e) => return rep.fail(&e),
    };
    let s = &p.settings;
    let on = match (s.engine.device, s.engine.precision) {
        (Some(d), Some(prec)) => format!(" ({d} {prec})"),
        _ => String::new(),
    };
    rep.note(&format!(
        "{}: {} frames in {} segments; model {} denoise {}{on}, tile {}, codec {}",
        input.display(),
        p.video.frames,
        p.segments.len(),
        s.job.model_name(),
        s.job.denoise,
        s.engine.tile,
        s.job.video.codec.as_deref().unwrap_or("")
    ));
    println!("{}", std::path::absolute(work.path()).unwrap_or_else(|_| work.path().to_path_buf()).display());
    println!("{}", p.segments.len());
    status(exit::DONE)
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
    let index = match steps::index(work, index) {
        Ok(i) => i,
        Err(f) => return step_failed(rep, &f),
    };
    stop_on_signals(rep);
    match steps::run(work, Some(index), rep) {
        Ok(Ran::Encoded { frames }) => rep.note(&format!("segment {index}: {frames} frames done")),
        Ok(Ran::DoneBefore) => rep.note(&format!("segment {index}: done before")),
        Ok(Ran::DoneMeanwhile) => rep.note(&format!("segment {index}: done by another worker meanwhile")),
        Err(f) => return step_failed(rep, &f),
    }
    status(exit::DONE)
}

fn show_status(work: &Path, missing_only: bool) -> ExitCode {
    let rep = Reporter::new(ProgressKind::Bar, false);
    let s = match steps::status(work) {
        Ok(s) => s,
        Err(f) => return step_failed(&rep, &f),
    };
    if missing_only {
        println!("{}", steps::index_list(&s.missing));
        return status(exit::DONE);
    }
    println!("{} of {} segments done ({} frames in all)", s.segments - s.missing.len(), s.segments, s.frames);
    if !s.missing.is_empty() {
        println!("missing: {}", steps::index_list(&s.missing));
    }
    if let Some(output) = s.output {
        println!("output: {}", output.display());
    }
    status(exit::DONE)
}

fn join(work: &Path, rep: &Reporter) -> ExitCode {
    match steps::join(work, rep) {
        Ok(out) => {
            rep.note(&format!("wrote {}", out.display()));
            status(exit::DONE)
        }
        Err(f) => {
            // The library says which segments are missing; the command that makes one is ours.
            let mut line = crate::opts::flags(f.error());
            if let Some(&first) = steps::status(work).ok().and_then(|s| s.missing.first().copied()).as_ref() {
                line.push_str(&format!(": run `upscale job run {} --index {first}`", work.display()));
            }
            rep.error(&line);
            status(f.exit_code())
        }
    }
}

fn emit(target: Target, work: &Path, image: &str, claim: &str) -> ExitCode {
    let rep = Reporter::new(ProgressKind::Bar, false);
    let text = match target {
        Target::Slurm => {
            let exe = std::env::current_exe().and_then(|e| e.canonicalize()).unwrap_or_else(|_| "upscale".into());
            steps::slurm(work, &exe)
        }
        Target::K8s => steps::k8s(work, image, claim),
    };
    match text {
        Ok(t) => {
            print!("{t}");
            status(exit::DONE)
        }
        Err(f) => step_failed(&rep, &f),
    }
}
