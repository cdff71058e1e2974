//! The containers' own places for metadata, read from an input's bytes and added to an encoded
//! output's bytes where the `image` encoders have no setter: PNG chunks (text, XMP, pHYs), JPEG
//! segments (JFIF density, XMP), the WebP extended header (VP8X with ICCP, EXIF, XMP), and a
//! TIFF's main directory (rewritten at the end of the file with the metadata tags).

use super::exif::{self, Entry, Exif};

/// XMP's keyword in a PNG iTXt chunk, and its signature in a JPEG APP1 segment.
pub const PNG_XMP_KEY: &[u8] = b"XML:com.adobe.xmp";
const JPEG_XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// A PNG chunk: its type and data.
pub type Chunk = ([u8; 4], Vec<u8>);

/// Pixels per unit, as a file states them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Density {
    pub x: f64,
    pub y: f64,
    /// Per inch; false: per centimetre.
    pub per_inch: bool,
}

/// The chunks of a PNG: (type, data), signature checked; empty when it is not one.
fn png_chunks(b: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    if !b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return out;
    }
    let mut at = 8;
    while let Some(head) = b.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        let Some(data) = b.get(at + 8..(at + 8).saturating_add(len)) else { break };
        out.push((kind, data));
        at = at + 12 + len;
        if &kind == b"IEND" {
            break;
        }
    }
    out
}

/// A PNG's text chunks (tEXt, zTXt, iTXt) as they are, but for XMP and `Software`, which are
/// written anew; and its pHYs density in pixels per metre (converted to per centimetre).
pub fn png_read(b: &[u8]) -> (Vec<Chunk>, Option<Density>) {
    let mut texts = Vec::new();
    let mut density = None;
    for (kind, data) in png_chunks(b) {
        match &kind {
            b"tEXt" | b"zTXt" | b"iTXt" => {
                let key = data.split(|&c| c == 0).next().unwrap_or_default();
                if key != PNG_XMP_KEY {
                    texts.push((kind, data.to_vec()));
                }
            }
            b"pHYs" if data.len() == 9 && data[8] == 1 => {
                let x = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as f64;
                let y = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as f64;
                density = Some(Density { x: x / 100.0, y: y / 100.0, per_inch: false });
            }
            _ => {}
        }
    }
    (texts, density)
}

/// The keyword of a text chunk.
pub fn text_key(data: &[u8]) -> &[u8] {
    data.split(|&c| c == 0).next().unwrap_or_default()
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
}

/// An uncompressed iTXt chunk's data.
pub fn itxt(key: &[u8], text: &[u8]) -> Vec<u8> {
    let mut d = key.to_vec();
    d.extend_from_slice(&[0, 0, 0, 0, 0]);
    d.extend_from_slice(text);
    d
}

/// The PNG `b` with `chunks` before its first IDAT and a pHYs for `density`.
pub fn png_write(b: &[u8], chunks: &[Chunk], density: Option<Density>) -> Vec<u8> {
    let mut out = b[..8.min(b.len())].to_vec();
    let mut added = false;
    for (kind, data) in png_chunks(b) {
        if &kind == b"IDAT" && !added {
            added = true;
            if let Some(d) = density {
                let per_metre = |v: f64| (v * if d.per_inch { 100.0 / 2.54 } else { 100.0 }).round() as u32;
                let mut p = per_metre(d.x).to_be_bytes().to_vec();
                p.extend_from_slice(&per_metre(d.y).to_be_bytes());
                p.push(1);
                png_chunk(&mut out, b"pHYs", &p);
            }
            for (k, d) in chunks {
                png_chunk(&mut out, k, d);
            }
        }
        png_chunk(&mut out, &kind, data);
    }
    out
}

/// The JFIF density of a JPEG (units of inches or centimetres only).
pub fn jpeg_density(b: &[u8]) -> Option<Density> {
    let (_, data) = jpeg_segments(b).into_iter().find(|(m, d)| *m == 0xE0 && d.starts_with(b"JFIF\0"))?;
    let d = data.get(7..12)?;
    let per_inch = match d[0] {
        1 => true,
        2 => false,
        _ => return None,
    };
    let x = u16::from_be_bytes([d[1], d[2]]) as f64;
    let y = u16::from_be_bytes([d[3], d[4]]) as f64;
    (x > 0.0 && y > 0.0).then_some(Density { x, y, per_inch })
}

/// The segments before the first scan: (marker, payload without its length).
fn jpeg_segments(b: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    if !b.starts_with(&[0xFF, 0xD8]) {
        return out;
    }
    let mut at = 2;
    while let Some(&[0xFF, m, hi, lo]) = b.get(at..at + 4) {
        if m == 0xDA {
            break;
        }
        let len = u16::from_be_bytes([hi, lo]) as usize;
        let Some(data) = b.get(at + 4..(at + 2 + len).max(at + 4)) else { break };
        out.push((m, data));
        at += 2 + len;
    }
    out
}

/// The JPEG `b` with an XMP segment after its APPn segments; `None` when the packet does not
/// fit one segment (64 KiB; extended XMP is not written).
pub fn jpeg_add_xmp(b: &[u8], xmp: &[u8]) -> Option<Vec<u8>> {
    let len = 2 + JPEG_XMP_SIG.len() + xmp.len();
    if len > 0xFFFF || !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    while let Some(&[0xFF, m, hi, lo]) = b.get(at..at + 4) {
        if !(0xE0..=0xEF).contains(&m) {
            break;
        }
        at += 2 + u16::from_be_bytes([hi, lo]) as usize;
    }
    let at = at.min(b.len());
    let mut out = b[..at].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(JPEG_XMP_SIG);
    out.extend_from_slice(xmp);
    out.extend_from_slice(&b[at..]);
    Some(out)
}

/// A WebP with its image chunk(s) from `b` and the metadata in the extended format (VP8X).
pub fn webp_write(
    b: &[u8],
    (w, h): (u32, u32),
    alpha: bool,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
    xmp: Option<&[u8]>,
) -> Option<Vec<u8>> {
    if b.get(..4)? != b"RIFF" || b.get(8..12)? != b"WEBP" {
        return None;
    }
    let mut image = Vec::new();
    let mut at = 12;
    while let Some(head) = b.get(at..at + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let kind = &head[..4];
        let data = b.get(at + 8..at + 8 + len)?;
        if matches!(kind, b"VP8 " | b"VP8L" | b"ALPH") {
            image.push((<[u8; 4]>::try_from(kind).ok()?, data));
        }
        at += 8 + len + len % 2;
    }
    if image.is_empty() {
        return None;
    }
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend_from_slice(kind);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
    };
    let mut flags = 0u8;
    for (on, bit) in [(icc.is_some(), 0x20), (alpha, 0x10), (exif.is_some(), 0x08), (xmp.is_some(), 0x04)] {
        if on {
            flags |= bit;
        }
    }
    let mut vp8x = vec![flags, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    chunk(&mut body, b"VP8X", &vp8x);
    if let Some(p) = icc {
        chunk(&mut body, b"ICCP", p);
    }
    for (kind, data) in image {
        chunk(&mut body, &kind, data);
    }
    if let Some(e) = exif {
        chunk(&mut body, b"EXIF", e);
    }
    if let Some(x) = xmp {
        chunk(&mut body, b"XMP ", x);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

/// A little-endian TIFF `b` whose main directory is rewritten at the end of the file with the
/// metadata added: ICC profile, XMP, resolution, and the EXIF's main tags and sub-directories.
/// The old directory stays behind unreferenced; the pixels do not move.
pub fn tiff_write(
    b: &[u8],
    icc: Option<&[u8]>,
    xmp: Option<&[u8]>,
    meta: &Exif,
    density: Option<Density>,
) -> Option<Vec<u8>> {
    if b.get(..4)? != b"II*\0" {
        return None;
    }
    let own = Exif::parse(b)?;
    let mut main = own.main;
    for e in &meta.main {
        Exif::set(&mut main, e.clone());
    }
    let bytes = |tag, data: &[u8]| Entry { tag, kind: 7, count: data.len() as u32, data: data.to_vec() };
    if let Some(p) = icc {
        Exif::set(&mut main, bytes(exif::ICC_PROFILE, p));
    }
    if let Some(x) = xmp {
        Exif::set(&mut main, Entry { kind: 1, ..bytes(exif::XMP, x) });
    }
    if let Some(d) = density {
        Exif::set(&mut main, Exif::rational_entry(exif::X_RESOLUTION, d.x));
        Exif::set(&mut main, Exif::rational_entry(exif::Y_RESOLUTION, d.y));
        Exif::set(&mut main, Exif::short(exif::RESOLUTION_UNIT, if d.per_inch { 2 } else { 3 }));
    }
    let mut out = b.to_vec();
    let at = meta.write_directories(&mut out, &main);
    out[4..8].copy_from_slice(&at.to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_chunks_go_before_the_first_idat_with_valid_crcs() {
        let img = image::RgbImage::from_pixel(3, 2, image::Rgb([9, 8, 7]));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(img.clone())
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let text = (*b"tEXt", b"Comment\0hello".to_vec());
        let d = Density { x: 300.0, y: 300.0, per_inch: true };
        let out = png_write(&png, std::slice::from_ref(&text), Some(d));
        let (texts, density) = png_read(&out);
        assert_eq!(texts, vec![text]);
        let back = density.unwrap();
        assert!((back.x * 2.54 - 300.0).abs() < 0.1, "{back:?}");
        let decoded = image::load_from_memory(&out).unwrap().to_rgb8();
        assert_eq!(decoded, img);
    }

    #[test]
    fn jpeg_xmp_goes_after_the_app_segments() {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 100, 50]));
        let mut jpg = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut jpg), image::ImageFormat::Jpeg)
            .unwrap();
        let out = jpeg_add_xmp(&jpg, b"<x:xmpmeta/>").unwrap();
        let segs = jpeg_segments(&out);
        assert!(segs.iter().any(|(m, d)| *m == 0xE1 && d.ends_with(b"<x:xmpmeta/>")));
        assert!(image::load_from_memory(&out).is_ok());
    }
}
