//! numpy arrays to the library's pictures and back. An array is a picture when it is
//! height × width × 3 (RGB) or × 4 (RGBA) of `uint8` or `uint16`, any strides; everything else
//! (2-D, other dtypes, empty, a list) is an `upscale.InputError` naming what was given, never a
//! crash. The picture goes through `upscale::still::Picture`, the type picture files are
//! decoded into, so an array and the same pixels in a PNG are upscaled by the very same code
//! (alpha by Lanczos beside the network, 16 bits kept).

use image::{DynamicImage, ImageBuffer, Rgb, Rgba};
use numpy::ndarray::Array3;
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use upscale::still::Picture;

use crate::errors;

/// A picture read from an array, with what it was.
pub struct FromArray {
    /// The pixels, as a decoded picture file would hold them.
    pub picture: Picture,
    /// Bits per sample: 8 or 16.
    pub bits: u32,
}

/// Reads `obj` as a picture: (height, width, 3|4) of uint8 or uint16.
pub fn read(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<FromArray> {
    let Ok(arr) = obj.cast::<PyUntypedArray>() else {
        let ty = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        return Err(errors::input(
            py,
            &format!("expected a numpy.ndarray of shape (height, width, 3) or (height, width, 4), not {ty}"),
        ));
    };
    let shape = arr.shape().to_vec();
    let dtype = arr.dtype().str().map(|s| s.to_string()).unwrap_or_default();
    // As Python writes a shape: (3,) and (48, 64).
    let shown = match shape.as_slice() {
        [one] => format!("({one},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    if shape.len() != 3 || !(shape[2] == 3 || shape[2] == 4) {
        let grey = if shape.len() == 2 { " (a grey picture: numpy.repeat(a[..., None], 3, axis=2))" } else { "" };
        return Err(errors::input(
            py,
            &format!(
                "array of shape {shown}: expected (height, width, 3) for RGB or (height, width, 4) for RGBA{grey}"
            ),
        ));
    }
    let (h, w, c) = (shape[0], shape[1], shape[2]);
    if h == 0 || w == 0 {
        return Err(errors::input(py, &format!("array of shape {shown}: the picture is empty")));
    }
    let (Ok(w32), Ok(h32)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err(errors::input(py, &format!("array of shape {shown}: larger than a picture can be")));
    };
    let image = if let Ok(a) = obj.cast::<PyArrayDyn<u8>>() {
        let samples = samples(py, a)?;
        match c {
            3 => ImageBuffer::<Rgb<u8>, _>::from_raw(w32, h32, samples).map(DynamicImage::ImageRgb8),
            _ => ImageBuffer::<Rgba<u8>, _>::from_raw(w32, h32, samples).map(DynamicImage::ImageRgba8),
        }
    } else if let Ok(a) = obj.cast::<PyArrayDyn<u16>>() {
        let samples = samples(py, a)?;
        match c {
            3 => ImageBuffer::<Rgb<u16>, _>::from_raw(w32, h32, samples).map(DynamicImage::ImageRgb16),
            _ => ImageBuffer::<Rgba<u16>, _>::from_raw(w32, h32, samples).map(DynamicImage::ImageRgba16),
        }
    } else {
        return Err(errors::input(
            py,
            &format!("array of dtype {dtype}: expected uint8 (0-255) or uint16 (0-65535) samples"),
        ));
    };
    let Some(image) = image else {
        return Err(errors::input(py, &format!("array of shape {shown}: its samples do not fill the picture")));
    };
    let bits = if matches!(image, DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgba16(_)) { 16 } else { 8 };
    Ok(FromArray { picture: Picture::from_image(&image), bits })
}

/// The samples of `a` in row-major order (height, width, channel), whatever its strides.
fn samples<T: numpy::Element + Copy>(py: Python<'_>, a: &Bound<'_, PyArrayDyn<T>>) -> PyResult<Vec<T>> {
    let ro = a.try_readonly().map_err(|e| errors::input(py, &format!("the array cannot be read: {e}")))?;
    // `as_slice` also takes Fortran-ordered memory, which is not row-major: only C order is
    // copied as it lies.
    if ro.is_c_contiguous() {
        if let Ok(s) = ro.as_slice() {
            return Ok(s.to_vec());
        }
    }
    Ok(ro.as_array().iter().copied().collect())
}

/// The interleaved samples of an upscaled picture (the kind it was made from), ready to become
/// an array without the GIL.
pub enum Samples {
    /// 8-bit samples, `channels` per pixel.
    U8(Vec<u8>, (usize, usize, usize)),
    /// 16-bit samples.
    U16(Vec<u16>, (usize, usize, usize)),
}

/// `pic` back as the kind of array it came from (its alpha and bit depth).
pub fn samples_of(pic: &Picture) -> Samples {
    let (w, h) = (pic.rgb.width as usize, pic.rgb.height as usize);
    match pic.to_image() {
        DynamicImage::ImageRgb8(b) => Samples::U8(b.into_raw(), (h, w, 3)),
        DynamicImage::ImageRgba8(b) => Samples::U8(b.into_raw(), (h, w, 4)),
        DynamicImage::ImageRgb16(b) => Samples::U16(b.into_raw(), (h, w, 3)),
        DynamicImage::ImageRgba16(b) => Samples::U16(b.into_raw(), (h, w, 4)),
        // An array is never grey (three or four channels): whatever else, as 16-bit RGBA.
        other => Samples::U16(other.into_rgba16().into_raw(), (h, w, 4)),
    }
}

/// The samples as a numpy array (height, width, channels), without copying them.
pub fn to_array<'py>(py: Python<'py>, s: Samples) -> PyResult<Bound<'py, PyAny>> {
    let bad = |e: numpy::ndarray::ShapeError| errors::raise(py, "Error", &e.to_string(), None, None);
    Ok(match s {
        Samples::U8(v, shape) => Array3::from_shape_vec(shape, v).map_err(bad)?.into_pyarray(py).into_any(),
        Samples::U16(v, shape) => Array3::from_shape_vec(shape, v).map_err(bad)?.into_pyarray(py).into_any(),
    })
}
