//! Awkward but valid inputs: one- and two-pixel pictures, palette, grey and 16-bit pictures,
//! odd and non-UTF-8 names, misleading extensions, animated GIFs. Each is upscaled correctly and
//! keeps its kind.

use super::*;

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
fn animated_gif_as_png_is_an_apng_whose_first_frame_comes_first() {
    // Decision (issue 28): an animated GIF keeps every frame; `.png` writes an APNG, whose
    // default picture (what a still viewer shows) is the first frame (tests/animated.rs checks
    // every frame). Frame 1 is red, frame 2 blue.
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
    let apng = image::codecs::png::PngDecoder::new(std::io::BufReader::new(File::open(&out).unwrap())).unwrap();
    assert!(apng.is_apng().unwrap(), "an animation written as an APNG");
    let got = image::open(&out).unwrap().to_rgb8();
    assert_eq!(got.dimensions(), (24, 16));
    let mean = |c: usize| got.pixels().map(|p| p[c] as f64).sum::<f64>() / got.pixels().len() as f64;
    assert!(mean(0) > 150.0 && mean(2) < 80.0, "not the first (red) frame: r {:.0} b {:.0}", mean(0), mean(2));
}
