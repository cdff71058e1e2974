//! The page's named presets ("Photo", "Anime and illustration", …): a person picks what the
//! picture is, the network behind it is shown beside. The networks behind a preset are the
//! registry's rows that name it (models/families.json, a row's `presets` with its rank), best
//! first; the first one this server has (`model::list`) is the one offered, and a preset with
//! none of them is left out (so is one whose stand-in is another preset's own network).
//!
//! The presets themselves (label, purpose sentence, media, denoise) stay here: they are the
//! page's words about what a picture is, not facts about a network, and only the page reads
//! them; the table says which networks serve each one.

use std::path::Path;

use serde_json::{json, Value};

/// id, label, what it is for, which media it is meant for, the denoise level the preset asks
/// for (for the families that have one), the classic resizer it ends with (for the one preset
/// that runs no network), and a note on a medium its network was not made for. Its networks
/// come from the registry ([`networks`]).
struct Preset {
    id: &'static str,
    label: &'static str,
    purpose: &'static str,
    media: &'static str,
    denoise: Option<i32>,
    classic: Option<&'static str>,
    note: Option<&'static str>,
}

const PRESETS: &[Preset] = &[
    Preset {
        id: "photo",
        label: "Photo",
        purpose: "photographs: natural detail, fast",
        media: "image",
        denoise: None,
        classic: None,
        note: None,
    },
    Preset {
        id: "photo-best",
        label: "Photo — best and slow",
        purpose: "photographs: the most detail, several times slower",
        media: "image",
        denoise: None,
        classic: None,
        note: None,
    },
    Preset {
        id: "anime",
        label: "Anime and illustration",
        purpose: "drawings, anime, flat colours and lines",
        media: "both",
        denoise: None,
        classic: None,
        note: None,
    },
    Preset {
        id: "video",
        label: "Video",
        purpose: "video: small and fast, steady from frame to frame",
        media: "video",
        denoise: None,
        classic: None,
        note: Some(
            "its network was trained on animation: on live action (film, phone videos) it flattens skin, \
             hair and foliage into smooth patches; for those, choose a photo network under Advanced → Network",
        ),
    },
    Preset {
        id: "old-scan",
        label: "Old scan",
        purpose: "scanned prints and old pictures: noise and grain cleaned",
        media: "image",
        denoise: Some(2),
        classic: None,
        note: None,
    },
    Preset {
        id: "sharp-classic",
        label: "Classic resize (no AI)",
        purpose: "plain Lanczos interpolation, instant, nothing invented",
        media: "both",
        denoise: None,
        classic: Some("lanczos"),
        note: None,
    },
];

/// The networks behind preset `p`, best first: the families whose row names it, by rank, then
/// its classic resizer.
fn networks(p: &Preset) -> Vec<&'static str> {
    let mut ranked: Vec<(u32, &'static str)> =
        upscale::model::families().iter().filter_map(|f| Some((*f.presets.get(p.id)?, f.name))).collect();
    ranked.sort_unstable();
    ranked.into_iter().map(|(_, name)| name).chain(p.classic).collect()
}

/// What a preset's network offers a person beside the preset's own level: the denoise levels
/// (for a preset that asks for one) and whether it runs at 1× (a clean-up without enlarging),
/// from the registry's variants.
fn offered(p: &Preset, model: &str) -> (Vec<i32>, bool) {
    let variants = upscale::model::family(model).map(|f| f.variants.as_slice()).unwrap_or_default();
    if p.denoise.is_none() {
        return (Vec::new(), false);
    }
    let mut levels: Vec<i32> = variants.iter().map(|v| v.denoise).collect();
    levels.sort_unstable();
    levels.dedup();
    (levels, variants.iter().any(|v| v.scale == 1))
}

/// `{"presets": [...], "image_default": id, "video_default": id}` for the networks present.
pub fn available(model_dir: Option<&Path>) -> Value {
    let known = upscale::model::list(model_dir);
    let present = |m: &str| known.iter().any(|e| e.name == m && e.present);
    let models: Vec<Vec<&str>> = PRESETS.iter().map(networks).collect();
    let list: Vec<Value> = PRESETS
        .iter()
        .zip(&models)
        .filter_map(|(p, candidates)| {
            let model = candidates.iter().find(|m| present(m))?;
            // A stand-in that another preset offers as its own first choice says nothing more
            // (Photo on realesrgan-x4plus is "Photo — best and slow"): left out.
            let stand_in = Some(model) != candidates.first();
            let first_elsewhere = PRESETS.iter().zip(&models).any(|(o, c)| o.id != p.id && c.first() == Some(model));
            if stand_in && first_elsewhere && present(model) {
                return None;
            }
            let (levels, clean_only) = offered(p, model);
            Some(json!({
                "id": p.id,
                "label": p.label,
                "purpose": p.purpose,
                "media": p.media,
                "model": model,
                "denoise": p.denoise,
                "denoise_levels": levels,
                "clean_only": clean_only,
                "note": p.note,
            }))
        })
        .collect();
    // The first preset made for the medium, else the first for both.
    let first = |media: &str| {
        let made = list.iter().find(|p| p["media"] == media);
        made.or_else(|| list.iter().find(|p| p["media"] == "both")).map(|p| p["id"].clone()).unwrap_or(Value::Null)
    };
    let (image, video) = (first("image"), first("video"));
    json!({ "presets": list, "image_default": image, "video_default": video })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_offered_runs_on_a_present_network() {
        let v = available(None);
        let list = v["presets"].as_array().unwrap();
        let known = upscale::model::list(None);
        for p in list {
            assert!(known.iter().any(|e| e.name == p["model"] && e.present), "{p}");
        }
        // Built in whatever is installed: the video network and the classic resize.
        assert!(list.iter().any(|p| p["id"] == "video" && p["model"] == "realesr-animevideov3"), "{v}");
        assert!(!v["image_default"].is_null() && v["video_default"] == "video", "{v}");
    }

    #[test]
    fn each_preset_has_networks_from_the_registry_best_first() {
        for p in PRESETS {
            let names = networks(p);
            assert!(!names.is_empty(), "preset {}: no network names it (models/families.json)", p.id);
            let ranks: Vec<u32> =
                names.iter().filter_map(|n| upscale::model::family(n)?.presets.get(p.id).copied()).collect();
            assert_eq!(ranks, (1..=ranks.len() as u32).collect::<Vec<_>>(), "preset {}: {names:?}", p.id);
        }
        for f in upscale::model::families() {
            for id in f.presets.keys() {
                assert!(PRESETS.iter().any(|p| p.id == *id), "{}: names no preset of the page: {id}", f.name);
            }
        }
    }

    /// Issue 28 point 7: Old scan offers its network's denoise levels and a 1× clean-up (its
    /// first network, waifu2x CUNet, has both); the others offer neither; the Video preset says
    /// its network is made for animation.
    #[test]
    fn old_scan_offers_its_levels_and_a_clean_only_run_and_video_warns_about_live_action() {
        let preset = |id: &str| PRESETS.iter().find(|p| p.id == id).unwrap();
        let scan = preset("old-scan");
        let first = networks(scan)[0];
        assert_eq!(first, "waifu2x-cunet");
        assert_eq!(offered(scan, first), (vec![-1, 0, 1, 2, 3], true));
        assert!(offered(scan, first).0.contains(&scan.denoise.unwrap()));
        for p in PRESETS.iter().filter(|p| p.id != "old-scan") {
            assert_eq!(offered(p, networks(p)[0]), (vec![], false), "{}", p.id);
        }
        assert!(preset("video").note.unwrap().contains("animation"));
        assert!(available(None)["presets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "video" && p["note"].is_string()));
    }

    #[test]
    fn with_only_the_built_in_network_a_stand_in_for_another_presets_own_is_left_out() {
        let empty = tempfile::tempdir().unwrap();
        let v = available(Some(empty.path()));
        let ids: Vec<&str> = v["presets"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
        // Anime would stand in with the video network, Video's own first choice: left out.
        assert_eq!(ids, ["video", "sharp-classic"], "{v}");
        assert_eq!(v["image_default"], "sharp-classic", "{v}");
        assert_eq!(v["video_default"], "video", "{v}");
    }
}
