//! What the user sees on stderr: the library's events as an indicatif bar, notes and `error:`
//! lines on a terminal, or (`--progress json`) every event as one JSON object a line and nothing
//! else. Also where Ctrl-C turns into a cancel: the reporter answers `false` once it is set.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};
use upscale::progress::{Event, Progress, Unit};

use crate::opts::{flags, ProgressKind};

/// The stderr side of a run.
pub struct Reporter {
    json: bool,
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
    /// Files of a batch are being counted: per-file bars are not shown.
    batch: AtomicBool,
    /// Set by the first Ctrl-C / SIGTERM: the work drains and stops.
    pub cancel: Arc<AtomicBool>,
}

impl Reporter {
    pub fn new(kind: ProgressKind, quiet: bool) -> Self {
        Reporter {
            json: kind == ProgressKind::Json,
            quiet,
            bar: Mutex::new(None),
            batch: AtomicBool::new(false),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    fn line(&self, s: &str) {
        let bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        match bar.as_ref() {
            Some(b) => b.suspend(|| eprintln!("{s}")),
            None => eprintln!("{s}"),
        }
    }

    /// Prints one event: a JSON line, or its human form.
    pub fn show(&self, event: &Event) {
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            return;
        }
        match event {
            Event::Start { file, total, unit, .. } => {
                let batch = *unit == Unit::Files;
                if batch {
                    self.batch.store(true, Ordering::Relaxed);
                } else if self.batch.load(Ordering::Relaxed) {
                    return;
                }
                let what = file.as_ref().map_or("files".to_string(), |f| f.display().to_string());
                self.begin(&what, *total, unit_name(*unit));
            }
            Event::Progress { done, total, unit } => {
                if *unit != Unit::Files && self.batch.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    if let Some(t) = total {
                        b.set_length(*t);
                    }
                    b.set_position(*done);
                }
            }
            Event::Note { message } if !self.quiet => self.line(&format!("upscale: {message}")),
            Event::Warning { message, .. } => self.line(&format!("warning: {message}")),
            Event::FileDone { .. } if !self.batch.load(Ordering::Relaxed) => self.end(),
            Event::Error { message, .. } => self.line(&format!("error: {message}")),
            Event::Summary { done, failed, .. } => {
                self.end();
                if self.batch.load(Ordering::Relaxed) && !self.quiet {
                    self.line(&format!("upscale: {done} written, {failed} failed"));
                }
            }
            _ => {}
        }
    }

    /// A note of the binary's own (the device chosen, a signal received).
    pub fn note(&self, message: &str) {
        self.show(&Event::Note { message: message.to_string() });
    }

    /// A failure outside any file (configuration, model loading), as one line.
    pub fn error(&self, message: &str) {
        self.show(&Event::Error { file: None, message: message.to_string() });
    }

    /// A failure outside any file, in the command line's terms (settings named by their flags);
    /// returns the exit status the contract gives it.
    pub fn fail(&self, e: &upscale::Error) -> std::process::ExitCode {
        self.error(&flags(e));
        status(e.exit_code())
    }

    fn begin(&self, what: &str, total: Option<u64>, unit: &str) {
        if self.quiet || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        let style = format!("{{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} ETA {{eta}}");
        if let Ok(s) = ProgressStyle::with_template(&style) {
            bar.set_style(s.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        if let Some(old) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).replace(bar) {
            old.finish_and_clear();
        }
    }

    fn end(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}

fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Tiles => "tiles",
        Unit::Frames => "frames",
        Unit::Files => "files",
    }
}

impl Progress for Reporter {
    fn event(&self, event: &Event) -> bool {
        self.show(event);
        !self.cancel.load(Ordering::Relaxed)
    }

    /// A failed file's line names the settings by their flags, as the other `error:` lines do.
    fn failed(&self, file: &Path, error: &upscale::Error) {
        self.show(&Event::Error { file: Some(file.to_path_buf()), message: flags(error) });
    }
}

/// The process's exit status for a status of the library's rule (`upscale::exit`).
pub fn status(code: u8) -> std::process::ExitCode {
    std::process::ExitCode::from(code)
}
