//! `upscale compare -m A,B,C [--region X,Y,W,H]` (issue 28, point 6): the grid has one panel
//! per network (and the classic resizers when asked), laid out as docs/CLI.md states, and each
//! panel is that network's own output on the region, compared by PSNR with a plain run of the
//! command line on the region cut out.

mod common;

use std::path::Path;

use upscale::internals::planes::psnr;

use common::{s, upscale_run, Run};

const NETWORKS: [&str; 3] = ["realesr-animevideov3", "waifu2x-upconv7-photo", "span"];
/// The region compared, in input pixels.
const REGION: (u32, u32, u32, u32) = (30, 20, 40, 30);
const STRIP: u32 = 24;
const GAP: u32 = 4;

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png"))
}

fn ok(args: &[&str]) -> Run {
    let mut a = args.to_vec();
    a.push("-q");
    let r = upscale_run(&a);
    assert!(r.status.success(), "upscale {args:?}: {}", r.stderr);
    r
}

/// Panel `i` of a grid of `w`×`h` panels.
fn panel(grid: &image::RgbImage, i: u32, (w, h): (u32, u32)) -> image::RgbImage {
    image::imageops::crop_imm(grid, i * (w + GAP), STRIP, w, h).to_image()
}

#[test]
fn three_networks_on_a_region_each_panel_is_that_networks_own_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("photo.png");
    image::open(sample()).unwrap().crop_imm(0, 0, 120, 90).save(&input).unwrap();
    let (x, y, w, h) = REGION;
    let region = format!("{x},{y},{w},{h}");
    let out = dir.path().join("grid.png");
    let models = NETWORKS.join(",");
    ok(&["compare", s(&input), "-m", &models, "-s", "2", "--region", &region, "-o", s(&out)]);
    let grid = image::open(&out).unwrap().into_rgb8();
    let cell = (2 * w, 2 * h);
    assert_eq!(grid.dimensions(), (3 * cell.0 + 2 * GAP, cell.1 + STRIP), "three panels, no resizers");

    // Each network alone on the region cut out.
    let cut = dir.path().join("cut.png");
    image::open(&input).unwrap().crop_imm(x, y, w, h).save(&cut).unwrap();
    let refs: Vec<image::RgbImage> = NETWORKS
        .iter()
        .map(|m| {
            let r = dir.path().join(format!("{m}.png"));
            ok(&[s(&cut), "-m", m, "-s", "2", "-o", s(&r)]);
            image::open(&r).unwrap().into_rgb8()
        })
        .collect();
    for (i, m) in NETWORKS.iter().enumerate() {
        let got = panel(&grid, i as u32, cell);
        let own = psnr(got.as_raw(), refs[i].as_raw());
        assert!(own >= 45.0, "{m}: its panel is {own:.1} dB from its own run");
        for (j, other) in refs.iter().enumerate().filter(|(j, _)| *j != i) {
            let p = psnr(got.as_raw(), other.as_raw());
            assert!(p < own, "{m}'s panel is as close to {}'s output ({p:.1} dB) as to its own", NETWORKS[j]);
        }
        eprintln!("{m}: {own:.1} dB from its own run");
    }
    // Labels: white text in each panel's strip.
    for i in 0..3 {
        let x0 = i * (cell.0 + GAP);
        let white = (x0..x0 + cell.0)
            .flat_map(|x| (0..STRIP).map(move |y| (x, y)))
            .filter(|&(x, y)| grid.get_pixel(x, y)[0] > 200)
            .count();
        assert!(white > 20, "panel {i} has no label");
    }
}

#[test]
fn classic_resizers_join_on_request_and_a_region_outside_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("photo.png");
    image::open(sample()).unwrap().crop_imm(0, 0, 64, 48).save(&input).unwrap();
    let out = dir.path().join("grid.png");
    let models = NETWORKS[..2].join(",");
    ok(&["compare", s(&input), "-m", &models, "-s", "2", "--classic", "-o", s(&out)]);
    let grid = image::open(&out).unwrap().into_rgb8();
    let cell = (128, 96);
    assert_eq!(grid.dimensions(), (5 * cell.0 + 4 * GAP, cell.1 + STRIP), "three resizers and two networks");
    // The first panel is nearest: every 2x2 block one colour.
    let nearest = panel(&grid, 0, cell);
    assert!((0..cell.1).step_by(2).all(|y| (0..cell.0).step_by(2).all(|x| {
        let p = nearest.get_pixel(x, y);
        p == nearest.get_pixel(x + 1, y) && p == nearest.get_pixel(x, y + 1)
    })));

    // A region past the picture's edge: one error naming --region, the picture's size and the
    // file, exit 2.
    let bad = dir.path().join("bad.png");
    let r = upscale_run(&["compare", s(&input), "-m", &models, "--region", "40,40,30,30", "-o", s(&bad), "-q"]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    common::assert_one_error(&r, "--region", "64x48");
    assert!(r.stderr.contains("photo.png"), "{}", r.stderr);
    assert!(!bad.exists());
}
