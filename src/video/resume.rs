//! A resumable video job (`--resume`): the upscaled video goes into keyframe-aligned segments in
//! a work folder beside the output ([`super::workdir`]); a rerun checks the folder belongs to the
//! same job, seeks past the finished frames and goes on; when the last segment is done the
//! segments are joined without re-encoding, with the input's other streams laid back
//! ([`super::join`]), and the folder is removed.

use std::path::Path;
use std::time::UNIX_EPOCH;

use ffmpeg_next as ffmpeg;

use super::decode::Decoder;
use super::segments::SegmentWriter;
use super::workdir::WorkDir;
use super::{join, pipeline};
use crate::config::Config;
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::jobs::Outcome;
use crate::progress::Progress;

/// Segment length when none is configured, in seconds of input.
const DEFAULT_SEGMENT_SECS: f64 = 10.0;

/// Upscales `input` into `output` through the work folder, continuing what an earlier run of
/// the same job left there. On interruption the folder is kept and an error says how far it got.
pub fn upscale_file(
    input: &Path,
    output: &Path,
    up: &mut Upscaler<'_>,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let mut dec = Decoder::open(input, &cfg.video)?;
    dec.limit_pixels(cfg.max_pixels)?;
    let size = up.output_size(dec.info().width, dec.info().height);
    let per_segment = match cfg.video.segment_frames {
        0 => (f64::from(dec.info().frame_rate) * DEFAULT_SEGMENT_SECS).round().max(1.0) as u64,
        n => n,
    };
    let mut work = WorkDir::open(output, job(input, cfg, size)?, per_segment)?;
    let result = run(input, output, dec, &mut work, size, up, cfg, progress);
    match &result {
        Ok(Outcome::Done) => work.remove()?,
        Ok(Outcome::Interrupted { .. }) => {}
        // Nothing worth keeping: leave no folder behind.
        Err(_) if work.segments.is_empty() && !work.complete => {
            let _ = work.remove();
        }
        Err(_) => {}
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn run(
    input: &Path,
    output: &Path,
    mut dec: Decoder,
    work: &mut WorkDir,
    size: (u32, u32),
    up: &mut Upscaler<'_>,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let info = dec.info().clone();
    let device = up.device();
    if !work.complete {
        let skipped = work.frames_done();
        let next = SegmentWriter::encoder(work, output, &info, size, cfg, device)?;
        if let Some(last) = work.last_pts() {
            dec.resume_after(last)?;
            progress.note(&format!(
                "{}: resuming after frame {skipped}: {} segments done in {}",
                input.display(),
                work.segments.len(),
                work.path().display()
            ));
        }
        if !progress.start(input, info.total_frames) || (skipped > 0 && !progress.advance(skipped)) {
            return Err(Error::Cancelled);
        }
        let writer = SegmentWriter {
            work: &mut *work,
            output,
            info: info.clone(),
            size,
            cfg,
            device,
            next: Some(next),
            skipped,
        };
        pipeline::run(input, dec, up, writer, cfg.video.queue_depth, progress)?;
        if !work.complete {
            let done = work.frames_done();
            let of = info.total_frames.map_or(String::new(), |t| format!(" of {}", t.max(done)));
            progress.note(&format!(
                "{}: interrupted: {done}{of} frames done, kept in {}: run again with --resume to go on",
                input.display(),
                work.path().display()
            ));
            return Ok(Outcome::Interrupted { frames: done });
        }
    }
    join::join(input, output, work, size, cfg, device, progress)?;
    Ok(Outcome::Done)
}

/// What names the job in the manifest: the input (path, size, modification time), the FFmpeg
/// libraries, and every setting that changes the output's video. The device may change between
/// runs; the audio settings and the segment length are not compared.
fn job(input: &Path, cfg: &Config, size: (u32, u32)) -> Result<Vec<(String, String)>> {
    let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
    let path = input.canonicalize().unwrap_or_else(|_| input.to_path_buf());
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let v = &cfg.video;
    let opts: Vec<String> = v.encoder_opts.iter().map(|(k, x)| format!("{k}={x}")).collect();
    let ffmpeg_version = unsafe { std::ffi::CStr::from_ptr(ffmpeg::ffi::av_version_info()) };
    let pairs = [
        ("input", path.display().to_string()),
        ("input-size", meta.len().to_string()),
        ("input-mtime", format!("{}.{:09}", mtime.as_secs(), mtime.subsec_nanos())),
        (
            "ffmpeg",
            format!("{} (libavcodec {})", ffmpeg_version.to_string_lossy(), unsafe { ffmpeg::ffi::avcodec_version() }),
        ),
        ("model", cfg.model.clone()),
        ("scale", cfg.scale.to_string()),
        ("outscale", opt(cfg.outscale.map(|f| f.to_string()))),
        ("size", format!("{}x{}", size.0, size.1)),
        ("precision", format!("{:?}", cfg.precision).to_lowercase()),
        ("tile", format!("{} pad {}", cfg.tile, cfg.tile_pad)),
        ("codec", opt(v.codec.clone())),
        ("crf", opt(v.crf.map(|c| c.to_string()))),
        ("preset", opt(v.preset.clone())),
        ("pix-fmt", opt(v.pix_fmt.clone())),
        ("encoder-opts", if opts.is_empty() { "-".into() } else { opts.join(",") }),
        ("deinterlace", format!("{:?}", v.deinterlace).to_lowercase()),
    ];
    Ok(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}
