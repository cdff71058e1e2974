//! EXIF as the small TIFF structure it is: read from a JPEG's APP1, a PNG's eXIf, a WebP's EXIF
//! chunk or a TIFF file's own tags; changed where the upscaled picture differs (orientation,
//! pixel size, resolution, software); written back without the thumbnail (IFD1), whose pixels
//! would no longer match. Values are kept as bytes, converted to little-endian on reading.

/// One tag: its TIFF type, count and value bytes (little-endian).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The TIFF tag number ([`ORIENTATION`], …).
    pub tag: u16,
    /// The TIFF field type ([`SHORT`], [`LONG`], [`RATIONAL`], [`ASCII`], …).
    pub kind: u16,
    /// Number of values of that type (for ASCII: bytes, the closing NUL included).
    pub count: u32,
    /// The values' bytes, little-endian whatever the file's byte order was.
    pub data: Vec<u8>,
}

/// The directories worth keeping: the main one (IFD0), Exif, GPS and Interoperability.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exif {
    /// IFD0's tags, without the pointers to the sub-directories and the thumbnail's place.
    pub main: Vec<Entry>,
    /// The Exif sub-directory's tags, without its pointer to Interoperability.
    pub exif: Vec<Entry>,
    /// The GPS sub-directory's tags.
    pub gps: Vec<Entry>,
    /// The Interoperability sub-directory's tags.
    pub interop: Vec<Entry>,
}

/// Orientation (IFD0, SHORT 1–8): how to turn the stored pixels for display; 1 is as stored.
pub const ORIENTATION: u16 = 0x0112;
/// Software (IFD0, ASCII): the program that made the picture.
pub const SOFTWARE: u16 = 0x0131;
/// XResolution (IFD0, RATIONAL): pixels per [`RESOLUTION_UNIT`] across.
pub const X_RESOLUTION: u16 = 0x011A;
/// YResolution (IFD0, RATIONAL): pixels per [`RESOLUTION_UNIT`] down.
pub const Y_RESOLUTION: u16 = 0x011B;
/// ResolutionUnit (IFD0, SHORT): 2 inch, 3 centimetre.
pub const RESOLUTION_UNIT: u16 = 0x0128;
/// PixelXDimension (Exif directory): the picture's width in pixels.
pub const PIXEL_X: u16 = 0xA002;
/// PixelYDimension (Exif directory): the picture's height in pixels.
pub const PIXEL_Y: u16 = 0xA003;
/// InterColorProfile: a TIFF file's embedded ICC profile.
pub const ICC_PROFILE: u16 = 34675;
/// XMLPacket: a TIFF file's embedded XMP.
pub const XMP: u16 = 700;
const EXIF_IFD: u16 = 0x8769;
const GPS_IFD: u16 = 0x8825;
const INTEROP_IFD: u16 = 0xA005;
/// The thumbnail's place, which belongs to IFD1 and is dropped with it.
const THUMBNAIL: [u16; 2] = [0x0201, 0x0202];

/// TIFF type SHORT: 16-bit unsigned.
pub const SHORT: u16 = 3;
/// TIFF type LONG: 32-bit unsigned.
pub const LONG: u16 = 4;
/// TIFF type RATIONAL: two LONGs, numerator then denominator.
pub const RATIONAL: u16 = 5;
/// TIFF type ASCII: 7-bit text ending in a NUL.
pub const ASCII: u16 = 2;

/// Tags of a TIFF file's main directory that describe the picture rather than lay out its
/// pixels: the ones carried from a TIFF input into an output's EXIF.
const DESCRIPTIVE: &[u16] = &[
    270,
    271,
    272,
    ORIENTATION,
    X_RESOLUTION,
    Y_RESOLUTION,
    RESOLUTION_UNIT,
    SOFTWARE,
    306,
    315,
    316,
    33432,
    18246,
    18249,
    0x9C9B,
    0x9C9C,
    0x9C9D,
    0x9C9E,
    0x9C9F,
];

/// Bytes of one element of a type and the size its bytes swap in (rationals are two longs).
fn sizes(kind: u16) -> Option<(usize, usize)> {
    Some(match kind {
        1 | 2 | 6 | 7 => (1, 1),
        3 | 8 => (2, 2),
        4 | 9 | 11 | 13 => (4, 4),
        5 | 10 => (8, 4),
        12 => (8, 8),
        _ => return None,
    })
}

/// Bounds-checked reads in the file's byte order.
struct Reader<'a> {
    b: &'a [u8],
    le: bool,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.le { u16::from_le_bytes(s) } else { u16::from_be_bytes(s) })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.le { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
    }

    /// The entries of the directory at `at` (unknown types and values out of bounds skipped).
    fn ifd(&self, at: usize) -> Option<Vec<Entry>> {
        let n = self.u16(at)? as usize;
        if n > 4096 {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let e = at + 2 + 12 * i;
            let (tag, kind, count) = (self.u16(e)?, self.u16(e + 2)?, self.u32(e + 4)?);
            let Some((size, swap)) = sizes(kind) else { continue };
            let len = size.checked_mul(count as usize)?;
            let start = if len <= 4 { e + 8 } else { self.u32(e + 8)? as usize };
            let Some(raw) = self.b.get(start..start.saturating_add(len)) else { continue };
            let mut data = raw.to_vec();
            if !self.le && swap > 1 {
                data.chunks_exact_mut(swap).for_each(|c| c.reverse());
            }
            out.push(Entry { tag, kind, count, data });
        }
        Some(out)
    }
}

/// The value of a LONG (or SHORT) entry, as an offset.
fn pointer(e: &Entry) -> Option<usize> {
    match e.kind {
        LONG | 13 => Some(u32::from_le_bytes(e.data.get(..4)?.try_into().ok()?) as usize),
        SHORT => Some(u16::from_le_bytes(e.data.get(..2)?.try_into().ok()?) as usize),
        _ => None,
    }
}

impl Exif {
    /// Parses an EXIF block (a TIFF header and its directories; a leading `Exif\0\0` is skipped).
    pub fn parse(bytes: &[u8]) -> Option<Exif> {
        let bytes = bytes.strip_prefix(b"Exif\0\0").unwrap_or(bytes);
        let (r, main) = Self::main_directory(bytes)?;
        let mut out = Exif::default();
        for e in main {
            let sub = |tag| (e.tag == tag).then(|| pointer(&e).and_then(|p| r.ifd(p))).flatten();
            match e.tag {
                EXIF_IFD => {
                    let mut exif = sub(EXIF_IFD).unwrap_or_default();
                    if let Some(p) = exif.iter().find(|x| x.tag == INTEROP_IFD).and_then(pointer) {
                        out.interop = r.ifd(p).unwrap_or_default();
                    }
                    exif.retain(|x| x.tag != INTEROP_IFD);
                    out.exif = exif;
                }
                GPS_IFD => out.gps = sub(GPS_IFD).unwrap_or_default(),
                t if THUMBNAIL.contains(&t) => {}
                _ => out.main.push(e),
            }
        }
        Some(out)
    }

    /// The EXIF of a TIFF file: its main directory's descriptive tags and its sub-directories.
    pub fn from_tiff(bytes: &[u8]) -> Option<Exif> {
        let mut e = Exif::parse(bytes)?;
        e.main.retain(|x| DESCRIPTIVE.contains(&x.tag));
        Some(e)
    }

    /// A tag of a TIFF file's main directory (an ICC profile or XMP packet in a TIFF).
    pub fn tiff_tag(bytes: &[u8], tag: u16) -> Option<Vec<u8>> {
        Self::main_directory(bytes)?.1.into_iter().find(|e| e.tag == tag).map(|e| e.data)
    }

    fn main_directory(bytes: &[u8]) -> Option<(Reader<'_>, Vec<Entry>)> {
        let le = match bytes.get(..4)? {
            b"II*\0" => true,
            b"MM\0*" => false,
            _ => return None,
        };
        let r = Reader { b: bytes, le };
        let first = r.u32(4)? as usize;
        let main = r.ifd(first)?;
        Some((r, main))
    }

    /// True when nothing is left to write.
    pub fn is_empty(&self) -> bool {
        self.main.is_empty() && self.exif.is_empty() && self.gps.is_empty()
    }

    /// The first SHORT or LONG of `tag` in the main directory.
    pub fn number(&self, tag: u16) -> Option<u32> {
        let e = self.main.iter().find(|e| e.tag == tag)?;
        pointer(e).map(|v| v as u32)
    }

    /// The first RATIONAL of `tag` in the main directory, as a number.
    pub fn rational(&self, tag: u16) -> Option<f64> {
        let e = self.main.iter().find(|e| e.tag == tag && e.kind == RATIONAL)?;
        let n = u32::from_le_bytes(e.data.get(..4)?.try_into().ok()?);
        let d = u32::from_le_bytes(e.data.get(4..8)?.try_into().ok()?);
        (d != 0).then(|| n as f64 / d as f64)
    }

    /// Replaces or adds `e` in `dir`, keeping tags in order.
    pub fn set(dir: &mut Vec<Entry>, e: Entry) {
        match dir.binary_search_by_key(&e.tag, |x| x.tag) {
            Ok(i) => dir[i] = e,
            Err(_) => {
                dir.retain(|x| x.tag != e.tag);
                let i = dir.partition_point(|x| x.tag < e.tag);
                dir.insert(i, e);
            }
        }
    }

    /// A SHORT entry holding `v`.
    pub fn short(tag: u16, v: u16) -> Entry {
        Entry { tag, kind: SHORT, count: 1, data: v.to_le_bytes().to_vec() }
    }
    /// A LONG entry holding `v`.
    pub fn long(tag: u16, v: u32) -> Entry {
        Entry { tag, kind: LONG, count: 1, data: v.to_le_bytes().to_vec() }
    }
    /// An ASCII entry holding `s` with its NULs and non-ASCII characters dropped, NUL-terminated.
    pub fn ascii(tag: u16, s: &str) -> Entry {
        let mut data: Vec<u8> = s.bytes().filter(|&b| b != 0 && b.is_ascii()).collect();
        data.push(0);
        Entry { tag, kind: ASCII, count: data.len() as u32, data }
    }
    /// A RATIONAL close to `v` (denominator up to 10000).
    pub fn rational_entry(tag: u16, v: f64) -> Entry {
        let d: u32 = if v.fract() == 0.0 { 1 } else { 10000 };
        let n = (v * d as f64).round().clamp(0.0, u32::MAX as f64) as u32;
        let mut data = n.to_le_bytes().to_vec();
        data.extend_from_slice(&d.to_le_bytes());
        Entry { tag, kind: RATIONAL, count: 1, data }
    }

    /// The EXIF block: a little-endian TIFF header and the directories, no thumbnail.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"II*\0\x08\0\0\0".to_vec();
        self.write_directories(&mut out, &self.main);
        out
    }

    /// Writes `main` (as IFD0) and the sub-directories at the end of `out`, whose first byte is
    /// offset 0 of a little-endian TIFF; returns IFD0's offset.
    pub fn write_directories(&self, out: &mut Vec<u8>, main: &[Entry]) -> u32 {
        let mut main = main.to_vec();
        let subs = [(EXIF_IFD, &self.exif), (GPS_IFD, &self.gps)];
        for (tag, dir) in subs {
            if !dir.is_empty() {
                Exif::set(&mut main, Exif::long(tag, 0));
            }
        }
        align(out);
        let at = out.len() as u32;
        let places = write_ifd(out, &main);
        for (tag, dir) in subs {
            let Some(&place) = places.iter().find(|p| p.0 == tag).map(|(_, p)| p) else { continue };
            let mut dir = dir.clone();
            if tag == EXIF_IFD && !self.interop.is_empty() {
                Exif::set(&mut dir, Exif::long(INTEROP_IFD, 0));
            }
            align(out);
            let sub_at = out.len() as u32;
            out[place..place + 4].copy_from_slice(&sub_at.to_le_bytes());
            let sub_places = write_ifd(out, &dir);
            if let Some(&(_, p)) = sub_places.iter().find(|p| p.0 == INTEROP_IFD) {
                align(out);
                let interop_at = out.len() as u32;
                out[p..p + 4].copy_from_slice(&interop_at.to_le_bytes());
                write_ifd(out, &self.interop);
            }
        }
        at
    }
}

fn align(out: &mut Vec<u8>) {
    if out.len() % 2 == 1 {
        out.push(0);
    }
}

/// Writes one directory (entries sorted, no next directory) and its values at the end of `out`;
/// returns where each entry's value field is, for pointers to fill in.
fn write_ifd(out: &mut Vec<u8>, entries: &[Entry]) -> Vec<(u16, usize)> {
    let mut entries: Vec<&Entry> = entries.iter().collect();
    entries.sort_by_key(|e| e.tag);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    let mut places = Vec::new();
    let mut later = Vec::new();
    for e in &entries {
        out.extend_from_slice(&e.tag.to_le_bytes());
        out.extend_from_slice(&e.kind.to_le_bytes());
        out.extend_from_slice(&e.count.to_le_bytes());
        places.push((e.tag, out.len()));
        if e.data.len() <= 4 {
            let mut v = e.data.clone();
            v.resize(4, 0);
            out.extend_from_slice(&v);
        } else {
            later.push((out.len(), &e.data));
            out.extend_from_slice(&[0; 4]);
        }
    }
    out.extend_from_slice(&[0; 4]);
    for (place, data) in later {
        align(out);
        let at = out.len() as u32;
        out[place..place + 4].copy_from_slice(&at.to_le_bytes());
        out.extend_from_slice(data);
    }
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A big-endian EXIF block with orientation 6, a make, an Exif directory and a thumbnail.
    fn camera_exif() -> Vec<u8> {
        let mut b = b"MM\0*\0\0\0\x08".to_vec();
        // IFD0 at 8: 3 entries.
        b.extend_from_slice(&3u16.to_be_bytes());
        b.extend_from_slice(&[0x01, 0x0F, 0, 2, 0, 0, 0, 6, 0, 0, 0, 50]); // Make, ASCII 6 at 50
        b.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation 6
        b.extend_from_slice(&[0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 56]); // Exif IFD at 56
        b.extend_from_slice(&70u32.to_be_bytes()); // IFD1 at 70
        b.resize(50, 0);
        b.extend_from_slice(b"Canon\0");
        // Exif IFD at 56: PixelXDimension LONG 640.
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&[0xA0, 0x02, 0, 4, 0, 0, 0, 1, 0, 0, 2, 0x80]);
        b.extend_from_slice(&0u32.to_be_bytes());
        // IFD1 at 70: a thumbnail offset.
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&[0x02, 0x01, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]);
        b.extend_from_slice(&0u32.to_be_bytes());
        b
    }

    #[test]
    fn big_endian_block_reads_and_rewrites_little_endian_without_thumbnail() {
        let e = Exif::parse(&camera_exif()).unwrap();
        assert_eq!(e.number(ORIENTATION), Some(6));
        assert_eq!(e.main.iter().find(|x| x.tag == 0x010F).unwrap().data, b"Canon\0");
        assert_eq!(e.exif, vec![Exif::long(PIXEL_X, 640)]);
        let mut e2 = e.clone();
        Exif::set(&mut e2.main, Exif::short(ORIENTATION, 1));
        Exif::set(&mut e2.main, Exif::ascii(SOFTWARE, "upscale"));
        let back = Exif::parse(&e2.to_bytes()).unwrap();
        assert_eq!(back.number(ORIENTATION), Some(1));
        assert_eq!(back.exif, e.exif);
        assert_eq!(back.main.len(), 3, "make, orientation, software: {:?}", back.main);
        assert!(back.main.windows(2).all(|w| w[0].tag < w[1].tag));
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert!(Exif::parse(b"II*\0\xff\xff\xff\xff").is_none());
        assert!(Exif::parse(&camera_exif()[..20]).is_none());
        assert!(Exif::parse(b"").is_none());
    }
}
