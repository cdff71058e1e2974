//! The edit step as one piece of the library: the same edit through the command line, the
//! library and the web server gives the same pixels; watermarks are bounded (refused before any
//! drawing when they cannot fit) and cancellable; text is drawn with a real font, so "©" is not
//! a "?".

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use upscale::edit::{Color, Crop, EditError, EditSpec, Mark, Position, Rotation, Watermark};
use upscale::jobs::{self, Job, Kind};
use upscale::progress::{Event, NoProgress, Progress};
use upscale::{Config, Device, Engine, Error};
use upscale_test_support::serve::*;

const MINUTE: Duration = Duration::from_secs(60);

/// The page's flow on `input`: uploaded at nearest ×2, then Apply with the operations `ops`
/// (JSON); the edited result, decoded.
fn served_edit(srv: &Server, input: &Path, ops: &str) -> image::RgbImage {
    let id = srv.submit("in.png", &std::fs::read(input).unwrap(), &[("scale", "2"), ("model", "nearest")]);
    assert_eq!(srv.wait(&id, 5 * MINUTE)["state"], "done");
    let r = srv.req("POST", &format!("/api/jobs/{id}/edit"), &[("Content-Type", "application/json")], ops.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let eid = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(srv.wait(&eid, MINUTE)["state"], "done");
    image::load_from_memory(&srv.get(&format!("/api/jobs/{eid}/result")).body).unwrap().to_rgb8()
}

/// The edit of the test below, as the library's spec.
fn spec() -> EditSpec {
    EditSpec {
        crop: Some(Crop { x: 8, y: 4, width: 100, height: 80 }),
        rotate: Some(Rotation::Cw90),
        flip_horizontal: true,
        flip_vertical: false,
        color: Some(Color { brightness: 0.1, contrast: 1.2, saturation: 0.8 }),
        filters: Vec::new(),
        resize: None,
        watermarks: vec![Watermark {
            mark: Mark::Text("© Ünï".into()),
            position: Position::BottomRight,
            size: Some(12),
            opacity: Some(0.9),
        }],
    }
}

fn nearest(edit: EditSpec) -> Config {
    Config { model: Some("nearest".into()), scale: 2, device: Device::Cpu, overwrite: true, edit, ..Config::default() }
}

/// Issue 21: `--crop … --watermark "© Ünï"` on the command line, `Config::edit` through
/// `jobs::run_job`, and the page's upload then Apply give identical pixels.
#[test]
fn the_same_edit_through_cli_library_and_server_gives_the_same_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.png");
    std::fs::write(&input, photo(64, 48)).unwrap();

    // The command line.
    let cli_out = tmp.path().join("cli.png");
    let st = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(&input)
        .arg("-o")
        .arg(&cli_out)
        .args(["-q", "-y", "--device", "cpu", "-m", "nearest", "-s", "2"])
        .args(["--crop", "8,4,100,80", "--rotate", "90", "--flip", "h"])
        .args(["--brightness", "0.1", "--contrast", "1.2", "--saturation", "0.8"])
        .args(["--watermark", "© Ünï", "--watermark-size", "12", "--watermark-opacity", "0.9"])
        .status()
        .expect("run the CLI");
    assert!(st.success());
    let cli = image::open(&cli_out).unwrap().to_rgb8();
    assert_eq!(cli.dimensions(), (80, 100));

    // The library.
    let lib_out = tmp.path().join("lib.png");
    let cfg = nearest(spec());
    let engine = Engine::new(&cfg).unwrap();
    let job =
        Job { input: input.clone(), output: lib_out.clone(), kind: Kind::Image, settings: cfg, create_dirs: false };
    assert_eq!(jobs::run_job(&job, &engine, &NoProgress).unwrap(), upscale::Outcome::Done);
    let lib = image::open(&lib_out).unwrap().to_rgb8();

    // The server: upload, then Apply with the page's operations.
    let srv = Server::start(tmp.path(), &[]);
    let ops = r#"{"operations":[{"op":"crop","x":8,"y":4,"width":100,"height":80},{"op":"rotate","degrees":90},
        {"op":"flip","direction":"horizontal"},{"op":"adjust","brightness":0.1,"contrast":1.2,"saturation":0.8},
        {"op":"watermark","text":"© Ünï","position":"bottom-right","size":12,"opacity":0.9}]}"#;
    let served = served_edit(&srv, &input, ops);

    assert!(cli == lib, "the CLI and the library differ: {:.1} dB", psnr(&cli, &lib));
    assert!(served == lib, "the server and the library differ: {:.1} dB", psnr(&served, &lib));
    // And the edit did something: the watermark's corner is not the plain crop.
    let plain = tmp.path().join("plain.png");
    let mut no_mark = spec();
    no_mark.watermarks.clear();
    let cfg = nearest(no_mark);
    let job = Job { input, output: plain.clone(), kind: Kind::Image, settings: cfg, create_dirs: false };
    assert_eq!(jobs::run_job(&job, &engine, &NoProgress).unwrap(), upscale::Outcome::Done);
    assert!(image::open(&plain).unwrap().to_rgb8() != lib, "the watermark drew nothing");
}

/// A picture of `w`×`h` in the library's form.
fn picture(w: u32, h: u32) -> upscale::internals::still::Picture {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 128]));
    upscale::internals::still::Picture::from_image(&image::DynamicImage::ImageRgb8(img))
}

fn text_mark(text: &str, size: Option<u32>) -> EditSpec {
    EditSpec {
        watermarks: vec![Watermark {
            mark: Mark::Text(text.into()),
            position: Position::Center,
            size,
            opacity: Some(1.0),
        }],
        ..EditSpec::default()
    }
}

/// Issue 19 point 2: a size-4096 watermark (hours with the old outline loop) is refused before
/// anything is drawn, by the library, the command line and the server, and the server still
/// answers after.
#[test]
fn a_size_4096_watermark_is_refused_before_any_drawing() {
    let t0 = Instant::now();
    let r = upscale::still::edit(picture(256, 256), &text_mark("upscale", Some(4096)), Path::new("p.png"), &NoProgress);
    match r {
        Err(Error::Edit { source: EditError::MarkTooLarge { mark_height, .. }, .. }) => assert_eq!(mark_height, 5120),
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("a 4096 px watermark on a 256x256 picture was drawn"),
    }
    assert!(t0.elapsed() < Duration::from_secs(1), "returned");

    // The command line: one error line, exit 1 (the input failed), nothing written.
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.png");
    std::fs::write(&input, photo(64, 48)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(&input)
        .args(["-o"])
        .arg(tmp.path().join("o.png"))
        .args([
            "-y",
            "--device",
            "cpu",
            "-m",
            "nearest",
            "-s",
            "2",
            "--watermark",
            "upscale",
            "--watermark-size",
            "4096",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not fit"), "{err}");
    assert!(!tmp.path().join("o.png").exists());

    // The server: refused at once with the reason, and it still answers.
    let srv = Server::start(tmp.path(), &[]);
    let id = srv.submit("in.png", &photo(64, 48), &[("scale", "2"), ("model", "nearest")]);
    assert_eq!(srv.wait(&id, 5 * MINUTE)["state"], "done");
    let ops = r#"{"operations":[{"op":"watermark","text":"upscale","size":4096}]}"#;
    let r = srv.req("POST", &format!("/api/jobs/{id}/edit"), &[("Content-Type", "application/json")], ops.as_bytes());
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("does not fit"), "{}", r.text());
    assert_eq!(srv.json(&format!("/api/jobs/{id}"))["state"], "done");
    // A resize past the memory available is refused the same way, before any allocation.
    let ops = r#"{"operations":[{"op":"resize","width":65535,"height":65535}]}"#;
    let r = srv.req("POST", &format!("/api/jobs/{id}/edit"), &[("Content-Type", "application/json")], ops.as_bytes());
    assert!(r.status == 400 || r.status == 413, "{}", r.text());
    assert_eq!(srv.get("/api/jobs").status, 200);
}

/// Cancels at the first event.
struct StopNow;
impl Progress for StopNow {
    fn event(&self, _: &Event) -> bool {
        false
    }
}

/// The largest watermark that fits is drawn in bands the progress can stop.
#[test]
fn a_large_watermark_can_be_cancelled() {
    let r = upscale::still::edit(picture(4000, 3000), &text_mark("W", Some(2000)), Path::new("p.png"), &StopNow);
    assert!(matches!(r, Err(Error::Cancelled)), "{:?}", r.err());
}

/// Issue 19 point 8: "© Ünï" is drawn with its own glyphs, not as the old "? ?n?".
#[test]
fn a_unicode_watermark_is_drawn_with_its_own_glyphs() {
    let draw = |text: &str| {
        let out =
            upscale::still::edit(picture(200, 100), &text_mark(text, Some(24)), Path::new("p"), &NoProgress).unwrap();
        out.to_image().to_rgb8()
    };
    let unicode = draw("© Ünï");
    let old = draw("? ?n?");
    let plain = picture(200, 100).to_image().to_rgb8();
    assert!(unicode != plain, "nothing drawn");
    let differing = unicode.pixels().zip(old.pixels()).filter(|(a, b)| a != b).count();
    assert!(differing > 50, "© Ünï looks like the '?' rendering ({differing} pixels differ)");
    // A character the font has not is a visible box, not a "?" and not nothing.
    let missing = draw("写");
    assert!(missing != draw("?") && missing != plain);
}

/// The command line's edit on a video: after the model, in the same pipeline (one decode, one
/// encode), every frame and the audio kept.
#[test]
fn a_video_is_edited_after_scaling_in_one_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("clip.mp4");
    clip(&input, "64x48", 10, 1.0);
    let (_, _, frames_in, _) = probe(&input);
    let out = tmp.path().join("out.mkv");
    let st = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .args(["-q", "-y", "--device", "cpu", "-m", "nearest", "-s", "2"])
        .args(["--crop", "8,4,100,80", "--rotate", "90", "--flip", "v", "--saturation", "0"])
        .args(["--watermark", "© Ünï", "--watermark-position", "top-left"])
        .status()
        .unwrap();
    assert!(st.success());
    let (w, h, frames, audio) = probe(&out);
    assert_eq!((w, h, frames), (80, 100, frames_in));
    assert!(audio.is_some(), "the audio is kept");
    // Timestamps as the upscale alone writes them.
    let plain = tmp.path().join("plain.mkv");
    let st = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(&input)
        .arg("-o")
        .arg(&plain)
        .args(["-q", "-y", "--device", "cpu", "-m", "nearest", "-s", "2"])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(frame_times(&out), frame_times(&plain), "every frame keeps its timestamp");
}

/// `upscale ARGS` on `input` into `out` (nearest ×2 on the CPU), decoded.
fn filtered(input: &Path, out: &Path, args: &[&str]) -> image::RgbImage {
    let st = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["-q", "-y", "--device", "cpu", "-m", "nearest", "-s", "2"])
        .args(args)
        .status()
        .expect("run the CLI");
    assert!(st.success(), "{args:?}");
    image::open(out).unwrap().to_rgb8()
}

/// Sum of absolute differences between horizontal neighbours: how much fine detail there is.
fn detail(img: &image::RgbImage) -> u64 {
    let (w, h) = img.dimensions();
    (0..h)
        .flat_map(|y| (1..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let (a, b) = (img.get_pixel(x, y).0, img.get_pixel(x - 1, y).0);
            (0..3).map(|k| (a[k] as i64 - b[k] as i64).unsigned_abs()).sum::<u64>()
        })
        .sum()
}

/// #28 point 1: each filter changes the pixels as its name says, the page's operations give the
/// command line's pixels, and a video's frames get the same filters as a picture.
#[test]
fn filters_change_pixels_as_named_on_every_path() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let input = d.join("in.png");
    std::fs::write(&input, photo(64, 48)).unwrap();
    let plain = filtered(&input, &d.join("plain.png"), &[]);
    let gray = filtered(&input, &d.join("gray.png"), &["--filter", "grayscale"]);
    assert!(gray.pixels().all(|p| p[0] == p[1] && p[1] == p[2]), "grayscale leaves colour");
    let inv = filtered(&input, &d.join("inv.png"), &["--filter", "invert"]);
    assert!(inv.as_raw().iter().zip(plain.as_raw()).all(|(a, b)| (*a as i32 + *b as i32 - 255).abs() <= 1));
    let sepia = filtered(&input, &d.join("sepia.png"), &["--filter", "sepia"]);
    assert!(sepia.pixels().all(|p| p[0] >= p[1] && p[1] >= p[2]), "sepia is warm everywhere");
    assert!(sepia != plain);
    let blur = filtered(&input, &d.join("blur.png"), &["--filter", "blur=2"]);
    let sharp = filtered(&input, &d.join("sharp.png"), &["--filter", "sharpen=2"]);
    assert!(detail(&blur) * 4 < detail(&plain) * 3, "blur: {} vs {}", detail(&blur), detail(&plain));
    assert!(detail(&sharp) > detail(&plain) * 5 / 4, "sharpen: {} vs {}", detail(&sharp), detail(&plain));
    let mean = |i: &image::RgbImage| i.as_raw().iter().map(|&v| v as f64).sum::<f64>() / i.as_raw().len() as f64;
    assert!((mean(&blur) - mean(&plain)).abs() < 1.0, "a blur keeps the mean");
    let vig = filtered(&input, &d.join("vig.png"), &["--filter", "vignette"]);
    let (w, h) = vig.dimensions();
    assert_eq!(vig.get_pixel(0, 0).0, [0, 0, 0], "the corner goes dark");
    let centre = |i: &image::RgbImage| i.get_pixel(w / 2, h / 2).0;
    assert!(centre(&vig).iter().zip(centre(&plain)).all(|(a, b)| (*a as i32 - b as i32).abs() <= 2));
    let bad = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(&input)
        .args(["-o", "x.png", "-q", "--filter", "blur=99"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("blur amount 99"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // The page's Apply: the same filters as operations, the same pixels.
    let both = filtered(&input, &d.join("both.png"), &["--filter", "sepia=0.7", "--filter", "blur=1.5"]);
    let srv = Server::start(d, &[]);
    let ops =
        r#"{"operations":[{"op":"filter","name":"sepia","amount":0.7},{"op":"filter","name":"blur","amount":1.5}]}"#;
    let served = served_edit(&srv, &input, ops);
    assert!(served == both, "the page's filters differ from the command line's: {:.1} dB", psnr(&served, &both));

    // A video: every frame filtered by the same code (4:4:4 FFV1, so only the colour conversion
    // differs from the picture path on the decoded first frame).
    let video = d.join("clip.mp4");
    clip(&video, "64x48", 10, 0.5);
    let first = d.join("first.png");
    upscale_test_support::ffmpeg(&["-i", video.to_str().unwrap(), "-frames:v", "1", first.to_str().unwrap()]);
    let want = filtered(&first, &d.join("want.png"), &["--filter", "sepia=0.7", "--filter", "blur=1.5"]);
    let out = d.join("out.mkv");
    let args = ["--filter", "sepia=0.7", "--filter", "blur=1.5", "--codec", "ffv1", "--pix-fmt", "yuv444p"];
    let st = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(&video)
        .arg("-o")
        .arg(&out)
        .args(["-q", "-y", "--device", "cpu", "-m", "nearest", "-s", "2"])
        .args(args)
        .status()
        .unwrap();
    assert!(st.success());
    let got_png = d.join("got.png");
    upscale_test_support::ffmpeg(&["-i", out.to_str().unwrap(), "-frames:v", "1", got_png.to_str().unwrap()]);
    let got = image::open(&got_png).unwrap().to_rgb8();
    let unfiltered = filtered(&first, &d.join("first_plain.png"), &[]);
    let (same, other) = (psnr(&got, &want), psnr(&got, &unfiltered));
    assert!(same >= 35.0 && same > other + 5.0, "video frame vs picture path: {same:.1} dB (unfiltered {other:.1} dB)");
}
