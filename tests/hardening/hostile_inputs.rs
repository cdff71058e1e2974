//! Damaged and hostile inputs: random bytes, empty files, text or folders named like media,
//! audio alone, decompression bombs, truncated headers, corrupt entropy data. Each is one clear
//! `error:` line (or, for concealable damage, a correct picture), fast, with nothing written.

use super::*;

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
    assert!(r.stderr.contains("(see --max-pixels)"), "the command line names its flag: {}", r.stderr);
    assert_nothing_written(dir.path(), &d("zb.png"));
    // The library's own words, which the web page shows as they are, name no flag.
    let Err(e) = upscale::internals::still::load(&d("zbomb.png"), 1_000_000) else { panic!("the bomb was decoded") };
    assert!(matches!(e, upscale::Error::TooLarge { .. }), "{e:?}");
    assert!(e.report().contains("over the limit of 1000000 pixels") && !e.report().contains("--"), "{}", e.report());
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
