//! The page's named presets ("Photo", "Anime and illustration", …): a person picks what the
//! picture is, the network behind it is shown beside. Each preset names the networks that suit
//! it, best first; the first one this server has (the library's registry, `model::list`) is the
//! one offered, and a preset with none of them is left out (so is one whose stand-in is another
//! preset's own network).

use std::path::Path;

use serde_json::{json, Value};

/// id, label, what it is for, which media it is meant for, candidate networks (best first), and
/// the denoise level the preset asks for (for the families that have one).
struct Preset {
    id: &'static str,
    label: &'static str,
    purpose: &'static str,
    media: &'static str,
    models: &'static [&'static str],
    denoise: Option<i32>,
}

const PRESETS: &[Preset] = &[
    Preset {
        id: "photo",
        label: "Photo",
        purpose: "photographs: natural detail, fast",
        media: "image",
        models: &["realesr-general-x4v3", "realesrgan-x4plus"],
        denoise: None,
    },
    Preset {
        id: "photo-best",
        label: "Photo — best and slow",
        purpose: "photographs: the most detail, several times slower",
        media: "image",
        models: &["realesrgan-x4plus"],
        denoise: None,
    },
    Preset {
        id: "anime",
        label: "Anime and illustration",
        purpose: "drawings, anime, flat colours and lines",
        media: "both",
        models: &["realcugan", "realesrgan-x4plus-anime", "realesr-animevideov3"],
        denoise: None,
    },
    Preset {
        id: "video",
        label: "Video",
        purpose: "video: small and fast, steady from frame to frame",
        media: "video",
        models: &["realesr-animevideov3"],
        denoise: None,
    },
    Preset {
        id: "old-scan",
        label: "Old scan",
        purpose: "scanned prints and old pictures: noise and grain cleaned",
        media: "image",
        models: &["waifu2x-cunet"],
        denoise: Some(2),
    },
    Preset {
        id: "sharp-classic",
        label: "Classic resize (no AI)",
        purpose: "plain Lanczos interpolation, instant, nothing invented",
        media: "both",
        models: &["lanczos"],
        denoise: None,
    },
];

/// `{"presets": [...], "image_default": id, "video_default": id}` for the networks present.
pub fn available(model_dir: Option<&Path>) -> Value {
    let known = upscale::model::list(model_dir);
    let present = |m: &str| known.iter().any(|e| e.name == m && e.present);
    let list: Vec<Value> = PRESETS
        .iter()
        .filter_map(|p| {
            let model = p.models.iter().find(|m| present(m))?;
            // A stand-in that another preset offers as its own first choice says nothing more
            // (Photo on realesrgan-x4plus is "Photo — best and slow"): left out.
            let stand_in = *model != p.models[0];
            if stand_in && PRESETS.iter().any(|o| o.id != p.id && o.models[0] == *model && present(model)) {
                return None;
            }
            Some(json!({
                "id": p.id,
                "label": p.label,
                "purpose": p.purpose,
                "media": p.media,
                "model": model,
                "denoise": p.denoise,
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
}
