//! The video pipeline's three stages as traits, so that anything can feed it or take its output:
//! a [`Source`] (the decoder, positioned and bounded for a segment by `crate::segments`; a test
//! double), the frame upscalers ([`FrameUpscaler`]: the model, or a double that sleeps), the
//! stages that need the frames in order ([`InOrder`]: the temporal stabiliser, and the edit
//! after it), and a [`Sink`] (the encoder, writing a file or a segment's packets; a test double).

use crossbeam_channel::{Receiver, Sender};
use image::RgbImage;

use super::items::{Control, Item, Picture, Rgb16Image};
use crate::engine::Upscaler;
use crate::error::Result;
use crate::progress::Progress;

/// The first stage: sends pictures and copied packets, in input order, until its input ends,
/// the receiver goes away, or `ctl` says stop. Damage worth a warning goes to `progress`.
pub trait Source: Send {
    /// Sends every item on `tx`; an error also ends the run (the pipeline records it in `ctl`).
    fn run(self, tx: Sender<Item>, ctl: &Control, progress: &dyn Progress) -> Result<()>;
}

/// The last stage: takes the upscaled pictures (and copied packets) until the channel closes,
/// and returns the frames it wrote. It reports progress per frame and calls
/// [`Control::interrupt`] when the progress callback asks to stop.
pub trait Sink: Send {
    /// Writes every item from `rx` and returns the number of frames written.
    fn run(self, rx: Receiver<Item>, ctl: &Control, progress: &dyn Progress) -> Result<u64>;
}

/// The middle stage's work, one picture at a time. Several may run at once, each on its own
/// thread (see `workers.rs`).
pub trait FrameUpscaler: Send {
    /// The upscaled 8-bit picture (the output size the job asks for).
    fn upscale_frame(&mut self, rgb: &RgbImage) -> Result<RgbImage>;
    /// A picture of a source with more than 8 bits; an upscaler that only knows 8 bits says so.
    fn upscale_frame16(&mut self, _rgb: &Rgb16Image) -> Result<Rgb16Image> {
        Err(crate::error::Error::runtime("this frame upscaler takes 8-bit pictures only".to_string(), None))
    }
}

/// A stage after the frame upscalers that sees every picture in input order, one at a time, and
/// may remember the ones before (the temporal stabiliser). It runs on a thread of its own.
pub trait InOrder: Send {
    /// The picture to pass on, or `None` for one that only gives context (a history frame,
    /// decoded before a segment's first frame, never encoded).
    fn next(&mut self, pic: Picture) -> Result<Option<Picture>>;
}

impl FrameUpscaler for Upscaler<'_> {
    fn upscale_frame(&mut self, rgb: &RgbImage) -> Result<RgbImage> {
        self.upscale_rgb8(rgb)
    }
    fn upscale_frame16(&mut self, rgb: &Rgb16Image) -> Result<Rgb16Image> {
        self.upscale_rgb16(rgb)
    }
}
