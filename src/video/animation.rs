//! An animated picture (GIF, APNG, animated WebP) written as a video (`-o x.mp4`): its frames
//! come from the animated-picture path (`still::each_animation_frame`: the same networks,
//! edit, progress and cancel) and go to the video path's encoder (codec, quality and pixel
//! format as for a video), each frame stamped with its own delay (variable frame rate).

use std::path::Path;

use ffmpeg::format::Pixel;
use ffmpeg::util::color::{Primaries, Range, Space, TransferCharacteristic};
use ffmpeg::Rational;
use ffmpeg_next as ffmpeg;
use image::{RgbImage, RgbaImage};

use super::decode::StreamInfo;
use super::encode::{EncodeTarget, Encoder};
use super::items::{Picture, Pixels};
use crate::config::{Config, Device};
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::formats;
use crate::output::{self, Pending};
use crate::progress::Progress;
use crate::still::{self, Plays};

/// What a frame with no delay is shown for: browsers show such a frame of a GIF for 100 ms,
/// and a video needs every frame to last.
const NO_DELAY_MS: u32 = 100;

/// Whether `output` is named as a video this program writes (`.mp4`, `.mkv`, `.webm`, `.mov`).
pub fn is_video_output(output: &Path) -> bool {
    formats::of_path(output).is_some_and(|f| f.kind == crate::config::Kind::Video && f.written)
}

/// The video extensions written, for messages.
fn written_video_extensions() -> String {
    let exts: Vec<String> = formats::FORMATS
        .iter()
        .filter(|f| f.kind == crate::config::Kind::Video && f.written)
        .map(|f| format!(".{}", f.extensions[0]))
        .collect();
    exts.join(", ")
}

/// Upscales the animated picture `input` (with `up`; without one, `cfg.edit` alone) into the
/// video `output`: every frame through the animated-picture path, encoded as a video frame
/// whose timestamp is the sum of the delays before it and whose duration is its own delay (in
/// milliseconds, or 1/90000 s when a delay is not a whole millisecond). A video holds no
/// transparency and no loop count: transparent pixels are laid on black and a looping source
/// plays once, each said in a note. Written to a temporary name, renamed when complete; a
/// cancel ([`Error::Cancelled`]) leaves nothing.
pub fn upscale_file(
    input: &Path,
    output: &Path,
    up: Option<&mut Upscaler<'_>>,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<()> {
    if !is_video_output(output) {
        return Err(Error::Output {
            path: output.into(),
            msg: format!(
                "an animation is written as .gif, .png (APNG), .webp or a video ({}), not as this extension",
                written_video_extensions()
            ),
        });
    }
    output::check(input, output, cfg.overwrite)?;
    let Some((bytes, anim)) = still::read_animation(input, cfg, up.is_some())? else {
        return Err(Error::Output {
            path: output.into(),
            msg: format!(
                "{} is a still picture: only an animation (GIF, APNG, WebP) is written as a video",
                input.display()
            ),
        });
    };
    super::init_ffmpeg(input)?;
    let mut up = match up {
        Some(u) => {
            let u = u.for_depth(input, 8, progress)?;
            u.check_animation_video(anim.width, anim.height, crate::memory::available_memory())
                .map_err(|e| e.in_file(input))?;
            Some(u)
        }
        None => None,
    };
    let timeline = Timeline::new(&still::animation_delays(input, &bytes, &anim, cfg.max_pixels)?);
    if timeline.stretched > 0 {
        progress.note(&format!(
            "{}: {} of its {} frames have no delay: shown for {NO_DELAY_MS} ms each, as browsers show them",
            input.display(),
            timeline.stretched,
            anim.frames
        ));
    }
    if anim.plays != Plays::Times(1) {
        let plays = match anim.plays {
            Plays::Forever => "without end".to_string(),
            Plays::Times(n) => format!("{n} times"),
        };
        progress.note(&format!(
            "{}: a video holds no loop count: {} plays {plays}, the video once",
            output.display(),
            input.display()
        ));
    }
    // The encoder is set up before any frame is upscaled: a codec, pixel format or container
    // that cannot be had fails first.
    let device = up.as_ref().map_or(Device::Auto, |u| u.device());
    let source = (anim.width, anim.height);
    let scaled = up.as_ref().map_or(source, |u| u.output_size(anim.width, anim.height));
    let size = cfg.edit.output_size(scaled).map_err(|source| Error::Edit { path: input.into(), source })?;
    let provenance = match up.as_ref() {
        Some(u) if cfg.provenance => Some(crate::provenance::describe(u, source, size)?),
        _ => None,
    };
    let target = EncodeTarget { output: output.to_path_buf(), size, settings: cfg.video.clone(), device, provenance };
    let pending = Pending::new(output);
    let mut enc = Encoder::create_alone(&target, pending.path(), &timeline.info(size, anim.frames), progress)?;
    let mut convert = enc.converter();
    let mut index = 0usize;
    let mut flattened = false;
    let mut sink = |rgba: RgbaImage, _delay: (u32, u32)| -> Result<()> {
        if rgba.dimensions() != size {
            let (w, h) = rgba.dimensions();
            return Err(Error::decode(input, format!("a frame came out {w}x{h}, not {}x{}", size.0, size.1)));
        }
        let (rgb, transparent) = on_black(&rgba);
        if transparent && !flattened {
            flattened = true;
            progress.note(&format!(
                "{}: a video holds no transparency: the transparent pixels of {} are laid on black",
                output.display(),
                input.display()
            ));
        }
        let (pts, duration) = timeline.frame(index);
        index += 1;
        enc.encode_timed(&mut convert, &Picture::new(Pixels::Rgb8(rgb), pts), duration)
    };
    still::each_animation_frame(input, &bytes, &anim, up.as_mut(), cfg, progress, &mut sink)?;
    enc.finish()?;
    pending.commit()
}

/// The frames' timestamps: the sum of the delays before each, in the time base.
struct Timeline {
    /// 1/1000 when every delay is a whole millisecond, else 1/90000.
    time_base: Rational,
    /// Each frame's start, and the end of the last, in `time_base` units.
    starts: Vec<i64>,
    /// Frames without a delay, shown for [`NO_DELAY_MS`].
    stretched: usize,
}

impl Timeline {
    fn new(delays: &[(u32, u32)]) -> Timeline {
        let stretched = delays.iter().filter(|(n, _)| *n == 0).count();
        let ms: Vec<(u64, u64)> = delays
            .iter()
            .map(|&(n, d)| if n == 0 { (NO_DELAY_MS.into(), 1) } else { (n.into(), d.max(1).into()) })
            .collect();
        let whole = ms.iter().all(|(n, d)| n % d == 0);
        let ticks_per_s: u64 = if whole { 1000 } else { 90_000 };
        // Exact sums (numerator over a common denominator), each rounded once: no drift.
        let mut starts = vec![0i64];
        let (mut num, mut den) = (0u128, 1u128);
        for (n, d) in ms {
            let (n, d) = (u128::from(n), u128::from(d));
            let g = gcd(den, d);
            let l = den / g * d;
            num = num * (l / den) + n * (l / d);
            den = l;
            let g = gcd(num, den);
            (num, den) = (num / g, den / g);
            let at = ((num * u128::from(ticks_per_s) + den * 500) / (den * 1000)) as i64;
            let last = *starts.last().unwrap_or(&0);
            starts.push(at.max(last + 1));
        }
        Timeline { time_base: Rational(1, ticks_per_s as i32), starts, stretched }
    }

    /// Frame `i`'s timestamp and duration.
    fn frame(&self, i: usize) -> (i64, i64) {
        let start = self.starts.get(i).copied().unwrap_or(0);
        let end = self.starts.get(i + 1).copied().unwrap_or(start + 1);
        (start, end - start)
    }

    /// What the encoder is told about frames of `size`: 8-bit sRGB pictures at the mean rate.
    fn info(&self, (width, height): (u32, u32), frames: u64) -> StreamInfo {
        let total = self.starts.last().copied().unwrap_or(0).max(1);
        let rate = frames as f64 * f64::from(self.time_base.denominator()) / total as f64;
        StreamInfo {
            index: 0,
            // The frames are the picture: square pixels at the encoded size.
            width,
            height,
            format: Pixel::RGB24,
            time_base: self.time_base,
            frame_rate: Rational::from(rate),
            matrix: Space::Unspecified,
            range: Range::MPEG,
            primaries: Primaries::BT709,
            transfer: TransferCharacteristic::IEC61966_2_1,
            sar: Rational(0, 1),
            interlaced: false,
            total_frames: Some(frames),
            frames_estimated: false,
            mastering: None,
            light: None,
            tonemap_from: None,
        }
    }
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// The picture laid on black (each colour times its alpha), and whether any pixel was
/// transparent at all.
fn on_black(rgba: &RgbaImage) -> (RgbImage, bool) {
    let mut transparent = false;
    let rgb = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        if p[3] == 255 {
            return image::Rgb([p[0], p[1], p[2]]);
        }
        transparent = true;
        let a = u32::from(p[3]);
        let over = |c: u8| ((u32::from(c) * a + 127) / 255) as u8;
        image::Rgb([over(p[0]), over(p[1]), over(p[2])])
    });
    (rgb, transparent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_frame_starts_at_the_sum_of_the_delays_before_it() {
        let t = Timeline::new(&[(100, 1), (50, 1), (200, 1)]);
        assert_eq!(t.time_base, Rational(1, 1000));
        assert_eq!((t.frame(0), t.frame(1), t.frame(2)), ((0, 100), (100, 50), (150, 200)));
        // A third of a second three times: 1/90000 s, and no drift from rounding each.
        let t = Timeline::new(&[(1000, 3), (1000, 3), (1000, 3)]);
        assert_eq!(t.time_base, Rational(1, 90_000));
        assert_eq!(t.starts, [0, 30_000, 60_000, 90_000]);
        // No delay: 100 ms, counted.
        let t = Timeline::new(&[(0, 1), (20, 1)]);
        assert_eq!((t.frame(0), t.frame(1), t.stretched), ((0, 100), (100, 20), 1));
        let info = t.info((4, 2), 2);
        assert_eq!(info.frame_rate, Rational(50, 3));
    }

    #[test]
    fn transparency_is_laid_on_black() {
        let img = RgbaImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                image::Rgba([200, 100, 50, 255])
            } else {
                image::Rgba([200, 100, 50, 128])
            }
        });
        let (rgb, transparent) = on_black(&img);
        assert!(transparent);
        assert_eq!(rgb.get_pixel(0, 0).0, [200, 100, 50]);
        assert_eq!(rgb.get_pixel(1, 0).0, [100, 50, 25]);
        assert!(!on_black(&RgbaImage::from_pixel(1, 1, image::Rgba([1, 2, 3, 255]))).1);
    }
}
