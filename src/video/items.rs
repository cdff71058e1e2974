//! What travels between the video pipeline's stages: pictures with their timestamps, the packets
//! of copied streams, and the [`Control`] every stage shares to stop together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use ffmpeg_next as ffmpeg;
use image::{ImageBuffer, Rgb, RgbImage};

use crate::error::Error;

/// RGB with 16 bits a sample: the pictures of sources with more than 8 bits.
pub type Rgb16Image = ImageBuffer<Rgb<u16>, Vec<u16>>;

/// A picture's samples: 8-bit for 8-bit sources (the fast path), 16-bit for deeper ones, so
/// that a 10- or 12-bit source reaches the network and the encoder without 8-bit steps.
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    /// 8 bits a sample, from a source of 8 bits or fewer.
    Rgb8(RgbImage),
    /// 16 bits a sample, from a source of more than 8 bits.
    Rgb16(Rgb16Image),
}

impl Pixels {
    /// Width and height in pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        match self {
            Pixels::Rgb8(p) => p.dimensions(),
            Pixels::Rgb16(p) => p.dimensions(),
        }
    }
    /// The 8-bit picture, if it is one.
    #[cfg(test)]
    pub fn as_rgb8(&self) -> Option<&RgbImage> {
        match self {
            Pixels::Rgb8(p) => Some(p),
            Pixels::Rgb16(_) => None,
        }
    }
    /// Samples in all (3 a pixel when the picture is whole).
    pub fn samples(&self) -> usize {
        match self {
            Pixels::Rgb8(p) => p.as_raw().len(),
            Pixels::Rgb16(p) => p.as_raw().len(),
        }
    }
}

impl From<RgbImage> for Pixels {
    fn from(p: RgbImage) -> Self {
        Pixels::Rgb8(p)
    }
}

/// One picture on its way through the pipeline, with its timestamp in the input stream's time
/// base (kept as decoded: never recomputed from a frame rate).
pub struct Picture {
    /// The picture, RGB.
    pub rgb: Pixels,
    /// Its presentation timestamp, in the input stream's time base.
    pub pts: i64,
    /// Decoded only as context for the frames after it (a segment's history frames, for the
    /// temporal stabiliser): upscaled, never encoded.
    pub history: bool,
    /// After the frame upscalers: the picture it was made from (what the stabiliser compares).
    pub source: Option<Pixels>,
}

impl Picture {
    /// A decoded picture, to be encoded.
    pub fn new(rgb: Pixels, pts: i64) -> Picture {
        Picture { rgb, pts, history: false, source: None }
    }
}

/// What the source sends and the sink takes: pictures, and the packets of copied streams in
/// demuxing order (the sink gets them interleaved with the video as they came, in bounded
/// memory; they never wait in a frame worker's queue, see `workers.rs`).
pub enum Item {
    /// A video picture (decoded, or upscaled after the middle stage).
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
    /// The user asked to stop ([`Control::interrupt`]): the file is finished with what is done.
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
