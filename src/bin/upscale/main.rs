//! The `upscale` binary: parse the command line, hand the jobs to the library's engine, show
//! its events, and end with the exit status the library's `upscale::exit` gives (docs/CLI.md:
//! 0 done, 1 some input failed, 2 usage or configuration error, 130 interrupted).

mod cli;
mod job;
mod report;
#[cfg(feature = "serve")]
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use clap::Parser;
use upscale::jobs::{self, Job};
use upscale::{exit, output, still, Config, Engine};

use cli::{Cli, Command};
use report::Reporter;

fn main() -> ExitCode {
    survive_file_size_limit();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Models { model_dir }) => models(model_dir.as_deref()),
        Some(Command::Compare { image, output, opts }) => {
            let rep = Reporter::new(opts.progress, opts.quiet);
            let cfg = match opts.config() {
                Ok(c) => c,
                Err(e) => return rep.fail(&e),
            };
            match compare(&image, output, &cfg, &rep) {
                Ok(out) => {
                    rep.note(&format!("wrote {}", out.display()));
                    ExitCode::SUCCESS
                }
                // Too much memory for the size asked is a configuration error: nothing was made.
                Err(e @ upscale::Error::Memory { .. }) => {
                    rep.fail(&e.in_file(&image));
                    ExitCode::from(upscale::exit::USAGE)
                }
                Err(e) => rep.fail(&e),
            }
        }
        Some(Command::Job { command }) => job::main(command),
        #[cfg(feature = "serve")]
        Some(Command::Serve(args)) => serve::run(&args),
        None => run(&cli),
    }
}

fn models(dir: Option<&Path>) -> ExitCode {
    println!("{:<26} {:<7} {:>9}  {:<8} where", "name", "scales", "size", "present");
    for m in upscale::model::list(dir) {
        let size = m.size.map_or("-".to_string(), |s| format!("{:.1} MB", s as f64 / 1e6));
        let present = if m.present { "yes" } else { "no" };
        println!("{:<26} {:<7} {:>9}  {:<8} {}", m.name, m.scales, size, present, m.location);
    }
    ExitCode::SUCCESS
}

fn compare(image: &Path, output: Option<PathBuf>, cfg: &Config, rep: &Reporter) -> upscale::Result<PathBuf> {
    let out = output.unwrap_or_else(|| {
        let stem = image.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        image.with_file_name(format!("{stem}_compare.png"))
    });
    still::output_format(&out)?;
    output::check(image, &out, cfg.overwrite)?;
    let pic = still::load(image, cfg.max_pixels)?;
    let engine = Engine::new(cfg)?;
    if let Some(n) = engine.device_note() {
        rep.note(&format!("device {n}"));
    }
    let label = Path::new(&cfg.model).file_stem().map_or(cfg.model.clone(), |s| s.to_string_lossy().into_owned());
    let grid = upscale::compare::grid(&pic.rgb, &mut engine.upscaler(cfg)?, &label)?;
    still::save(&image::DynamicImage::ImageRgb8(grid), &out)?;
    Ok(out)
}

/// A write past the file-size limit (`ulimit -f`) raises SIGXFSZ, whose default action kills the
/// process mid-write: no error line, the temporary file left behind. With the signal caught (by a
/// handler that only sets a flag nobody reads) the write fails with EFBIG instead, and that is
/// reported and cleaned up like any other write error.
fn survive_file_size_limit() {
    let _ =
        signal_hook::flag::register(signal_hook::consts::SIGXFSZ, Arc::new(std::sync::atomic::AtomicBool::new(false)));
}

/// Ctrl-C / SIGTERM: the first asks the work to stop cleanly (the library finalises what it
/// has), the second removes the partial files and exits at once.
fn watch_signals(rep: &Arc<Reporter>, jobs: &[Job]) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let rep = rep.clone();
    let partial: Vec<PathBuf> = jobs.iter().map(|j| output::temp_path(&j.output)).collect();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if rep.cancel.swap(true, Ordering::SeqCst) {
                for p in &partial {
                    let _ = std::fs::remove_file(p);
                }
                rep.error("interrupted twice: stopped at once, partial output removed");
                std::process::exit(exit::INTERRUPTED.into());
            }
            rep.note("stopping: finishing the current file (Ctrl-C again to abort)");
        }
    });
}

fn run(cli: &Cli) -> ExitCode {
    let rep = Arc::new(Reporter::new(cli.opts.progress, cli.opts.quiet));
    let cfg: Config = match cli.opts.config() {
        Ok(c) => c,
        Err(e) => return rep.fail(&e),
    };
    let jobs = match jobs::plan_all(&cli.inputs, cli.output.as_deref(), &cfg) {
        Ok(p) => {
            if let Some(first) = p.skipped.first() {
                let n = p.skipped.len();
                let more = if n > 1 { format!(" and {} more", n - 1) } else { String::new() };
                rep.note(&format!("{n} file(s) left out, neither picture nor video: {}{more}", first.display()));
            }
            p.jobs
        }
        Err(e) => return rep.fail(&e),
    };
    let engine = match Engine::new(&cfg) {
        Ok(e) => e,
        Err(e) => return rep.fail(&e),
    };
    if let Some(n) = engine.device_note() {
        rep.note(&format!("device {n}"));
    }
    // One file whose result cannot fit in memory is refused before it starts (exit 2); in a
    // batch that file fails on its own and the rest go on.
    if let [job] = jobs.as_slice() {
        if let Err(e) = engine.upscaler(&job.settings).and_then(|up| upscale::budget::check_job(job, &up)) {
            rep.fail(&e);
            return ExitCode::from(upscale::exit::USAGE);
        }
    }
    watch_signals(&rep, &jobs);
    jobs::run_all(&jobs, &engine, rep.as_ref()).exit_code().into()
}
