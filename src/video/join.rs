//! The end of a resumable job: the segments' video packets, unchanged (no re-encoding, the
//! timestamps they were encoded with), and the input's audio, subtitle and other packets are
//! muxed into the output, laid out exactly as the one-pass path lays it out (same encoder
//! parameters, copied streams, chapters and metadata), interleaved by decoding time.

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use ffmpeg::{format, media, Packet, Rational};

use super::decode::Decoder;
use super::encode::Encoder;
use super::workdir::WorkDir;
use crate::config::{Config, Device};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Joins the finished segments of `work` with the input's copied streams into `output`
/// (through a partial file in the work folder, renamed when complete).
pub fn join(
    input: &Path,
    output: &Path,
    work: &WorkDir,
    size: (u32, u32),
    cfg: &Config,
    device: Device,
    progress: &dyn Progress,
) -> Result<()> {
    let tmp = work.joined_path();
    let result = write(input, output, &tmp, work, size, cfg, device, progress)
        .and_then(|()| std::fs::rename(&tmp, output).map_err(|e| Error::io(output, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn write(
    input: &Path,
    output: &Path,
    tmp: &Path,
    work: &WorkDir,
    size: (u32, u32),
    cfg: &Config,
    device: Device,
    progress: &dyn Progress,
) -> Result<()> {
    let mut dec = Decoder::open(input, cfg.video.deinterlace)?;
    // The first packet is read first: the output's video header is the segments' own.
    let mut video = Segments { paths: work.segment_paths(), next: 0, open: None, out: 0, header: None };
    let mut v = video.next()?;
    let header = video.header.clone();
    let mut enc = Encoder::create_with_header(output, tmp, &mut dec, size, cfg, device, progress, header.as_deref())?;
    video.out = enc.video_stream();
    if let Some((p, _)) = v.as_mut() {
        p.set_stream(video.out);
    }
    let mut copied = Copied::new(&mut dec);
    let mut c = copied.next()?;
    loop {
        let video_first = match (&v, &c) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((a, atb)), Some((b, btb))) => match (a.dts().or(a.pts()), b.dts().or(b.pts())) {
                (Some(x), Some(y)) => unsafe { ffmpeg::ffi::av_compare_ts(x, (*atb).into(), y, (*btb).into()) <= 0 },
                _ => true,
            },
        };
        if video_first {
            let (p, tb) = v.take().expect("matched above");
            enc.mux(p, tb)?;
            v = video.next()?;
        } else {
            let (p, tb) = c.take().expect("matched above");
            enc.mux(p, tb)?;
            c = copied.next()?;
        }
    }
    enc.close()
}

/// The video packets of every segment in turn.
struct Segments {
    paths: Vec<PathBuf>,
    next: usize,
    /// The segment being read, its video stream and that stream's time base.
    open: Option<(format::context::Input, usize, Rational)>,
    /// Output stream of the video.
    out: usize,
    /// The first segment's codec header: every segment must have the same.
    header: Option<Vec<u8>>,
}

impl Segments {
    fn next(&mut self) -> Result<Option<(Packet, Rational)>> {
        loop {
            if self.open.is_none() {
                let Some(path) = self.paths.get(self.next) else { return Ok(None) };
                self.next += 1;
                let bad = |msg: String| Error::video(path, format!("{msg}: remove the work folder to start again"));
                let ictx = format::input(path).map_err(|e| bad(format!("cannot read this segment: {e}")))?;
                let st = ictx.streams().best(media::Type::Video).ok_or_else(|| bad("no video stream".into()))?;
                let (index, tb) = (st.index(), st.time_base());
                let header = unsafe {
                    let par = st.parameters().as_ptr();
                    let (p, n) = ((*par).extradata, (*par).extradata_size);
                    if p.is_null() || n <= 0 {
                        Vec::new()
                    } else {
                        std::slice::from_raw_parts(p, n as usize).to_vec()
                    }
                };
                match &self.header {
                    None => self.header = Some(header),
                    Some(h) if *h != header => {
                        return Err(bad("encoded with other codec parameters than the first segment".into()))
                    }
                    Some(_) => {}
                }
                self.open = Some((ictx, index, tb));
            }
            let (ictx, index, tb) = self.open.as_mut().expect("opened above");
            let mut p = Packet::empty();
            match p.read(ictx) {
                Ok(()) if p.stream() == *index => {
                    p.set_stream(self.out);
                    return Ok(Some((p, *tb)));
                }
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => self.open = None,
                Err(e) => {
                    let path = &self.paths[self.next - 1];
                    return Err(Error::video(path, format!("cannot read this segment: {e}")));
                }
            }
        }
    }
}

/// The packets of the input's copied streams, mapped to their output streams.
struct Copied<'a> {
    dec: &'a mut Decoder,
    map: Vec<Option<usize>>,
}

impl<'a> Copied<'a> {
    fn new(dec: &'a mut Decoder) -> Self {
        let map = (0..dec.input().nb_streams() as usize).map(|i| dec.copy_target(i)).collect();
        Copied { dec, map }
    }

    fn next(&mut self) -> Result<Option<(Packet, Rational)>> {
        let path = self.dec.path().to_path_buf();
        let (ictx, _) = self.dec.parts();
        loop {
            let mut p = Packet::empty();
            match p.read(ictx) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(e) => return Err(Error::video(&path, format!("cannot read: {e}"))),
            }
            let si = p.stream();
            if let Some(out) = self.map.get(si).copied().flatten() {
                let tb = ictx.stream(si).map_or(Rational(1, 1), |s| s.time_base());
                p.set_stream(out);
                return Ok(Some((p, tb)));
            }
        }
    }
}
