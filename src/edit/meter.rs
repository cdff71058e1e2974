//! Progress and cancellation inside the edit's loops: each step reports a few bands of rows as
//! [`Event::Progress`], and a `false` from the [`Progress`] stops the edit at the next band.

use std::cell::Cell;

use crate::error::{Error, Result};
use crate::progress::{Event, Progress, Unit};

/// Bands each step of a picture is cut into (a check for cancellation every band).
pub const BANDS: u64 = 16;

/// Counts the bands of an edit and asks the [`Progress`] whether to go on.
pub struct Meter<'a> {
    progress: &'a dyn Progress,
    done: Cell<u64>,
    total: u64,
}

impl<'a> Meter<'a> {
    /// A meter for `steps` steps of [`BANDS`] bands each.
    pub fn new(progress: &'a dyn Progress, steps: u64) -> Self {
        Meter { progress, done: Cell::new(0), total: steps.max(1) * BANDS }
    }

    /// One band done; [`Error::Cancelled`] when the progress says stop.
    pub fn tick(&self) -> Result<()> {
        let done = (self.done.get() + 1).min(self.total);
        self.done.set(done);
        let go_on = self.progress.event(&Event::Progress { done, total: Some(self.total), unit: Unit::Tiles });
        if go_on {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }

    /// Asks whether to go on without counting a band (inside one band's long work).
    pub fn check(&self) -> Result<()> {
        let done = self.done.get();
        if self.progress.event(&Event::Progress { done, total: Some(self.total), unit: Unit::Tiles }) {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }

    /// Tells the front end something worth a warning (a character no font has).
    pub fn warn(&self, message: &str) {
        self.progress.event(&Event::Warning { message: message.to_string(), file: None });
    }

    /// Marks the rest of a step's bands done (a step that was skipped or ran as one piece).
    pub fn finish_step(&self, step_bands_done: u64) -> Result<()> {
        for _ in step_bands_done..BANDS {
            self.tick()?;
        }
        Ok(())
    }

    /// The rows `[start, end)` of band `b` of a picture `height` rows high.
    pub fn band(b: u64, height: u32) -> (usize, usize) {
        let h = height as u64;
        ((h * b / BANDS) as usize, (h * (b + 1) / BANDS) as usize)
    }
}
