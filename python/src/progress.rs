//! The Python side of `upscale::Progress`, and running library work without the GIL.
//!
//! [`Callback`] passes every `Event` to a Python callable as the dict `--progress json` prints
//! (serde_json of the same `Event`); the callable returning `False` or raising cancels the work,
//! as a `Progress` answering `false` does. [`run_detached`] runs the work on a thread of its own
//! with the GIL released, while the calling thread wakes every few milliseconds to let Python
//! handle signals: Ctrl-C (KeyboardInterrupt) cancels the work, which stops within one tile or
//! frame, and is raised once the library has finished cleanly. Signals are handled there rather
//! than in the callback because Python runs its signal handlers on the main thread only, and the
//! library sends events from its own threads (the video pipeline's, the frame workers').

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use upscale::{Error, Event, Progress};

use crate::errors;
use crate::json;

/// How often the waiting thread lets Python look at its signals.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// A `Progress` for Python callers: an optional callable, a cancel flag, the first Python
/// exception (the callable's own, or KeyboardInterrupt) and what the run reported.
pub struct Callback {
    func: Option<Py<PyAny>>,
    cancelled: AtomicBool,
    /// The callable raised: it is not called again.
    callback_failed: AtomicBool,
    raised: Mutex<Option<PyErr>>,
    /// Each failed file with its error's class, message and setting (`Progress::failed`).
    failures: Mutex<Vec<Failure>>,
    /// Outputs written in full (`Event::FileDone` without `interrupted`).
    outputs: Mutex<Vec<PathBuf>>,
}

/// One file that failed in a batch, kept to raise its typed exception at the end.
pub struct Failure {
    /// The exception class in `upscale._errors`.
    pub class: &'static str,
    /// The whole cause on one line.
    pub message: String,
    /// The `Config` field it is about.
    pub setting: Option<&'static str>,
    /// The file the error names (the output for an output refused), else the input.
    pub path: PathBuf,
}

impl Callback {
    /// A callback calling `func` (None or Python's None: events are dropped).
    pub fn new(func: Option<Py<PyAny>>) -> Self {
        let func = func.filter(|f| Python::attach(|py| !f.is_none(py)));
        Callback {
            func,
            cancelled: AtomicBool::new(false),
            callback_failed: AtomicBool::new(false),
            raised: Mutex::new(None),
            failures: Mutex::new(Vec::new()),
            outputs: Mutex::new(Vec::new()),
        }
    }

    /// The work was asked to stop (the callable said so, raised, or Ctrl-C came).
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Stops the work because of `e`, which the caller raises afterwards (the first one wins).
    fn stop_with(&self, e: PyErr) {
        let mut r = self.raised.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_none() {
            *r = Some(e);
        }
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// The Python exception that stopped the work, if one did.
    pub fn take_raised(&self) -> Option<PyErr> {
        self.raised.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// The files that failed, in the order they failed.
    pub fn take_failures(&self) -> Vec<Failure> {
        std::mem::take(&mut *self.failures.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The outputs written in full, in the order they were finished.
    pub fn outputs(&self) -> Vec<PathBuf> {
        self.outputs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Progress for Callback {
    fn event(&self, event: &Event) -> bool {
        if let Event::FileDone { output, interrupted: false, .. } = event {
            self.outputs.lock().unwrap_or_else(|p| p.into_inner()).push(output.clone());
        }
        // After a stop the callable still hears how the run ends (the file finished short, the
        // summary), unless it raised: it is not called again then.
        let go_on = !self.cancelled();
        let Some(func) = self.func.as_ref().filter(|_| !self.callback_failed.load(Ordering::SeqCst)) else {
            return go_on;
        };
        // The very text `--progress json` prints, read by Python's json: the same dict, its
        // keys in the same order.
        let Ok(text) = serde_json::to_string(event) else { return true };
        Python::attach(|py| {
            let answer = json::loads(py, &text).and_then(|d| func.call1(py, (d,)));
            match answer {
                // `False` (not None, not 0) stops the work, as a Progress answering false does.
                Ok(r) if r.bind(py).is(&*pyo3::types::PyBool::new(py, false)) => {
                    self.cancelled.store(true, Ordering::SeqCst);
                    false
                }
                Ok(_) => go_on && !self.cancelled(),
                Err(e) => {
                    self.callback_failed.store(true, Ordering::SeqCst);
                    self.stop_with(e);
                    false
                }
            }
        })
    }

    fn failed(&self, file: &std::path::Path, error: &Error) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).push(Failure {
            class: errors::class_of(error),
            message: errors::message(error),
            setting: error.setting(),
            path: errors::path_of(error).unwrap_or_else(|| file.to_path_buf()),
        });
        self.event(&Event::Error { file: Some(file.to_path_buf()), message: error.report() });
    }
}

/// Runs `work` on a thread of its own with the GIL released; the calling thread waits, letting
/// Python handle its signals every [`SIGNAL_POLL`]: a KeyboardInterrupt (or any exception a
/// signal handler raises) cancels the work through `cb` and is raised after the work has ended.
/// The result of `work` comes back whatever happened; the caller asks `cb` what was raised.
pub fn run_detached<T: Send>(py: Python<'_>, cb: &Callback, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    let outcome = py.detach(|| {
        std::thread::scope(|s| {
            let (done_tx, done_rx) = mpsc::channel::<()>();
            let handle = std::thread::Builder::new().name("upscale".into()).spawn_scoped(s, move || {
                let r = work();
                let _ = done_tx.send(());
                r
            });
            let handle = match handle {
                Ok(h) => h,
                Err(e) => return Err(e),
            };
            loop {
                match done_rx.recv_timeout(SIGNAL_POLL) {
                    Err(mpsc::RecvTimeoutError::Timeout) if !cb.cancelled() => {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            cb.stop_with(e);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => break,
                }
            }
            Ok(handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        })
    });
    outcome.map_err(|e| errors::raise(py, "Error", &format!("cannot start the upscale thread: {e}"), None, None))
}
