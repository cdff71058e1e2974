//! The fonts text is drawn with, character by character: the bundled DejaVu Sans Mono Bold
//! first for Latin, Greek, Cyrillic and common punctuation (its pixels are the watermark's since
//! the start), then the fonts found at run time under `/usr/share/fonts` (Debian's
//! `fonts-noto-core`, `fonts-noto-cjk`, `fonts-noto-color-emoji`, installed by tools/setup.sh)
//! for everything else: CJK, Arabic, Devanagari, emoji… A fixed search, no fontconfig: the Noto
//! Sans bold faces first, then any other font file, each read only when a character needs it
//! (its character map kept, its bytes kept only once it draws something). Fonts are loaded once
//! per process and live as long as it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ab_glyph::FontRef;

static BUNDLED: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");

/// Where font files are looked for.
pub const FONT_DIR: &str = "/usr/share/fonts";

/// Font files tried first, in this order, before any other (by file name).
const PREFERRED: [&str; 8] = [
    "NotoSans-Bold.ttf",
    "NotoSansCJK-Bold.ttc",
    "NotoSansArabic-Bold.ttf",
    "NotoSansDevanagari-Bold.ttf",
    "NotoSansHebrew-Bold.ttf",
    "NotoSansSymbols-Bold.ttf",
    "NotoSansSymbols2-Regular.ttf",
    "NotoColorEmoji.ttf",
];

/// One font face, parsed for drawing (`ab_glyph`) and for shaping (`rustybuzz`).
pub struct Face {
    /// The file it came from (`bundled` for DejaVu Sans Mono Bold).
    #[cfg_attr(not(test), allow(dead_code))]
    pub name: String,
    /// Outlines and metrics.
    pub glyphs: FontRef<'static>,
    /// Shaping tables (and colour bitmaps, through its `ttf_parser` face).
    pub shaper: rustybuzz::Face<'static>,
}

impl Face {
    fn parse(name: String, data: &'static [u8]) -> Option<Face> {
        Some(Face {
            name,
            glyphs: FontRef::try_from_slice_and_index(data, 0).ok()?,
            shaper: rustybuzz::Face::from_slice(data, 0)?,
        })
    }

    /// Whether the face has a glyph for `c`.
    pub fn has(&self, c: char) -> bool {
        self.shaper.glyph_index(c).is_some()
    }
}

/// The bundled DejaVu Sans Mono Bold.
pub fn bundled() -> &'static Face {
    static FACE: OnceLock<Face> = OnceLock::new();
    // The bundled file is part of the source: a failure to parse it is a broken build.
    FACE.get_or_init(|| Face::parse("bundled".into(), BUNDLED).expect("the bundled DejaVu font parses"))
}

/// A font file found, its character map once read, its face once used.
struct Slot {
    path: PathBuf,
    /// Sorted, disjoint ranges of the code points it maps (read on first need); empty when the
    /// file cannot be read or parsed.
    coverage: Option<Vec<(u32, u32)>>,
    face: Option<&'static Face>,
}

impl Slot {
    fn covers(&mut self, c: char) -> bool {
        let ranges = self.coverage.get_or_insert_with(|| coverage(&self.path).unwrap_or_default());
        let c = c as u32;
        let i = ranges.partition_point(|&(_, end)| end < c);
        ranges.get(i).is_some_and(|&(start, _)| start <= c)
    }

    fn face(&mut self) -> Option<&'static Face> {
        if self.face.is_none() {
            let data: &'static [u8] = Box::leak(std::fs::read(&self.path).ok()?.into_boxed_slice());
            let name = self.path.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
            self.face = Some(Box::leak(Box::new(Face::parse(name, data)?)));
        }
        self.face
    }
}

/// The code points a font file maps, as ranges.
fn coverage(path: &Path) -> Option<Vec<(u32, u32)>> {
    let data = std::fs::read(path).ok()?;
    let face = ttf_parser_face(&data)?;
    let mut points = Vec::new();
    for sub in face.tables().cmap?.subtables {
        if sub.is_unicode() {
            sub.codepoints(|c| {
                if sub.glyph_index(c).is_some_and(|g| g.0 != 0) {
                    points.push(c)
                }
            });
        }
    }
    points.sort_unstable();
    points.dedup();
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for p in points {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == p => *end = p,
            _ => ranges.push((p, p)),
        }
    }
    Some(ranges)
}

fn ttf_parser_face(data: &[u8]) -> Option<rustybuzz::ttf_parser::Face<'_>> {
    rustybuzz::ttf_parser::Face::parse(data, 0).ok()
}

/// Every font file under `dir`, preferred ones first, then bold before regular, sans before
/// serif, upright before italic, by name.
fn font_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "ttf" | "otf" | "ttc"))
            {
                files.push(p);
            }
        }
    }
    let key = |p: &PathBuf| {
        let name = p.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let rank = PREFERRED.iter().position(|f| *f == name).unwrap_or(PREFERRED.len());
        (rank, !name.contains("Bold"), name.contains("Serif"), name.contains("Italic"), name)
    };
    files.sort_by_key(key);
    files
}

/// The fonts found on this machine, in the order they are tried.
fn library() -> &'static Mutex<Vec<Slot>> {
    static LIBRARY: OnceLock<Mutex<Vec<Slot>>> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let slots =
            font_files(Path::new(FONT_DIR)).into_iter().map(|path| Slot { path, coverage: None, face: None }).collect();
        Mutex::new(slots)
    })
}

/// Characters the bundled font draws first when it has them: Latin, IPA, Greek, Cyrillic,
/// Armenian and their marks, general punctuation, symbols and arrows.
fn bundled_first(c: char) -> bool {
    c < '\u{0590}' || ('\u{1D00}'..='\u{1FFF}').contains(&c) || ('\u{2000}'..='\u{2BFF}').contains(&c) && !joiner(c)
}

/// Characters that belong with the one before them: joiners, variation selectors, emoji skin
/// tones and tags, combining marks.
pub fn joiner(c: char) -> bool {
    matches!(c,
        '\u{200C}' | '\u{200D}' | '\u{20E3}' | '\u{FE00}'..='\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0020}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}' | '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// The face that draws `c`, given the face that drew the character before it (kept when it has
/// `c` and `c` is a joiner or outside the bundled font's scripts, so a run stays in one font for
/// shaping); outside those scripts the fonts found come before the bundled one. `None` when no
/// font here has it.
pub fn face_for(c: char, previous: Option<&'static Face>) -> Option<&'static Face> {
    let dejavu = bundled();
    if let Some(p) = previous {
        if (joiner(c) || !bundled_first(c)) && p.has(c) {
            return Some(p);
        }
    }
    if bundled_first(c) && dejavu.has(c) {
        return Some(dejavu);
    }
    let mut slots = library().lock().unwrap_or_else(|e| e.into_inner());
    for slot in slots.iter_mut() {
        if slot.covers(c) {
            if let Some(f) = slot.face() {
                if f.has(c) {
                    return Some(f);
                }
            }
        }
    }
    dejavu.has(c).then_some(dejavu)
}

/// How many font files were found under [`FONT_DIR`] (0: only the bundled font draws).
#[cfg(test)]
fn found() -> usize {
    library().lock().unwrap_or_else(|e| e.into_inner()).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_stays_in_the_bundled_font_and_other_scripts_find_theirs() {
        let dejavu = bundled();
        for c in ['A', 'é', 'Ж', '©', ' '] {
            assert!(std::ptr::eq(face_for(c, None).unwrap(), dejavu), "{c}");
        }
        // The Noto fonts (tools/setup.sh): a test that fails, not skips, without them.
        assert!(found() > 0, "no fonts under {FONT_DIR}: run tools/setup.sh (fonts-noto-*)");
        for (c, font) in [('写', "NotoSansCJK"), ('ب', "Arabic"), ('क', "Devanagari"), ('😀', "Emoji")] {
            let f = face_for(c, None).unwrap_or_else(|| panic!("no font for {c}"));
            assert!(f.name.contains(font), "{c} in {}", f.name);
        }
        // A space after Arabic goes back to the bundled font; a joiner stays.
        let arabic = face_for('ب', None);
        assert!(std::ptr::eq(face_for(' ', arabic).unwrap(), dejavu));
        let emoji = face_for('👩', None);
        assert!(std::ptr::eq(face_for('\u{200D}', emoji).unwrap(), emoji.unwrap()));
        assert!(face_for('\u{E000}', None).is_none(), "a private-use character has a font here");
    }
}
