//! What travels between the video pipeline's stages: pictures with their timestamps, the packets
//! of copied streams, and the [`Control`] every stage shares to stop together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use ffmpeg_next as ffmpeg;
use image::RgbImage;

use crate::error::Error;

/// One picture on its way through the pipeline, with its timestamp in the input stream's time
/// base (kept as decoded: never recomputed from a frame rate).
pub struct Picture {
    pub rgb: RgbImage,
    pub pts: i64,
}

/// What the source sends and the sink takes: pictures, and the packets of copied streams in
/// demuxing order (the sink gets them interleaved with the video as they came, in bounded
/// memory; they never wait in a frame worker's queue, see `workers.rs`).
pub enum Item {
    Frame(Picture),
    /// A packet already mapped to its output stream, with the input stream's time base.
    Packet(ffmpeg::Packet, ffmpeg::Rational),
}

/// Shared between the stages: why to stop, and the first error.
#[derive(Default)]
pub struct Control {
    halt: AtomicBool,
    interrupt: AtomicBool,
    first_error: Mutex<Option<Error>>,
}

impl Control {
    /// Records `e` if it is the first error, and stops every stage.
    pub fn fail(&self, e: Error) {
        let mut slot = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
        self.halt.store(true, Ordering::SeqCst);
    }
    /// The user asked to stop: finish the file with what is done.
    pub fn interrupt(&self) {
        self.interrupt.store(true, Ordering::SeqCst);
    }
    /// An error happened somewhere: stop without finishing.
    pub fn halted(&self) -> bool {
        self.halt.load(Ordering::SeqCst)
    }
    pub fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst)
    }
    /// Either reason to stop taking new work.
    pub fn stopping(&self) -> bool {
        self.halted() || self.interrupted()
    }
    /// The first error recorded, if any (taken: a second call gives `None`).
    pub fn take_error(&self) -> Option<Error> {
        self.first_error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}
