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
        annotations: Vec::new(),
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

/// The annotations of the test below, as the page sends them: in pixels of the 128x96 result.
const DRAWN: &str = r##"[
    {"op":"rect","x":20,"y":16,"width":60,"height":40,"line":4,"color":"#ff0000"},
    {"op":"ellipse","x":90,"y":10,"width":30,"height":20,"line":2,"color":"#ffffff","fill":"#0000ff"},
    {"op":"arrow","x1":10,"y1":80,"x2":60,"y2":80,"width":3,"color":"#00ff00"},
    {"op":"line","x1":70,"y1":70,"x2":120,"y2":90,"width":2,"color":"#ffff00"},
    {"op":"text","text":"写真","x":90,"y":40,"size":16,"color":"#ff00ff"}]"##;

/// #28 point 2: annotations land where asked and nowhere else (a red rectangle's stroke is red,
/// its inside untouched; a filled ellipse's centre is its fill), and the same list gives the
/// same pixels through `--edit JSON`, `--edit @FILE` and the page's Apply; a video's frames get
/// them from the same code.
#[test]
fn annotations_land_where_asked_and_every_front_end_draws_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let input = d.join("in.png");
    std::fs::write(&input, photo(64, 48)).unwrap();
    let plain = filtered(&input, &d.join("plain.png"), &[]);
    let body = format!(r#"{{"operations":{DRAWN}}}"#);
    let cli = filtered(&input, &d.join("cli.png"), &["--edit", &body]);
    let list = d.join("drawn.json");
    std::fs::write(&list, DRAWN).unwrap();
    let from_file = filtered(&input, &d.join("file.png"), &["--edit", &format!("@{}", list.display())]);
    assert!(cli == from_file, "--edit JSON and @FILE differ");
    let srv = Server::start(d, &[]);
    let served = served_edit(&srv, &input, &body);
    assert!(served == cli, "the page's Apply and --edit differ: {:.1} dB", psnr(&served, &cli));

    // Where the shapes are.
    assert_eq!(cli.get_pixel(20, 36).0, [255, 0, 0], "the rectangle's left edge");
    assert_eq!(cli.get_pixel(50, 16).0, [255, 0, 0], "the rectangle's top edge");
    for (x, y) in [(50, 36), (24, 20), (75, 51)] {
        assert_eq!(cli.get_pixel(x, y), plain.get_pixel(x, y), "inside the rectangle at {x},{y}");
    }
    assert_eq!(cli.get_pixel(105, 20).0, [0, 0, 255], "the ellipse's fill");
    assert_eq!(cli.get_pixel(91, 11), plain.get_pixel(91, 11), "the box corner outside the ellipse");
    assert_eq!(cli.get_pixel(30, 80).0, [0, 255, 0], "the arrow's shaft");
    let magenta = (90..128).flat_map(|x| (40..62).map(move |y| (x, y))).filter(|&(x, y)| {
        let p = cli.get_pixel(x, y).0;
        p[0] > 200 && p[1] < 60 && p[2] > 200
    });
    assert!(magenta.count() > 20, "the text drew nothing in its colour");
    // Nowhere else: every changed pixel is inside a shape's box (its stroke and edge included).
    let boxes = [(16, 12, 84, 60), (87, 7, 123, 33), (5, 70, 63, 90), (66, 66, 124, 94), (86, 36, 128, 62)];
    for (x, y, p) in cli.enumerate_pixels() {
        if p != plain.get_pixel(x, y) {
            assert!(
                boxes.iter().any(|&(x0, y0, x1, y1)| x >= x0 && x < x1 && y >= y0 && y < y1),
                "pixel {x},{y} changed outside every annotation"
            );
        }
    }

    // Refused before any work: a bad list is a usage error naming --edit; the flags do not mix.
    for (args, why) in [
        (vec!["--edit", r#"[{"op":"rect","x":0,"y":0,"width":5,"height":5,"color":"red"}]"#], "#rrggbb"),
        (vec!["--edit", r#"[{"op":"line","x1":0,"y1":0,"x2":9,"y2":9,"width":0}]"#], "width 0"),
        (vec!["--edit", r#"[{"op":"rotate","degrees":90}]"#, "--crop", "0,0,4,4"], "instead of their flags"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_upscale"))
            .arg(&input)
            .args(["-o", d.join("bad.png").to_str().unwrap(), "-q", "-m", "nearest"])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: --edit") && err.contains(why), "{args:?}: {err}");
        assert!(!d.join("bad.png").exists());
    }

    // A video: the first frame carries the same annotations as the picture path.
    let video = d.join("clip.mp4");
    clip(&video, "64x48", 10, 0.5);
    let first = d.join("first.png");
    upscale_test_support::ffmpeg(&["-i", video.to_str().unwrap(), "-frames:v", "1", first.to_str().unwrap()]);
    let want = filtered(&first, &d.join("want.png"), &["--edit", DRAWN]);
    let out = d.join("out.mkv");
    let st = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(&video)
        .arg("-o")
        .arg(&out)
        .args(["-q", "-y", "--device", "cpu", "-m", "nearest", "-s", "2", "--edit", DRAWN])
        .args(["--codec", "ffv1", "--pix-fmt", "yuv444p"])
        .status()
        .unwrap();
    assert!(st.success());
    let got_png = d.join("got.png");
    upscale_test_support::ffmpeg(&["-i", out.to_str().unwrap(), "-frames:v", "1", got_png.to_str().unwrap()]);
    let got = image::open(&got_png).unwrap().to_rgb8();
    // The decoders' colour conversions differ on the clip's sharp edges: compare where the
    // annotations drew.
    let unmarked = filtered(&first, &d.join("first_plain.png"), &[]);
    let drawn: Vec<(u32, u32)> =
        want.enumerate_pixels().filter(|(x, y, p)| unmarked.get_pixel(*x, *y) != *p).map(|(x, y, _)| (x, y)).collect();
    assert!(drawn.len() > 500, "{} pixels drawn", drawn.len());
    let off = |a: &image::RgbImage, b: &image::RgbImage| {
        let sum: i64 = drawn
            .iter()
            .flat_map(|&(x, y)| (0..3).map(move |k| (a.get_pixel(x, y)[k] as i64 - b.get_pixel(x, y)[k] as i64).abs()))
            .sum();
        sum as f64 / (3 * drawn.len()) as f64
    };
    let (same, other) = (off(&got, &want), off(&got, &unmarked));
    assert!(
        same < 6.0 && other > 40.0,
        "video frame vs picture path where drawn: {same:.1} levels off (plain {other:.1})"
    );
}

/// `text` as an annotation in white on a black 240x80 picture, and the warnings given.
fn white_text(text: &str) -> (image::RgbImage, Vec<String>) {
    let black = image::RgbImage::new(240, 80);
    let pic = upscale::internals::still::Picture::from_image(&image::DynamicImage::ImageRgb8(black));
    let ops = format!(r##"[{{"op":"text","text":"{text}","x":10,"y":10,"size":40,"color":"#ffffff"}}]"##);
    let spec =
        EditSpec::from_operations(&serde_json::from_str::<Vec<upscale::edit::Operation>>(&ops).unwrap()).unwrap();
    let rec = upscale::progress::Recorder::default();
    let out = upscale::still::edit(pic, &spec, Path::new("p.png"), &rec).unwrap().to_image().to_rgb8();
    let warnings = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Warning { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    (out, warnings)
}

/// The mean x of the ink in rows `rows` (none: no ink there).
fn ink_x(img: &image::RgbImage, rows: std::ops::Range<u32>) -> Option<f64> {
    let xs: Vec<f64> =
        img.enumerate_pixels().filter(|(_, y, p)| rows.contains(y) && p[0] > 128).map(|(x, _, _)| x as f64).collect();
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// #28 point 3: watermark and annotation text in every script a font here has (the Noto fonts
/// tools/setup.sh installs; without them this fails): two CJK words are two drawings, Arabic is
/// joined and laid right to left, Cyrillic, Devanagari and emoji are drawn, each unlike the box
/// of a character no font has; that box comes with a warning naming the character (library,
/// command line, page).
#[test]
fn every_script_is_drawn_and_a_missing_glyph_is_a_warning() {
    // The issue's case: "写真" and "動画" as watermarks gave the same boxes.
    let draw = |text: &str| {
        let out =
            upscale::still::edit(picture(200, 100), &text_mark(text, Some(24)), Path::new("p"), &NoProgress).unwrap();
        out.to_image().to_rgb8()
    };
    let (photo_word, video_word) = (draw("写真"), draw("動画"));
    let differing = photo_word.pixels().zip(video_word.pixels()).filter(|(a, b)| a != b).count();
    assert!(differing > 100, "写真 and 動画 look alike: {differing} pixels differ");

    let (boxes, _) = white_text("\u{E000}\u{E001}");
    for word in ["写真", "Привет", "नमस्ते", "سلام", "😀🍎"] {
        let (img, warnings) = white_text(word);
        assert!(warnings.is_empty(), "{word}: {warnings:?}");
        assert!(img != boxes && img.pixels().any(|p| p[0] > 128), "{word} drawn as boxes or not at all");
    }
    // Emoji keep their own colours in white text.
    let (emoji, _) = white_text("🍎");
    assert!(emoji.pixels().filter(|p| p[0] > 150 && p[1] < 90 && p[2] < 90).count() > 50, "the apple is not red");
    // Arabic: joined (the isolated forms of the same letters are another drawing) and right to
    // left: alef (a tall stroke) written first is on the right of beh (a low bowl).
    let (joined, _) = white_text("سلام");
    let (isolated, _) = white_text("\u{FEB1}\u{FEDD}\u{FE8D}\u{FEE1}");
    assert!(joined != isolated, "Arabic drawn unshaped");
    let tall = |img: &image::RgbImage| ink_x(img, 10..24).expect("alef's top");
    let all = |img: &image::RgbImage| ink_x(img, 0..80).unwrap();
    let (alef_beh, _) = white_text("اب");
    let (beh_alef, _) = white_text("با");
    assert!(tall(&alef_beh) > all(&alef_beh), "alef written first is not on the right");
    assert!(tall(&beh_alef) < all(&beh_alef), "alef written last is not on the left");

    // A character no font has: a box, and a warning naming it.
    let (_, warnings) = white_text("a\u{E000}b");
    assert!(warnings.iter().any(|w| w.contains("U+E000")), "{warnings:?}");
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.png");
    std::fs::write(&input, photo(64, 48)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_upscale"))
        .arg(&input)
        .arg("-o")
        .arg(tmp.path().join("o.png"))
        .args(["-q", "-y", "--device", "cpu", "-m", "nearest", "-s", "2", "--watermark", "x\u{E000}"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning:") && err.contains("U+E000"), "{err}");
    let srv = Server::start(tmp.path(), &[]);
    let id = srv.submit("in.png", &photo(64, 48), &[("scale", "2"), ("model", "nearest")]);
    assert_eq!(srv.wait(&id, 5 * MINUTE)["state"], "done");
    let ops = r##"{"operations":[{"op":"text","text":"x\uE000","x":4,"y":4,"size":12}]}"##;
    let r = srv.req("POST", &format!("/api/jobs/{id}/edit"), &[("Content-Type", "application/json")], ops.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let eid = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(srv.wait(&eid, MINUTE)["state"], "done");
    let events = srv.get(&format!("/api/jobs/{eid}/events"));
    assert!(events.text().contains("U+E000"), "the page is not told: {}", events.text());
}
