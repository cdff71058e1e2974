//! What a picture carries besides its pixels, kept through the upscale: the ICC profile (no
//! colour conversion is made, so 16-bit and wide-gamut pixels stay as they were coded), EXIF
//! (orientation reset to 1 once applied to the pixels, thumbnail dropped, pixel size and
//! resolution updated), XMP (orientation and size updated), PNG text chunks and the physical
//! resolution. The resolution is scaled with the picture so that its printed size stays the
//! same. Each output format gets what it can hold; what it cannot is said in a note.

use image::codecs::jpeg::{JpegEncoder, PixelDensity, PixelDensityUnit};
use image::codecs::png::PngEncoder;
use image::codecs::tiff::TiffEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat};

use super::embed::{self, Density};
use super::exif::{self, Exif};

/// The metadata of one picture.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// The ICC colour profile's bytes, as embedded (no conversion is made).
    pub icc: Option<Vec<u8>>,
    /// The EXIF directories, thumbnail left out.
    pub exif: Option<Exif>,
    /// The XMP packet's bytes (UTF-8 XML).
    pub xmp: Option<Vec<u8>>,
    /// PNG text chunks (type, data) as they were, XMP aside.
    pub texts: Vec<embed::Chunk>,
    /// Physical resolution (PNG pHYs, JFIF density or EXIF's resolution tags).
    pub density: Option<Density>,
    /// The program, network and settings that made the picture (see `crate::provenance`).
    pub provenance: Option<String>,
}

impl Metadata {
    /// Reads what `decoder` (of `format`, over the file's `bytes`) tells and what only the
    /// file's own structure holds (PNG text and pHYs, JFIF density, a TIFF's EXIF tags).
    /// Unreadable metadata is left out: it never stops the pixels from being read.
    pub fn read(bytes: &[u8], format: ImageFormat, decoder: &mut dyn ImageDecoder) -> Metadata {
        let mut icc = decoder.icc_profile().ok().flatten().filter(|p| !p.is_empty());
        let mut xmp = decoder.xmp_metadata().ok().flatten().filter(|x| !x.is_empty());
        if format == ImageFormat::Tiff {
            // The tiff crate refuses the profile's UNDEFINED type: read both tags directly.
            icc = icc.or_else(|| Exif::tiff_tag(bytes, exif::ICC_PROFILE));
            xmp = xmp.or_else(|| Exif::tiff_tag(bytes, exif::XMP));
        }
        let exif = match format {
            ImageFormat::Tiff => Exif::from_tiff(bytes),
            _ => decoder.exif_metadata().ok().flatten().and_then(|b| Exif::parse(&b)),
        }
        .filter(|e| !e.is_empty());
        let (texts, mut density) = match format {
            ImageFormat::Png => embed::png_read(bytes),
            ImageFormat::Jpeg => (Vec::new(), embed::jpeg_density(bytes)),
            _ => (Vec::new(), None),
        };
        if density.is_none() {
            density = exif.as_ref().and_then(exif_density);
        }
        Metadata { icc, exif, xmp, texts, density, provenance: None }
    }

    /// The metadata for the upscaled picture: `size` was the (oriented) input's size, `out`
    /// the output's; orientation reset, sizes and resolution updated, `provenance` named.
    pub fn for_output(&self, size: (u32, u32), out: (u32, u32), provenance: Option<String>) -> Metadata {
        let (fx, fy) = (out.0 as f64 / size.0.max(1) as f64, out.1 as f64 / size.1.max(1) as f64);
        let density = self.density.map(|d| Density { x: d.x * fx, y: d.y * fy, per_inch: d.per_inch });
        let mut exif = self.exif.clone();
        if let Some(e) = exif.as_mut() {
            if e.number(exif::ORIENTATION).is_some() {
                Exif::set(&mut e.main, Exif::short(exif::ORIENTATION, 1));
            }
            if !e.exif.is_empty() {
                Exif::set(&mut e.exif, Exif::long(exif::PIXEL_X, out.0));
                Exif::set(&mut e.exif, Exif::long(exif::PIXEL_Y, out.1));
            }
            if let Some(d) = density.filter(|_| e.rational(exif::X_RESOLUTION).is_some()) {
                set_exif_density(e, d);
            }
        }
        if let Some(p) = &provenance {
            Exif::set(&mut exif.get_or_insert_with(Exif::default).main, Exif::ascii(exif::SOFTWARE, p));
        }
        let xmp = self.xmp.as_ref().map(|x| {
            let mut x = set_xmp_value(x, "tiff:Orientation", "1");
            for (name, v) in [
                ("exif:PixelXDimension", out.0),
                ("exif:PixelYDimension", out.1),
                ("tiff:ImageWidth", out.0),
                ("tiff:ImageLength", out.1),
            ] {
                x = set_xmp_value(&x, name, &v.to_string());
            }
            x
        });
        let mut texts = self.texts.clone();
        if provenance.is_some() {
            texts.retain(|(_, d)| embed::text_key(d) != b"Software");
        }
        Metadata { icc: self.icc.clone(), exif, xmp, texts, density, provenance }
    }

    /// Encodes `img` as `format` with as much of this metadata as the format holds; returns
    /// the file's bytes and what was left out, in words (for a note).
    pub fn encode(
        &self,
        img: &DynamicImage,
        format: ImageFormat,
        quality: u8,
    ) -> image::ImageResult<(Vec<u8>, Vec<String>)> {
        let mut out = Vec::new();
        let mut dropped = Vec::new();
        let exif_bytes = self.exif.as_ref().map(Exif::to_bytes);
        let (w, h) = (img.width(), img.height());
        match format {
            ImageFormat::Png => {
                let mut enc = PngEncoder::new(&mut out);
                if let Some(p) = &self.icc {
                    let _ = enc.set_icc_profile(p.clone());
                }
                if let Some(e) = &exif_bytes {
                    let _ = enc.set_exif_metadata(e.clone());
                }
                img.write_with_encoder(enc)?;
                let mut chunks = self.texts.clone();
                if let Some(x) = &self.xmp {
                    chunks.push((*b"iTXt", embed::itxt(embed::PNG_XMP_KEY, x)));
                }
                if let Some(p) = &self.provenance {
                    let mut t = b"Software\0".to_vec();
                    t.extend(p.bytes().filter(|&b| b != 0));
                    chunks.push((*b"tEXt", t));
                }
                out = embed::png_write(&out, &chunks, self.density);
            }
            ImageFormat::Jpeg => {
                let mut enc = JpegEncoder::new_with_quality(&mut out, quality);
                if let Some(p) = &self.icc {
                    let _ = enc.set_icc_profile(p.clone());
                }
                match &exif_bytes {
                    // One APP1 segment holds 64 KiB (a maker note can be larger).
                    Some(e) if e.len() > 65000 => {
                        dropped.push(format!("EXIF ({} bytes: over one JPEG segment)", e.len()))
                    }
                    Some(e) => {
                        let _ = enc.set_exif_metadata(e.clone());
                    }
                    None => {}
                }
                if let Some(d) = self.density {
                    let v = |x: f64| x.round().clamp(1.0, u16::MAX as f64) as u16;
                    let unit = if d.per_inch { PixelDensityUnit::Inches } else { PixelDensityUnit::Centimeters };
                    enc.set_pixel_density(PixelDensity { density: (v(d.x), v(d.y)), unit });
                }
                img.write_with_encoder(enc)?;
                if let Some(x) = &self.xmp {
                    match embed::jpeg_add_xmp(&out, x) {
                        Some(o) => out = o,
                        None => dropped.push(format!("XMP ({} bytes: over one JPEG segment)", x.len())),
                    }
                }
                self.texts_dropped(&mut dropped);
            }
            ImageFormat::WebP => {
                img.write_with_encoder(WebPEncoder::new_lossless(&mut out))?;
                let alpha = img.color().has_alpha();
                let xmp = self.xmp.as_deref();
                if self.icc.is_some() || exif_bytes.is_some() || xmp.is_some() {
                    match embed::webp_write(&out, (w, h), alpha, self.icc.as_deref(), exif_bytes.as_deref(), xmp) {
                        Some(o) => out = o,
                        None => dropped.push("all metadata (the encoder's WebP could not be extended)".into()),
                    }
                }
                if self.density.is_some() && self.exif.as_ref().and_then(|e| e.rational(exif::X_RESOLUTION)).is_none() {
                    dropped.push("the resolution (WebP holds it only in EXIF)".into());
                }
                self.texts_dropped(&mut dropped);
            }
            ImageFormat::Tiff => {
                img.write_with_encoder(TiffEncoder::new(std::io::Cursor::new(&mut out)))?;
                let empty = Exif::default();
                let meta = self.exif.as_ref().unwrap_or(&empty);
                match embed::tiff_write(&out, self.icc.as_deref(), self.xmp.as_deref(), meta, self.density) {
                    Some(o) => out = o,
                    None => dropped.push("all metadata (the encoder's TIFF could not be extended)".into()),
                }
                self.texts_dropped(&mut dropped);
            }
            _ => {
                img.write_to(&mut std::io::Cursor::new(&mut out), format)?;
                let has = [
                    (self.icc.is_some(), "the ICC profile"),
                    (self.exif.is_some(), "EXIF"),
                    (self.xmp.is_some(), "XMP"),
                    (self.density.is_some(), "the resolution"),
                ];
                dropped.extend(has.iter().filter(|h| h.0).map(|h| h.1.to_string()));
                self.texts_dropped(&mut dropped);
            }
        }
        Ok((out, dropped))
    }

    fn texts_dropped(&self, dropped: &mut Vec<String>) {
        if !self.texts.is_empty() {
            let keys: Vec<String> =
                self.texts.iter().map(|(_, d)| String::from_utf8_lossy(embed::text_key(d)).into_owned()).collect();
            dropped.push(format!("PNG text ({})", keys.join(", ")));
        }
    }
}

/// The resolution an EXIF block states (inches or centimetres).
fn exif_density(e: &Exif) -> Option<Density> {
    let per_inch = match e.number(exif::RESOLUTION_UNIT).unwrap_or(2) {
        2 => true,
        3 => false,
        _ => return None,
    };
    let (x, y) = (e.rational(exif::X_RESOLUTION)?, e.rational(exif::Y_RESOLUTION)?);
    (x > 0.0 && y > 0.0).then_some(Density { x, y, per_inch })
}

fn set_exif_density(e: &mut Exif, d: Density) {
    Exif::set(&mut e.main, Exif::rational_entry(exif::X_RESOLUTION, d.x));
    Exif::set(&mut e.main, Exif::rational_entry(exif::Y_RESOLUTION, d.y));
    Exif::set(&mut e.main, Exif::short(exif::RESOLUTION_UNIT, if d.per_inch { 2 } else { 3 }));
}

/// The XMP packet with the property `name` set to `value` where it is present, written either
/// as an attribute (`name="6"`) or as an element (`<name>6</name>`); the packet is unchanged
/// where it is absent.
fn set_xmp_value(xmp: &[u8], name: &str, value: &str) -> Vec<u8> {
    let Ok(s) = std::str::from_utf8(xmp) else { return xmp.to_vec() };
    let mut s = s.to_string();
    for (open, close) in [(format!("{name}=\""), "\"".to_string()), (format!("{name}='"), "'".into())] {
        if let Some(i) = s.find(&open) {
            let start = i + open.len();
            if let Some(len) = s[start..].find(close.as_str()) {
                s.replace_range(start..start + len, value);
            }
        }
    }
    let open = format!("<{name}>");
    if let Some(i) = s.find(&open) {
        let start = i + open.len();
        if let Some(len) = s[start..].find(&format!("</{name}>")) {
            s.replace_range(start..start + len, value);
        }
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_orientation_is_reset_in_either_form() {
        let a = br#"<rdf:Description tiff:Orientation="6" exif:PixelXDimension="640"/>"#;
        let out = set_xmp_value(&set_xmp_value(a, "tiff:Orientation", "1"), "exif:PixelXDimension", "2560");
        assert_eq!(out, br#"<rdf:Description tiff:Orientation="1" exif:PixelXDimension="2560"/>"#);
        let b = b"<tiff:Orientation>8</tiff:Orientation>";
        assert_eq!(set_xmp_value(b, "tiff:Orientation", "1"), b"<tiff:Orientation>1</tiff:Orientation>");
        assert_eq!(set_xmp_value(b"<x/>", "tiff:Orientation", "1"), b"<x/>");
    }

    #[test]
    fn density_scales_with_the_picture() {
        let m = Metadata { density: Some(Density { x: 300.0, y: 150.0, per_inch: true }), ..Default::default() };
        let o = m.for_output((100, 50), (400, 200), None);
        assert_eq!(o.density, Some(Density { x: 1200.0, y: 600.0, per_inch: true }));
        assert!(o.exif.is_none(), "no EXIF is made without provenance");
        let p = m.for_output((100, 50), (400, 200), Some("upscale".into()));
        assert!(p.exif.unwrap().main.iter().any(|e| e.tag == exif::SOFTWARE));
    }
}
