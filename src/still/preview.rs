//! What a front end needs to show a picture it was given, without the `image` crate of its own:
//! the format from the content ([`sniff`]), the size from the header ([`dimensions`]), a whole
//! decode that refuses damaged data ([`verify`]) and a PNG copy a browser can show
//! ([`write_preview_png`]; a video's first picture goes the same way through `video::poster`).

use std::io::Read;
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};
use crate::output::Pending;

/// The picture formats this crate reads, as found from a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    WebP,
    /// GIF (its first frame).
    Gif,
    /// BMP.
    Bmp,
    /// TIFF.
    Tiff,
}

impl Format {
    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpg",
            Format::WebP => "webp",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::Tiff => "tiff",
        }
    }

    /// Whether web browsers show it in an `<img>` (all but TIFF).
    pub fn browser_viewable(self) -> bool {
        self != Format::Tiff
    }

    fn from_image(f: ImageFormat) -> Option<Format> {
        Some(match f {
            ImageFormat::Png => Format::Png,
            ImageFormat::Jpeg => Format::Jpeg,
            ImageFormat::WebP => Format::WebP,
            ImageFormat::Gif => Format::Gif,
            ImageFormat::Bmp => Format::Bmp,
            ImageFormat::Tiff => Format::Tiff,
            _ => return None,
        })
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Png => ImageFormat::Png,
            Format::Jpeg => ImageFormat::Jpeg,
            Format::WebP => ImageFormat::WebP,
            Format::Gif => ImageFormat::Gif,
            Format::Bmp => ImageFormat::Bmp,
            Format::Tiff => ImageFormat::Tiff,
        }
    }
}

/// The picture format of `path` from its first bytes (never its name). [`Error::Decode`] names
/// the file when it is empty or not a picture in a format read here; [`Error::Io`] when it
/// cannot be read.
pub fn sniff(path: &Path) -> Result<Format> {
    let mut head = [0u8; 64];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    if n == 0 {
        return Err(Error::decode(path, "empty file (0 bytes)"));
    }
    image::guess_format(&head[..n])
        .ok()
        .and_then(Format::from_image)
        .ok_or_else(|| Error::decode(path, "not a picture in a format read here (PNG, JPEG, WebP, GIF, BMP, TIFF)"))
}

/// Whether an EXIF orientation turns the picture a quarter (width and height swap).
fn turns(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    )
}

/// A decoder for `path` in its sniffed format, allocations capped at 16 bytes a pixel of
/// `max_pixels`.
fn decoder(path: &Path, max_pixels: u64) -> Result<(Format, impl ImageDecoder)> {
    let format = sniff(path)?;
    let mut reader = ImageReader::open(path).map_err(|e| Error::io(path, e))?;
    reader.set_format(format.image_format());
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(16));
    reader.limits(limits);
    Ok((format, reader.into_decoder().map_err(|e| Error::decode(path, e))?))
}

/// The size of the picture in `path` as it is shown (EXIF orientation applied), read from its
/// header without decoding the pixels.
pub fn dimensions(path: &Path) -> Result<(u32, u32)> {
    let (_, mut dec) = decoder(path, u64::MAX / 16)?;
    let (w, h) = dec.dimensions();
    Ok(if dec.orientation().is_ok_and(turns) { (h, w) } else { (w, h) })
}

/// Decodes the whole picture (EXIF orientation applied): [`Error::TooLarge`] over `max_pixels`
/// before any pixel is allocated, [`Error::Decode`] (the decoder's words) when damaged or cut
/// short.
fn decode_whole(path: &Path, max_pixels: u64) -> Result<(Format, DynamicImage)> {
    let (format, mut dec) = decoder(path, max_pixels)?;
    let (w, h) = dec.dimensions();
    if w as u64 * h as u64 > max_pixels {
        return Err(Error::TooLarge { path: path.into(), width: w as u64, height: h as u64, limit: max_pixels });
    }
    if w == 0 || h == 0 {
        return Err(Error::decode(path, format!("empty image ({w}x{h})")));
    }
    let orientation = dec.orientation().ok();
    let mut img = DynamicImage::from_decoder(dec).map_err(|e| Error::decode(path, e))?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok((format, img))
}

/// Decodes the whole picture in `path` once, so that a damaged or cut-short file is refused now
/// ([`Error::Decode`]) rather than when it is worked on; [`Error::TooLarge`] over `max_pixels`.
/// Returns its format.
pub fn verify(path: &Path, max_pixels: u64) -> Result<Format> {
    decode_whole(path, max_pixels).map(|(f, _)| f)
}

/// Writes a PNG of the picture in `input` to `dest`, as a browser would show it (EXIF
/// orientation applied, 8 bits a sample, alpha kept), at its full size so that it lines up
/// pixel for pixel with an upscaled result shown beside it. The whole picture is decoded (errors
/// as [`verify`]); `dest` appears only when complete. Returns the size written.
pub fn write_preview_png(input: &Path, dest: &Path, max_pixels: u64) -> Result<(u32, u32)> {
    let (_, img) = decode_whole(input, max_pixels)?;
    write_png(img, dest)
}

/// Writes a PNG of the picture in `input` scaled down to fit `fit`×`fit` (kept at its own size
/// when it already fits) to `dest`, for a result too large for a browser to show whole. No pixel
/// limit: the picture is one this program wrote. Returns the size written.
pub fn write_fitted_png(input: &Path, dest: &Path, fit: u32) -> Result<(u32, u32)> {
    let (_, img) = decode_whole(input, u64::MAX / 16)?;
    let img = if img.width() > fit || img.height() > fit { img.thumbnail(fit, fit) } else { img };
    write_png(img, dest)
}

/// Writes `img` to `dest` as an 8-bit PNG (RGB, or RGBA when it has alpha) through a temporary
/// file renamed into place. Returns the size written.
pub(crate) fn write_png(img: DynamicImage, dest: &Path) -> Result<(u32, u32)> {
    let img: DynamicImage = if img.color().has_alpha() { img.into_rgba8().into() } else { img.into_rgb8().into() };
    let pending = Pending::new(dest);
    let file = std::fs::File::create(pending.path()).map_err(|e| Error::encode(dest, e))?;
    let mut w = std::io::BufWriter::new(file);
    img.write_to(&mut w, ImageFormat::Png).map_err(|e| Error::encode(dest, e))?;
    let file = w.into_inner().map_err(|e| Error::encode(dest, e.error()))?;
    file.sync_all().map_err(|e| Error::encode(dest, e))?;
    pending.commit()?;
    Ok((img.width(), img.height()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb([(x * 7) as u8, (y * 11) as u8, ((x + y) * 3) as u8]))
    }

    #[test]
    fn sniff_reads_the_content_not_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let img = gradient(20, 10);
        for (format, want) in [
            (ImageFormat::Png, Format::Png),
            (ImageFormat::Jpeg, Format::Jpeg),
            (ImageFormat::Tiff, Format::Tiff),
            (ImageFormat::Bmp, Format::Bmp),
        ] {
            // Named .dat: only the bytes say what it is.
            let path = dir.path().join(format!("{want:?}.dat"));
            img.save_with_format(&path, format).unwrap();
            assert_eq!(sniff(&path).unwrap(), want);
            assert_eq!(dimensions(&path).unwrap(), (20, 10));
            assert_eq!(want.browser_viewable(), want != Format::Tiff);
        }
    }

    #[test]
    fn what_is_not_a_picture_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let noise = dir.path().join("noise.png");
        std::fs::write(&noise, b"this is text, not a picture at all").unwrap();
        let empty = dir.path().join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        for (path, cause) in [(&noise, "not a picture"), (&empty, "empty file")] {
            let e = sniff(path).unwrap_err();
            assert!(matches!(e, Error::Decode { .. }), "{e:?}");
            let text = e.to_string();
            assert!(text.contains(&path.display().to_string()) && text.contains(cause), "{text}");
        }
        assert!(matches!(sniff(&dir.path().join("missing.png")), Err(Error::Io { .. })));
    }

    #[test]
    fn a_tiff_gets_a_png_preview_with_the_same_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let tiff = dir.path().join("in.tiff");
        let img = gradient(33, 17);
        img.save_with_format(&tiff, ImageFormat::Tiff).unwrap();
        let dest = dir.path().join("preview.png");
        assert_eq!(write_preview_png(&tiff, &dest, 1 << 20).unwrap(), (33, 17));
        assert_eq!(sniff(&dest).unwrap(), Format::Png);
        assert_eq!(image::open(&dest).unwrap().to_rgb8(), img);
        // Nothing else is left beside it (the temporary file was renamed).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_damaged_or_too_large_picture_is_refused_and_no_preview_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("cut.png");
        gradient(64, 64).save(&png).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        std::fs::write(&png, &bytes[..bytes.len() / 2]).unwrap();
        let dest = dir.path().join("preview.png");
        let e = write_preview_png(&png, &dest, 1 << 20).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }) && e.to_string().contains("cut.png"), "{e:?}");
        assert!(matches!(verify(&png, 1 << 20), Err(Error::Decode { .. })));
        let whole = dir.path().join("whole.png");
        gradient(64, 64).save(&whole).unwrap();
        assert_eq!(verify(&whole, 64 * 64).unwrap(), Format::Png);
        match verify(&whole, 64 * 64 - 1) {
            Err(Error::TooLarge { width: 64, height: 64, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
