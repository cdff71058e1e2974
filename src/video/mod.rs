//! Video files: source (decoder) thread → bounded channel → frame upscalers → bounded channel →
//! sink (encoder) thread. Audio, subtitles, chapters and metadata are copied untouched; every
//! frame keeps its timestamp. `transcode` is that run, for a whole file ([`upscale_file`]) and
//! for one segment of a job spread over machines (`crate::segments`, which calls it and never
//! the other way round).

pub(crate) mod animation;
mod color;
mod damage;
pub(crate) mod decode;
pub(crate) mod edit;
pub(crate) mod encode;
pub(crate) mod filter;
pub(crate) mod items;
pub(crate) mod pipeline;
pub(crate) mod poster;
pub(crate) mod probe;
mod reorder;
pub(crate) mod stages;
pub(crate) mod temporal;
pub(crate) mod workers;

use std::path::Path;

use ffmpeg_next as ffmpeg;

use crate::config::{Config, Device, Temporal};
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::outcome::Outcome;
use crate::output;
use crate::progress::Progress;

pub use poster::poster;
pub use probe::{scan, ScanReport};

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
/// The output is written beside it as an `output::Pending` file and renamed into place when
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
    let dec = open(input, cfg)?;
    let total = dec.info().total_frames;
    let mut up = up.for_depth(input, color::depth(dec.info().format), progress)?;
    let pending = output::Pending::new(output);
    let dest = Destination { output, tmp: pending.path(), packets: None, announce: true, frames_before: 0 };
    let outcome = transcode(input, dec, &mut up, &dest, progress)?;
    pending.commit()?;
    if outcome.interrupted {
        let of = total.map_or(String::new(), |t| format!(" of {}", t.max(outcome.frames)));
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

/// Bits per sample of the video `info` describes (for [`Upscaler::for_depth`]).
pub(crate) fn depth(info: &decode::StreamInfo) -> u32 {
    color::depth(info.format)
}

/// Opens `input`'s video for [`transcode`], refusing pictures over the configured pixel limit.
pub(crate) fn open(input: &Path, cfg: &Config) -> Result<decode::Decoder> {
    init_ffmpeg(input)?;
    let mut dec = decode::Decoder::open(input, &cfg.video)?;
    dec.limit_pixels(cfg.max_pixels)?;
    Ok(dec)
}

/// Makes the store of a segment's packets at `path`, given the encoder's global header.
pub(crate) type PacketStoreMaker = dyn Fn(&Path, &[u8]) -> Result<Box<dyn encode::PacketStore>>;

/// Where [`transcode`] writes.
pub(crate) struct Destination<'a> {
    /// The output the video is for: its extension picks the container and the default codec,
    /// and errors name it.
    pub output: &'a Path,
    /// The file written: the caller's [`output::Pending`], which removes it unless put in place.
    pub tmp: &'a Path,
    /// `None`: `tmp` is a playable file with the input's other streams. `Some`: only the
    /// encoded video packets go to `tmp`, through the store this makes (a segment).
    pub packets: Option<&'a PacketStoreMaker>,
    /// Send the start event (with the input's frame count) once the output is set up.
    pub announce: bool,
    /// Frames counted as done before this run's first, in the progress events.
    pub frames_before: u64,
}

/// The one video run, for a whole file and for a segment alike: an encoder for `dest` set up
/// from `dec` (already positioned and bounded by the caller), then decoder → frame upscalers →
/// encoder. `dest.tmp` belongs to the caller's [`output::Pending`]: removed unless put in place.
/// The settings are the upscaler's own (one config travels, never a second one beside it).
pub(crate) fn transcode(
    input: &Path,
    mut dec: decode::Decoder,
    up: &mut Upscaler<'_>,
    dest: &Destination<'_>,
    progress: &dyn Progress,
) -> Result<pipeline::Transcoded> {
    let cfg = &up.config().clone();
    let info = dec.info().clone();
    up.check_video(input, info.width, info.height, cfg.video.queue_depth)?;
    let size = edit::edited_size(&cfg.edit, up.output_size(info.width, info.height), input)?;
    // A whole file names how it was made; a segment's packets carry no container tags.
    let provenance = match dest.packets {
        None if cfg.provenance => Some(crate::provenance::describe(up, (info.width, info.height), size)?),
        _ => None,
    };
    let target = encode::EncodeTarget {
        output: dest.output.to_path_buf(),
        size,
        settings: cfg.video.clone(),
        device: up.device(),
        provenance,
    };
    let enc = match dest.packets {
        None => encode::Encoder::create(&target, dest.tmp, &mut dec, progress)?,
        Some(make) => encode::Encoder::create_for_packets(&target, &info, |header| make(dest.tmp, header))?,
    };
    let enc = enc.counting_from(dest.frames_before);
    if dest.announce && !progress.start_frames(input, info.total_frames, info.frames_estimated) {
        return Err(Error::Cancelled);
    }
    run_pipeline(input, dec, up, enc, cfg, progress)
}

/// Whether `cfg`'s frames through `up` are stabilised over time: a network's are, unless
/// `--temporal off` (classic resizers invent nothing that could flicker). Segment plans ask this
/// too, to give their segments history frames.
pub(crate) fn stabilises(cfg: &Config, up: &Upscaler<'_>) -> bool {
    cfg.video.temporal == Temporal::On && !up.passes().is_empty()
}

/// Videos with at least this many frames (or of unknown length) choose between the frame
/// workers and one all-core session by timing their first frames; shorter ones take the workers.
const CALIBRATE_FROM_FRAMES: u64 = 48;

/// The pipeline from `dec` to `sink` with `up` in the middle: with its frame workers when it has
/// any (on the CPU), chosen against `up` alone by timing the first frames of a long video.
fn run_pipeline(
    input: &Path,
    dec: decode::Decoder,
    up: &mut Upscaler<'_>,
    sink: impl stages::Sink,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<pipeline::Transcoded> {
    let total = dec.info().total_frames;
    let stabiliser = stabilises(cfg, up).then(temporal::Stabiliser::new);
    if !cfg.edit.is_empty() {
        let calibrate = total.is_none_or(|t| t >= CALIBRATE_FROM_FRAMES);
        return edit::pipeline_with_edit(input, dec, up, sink, cfg, calibrate, stabiliser, progress);
    }
    let mut stabiliser = stabiliser;
    let yield_io = up.device() == Device::Cpu && !up.passes().is_empty();
    let mut workers = up.frame_workers()?;
    let pool = workers::Pool {
        calibrate: !workers.is_empty() && total.is_none_or(|t| t >= CALIBRATE_FROM_FRAMES),
        workers: workers.iter_mut().map(|w| w as &mut dyn stages::FrameUpscaler).collect(),
        main: up,
    };
    let in_order = stabiliser.as_mut().map(|s| s as &mut dyn stages::InOrder);
    pipeline::run(input, dec, pool, in_order, sink, cfg.video.queue_depth, yield_io, progress)
}
