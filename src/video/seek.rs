//! Repositioning the decoder at a segment's start: seek back to a keyframe at or before its
//! first frame, checked by decoding (demuxers seek by decoding time, and open GOPs start
//! with frames that cannot be decoded), then drop the frames before the segment as they come.

use ffmpeg_next as ffmpeg;

use ffmpeg::{ffi, Packet, Rational};

use super::decode::Decoder;
use crate::error::{Error, Result};

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
        let index = self.info().index as i32;
        let (ictx, dec) = self.parts();
        let r = unsafe { ffi::av_seek_frame(ictx.as_mut_ptr(), index, ts, ffi::AVSEEK_FLAG_BACKWARD) };
        dec.flush();
        r >= 0
    }

    /// Opens the input again: the surest way back to its first packet.
    fn rewind(&mut self) -> Result<()> {
        let path = self.path().to_path_buf();
        let fresh = ffmpeg::format::input(&path).map_err(|e| Error::video(&path, format!("cannot reopen: {e}")))?;
        let (ictx, dec) = self.parts();
        *ictx = fresh;
        dec.flush();
        Ok(())
    }

    /// Decodes from the current position: true when a keyframe at or before `done` comes before
    /// any frame after it (then every frame after `done` decodes as in an uninterrupted run).
    fn key_frame_through(&mut self, done: i64) -> Result<bool> {
        let index = self.info().index;
        let path = self.path().to_path_buf();
        let (ictx, dec) = self.parts();
        let mut packet = Packet::empty();
        let mut frame = ffmpeg::frame::Video::empty();
        let mut at_end = false;
        loop {
            if !at_end {
                match packet.read(ictx) {
                    Ok(()) if packet.stream() != index => continue,
                    Ok(()) => match dec.send_packet(&packet) {
                        Ok(()) | Err(ffmpeg::Error::InvalidData) => {}
                        Err(e) => return Err(Error::video(&path, format!("cannot decode: {e}"))),
                    },
                    Err(ffmpeg::Error::Eof) => {
                        at_end = true;
                        let _ = dec.send_eof();
                    }
                    Err(ffmpeg::Error::InvalidData) => continue,
                    Err(e) => return Err(Error::video(&path, format!("cannot read: {e}"))),
                }
            }
            loop {
                match dec.receive_frame(&mut frame) {
                    Ok(()) => match frame.timestamp().or(frame.pts()) {
                        Some(t) if t > done => return Ok(false),
                        Some(_) if frame.is_key() => return Ok(true),
                        _ => {}
                    },
                    Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => break,
                    Err(ffmpeg::Error::InvalidData) => {}
                    Err(_) if at_end => return Ok(false),
                    Err(e) => return Err(Error::video(&path, format!("cannot decode: {e}"))),
                }
            }
        }
    }
}

fn rescale(v: i64, from: Rational, to: Rational) -> i64 {
    unsafe { ffi::av_rescale_q(v, from.into(), to.into()) }
}
