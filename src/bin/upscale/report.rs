//! What the user sees on stderr: an indicatif bar on a terminal, or JSON lines for programs
//! (`--progress json`), notes, `error:` lines and the summary. Also turns Ctrl-C into a cancel.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};
use upscale::progress::Progress;

use crate::cli::ProgressKind;

/// The stderr side of a run.
pub struct Reporter {
    json: bool,
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
    /// Set by the first Ctrl-C / SIGTERM: the work drains and stops.
    pub cancel: Arc<AtomicBool>,
}

/// A JSON string literal.
pub fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

impl Reporter {
    pub fn new(kind: ProgressKind, quiet: bool) -> Self {
        Reporter {
            json: kind == ProgressKind::Json,
            quiet,
            bar: Mutex::new(None),
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

    fn event(&self, body: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{{{body}}}");
    }

    /// A note (device chosen, fallbacks).
    pub fn note(&self, msg: &str) {
        if self.json {
            self.event(&format!("\"event\":\"note\",\"message\":{}", js(msg)));
        } else if !self.quiet {
            self.line(&format!("upscale: {msg}"));
        }
    }

    /// One failure: always printed.
    pub fn error(&self, file: Option<&Path>, msg: &str) {
        if self.json {
            let f = file.map_or("null".into(), |f| js(&f.display().to_string()));
            self.event(&format!("\"event\":\"error\",\"file\":{f},\"message\":{}", js(msg)));
        }
        self.line(&format!("error: {msg}"));
    }

    /// A file finished.
    pub fn file_done(&self, input: &Path, output: &Path) {
        if self.json {
            self.event(&format!(
                "\"event\":\"file_done\",\"input\":{},\"output\":{}",
                js(&input.display().to_string()),
                js(&output.display().to_string())
            ));
        }
    }

    /// The end of a batch.
    pub fn summary(&self, done: usize, failed: usize) {
        if self.json {
            self.event(&format!("\"event\":\"summary\",\"done\":{done},\"failed\":{failed}"));
        } else if !self.quiet {
            self.line(&format!("upscale: {done} written, {failed} failed"));
        }
    }

    /// Starts a bar (files of a batch, or frames of a video).
    pub fn begin(&self, what: &str, total: Option<u64>, unit: &str) {
        if self.json {
            let t = total.map_or("null".into(), |t| t.to_string());
            self.event(&format!("\"event\":\"start\",\"what\":{},\"total\":{t},\"unit\":{}", js(what), js(unit)));
            return;
        }
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
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    /// Ends the current bar.
    pub fn end(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }

    pub fn set(&self, done: u64) {
        if self.json {
            self.event(&format!("\"event\":\"progress\",\"done\":{done}"));
        } else if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.set_position(done);
        }
    }
}

/// Frames of one video, shown on the reporter's bar.
pub struct FrameProgress<'a>(pub &'a Reporter);

impl Progress for FrameProgress<'_> {
    fn start(&self, what: &Path, total: Option<u64>) -> bool {
        self.0.begin(&what.display().to_string(), total, "frames");
        !self.0.cancel.load(Ordering::Relaxed)
    }
    fn advance(&self, done: u64) -> bool {
        self.0.set(done);
        !self.0.cancel.load(Ordering::Relaxed)
    }
    fn note(&self, msg: &str) {
        self.0.note(msg);
    }
    fn warn(&self, msg: &str) {
        if self.0.json {
            self.0.event(&format!("\"event\":\"warning\",\"message\":{}", js(msg)));
        } else {
            self.0.line(&format!("warning: {msg}"));
        }
    }
}
