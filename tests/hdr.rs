//! Video deeper than 8 bits and HDR video through the real binary. A lossless 10-bit ramp keeps
//! its 10-bit steps through the classic resizer and the network (no 8-bit banding); a PQ clip
//! made by x265 with mastering-display and content-light metadata comes out with the same
//! transfer, primaries, matrix and side data, or as BT.709 SDR with `--tonemap sdr`; the output
//! names the program in its `encoder` tag.

use std::path::Path;
use std::process::Command;

mod common;
use common::{ffmpeg, ffprobe, run_cmd, s};

const BIN: &str = env!("CARGO_BIN_EXE_upscale");

/// 256x64, 3 frames, lossless FFV1 10-bit: luma 400 + x/2, 128 levels over 32 of 8 bits.
fn ramp(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("ramp.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=256x64:r=10:d=0.3",
        "-vf",
        "format=yuv420p10le,geq=lum='400+trunc(X/2)':cb=512:cr=512",
        "-c:v",
        "ffv1",
        "-pix_fmt",
        "yuv420p10le",
        s(&p),
    ]);
    p
}

/// The luma planes of every frame of a `w`×`h` yuv420p10le video.
fn luma10(path: &Path, w: usize, h: usize) -> Vec<Vec<u16>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let frame = w * h * 3; // bytes: 2 a sample, 1.5 samples a pixel
    out.stdout
        .chunks_exact(frame)
        .map(|f| f[..w * h * 2].chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect())
        .collect()
}

/// The mean over rows and frames of each row's RMS distance (in 10-bit levels) from its
/// least-squares straight line.
fn row_rms(frames: &[Vec<u16>], w: usize) -> f64 {
    let mut sum = 0.0;
    let mut n = 0;
    for f in frames {
        for row in f.chunks_exact(w) {
            let xs: Vec<f64> = (0..w).map(|x| x as f64).collect();
            let ys: Vec<f64> = row.iter().map(|&v| v as f64).collect();
            let (mx, my) = (xs.iter().sum::<f64>() / w as f64, ys.iter().sum::<f64>() / w as f64);
            let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
            let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
            let b = sxy / sxx;
            let se: f64 = xs.iter().zip(&ys).map(|(x, y)| (y - (my + b * (x - mx))).powi(2)).sum();
            sum += (se / w as f64).sqrt();
            n += 1;
        }
    }
    sum / n as f64
}

fn upscale(inp: &Path, out: &Path, args: &[&str]) -> String {
    let r = run_cmd(Command::new(BIN).args(["-s", "2", "--progress", "json"]).args(args).arg(inp).arg("-o").arg(out));
    assert!(r.status.success(), "{}: {}", inp.display(), r.stderr);
    r.stderr
}

fn stream_field(path: &Path, entry: &str) -> String {
    ffprobe(path, &["-select_streams", "v:0", "-show_entries", entry, "-of", "default=nw=1:nk=1"]).trim().to_string()
}

#[test]
fn ten_bit_ramp_keeps_its_steps_through_lanczos_and_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let src = ramp(dir.path());
    let source_rms = row_rms(&luma10(&src, 256, 64), 256);
    for (model, limit) in [("lanczos", 0.7), ("realesr-animevideov3", 0.9)] {
        let out = dir.path().join(format!("{model}.mkv"));
        // `--precision auto`: where it would choose bf16 (a CPU with AVX512_BF16 or AMX), whose
        // 8 bits of mantissa band 10-bit steps (1.19 levels measured on Zen 4), a 10-bit source
        // runs fp32, and a note says why.
        let err = upscale(&src, &out, &["-m", model, "--codec", "ffv1", "--threads", "2"]);
        assert_eq!(stream_field(&out, "stream=pix_fmt"), "yuv420p10le", "{model}");
        let frames = luma10(&out, 512, 128);
        assert_eq!(frames.len(), 3, "{model}");
        let rms = row_rms(&frames, 512);
        eprintln!("{model}: RMS from a straight ramp {rms:.3} levels (source {source_rms:.3})");
        assert!(
            rms <= limit,
            "{model}: RMS {rms:.3} levels from a straight ramp (limit {limit}; source {source_rms:.3}): 8-bit banding"
        );
        assert_auto_said_fp32(&err, "10 bits per sample");
    }
}

/// The note events of a `--progress json` run.
fn notes(err: &str) -> Vec<String> {
    err.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "note")
        .filter_map(|e| e["message"].as_str().map(String::from))
        .collect()
}

/// Where `auto` chose bf16 (the engine's `device` note says so), a note says fp32 runs instead
/// for a source of `depth`, and why; where it did not, no such note.
fn assert_auto_said_fp32(err: &str, depth: &str) {
    let notes = notes(err);
    let chose_bf16 = notes.iter().any(|n| n.starts_with("device ") && n.contains("bf16 (against"));
    let said = notes.iter().find(|n| n.contains("precision auto:") && n.contains(depth));
    match said {
        Some(n) => assert!(chose_bf16 && n.contains("fp32 rather than OpenVINO bf16") && n.contains("band"), "{n}"),
        None => assert!(!chose_bf16, "auto chose bf16 and nothing says fp32 runs: {notes:#?}"),
    }
}

/// Whether this CPU computes in bf16 (where `auto` may choose it).
fn cpu_has_bf16() -> bool {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    info.split_whitespace().any(|f| f == "avx512_bf16" || f == "amx_bf16")
}

/// A 16-bit picture follows the video's rule: `auto` makes exactly what `--precision fp32`
/// makes (never bf16's 8 bits of mantissa), and a ramp of 10-bit-sized steps keeps them; an
/// asked bf16 is run as asked, with a note that it may band.
#[test]
fn sixteen_bit_picture_runs_fp32_under_auto() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ramp16.png");
    // The video ramp's values in 16 bits: (400 + x/2) 10-bit levels, grey.
    let img = image::ImageBuffer::from_fn(256, 64, |x, _| {
        let v = ((400 + x / 2) * 64) as u16;
        image::Rgb([v, v, v])
    });
    image::DynamicImage::ImageRgb16(img).save(&src).unwrap();
    let args = ["-m", "realesr-animevideov3", "--threads", "2"];
    let (auto, fp32) = (dir.path().join("auto.png"), dir.path().join("fp32.png"));
    let err = upscale(&src, &auto, &args);
    upscale(&src, &fp32, &[&args[..], &["--precision", "fp32"]].concat());
    let read = |p: &Path| image::open(p).unwrap().into_rgb16();
    let (a, f) = (read(&auto), read(&fp32));
    assert_eq!(a.dimensions(), (512, 128));
    let luma: Vec<u16> = a.pixels().map(|p| ((u32::from(p[1]) + 32) / 64) as u16).collect();
    let rms = row_rms(&[luma], 512);
    eprintln!("16-bit picture: RMS from a straight ramp {rms:.3} 10-bit levels");
    assert!(rms <= 0.9, "RMS {rms:.3} 10-bit levels from a straight ramp: banding");
    assert!(a.as_raw() == f.as_raw(), "auto differs from fp32 on a 16-bit picture");
    assert_auto_said_fp32(&err, "16 bits per sample");
    if cpu_has_bf16() {
        let bf16 = dir.path().join("bf16.png");
        let err = upscale(&src, &bf16, &[&args[..], &["--precision", "bf16"]].concat());
        assert!(notes(&err).iter().any(|n| n.contains("in bf16 (as asked)") && n.contains("may band")), "{err}");
    }
}

/// A 10-bit source into an encoder that takes only 8 bits: a note says so.
#[test]
fn eight_bit_only_output_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let src = ramp(dir.path());
    let out = dir.path().join("eight.mkv");
    let err = upscale(&src, &out, &["-m", "lanczos", "--codec", "libx264", "--pix-fmt", "yuv420p"]);
    assert!(err.contains("the source has 10 bits a sample, the output 8"), "{err}");
}

/// A 12-frame PQ clip (BT.2020) by x265 with mastering display and content light level.
fn pq_clip(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("pq.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=128x96:r=12:d=1",
        "-pix_fmt",
        "yuv420p10le",
        "-c:v",
        "libx265",
        "-x265-params",
        "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:\
         master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400",
        "-color_primaries",
        "bt2020",
        "-color_trc",
        "smpte2084",
        "-colorspace",
        "bt2020nc",
        s(&p),
    ]);
    p
}

/// The first frame's mastering display and content light side data, as ffprobe prints them.
fn frame_side_data(path: &Path) -> Vec<serde_json::Value> {
    let j: serde_json::Value = serde_json::from_str(&ffprobe(
        path,
        &["-select_streams", "v:0", "-read_intervals", "%+#1", "-show_frames", "-of", "json"],
    ))
    .unwrap();
    hdr_entries(&j["frames"][0]["side_data_list"])
}

fn stream_side_data(path: &Path) -> Vec<serde_json::Value> {
    let j: serde_json::Value =
        serde_json::from_str(&ffprobe(path, &["-select_streams", "v:0", "-show_streams", "-of", "json"])).unwrap();
    hdr_entries(&j["streams"][0]["side_data_list"])
}

/// The same side data whatever the order and the writing of each number (Matroska stores
/// them as floats: 17/25 for 34000/50000).
fn assert_same_side_data(got: &[serde_json::Value], want: &[serde_json::Value], what: &str) {
    let num = |v: &serde_json::Value| -> f64 {
        match v.as_str() {
            Some(s) => match s.split_once('/') {
                Some((n, d)) => n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap(),
                None => s.parse().unwrap(),
            },
            None => v.as_f64().unwrap(),
        }
    };
    assert_eq!(got.len(), want.len(), "{what}: {got:?} against {want:?}");
    for w in want {
        let g =
            got.iter().find(|g| g["side_data_type"] == w["side_data_type"]).unwrap_or_else(|| panic!("{what}: no {w}"));
        for (k, v) in w.as_object().unwrap().iter().filter(|(k, _)| *k != "side_data_type") {
            assert!((num(&g[k]) - num(v)).abs() < 1e-4, "{what}: {k} {} against {v}", g[k]);
        }
    }
}

fn hdr_entries(list: &serde_json::Value) -> Vec<serde_json::Value> {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter(|e| {
                    let t = e["side_data_type"].as_str().unwrap_or_default();
                    t.contains("Mastering display") || t.contains("Content light")
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn pq_keeps_its_tags_and_side_data_or_is_tone_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let src = pq_clip(dir.path());
    let want = frame_side_data(&src);
    assert_eq!(want.len(), 2, "the source has both side data: {want:?}");
    // x265: the side data in the bitstream, as in the source.
    let out = dir.path().join("out.mkv");
    upscale(&src, &out, &["-m", "lanczos", "--codec", "libx265"]);
    for entry in ["stream=color_transfer", "stream=color_primaries", "stream=color_space", "stream=pix_fmt"] {
        assert_eq!(stream_field(&out, entry), stream_field(&src, entry), "{entry}");
    }
    assert_eq!(stream_field(&out, "stream=color_transfer"), "smpte2084");
    assert_eq!(frame_side_data(&out), want, "frame side data, exactly as x265 wrote it");
    // The default codec (x264, which writes no HDR SEI): the container holds them.
    let out264 = dir.path().join("out264.mkv");
    upscale(&src, &out264, &["-m", "lanczos"]);
    assert_eq!(stream_field(&out264, "stream=color_transfer"), "smpte2084");
    assert_same_side_data(&stream_side_data(&out264), &want, "container side data");
    // Tone-mapped: BT.709 SDR, no HDR side data.
    let sdr = dir.path().join("sdr.mkv");
    upscale(&src, &sdr, &["-m", "lanczos", "--codec", "libx265", "--tonemap", "sdr"]);
    assert_eq!(stream_field(&sdr, "stream=color_transfer"), "bt709");
    assert_eq!(stream_field(&sdr, "stream=color_primaries"), "bt709");
    assert!(frame_side_data(&sdr).is_empty() && stream_side_data(&sdr).is_empty());
}

#[test]
fn provenance_is_the_containers_encoder_tag() {
    let dir = tempfile::tempdir().unwrap();
    let src = ramp(dir.path());
    for ext in ["mkv", "mp4", "mov", "webm"] {
        let out = dir.path().join(format!("p.{ext}"));
        upscale(&src, &out, &["-m", "lanczos"]);
        let tags = ffprobe(&out, &["-show_entries", "format_tags", "-of", "default=nw=1"]);
        let line = tags.lines().find(|l| l.to_ascii_lowercase().starts_with("tag:encoder=")).unwrap_or_default();
        assert!(line.contains("upscale ") && line.contains("filter lanczos; 256x64 -> 512x128"), "{ext}: {tags}");
        let bare = dir.path().join(format!("bare.{ext}"));
        upscale(&src, &bare, &["-m", "lanczos", "--no-provenance"]);
        let tags = ffprobe(&bare, &["-show_entries", "format_tags", "-of", "default=nw=1"]);
        assert!(!tags.contains("upscale "), "{ext}: {tags}");
    }
}

/// One line per decoded video frame: timestamps, size and the MD5 of its pixels.
fn frame_md5s(path: &Path) -> Vec<String> {
    let out = common::ffmpeg_out(&["-i", s(path), "-map", "0:v", "-f", "framemd5", "-"]);
    out.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect()
}

/// The job's steps, each checked to succeed.
fn step(args: &[&str]) -> String {
    let r = run_cmd(Command::new(BIN).args(args));
    assert!(r.status.success(), "{args:?}: {}", r.stderr);
    r.stdout
}

/// `--tonemap sdr` travels in a segment plan: `job plan` + `job run` of each index + `job join`,
/// and `--resume`, make the frames of the one-machine `--tonemap sdr` run (lossless FFV1), tagged
/// BT.709 SDR with no HDR side data.
#[test]
fn tonemap_sdr_through_segments_is_the_one_machine_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = pq_clip(d);
    // `upscale` adds `-s 2`.
    let args = ["-m", "lanczos", "--codec", "ffv1", "--tonemap", "sdr"];
    let one = d.join("one.mkv");
    upscale(&src, &one, &args);
    let want = frame_md5s(&one);
    assert_eq!(want.len(), 12);

    let joined = d.join("joined.mkv");
    let plan_args = ["job", "plan", s(&src), "-o", s(&joined), "--segments", "3", "-s", "2", "-q"];
    let printed = step(&[&plan_args[..], &args[..]].concat());
    let work = printed.lines().next().unwrap().to_string();
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&work).join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["settings"]["job"]["video"]["tonemap"].as_str(), Some("sdr"), "{plan}");
    for i in ["2", "0", "1"] {
        step(&["job", "run", &work, "--index", i, "-q"]);
    }
    step(&["job", "join", &work, "-q"]);

    let resumed = d.join("resumed.mkv");
    upscale(&src, &resumed, &[&args[..], &["--resume", "--segment-frames", "5"]].concat());

    for out in [&joined, &resumed] {
        assert_eq!(frame_md5s(out), want, "{}: frames differ from the one-machine run's", out.display());
        assert_eq!(stream_field(out, "stream=color_transfer"), "bt709", "{}", out.display());
        assert_eq!(stream_field(out, "stream=color_primaries"), "bt709", "{}", out.display());
        assert_eq!(stream_field(out, "stream=color_space"), "bt709", "{}", out.display());
        assert!(frame_side_data(out).is_empty() && stream_side_data(out).is_empty(), "{}", out.display());
    }
}
