//! The memory budget from the command line (issue 19): a size asked that cannot fit in the
//! memory this process may use is refused before anything that size is allocated, as one
//! `error:` line naming the size, the bytes needed and the bytes available, exit status 2;
//! never an aborted allocation ("memory allocation of 51538034700 bytes failed", exit 134).
//! Each path runs under an address-space limit (`prlimit --as`), which the budget reads.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_upscale");

/// The address-space limit the runs get: room for the runtime and a model, not for the sizes
/// asked below.
const LIMIT: u64 = 4 << 30;

fn require_prlimit() {
    let ok = Command::new("prlimit").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "prlimit (util-linux) is needed to set a memory limit");
}

/// `upscale ARGS -q -d cpu` under `prlimit --as=LIMIT`.
fn limited(args: &[&str]) -> Run {
    require_prlimit();
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={LIMIT}")).arg("--").arg(BIN).args(args).args(["-q", "-d", "cpu"]);
    run_cmd(&mut cmd)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit status 2, one `error:` line naming `file`, the size asked and the memory figures.
fn assert_refused(r: &Run, file: &str, size: &str) {
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    assert_one_error(r, file, size);
    let line = r.stderr.trim();
    assert!(line.contains("of memory") && line.contains("available") && line.contains("bytes"), "{line}");
}

fn coffee() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png"))
}

#[test]
fn a_picture_of_65535_squared_is_refused_not_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.png");
    let args = [s(coffee()), "-m", "nearest", "--width", "65535", "--height", "65535", "-o", s(&out)];
    // As the issue ran it (no limit but the machine's), then under the limit.
    let r = upscale_run(&[&args[..], &["-q", "-d", "cpu"]].concat());
    assert_refused(&r, "coffee.png", "65535x65535");
    let r = limited(&args);
    assert_refused(&r, "coffee.png", "65535x65535");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
}

#[test]
fn composed_passes_count_their_intermediate_pictures() {
    // 3000x2000 at 8x with the built-in network: two passes (x2, then x4) to 24000x16000,
    // about 7 GB at the peak: over the room under the limit, refused before the first tile
    // (without the budget the first pass runs for minutes and the second one's allocation fails).
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("wide.png");
    image::RgbImage::from_fn(3000, 2000, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 7) as u8]))
        .save(&input)
        .unwrap();
    let out = dir.path().join("wide_x8.png");
    let r = limited(&[s(&input), "-s", "8", "-o", s(&out)]);
    assert_refused(&r, "wide.png", "24000x16000");
    assert!(!out.exists());
}

#[test]
fn an_outscale_too_large_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    image::RgbImage::from_pixel(1000, 800, image::Rgb([90, 120, 200])).save(&input).unwrap();
    let out = dir.path().join("o.png");
    let r = limited(&[s(&input), "-m", "bicubic", "--outscale", "64", "-o", s(&out)]);
    assert_refused(&r, "in.png", "64000x51200");
    assert!(!out.exists());
}

#[test]
fn the_compare_grid_is_refused_when_it_cannot_fit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid.png");
    let r = limited(&["compare", s(coffee()), "-m", "nearest", "--width", "30000", "--height", "20000", "-o", s(&out)]);
    assert_refused(&r, "coffee.png", "compare grid");
    assert!(!out.exists());
}

#[test]
fn video_frames_too_large_are_refused_before_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let st = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x48:rate=10:duration=1",
        ])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .expect("ffmpeg runs (the test makes its clip with it)");
    assert!(st.success());
    let out = dir.path().join("big.mkv");
    let r = limited(&[s(&clip), "-m", "nearest", "--width", "65535", "--height", "65535", "-o", s(&out)]);
    assert_refused(&r, "clip.mp4", "65535x65535");
    assert!(!out.exists() && std::fs::read_dir(dir.path()).unwrap().count() == 1, "nothing written");
}

#[test]
fn in_a_batch_the_file_too_large_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.png");
    image::RgbImage::from_pixel(8, 6, image::Rgb([200, 10, 10])).save(&small).unwrap();
    let big = dir.path().join("big.png");
    image::RgbImage::from_pixel(4000, 3000, image::Rgb([10, 200, 10])).save(&big).unwrap();
    let out = dir.path().join("out");
    // 16 times: 64000x48000 for the big one (about 37 GB), 128x96 for the small one.
    let r = limited(&[s(&small), s(&big), "-m", "nearest", "--outscale", "16", "-o", s(&out)]);
    assert_eq!(r.status.code(), Some(1), "{}", r.stderr);
    let errors: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(errors[0].contains("big.png") && errors[0].contains("64000x48000"), "{}", errors[0]);
    assert_eq!(image::image_dimensions(out.join("small.png")).unwrap(), (128, 96));
    assert!(!out.join("big.png").exists());
}
