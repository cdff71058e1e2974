//! The colour edges of the video path: YUV frames become RGB pictures for the core, and RGB
//! pictures become YUV frames for the encoder, through swscale with the stream's own matrix and
//! range (untagged SD is BT.601, untagged HD is BT.709). Rows are always copied by stride.

use ffmpeg_next as ffmpeg;

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::{self, Flags};
use ffmpeg::util::color::{Range, Space};
use ffmpeg::util::frame::Video as VideoFrame;
use image::RgbImage;

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
    ctx: Option<scaling::Context>,
    rgb: VideoFrame,
}

impl ToRgb {
    /// A converter to `width`×`height` RGB using the input's `matrix` and range.
    pub fn new(width: u32, height: u32, matrix: Space, full: bool) -> Self {
        ToRgb { width, height, matrix, full, ctx: None, rgb: VideoFrame::empty() }
    }

    /// Converts one frame; a frame of another size or format gets a scaler of its own.
    pub fn convert(&mut self, frame: &VideoFrame) -> Result<RgbImage, ffmpeg::Error> {
        let (fmt, range) = normalize(frame.format());
        let stale = self.ctx.as_ref().is_none_or(|c| {
            let i = c.input();
            i.format != frame.format() || i.width != frame.width() || i.height != frame.height()
        });
        if stale {
            let mut ctx = scaling::Context::get(
                frame.format(),
                frame.width(),
                frame.height(),
                Pixel::RGB24,
                self.width,
                self.height,
                flags(),
            )?;
            if !is_rgb(fmt) {
                let full = self.full || range == Some(Range::JPEG);
                set_details(&mut ctx, true, self.matrix, full);
            }
            self.ctx = Some(ctx);
            self.rgb = VideoFrame::new(Pixel::RGB24, self.width, self.height);
        }
        let ctx = self.ctx.as_mut().ok_or(ffmpeg::Error::Bug)?;
        ctx.run(frame, &mut self.rgb)?;
        Ok(frame_to_rgb(&self.rgb))
    }
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
    pub fn convert(&mut self, img: &RgbImage) -> Result<VideoFrame, ffmpeg::Error> {
        let (w, h) = img.dimensions();
        let stale = self.ctx.as_ref().is_none_or(|c| c.input().width != w || c.input().height != h);
        if stale {
            let mut ctx = scaling::Context::get(Pixel::RGB24, w, h, self.format, self.width, self.height, flags())?;
            if !is_rgb(self.format) {
                set_details(&mut ctx, false, self.matrix, self.full);
            }
            self.ctx = Some(ctx);
            self.rgb = VideoFrame::new(Pixel::RGB24, w, h);
        }
        let stride = self.rgb.stride(0);
        let row = w as usize * 3;
        let dst = self.rgb.data_mut(0);
        for (y, src) in img.as_raw().chunks_exact(row).enumerate() {
            dst[y * stride..y * stride + row].copy_from_slice(src);
        }
        let mut out = VideoFrame::new(self.format, self.width, self.height);
        let ctx = self.ctx.as_mut().ok_or(ffmpeg::Error::Bug)?;
        ctx.run(&self.rgb, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let yuv = enc.convert(&img).unwrap();
            let mut dec = ToRgb::new(33, 17, space, false);
            let back = dec.convert(&yuv).unwrap();
            let psnr = crate::planes::psnr(img.as_raw(), back.as_raw());
            assert!(psnr > 40.0, "{space:?}: {psnr} dB");
        }
    }
}
