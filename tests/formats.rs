//! Archive containers and every encoder Debian's FFmpeg offers, through the real binary. The
//! classic `bicubic` resizer stands in for the network: what is checked here is demuxing,
//! decoding, encoding and muxing (frame counts, timestamps, codecs, bit depth, copied audio).

use std::path::Path;
use std::process::Command;

mod common;
use common::{ffmpeg, ffprobe, frame_times, run_cmd, s};

const BIN: &str = env!("CARGO_BIN_EXE_upscale");

/// `ffprobe -show_entries ENTRY` of the first stream of `sel` (`v:0`, `a:0`), one value a line.
fn probe(path: &Path, sel: &str, entry: &str) -> String {
    ffprobe(path, &["-select_streams", sel, "-show_entries", entry, "-of", "default=nw=1:nk=1"]).trim().to_string()
}

/// The MD5 of the first audio stream's packets, copied out untouched.
fn audio_md5(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-c", "copy", "-f", "md5", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Upscales `inp` into `out` by 2 (bicubic unless `extra` names a model), and checks it
/// succeeded.
fn upscale(inp: &Path, out: &Path, extra: &[&str]) {
    let model: &[&str] = if extra.contains(&"-m") { &[] } else { &["-m", "bicubic"] };
    let o = run_cmd(Command::new(BIN).args(model).args(["-s", "2", "-q"]).args(extra).arg(inp).arg("-o").arg(out));
    assert!(o.status.success(), "{}: {}", inp.display(), o.stderr);
    // Encoder libraries that print by themselves are kept quiet: -q means nothing on stderr.
    assert!(o.stderr.is_empty(), "{}: {}", inp.display(), o.stderr);
}

fn assert_same_times(inp: &Path, out: &Path) {
    let (a, b) = (frame_times(inp), frame_times(out));
    assert!(!a.is_empty(), "{}: no frames", inp.display());
    assert_eq!(a.len(), b.len(), "{}: frame counts differ", inp.display());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!((x - y).abs() < 0.0015, "{}: frame {i}: {x} s vs {y} s", inp.display());
    }
}

/// Old and archive containers: MPEG-2 in a program stream (DVD-style .mpg), DV (PAL, 720x576
/// with PCM audio), and AVI with MPEG-4 part 2 (DivX/Xvid era) and with Motion JPEG.
#[test]
fn archive_containers_keep_frames_times_and_audio() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000"];
    // (file name, ffmpeg arguments, audio codec, output size)
    type Case<'a> = (&'a str, &'a [&'a str], &'a str, (u32, u32));
    let cases: [Case; 4] = [
        ("ps.mpg", &["-t", "1", "-c:v", "mpeg2video", "-q:v", "3", "-c:a", "mp2", "-f", "vob"], "mp2", (320, 240)),
        ("pal.dv", &["-t", "0.6", "-vf", "scale=720:576,setsar=16/15", "-target", "pal-dv"], "pcm_s16le", (1440, 1152)),
        (
            "xvid.avi",
            &["-t", "1", "-c:v", "mpeg4", "-vtag", "XVID", "-q:v", "4", "-c:a", "pcm_s16le"],
            "pcm_s16le",
            (320, 240),
        ),
        ("mjpeg.avi", &["-t", "1", "-c:v", "mjpeg", "-q:v", "4", "-c:a", "pcm_s16le"], "pcm_s16le", (320, 240)),
    ];
    for (name, args, audio, (w, h)) in cases {
        let inp = d.join(name);
        let mut a = src.to_vec();
        a.extend_from_slice(args);
        a.push(s(&inp));
        ffmpeg(&a);
        let out = d.join(format!("{name}.mkv"));
        upscale(&inp, &out, &[]);
        assert_eq!(probe(&out, "v:0", "stream=codec_name,width,height"), format!("h264\n{w}\n{h}"), "{name}");
        assert_eq!(probe(&out, "a:0", "stream=codec_name"), audio, "{name}");
        assert_same_times(&inp, &out);
        assert_eq!(audio_md5(&inp), audio_md5(&out), "{name}: audio packets changed");
    }
    // DV is 4:3 PAL with non-square pixels: the display shape survives the new pixel grid.
    assert_eq!(probe(&d.join("pal.dv.mkv"), "v:0", "stream=display_aspect_ratio"), "4:3");
}

/// Each encoder named in the video issue, into a container that holds it: the output decodes
/// to as many frames at the same times, in the codec and bit depth asked for.
#[test]
fn every_offered_encoder_writes_a_playable_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inp = d.join("in.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=96x64:rate=24",
        "-t",
        "0.5",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p10le",
        s(&inp),
    ]);
    let cases: [(&str, &[&str], &str, &str); 6] = [
        ("x264.mp4", &[], "h264", "yuv420p10le"),
        ("x265.mkv", &["--codec", "libx265"], "hevc", "yuv420p10le"),
        ("vp9.webm", &["--pix-fmt", "yuv420p"], "vp9", "yuv420p"),
        ("svtav1.mkv", &["--codec", "libsvtav1", "--preset", "12"], "av1", "yuv420p10le"),
        ("aom.mkv", &["--codec", "libaom-av1", "--encoder-opt", "cpu-used=8"], "av1", "yuv420p10le"),
        ("ffv1.mkv", &["--codec", "ffv1"], "ffv1", "yuv420p10le"),
    ];
    for (name, extra, codec, pix) in cases {
        let out = d.join(name);
        upscale(&inp, &out, extra);
        assert_eq!(
            probe(&out, "v:0", "stream=codec_name,pix_fmt,width,height"),
            format!("{codec}\n192\n128\n{pix}"),
            "{name}"
        );
        assert_same_times(&inp, &out);
        let check = Command::new("ffmpeg").args(["-v", "error", "-i", s(&out), "-f", "null", "-"]).output().unwrap();
        assert!(
            check.status.success() && check.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

/// The first frame of `path` as RGB, `w`×`h` (nearest-neighbour), read with the YUV matrix
/// `matrix` (`bt601`, `bt709`) or, with `auto`, the one the stream is tagged with.
fn first_frame_rgb(path: &Path, w: u32, h: u32, matrix: &str) -> Vec<u8> {
    let vf = format!("scale={w}:{h}:flags=neighbor:in_color_matrix={matrix},format=rgb24");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-vf", &vf, "-f", "rawvideo", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout.len(), (w * h * 3) as usize);
    out.stdout
}

/// SD is BT.601 and HD is BT.709 when untagged, and a tag wins: colour bars come back with every
/// bar's colour where it was (a matrix mix-up moves saturated bars by 10–20 levels).
#[test]
fn colour_bars_come_back_without_a_shift() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // (name, size, extra tags, the matrix the input means)
    type Case<'a> = (&'a str, (u32, u32), &'a [&'a str], &'a str);
    let cases: [Case; 3] = [
        ("sd.mkv", (160, 120), &[], "bt601"),
        (
            "sd709.mkv",
            (160, 120),
            &["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"],
            "bt709",
        ),
        ("hd.mkv", (1280, 720), &[], "bt709"),
    ];
    for (name, (w, h), tags, matrix) in cases {
        let inp = d.join(name);
        let src = format!("smptebars=size={w}x{h}:rate=25");
        let mut a =
            vec!["-f", "lavfi", "-i", &src, "-frames:v", "2", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p"];
        a.extend_from_slice(tags);
        a.push(s(&inp));
        ffmpeg(&a);
        let out = d.join(format!("out_{name}"));
        upscale(&inp, &out, &["-m", "nearest", "--codec", "libx264", "--crf", "0", "--pix-fmt", "yuv444p"]);
        let before = first_frame_rgb(&inp, w, h, matrix);
        let after = first_frame_rgb(&out, w, h, "auto");
        // The centre of each of the seven bars at a third of the height.
        for bar in 0..7 {
            let (x, y) = ((2 * bar + 1) * w / 14, h / 3);
            let at = |img: &[u8]| -> [i32; 3] {
                let i = ((y * w + x) * 3) as usize;
                [img[i] as i32, img[i + 1] as i32, img[i + 2] as i32]
            };
            let (p, q) = (at(&before), at(&after));
            let diff = (0..3).map(|c| (p[c] - q[c]).abs()).max().unwrap_or(0);
            assert!(diff <= 3, "{name}: bar {bar}: {p:?} became {q:?}");
        }
    }
}
