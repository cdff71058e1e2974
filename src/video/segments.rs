//! The last stage of a resumable job: upscaled frames go into segments of the work folder, each
//! the encoded packets of `segment_frames` input frames from an encoder of its own (so it starts
//! with a keyframe and depends on no other). A segment is written under a partial name, put on
//! disk and renamed when complete, and only then listed in the manifest.

use crossbeam_channel::Receiver;

use super::color::FromRgb;
use super::decode::StreamInfo;
use super::encode::{EncodeTarget, Encoder};
use super::items::{Control, Item};
use super::stages::Sink;
use super::workdir::{Segment, WorkDir};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Writes the frames of a resumable job into the segments of its work folder.
pub struct SegmentWriter<'a> {
    pub work: &'a mut WorkDir,
    /// The job's output (named in errors) and its encoder settings.
    pub target: &'a EncodeTarget,
    pub info: StreamInfo,
    /// The encoder of the next segment, opened before any frame (that is where impossible
    /// settings are found).
    pub next: Option<Encoder>,
    /// Frames finished by earlier runs, counted in the progress.
    pub skipped: u64,
}

/// The segment being written.
struct Open {
    enc: Encoder,
    first_pts: i64,
    last_pts: i64,
    frames: u64,
}

impl SegmentWriter<'_> {
    /// Opens the encoder of the next segment.
    pub fn encoder(work: &WorkDir, target: &EncodeTarget, info: &StreamInfo) -> Result<Encoder> {
        Encoder::create_packet_file(target, &work.partial_path(work.segments.len()), info)
    }

    fn begin(&mut self, pts: i64) -> Result<Open> {
        let enc = match self.next.take() {
            Some(e) => e,
            None => Self::encoder(self.work, self.target, &self.info)?,
        };
        Ok(Open { enc, first_pts: pts, last_pts: pts, frames: 0 })
    }

    /// Completes the segment, puts its file in place and lists it in the manifest.
    fn end(&mut self, seg: Open) -> Result<()> {
        seg.enc.finish()?;
        let index = self.work.segments.len();
        let (partial, file) = (self.work.partial_path(index), self.work.segment_name(index));
        let done = self.work.path().join(&file);
        std::fs::rename(&partial, &done).map_err(|e| Error::io(&done, e))?;
        self.work.add(Segment { frames: seg.frames, first_pts: seg.first_pts, last_pts: seg.last_pts, file })
    }
}

impl Sink for SegmentWriter<'_> {
    /// Returns the frames written by this run. At the end of the input the last (shorter)
    /// segment is finished and the job marked complete; when the user interrupts, the segment
    /// in progress is finished short, so no work is lost; when another stage fails, it is
    /// dropped.
    fn run(mut self, rx: Receiver<Item>, ctl: &Control, progress: &dyn Progress) -> Result<u64> {
        let mut convert: Option<FromRgb> = None;
        let mut current: Option<Open> = None;
        let mut written = 0u64;
        for item in rx {
            if ctl.halted() {
                break;
            }
            let Item::Frame(pic) = item else { continue };
            let mut seg = match current.take() {
                Some(s) => s,
                None => self.begin(pic.pts)?,
            };
            let convert = convert.get_or_insert_with(|| seg.enc.converter());
            seg.enc.encode(convert, &pic)?;
            seg.frames += 1;
            seg.last_pts = pic.pts;
            written += 1;
            if seg.frames >= self.work.segment_frames {
                self.end(seg)?;
            } else {
                current = Some(seg);
            }
            if !progress.advance(self.skipped + written) {
                ctl.interrupt();
            }
        }
        if ctl.halted() {
            let _ = std::fs::remove_file(self.work.partial_path(self.work.segments.len()));
            return Ok(written);
        }
        if let Some(seg) = current {
            self.end(seg)?;
        }
        drop(self.next.take());
        let _ = std::fs::remove_file(self.work.partial_path(self.work.segments.len()));
        if !ctl.interrupted() {
            self.work.complete = true;
            self.work.save()?;
        }
        Ok(written)
    }
}
