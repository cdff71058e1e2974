//! `Planes`: a picture as float planes (channel-major, values in [0, 1]), the one pixel format
//! the model, the tiler and the resizer share. Conversions to and from `image` buffers live here.

use image::{ImageBuffer, Luma, Pixel, Rgb, Rgba};

/// The largest picture width or height written: 65535, the most a 16-bit size field holds (JPEG's;
/// WebP's is smaller and its encoder says so). Stated here once: the settings
/// (`Config::validate`), the edit's resize and the page read it.
pub const MAX_SIDE: u32 = 65535;

/// A picture of `channels` planes of `width`×`height` floats, stored plane after plane (CHW).
#[derive(Debug, Clone, PartialEq)]
pub struct Planes {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Number of planes: usually 3 (RGB) or 4 (RGB and alpha), 1 for grey.
    pub channels: usize,
    /// `channels × height × width` samples, plane after plane, rows top to bottom; nominally 0…1.
    pub data: Vec<f32>,
}

impl Planes {
    /// A black picture.
    pub fn new(width: u32, height: u32, channels: usize) -> Self {
        Planes { width, height, channels, data: vec![0.0; width as usize * height as usize * channels] }
    }

    /// A black picture, or [`crate::error::Error::Memory`] when its memory cannot be had (never an
    /// aborted allocation).
    pub fn try_new(width: u32, height: u32, channels: usize) -> crate::error::Result<Self> {
        let n = width as usize * height as usize * channels;
        let mut data = Vec::new();
        if data.try_reserve_exact(n).is_err() {
            return Err(crate::error::Error::Memory {
                file: None,
                what: "a picture".into(),
                width: width.into(),
                height: height.into(),
                needed: n as u64 * 4,
                available: crate::memory::available_memory(),
            });
        }
        data.resize(n, 0.0);
        Ok(Planes { width, height, channels, data })
    }

    /// Pixels in one plane.
    pub fn area(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// One plane.
    pub fn plane(&self, c: usize) -> &[f32] {
        let a = self.area();
        &self.data[c * a..(c + 1) * a]
    }

    /// One plane, writable.
    pub fn plane_mut(&mut self, c: usize) -> &mut [f32] {
        let a = self.area();
        &mut self.data[c * a..(c + 1) * a]
    }

    /// Splits interleaved pixels of any `image` buffer into planes, scaled to [0, 1].
    pub fn from_buffer<P>(img: &ImageBuffer<P, Vec<P::Subpixel>>) -> Self
    where
        P: Pixel,
        P::Subpixel: Into<f32> + Copy + image::Primitive,
    {
        let c = P::CHANNEL_COUNT as usize;
        let max: f32 = <P::Subpixel as image::Primitive>::DEFAULT_MAX_VALUE.into();
        let mut out = Planes::new(img.width(), img.height(), c);
        let a = out.area();
        for (i, px) in img.as_raw().chunks_exact(c).enumerate() {
            for (k, v) in px.iter().enumerate() {
                out.data[k * a + i] = (*v).into() / max;
            }
        }
        out
    }

    /// Takes the first `n` planes.
    pub fn take(&self, n: usize) -> Planes {
        Planes { width: self.width, height: self.height, channels: n, data: self.data[..n * self.area()].to_vec() }
    }

    /// The planes of `self` followed by those of `other` (same size).
    pub fn join(mut self, other: &Planes) -> Planes {
        debug_assert_eq!((self.width, self.height), (other.width, other.height));
        self.data.extend_from_slice(&other.data);
        self.channels += other.channels;
        self
    }

    /// Interleaves into 8-bit RGB (3 planes) with rounding and clamping.
    pub fn to_rgb8(&self) -> ImageBuffer<Rgb<u8>, Vec<u8>> {
        self.buffer(self.interleave(3, 255.0))
    }

    /// Interleaves into 8-bit RGBA (4 planes).
    pub fn to_rgba8(&self) -> ImageBuffer<Rgba<u8>, Vec<u8>> {
        self.buffer(self.interleave(4, 255.0))
    }

    /// Interleaves into 16-bit RGB (3 planes).
    pub fn to_rgb16(&self) -> ImageBuffer<Rgb<u16>, Vec<u16>> {
        self.buffer(self.interleave(3, 65535.0))
    }

    /// Interleaves into 16-bit RGBA (4 planes).
    pub fn to_rgba16(&self) -> ImageBuffer<Rgba<u16>, Vec<u16>> {
        self.buffer(self.interleave(4, 65535.0))
    }

    /// The luma of the first three planes (BT.601 weights), 8-bit.
    pub fn to_luma8(&self) -> ImageBuffer<Luma<u8>, Vec<u8>> {
        self.buffer(self.luma().interleave(1, 255.0))
    }

    /// The luma of the first three planes, 16-bit.
    pub fn to_luma16(&self) -> ImageBuffer<Luma<u16>, Vec<u16>> {
        self.buffer(self.luma().interleave(1, 65535.0))
    }

    /// One plane of BT.601 luma from the first three planes.
    pub fn luma(&self) -> Planes {
        let (r, g, b) = (self.plane(0), self.plane(1), self.plane(2));
        let data = (0..self.area()).map(|i| 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i]).collect();
        Planes { width: self.width, height: self.height, channels: 1, data }
    }

    /// Grey planes repeated into RGB.
    pub fn gray_to_rgb(&self) -> Planes {
        let p = self.plane(0);
        let mut data = Vec::with_capacity(p.len() * 3);
        for _ in 0..3 {
            data.extend_from_slice(p);
        }
        Planes { width: self.width, height: self.height, channels: 3, data }
    }

    /// Wraps interleaved samples of this picture's size into an `image` buffer.
    fn buffer<P: Pixel>(&self, samples: Vec<P::Subpixel>) -> ImageBuffer<P, Vec<P::Subpixel>> {
        let len = samples.len();
        ImageBuffer::from_raw(self.width, self.height, samples)
            .unwrap_or_else(|| unreachable!("{len} samples always fill {}x{}", self.width, self.height))
    }

    fn interleave<T: FromUnit>(&self, n: usize, max: f32) -> Vec<T> {
        let a = self.area();
        let mut out = Vec::with_capacity(a * n);
        for i in 0..a {
            for c in 0..n {
                out.push(T::from_unit(self.data[c * a + i], max));
            }
        }
        out
    }
}

trait FromUnit {
    fn from_unit(v: f32, max: f32) -> Self;
}
impl FromUnit for u8 {
    fn from_unit(v: f32, max: f32) -> Self {
        (v * max).round().clamp(0.0, 255.0) as u8
    }
}
impl FromUnit for u16 {
    fn from_unit(v: f32, max: f32) -> Self {
        (v * max).round().clamp(0.0, 65535.0) as u16
    }
}

/// Peak signal-to-noise ratio of two 8-bit buffers of the same length, in dB (∞ when equal).
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "psnr of different sizes");
    let se: f64 = a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum();
    if se == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64.powi(2) / (se / a.len() as f64)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb8_round_trips() {
        let img = ImageBuffer::from_fn(5, 3, |x, y| Rgb([x as u8 * 40, y as u8 * 80, 7]));
        let p = Planes::from_buffer(&img);
        assert_eq!(p.channels, 3);
        assert_eq!(p.to_rgb8(), img);
    }

    #[test]
    fn rgb16_keeps_every_level() {
        let img = ImageBuffer::from_fn(4, 4, |x, y| Rgb([x as u16 * 16001 + 1, y as u16 * 3, 65535]));
        assert_eq!(Planes::from_buffer(&img).to_rgb16(), img);
    }

    #[test]
    fn psnr_of_equal_is_infinite() {
        assert_eq!(psnr(&[1, 2, 3], &[1, 2, 3]), f64::INFINITY);
        assert!((psnr(&[0; 4], &[1; 4]) - 48.13).abs() < 0.01);
    }
}
