//! Video files: source (decoder) thread → bounded channel → frame upscalers → bounded channel →
//! sink (encoder) thread. Audio, subtitles, chapters and metadata are copied untouched; every
//! frame keeps its timestamp. With `resume` the video goes through segments in a work folder
//! instead (`crate::segments`).

mod color;
mod damage;
pub(crate) mod decode;
pub(crate) mod encode;
pub mod items;
pub(crate) mod join;
pub(crate) mod packets;
pub mod pipeline;
pub mod probe;
mod reorder;
pub(crate) mod seek;
pub mod stages;
pub mod workers;

use std::path::Path;

use ffmpeg_next as ffmpeg;

use crate::config::{Config, Device};
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::jobs::Outcome;
use crate::output;
use crate::progress::Progress;

/// FFmpeg's own log level: silent (the library never prints), unless `UPSCALE_FFMPEG_LOG` names
/// one (`error`, `warning`, `info`, `debug`) for diagnosing a file.
pub(crate) fn init_ffmpeg(input: &Path) -> Result<()> {
    use ffmpeg::util::log::{self, Level};
    ffmpeg::init().map_err(|e| Error::ffmpeg(input, "cannot start FFmpeg", e))?;
    let level = match std::env::var("UPSCALE_FFMPEG_LOG").as_deref() {
        Ok("error") => Level::Error,
        Ok("warning") => Level::Warning,
        Ok("info") => Level::Info,
        Ok("debug") => Level::Debug,
        _ => Level::Quiet,
    };
    log::set_level(level);
    Ok(())
}

/// Upscales one video file into `output`.
///
/// The output is written beside it under [`output::temp_path`] and renamed into place when
/// complete. When `progress` asks to stop, the frames done so far are finished into a playable
/// file, renamed into place, and the outcome says how many were written.
pub fn upscale_file(
    input: &Path,
    output: &Path,
    up: &mut Upscaler<'_>,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<Outcome> {
    output::check(input, output, cfg.overwrite)?;
    init_ffmpeg(input)?;
    if cfg.video.resume {
        return crate::segments::resume::upscale_file(input, output, up, cfg, progress);
    }
    let mut dec = decode::Decoder::open(input, &cfg.video)?;
    dec.limit_pixels(cfg.max_pixels)?;
    let info = dec.info().clone();
    let size = up.output_size(info.width, info.height);
    let provenance =
        if cfg.provenance { Some(crate::provenance::describe(up, (info.width, info.height), size)?) } else { None };
    let target = encode::EncodeTarget {
        output: output.to_path_buf(),
        size,
        settings: cfg.video.clone(),
        device: up.device(),
        provenance,
    };
    let tmp = output::temp_path(output);
    let enc = match encode::Encoder::create(&target, &tmp, &mut dec, progress) {
        Ok(e) => e,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if !progress.start(input, info.total_frames) {
        drop(enc);
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Cancelled);
    }
    let outcome = run_pipeline(input, dec, up, enc, cfg, progress);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&tmp, output) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(output, e));
    }
    if outcome.interrupted {
        let of = info.total_frames.map_or(String::new(), |t| format!(" of {}", t.max(outcome.frames)));
        progress.note(&format!(
            "{}: interrupted: wrote {}{of} frames to {}",
            input.display(),
            outcome.frames,
            output.display()
        ));
        return Ok(Outcome::Interrupted { frames: outcome.frames });
    }
    Ok(Outcome::Done)
}

/// Videos with at least this many frames (or of unknown length) choose between the frame
/// workers and one all-core session by timing their first frames; shorter ones take the workers.
const CALIBRATE_FROM_FRAMES: u64 = 48;

/// The pipeline from `dec` to `sink` with `up` in the middle: with its frame workers when it has
/// any (on the CPU), chosen against `up` alone by timing the first frames of a long video.
pub(crate) fn run_pipeline(
    input: &Path,
    dec: decode::Decoder,
    up: &mut Upscaler<'_>,
    sink: impl stages::Sink,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<pipeline::Outcome> {
    let total = dec.info().total_frames;
    let yield_io = up.device() == Device::Cpu && !up.passes().is_empty();
    let mut workers = up.frame_workers()?;
    let pool = workers::Pool {
        calibrate: !workers.is_empty() && total.is_none_or(|t| t >= CALIBRATE_FROM_FRAMES),
        workers: workers.iter_mut().map(|w| w as &mut dyn stages::FrameUpscaler).collect(),
        main: up,
    };
    pipeline::run(input, dec, pool, sink, cfg.video.queue_depth, yield_io, progress)
}
