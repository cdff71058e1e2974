//! Pictures keep what they carry: JPEG, PNG, WebP and TIFF inputs made by Pillow with an ICC
//! profile, EXIF (orientation 6, camera, date, copyright, an Exif directory), XMP and 300 dpi
//! are upscaled by the real binary and read back by Pillow: the profile's bytes are equal, the
//! EXIF fields are equal, orientation is 1 and the pixels are turned, sizes and dpi follow the
//! scale, and the output names the program and the network (`--no-provenance`: it does not).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::run_cmd;

const BIN: &str = env!("CARGO_BIN_EXE_upscale");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/metadata").join(name)
}

/// Makes the test picture in `format` with tests/data/metadata/make_input.py (Pillow).
fn make_input(dir: &Path, format: &str) -> PathBuf {
    let p = dir.join(format!("in.{format}"));
    let o = Command::new("python3").arg(data("make_input.py")).arg(format).arg(&p).output().expect("python3 runs");
    assert!(
        o.status.success(),
        "python3 with Pillow (tools/setup.sh installs it): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    p
}

/// What Pillow reads from `out` (tests/data/metadata/read_output.py).
fn read(inp: &Path, out: &Path) -> serde_json::Value {
    let o = Command::new("python3").arg(data("read_output.py")).arg(inp).arg(out).output().expect("python3 runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

/// Upscales `inp` ×2 into `out` with `args`; returns stderr (JSON events).
fn upscale(inp: &Path, out: &Path, args: &[&str]) -> String {
    let r = run_cmd(Command::new(BIN).args(["-s", "2", "--progress", "json"]).args(args).arg(inp).arg("-o").arg(out));
    assert!(r.status.success(), "{}: {}", inp.display(), r.stderr);
    r.stderr
}

fn check(format: &str, out_format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let inp = make_input(dir.path(), format);
    let out = dir.path().join(format!("out.{out_format}"));
    upscale(&inp, &out, &["-m", "lanczos"]);
    let v = read(&inp, &out);
    let ctx = format!("{format} -> {out_format}: {v}");
    // 40x24 stored, orientation 6: 24x40 shown, 48x80 upscaled; the pixels turned as Pillow turns them.
    assert_eq!(v["size"], serde_json::json!([48, 80]), "{ctx}");
    assert!(v["pixel_diff"].as_f64().unwrap() < 12.0, "pixels not turned as the orientation says: {ctx}");
    assert!(!v["icc_in"].as_str().unwrap().is_empty(), "{ctx}");
    assert_eq!(v["icc"], v["icc_in"], "ICC profile bytes differ: {ctx}");
    let exif = &v["exif"];
    assert_eq!(exif["274"], "1", "orientation: {ctx}");
    for (tag, want) in
        [("271", "TestCam"), ("272", "Model X"), ("33432", "(c) Someone"), ("306", "2024:01:02 03:04:05")]
    {
        assert_eq!(exif[tag], want, "EXIF {tag}: {ctx}");
    }
    let software = exif["305"].as_str().unwrap_or_default();
    assert!(software.starts_with("upscale ") && software.contains("filter lanczos"), "EXIF Software: {ctx}");
    if format != "tif" {
        // Pillow writes no Exif directory into a TIFF; the others have one with the pixel size.
        assert_eq!(v["exif_sub"]["36867"], "2024:01:02 03:04:05", "{ctx}");
        assert_eq!(
            (v["exif_sub"]["40962"].as_str(), v["exif_sub"]["40963"].as_str()),
            (Some("48"), Some("80")),
            "{ctx}"
        );
    }
    let xmp = v["xmp"].as_str().unwrap();
    assert!(xmp.contains("CC-BY test"), "XMP: {ctx}");
    assert!(xmp.contains(r#"tiff:Orientation="1""#), "XMP orientation: {ctx}");
    if out_format != "webp" && format != "webp" {
        // 300 dpi scaled with the picture: the printed size stays the same.
        let dpi = v["dpi"][0].as_f64().unwrap_or(0.0);
        assert!((dpi - 600.0).abs() < 1.0, "dpi {dpi}: {ctx}");
    }
}

#[test]
fn png_keeps_icc_exif_xmp_text_and_dpi() {
    check("png", "png");
    let dir = tempfile::tempdir().unwrap();
    let inp = make_input(dir.path(), "png");
    let out = dir.path().join("out.png");
    upscale(&inp, &out, &["-m", "lanczos"]);
    let v = read(&inp, &out);
    assert_eq!(v["texts"]["Comment"], "hello", "{v}");
    assert!(v["texts"]["Software"].as_str().unwrap_or_default().starts_with("upscale "), "{v}");
}

#[test]
fn jpeg_keeps_icc_exif_xmp_and_dpi() {
    check("jpg", "jpg");
}

#[test]
fn webp_keeps_icc_exif_and_xmp() {
    check("webp", "webp");
}

#[test]
fn tiff_keeps_icc_exif_xmp_and_dpi() {
    check("tif", "tif");
}

#[test]
fn formats_cross_and_say_what_they_cannot_hold() {
    check("png", "jpg");
    check("jpg", "tif");
    check("tif", "webp");
    // PNG text has no place in a JPEG: a note says so.
    let dir = tempfile::tempdir().unwrap();
    let inp = make_input(dir.path(), "png");
    let err = upscale(&inp, &dir.path().join("out.jpg"), &["-m", "lanczos"]);
    assert!(err.contains("PNG text (Comment)"), "{err}");
}

/// The network's name and the sha256 of its weights are in the output, as models/README.md has it.
#[test]
fn provenance_names_the_network_and_its_sha256_and_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let inp = make_input(dir.path(), "png");
    let out = dir.path().join("net.png");
    upscale(&inp, &out, &["-m", "realesr-animevideov3", "--precision", "fp32", "--threads", "2"]);
    let v = read(&inp, &out);
    let software = v["texts"]["Software"].as_str().unwrap_or_default().to_string();
    assert!(software.starts_with(&format!("upscale {}", env!("CARGO_PKG_VERSION"))), "{software}");
    assert!(software.contains("model realesr-animevideov3 x2 sha256:"), "{software}");
    assert!(software.contains("precision fp32") && software.contains("24x40 -> 48x80"), "{software}");
    let sha = software.split("sha256:").nth(1).unwrap().split(|c: char| !c.is_ascii_hexdigit()).next().unwrap();
    // The compiled-in x2 network, as models/README.md lists it.
    assert_eq!(sha, "7f12f7789bb894d610c270ca90a948306753aca94146cb788c8d5e86aa3be258", "{software}");
    assert_eq!(v["exif"]["305"], software, "EXIF Software too");
    let bare = dir.path().join("bare.png");
    upscale(&inp, &bare, &["-m", "lanczos", "--no-provenance"]);
    let v = read(&inp, &bare);
    assert!(v["texts"].get("Software").is_none() && v["exif"].get("305").is_none(), "{v}");
    assert_eq!(v["exif"]["271"], "TestCam", "the rest is kept: {v}");
}
