//! A filter stage for the video pipeline: an FFmpeg filter graph run on the RGB pictures
//! between the decoder and the encoder (the edit step's crop, transpose, flips, colour and
//! scale), one picture in, one picture out. It sits here, beside the decoder's own deinterlacing
//! graph, because it is FFmpeg code; `crate::edit` describes the graph and adds what FFmpeg does
//! not draw (the watermark).

use std::path::{Path, PathBuf};

use ffmpeg::{filter, format::Pixel};
use ffmpeg_next as ffmpeg;
use image::RgbImage;

use super::color::frame_to_rgb;
use crate::error::{Error, Result};

/// An FFmpeg filter graph from RGB pictures of one size to RGB pictures.
pub struct RgbFilter {
    graph: filter::Graph,
    input: (u32, u32),
    /// Timestamps given to the graph (its own count: the frame's own travels beside it).
    next_pts: i64,
    /// Named in errors.
    path: PathBuf,
}

// SAFETY: the graph is owned by this value alone and used by one thread at a time
// (the pipeline moves the stage to its thread); FFmpeg's filter graphs keep no thread affinity.
unsafe impl Send for RgbFilter {}

impl RgbFilter {
    /// The graph `description` (a chain such as `crop=64:32:0:0,transpose=clock`; empty for
    /// none) for pictures of `input` size; errors name `path`.
    pub fn new(description: &str, input: (u32, u32), path: &Path) -> Result<RgbFilter> {
        super::init_ffmpeg(path)?;
        let fail = |e| Error::ffmpeg(path, format!("filters '{description}'"), e);
        let mut graph = filter::Graph::new();
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base=1/25:pixel_aspect=1/1",
            input.0,
            input.1,
            ffmpeg::ffi::AVPixelFormat::from(Pixel::RGB24) as i32
        );
        let buffer = filter::find("buffer").ok_or(ffmpeg::Error::FilterNotFound).map_err(fail)?;
        let sink = filter::find("buffersink").ok_or(ffmpeg::Error::FilterNotFound).map_err(fail)?;
        graph.add(&buffer, "in", &args).map_err(fail)?;
        graph.add(&sink, "out", "").map_err(fail)?;
        let chain =
            if description.is_empty() { "format=rgb24".to_string() } else { format!("{description},format=rgb24") };
        graph.output("in", 0).and_then(|p| p.input("out", 0)).and_then(|p| p.parse(&chain)).map_err(fail)?;
        graph.validate().map_err(fail)?;
        Ok(RgbFilter { graph, input, next_pts: 0, path: path.to_path_buf() })
    }

    /// One picture through the graph.
    pub fn run(&mut self, rgb: &RgbImage) -> Result<RgbImage> {
        if rgb.dimensions() != self.input {
            return Err(Error::video(
                &self.path,
                format!("a {}x{} frame in a {}x{} stream", rgb.width(), rgb.height(), self.input.0, self.input.1),
            ));
        }
        // A new frame each time: the graph takes the frame's buffer over.
        let mut frame = ffmpeg::frame::Video::new(Pixel::RGB24, self.input.0, self.input.1);
        let stride = frame.stride(0);
        let row = rgb.width() as usize * 3;
        let dst = frame.data_mut(0);
        for (y, src) in rgb.as_raw().chunks_exact(row).enumerate() {
            dst[y * stride..y * stride + row].copy_from_slice(src);
        }
        frame.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        let path = self.path.clone();
        let fail = |what: &str, e| Error::ffmpeg(&path, what.to_string(), e);
        match self.graph.get("in") {
            Some(mut src) => src.source().add(&frame).map_err(|e| fail("filters: a frame in", e))?,
            None => return Err(Error::video(&self.path, "filters: no input")),
        }
        let mut out = ffmpeg::frame::Video::empty();
        match self.graph.get("out") {
            Some(mut sink) => sink.sink().frame(&mut out).map_err(|e| fail("filters: a frame out", e))?,
            None => return Err(Error::video(&self.path, "filters: no output")),
        }
        Ok(frame_to_rgb(&out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_and_turn_move_the_pixels_as_expected() {
        let img = RgbImage::from_fn(8, 4, |x, y| image::Rgb([(x * 30) as u8, (y * 60) as u8, 9]));
        let mut f = RgbFilter::new("crop=4:2:2:1,transpose=clock,hflip", (8, 4), Path::new("test")).unwrap();
        for _ in 0..3 {
            let out = f.run(&img).unwrap();
            assert_eq!(out.dimensions(), (2, 4));
            // Crop: (2..6, 1..3). Clockwise: out(x', y') = crop(y', 1 - x'); then mirrored.
            for (x, y, p) in out.enumerate_pixels() {
                let (cx, cy) = (y, x);
                assert_eq!(*p, *img.get_pixel(2 + cx, 1 + cy), "{x},{y}");
            }
        }
    }
}
