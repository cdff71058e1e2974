//! Animated pictures (GIF, APNG, animated WebP): every frame through the same upscaler and the
//! same edit, written as an animation again with its frame delays and loop count. Frames pass
//! one at a time (decoded, upscaled, encoded straight into the output file), so the memory held
//! is one frame's whatever the frame count; the count itself comes from the headers first
//! (`probe`), for the progress total and the APNG header.

use std::io::{BufWriter, Cursor, Seek, SeekFrom, Write};
use std::path::Path;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, DynamicImage, ImageFormat, RgbaImage};

use super::Picture;
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::output::Pending;
use crate::progress::{Event, Progress, Unit};

/// The animated formats read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnimFormat {
    /// GIF (a palette per frame).
    Gif,
    /// Animated PNG.
    Apng,
    /// Animated WebP (written lossless).
    WebP,
}

impl AnimFormat {
    /// The format's name for a person.
    pub fn name(self) -> &'static str {
        match self {
            AnimFormat::Gif => "GIF",
            AnimFormat::Apng => "APNG",
            AnimFormat::WebP => "animated WebP",
        }
    }

    /// The animated format an output named `path` is written as: `.gif`, `.png` (APNG) and
    /// `.webp`; none for formats that hold one picture (JPEG, TIFF, BMP).
    pub fn for_output(path: &Path) -> Option<AnimFormat> {
        match super::output_format(path).ok()? {
            ImageFormat::Gif => Some(AnimFormat::Gif),
            ImageFormat::Png => Some(AnimFormat::Apng),
            ImageFormat::WebP => Some(AnimFormat::WebP),
            _ => None,
        }
    }
}

/// How many times an animation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plays {
    /// Without end.
    Forever,
    /// This many times in all (at least 1).
    Times(u32),
}

/// What the headers say about an animated picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Animation {
    /// The format read.
    pub format: AnimFormat,
    /// The canvas: every frame is composited to this size.
    pub width: u32,
    /// The canvas's height.
    pub height: u32,
    /// Frames, as the headers count them.
    pub frames: u64,
    /// The loop count.
    pub plays: Plays,
}

/// The animation in `bytes` when it is a GIF, APNG or WebP of more than one frame (read from
/// the headers; GIF frames are walked without decoding their pixels); none for a still picture
/// or data these readers cannot make sense of (the picture decoder then says what is wrong).
pub fn probe_bytes(bytes: &[u8]) -> Option<Animation> {
    let found = match image::guess_format(bytes).ok()? {
        ImageFormat::Gif => {
            let mut opts = gif::DecodeOptions::new();
            opts.skip_frame_decoding(true);
            opts.set_color_output(gif::ColorOutput::Indexed);
            let mut d = opts.read_info(Cursor::new(bytes)).ok()?;
            let mut frames = 0u64;
            while d.next_frame_info().ok()?.is_some() {
                frames += 1;
            }
            let plays = match d.repeat() {
                gif::Repeat::Infinite => Plays::Forever,
                // NETSCAPE2.0's count is of repeats after the first play; none written: once.
                gif::Repeat::Finite(n) => Plays::Times(u32::from(n) + 1),
            };
            Animation { format: AnimFormat::Gif, width: d.width().into(), height: d.height().into(), frames, plays }
        }
        ImageFormat::Png => {
            let r = png::Decoder::new(Cursor::new(bytes)).read_info().ok()?;
            let info = r.info();
            let actl = info.animation_control()?;
            let plays = match actl.num_plays {
                0 => Plays::Forever,
                n => Plays::Times(n),
            };
            let (width, height) = (info.width, info.height);
            Animation { format: AnimFormat::Apng, width, height, frames: actl.num_frames.into(), plays }
        }
        ImageFormat::WebP => {
            let d = image_webp::WebPDecoder::new(Cursor::new(bytes)).ok()?;
            if !d.is_animated() {
                return None;
            }
            let plays = match d.loop_count() {
                image_webp::LoopCount::Forever => Plays::Forever,
                image_webp::LoopCount::Times(n) => Plays::Times(n.get().into()),
            };
            let (width, height) = d.dimensions();
            Animation { format: AnimFormat::WebP, width, height, frames: d.num_frames().into(), plays }
        }
        _ => return None,
    };
    (found.frames > 1).then_some(found)
}

/// [`probe_bytes`] on a file (none when it cannot be read).
pub fn probe(path: &Path) -> Option<Animation> {
    std::fs::read(path).ok().and_then(|b| probe_bytes(&b))
}

/// The note for an animation written to a format that holds one picture.
pub(super) fn first_frame_only(input: &Path, output: &Path, format: ImageFormat, anim: &Animation) -> String {
    format!(
        "{}: {format:?} holds one picture: only the first of the {} frames of {} ({}) is written",
        output.display(),
        anim.frames,
        input.display(),
        anim.format.name()
    )
}

/// A front end's progress with the tiles of each frame left out: an animation counts frames.
struct FramesOnly<'a>(&'a dyn Progress);

impl Progress for FramesOnly<'_> {
    fn event(&self, event: &Event) -> bool {
        match event {
            Event::Start { .. } | Event::Progress { .. } => true,
            e => self.0.event(e),
        }
    }
}

/// Upscales the animation in `bytes` (read from `input`, described by `anim`) frame by frame
/// into `output` as the animated format its extension names: every frame's delay and the loop
/// count kept, alpha kept, `cfg.edit` applied to each frame after scaling (without an
/// upscaler, the edit alone: the page's Apply on an animated result). Events as
/// [`each_frame`]'s (a cancel writes nothing). The caller has checked the output's name, the
/// canvas against the pixel limit and the edit.
pub(super) fn upscale(
    input: &Path,
    bytes: &[u8],
    anim: &Animation,
    output: &Path,
    up: Option<&mut Upscaler<'_>>,
    cfg: &crate::config::Config,
    progress: &dyn Progress,
) -> Result<()> {
    let Some(target) = AnimFormat::for_output(output) else {
        return Err(Error::Output { path: output.into(), msg: "not an animated format (.gif, .png, .webp)".into() });
    };
    if let Some(up) = up.as_deref() {
        up.check_animation(anim.width, anim.height, crate::memory::available_memory()).map_err(|e| e.in_file(input))?;
    }
    let pending = Pending::new(output);
    let file = std::fs::File::create(pending.path()).map_err(|e| Error::encode(output, e))?;
    let mut writer: Option<Writer> = None;
    each_frame(input, bytes, anim, up, cfg, progress, &mut |rgba, delay_ms| {
        if writer.is_none() {
            let out = file.try_clone().map_err(|e| Error::encode(output, e))?;
            let w = Writer::new(target, BufWriter::new(out), rgba.dimensions(), anim.frames, anim.plays);
            writer = Some(w.map_err(|e| Error::encode(output, e))?);
        }
        match writer.as_mut() {
            Some(w) => w.frame(rgba, delay_ms).map_err(|e| Error::encode(output, e)),
            None => Ok(()),
        }
    })?;
    let Some(w) = writer else { return Err(Error::decode(input, "no frames")) };
    w.finish().map_err(|e| Error::encode(output, e))?;
    file.sync_all().map_err(|e| Error::encode(output, e))?;
    pending.commit()
}

/// Image decoder limits for an animation under `max_pixels`.
fn limits(max_pixels: u64) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(16));
    limits
}

/// Every frame of the animation in `bytes` (read from `input`, described by `anim`),
/// composited to the canvas, through `up` (without one, as it is) and `cfg.edit`, handed to
/// `sink` in order as 8-bit RGBA with its delay (milliseconds as numerator and denominator):
/// what every animated output is written from. Events: a start counting frames, one progress
/// event per frame handed over (whose `false` cancels: [`Error::Cancelled`]). A frame count
/// other than the header's is an error naming `input`.
pub(crate) fn each_frame(
    input: &Path,
    bytes: &[u8],
    anim: &Animation,
    mut up: Option<&mut Upscaler<'_>>,
    cfg: &crate::config::Config,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(RgbaImage, (u32, u32)) -> Result<()>,
) -> Result<()> {
    let total = anim.frames;
    let file = Some(input.to_path_buf());
    if !progress.event(&Event::Start { file, total: Some(total), unit: Unit::Frames, estimated: false }) {
        return Err(Error::Cancelled);
    }
    let frames = decode_frames(bytes, anim.format, limits(cfg.max_pixels)).map_err(|e| Error::decode(input, e))?;
    let quiet = FramesOnly(progress);
    let mut done = 0u64;
    for frame in frames {
        let frame = frame.map_err(|e| Error::decode(input, e))?;
        if done == total {
            return Err(Error::decode(input, format!("more frames than the {total} its header counts")));
        }
        let delay_ms = frame.delay().numer_denom_ms();
        let big = match up.as_deref_mut() {
            Some(up) => upscale_frame(frame.into_buffer(), up, &quiet).map_err(|e| e.in_file(input))?,
            None => Picture::from_image(&DynamicImage::ImageRgba8(frame.into_buffer())),
        };
        let big = super::edit::after_scaling(big, &cfg.edit, input, &quiet)?;
        sink(big.to_image().into_rgba8(), delay_ms)?;
        done += 1;
        if !progress.event(&Event::Progress { done, total: Some(total), unit: Unit::Frames }) {
            return Err(Error::Cancelled);
        }
    }
    if done != total {
        return Err(Error::decode(input, format!("{done} frames where its header counts {total}")));
    }
    Ok(())
}

/// The delay of every frame of the animation in `bytes` (milliseconds as numerator and
/// denominator), read before any frame is upscaled: GIF delays from the frame headers, the
/// others' by decoding the frames (the decoding costs little beside the network's).
#[cfg(feature = "video")]
pub(crate) fn delays(input: &Path, bytes: &[u8], anim: &Animation, max_pixels: u64) -> Result<Vec<(u32, u32)>> {
    if anim.format == AnimFormat::Gif {
        let mut opts = gif::DecodeOptions::new();
        opts.skip_frame_decoding(true);
        opts.set_color_output(gif::ColorOutput::Indexed);
        let mut d = opts.read_info(Cursor::new(bytes)).map_err(|e| Error::decode(input, e))?;
        let mut out = Vec::new();
        while let Some(f) = d.next_frame_info().map_err(|e| Error::decode(input, e))? {
            out.push((u32::from(f.delay) * 10, 1));
        }
        return Ok(out);
    }
    let frames = decode_frames(bytes, anim.format, limits(max_pixels)).map_err(|e| Error::decode(input, e))?;
    frames.map(|f| f.map(|f| f.delay().numer_denom_ms()).map_err(|e| Error::decode(input, e))).collect()
}

/// The frames of an animation, each composited to the whole canvas, with its delay.
fn decode_frames<'a>(
    bytes: &'a [u8],
    format: AnimFormat,
    limits: image::Limits,
) -> image::ImageResult<image::Frames<'a>> {
    let r = Cursor::new(bytes);
    Ok(match format {
        AnimFormat::Gif => {
            let mut d = GifDecoder::new(r)?;
            image::ImageDecoder::set_limits(&mut d, limits)?;
            d.into_frames()
        }
        AnimFormat::Apng => {
            let d = PngDecoder::with_limits(r, limits)?;
            d.apng()?.into_frames()
        }
        AnimFormat::WebP => {
            let mut d = WebPDecoder::new(r)?;
            image::ImageDecoder::set_limits(&mut d, limits)?;
            d.into_frames()
        }
    })
}

/// One frame through the upscaler: colour by the network, alpha (when the frame has any
/// transparency) by Lanczos, as a still picture is.
fn upscale_frame(rgba: RgbaImage, up: &mut Upscaler<'_>, progress: &dyn Progress) -> Result<Picture> {
    let opaque = rgba.pixels().all(|p| p[3] == 255);
    let mut pic = Picture::from_image(&DynamicImage::ImageRgba8(rgba));
    if opaque {
        pic.alpha = None;
    }
    pic.upscale(up, progress)
}

/// The writers of the three formats, fed one full frame at a time.
enum Writer {
    Gif(gif::Encoder<BufWriter<std::fs::File>>),
    Apng(png::Writer<BufWriter<std::fs::File>>),
    WebP(WebPWriter),
}

/// Errors of the three writers, as words.
type WriteResult<T> = std::result::Result<T, String>;

impl Writer {
    fn new(
        format: AnimFormat,
        out: BufWriter<std::fs::File>,
        (w, h): (u32, u32),
        frames: u64,
        plays: Plays,
    ) -> WriteResult<Writer> {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        Ok(match format {
            AnimFormat::Gif => {
                let (gw, gh) = (u16::try_from(w), u16::try_from(h));
                let (Ok(gw), Ok(gh)) = (gw, gh) else {
                    return Err(format!("{w}x{h} is over GIF's 65535x65535"));
                };
                let mut enc = gif::Encoder::new(out, gw, gh, &[]).map_err(|x| e(&x))?;
                let repeat = match plays {
                    Plays::Forever => gif::Repeat::Infinite,
                    Plays::Times(n) => gif::Repeat::Finite(n.saturating_sub(1).min(u16::MAX.into()) as u16),
                };
                enc.set_repeat(repeat).map_err(|x| e(&x))?;
                Writer::Gif(enc)
            }
            AnimFormat::Apng => {
                let mut enc = png::Encoder::new(out, w, h);
                enc.set_color(png::ColorType::Rgba);
                enc.set_depth(png::BitDepth::Eight);
                let frames = u32::try_from(frames).map_err(|_| format!("{frames} frames: over APNG's count"))?;
                let plays = match plays {
                    Plays::Forever => 0,
                    Plays::Times(n) => n,
                };
                enc.set_animated(frames, plays).map_err(|x| e(&x))?;
                Writer::Apng(enc.write_header().map_err(|x| e(&x))?)
            }
            AnimFormat::WebP => Writer::WebP(WebPWriter::new(out, (w, h), plays).map_err(|x| e(&x))?),
        })
    }

    /// Appends one frame shown for `numer / denom` milliseconds.
    fn frame(&mut self, rgba: RgbaImage, (numer, denom): (u32, u32)) -> WriteResult<()> {
        let ms = |scale: u64| (u64::from(numer) * scale + u64::from(denom.max(1)) / 2) / u64::from(denom.max(1));
        match self {
            Writer::Gif(enc) => {
                let (w, h) = rgba.dimensions();
                let mut raw = rgba.into_raw();
                // A palette of its own per frame (NeuQuant at speed 10: the gif crate's default).
                let mut f = gif::Frame::from_rgba_speed(w as u16, h as u16, &mut raw, 10);
                f.delay = ms(1).div_ceil(10).min(u16::MAX.into()) as u16;
                // Each frame is a whole picture: the previous one is cleared, so that a pixel
                // transparent now does not show the last frame's.
                f.dispose = gif::DisposalMethod::Background;
                enc.write_frame(&f).map_err(|e| e.to_string())
            }
            Writer::Apng(w) => {
                // Delays as a fraction of a second: ms/1000, reduced until both fit 16 bits.
                let (mut n, mut d) = (u64::from(numer), u64::from(denom.max(1)) * 1000);
                let g = gcd(n, d);
                (n, d) = (n / g, d / g);
                while n > u16::MAX.into() || d > u16::MAX.into() {
                    (n, d) = (n.div_ceil(2), d.div_ceil(2));
                }
                w.set_frame_delay(n as u16, d as u16).map_err(|e| e.to_string())?;
                w.set_dispose_op(png::DisposeOp::None).map_err(|e| e.to_string())?;
                w.set_blend_op(png::BlendOp::Source).map_err(|e| e.to_string())?;
                w.write_image_data(rgba.as_raw()).map_err(|e| e.to_string())
            }
            Writer::WebP(w) => w.frame(&rgba, ms(1).min(0xFF_FFFF) as u32),
        }
    }

    /// Writes what ends the file.
    fn finish(self) -> WriteResult<()> {
        match self {
            Writer::Gif(enc) => enc.into_inner().map_err(|e| e.to_string())?.flush().map_err(|e| e.to_string()),
            Writer::Apng(w) => w.finish().map_err(|e| e.to_string()),
            Writer::WebP(w) => w.finish(),
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// An animated WebP written chunk by chunk: the `VP8X` and `ANIM` headers, then one `ANMF`
/// chunk per frame holding that frame's lossless `VP8L` bitstream (the `image` crate's encoder),
/// then the RIFF size filled in. `image-webp` encodes single pictures only.
struct WebPWriter {
    out: BufWriter<std::fs::File>,
    size: (u32, u32),
}

impl WebPWriter {
    fn new(mut out: BufWriter<std::fs::File>, (w, h): (u32, u32), plays: Plays) -> std::io::Result<WebPWriter> {
        if !(1..=16384).contains(&w) || !(1..=16384).contains(&h) {
            return Err(std::io::Error::other(format!("{w}x{h} is over lossless WebP's 16384x16384")));
        }
        out.write_all(b"RIFF\0\0\0\0WEBP")?;
        let mut vp8x = vec![0x02 | 0x10, 0, 0, 0]; // animation, alpha
        vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
        vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
        chunk(&mut out, b"VP8X", &vp8x)?;
        let loops = match plays {
            Plays::Forever => 0u16,
            Plays::Times(n) => n.min(u16::MAX.into()) as u16,
        };
        let mut anim = vec![0u8; 4]; // background: transparent
        anim.extend_from_slice(&loops.to_le_bytes());
        chunk(&mut out, b"ANIM", &anim)?;
        Ok(WebPWriter { out, size: (w, h) })
    }

    fn frame(&mut self, rgba: &RgbaImage, ms: u32) -> WriteResult<()> {
        if rgba.dimensions() != self.size {
            return Err("frames of different sizes".into());
        }
        let mut one = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut one)
            .encode(rgba.as_raw(), rgba.width(), rgba.height(), image::ExtendedColorType::Rgba8)
            .map_err(|e| e.to_string())?;
        let vp8l = find_chunk(&one, b"VP8L").ok_or("the WebP encoder wrote no VP8L chunk")?;
        let (w, h) = self.size;
        let mut anmf = vec![0u8; 6]; // frame at 0, 0
        anmf.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
        anmf.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
        anmf.extend_from_slice(&ms.to_le_bytes()[..3]);
        anmf.push(0x02); // no blending (a whole frame), no disposal
        anmf.extend_from_slice(b"VP8L");
        anmf.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
        anmf.extend_from_slice(vp8l);
        if vp8l.len() % 2 == 1 {
            anmf.push(0);
        }
        chunk(&mut self.out, b"ANMF", &anmf).map_err(|e| e.to_string())
    }

    fn finish(mut self) -> WriteResult<()> {
        let e = |e: std::io::Error| e.to_string();
        let end = self.out.stream_position().map_err(e)?;
        let riff = u32::try_from(end - 8).map_err(|_| "over WebP's 4 GB".to_string())?;
        self.out.seek(SeekFrom::Start(4)).map_err(e)?;
        self.out.write_all(&riff.to_le_bytes()).map_err(e)?;
        self.out.flush().map_err(e)
    }
}

/// Writes a RIFF chunk (padded to an even size).
fn chunk(out: &mut impl Write, fourcc: &[u8; 4], data: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(data.len()).map_err(|_| std::io::Error::other("a chunk over 4 GB"))?;
    out.write_all(fourcc)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(data)?;
    if data.len() % 2 == 1 {
        out.write_all(&[0])?;
    }
    Ok(())
}

/// The payload of the first `fourcc` chunk of a RIFF WebP file.
fn find_chunk<'a>(file: &'a [u8], fourcc: &[u8; 4]) -> Option<&'a [u8]> {
    let mut at = 12;
    while at + 8 <= file.len() {
        let len = u32::from_le_bytes(file[at + 4..at + 8].try_into().ok()?) as usize;
        let body = file.get(at + 8..at + 8 + len)?;
        if &file[at..at + 4] == fourcc {
            return Some(body);
        }
        at += 8 + len + len % 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riff_chunks_are_found_past_odd_sizes() {
        let mut f = b"RIFF\0\0\0\0WEBP".to_vec();
        chunk(&mut f, b"ABCD", &[1, 2, 3]).unwrap();
        chunk(&mut f, b"VP8L", &[9, 8]).unwrap();
        assert_eq!(f.len(), 12 + 8 + 4 + 8 + 2);
        assert_eq!(find_chunk(&f, b"VP8L"), Some(&[9u8, 8][..]));
        assert_eq!(find_chunk(&f, b"XXXX"), None);
    }

    #[test]
    fn a_still_picture_is_no_animation() {
        let mut png = Vec::new();
        image::RgbImage::new(4, 4).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        assert_eq!(probe_bytes(&png), None);
        assert_eq!(probe_bytes(b"not a picture"), None);
    }
}
