//! Where a video is cut: the presentation timestamps of every frame of its video stream (and
//! which are keyframes: a worker decodes from the one before its first frame), read by demuxing
//! alone (no decoding), then the cut points of a plan, at any frame.

use std::path::Path;

use ffmpeg_next as ffmpeg;

use ffmpeg::packet::Ref as _;
use ffmpeg::{media, Packet, Rational};

use crate::error::{Error, Result};

/// A packet the demuxer marks as decoded-but-dropped (edit lists): no frame comes of it.
const DISCARD: i32 = 0x0004;

/// Every frame of the best video stream, in presentation order.
#[derive(Debug, Clone)]
pub struct FrameList {
    /// Index of the video stream in the container.
    pub stream: usize,
    /// The stream's time base, in which the timestamps are.
    pub time_base: Rational,
    /// (presentation timestamp, keyframe), sorted by timestamp.
    pub frames: Vec<(i64, bool)>,
}

impl FrameList {
    /// Reads every packet of `path`'s best video stream.
    pub fn scan(path: &Path) -> Result<FrameList> {
        let mut ictx = ffmpeg::format::input(&path).map_err(|e| Error::ffmpeg(path, "cannot open as a video", e))?;
        let st = ictx.streams().best(media::Type::Video).ok_or_else(|| Error::video(path, "no video stream"))?;
        let (stream, time_base) = (st.index(), st.time_base());
        let mut frames = Vec::new();
        loop {
            let mut p = Packet::empty();
            match p.read(&mut ictx) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => break,
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(e) => return Err(Error::ffmpeg(path, "cannot read", e)),
            }
            // SAFETY: `p` is a packet this loop owns; its AVPacket is live while it is read.
            if p.stream() != stream || unsafe { (*p.as_ptr()).flags } & DISCARD != 0 {
                continue;
            }
            let ts = p.pts().or(p.dts()).ok_or_else(|| {
                Error::video(path, "video packets without timestamps: remux it into Matroska or MP4 first")
            })?;
            frames.push((ts, p.is_key()));
        }
        if frames.is_empty() {
            return Err(Error::video(path, "the video stream has no frames"));
        }
        frames.sort_by_key(|f| f.0);
        if frames.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(Error::video(path, "two video frames share a timestamp: cannot cut it into segments"));
        }
        Ok(FrameList { stream, time_base, frames })
    }
}

/// How to cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cut {
    /// This many segments of equal frame counts (within one frame).
    Count(usize),
    /// Segments of this many seconds (the last one shorter).
    Seconds(f64),
    /// Segments of this many frames (the last one shorter).
    Frames(u64),
}

impl Cut {
    /// Refuses a cut that no input can give (no segments, a length of zero or less), before
    /// any work: a [`crate::error::ConfigError`] on `segments`, `segment_seconds` or
    /// `segment_frames`. Whether the input has enough frames is checked by the plan.
    pub fn check(self) -> std::result::Result<Self, crate::error::ConfigError> {
        let bad = |field, value: &dyn std::fmt::Display, expected| {
            Err(crate::error::ConfigError::new(field, value, expected))
        };
        match self {
            Cut::Count(0) => bad("segments", &0, "at least 1"),
            Cut::Seconds(s) if !(s > 0.0 && s.is_finite()) => bad("segment_seconds", &s, "more than 0"),
            Cut::Frames(0) => bad("segment_frames", &0, "at least 1"),
            cut => Ok(cut),
        }
    }
}

/// The first frame (index into `frames`, in presentation order) of each segment: 0, then
/// wherever `cut` says, whatever the keyframes. A count larger than the frames gives one
/// segment per frame (the plan refuses it before, saying so).
pub fn cut_points(frames: &[(i64, bool)], time_base: Rational, cut: Cut) -> Vec<usize> {
    let len = frames.len();
    let mut starts = vec![0usize];
    match cut {
        Cut::Count(n) => {
            let n = n.clamp(1, len.max(1));
            starts.extend((1..n).map(|k| k * len / n));
        }
        Cut::Seconds(s) => {
            for (i, f) in frames.iter().enumerate().skip(1) {
                let last = frames[*starts.last().expect("starts with 0")].0;
                if seconds(f.0 - last, time_base) >= s {
                    starts.push(i);
                }
            }
        }
        Cut::Frames(n) => starts.extend((1..len).filter(|i| (*i as u64).is_multiple_of(n.max(1)))),
    }
    starts
}

/// `v` in `tb` as seconds.
pub fn seconds(v: i64, tb: Rational) -> f64 {
    v as f64 * f64::from(tb)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 frames at 1/25 s, a keyframe every 10.
    fn clip() -> Vec<(i64, bool)> {
        (0..100).map(|i| (i, i % 10 == 0)).collect()
    }

    #[test]
    fn cuts_fall_anywhere() {
        let tb = Rational(1, 25);
        assert_eq!(cut_points(&clip(), tb, Cut::Count(4)), vec![0, 25, 50, 75]);
        assert_eq!(cut_points(&clip(), tb, Cut::Count(3)), vec![0, 33, 66]);
        assert_eq!(cut_points(&clip(), tb, Cut::Count(1)), vec![0]);
        assert_eq!(cut_points(&clip(), tb, Cut::Frames(24)), vec![0, 24, 48, 72, 96]);
        assert_eq!(cut_points(&clip(), tb, Cut::Seconds(1.0)), vec![0, 25, 50, 75]);
        assert_eq!(cut_points(&clip(), tb, Cut::Count(500)).len(), 100);
        // A single keyframe: still four equal shares.
        let one: Vec<(i64, bool)> = (0..75).map(|i| (i, i == 0)).collect();
        assert_eq!(cut_points(&one, tb, Cut::Count(4)), vec![0, 18, 37, 56]);
    }
}
