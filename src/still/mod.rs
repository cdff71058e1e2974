//! Image files: read (format from the content, EXIF orientation applied, size checked before
//! any pixel is allocated), upscale through the core keeping alpha, bit depth, greyness and the
//! metadata (`metadata.rs`), and write to a temporary name that is renamed into place only when
//! complete.

mod animated;
mod edit;
mod embed;
mod exif;
mod metadata;
mod preview;

use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

#[cfg(feature = "video")]
pub(crate) use animated::{delays as animation_delays, each_frame as each_animation_frame};
pub use animated::{probe as probe_animation, AnimFormat, Animation, Plays};
pub use edit::edit;
pub use metadata::Metadata;
#[cfg(feature = "video")]
pub(crate) use preview::write_png;
pub use preview::{dimensions, sniff, verify, write_fitted_png, write_preview_png, Format};

use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::output::{self, Pending};
use crate::planes::Planes;
use crate::progress::{Event, Progress, Unit};
use crate::resize::{self, Filter};

/// A decoded picture and what must be kept about it.
pub struct Picture {
    /// RGB planes (grey pictures repeated into three).
    pub rgb: Planes,
    /// The alpha plane, if the picture has one.
    pub alpha: Option<Planes>,
    /// One channel of grey (plus alpha) rather than colour.
    pub gray: bool,
    /// More than 8 bits a sample.
    pub deep: bool,
    /// ICC profile, EXIF, XMP, text, resolution (of the oriented picture).
    pub meta: Metadata,
}

/// Whether the file's first bytes are an image format we read ([`sniff`]).
pub fn is_image(path: &Path) -> bool {
    sniff(path).is_ok()
}

/// Reads an image file. Pictures over `max_pixels` are refused before decoding.
pub fn load(path: &Path, max_pixels: u64) -> Result<Picture> {
    let bytes = read(path)?;
    // The extension's format, for content that is recognised as none.
    decode_from(&bytes, ImageFormat::from_path(path).ok(), path, max_pixels)
}

/// A picture file's bytes; an empty file is an error.
fn read(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(Error::decode(path, "empty file (0 bytes)"));
    }
    Ok(bytes)
}

/// Decodes an image held in memory (format from its content), as [`load`] does a file; errors
/// name the picture `<memory>`. The fuzz target `decode_image` calls this.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<Picture> {
    decode_from(bytes, None, Path::new("<memory>"), max_pixels)
}

/// The decoding behind [`load`] and [`decode`]: format from the content (else `hint`), the size
/// checked from the header before any pixel is allocated, metadata read, EXIF orientation applied.
fn decode_from(bytes: &[u8], hint: Option<ImageFormat>, path: &Path, max_pixels: u64) -> Result<Picture> {
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes));
    if let Some(f) = hint {
        reader.set_format(f);
    }
    let reader = reader.with_guessed_format().map_err(|e| Error::io(path, e))?;
    let Some(format) = reader.format() else {
        return Err(Error::decode(path, "not a recognised image format"));
    };
    let too_large = |w: u32, h: u32| {
        (w as u64 * h as u64 > max_pixels).then(|| Error::TooLarge {
            path: path.into(),
            width: w as u64,
            height: h as u64,
            limit: max_pixels,
        })
    };
    // The PNG decoder reads on to the first IDAT before it tells the size, so a bomb cut short
    // after its header would fail as "unexpected end of file": the size is read from IHDR first.
    let mut reader = if format == ImageFormat::Png {
        let mut inner = reader.into_inner();
        if let Some(e) = png_size(&mut inner).map_err(|e| Error::io(path, e))?.and_then(|(w, h)| too_large(w, h)) {
            return Err(e);
        }
        ImageReader::with_format(inner, format)
    } else {
        reader
    };
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(16));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| Error::decode(path, e))?;
    let (w, h) = decoder.dimensions();
    if let Some(e) = too_large(w, h) {
        return Err(e);
    }
    if w == 0 || h == 0 {
        return Err(Error::decode(path, format!("empty image ({w}x{h})")));
    }
    let meta = Metadata::read(bytes, format, &mut decoder);
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| Error::decode(path, e))?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let mut pic = Picture::from_image(&img);
    pic.meta = meta;
    Ok(pic)
}

/// The width and height in a PNG's IHDR (the chunk that must come first), read without
/// decoding anything and with the reader put back where it was; `None` when the first 24 bytes
/// are not a PNG signature and an IHDR (the decoder then says what is wrong).
fn png_size<R: std::io::Read + std::io::Seek>(r: &mut R) -> std::io::Result<Option<(u32, u32)>> {
    let start = r.stream_position()?;
    let mut head = [0u8; 24];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    r.seek(std::io::SeekFrom::Start(start))?;
    if n < head.len() || &head[..8] != b"\x89PNG\r\n\x1a\n" || &head[12..16] != b"IHDR" {
        return Ok(None);
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Ok(Some((be(&head[16..20]), be(&head[20..24]))))
}

impl Picture {
    /// Splits a decoded image into planes and facts.
    pub fn from_image(img: &DynamicImage) -> Picture {
        let color = img.color();
        let rgba = Planes::from_buffer(&img.to_rgba32f());
        let alpha = color.has_alpha().then(|| {
            let a = rgba.area();
            Planes { width: rgba.width, height: rgba.height, channels: 1, data: rgba.data[3 * a..].to_vec() }
        });
        Picture {
            rgb: rgba.take(3),
            alpha,
            gray: !color.has_color(),
            deep: color.bytes_per_pixel() / color.channel_count() > 1,
            meta: Metadata::default(),
        }
    }

    /// Back to an image of the same kind (grey, alpha, depth) as the input was.
    pub fn to_image(&self) -> DynamicImage {
        match (self.gray, &self.alpha, self.deep) {
            (true, None, false) => DynamicImage::ImageLuma8(self.rgb.to_luma8()),
            (true, None, true) => DynamicImage::ImageLuma16(self.rgb.to_luma16()),
            (true, Some(a), false) => {
                DynamicImage::ImageRgba8(self.rgb.luma().gray_to_rgb().join(a).to_rgba8()).into_luma_alpha8().into()
            }
            (true, Some(a), true) => {
                DynamicImage::ImageRgba16(self.rgb.luma().gray_to_rgb().join(a).to_rgba16()).into_luma_alpha16().into()
            }
            (false, None, false) => DynamicImage::ImageRgb8(self.rgb.to_rgb8()),
            (false, None, true) => DynamicImage::ImageRgb16(self.rgb.to_rgb16()),
            (false, Some(a), false) => DynamicImage::ImageRgba8(self.rgb.clone().join(a).to_rgba8()),
            (false, Some(a), true) => DynamicImage::ImageRgba16(self.rgb.clone().join(a).to_rgba16()),
        }
    }

    /// Upscales the picture, tiles reported to `progress`; alpha follows the colour's size by Lanczos.
    pub fn upscale(&self, up: &mut Upscaler, progress: &dyn Progress) -> Result<Picture> {
        let channels = 3 + u64::from(self.alpha.is_some());
        let available = crate::memory::available_memory();
        up.check_memory(self.rgb.width, self.rgb.height, channels, 1 + u64::from(self.deep), available)?;
        let rgb = up.upscale_with(&self.rgb, progress)?;
        let alpha = self.alpha.as_ref().map(|a| {
            let mut r = resize::resize(a, rgb.width, rgb.height, Filter::Lanczos);
            r.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
            r
        });
        Ok(Picture { rgb, alpha, gray: self.gray, deep: self.deep, meta: self.meta.clone() })
    }
}

/// The image format for an output path, from its extension.
pub fn output_format(path: &Path) -> Result<ImageFormat> {
    use crate::config::Kind;
    use crate::formats::{of_path, FORMATS};
    let written = |f: &crate::formats::FileFormat| f.kind == Kind::Image && f.written;
    let encoder = of_path(path).filter(|f| written(f)).and_then(|f| ImageFormat::from_extension(f.extensions[0]));
    encoder.ok_or_else(|| {
        let names: Vec<String> =
            FORMATS.iter().filter(|f| written(f)).map(|f| format!(".{}", f.extensions[0])).collect();
        Error::Output { path: path.into(), msg: format!("unknown image extension: use {}", names.join(", ")) }
    })
}

/// Converts to a colour type the format can store (JPEG: no alpha, 8-bit; WebP, BMP: 8-bit);
/// says what was lost.
fn storable(img: DynamicImage, format: ImageFormat) -> (DynamicImage, Option<&'static str>) {
    let c = img.color();
    let deep = c.bytes_per_pixel() / c.channel_count() > 1;
    let lost = match (format, deep) {
        (ImageFormat::Png | ImageFormat::Tiff, _) => None,
        (_, true) => Some("samples of more than 8 bits are written as 8-bit"),
        (ImageFormat::Jpeg, false) if c.has_alpha() => Some("the alpha channel is left out"),
        _ => None,
    };
    let img = match format {
        ImageFormat::Png | ImageFormat::Tiff => img,
        ImageFormat::Jpeg if c.has_color() => img.into_rgb8().into(),
        ImageFormat::Jpeg => img.into_luma8().into(),
        _ if !deep => img,
        _ if c.has_alpha() => img.into_rgba8().into(),
        _ if c.has_color() => img.into_rgb8().into(),
        _ => img.into_luma8().into(),
    };
    (img, lost)
}

/// Writes `img` to `output` through a temporary file and a rename, without metadata.
pub fn save(img: &DynamicImage, output: &Path) -> Result<()> {
    save_with(img, output, &Metadata::default(), crate::config::DEFAULT_QUALITY, &crate::progress::NoProgress)
}

/// Writes `img` to `output` with `meta` (what the format can hold) through a temporary file and
/// a rename; a note says what the format could not hold.
pub fn save_with(
    img: &DynamicImage,
    output: &Path,
    meta: &Metadata,
    quality: u8,
    progress: &dyn Progress,
) -> Result<()> {
    let format = output_format(output)?;
    let (img, lost) = storable(img.clone(), format);
    let (bytes, mut dropped) = meta.encode(&img, format, quality).map_err(|e| Error::encode(output, e))?;
    dropped.extend(lost.map(String::from));
    if !dropped.is_empty() {
        progress.note(&format!("{}: {:?} cannot hold everything: {}", output.display(), format, dropped.join("; ")));
    }
    let pending = Pending::new(output);
    let f = std::fs::File::create(pending.path()).map_err(|e| Error::encode(output, e))?;
    let mut w = std::io::BufWriter::new(f);
    std::io::Write::write_all(&mut w, &bytes).map_err(|e| Error::encode(output, e))?;
    let f = w.into_inner().map_err(|e| Error::encode(output, e.error()))?;
    f.sync_all().map_err(|e| Error::encode(output, e))?;
    pending.commit()
}

/// Runs `cfg.edit` alone on the picture `input` into `output` (no model), with the events of an
/// upscale; an animation has every frame edited (its events count frames) unless the output
/// holds one picture (then its first frame, with a note).
pub fn edit_file(input: &Path, output: &Path, cfg: &crate::config::Config, progress: &dyn Progress) -> Result<()> {
    let format = output_format(output)?;
    output::check(input, output, cfg.overwrite)?;
    let bytes = read(input)?;
    if let Some(anim) = animated::probe_bytes(&bytes) {
        if AnimFormat::for_output(output).is_some() {
            over_limit(input, &anim, cfg.max_pixels)?;
            return animated::upscale(input, &bytes, &anim, output, None, cfg, progress);
        }
        progress.note(&animated::first_frame_only(input, output, format, &anim));
    }
    edit::edit_still(input, &bytes, output, cfg, progress)
}

/// `input`'s bytes and animation, for an animation written as a video (none for a still
/// picture): refused over the pixel limit, and `cfg.edit` checked against the scaled frame
/// size (`scaled`: none for the edit alone), as [`upscale_file`] checks them.
#[cfg(feature = "video")]
pub(crate) fn read_animation(
    input: &Path,
    cfg: &crate::config::Config,
    scaled: bool,
) -> Result<Option<(Vec<u8>, Animation)>> {
    let bytes = read(input)?;
    let Some(anim) = animated::probe_bytes(&bytes) else { return Ok(None) };
    over_limit(input, &anim, cfg.max_pixels)?;
    if !cfg.edit.is_empty() {
        let (w, h) = if scaled { cfg.output_size(anim.width, anim.height) } else { (anim.width, anim.height) };
        crate::edit::preflight(&cfg.edit, (w, h), 4)
            .map_err(|source| Error::Edit { path: input.to_path_buf(), source })?;
    }
    Ok(Some((bytes, anim)))
}

/// [`Error::TooLarge`] for an animation whose canvas is over the pixel limit.
fn over_limit(input: &Path, anim: &Animation, max_pixels: u64) -> Result<()> {
    if anim.width as u64 * anim.height as u64 > max_pixels {
        let (width, height, limit) = (anim.width.into(), anim.height.into(), max_pixels);
        return Err(Error::TooLarge { path: input.into(), width, height, limit });
    }
    Ok(())
}

/// Upscales one image file into `output`, reporting tiles to `progress` (which may cancel).
/// The output keeps the input's metadata and names how it was made unless `cfg.provenance` is off.
pub fn upscale_file(
    input: &Path,
    output: &Path,
    up: &mut Upscaler<'_>,
    cfg: &crate::config::Config,
    progress: &dyn Progress,
) -> Result<()> {
    let format = output_format(output)?;
    output::check(input, output, cfg.overwrite)?;
    let bytes = read(input)?;
    if let Some(anim) = animated::probe_bytes(&bytes) {
        over_limit(input, &anim, cfg.max_pixels)?;
        let channels = 4;
        if AnimFormat::for_output(output).is_some() {
            if !cfg.edit.is_empty() {
                let (w, h) = cfg.output_size(anim.width, anim.height);
                crate::edit::preflight(&cfg.edit, (w, h), channels)
                    .map_err(|source| Error::Edit { path: input.to_path_buf(), source })?;
            }
            let mut up = up.for_depth(input, 8, progress)?;
            return animated::upscale(input, &bytes, &anim, output, Some(&mut up), cfg, progress);
        }
        progress.note(&animated::first_frame_only(input, output, format, &anim));
    }
    let pic = decode_from(&bytes, ImageFormat::from_path(input).ok(), input, cfg.max_pixels)?;
    if !cfg.edit.is_empty() {
        // The edit is checked against the scaled size before the model runs.
        let (w, h) = cfg.output_size(pic.rgb.width, pic.rgb.height);
        let channels = 3 + pic.alpha.as_ref().map_or(0, |a| a.channels) as u64;
        crate::edit::preflight(&cfg.edit, (w, h), channels)
            .map_err(|source| Error::Edit { path: input.to_path_buf(), source })?;
    }
    // 16-bit samples: `auto`'s bf16 would band them, fp32 runs instead (the video paths' rule).
    let mut up = up.for_depth(input, if pic.deep { 16 } else { 8 }, progress)?;
    finish(input, output, &pic, &mut up, cfg, progress)
}

/// [`upscale_file`] once the picture is read, on the upscaler for it.
fn finish(
    input: &Path,
    output: &Path,
    pic: &Picture,
    up: &mut Upscaler<'_>,
    cfg: &crate::config::Config,
    progress: &dyn Progress,
) -> Result<()> {
    // The tile count is known once the picture's size is: every pass's tiles, counted here.
    let total = up.tile_count(pic.rgb.width, pic.rgb.height);
    progress.event(&Event::Start {
        file: Some(input.to_path_buf()),
        total: Some(total),
        unit: Unit::Tiles,
        estimated: false,
    });
    let big = pic.upscale(up, progress).map_err(|e| match e {
        Error::Model { model, msg, source } => {
            Error::Model { model, msg: format!("{}: {msg}", input.display()), source }
        }
        e => e.in_file(input),
    })?;
    let big = edit::after_scaling(big, &cfg.edit, input, progress)?;
    let (size, out) = ((pic.rgb.width, pic.rgb.height), (big.rgb.width, big.rgb.height));
    let provenance = if cfg.provenance { Some(crate::provenance::describe(up, size, out)?) } else { None };
    let meta = pic.meta.for_output(size, out, provenance);
    save_with(&big.to_image(), output, &meta, cfg.quality, progress)
}
