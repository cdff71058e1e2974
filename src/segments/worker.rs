//! One worker's step: encode segment I of a plan. The decoder starts at the keyframe at or before
//! the segment's first frame (or before the frame ahead of it, when a deinterlacer needs that
//! one), sends nothing before the segment's first frame and stops at the next segment's first,
//! so every input frame is encoded exactly once, wherever the cuts fall; each segment is encoded
//! from its own first frame, which its encoder makes a keyframe. The packets go to a file of this
//! worker's own, checked against the plan and then put in place. A second run of a done index
//! does nothing.

use std::path::{Path, PathBuf};

use super::plan::{Plan, Settings};
use super::store::WorkDir;
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::video::Destination;

/// Why a step failed, for the scheduler: retry, or give up on this index.
#[derive(Debug)]
pub enum Failure {
    /// Another try may work (I/O, a missing GPU, an interruption).
    Retry(Error),
    /// No try will (index out of range, a damaged plan, settings that differ from the plan).
    Permanent(Error),
}

impl Failure {
    /// The error, whichever kind of failure it is.
    pub fn error(&self) -> &Error {
        match self {
            Failure::Retry(e) | Failure::Permanent(e) => e,
        }
    }
}

impl From<Error> for Failure {
    /// Configuration errors are permanent; the rest may pass.
    fn from(e: Error) -> Self {
        if e.in_settings() {
            Failure::Permanent(e)
        } else {
            Failure::Retry(e)
        }
    }
}

/// What a `job run` step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// This run encoded the segment: so many frames.
    Encoded {
        /// Frames encoded.
        frames: u64,
    },
    /// It was in place before this run started.
    DoneBefore,
    /// Another worker put it in place while this one ran.
    DoneMeanwhile,
}

/// A plan checked against this machine once per step (the input hashed once, whatever the
/// number of segments run): the input is the planned one, by content, and FFmpeg the planned
/// version.
pub struct Checked<'p> {
    work: &'p WorkDir,
    plan: &'p Plan,
    input: PathBuf,
}

impl<'p> Checked<'p> {
    /// Finds the input (beside the work folder as planned, else at its planned path) and checks
    /// its content and this machine's FFmpeg against the plan.
    pub fn new(work: &'p WorkDir, plan: &'p Plan) -> Result<Self, Failure> {
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
        plan.settings.check_ffmpeg().map_err(|m| Failure::Permanent(Error::video(work.path(), m)))?;
        Ok(Checked { work, plan, input })
    }

    /// For `--resume`, which has just identified `input` as the plan's (no second hashing).
    pub(crate) fn identified(work: &'p WorkDir, plan: &'p Plan, input: &Path) -> Result<Self, Failure> {
        plan.settings.check_ffmpeg().map_err(|m| Failure::Permanent(Error::video(work.path(), m)))?;
        Ok(Checked { work, plan, input: input.to_path_buf() })
    }

    /// Checks that `up` resolves what the plan's engine did (device, precision, passes, tile,
    /// the model files by content); the message names each difference.
    pub fn engine(&self, up: &Upscaler<'_>) -> Result<(), Failure> {
        let (plan, v) = (self.plan, &self.plan.video);
        let here = Settings { engine: up.resolved(v.width, v.height)?, ..plan.settings.clone() };
        match plan.settings.difference(&here) {
            None => Ok(()),
            Some(d) => Err(Failure::Permanent(Error::video(
                self.work.path(),
                format!("this machine's upscaler differs from the plan's: {d}"),
            ))),
        }
    }
}

/// Checks `index` against the plan's segments.
pub fn check_index(work: &WorkDir, plan: &Plan, index: usize) -> Result<(), Failure> {
    let n = plan.segments.len();
    if index >= n {
        return Err(Failure::Permanent(Error::video(
            work.path(),
            format!("index {index} out of range: the plan has {n} segments (0-{})", n - 1),
        )));
    }
    Ok(())
}

/// Runs segment `index` of a checked plan with `up` (made from the plan's settings alone, see
/// [`Settings::config`], and checked with [`Checked::engine`]). `base` frames are counted as
/// done before this segment in the progress. A partial file of this index left by a worker that
/// was killed is removed first (said in a note).
pub fn run(
    checked: &Checked<'_>,
    index: usize,
    up: &mut Upscaler<'_>,
    base: u64,
    progress: &dyn Progress,
) -> Result<Ran, Failure> {
    let (work, plan, input) = (checked.work, checked.plan, checked.input.as_path());
    check_index(work, plan, index)?;
    if work.segment_path(index).is_file() {
        return Ok(Ran::DoneBefore);
    }
    let seg = &plan.segments[index];
    let cfg = plan.settings.config();
    let output = work.output();
    let mut dec = crate::video::open(input, &cfg)?;
    let info = dec.info().clone();
    if info.index != plan.video.stream || info.time_base != plan.time_base() {
        return Err(Failure::Permanent(Error::video(input, "its video stream differs from the plan's")));
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
    let deinterlaced = plan.settings.job.video.deinterlace != crate::config::Deinterlace::Off;
    match (index, seg.history) {
        (0, _) => {}
        // From the keyframe at or before the first history frame (or the frame ahead of it, which
        // a deinterlacer reads); the history frames go to the stabiliser, never to the encoder.
        (_, Some(h)) => {
            if let Some(before) = h.before_pts {
                dec.start_from(if deinterlaced { before } else { h.first_pts }, before)?;
            }
            dec.history_before(seg.start_pts);
        }
        // From the keyframe at or before the first frame; with a deinterlacer, at or before
        // the frame ahead of it, which the first frame's deinterlacing reads.
        (_, None) => {
            let ahead = plan.segments[index - 1].last_pts;
            dec.start_from(if deinterlaced { ahead } else { seg.start_pts }, ahead)?;
        }
    }
    if let Some(end) = seg.end_pts {
        dec.stop_from(end);
    }
    let (partial, removed) = work.start_partial(index)?;
    for name in removed {
        progress.note(&format!("segment {index}: removed {name}, left by a worker that stopped"));
    }
    let tmp = partial.path().to_path_buf();
    // On every way out but `publish`, dropping `partial` removes the file.
    let dest = Destination {
        output: &output,
        tmp: &tmp,
        packets: Some(&super::packets::store),
        announce: false,
        frames_before: base,
    };
    let outcome = crate::video::transcode(input, dec, up, &dest, progress)?;
    if outcome.interrupted {
        return Err(Failure::Retry(Error::Cancelled));
    }
    if outcome.frames != seg.frames {
        return Err(Failure::Permanent(Error::video(
            input,
            format!(
                "segment {index}: decoded {} frames where the demuxer listed {} (a damaged stream?)",
                outcome.frames, seg.frames
            ),
        )));
    }
    let placed = partial.publish()?;
    Ok(if placed { Ran::Encoded { frames: outcome.frames } } else { Ran::DoneMeanwhile })
}
