//! Hardening of the image and model paths (issue 6): damaged, hostile and awkward inputs, bad
//! models and bad output paths, each with its exact expected outcome. Valid content is upscaled
//! correctly whatever its name; everything else ends in exactly one `error:` line naming the file
//! and the cause, a non-zero exit, no panic, no hang (each run is killed after common::HANG_LIMIT and the
//! test fails; no run is timed) and nothing at the output path, not even a temporary `.upscale.partial-*` file.
//!
//! Inputs are made here in temporary folders; the bad models are committed under
//! tests/data/bad_models/ (made by tools/make_bad_models.py).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::{DynamicImage, ImageBuffer, Luma, LumaA, Rgb, RgbImage};
use upscale::planes::psnr;

mod common;
use common::{assert_one_error, crc32, run_cmd, Run};

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

// ---------------------------------------------------------------------------------------------
// Damaged and hostile inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn random_bytes_with_image_and_video_extensions_are_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (i, ext) in
        ["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "mp4", "mkv", "mov", "webm", "avi", ""].iter().enumerate()
    {
        let name = if ext.is_empty() { "random".to_string() } else { format!("random.{ext}") };
        let input = dir.path().join(&name);
        std::fs::write(&input, noise(4096, i as u64 + 1)).unwrap();
        let out = dir.path().join(format!("out_{i}.png"));
        let r = upscale(&[s(&input), "-s", "2", "-o", s(&out)]);
        assert_one_error(&r, &name, "");
        assert_nothing_written(dir.path(), &out);
    }
}

#[test]
fn empty_files_are_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["png", "jpg", "webp", "gif", "mp4", "mkv", ""] {
        let name = if ext.is_empty() { "empty".to_string() } else { format!("empty.{ext}") };
        let input = dir.path().join(&name);
        std::fs::write(&input, b"").unwrap();
        let out = dir.path().join(format!("out_{ext}.png"));
        let r = upscale(&[s(&input), "-o", s(&out)]);
        assert_one_error(&r, &name, "");
        assert_nothing_written(dir.path(), &out);
    }
    // An image extension: the image reader says the file is empty.
    let r = upscale(&[s(&dir.path().join("empty.png")), "-o", s(&dir.path().join("o.png"))]);
    assert_one_error(&r, "empty.png", "empty file");
}

#[test]
fn text_named_as_a_video_or_image_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["notes.mkv", "notes.mp4", "notes.png", "notes.jpg"] {
        let input = dir.path().join(name);
        std::fs::write(&input, "Tape 3, side B: transferred 1998. Keep dry.\n".repeat(20)).unwrap();
        let out = dir.path().join(format!("{name}.out.mkv"));
        let r = upscale(&[s(&input), "-o", s(&out)]);
        assert_one_error(&r, name, "");
        assert_nothing_written(dir.path(), &out);
        let out = dir.path().join(format!("{name}.out.png"));
        let r = upscale(&[s(&input), "-o", s(&out)]);
        assert_one_error(&r, name, "");
        assert_nothing_written(dir.path(), &out);
    }
}

#[test]
fn a_folder_named_like_a_video_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("x.mp4");
    std::fs::create_dir(&folder).unwrap();
    let out = dir.path().join("out.mp4");
    let r = upscale(&[s(&folder), "-o", s(&out)]);
    assert_one_error(&r, "x.mp4", "no images or videos");
    assert!(!out.exists(), "an output folder was made");
    // Without -o neither: no `x.mp4_x4` folder claims success.
    let r = upscale(&[s(&folder)]);
    assert_one_error(&r, "x.mp4", "no images or videos");
    assert!(!dir.path().join("x.mp4_x4").exists());
    // Only things that are not pictures in it: the same.
    std::fs::write(folder.join("readme.txt"), "nothing to see").unwrap();
    let r = upscale(&[s(&folder), "-o", s(&out)]);
    assert_one_error(&r, "x.mp4", "no images or videos");
    assert_nothing_written(dir.path(), &out);
}

#[test]
fn audio_only_files_are_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let made = |name: &str, extra: &[&str]| -> Option<PathBuf> {
        let p = dir.path().join(name);
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=1"])
            .args(extra)
            .arg(&p)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        st.is_ok_and(|s| s.success()).then_some(p)
    };
    let m4a = made("a.m4a", &[]).expect("the ffmpeg command makes an audio file (tools/setup.sh installs it)");
    let mut cases = vec![(m4a, "a.m4a")];
    if let Some(p) = made("a.wav", &[]) {
        cases.push((p, "a.wav"));
    }
    // Audio in a video container, and audio named like a picture.
    if let Some(p) = made("sound.mp4", &["-c:a", "aac"]) {
        cases.push((p, "sound.mp4"));
    }
    if let Some(p) = made("sound.png", &["-c:a", "aac", "-f", "mp4"]) {
        cases.push((p, "sound.png"));
    }
    for (input, name) in cases {
        for out_ext in ["mkv", "png"] {
            let out = dir.path().join(format!("{name}.out.{out_ext}"));
            let r = upscale(&[s(&input), "-o", s(&out)]);
            assert_one_error(&r, name, "no video stream");
            assert_nothing_written(dir.path(), &out);
        }
    }
}

#[test]
fn png_bombs_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    // 60000x60000: header only (valid CRC, then nothing), a bad CRC, and a valid header followed
    // by a few bytes of IDAT. (A complete 60000x60000 header with IEND is in tests/still.rs.)
    std::fs::write(d("header_only.png"), png_header(60000, 60000, true, b"")).unwrap();
    std::fs::write(d("bad_crc.png"), png_header(60000, 60000, false, b"")).unwrap();
    let idat = png_chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0x60], true);
    std::fs::write(d("cut_idat.png"), png_header(60000, 60000, true, &idat)).unwrap();
    for name in ["header_only.png", "bad_crc.png", "cut_idat.png"] {
        let out = d(&format!("{name}.out.png"));
        let r = upscale(&[s(&d(name)), "-o", s(&out)]);
        if name == "bad_crc.png" {
            // The PNG reader checks the header's CRC before its size.
            assert_one_error(&r, name, "");
        } else {
            assert_one_error(&r, name, "60000x60000");
        }
        assert_nothing_written(dir.path(), &out);
    }
    // A real compression bomb: 4000x4000 of zeros is some 50 KB of zlib; over --max-pixels it
    // is refused from the header, before 48 MB (or 256 MB as float planes) are decoded.
    let mut bomb = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bomb, 4000, 4000);
        enc.set_color(png::ColorType::Rgb);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&vec![0u8; 4000 * 4000 * 3]).unwrap();
    }
    assert!(bomb.len() < 500_000, "bomb is {} bytes", bomb.len());
    std::fs::write(d("zbomb.png"), &bomb).unwrap();
    let r = upscale(&[s(&d("zbomb.png")), "--max-pixels", "1000000", "-o", s(&d("zb.png"))]);
    assert_one_error(&r, "zbomb.png", "4000x4000");
    assert_nothing_written(dir.path(), &d("zb.png"));
}

#[test]
fn truncated_headers_under_the_size_limit_fail_fast() {
    // Claimed sizes just under the default limit (2^28 pixels): the decoder may reserve the
    // picture, but the missing data must end it within seconds with one clear error.
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let idat = png_chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0x60], true);
    std::fs::write(d("big_cut.png"), png_header(16000, 16000, true, &idat)).unwrap();

    // WebP (lossless) with its header patched to 16383x16383, the format's largest.
    let small = DynamicImage::ImageRgb8(photo(16, 16));
    let mut webp = encode(&small, image::ImageFormat::WebP);
    let at = webp.windows(4).position(|w| w == b"VP8L").expect("lossless WebP") + 9;
    let bits = u32::from_le_bytes(webp[at..at + 4].try_into().unwrap());
    let bits = (bits & !((1 << 28) - 1)) | 16382 | (16382 << 14);
    webp[at..at + 4].copy_from_slice(&bits.to_le_bytes());
    webp.truncate(at + 40);
    std::fs::write(d("big_cut.webp"), &webp).unwrap();

    for name in ["big_cut.png", "big_cut.webp"] {
        let out = d(&format!("{name}.out.png"));
        let r = upscale(&[s(&d(name)), "-o", s(&out)]);
        assert_one_error(&r, name, "");
        assert_nothing_written(dir.path(), &out);
    }
}

#[test]
fn huge_jpeg_and_gif_headers_are_refused_from_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let small = DynamicImage::ImageRgb8(photo(16, 16));
    // JPEG: SOF0 claiming 65000x65000.
    let mut jpg = encode(&small, image::ImageFormat::Jpeg);
    let sof = jpg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline JPEG");
    jpg[sof + 5..sof + 7].copy_from_slice(&65000u16.to_be_bytes());
    jpg[sof + 7..sof + 9].copy_from_slice(&65000u16.to_be_bytes());
    std::fs::write(d("huge.jpg"), &jpg).unwrap();
    // GIF: logical screen and first frame claiming 65535x65535.
    let mut gif = encode(&small, image::ImageFormat::Gif);
    gif[6..10].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let desc = gif.iter().position(|&b| b == 0x2C).expect("image descriptor");
    gif[desc + 5..desc + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    std::fs::write(d("huge.gif"), &gif).unwrap();
    for (name, cause) in [("huge.jpg", "65000x65000"), ("huge.gif", "65535x65535")] {
        let out = d(&format!("{name}.out.png"));
        let r = upscale(&[s(&d(name)), "-o", s(&out)]);
        assert_one_error(&r, name, cause);
        assert_nothing_written(dir.path(), &out);
    }
}

#[test]
fn corrupt_jpeg_entropy_data_is_concealed_or_one_clear_error() {
    // Decision: the JPEG decoder conceals damage in the entropy-coded data as libjpeg does (the
    // picture decodes, with wrong blocks); a file cut before its first scan is an error.
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let src = photo(64, 48);
    let jpg = encode(&DynamicImage::ImageRgb8(src.clone()), image::ImageFormat::Jpeg);
    let sos = jpg.windows(2).position(|w| w == [0xFF, 0xDA]).expect("SOS") + 14;
    let mut flipped = jpg.clone();
    for i in (sos..jpg.len() - 2).step_by(7) {
        flipped[i] ^= 0x5A;
    }
    std::fs::write(d("flipped.jpg"), &flipped).unwrap();
    let mut half = jpg.clone();
    half.truncate(sos + (jpg.len() - sos) / 2);
    std::fs::write(d("half.jpg"), &half).unwrap();
    let mut markers = jpg.clone();
    for i in (sos..jpg.len() - 2).step_by(97) {
        markers[i] = 0xFF;
        markers[i + 1] = 0xD9;
    }
    std::fs::write(d("early_eoi.jpg"), &markers).unwrap();
    for name in ["flipped.jpg", "half.jpg", "early_eoi.jpg"] {
        let out = d(&format!("{name}.out.png"));
        let r = upscale(&[s(&d(name)), "-s", "2", "-o", s(&out)]);
        if r.status.success() {
            assert!(r.stderr.trim().is_empty(), "{name}: {}", r.stderr);
            assert_eq!(image::image_dimensions(&out).unwrap(), (128, 96), "{name}");
        } else {
            assert_one_error(&r, name, "");
            assert_nothing_written(dir.path(), &out);
        }
    }
    let before_sos = &jpg[..sos - 14];
    std::fs::write(d("no_scan.jpg"), before_sos).unwrap();
    let r = upscale(&[s(&d("no_scan.jpg")), "-o", s(&d("ns.png"))]);
    assert_one_error(&r, "no_scan.jpg", "");
    assert_nothing_written(dir.path(), &d("ns.png"));
}

// ---------------------------------------------------------------------------------------------
// Awkward but valid inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn one_and_two_pixel_pictures_upscale_correctly() {
    // Reflection padding (tile_pad 10 by default) on pictures smaller than the pad.
    let dir = tempfile::tempdir().unwrap();
    for (w, h) in [(1, 1), (2, 1), (1, 2), (2, 2), (3, 1), (1, 7), (17, 1)] {
        let src = photo(w, h);
        let input = dir.path().join(format!("tiny_{w}x{h}.png"));
        src.save(&input).unwrap();
        for (scale, extra) in [("4", &[][..]), ("2", &["-t", "16"][..]), ("3", &["--tile-pad", "0"][..])] {
            let out = dir.path().join(format!("tiny_{w}x{h}_x{scale}_{}.png", extra.len()));
            let mut args = vec![s(&input), "-s", scale, "-o", s(&out)];
            args.extend_from_slice(extra);
            let r = upscale(&args);
            assert_success(&r, &format!("{w}x{h} x{scale} {extra:?}"));
            assert_upscaled(&out, &src, scale.parse().unwrap());
        }
    }
    // Composed passes (x8 = 2 then 4) and a finishing resize on a single pixel.
    let src = ImageBuffer::from_pixel(1, 1, Rgb([200u8, 40, 90]));
    let input = dir.path().join("one.png");
    src.save(&input).unwrap();
    let out = dir.path().join("one_x8.png");
    assert_success(&upscale(&[s(&input), "-s", "8", "-o", s(&out)]), "1x1 x8");
    assert_upscaled(&out, &src, 8);
    let out = dir.path().join("one_w5.png");
    assert_success(&upscale(&[s(&input), "--width", "5", "-o", s(&out)]), "1x1 --width 5");
    assert_eq!(image::image_dimensions(&out).unwrap(), (5, 5));
}

#[test]
fn tiny_palette_grey_and_sixteen_bit_pictures_keep_their_kind() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    // A 2x1 palette PNG.
    {
        let f = File::create(d("pal.png")).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(f), 2, 1);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(vec![255, 0, 0, 0, 0, 255]);
        enc.write_header().unwrap().write_image_data(&[0, 1]).unwrap();
    }
    ImageBuffer::from_pixel(1, 1, Luma([40000u16])).save(d("g16.png")).unwrap();
    ImageBuffer::from_fn(2, 1, |x, _| LumaA([100u8, if x == 0 { 255 } else { 0 }])).save(d("ga.png")).unwrap();
    ImageBuffer::from_pixel(1, 2, Rgb([1000u16, 30000, 65535])).save(d("rgb16.png")).unwrap();
    for (name, color, size) in [
        ("pal.png", image::ColorType::Rgb8, (4, 2)),
        ("g16.png", image::ColorType::L16, (2, 2)),
        ("ga.png", image::ColorType::La8, (4, 2)),
        ("rgb16.png", image::ColorType::Rgb16, (2, 4)),
    ] {
        let out = d(&format!("{name}_x2.png"));
        assert_success(&upscale(&[s(&d(name)), "-s", "2", "-o", s(&out)]), name);
        let img = image::open(&out).unwrap();
        assert_eq!((img.color(), (img.width(), img.height())), (color, size), "{name}");
    }
    let pal = image::open(d("pal.png_x2.png")).unwrap().to_rgb8();
    assert!(pal.get_pixel(0, 0)[0] > 150 && pal.get_pixel(3, 1)[2] > 150, "palette colours kept");
    let g = image::open(d("g16.png_x2.png")).unwrap().into_luma16();
    assert!(g.pixels().all(|p| p[0].abs_diff(40000) < 1500), "16-bit grey level kept: {:?}", g.as_raw());
}

#[test]
fn names_with_spaces_and_non_ascii_work() {
    let dir = tempfile::tempdir().unwrap();
    let src = photo(24, 16);
    let input = dir.path().join("é 图 x.png");
    src.save(&input).unwrap();
    // Beside the input under the default name.
    assert_success(&upscale(&[s(&input), "-s", "2"]), "default name");
    assert_upscaled(&dir.path().join("é 图 x_x2.png"), &src, 2);
    // Into a folder whose name has spaces, as WebP.
    let sub = dir.path().join("sortie à Zürich");
    std::fs::create_dir(&sub).unwrap();
    let out = sub.join("输出 ü.webp");
    assert_success(&upscale(&[s(&input), "-s", "2", "-o", s(&out)]), "-o with spaces");
    assert_upscaled(&out, &src, 2);
    // A damaged file with such a name is named in full in its error line.
    let broken = dir.path().join("损坏 é.png");
    std::fs::write(&broken, &std::fs::read(&input).unwrap()[..50]).unwrap();
    let r = upscale(&[s(&broken), "-o", s(&dir.path().join("b.png"))]);
    assert_one_error(&r, "损坏 é.png", "");
}

#[test]
fn names_that_are_not_utf8_keep_their_bytes() {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let dir = tempfile::tempdir().unwrap();
    let src = photo(16, 12);
    let input = dir.path().join(OsStr::from_bytes(b"scan \xff\xfe 1.png"));
    src.save(&input).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_upscale"));
    cmd.arg(&input).args(["-s", "2", "-q", "-d", "cpu"]);
    assert_success(&run_cmd(&mut cmd), "non-UTF-8 name");
    let out = dir.path().join(OsString::from_vec(b"scan \xff\xfe 1_x2.png".to_vec()));
    assert_upscaled(&out, &src, 2);
}

#[test]
fn valid_content_is_read_whatever_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let src = photo(24, 16);
    let img = DynamicImage::ImageRgb8(src.clone());
    let cases: [(&str, image::ImageFormat); 7] = [
        ("jpeg_named.png", image::ImageFormat::Jpeg),
        ("webp_named.mp4", image::ImageFormat::WebP),
        ("gif_named.jpg", image::ImageFormat::Gif),
        ("bmp_without_extension", image::ImageFormat::Bmp),
        ("png_named.txt", image::ImageFormat::Png),
        ("tiff_named.mkv", image::ImageFormat::Tiff),
        ("png_named.WEBP", image::ImageFormat::Png),
    ];
    for (name, format) in cases {
        let input = dir.path().join(name);
        std::fs::write(&input, encode(&img, format)).unwrap();
        let out = dir.path().join(format!("{name}.out.png"));
        assert_success(&upscale(&[s(&input), "-s", "2", "-o", s(&out)]), name);
        assert_upscaled(&out, &src, 2);
    }
    // Without -o: a picture named .mp4 is written as a picture (.png), not as a video.
    let input = dir.path().join("webp_named.mp4");
    assert_success(&upscale(&[s(&input), "-s", "2"]), "default name");
    assert_upscaled(&dir.path().join("webp_named_x2.png"), &src, 2);
}

#[test]
fn animated_gif_upscales_its_first_frame() {
    // Decision: an animated GIF is a still image here; its first frame is upscaled (to animate,
    // convert it to a video first). Frame 1 is red, frame 2 blue.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("anim.gif");
    {
        let f = File::create(&input).unwrap();
        let mut enc = image::codecs::gif::GifEncoder::new(f);
        enc.set_repeat(image::codecs::gif::Repeat::Infinite).unwrap();
        for c in [[220u8, 20, 20, 255], [20, 20, 220, 255]] {
            let frame = image::RgbaImage::from_pixel(12, 8, image::Rgba(c));
            enc.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    let out = dir.path().join("anim_x2.png");
    assert_success(&upscale(&[s(&input), "-s", "2", "-o", s(&out)]), "animated gif");
    let got = image::open(&out).unwrap().to_rgb8();
    assert_eq!(got.dimensions(), (24, 16));
    let mean = |c: usize| got.pixels().map(|p| p[c] as f64).sum::<f64>() / got.pixels().len() as f64;
    assert!(mean(0) > 150.0 && mean(2) < 80.0, "not the first (red) frame: r {:.0} b {:.0}", mean(0), mean(2));
}

// ---------------------------------------------------------------------------------------------
// Bad models
// ---------------------------------------------------------------------------------------------

/// Runs the model at `tests/data/bad_models/<name>` on a small photo and checks the outcome is one
/// clear error naming the model and saying `cause`, with nothing written.
fn assert_model_refused(name: &str, cause: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    photo(40, 30).save(&input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let out = dir.path().join("out.png");
    let model = bad_model(name);
    let r = upscale(&[s(&input), "-m", s(&model), "-s", "2", "-o", s(&out)]);
    assert_one_error(&r, name, cause);
    assert_nothing_written(dir.path(), &out);
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
}

#[test]
fn the_control_model_works() {
    // The bad models are all this one, broken in one way: it must work, so that each failure
    // below is the model's fault and not the harness's.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    let src = photo(40, 30);
    src.save(&input).unwrap();
    for scale in [2, 4] {
        let out = dir.path().join(format!("x{scale}.png"));
        let model = bad_model("good_x2.onnx");
        let r = upscale(&[s(&input), "-m", s(&model), "-s", &scale.to_string(), "-o", s(&out)]);
        assert_success(&r, "good_x2.onnx");
        assert_upscaled(&out, &src, scale);
    }
}

#[test]
fn models_with_the_wrong_input_or_output_are_refused() {
    for (name, cause) in [
        ("one_channel_input.onnx", "expected [N, 3, H, W]"),
        ("int64_input.onnx", "expected float32"),
        ("float16_input.onnx", "expected float32"),
        ("two_inputs.onnx", "2 inputs"),
        ("two_channel_output.onnx", "expected [N, 3, H, W]"),
        ("one_channel_output_dynamic.onnx", "[N, 3, H, W]"),
        ("int64_output.onnx", "expected float32"),
    ] {
        assert_model_refused(name, cause);
    }
}

#[test]
fn nhwc_models_are_refused_as_channels_last() {
    assert_model_refused("nhwc_input.onnx", "NHWC");
}

#[test]
fn models_that_output_nan_or_infinity_are_refused() {
    assert_model_refused("nan_output.onnx", "NaN");
    assert_model_refused("inf_output.onnx", "infinite");
    // NaN only for bright pixels: the black scale probe passes; the real picture must not be
    // written with black or garbage where the NaNs were.
    assert_model_refused("nan_when_bright.onnx", "NaN");
}

#[test]
fn models_that_do_not_enlarge_by_a_whole_factor_are_refused() {
    assert_model_refused("downscale_half.onnx", "not a super-resolution model");
    assert_model_refused("scale_1_5.onnx", "not a super-resolution model");
    assert_model_refused("anisotropic_2x1.onnx", "not a super-resolution model");
}

#[test]
fn an_identity_model_is_refused_not_run_as_scale_one() {
    // Decision: a model whose output is as large as its input is not a super-resolution model;
    // accepting it as x1 would quietly turn `-s 4` into a plain Lanczos enlargement.
    assert_model_refused("identity.onnx", "not a super-resolution model");
}

#[test]
fn unloadable_models_are_refused() {
    assert_model_refused("truncated.onnx", "not a loadable ONNX model");
    assert_model_refused("missing_external_weights.onnx", "not a loadable ONNX model");
    assert_model_refused("opset_99.onnx", "not a loadable ONNX model");
}

#[test]
fn a_model_that_fails_on_real_pictures_is_one_clear_error() {
    // It passes the 32x32 scale probe and fails inside ONNX Runtime on the real picture: the
    // runtime's own log must not reach stderr, and its multi-line message is one line.
    assert_model_refused("fixed_32x32.onnx", "reshape");
}

// ---------------------------------------------------------------------------------------------
// Bad output paths and full disks
// ---------------------------------------------------------------------------------------------

/// A 64x48 noisy photo in `dir/in.png` (noisy, so its enlargement is a few hundred KB), and its
/// bytes.
fn noisy_input(dir: &Path) -> (PathBuf, Vec<u8>) {
    let mut img = photo(64, 48);
    let n = noise(64 * 48 * 3, 7);
    img.iter_mut().zip(n).for_each(|(p, r)| *p = p.wrapping_add(r % 64));
    let input = dir.join("in.png");
    img.save(&input).unwrap();
    let bytes = std::fs::read(&input).unwrap();
    (input, bytes)
}

#[test]
fn an_output_below_a_regular_file_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (input, before) = noisy_input(dir.path());
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "I am a file").unwrap();
    let out = file.join("out.png");
    let r = upscale(&[s(&input), "-o", s(&out)]);
    assert_one_error(&r, "file.txt/out.png", "not a folder");
    assert_eq!(std::fs::read(&file).unwrap(), b"I am a file");
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
    assert_nothing_written(dir.path(), &out);
}

#[test]
fn an_output_in_a_missing_folder_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (input, before) = noisy_input(dir.path());
    let out = dir.path().join("no/such/folder/out.png");
    let r = upscale(&[s(&input), "-o", s(&out)]);
    assert_one_error(&r, "no/such/folder/out.png", "does not exist");
    assert!(!dir.path().join("no").exists(), "a folder was made for a single file");
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
}

#[test]
fn an_output_where_nothing_may_be_written_is_one_clear_error() {
    // Tests run as root, so a read-only folder would not stop them: /proc refuses new files to
    // everyone.
    let dir = tempfile::tempdir().unwrap();
    let (input, before) = noisy_input(dir.path());
    for out in ["/proc/upscale-test-out.png", "/proc/self/upscale-test-out.png"] {
        let r = upscale(&[s(&input), "-s", "2", "-o", out]);
        assert_one_error(&r, out, "cannot write");
        assert!(!Path::new(out).exists());
    }
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
}

#[test]
fn an_existing_folder_as_output_receives_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = noisy_input(dir.path());
    let folder = dir.path().join("results");
    std::fs::create_dir(&folder).unwrap();
    assert_success(&upscale(&[s(&input), "-s", "2", "-o", s(&folder)]), "-o folder");
    assert_eq!(image::image_dimensions(folder.join("in.png")).unwrap(), (128, 96));
    // A folder named like a picture is not replaced, even with -y.
    let trap = dir.path().join("trap.png");
    std::fs::create_dir(&trap).unwrap();
    std::fs::write(trap.join("keep.txt"), "keep").unwrap();
    assert_success(&upscale(&[s(&input), "-s", "2", "-y", "-o", s(&trap)]), "-o folder.png");
    assert_eq!(std::fs::read(trap.join("keep.txt")).unwrap(), b"keep");
    assert!(trap.join("in.png").is_file());
}

/// `upscale ARGS` under `prlimit --fsize=LIMIT`; with `ignore_xfsz` the signal a write past the
/// limit raises is ignored on the way (a shell `trap '' XFSZ`, inherited through exec), so the
/// write fails with EFBIG instead.
fn upscale_with_fsize(limit: u64, ignore_xfsz: bool, args: &[&str]) -> Run {
    let bin = env!("CARGO_BIN_EXE_upscale");
    let mut cmd = Command::new("sh");
    let trap = if ignore_xfsz { "trap '' XFSZ; " } else { "" };
    cmd.arg("-c").arg(format!("{trap}exec prlimit --fsize={limit} -- \"$0\" \"$@\" -q -d cpu")).arg(bin).args(args);
    run_cmd(&mut cmd)
}

/// prlimit (util-linux) must be there: these tests fail, never pass unchecked, without it.
fn require_prlimit() {
    let ok = Command::new("prlimit").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "prlimit (util-linux) is needed to set a file-size limit");
}

#[test]
fn a_full_disk_is_one_clear_error_and_leaves_no_partial_file() {
    require_prlimit();
    let dir = tempfile::tempdir().unwrap();
    let (input, before) = noisy_input(dir.path());
    for ext in ["png", "tif", "bmp"] {
        let out = dir.path().join(format!("out.{ext}"));
        let r = upscale_with_fsize(20_000, true, &[s(&input), "-m", "bicubic", "-o", s(&out)]);
        assert_one_error(&r, &format!("out.{ext}"), "cannot write");
        assert_nothing_written(dir.path(), &out);
    }
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
    // Several files into a folder: each fails alone, the summary says so, nothing left behind.
    let batch = dir.path().join("batch");
    let r = upscale_with_fsize(20_000, true, &[s(&input), s(&input), "-m", "bicubic", "-o", s(&batch)]);
    assert!(!r.status.success() && r.status.code().is_some(), "{:?}: {}", r.status, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_nothing_written(dir.path(), &batch.join("in.png"));
}

#[test]
fn a_file_size_limit_is_an_error_not_a_kill() {
    // `ulimit -f` as a shell sets it: SIGXFSZ at its default action would kill the process
    // mid-write with no error line and the temporary file left behind.
    require_prlimit();
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = noisy_input(dir.path());
    let out = dir.path().join("out.png");
    let r = upscale_with_fsize(20_000, false, &[s(&input), "-m", "bicubic", "-o", s(&out)]);
    assert_one_error(&r, "out.png", "cannot write");
    assert_nothing_written(dir.path(), &out);
}
