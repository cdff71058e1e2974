//! Hardening of the image and model paths (issue 6): damaged, hostile and awkward inputs, bad
//! models and bad output paths, each with its exact expected outcome. Valid content is upscaled
//! correctly whatever its name; everything else ends in exactly one `error:` line naming the file
//! and the cause, a non-zero exit, no panic, no hang (each run is killed after
//! `upscale_test_support::HANG_LIMIT` and the test fails; no run is timed) and nothing at the
//! output path, not even a temporary `.upscale.partial-*` file.
//!
//! One test crate, a module for each thing hardened (`cargo test --test hardening MODULE`):
//! [`hostile_inputs`], [`awkward_inputs`], [`bad_models`], [`outputs`]; the helpers below are
//! theirs. Inputs are made here in temporary folders; the bad models are committed under
//! tests/data/bad_models/ (made by tools/make_bad_models.py).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::{DynamicImage, ImageBuffer, Luma, LumaA, Rgb, RgbImage};
use upscale::internals::planes::psnr;

use upscale_test_support::{assert_one_error, crc32, run_cmd, Run};

mod awkward_inputs;
mod bad_models;
mod hostile_inputs;
mod outputs;

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(p)
}

fn bad_model(name: &str) -> PathBuf {
    data("bad_models").join(name)
}

/// `upscale ARGS -q -d cpu`.
fn upscale<S: AsRef<OsStr>>(args: &[S]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_upscale"));
    cmd.args(args).args(["-q", "-d", "cpu"]);
    run_cmd(&mut cmd)
}

fn assert_success(r: &Run, what: &str) {
    assert!(r.status.success(), "{what}: failed: {}", r.stderr);
    assert!(r.stderr.trim().is_empty(), "{what}: stderr not empty with -q: {}", r.stderr);
}

/// Files under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// Nothing at `out` and no temporary file left anywhere under `dir`.
fn assert_nothing_written(dir: &Path, out: &Path) {
    assert!(!out.exists(), "{}: output written", out.display());
    let left: Vec<_> = walk(dir).into_iter().filter(|p| p.to_string_lossy().contains(".partial-")).collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// A small photograph: a crop of the bundled sample.
fn photo(w: u32, h: u32) -> RgbImage {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/coffee.png");
    image::open(sample).expect("samples/coffee.png").crop_imm(40, 30, w, h).to_rgb8()
}

/// `out` is `src` enlarged `k` times: the right size and close to a bicubic enlargement.
fn assert_upscaled(out: &Path, src: &RgbImage, k: u32) {
    let got = image::open(out).unwrap_or_else(|e| panic!("{}: {e}", out.display())).to_rgb8();
    let (w, h) = (src.width() * k, src.height() * k);
    assert_eq!(got.dimensions(), (w, h), "{}: size", out.display());
    let reference = image::imageops::resize(src, w, h, image::imageops::FilterType::CatmullRom);
    let p = psnr(got.as_raw(), reference.as_raw());
    assert!(p > 20.0, "{}: {p:.1} dB against bicubic: not the same picture", out.display());
}

fn encode(img: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut v = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut v), format).unwrap();
    v
}

/// Deterministic noise.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A PNG chunk with its length and CRC (`good_crc: false` spoils the CRC).
fn png_chunk(kind: &[u8; 4], body: &[u8], good_crc: bool) -> Vec<u8> {
    let mut c = (body.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(body);
    let crc = crc32(&c[4..]) ^ if good_crc { 0 } else { 0xDEAD_BEEF };
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

/// A PNG signature and an RGB8 IHDR claiming `w`×`h`, then `rest`.
fn png_header(w: u32, h: u32, good_crc: bool, rest: &[u8]) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend(png_chunk(b"IHDR", &ihdr, good_crc));
    v.extend_from_slice(rest);
    v
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
