//! The `start` event tells the truth about what is coming (issue 19): a picture's start counts
//! the tiles of every pass (the progress events reach it exactly), a video's its frames as the
//! container counts them, or, from a container that keeps no count (Matroska), the duration
//! times the frame rate, marked `"estimated":true`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// The JSON events of `upscale ARGS --progress json -d cpu`.
fn events(args: &[&str]) -> Vec<Value> {
    let r = upscale_run(&[args, &["--progress", "json", "-d", "cpu", "-y"]].concat());
    assert!(r.status.success(), "{}", r.stderr);
    r.stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn start(ev: &[Value]) -> &Value {
    ev.iter().find(|e| e["event"] == "start").expect("a start event")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_picture_starts_with_the_tiles_of_every_pass() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8 * 2, y as u8 * 3, 90])).save(&input).unwrap();
    // 8x on the built-in network: x2 then x4; tiles of 32 give 3x2 then 6x4.
    let ev = events(&[
        s(&input),
        "-m",
        "realesr-animevideov3",
        "-s",
        "8",
        "--tile",
        "32",
        "-o",
        s(&dir.path().join("o.png")),
    ]);
    let st = start(&ev);
    assert_eq!(st["total"], 6 + 24, "{st}");
    assert_eq!(st["unit"], "tiles");
    assert!(st.get("estimated").is_none(), "{st}");
    let last = ev.iter().rev().find(|e| e["event"] == "progress").unwrap();
    assert_eq!((last["done"].as_u64(), last["total"].as_u64()), (Some(30), Some(30)), "{last}");
    // A classic filter is one step: one of one.
    let ev = events(&[s(&input), "-m", "lanczos", "-s", "3", "-o", s(&dir.path().join("l.png"))]);
    assert_eq!(start(&ev)["total"], 1);
    assert!(ev.iter().any(|e| e["event"] == "progress" && e["done"] == 1 && e["total"] == 1));
}

#[test]
fn a_video_starts_with_its_frames_counted_or_estimated() {
    let dir = tempfile::tempdir().unwrap();
    for (name, exact) in [("clip.mp4", true), ("clip.mkv", false)] {
        let clip = dir.path().join(name);
        let st = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .args(["-i", "testsrc2=size=64x48:rate=10:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
            .arg(&clip)
            .status()
            .expect("ffmpeg runs (the test makes its clips with it)");
        assert!(st.success());
        let out = dir.path().join(format!("out_{name}"));
        let ev = events(&[s(&clip), "-m", "bicubic", "-s", "2", "-o", s(&out)]);
        let st = start(&ev);
        assert_eq!((st["total"].as_u64(), st["unit"].as_str()), (Some(20), Some("frames")), "{name}: {st}");
        assert_eq!(st.get("estimated").is_some_and(|v| v == true), !exact, "{name}: {st}");
        let done = ev.iter().rev().find(|e| e["event"] == "progress").unwrap()["done"].as_u64();
        assert_eq!(done, Some(20), "{name}");
    }
}
