//! The memory budget: before a picture, its passes, a compare grid or a video's frames are
//! allocated, the bytes they will hold at their peak are computed and compared with what this
//! process may use ([`available_memory`]); too much is [`Error::Memory`] (the size asked, the
//! bytes needed, the bytes available), never an aborted allocation.

use std::path::Path;

use crate::config::{Config, Kind};
use crate::engine::{plan_passes, Upscaler};
use crate::error::{Error, Result};
use crate::memory::available_memory;

/// Bytes of one sample of [`crate::Planes`].
const F32: u64 = 4;

fn area((w, h): (u32, u32)) -> u64 {
    w as u64 * h as u64
}

/// Peak bytes of one picture of `input` pixels through `passes` (native scales, none for a
/// classic filter) to `output`, then made ready to save with `channels` (3, or 4 with alpha) of
/// `sample_bytes` (1 or 2) each: the input planes stay while each pass holds its source and its
/// output; the finishing resize holds its source, its output and a copy of one plane of each;
/// saving holds the planes, the interleaved picture and the copy made for the format.
pub fn picture(input: (u32, u32), passes: &[u32], output: (u32, u32), channels: u64, sample_bytes: u64) -> u64 {
    let held = area(input).saturating_mul(channels * F32);
    let mut peak = held;
    let mut cur = input;
    for &s in passes {
        let next = (cur.0.saturating_mul(s), cur.1.saturating_mul(s));
        peak = peak.max(held.saturating_add((area(cur).saturating_add(area(next))).saturating_mul(3 * F32)));
        cur = next;
    }
    let out = area(output);
    if cur != output {
        let resize = (area(cur).saturating_add(out)).saturating_mul(4 * F32);
        peak = peak.max(held.saturating_add(resize));
    }
    peak.max(out.saturating_mul(channels * F32 + 2 * channels * sample_bytes))
}

/// Peak bytes of a video of `input`-sized frames: `in_flight` frames queued between the stages
/// (8-bit RGB before and after), and `workers` pictures in the engine at once.
pub fn video(input: (u32, u32), passes: &[u32], output: (u32, u32), in_flight: u64, workers: u64) -> u64 {
    let frames = (area(input).saturating_add(area(output))).saturating_mul(3 * in_flight);
    frames.saturating_add(picture(input, passes, output, 3, 1).saturating_mul(workers))
}

/// Peak bytes of an animation of `input`-sized frames: they pass one at a time, so whatever
/// their count it is one frame through the engine with alpha ([`picture`], 4 channels), the
/// decoder's two canvases (the previous frame and the one being composed) and the frame it hands
/// over (8-bit RGBA each), and the result as 8-bit RGBA with the encoder's copy and its palette
/// indices.
pub fn animation(input: (u32, u32), passes: &[u32], output: (u32, u32)) -> u64 {
    let decoder = area(input).saturating_mul(3 * 4);
    let encoder = area(output).saturating_mul(4 + 4 + 1);
    picture(input, passes, output, 4, 1).saturating_add(decoder).saturating_add(encoder)
}

/// Bytes a video encoder holds for each pixel of its frames: its look-ahead, reference and
/// B-frames with their padded, half-pel and half-size copies. Measured (peak resident memory,
/// over the same frames written as WebP, one encoder thread) at 960x540 and 1920x1080: libx264
/// at its defaults 219 and 210 bytes a pixel, libvpx-vp9 199 and 143; with a margin.
const ENCODER_BYTES_PER_PIXEL: u64 = 240;

/// Peak bytes of an animation written as a video: [`animation`]'s frame through the engine and
/// the decoder's canvases, then the result as 8-bit RGBA and RGB (laid on black) and the
/// encoder's frames ([`ENCODER_BYTES_PER_PIXEL`]).
pub fn animation_video(input: (u32, u32), passes: &[u32], output: (u32, u32)) -> u64 {
    let decoder = area(input).saturating_mul(3 * 4);
    let encoder = area(output).saturating_mul(4 + 3 + ENCODER_BYTES_PER_PIXEL);
    picture(input, passes, output, 4, 1).saturating_add(decoder).saturating_add(encoder)
}

/// Peak bytes of the compare grid: the model's picture, `panels` panels of `output` (planes,
/// then 8-bit RGB in the grid) and the grid's copy made when it is saved.
pub fn grid(input: (u32, u32), passes: &[u32], output: (u32, u32), panels: u64) -> u64 {
    let out = area(output).saturating_mul(panels);
    picture(input, passes, output, 3, 1).saturating_add(out.saturating_mul(3 * F32 + 2 * 3))
}

/// [`Error::Memory`] when `needed` bytes are more than `available`: `what` of `size` pixels.
pub fn check_within(what: &str, size: (u64, u64), needed: u64, available: u64) -> Result<()> {
    if needed <= available {
        return Ok(());
    }
    Err(Error::Memory { file: None, what: what.to_string(), width: size.0, height: size.1, needed, available })
}

/// [`check_within`] what this process may use now.
pub fn check(what: &str, size: (u64, u64), needed: u64) -> Result<()> {
    check_within(what, size, needed, available_memory())
}

impl Upscaler<'_> {
    /// Peak bytes of a `w`×`h` picture through this upscaler, saved with `channels` of
    /// `sample_bytes` each (`picture`).
    pub fn memory_needed(&self, w: u32, h: u32, channels: u64, sample_bytes: u64) -> u64 {
        picture((w, h), &self.passes(), self.output_size(w, h), channels, sample_bytes)
    }

    /// [`Error::Memory`] when a `w`×`h` picture (`channels`, `sample_bytes` as saved) would need
    /// more than `available` bytes.
    pub fn check_memory(&self, w: u32, h: u32, channels: u64, sample_bytes: u64, available: u64) -> Result<()> {
        let (tw, th) = self.output_size(w, h);
        let need = self.memory_needed(w, h, channels, sample_bytes);
        check_within("the result", (tw as u64, th as u64), need, available)
    }

    /// [`Error::Memory`] when an animation of `w`×`h` frames ([`animation`]) would need more
    /// than `available` bytes.
    pub fn check_animation(&self, w: u32, h: u32, available: u64) -> Result<()> {
        let out = self.output_size(w, h);
        let need = animation((w, h), &self.passes(), out);
        check_within("each animation frame", (out.0 as u64, out.1 as u64), need, available)
    }

    /// [`Error::Memory`] when an animation of `w`×`h` frames written as a video
    /// ([`animation_video`]) would need more than `available` bytes.
    pub fn check_animation_video(&self, w: u32, h: u32, available: u64) -> Result<()> {
        let out = self.output_size(w, h);
        let need = animation_video((w, h), &self.passes(), out);
        check_within("each animation frame", (out.0 as u64, out.1 as u64), need, available)
    }

    /// [`Error::Memory`], naming `file`, when a video of `w`×`h` frames with `depth` frames
    /// queued between its stages would need more than this process may use.
    pub fn check_video(&self, file: &Path, w: u32, h: u32, depth: usize) -> Result<()> {
        within(Kind::Video, (w, h), &self.passes(), self.output_size(w, h), depth).map_err(|e| e.in_file(file))
    }
}

/// [`Error::Memory`] when one `kind` of input of `size` pixels, through `passes` to `out`, would
/// need more than this process may use: the picture saved as 8-bit RGB, or each video frame with
/// the decoder's and the encoder's queues (`depth` each), the reorder buffer and two frame
/// workers. The one formula of the memory check before a job starts.
fn within(kind: Kind, size: (u32, u32), passes: &[u32], out: (u32, u32), depth: usize) -> Result<()> {
    let shown = (out.0 as u64, out.1 as u64);
    match kind {
        Kind::Image => check("the result", shown, picture(size, passes, out, 3, 1)),
        Kind::Video => check("each video frame", shown, video(size, passes, out, 3 * depth as u64 + 4, 2)),
    }
}

/// [`Error::Memory`] when a `kind` of input of `size` pixels with `cfg` would need more memory
/// than this process may use, judged before any engine is loaded (the passes planned from the
/// family's native scales, as the engine will): the page's check of an upload.
pub fn check_size(kind: Kind, size: (u32, u32), cfg: &Config) -> Result<()> {
    let natives = crate::model::family(cfg.model_name()).map(|f| f.scales()).unwrap_or_default();
    let passes = if natives.is_empty() { Vec::new() } else { plan_passes(&natives, cfg.scale) };
    within(kind, size, &passes, cfg.output_size(size.0, size.1), cfg.video.queue_depth)
}

/// [`Error::Memory`], naming the file, when `input` (a `kind`) would need more memory than this
/// process may use through `up` into `output` (an animation costs more written as a video),
/// judged from the file's header before anything is decoded (the front ends refuse such a job
/// as a configuration error). A file that cannot be read, or that is over the pixel limit,
/// passes: running the job says what is wrong with it.
pub fn check_file(input: &Path, output: &Path, kind: Kind, cfg: &Config, up: &Upscaler) -> Result<()> {
    match kind {
        Kind::Image => {
            if let Some(a) = crate::still::probe_animation(input) {
                if a.width as u64 * a.height as u64 > cfg.max_pixels {
                    return Ok(());
                }
                let available = available_memory();
                #[cfg(feature = "video")]
                if crate::video::animation::is_video_output(output) {
                    return up.check_animation_video(a.width, a.height, available).map_err(|e| e.in_file(input));
                }
                #[cfg(not(feature = "video"))]
                let _ = output;
                return up.check_animation(a.width, a.height, available).map_err(|e| e.in_file(input));
            }
            let size = image::ImageReader::open(input)
                .and_then(|r| r.with_guessed_format())
                .ok()
                .and_then(|r| r.into_dimensions().ok());
            match size {
                // Over the pixel limit: the loader's refusal (the bomb guard) says it better.
                Some((w, h)) if w as u64 * h as u64 > cfg.max_pixels => Ok(()),
                Some((w, h)) => up.check_memory(w, h, 3, 1, available_memory()).map_err(|e| e.in_file(input)),
                None => Ok(()),
            }
        }
        #[cfg(feature = "video")]
        Kind::Video => match crate::video::probe::scan(input, 0, cfg.max_pixels) {
            Ok(r) => up.check_video(input, r.width, r.height, cfg.video.queue_depth),
            Err(_) => Ok(()),
        },
        #[cfg(not(feature = "video"))]
        Kind::Video => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_asked_size_is_what_costs() {
        // 65535x65535 by nearest from a small picture: 4.3 G pixels of RGB planes, the
        // resizer's copies and the saved picture: far over any machine's memory.
        let need = picture((300, 200), &[], (65535, 65535), 3, 1);
        assert!(need >= 65535u64 * 65535 * 12, "{need}");
        let e = check_within("the result", (65535, 65535), need, 8 << 30).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("65535x65535") && text.contains(&need.to_string()), "{text}");
        assert!(text.contains(&(8u64 << 30).to_string()), "{text}");
        // Composed passes count their intermediate pictures: x2 then x4 of 1000x1000.
        let two = picture((1000, 1000), &[2, 4], (8000, 8000), 3, 1);
        assert!(two >= (2000u64 * 2000 + 8000 * 8000) * 12, "{two}");
        // A photo at 4x fits in a few hundred MB.
        assert!(picture((1000, 750), &[4], (4000, 3000), 3, 1) < 400 << 20);
        assert!(check_within("x", (1, 1), 10, 10).is_ok());
    }

    #[test]
    fn video_and_grid_count_every_copy() {
        let one = picture((640, 360), &[2], (1280, 720), 3, 1);
        assert!(video((640, 360), &[2], (1280, 720), 16, 2) > 2 * one);
        assert!(grid((640, 360), &[2], (1280, 720), 4) > one + 4 * 1280 * 720 * 12);
        // An animation's frame carries alpha and the decoder's and encoder's buffers.
        let frame = animation((640, 360), &[2], (1280, 720));
        assert!(frame > picture((640, 360), &[2], (1280, 720), 4, 1) + 1280 * 720 * 8, "{frame}");
        // Written as a video, the encoder's frames too (x264 measured at 210 bytes a pixel).
        let video_frame = animation_video((640, 360), &[2], (1280, 720));
        assert!(video_frame > frame + 1280 * 720 * 210, "{video_frame}");
    }
}
