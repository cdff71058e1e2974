//! The end of a segmented job: the segments' video packets, unchanged (no re-encoding, the
//! timestamps they were encoded with), and the input's audio, subtitle and other packets are
//! muxed into the output, laid out exactly as the one-pass path lays it out (same encoder
//! parameters, copied streams, chapters and metadata), interleaved by decoding time.

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use ffmpeg::Packet;

use super::packets::PacketReader;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::video::decode::Decoder;
use crate::video::encode::{EncodeTarget, Encoder};

/// Writes `tmp`, laid out as the one-pass path lays out the target's output: the video packets
/// of the segment files `paths` in turn (their header must be the one this output's encoder
/// makes) and the input's copied streams, interleaved by decoding time.
pub fn join_files(
    input: &Path,
    tmp: &Path,
    paths: &[PathBuf],
    target: &EncodeTarget,
    progress: &dyn Progress,
) -> Result<()> {
    let mut dec = Decoder::open(input, &target.settings)?;
    let time_base = dec.info().time_base;
    let mut enc = Encoder::create(target, tmp, &mut dec, progress)?;
    let mut video = Segments {
        paths: paths.to_vec(),
        next: 0,
        open: None,
        out: enc.video_stream(),
        header: enc.extradata().to_vec(),
    };
    let mut v = video.next()?;
    let mut c = dec.next_copied()?;
    loop {
        let video_first = match (&v, &c) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some((b, btb))) => match (a.dts().or(a.pts()), b.dts().or(b.pts())) {
                // SAFETY: a pure comparison of plain values.
                (Some(x), Some(y)) => unsafe { ffmpeg::ffi::av_compare_ts(x, time_base.into(), y, (*btb).into()) <= 0 },
                _ => true,
            },
        };
        if video_first {
            enc.mux(v.take().expect("matched above"), time_base)?;
            v = video.next()?;
        } else {
            let (p, tb) = c.take().expect("matched above");
            enc.mux(p, tb)?;
            c = dec.next_copied()?;
        }
    }
    enc.close()
}

/// The video packets of every segment in turn, in the encoder's time base (the input video
/// stream's).
struct Segments {
    paths: Vec<PathBuf>,
    next: usize,
    open: Option<PacketReader>,
    /// Output stream of the video.
    out: usize,
    /// The output encoder's header: the segments' encoders must have made the same.
    header: Vec<u8>,
}

impl Segments {
    fn next(&mut self) -> Result<Option<Packet>> {
        loop {
            let path = match self.open {
                Some(_) => &self.paths[self.next - 1],
                None => {
                    let Some(path) = self.paths.get(self.next) else { return Ok(None) };
                    self.next += 1;
                    let r = PacketReader::open(path).map_err(|e| damaged(path, &e.to_string()))?;
                    if r.header() != self.header.as_slice() {
                        return Err(damaged(path, "encoded with other codec parameters than the output"));
                    }
                    self.open = Some(r);
                    path
                }
            };
            match self.open.as_mut().expect("opened above").next() {
                Ok(Some(mut p)) => {
                    p.set_stream(self.out);
                    return Ok(Some(p));
                }
                Ok(None) => self.open = None,
                Err(e) => return Err(damaged(path, &e.to_string())),
            }
        }
    }
}

fn damaged(path: &Path, why: &str) -> Error {
    Error::video(path, format!("{why}: remove this file and run its segment again"))
}
