//! The `upscale` binary: parse the command line, run the library, report, pick the exit code.

mod cli;
mod job;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use clap::Parser;
use upscale::batch::{self, Kind};
use upscale::{still, video, Config, Error, Upscaler};

use cli::{Cli, Command};
use report::{FrameProgress, Reporter};

fn main() -> ExitCode {
    survive_file_size_limit();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Models { model_dir }) => models(model_dir.as_deref()),
        Some(Command::Compare { image, output, opts }) => {
            let rep = Reporter::new(opts.progress, opts.quiet);
            match compare(&image, output, &opts, &rep) {
                Ok(out) => {
                    rep.note(&format!("wrote {}", out.display()));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    rep.error(Some(&image), &e.to_string());
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Job { command }) => job::main(command),
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

fn compare(image: &Path, output: Option<PathBuf>, opts: &cli::Opts, rep: &Reporter) -> upscale::Result<PathBuf> {
    let cfg = opts.config()?;
    let out = output.unwrap_or_else(|| {
        let stem = image.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        image.with_file_name(format!("{stem}_compare.png"))
    });
    still::output_format(&out)?;
    still::check_output(image, &out, cfg.overwrite)?;
    let pic = still::load(image, cfg.max_pixels)?;
    let mut up = Upscaler::new(&cfg)?;
    if let Some(n) = up.device_note() {
        rep.note(&format!("device {n}"));
    }
    let label = Path::new(&cfg.model).file_stem().map_or(cfg.model.clone(), |s| s.to_string_lossy().into_owned());
    let grid = upscale::compare::grid(&pic.rgb, &mut up, &label)?;
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
/// has), the second removes the partial file being written and exits at once.
fn watch_signals(rep: &Reporter, current: Arc<Mutex<Option<PathBuf>>>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let cancel = rep.cancel.clone();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if cancel.swap(true, Ordering::SeqCst) {
                if let Some(out) = current.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    let _ = std::fs::remove_file(still::temp_path(out));
                }
                eprintln!("error: interrupted twice: stopped at once, partial output removed");
                std::process::exit(130);
            }
            eprintln!("upscale: stopping: finishing the current file (Ctrl-C again to abort)");
        }
    });
}

fn run(cli: &Cli) -> ExitCode {
    let rep = Reporter::new(cli.opts.progress, cli.opts.quiet);
    let fail = |file: Option<&Path>, e: &Error| {
        rep.error(file, &e.to_string());
        ExitCode::FAILURE
    };
    let cfg: Config = match cli.opts.config() {
        Ok(c) => c,
        Err(e) => return fail(None, &e),
    };
    let jobs = match batch::plan(&cli.inputs, cli.output.as_deref(), &cfg) {
        Ok(j) => j,
        Err(e) => return fail(None, &e),
    };
    let mut up = match Upscaler::new(&cfg) {
        Ok(u) => u,
        Err(e) => return fail(None, &e),
    };
    if let Some(n) = up.device_note() {
        rep.note(&format!("device {n}"));
    }
    let current = Arc::new(Mutex::new(None));
    watch_signals(&rep, current.clone());

    let many = jobs.len() > 1 || cli.inputs.iter().any(|i| i.is_dir());
    if many {
        rep.begin("files", Some(jobs.len() as u64), "files");
    }
    let (mut done, mut failed) = (0, 0);
    for (i, job) in jobs.iter().enumerate() {
        if rep.cancel.load(Ordering::SeqCst) {
            rep.error(Some(&job.input), &format!("{}: not started: interrupted", job.input.display()));
            failed += 1;
            continue;
        }
        *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(job.output.clone());
        let result = job
            .output
            .parent()
            .filter(|p| !p.as_os_str().is_empty() && !p.exists() && many)
            .map_or(Ok(()), |p| std::fs::create_dir_all(p).map_err(|e| Error::Io { path: p.into(), source: e }))
            .and_then(|()| match job.kind {
                Kind::Image => still::upscale_file(&job.input, &job.output, &mut up, cfg.max_pixels, cfg.overwrite),
                Kind::Video => {
                    let frames = FrameProgress(&rep);
                    let r = video::upscale_file(&job.input, &job.output, &mut up, &cfg, &frames);
                    if !many {
                        rep.end();
                    }
                    r
                }
            });
        match result {
            Ok(()) => {
                done += 1;
                rep.file_done(&job.input, &job.output);
            }
            Err(e) => {
                failed += 1;
                rep.error(Some(&job.input), &e.to_string());
            }
        }
        if many {
            rep.set(i as u64 + 1);
        }
    }
    rep.end();
    if many {
        rep.summary(done, failed);
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
