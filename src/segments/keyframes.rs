//! Where a video can be cut: the presentation timestamps of every frame of its video stream and
//! which of them are keyframes, read by demuxing alone (no decoding), then the cut points of a
//! plan chosen among the keyframes.

use std::path::Path;

use ffmpeg_next as ffmpeg;

use ffmpeg::packet::Ref as _;
use ffmpeg::{ffi, media, Packet, Rational};

use crate::error::{Error, Result};

/// A packet the demuxer marks as decoded-but-dropped (edit lists): no frame comes of it.
const DISCARD: i32 = 0x0004;

/// Every frame of the best video stream, in presentation order.
#[derive(Debug, Clone)]
pub struct FrameList {
    pub stream: usize,
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
    /// About this many segments of equal duration.
    Count(usize),
    /// Segments of at least this many seconds.
    Seconds(f64),
    /// Segments of at least this many frames.
    Frames(u64),
}

/// The first frame (index into `frames`) of each segment: 0, then keyframes chosen by `cut`.
pub fn cut_points(frames: &[(i64, bool)], time_base: Rational, cut: Cut) -> Vec<usize> {
    let secs = |a: i64, b: i64| (b - a) as f64 * f64::from(time_base);
    let mut starts = vec![0usize];
    match cut {
        Cut::Count(n) => {
            let (first, last) = (frames[0].0, frames[frames.len() - 1].0);
            for k in 1..n.max(1) {
                let target = first as f64 + (last - first) as f64 * k as f64 / n as f64;
                // The keyframe nearest the target, after the previous cut.
                let prev = *starts.last().expect("starts with 0");
                let best = frames
                    .iter()
                    .enumerate()
                    .skip(prev + 1)
                    .filter(|(_, f)| f.1)
                    .min_by(|a, b| ((a.1 .0 as f64 - target).abs()).total_cmp(&(b.1 .0 as f64 - target).abs()));
                if let Some((i, _)) = best {
                    if !starts.contains(&i) {
                        starts.push(i);
                    }
                }
            }
            starts.sort_unstable();
            starts.dedup();
        }
        Cut::Seconds(s) => {
            for (i, f) in frames.iter().enumerate().skip(1) {
                if f.1 && secs(frames[*starts.last().expect("starts with 0")].0, f.0) >= s {
                    starts.push(i);
                }
            }
        }
        Cut::Frames(n) => {
            for (i, f) in frames.iter().enumerate().skip(1) {
                if f.1 && (i - starts.last().expect("starts with 0")) as u64 >= n.max(1) {
                    starts.push(i);
                }
            }
        }
    }
    starts
}

/// `v` in `tb` as seconds.
pub fn seconds(v: i64, tb: Rational) -> f64 {
    v as f64 * f64::from(tb)
}

/// `v` rescaled from `from` to `to`.
pub fn rescale(v: i64, from: Rational, to: Rational) -> i64 {
    unsafe { ffi::av_rescale_q(v, from.into(), to.into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 frames at 1/25 s, a keyframe every 10.
    fn clip() -> Vec<(i64, bool)> {
        (0..100).map(|i| (i, i % 10 == 0)).collect()
    }

    #[test]
    fn cuts_fall_on_keyframes() {
        let tb = Rational(1, 25);
        assert_eq!(cut_points(&clip(), tb, Cut::Count(4)), vec![0, 20, 50, 70]);
        assert_eq!(cut_points(&clip(), tb, Cut::Count(1)), vec![0]);
        assert_eq!(cut_points(&clip(), tb, Cut::Frames(24)), vec![0, 30, 60, 90]);
        assert_eq!(cut_points(&clip(), tb, Cut::Seconds(1.0)), vec![0, 30, 60, 90]);
        // More segments than keyframes: one per keyframe.
        assert_eq!(cut_points(&clip(), tb, Cut::Count(50)).len(), 10);
        // A single keyframe: one segment.
        let one: Vec<(i64, bool)> = (0..50).map(|i| (i, i == 0)).collect();
        assert_eq!(cut_points(&one, tb, Cut::Count(4)), vec![0]);
    }
}
