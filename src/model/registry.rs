//! The network families, read from models/families.json: the one table that the tools
//! (tools/families.py, convert_models.sh, bench_families.sh, make_family_fixtures.py) read too.
//! For each family: what it is for, its trained variants (native scale × denoise level, with the
//! file and its sha256), how the engine frames it, its licence and source, its cost, whether
//! `auto` may try bf16 for it, and which of the page's presets offer it. `upscale models`, the
//! page, job plans and the engine all read it through [`families`] and [`family`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The table, built into the binary.
const TABLE: &str = include_str!("../../models/families.json");

/// One trained network of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Variant {
    /// Native scale (1 for a clean-up network that does not enlarge).
    pub scale: u32,
    /// Denoise level: -1 conservative (the lightest clean-up), 0 none, 1-3 stronger.
    pub denoise: i32,
    /// File stem: `<file>.onnx` (fp32), `<file>-fp16.onnx`, `<file>-int8.onnx`.
    pub file: &'static str,
    /// sha256 of the fp32 ONNX file (models/README.md).
    pub sha256: &'static str,
    /// Floating-point operations per input pixel of one run, multiply-adds counted as two
    /// (tools/flops.py; the model bench's TFLOP/s).
    pub flops: u64,
    /// A test case: the fixture picture (`tests/data/families/<test>_in.png`) whose reference
    /// output is `tests/data/families/<family>_x<scale>_d<denoise>_ref.png`.
    #[serde(default, borrow)]
    pub test: Option<&'static str>,
}

/// How a family's network meets the picture's border and a tile's neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Padded convolutions: the engine mirrors [`crate::tile::BORDER`] px around the picture
    /// (Real-ESRGAN's pre-padding) and crops the network's output; each tile is given `reach` px
    /// of its neighbours (`--tile-pad` sets both).
    Outer {
        /// Input pixels of neighbouring picture a tile needs on every side to make the whole
        /// picture's pixels: the receptive field's radius, or where that is far (RRDB nets) the
        /// context measured to hold tiles of 32 at >= 50 dB from the whole picture
        /// (models/README.md, "Tiles").
        reach: u32,
    },
    /// Unpadded convolutions with the runner's own border inside the graph (Real-CUGAN,
    /// waifu2x): the picture goes in as it is; a tile is given `context` px of its
    /// neighbours (never more than the picture has) and keeps its own part of the output.
    Own {
        /// Pixels of neighbouring picture each tile is given on every side.
        context: u32,
    },
}

/// Where a family's files are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// fp32 and int8 built into the binary; fp16 in the model folder.
    Embedded,
    /// Converted by tools/setup.sh into the model folder (`.cache/models`).
    Cache,
}

/// One family of networks: one row of models/families.json (its `columns` say the same).
#[derive(Debug, Clone, Deserialize)]
pub struct Family {
    /// The name given to `-m`.
    pub name: &'static str,
    /// What it is for: "photo", "anime/illustration", "video", "scans".
    #[serde(borrow)]
    pub purposes: Vec<&'static str>,
    /// One line about it.
    pub about: &'static str,
    /// Licence of the weights.
    pub licence: &'static str,
    /// Where the weights come from (package and version, as converted).
    pub source: &'static str,
    /// Its networks: one per native scale and denoise level, by scale then level.
    pub variants: Vec<Variant>,
    /// How its networks meet the picture's border and a tile's neighbours.
    pub framing: Framing,
    /// Squeeze-excite blocks pool over the whole picture: tiles need the pooled means of the
    /// whole picture (the engine's two-pass tiling, models/README.md).
    pub squeeze_excite: bool,
    /// Has int8 files (`--precision int8`).
    pub int8: bool,
    /// Has fp16 files (made by the set-up, for GPUs).
    pub fp16: bool,
    /// Built into the binary or converted into the model folder.
    pub location: Location,
    /// Time for a 320×240 picture at [`Family::cost_scale`] (denoise 0) through `upscale`,
    /// relative to realesr-animevideov3 ×4 measured right before it (the table's `cost_note`:
    /// BENCHMARKS.md, AMD EPYC Zen 4, 2 threads, fp32). `upscale models --measure` times them
    /// on this machine.
    pub cost: f64,
    /// The scale [`Family::cost`] was measured at (tools/bench_families.sh).
    pub cost_scale: u32,
    /// `--precision auto` may try OpenVINO bf16 for it; false where its bf16 output fell under
    /// [`crate::model::openvino_choice::AUTO_MIN_DB`] on a real photograph (the row's
    /// `bf16_note` says where). `--precision bf16` runs it either way.
    pub bf16_auto: bool,
    /// The page's presets that offer it, with its rank there: 1 is the preset's first choice,
    /// a later rank stands in when the earlier ones are not installed.
    #[serde(borrow)]
    pub presets: BTreeMap<&'static str, u32>,
}

impl Family {
    /// Native scales, ascending, without repeats.
    pub fn scales(&self) -> Vec<u32> {
        let mut s: Vec<u32> = self.variants.iter().map(|v| v.scale).collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Denoise levels trained at any scale, ascending.
    pub fn denoise_levels(&self) -> Vec<i32> {
        let mut d: Vec<i32> = self.variants.iter().map(|v| v.denoise).collect();
        d.sort_unstable();
        d.dedup();
        d
    }

    /// The variants trained at denoise `level`.
    pub fn at_level(&self, level: i32) -> Vec<Variant> {
        self.variants.iter().copied().filter(|v| v.denoise == level).collect()
    }

    /// "x2: -1, 0, 1, 2, 3; x4: -1, 0, 3": the levels at each scale.
    pub fn levels_by_scale(&self) -> String {
        self.scales()
            .iter()
            .map(|&s| {
                let l: Vec<String> =
                    self.variants.iter().filter(|v| v.scale == s).map(|v| v.denoise.to_string()).collect();
                format!("x{s}: {}", l.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The part of models/families.json the engine reads (the tools' columns are left to them).
#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
struct Table {
    families: Vec<Family>,
}

/// The table's rows, or what is wrong with the text (models/families.json: the cause).
fn parse(text: &'static str) -> Result<Vec<Family>, String> {
    serde_json::from_str::<Table>(text).map(|t| t.families).map_err(|e| format!("models/families.json: {e}"))
}

/// Every family, in the order `upscale models` prints them (the table's order).
///
/// The table is built into the binary and parsed once; a malformed one fails the unit test
/// `registry::tests::the_table_is_well_formed` before it can reach a user, so a parse error here
/// is a bug in the build and stops with its cause.
pub fn families() -> &'static [Family] {
    static ROWS: OnceLock<Vec<Family>> = OnceLock::new();
    ROWS.get_or_init(|| parse(TABLE).unwrap_or_else(|e| panic!("{e}")))
}

/// The family called `name`.
pub fn family(name: &str) -> Option<&'static Family> {
    families().iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_MODEL, DEFAULT_PICTURE_MODEL};
    use std::path::Path;

    #[test]
    fn every_family_has_level_0_or_says_which_it_has() {
        for f in families() {
            assert!(!f.variants.is_empty(), "{}", f.name);
            assert!(f.scales().iter().all(|s| [1, 2, 3, 4].contains(s)), "{}", f.name);
        }
        let c = family("realcugan").unwrap();
        assert_eq!(c.denoise_levels(), vec![-1, 0, 1, 2, 3]);
        assert_eq!(c.levels_by_scale(), "x2: -1, 0, 1, 2, 3; x3: -1, 0, 3; x4: -1, 0, 3");
        assert_eq!(family("waifu2x-cunet").unwrap().scales(), vec![1, 2]);
    }

    fn sha256(bytes: &[u8]) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Every key of `v` is one of the table's documented columns (`columns`, "variants.x" for
    /// a variant's): a misspelt key would otherwise be silently left out.
    fn documented(v: &serde_json::Value, prefix: &str, columns: &serde_json::Map<String, serde_json::Value>) {
        for k in v.as_object().unwrap().keys() {
            let key = format!("{prefix}{k}");
            assert!(columns.contains_key(&key), "models/families.json: column {key} is not in `columns`");
        }
    }

    #[test]
    fn the_table_is_well_formed() {
        let rows = parse(TABLE).unwrap_or_else(|e| panic!("{e}"));
        let raw: serde_json::Value = serde_json::from_str(TABLE).unwrap();
        let columns = raw["columns"].as_object().expect("models/families.json: `columns` documents the columns");
        let packages = raw["packages"].as_object().expect("models/families.json: `packages`");
        let mut files = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for (f, r) in rows.iter().zip(raw["families"].as_array().unwrap()) {
            let n = f.name;
            assert!(names.insert(n), "{n}: two rows");
            documented(r, "", columns);
            assert!(!f.purposes.is_empty() && !f.about.is_empty() && !f.licence.is_empty(), "{n}");
            assert!(!f.variants.is_empty(), "{n}: no variants");
            match f.framing {
                Framing::Outer { reach } => assert!((1..=crate::config::MAX_TILE_PAD).contains(&reach), "{n}: reach"),
                Framing::Own { context } => assert!(context > 0, "{n}: context"),
            }
            let order: Vec<(u32, i32)> = f.variants.iter().map(|v| (v.scale, v.denoise)).collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(order, sorted, "{n}: variants not by scale then level, or repeated");
            for (v, rv) in f.variants.iter().zip(r["variants"].as_array().unwrap()) {
                documented(rv, "variants.", columns);
                assert!([1, 2, 3, 4].contains(&v.scale) && (-1..=3).contains(&v.denoise), "{n}: {v:?}");
                assert!(files.insert(v.file), "{}: file named twice", v.file);
                assert!(v.flops > 0, "{}: no flops (tools/flops.py)", v.file);
                assert!(
                    v.sha256.len() == 64 && v.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                    "{}: sha256 {:?} is not 64 lowercase hex digits",
                    v.file,
                    v.sha256
                );
                if let Some(pic) = v.test {
                    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/families");
                    let reference = format!("{n}_x{}_d{}_ref.png", v.scale, v.denoise);
                    for p in [format!("{pic}_in.png"), reference] {
                        assert!(dir.join(&p).is_file(), "{n}: test fixture {p} missing: tools/make_family_fixtures.py");
                    }
                }
            }
            assert!(f.cost > 0.0, "{n}: cost {}", f.cost);
            assert!(f.variants.iter().any(|v| v.scale == f.cost_scale && v.denoise == 0), "{n}: cost_scale");
            assert_eq!(f.bf16_auto, r.get("bf16_note").is_none(), "{n}: bf16_note says why bf16_auto is false");
            assert!(f.presets.values().all(|&rank| rank >= 1), "{n}: preset ranks start at 1");
            let conv = &r["converter"];
            match conv["by"].as_str() {
                Some("families.py") => {
                    let pkg = conv["package"].as_str().unwrap_or_default();
                    assert!(packages.contains_key(pkg), "{n}: converter package {pkg:?} not in `packages`");
                    assert!(
                        ["realcugan", "waifu2x", "ncnn"].contains(&conv["reference"].as_str().unwrap_or("")),
                        "{n}"
                    );
                    for (v, rv) in f.variants.iter().zip(r["variants"].as_array().unwrap()) {
                        assert!(rv["ncnn"].is_string(), "{}: no ncnn source", v.file);
                        let framed = conv["frame"].get(v.scale.to_string()).is_some();
                        assert_eq!(framed, matches!(f.framing, Framing::Own { .. }), "{}: frame vs framing", v.file);
                    }
                    // Each converted family has a test case against its package (tests/models.rs).
                    assert!(f.variants.iter().any(|v| v.test.is_some()), "{n}: no test case");
                }
                Some("convert_models.sh") => assert!(conv["note"].is_string(), "{n}: say how it is converted"),
                by => panic!("{n}: converter by {by:?}"),
            }
            if f.location == Location::Embedded {
                for v in &f.variants {
                    for int8 in [false, true] {
                        let file = format!("models/{}{}.onnx", v.file, if int8 { "-int8" } else { "" });
                        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(&file);
                        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
                        let built_in =
                            crate::model::embedded(v.file, int8).unwrap_or_else(|| panic!("{file} not built in"));
                        assert_eq!(on_disk, built_in, "{file}");
                        if !int8 {
                            assert_eq!(sha256(&on_disk), v.sha256, "{file}: differs from the table");
                        }
                    }
                }
            }
        }
        // Each preset's ranks are 1, 2, … without gaps or ties.
        let mut ranks: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for f in &rows {
            for (p, r) in &f.presets {
                ranks.entry(p).or_default().push(*r);
            }
        }
        for (p, mut r) in ranks {
            r.sort_unstable();
            assert_eq!(r, (1..=r.len() as u32).collect::<Vec<_>>(), "preset {p}: ranks");
        }
        for d in [DEFAULT_MODEL, DEFAULT_PICTURE_MODEL] {
            assert!(rows.iter().any(|f| f.name == d), "the default {d} is not a row");
        }
    }

    #[test]
    fn a_malformed_table_is_an_error_naming_the_file() {
        let e = parse(r#"{"families": [{"name": "x"}]}"#).unwrap_err();
        assert!(e.starts_with("models/families.json: missing field"), "{e}");
        let e = parse(r#"{"families": [}"#).unwrap_err();
        assert!(e.starts_with("models/families.json: ") && e.contains("line 1"), "{e}");
    }
}
