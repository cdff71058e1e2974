//! Video that holds still: the temporal stabiliser between the frame upscalers and the encoder.
//!
//! A network upscales each frame on its own and invents texture from tiny input differences
//! (codec noise, grain), so detail that should stand still shimmers from frame to frame. This
//! stage sees the frames in order with the small input frames they came from. For each frame it
//! finds, on the small inputs, where each 8×8 block was in each of the [`HISTORY`] frames before
//! (`motion`), and averages the network's pictures of those frames, moved by that motion, into
//! this one, pixel by pixel as far as the input matched there (`blend`): still parts and parts
//! that moved are both averaged over the window, content that is new (occlusions, a change of
//! light) is left as the network made it, and a scene cut starts afresh (the first frame after a
//! cut is exactly the network's picture).
//!
//! The window is bounded on purpose: frame t depends on frames t−[`HISTORY`]…t alone (no
//! recursion), so a segment that decodes and upscales the [`HISTORY`] frames before its first
//! (`crate::segments`: history frames, never encoded) gives frames identical to the run on one
//! machine, wherever the cuts fall. Memory is flat in the video's length: [`HISTORY`] pictures.

mod blend;
mod motion;

use std::collections::VecDeque;

use super::items::{Picture, Pixels};
use super::stages::InOrder;
use crate::error::{Error, Result};

/// Earlier frames averaged into each frame; also the frames a segment decodes before its first.
pub const HISTORY: usize = 3;

/// A frame where more than this share of the input matches nothing in the frame before is a
/// scene cut: what came before is forgotten.
const CUT: f64 = 0.6;

/// An earlier frame as the stabiliser keeps it.
struct Past {
    luma: motion::Luma,
    /// The network's picture of it (not the stabilised one: the window stays bounded).
    upscaled: Pixels,
}

/// The stage: the last [`HISTORY`] frames, newest first.
#[derive(Default)]
pub struct Stabiliser {
    past: VecDeque<Past>,
}

impl Stabiliser {
    /// A stabiliser with nothing seen yet.
    pub fn new() -> Stabiliser {
        Stabiliser::default()
    }

    /// This frame (`upscaled` from `source`) stabilised against the frames before; with `keep`
    /// false (a history frame) only remembered, and nothing is blended.
    pub fn frame(&mut self, source: &Pixels, upscaled: Pixels, keep: bool) -> Option<Pixels> {
        let luma = motion::Luma::of(source);
        // Pictures of another size or depth (a stream that changed) start afresh.
        let fits = |p: &Past| {
            p.luma.size() == luma.size()
                && p.upscaled.dimensions() == upscaled.dimensions()
                && std::mem::discriminant(&p.upscaled) == std::mem::discriminant(&upscaled)
        };
        if !self.past.iter().all(fits) {
            self.past.clear();
        }
        let newest = self.past.front().map(|p| motion::search(&luma, &p.luma));
        if newest.as_ref().is_some_and(|f| f.unmatched() > CUT) {
            self.past.clear();
        }
        // History frames are only remembered; after a cut nothing before is left to blend.
        let out = match newest {
            Some(first) if keep && !self.past.is_empty() => {
                let mut fields = vec![first];
                fields.extend(self.past.iter().skip(1).map(|p| motion::search(&luma, &p.luma)));
                let (earlier, fields): (Vec<&Pixels>, Vec<motion::Field>) =
                    self.past.iter().zip(fields).filter(|(_, f)| f.any()).map(|(p, f)| (&p.upscaled, f)).unzip();
                (!fields.is_empty()).then(|| blend::blend(&upscaled, &earlier, &fields, luma.size()))
            }
            _ => None,
        };
        let result = keep.then(|| out.unwrap_or_else(|| upscaled.clone()));
        self.past.push_front(Past { luma, upscaled });
        self.past.truncate(HISTORY);
        result
    }
}

impl InOrder for Stabiliser {
    fn next(&mut self, pic: Picture) -> Result<Option<Picture>> {
        let Picture { rgb, pts, history, source } = pic;
        let source = source.ok_or_else(|| {
            Error::runtime("internal error: a frame reached the stabiliser without its input picture".to_string(), None)
        })?;
        Ok(self.frame(&source, rgb, !history).map(|rgb| Picture { rgb, pts, history: false, source: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    /// A textured small picture (the input) and a flat upscaled one of `level` at ×2.
    fn pair(seed: u32, level: u8) -> (Pixels, Pixels) {
        let src = RgbImage::from_fn(32, 24, |x, y| {
            let v = ((x * 37 + y * 11 + seed * 101) ^ (x * y)) % 251;
            Rgb([v as u8, (v / 2) as u8, 255 - v as u8])
        });
        (Pixels::Rgb8(src), Pixels::Rgb8(RgbImage::from_pixel(64, 48, Rgb([level; 3]))))
    }

    #[test]
    fn history_is_remembered_not_passed_on_and_a_cut_starts_afresh() {
        let mut s = Stabiliser::new();
        let (a, first) = pair(0, 100);
        assert_eq!(s.frame(&a, first.clone(), true), Some(first), "nothing before the first frame");
        let (_, history) = pair(0, 110);
        assert_eq!(s.frame(&a, history, false), None, "a history frame is not passed on");
        let (_, third) = pair(0, 130);
        let Some(Pixels::Rgb8(out)) = s.frame(&a, third, true) else { panic!("no frame") };
        // The same input three times: the mean of 100, 110 and 130.
        assert_eq!(out.get_pixel(10, 10).0, [113; 3]);
        let (b, after_cut) = pair(7, 200);
        assert_eq!(s.frame(&b, after_cut.clone(), true), Some(after_cut), "the frame after a cut is its own");
        // A 16-bit picture after 8-bit ones: a stream that changed starts afresh too.
        let deep = Pixels::Rgb16(crate::video::items::Rgb16Image::from_pixel(64, 48, Rgb([5000; 3])));
        assert_eq!(s.frame(&b, deep.clone(), true), Some(deep));
    }
}
