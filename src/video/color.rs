//! The colour edges of the video path: YUV frames become RGB pictures for the core, and RGB
//! pictures become YUV frames for the encoder, through swscale with the stream's own matrix and
//! range (untagged SD is BT.601, untagged HD is BT.709). Rows are always copied by stride.
//! Sources of more than 8 bits go through 16-bit RGB (RGB48) both ways; 8-bit ones through RGB24.

use ffmpeg_next as ffmpeg;

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::{self, Flags};
use ffmpeg::util::color::{Range, Space};
use ffmpeg::util::frame::Video as VideoFrame;
use image::RgbImage;

use super::items::{Pixels, Rgb16Image};

/// The swscale flags of both edges: accurate rounding and full chroma interpolation, so a picture
/// that goes YUV → RGB → YUV comes back as close as the subsampling allows.
fn flags() -> Flags {
    Flags::BICUBIC | Flags::ACCURATE_RND | Flags::FULL_CHR_H_INT | Flags::FULL_CHR_H_INP
}

/// The YUV matrix a stream uses: its tag, or the convention for untagged video by picture height
/// (BT.601 below 720 lines, BT.709 from 720 up).
pub fn effective_matrix(tag: Space, height: u32) -> Space {
    match tag {
        Space::Unspecified | Space::Reserved | Space::RGB => {
            if height < 720 {
                Space::BT470BG
            } else {
                Space::BT709
            }
        }
        s => s,
    }
}

/// swscale's coefficient table index (`SWS_CS_*`) for a matrix.
fn sws_matrix(space: Space) -> i32 {
    match space {
        Space::BT709 => ffi::SWS_CS_ITU709,
        Space::FCC => ffi::SWS_CS_FCC,
        Space::SMPTE240M => ffi::SWS_CS_SMPTE240M,
        Space::BT2020NCL | Space::BT2020CL => ffi::SWS_CS_BT2020,
        _ => ffi::SWS_CS_ITU601,
    }
}

/// A pixel format with the deprecated full-range `yuvj*` names replaced by the plain ones (the
/// range travels as a tag instead).
pub fn normalize(fmt: Pixel) -> (Pixel, Option<Range>) {
    match fmt {
        Pixel::YUVJ420P => (Pixel::YUV420P, Some(Range::JPEG)),
        Pixel::YUVJ422P => (Pixel::YUV422P, Some(Range::JPEG)),
        Pixel::YUVJ444P => (Pixel::YUV444P, Some(Range::JPEG)),
        Pixel::YUVJ440P => (Pixel::YUV440P, Some(Range::JPEG)),
        f => (f, None),
    }
}

/// True when `fmt` stores RGB (or a palette) rather than YUV or gray.
fn is_rgb(fmt: Pixel) -> bool {
    // SAFETY: `d` is FFmpeg's static descriptor of a valid pixel format, read only.
    fmt.descriptor().is_some_and(|d| unsafe {
        let flags = (*d.as_ptr()).flags;
        flags & (ffi::AV_PIX_FMT_FLAG_RGB as u64 | ffi::AV_PIX_FMT_FLAG_PAL as u64) != 0
    })
}

/// Bits per component of a pixel format (8 when unknown).
pub fn depth(fmt: Pixel) -> u32 {
    // SAFETY: `d` is FFmpeg's static descriptor of a valid pixel format; every format has a first component.
    fmt.descriptor().map(|d| unsafe { (*d.as_ptr()).comp[0].depth as u32 }).filter(|&d| d > 0).unwrap_or(8)
}

/// Sets the YUV side of a scaler: `matrix` and `full` range on the side that is YUV.
fn set_details(ctx: &mut scaling::Context, yuv_is_source: bool, matrix: Space, full: bool) {
    // SAFETY: `ctx` is a live scaler this function borrows mutably; the table is FFmpeg's static one for a valid
    // matrix number.
    unsafe {
        let table = ffi::sws_getCoefficients(sws_matrix(matrix));
        let (src_range, dst_range) = if yuv_is_source { (full as i32, 1) } else { (1, full as i32) };
        ffi::sws_setColorspaceDetails(ctx.as_mut_ptr(), table, src_range, table, dst_range, 0, 1 << 16, 1 << 16);
    }
}

/// Decoded frames (any format, any size) to RGB pictures of one fixed size.
pub struct ToRgb {
    width: u32,
    height: u32,
    matrix: Space,
    full: bool,
    /// 16-bit RGB out (for sources of more than 8 bits).
    deep: bool,
    ctx: Option<scaling::Context>,
    rgb: VideoFrame,
}

/// The RGB format pictures travel in.
fn rgb_format(deep: bool) -> Pixel {
    if deep {
        Pixel::RGB48LE
    } else {
        Pixel::RGB24
    }
}

impl ToRgb {
    /// A converter to `width`×`height` RGB using the input's `matrix` and range; 16-bit when `deep`.
    pub fn new(width: u32, height: u32, matrix: Space, full: bool, deep: bool) -> Self {
        ToRgb { width, height, matrix, full, deep, ctx: None, rgb: VideoFrame::empty() }
    }

    /// Converts one frame; a frame of another size or format gets a scaler of its own.
    pub fn convert(&mut self, frame: &VideoFrame) -> Result<Pixels, ffmpeg::Error> {
        let (fmt, range) = normalize(frame.format());
        let stale = self.ctx.as_ref().is_none_or(|c| {
            let i = c.input();
            i.format != frame.format() || i.width != frame.width() || i.height != frame.height()
        });
        if stale {
            let out = rgb_format(self.deep);
            let mut ctx = scaling::Context::get(
                frame.format(),
                frame.width(),
                frame.height(),
                out,
                self.width,
                self.height,
                flags(),
            )?;
            if !is_rgb(fmt) {
                let full = self.full || range == Some(Range::JPEG);
                set_details(&mut ctx, true, self.matrix, full);
            }
            self.ctx = Some(ctx);
            self.rgb = VideoFrame::new(out, self.width, self.height);
        }
        let ctx = self.ctx.as_mut().ok_or(ffmpeg::Error::Bug)?;
        ctx.run(frame, &mut self.rgb)?;
        Ok(if self.deep { Pixels::Rgb16(frame_to_rgb16(&self.rgb)) } else { Pixels::Rgb8(frame_to_rgb(&self.rgb)) })
    }
}

/// Copies an RGB48LE frame's rows (padded to its stride) into a tight 16-bit picture.
pub fn frame_to_rgb16(frame: &VideoFrame) -> Rgb16Image {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.stride(0);
    let data = frame.data(0);
    let mut buf = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let row = &data[y * stride..y * stride + w * 6];
        buf.extend(row.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])));
    }
    Rgb16Image::from_raw(w as u32, h as u32, buf).unwrap_or_default()
}

/// Copies an RGB24 frame's rows (padded to its stride) into a tight picture.
pub fn frame_to_rgb(frame: &VideoFrame) -> RgbImage {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.stride(0);
    let data = frame.data(0);
    let mut buf = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        buf.extend_from_slice(&data[y * stride..y * stride + w * 3]);
    }
    RgbImage::from_raw(w as u32, h as u32, buf).unwrap_or_default()
}

/// RGB pictures to encoder frames of one format and size.
pub struct FromRgb {
    format: Pixel,
    width: u32,
    height: u32,
    matrix: Space,
    full: bool,
    ctx: Option<scaling::Context>,
    rgb: VideoFrame,
}

impl FromRgb {
    /// A converter to `format` at `width`×`height` using the output's `matrix` and range.
    pub fn new(format: Pixel, width: u32, height: u32, matrix: Space, full: bool) -> Self {
        FromRgb { format, width, height, matrix, full, ctx: None, rgb: VideoFrame::empty() }
    }

    /// Converts one picture into a new frame (the encoder may keep it as a reference).
    pub fn convert(&mut self, img: &Pixels) -> Result<VideoFrame, ffmpeg::Error> {
        let (w, h) = img.dimensions();
        let src = rgb_format(matches!(img, Pixels::Rgb16(_)));
        let stale = self.ctx.as_ref().is_none_or(|c| {
            let i = c.input();
            i.width != w || i.height != h || i.format != src
        });
        if stale {
            let mut ctx = scaling::Context::get(src, w, h, self.format, self.width, self.height, flags())?;
            if !is_rgb(self.format) {
                set_details(&mut ctx, false, self.matrix, self.full);
            }
            self.ctx = Some(ctx);
            self.rgb = VideoFrame::new(src, w, h);
        }
        let stride = self.rgb.stride(0);
        let dst = self.rgb.data_mut(0);
        match img {
            Pixels::Rgb8(img) => {
                let row = w as usize * 3;
                for (y, src) in img.as_raw().chunks_exact(row).enumerate() {
                    dst[y * stride..y * stride + row].copy_from_slice(src);
                }
            }
            Pixels::Rgb16(img) => {
                let row = w as usize * 3;
                for (y, src) in img.as_raw().chunks_exact(row).enumerate() {
                    let line = &mut dst[y * stride..y * stride + row * 2];
                    for (d, v) in line.chunks_exact_mut(2).zip(src) {
                        d.copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        let mut out = VideoFrame::new(self.format, self.width, self.height);
        let ctx = self.ctx.as_mut().ok_or(ffmpeg::Error::Bug)?;
        ctx.run(&self.rgb, &mut out)?;
        Ok(out)
    }
}

/// HDR mastering display facts, read from FFmpeg's `AVMasteringDisplayMetadata` bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mastering {
    /// Red, green, blue, white point: CIE 1931 x, y.
    pub primaries: [(f64, f64); 3],
    pub white: (f64, f64),
    /// Luminance in cd/m².
    pub min: f64,
    pub max: f64,
}

impl Mastering {
    /// Parses the struct as FFmpeg lays it out (rationals of two i32); `None` when it is short
    /// or does not have both primaries and luminance.
    pub fn parse(b: &[u8]) -> Option<Mastering> {
        let int = |i: usize| b.get(i..i + 4).map(|s| i32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
        let q = |i: usize| -> Option<f64> {
            let (n, d) = (int(i)?, int(i + 4)?);
            (d != 0).then(|| n as f64 / d as f64)
        };
        if int(80)? == 0 || int(84)? == 0 {
            return None;
        }
        Some(Mastering {
            primaries: [(q(0)?, q(8)?), (q(16)?, q(24)?), (q(32)?, q(40)?)],
            white: (q(48)?, q(56)?),
            min: q(64)?,
            max: q(72)?,
        })
    }

    /// x265's `master-display` value: G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min), chromaticities in
    /// 0.00002 and luminance in 0.0001 cd/m² units.
    pub fn x265(&self) -> String {
        let c = |v: f64| (v * 50000.0).round() as i64;
        let [r, g, b] = self.primaries;
        format!(
            "G({},{})B({},{})R({},{})WP({},{})L({},{})",
            c(g.0),
            c(g.1),
            c(b.0),
            c(b.1),
            c(r.0),
            c(r.1),
            c(self.white.0),
            c(self.white.1),
            (self.max * 10000.0).round() as i64,
            (self.min * 10000.0).round() as i64
        )
    }
}

/// MaxCLL and MaxFALL from FFmpeg's `AVContentLightMetadata` bytes.
pub fn content_light(b: &[u8]) -> Option<(u32, u32)> {
    let u = |i: usize| b.get(i..i + 4).map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
    Some((u(0)?, u(4)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_bit_yuv_round_trips_through_rgb48_within_a_level() {
        ffmpeg::init().unwrap();
        // A ramp of 10-bit steps that 8-bit RGB would merge four at a time.
        let img = Rgb16Image::from_fn(64, 8, |x, _| {
            let v = (16000 + x * 128) as u16;
            image::Rgb([v, v, v])
        });
        let mut enc = FromRgb::new(Pixel::YUV444P10LE, 64, 8, Space::BT709, false);
        let yuv = enc.convert(&Pixels::Rgb16(img.clone())).unwrap();
        let mut dec = ToRgb::new(64, 8, Space::BT709, false, true);
        let Pixels::Rgb16(back) = dec.convert(&yuv).unwrap() else { panic!("8-bit out of a deep converter") };
        // Steps of 1.7 limited-range 10-bit levels: each stays distinct (8 bits would merge them in pairs).
        for (a, b) in img.pixels().zip(back.pixels()) {
            assert!((a.0[0] as i32 - b.0[0] as i32).abs() <= 80, "{a:?} -> {b:?}");
        }
        let levels: std::collections::BTreeSet<u16> = back.pixels().map(|p| p.0[1]).collect();
        assert!(levels.len() >= 60, "{} distinct levels of 64", levels.len());
    }

    #[test]
    fn mastering_display_reads_as_x265_writes_it() {
        // BT.2020 primaries, D65, 1000/0.0001 cd/m²: x265's own example values.
        let mut b = Vec::new();
        for (n, d) in [(35400, 50000), (14600, 50000), (8500, 50000), (39850, 50000), (6550, 50000), (2300, 50000)] {
            b.extend_from_slice(&i32::to_ne_bytes(n));
            b.extend_from_slice(&i32::to_ne_bytes(d));
        }
        for (n, d) in [(15635, 50000), (16450, 50000), (1, 10000), (10000000, 10000), (1, 1), (1, 1)] {
            b.extend_from_slice(&i32::to_ne_bytes(n));
            if b.len() < 80 {
                b.extend_from_slice(&i32::to_ne_bytes(d));
            }
        }
        let m = Mastering::parse(&b).unwrap();
        assert_eq!(m.x265(), "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,1)");
    }

    #[test]
    fn untagged_matrix_follows_height() {
        assert_eq!(effective_matrix(Space::Unspecified, 576), Space::BT470BG);
        assert_eq!(effective_matrix(Space::Unspecified, 720), Space::BT709);
        assert_eq!(effective_matrix(Space::BT2020NCL, 480), Space::BT2020NCL);
    }

    #[test]
    fn round_trip_through_yuv444_keeps_colours() {
        ffmpeg::init().unwrap();
        let img = RgbImage::from_fn(33, 17, |x, y| image::Rgb([(x * 7) as u8, (y * 13) as u8, ((x + y) * 5) as u8]));
        for space in [Space::BT709, Space::BT470BG] {
            let mut enc = FromRgb::new(Pixel::YUV444P, 33, 17, space, false);
            let yuv = enc.convert(&Pixels::Rgb8(img.clone())).unwrap();
            let mut dec = ToRgb::new(33, 17, space, false, false);
            let back = dec.convert(&yuv).unwrap();
            let psnr = crate::planes::psnr(img.as_raw(), back.as_rgb8().unwrap().as_raw());
            assert!(psnr > 40.0, "{space:?}: {psnr} dB");
        }
    }
}
