//! Repositioning the decoder at a segment's start: seek back to a keyframe at or before its
//! first frame, checked by decoding (demuxers seek by decoding time, and open GOPs start
//! with frames that cannot be decoded), then drop the frames before the segment as they come.

use ffmpeg_next::{ffi, Rational};

use crate::error::{Error, Result};
use crate::video::decode::Decoder;

/// How far before the first frame to do each seek tries, in seconds; then the input is read
/// from its start.
const BACKOFF_SECS: &[i64] = &[0, 1, 4, 16, 64];

impl Decoder {
    /// Positions the input at a keyframe at or before `key` (checked by decoding) and leaves
    /// frames up to and including `skip` unsent. A segment starting at keyframe `s` passes
    /// `key = s` (or `s - 1`, for the frame before it as the deinterlacer's context) and
    /// `skip = s - 1`.
    pub fn start_from(&mut self, key: i64, skip: i64) -> Result<()> {
        let info = self.info().clone();
        let start = self.input().stream(info.index).map_or(ffi::AV_NOPTS_VALUE, |s| s.start_time());
        let second = rescale(1, Rational(1, 1), info.time_base).max(1);
        for &secs in BACKOFF_SECS {
            let target = key.saturating_sub(second.saturating_mul(secs));
            if start != ffi::AV_NOPTS_VALUE && target < start {
                break;
            }
            if self.seek(target) && self.key_frame_through(key)? {
                self.seek(target);
                self.skip_through(skip);
                return Ok(());
            }
        }
        // No keyframe close enough: read from the very start.
        let path = self.path().to_path_buf();
        self.rewind()?;
        if !self.key_frame_through(key)? {
            return Err(Error::video(&path, format!("cannot start: no keyframe at or before timestamp {key}")));
        }
        self.rewind()?;
        self.skip_through(skip);
        Ok(())
    }

    /// Seeks the video stream to a keyframe at or before `ts`; false when the demuxer cannot.
    fn seek(&mut self, ts: i64) -> bool {
        self.seek_video(ts)
    }

    /// Opens the input again: the surest way back to its first packet.
    fn rewind(&mut self) -> Result<()> {
        self.reopen()
    }

    /// Decodes from the current position: true when a keyframe at or before `done` comes before
    /// any frame after it (then every frame after `done` decodes as in an uninterrupted run).
    fn key_frame_through(&mut self, done: i64) -> Result<bool> {
        let mut found = false;
        self.decode_ahead(|t, key| match t {
            Some(t) if t > done => false,
            Some(_) if key => {
                found = true;
                false
            }
            _ => true,
        })?;
        Ok(found)
    }
}

fn rescale(v: i64, from: Rational, to: Rational) -> i64 {
    // SAFETY: a pure arithmetic function on plain values.
    unsafe { ffi::av_rescale_q(v, from.into(), to.into()) }
}
