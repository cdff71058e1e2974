//! One worker's step: encode segment I of a plan. The decoder starts at the keyframe that opens
//! the segment (or the one before, when a deinterlacer needs the previous frame), sends nothing
//! before the segment's first frame and stops at the next segment's first, so every input frame
//! is encoded exactly once; the packets go to a file of this worker's own, checked against the
//! plan and then put in place. A second run of a done index does nothing.

use crossbeam_channel::Receiver;

use super::plan::Plan;
use super::store::WorkDir;
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::video::decode::Decoder;
use crate::video::encode::{EncodeTarget, Encoder};
use crate::video::items::{Control, Item};
use crate::video::stages::Sink;

/// Why a step failed, for the scheduler: retry, or give up on this index.
#[derive(Debug)]
pub enum Failure {
    /// Another try may work (I/O, a missing GPU, an interruption).
    Retry(Error),
    /// No try will (index out of range, a damaged plan, settings that differ from the plan).
    Permanent(Error),
}

impl Failure {
    pub fn error(&self) -> &Error {
        match self {
            Failure::Retry(e) | Failure::Permanent(e) => e,
        }
    }
}

impl From<Error> for Failure {
    /// Configuration errors are permanent; the rest may pass.
    fn from(e: Error) -> Self {
        match e {
            Error::Config(_) | Error::Conflict(_) => Failure::Permanent(e),
            e => Failure::Retry(e),
        }
    }
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The segment was encoded by this run: so many frames.
    Done { frames: u64 },
    /// It was done already (by an earlier run, or another worker meanwhile).
    AlreadyDone,
}

/// Checks everything a worker can check before loading a model: the index, the input (by
/// content) and this machine's FFmpeg and model files. Returns the input's path here.
pub fn prepare(work: &WorkDir, plan: &Plan, index: usize) -> Result<std::path::PathBuf, Failure> {
    let n = plan.segments.len();
    if index >= n {
        return Err(Failure::Permanent(Error::video(
            work.path(),
            format!("index {index} out of range: the plan has {n} segments (0-{})", n - 1),
        )));
    }
    let input = plan.input_path(work.path());
    let id = super::identity::InputId::of(&input).map_err(Failure::Retry)?;
    if id != plan.input.id {
        return Err(Failure::Permanent(Error::video(
            &input,
            format!(
                "not the planned input (size {} and content differ from the plan's {})",
                id.size, plan.input.id.size
            ),
        )));
    }
    plan.settings.check_here().map_err(|m| Failure::Permanent(Error::video(work.path(), m)))?;
    Ok(input)
}

/// Runs segment `index` of `plan` with `up` (made from the plan's settings). `base` frames are
/// counted as done before this segment in the progress.
pub fn run(
    work: &WorkDir,
    plan: &Plan,
    index: usize,
    up: &mut Upscaler<'_>,
    base: u64,
    progress: &dyn Progress,
) -> Result<RunOutcome, Failure> {
    let input = prepare(work, plan, index)?;
    if work.segment_path(index).is_file() {
        return Ok(RunOutcome::AlreadyDone);
    }
    let seg = &plan.segments[index];
    let cfg = plan.settings.config();
    let output = work.output();
    crate::video::init_ffmpeg(&input)?;
    let mut dec = Decoder::open(&input, &cfg.video)?;
    dec.limit_pixels(cfg.max_pixels)?;
    let info = dec.info().clone();
    let tb = plan.time_base();
    if info.index != plan.video.stream || info.time_base != tb {
        return Err(Failure::Permanent(Error::video(&input, "its video stream differs from the plan's")));
    }
    let size = up.output_size(info.width, info.height);
    if size != plan.settings.output_size {
        return Err(Failure::Permanent(Error::video(
            work.path(),
            format!(
                "this upscaler makes {}x{}, the plan {}x{}",
                size.0, size.1, plan.settings.output_size.0, plan.settings.output_size.1
            ),
        )));
    }
    if index > 0 {
        // The deinterlacer's first frame needs the one before it: start a keyframe earlier.
        let key = if plan.settings.deinterlace == "off" { seg.start_pts } else { seg.start_pts - 1 };
        dec.start_from(key, seg.start_pts - 1)?;
    }
    if let Some(end) = seg.end_pts {
        dec.stop_from(end);
    }
    let partial = work.partial_path(index);
    let target = EncodeTarget {
        output: output.clone(),
        size,
        settings: cfg.video.clone(),
        device: up.device(),
        provenance: None,
    };
    let enc = Encoder::create_packet_file(&target, &partial, &info)?;
    let sink = SegmentSink { enc, frames: 0, base };
    let outcome = crate::video::run_pipeline(&input, dec, up, sink, &cfg, progress);
    let outcome = match outcome {
        Ok(o) if !o.interrupted => o,
        Ok(_) => {
            let _ = std::fs::remove_file(&partial);
            return Err(Failure::Retry(Error::Cancelled));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    if outcome.frames != seg.frames {
        let _ = std::fs::remove_file(&partial);
        return Err(Failure::Permanent(Error::video(
            &input,
            format!(
                "segment {index}: decoded {} frames where the demuxer listed {} (a damaged stream?)",
                outcome.frames, seg.frames
            ),
        )));
    }
    if work.publish(&partial, index)? {
        Ok(RunOutcome::Done { frames: outcome.frames })
    } else {
        Ok(RunOutcome::AlreadyDone)
    }
}

/// The last pipeline stage of a worker: every picture into the segment's encoder.
struct SegmentSink {
    enc: Encoder,
    frames: u64,
    base: u64,
}

impl Sink for SegmentSink {
    fn run(mut self, rx: Receiver<Item>, ctl: &Control, progress: &dyn Progress) -> Result<u64> {
        let mut convert = self.enc.converter();
        for item in rx {
            if ctl.stopping() {
                return Ok(self.frames);
            }
            let Item::Frame(pic) = item else { continue };
            self.enc.encode(&mut convert, &pic)?;
            self.frames += 1;
            if !progress.advance(self.base + self.frames) {
                ctl.interrupt();
            }
        }
        if ctl.stopping() {
            return Ok(self.frames);
        }
        self.enc.finish()?;
        Ok(self.frames)
    }
}
