//! Classic resampling (nearest, bilinear, bicubic, Lanczos) through `fast_image_resize`: the
//! traditional "models", the finishing resize for `--outscale`/`--width`/`--height`, and the
//! compare grid all use it.

use fast_image_resize::{images::TypedImage, pixels::F32, FilterType, ResizeAlg, ResizeOptions, Resizer};

use crate::planes::Planes;

/// A classic interpolation filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Nearest neighbour: each output pixel copies one input pixel.
    Nearest,
    /// Linear interpolation between the two nearest pixels on each axis.
    Bilinear,
    /// Catmull-Rom.
    Bicubic,
    /// Lanczos, three lobes.
    Lanczos,
}

impl Filter {
    /// The filter's name as a model name.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Nearest => "nearest",
            Filter::Bilinear => "bilinear",
            Filter::Bicubic => "bicubic",
            Filter::Lanczos => "lanczos",
        }
    }

    /// Every filter, in order of quality.
    pub const ALL: [Filter; 4] = [Filter::Nearest, Filter::Bilinear, Filter::Bicubic, Filter::Lanczos];

    /// The filter called `name`, if any.
    pub fn from_name(name: &str) -> Option<Filter> {
        Filter::ALL.into_iter().find(|f| f.name() == name)
    }

    fn alg(self) -> ResizeAlg {
        match self {
            Filter::Nearest => ResizeAlg::Nearest,
            Filter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
            Filter::Bicubic => ResizeAlg::Convolution(FilterType::CatmullRom),
            Filter::Lanczos => ResizeAlg::Convolution(FilterType::Lanczos3),
        }
    }
}

/// Resizes every plane to `width`×`height`. Values are not clamped (Lanczos may overshoot a
/// little; the conversion to integers clamps).
pub fn resize(src: &Planes, width: u32, height: u32, filter: Filter) -> Planes {
    if (src.width, src.height) == (width, height) {
        return src.clone();
    }
    let mut out = Planes::new(width, height, src.channels);
    let mut resizer = Resizer::new();
    let options = ResizeOptions::new().resize_alg(filter.alg());
    for c in 0..src.channels {
        let pixels = src.plane(c).iter().map(|&v| F32::new(v)).collect();
        let img = TypedImage::<F32>::from_pixels(src.width, src.height, pixels).expect("plane size matches");
        let mut dst = TypedImage::<F32>::new(width, height);
        resizer.resize_typed(&img, &mut dst, &options).expect("same pixel type, non-empty sizes");
        for (o, p) in out.plane_mut(c).iter_mut().zip(dst.pixels()) {
            *o = p.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_stays_flat() {
        let mut p = Planes::new(7, 5, 2);
        p.data.fill(0.25);
        for f in Filter::ALL {
            let r = resize(&p, 21, 15, f);
            assert!(r.data.iter().all(|v| (v - 0.25).abs() < 1e-5), "{f:?}");
        }
    }

    #[test]
    fn nearest_repeats_pixels() {
        let mut p = Planes::new(2, 1, 1);
        p.data = vec![0.0, 1.0];
        assert_eq!(resize(&p, 4, 1, Filter::Nearest).data, vec![0.0, 0.0, 1.0, 1.0]);
    }
}
