//! The `upscale` binary: parse the command line, hand the jobs to the library's engine, show
//! its events, and end with the exit status the library's `upscale::exit` gives (docs/CLI.md:
//! 0 done, 1 some input failed, 2 usage or configuration error, 130 interrupted).

mod cli;
mod opts;
mod report;
#[cfg(feature = "serve")]
mod serve;
mod steps;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use clap::Parser;
use upscale::jobs::{self, Job};
use upscale::{exit, Engines};

use cli::{Cli, Command};
use report::{status, Reporter};

fn main() -> ExitCode {
    survive_file_size_limit();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Models { model_dir, measure }) => models(model_dir.as_deref(), measure),
        Some(Command::Compare { image, output, region, classic, mut opts }) => {
            let rep = Reporter::new(opts.progress, opts.quiet);
            // -m A,B,C: one panel per network.
            let models: Vec<String> = opts.model.take().map_or_else(Vec::new, |m| {
                m.split(',').map(str::trim).filter(|m| !m.is_empty()).map(String::from).collect()
            });
            let spec = upscale::CompareSpec { models, region, classic };
            let made =
                opts.config().and_then(|cfg| upscale::compare_models(&image, output.as_deref(), &cfg, &spec, &rep));
            match made {
                Ok(out) => {
                    rep.note(&format!("wrote {}", out.display()));
                    status(exit::DONE)
                }
                Err(e) => rep.fail(&e),
            }
        }
        Some(Command::Job { command }) => steps::main(command),
        #[cfg(feature = "serve")]
        Some(Command::Serve(args)) => serve::run(&args),
        None => run(&cli),
    }
}

fn models(dir: Option<&Path>, measure: bool) -> ExitCode {
    use upscale::config::{DEFAULT_MODEL, DEFAULT_PICTURE_MODEL};
    println!(
        "{:<22} {:<29} {:<7} {:<18} {:>5}  {:<8} licence",
        "family", "for", "scales", "denoise levels", "cost", "present"
    );
    let rows = upscale::model::list(dir);
    for m in rows.iter().filter(|m| m.family.is_some()) {
        let Some(f) = m.family else { continue };
        let levels: Vec<String> = f.denoise_levels().iter().map(i32::to_string).collect();
        let present = if m.present { "yes" } else { "no" };
        let default = match f.name {
            n if n == DEFAULT_PICTURE_MODEL => " (default for pictures)",
            n if n == DEFAULT_MODEL => " (default for videos)",
            _ => "",
        };
        println!(
            "{:<22} {:<29} {:<7} {:<18} {:>5.2}  {:<8} {}",
            f.name,
            f.purposes.join(", "),
            m.scales.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
            levels.join(", "),
            f.cost,
            present,
            f.licence
        );
        let size = m.size.map_or(String::new(), |s| format!(", {:.1} MB", s as f64 / 1e6));
        println!("    {}{default}; {}; {}{size} ({})", f.about, f.levels_by_scale(), f.source, m.location);
    }
    for m in rows.iter().filter(|m| m.family.is_none()) {
        println!("{:<22} {:<29} any     -                    -  yes      classic interpolation", m.name, "comparison");
    }
    println!(
        "cost: time for a 320x240 picture at the family's first scale relative to realesr-animevideov3 \
         x4 (its network alone takes about 0.5 s when the machine is idle), measured on an AMD EPYC (Zen 4, AVX-512) with \
         2 threads, fp32 (BENCHMARKS.md); `upscale models --measure` times them on this machine. \
         --denoise -1 is conservative (waifu2x: its lightest level), 0 none, 1-3 stronger; -s 1 \
         --denoise N runs a 1x network where one exists."
    );
    if measure {
        return measure_families(dir);
    }
    status(exit::DONE)
}

/// `upscale models --measure`: each installed family on a 160x120 picture, on this machine
/// (the library's `model::measure_families` times them; this prints).
fn measure_families(dir: Option<&Path>) -> ExitCode {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "this CPU".into());
    println!(
        "\nmeasured now on {cpu}, {} cores, precision auto, one 160x120 picture:",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut failed = false;
    for m in upscale::measure_families(dir) {
        match m.seconds {
            Ok(s) => println!("{:<22} x{}  {s:6.2} s", m.family.name, m.scale),
            Err(e) => {
                failed = true;
                eprintln!("error: {}", e.report());
            }
        }
    }
    if failed {
        status(exit::FAILED)
    } else {
        status(exit::DONE)
    }
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
    let partial: Vec<PathBuf> = jobs.iter().map(|j| jobs::temp_path(&j.output)).collect();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if rep.cancel.swap(true, Ordering::SeqCst) {
                for p in &partial {
                    let _ = std::fs::remove_file(p);
                }
                rep.error("interrupted twice: stopped at once, partial output removed");
                std::process::exit(upscale::Error::Cancelled.exit_code().into());
            }
            rep.note("stopping: finishing the current file (Ctrl-C again to abort)");
        }
    });
}

fn run(cli: &Cli) -> ExitCode {
    let rep = Arc::new(Reporter::new(cli.opts.progress, cli.opts.quiet));
    let planned = cli.opts.config().and_then(|cfg| jobs::plan_all(&cli.inputs, cli.output.as_deref(), &cfg));
    let jobs = match planned {
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
    let engines = Engines::new();
    if let Err(e) = jobs::prepare(&jobs, &engines, rep.as_ref()) {
        return rep.fail(&e);
    }
    watch_signals(&rep, &jobs);
    status(jobs::run_all(&jobs, &engines, rep.as_ref()).exit_code())
}
