//! Damaged and truncated videos (the hardening corpus for the video path): each input is made
//! here with the ffmpeg CLI and then broken on purpose, and each case has its exact expected
//! outcome. A damaged middle is concealed and reported as time ranges (or, with `--strict`, is
//! one error); a file cut short keeps the frames that exist; a file without a usable index is one
//! `error:` line. No case panics or hangs (each run is killed after common::HANG_LIMIT and the test fails),
//! and a failure leaves nothing at the output path, not even a `.upscale.partial-*` file.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{assert_one_error, ffmpeg, ffprobe, s, with_tone, Run};

/// A traditional resizer: these tests are about the decoder, not the network.
const FAST: &[&str] = &["-m", "bicubic", "-s", "2", "-d", "cpu"];

/// `pts_time` of every decodable video frame (with the decoder's concealment), as ffprobe
/// prints it.
fn frame_times(path: &Path) -> Vec<String> {
    common::frame_time_strings(path)
}

/// `pts_time` of every video packet in the file.
fn packet_times(path: &Path) -> Vec<String> {
    ffprobe(path, &["-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"])
        .lines()
        .map(|l| l.trim().trim_end_matches(',').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn secs(v: &[String]) -> Vec<f64> {
    v.iter().map(|t| t.parse().unwrap_or_else(|_| panic!("not a time: {t}"))).collect()
}

/// Frame counts and presentation times agree to a tenth of a millisecond.
fn assert_same_times(want: &[String], got: &[String]) {
    let (a, b) = (secs(want), secs(got));
    assert_eq!(a.len(), b.len(), "frame counts differ: {a:?} vs {b:?}");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!((x - y).abs() < 1e-4, "frame {i}: {x} s vs {y} s");
    }
    assert!(b.windows(2).all(|w| w[0] < w[1]), "timestamps not increasing: {b:?}");
}

/// `upscale FAST ARGS`, killed as a hang after common::HANG_LIMIT.
fn upscale(args: &[&str]) -> Run {
    let mut a = FAST.to_vec();
    a.extend_from_slice(args);
    common::upscale_run(&a)
}

/// Nothing at `out`, and no temporary file beside it.
fn assert_nothing_written(dir: &Path, out: &Path) {
    assert!(!out.exists(), "{}: output written", out.display());
    let left: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(".partial-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// The `warning:` lines of a run.
fn warnings(r: &Run) -> Vec<&str> {
    r.stderr.lines().filter_map(|l| l.strip_prefix("warning: ")).collect()
}

/// A damaged range of a warning `NAME: damaged video from A s to B s (N frames concealed, M
/// frames lost)`: (A, B, N, M).
fn damaged_range(w: &str) -> Option<(f64, f64, u64, u64)> {
    let rest = w.split(": damaged video from ").nth(1)?;
    let (a, rest) = rest.split_once(" s to ")?;
    let (b, rest) = rest.split_once(" s (")?;
    let count = |what: &str| -> u64 {
        rest.split(", ")
            .find(|p| p.contains(what))
            .and_then(|p| p.split_whitespace().next()?.trim_start_matches('(').parse().ok())
            .unwrap_or(0)
    };
    Some((a.parse().ok()?, b.parse().ok()?, count("concealed"), count("lost")))
}

/// Four seconds of testsrc2 (160x120, 24 fps, a keyframe every second) with AAC, in MP4 with
/// the index (moov) at the front or at the end.
fn make_mp4(out: &Path, faststart: bool) {
    let mut args = with_tone(&["-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "24", "-c:a", "aac"]);
    if faststart {
        args.extend(["-movflags", "+faststart"]);
    }
    args.push(s(out));
    ffmpeg(&args);
}

/// Where box `kind` starts (its size field) and its size, at the top level of an MP4.
fn find_box(b: &[u8], kind: &[u8; 4]) -> (usize, usize) {
    let mut at = 0;
    while at + 8 <= b.len() {
        let size = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        if &b[at + 4..at + 8] == kind {
            return (at, size);
        }
        assert!(size >= 8, "unexpected box layout at {at}");
        at += size;
    }
    panic!("no {} box", String::from_utf8_lossy(kind));
}

/// Deterministic noise (an LCG): the same damage on every run.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// An MP4 (index at the front) with 1500 bytes of noise in the middle of its media data.
fn damaged_mp4(dir: &Path) -> PathBuf {
    let clean = dir.join("clean.mp4");
    make_mp4(&clean, true);
    let mut b = std::fs::read(&clean).unwrap();
    let (moov, _) = find_box(&b, b"moov");
    let (mdat, size) = find_box(&b, b"mdat");
    assert!(moov < mdat, "the index is not at the front");
    let at = mdat + size / 2;
    b[at..at + 1500].copy_from_slice(&noise(1500));
    let inp = dir.join("in.mp4");
    std::fs::write(&inp, b).unwrap();
    std::fs::remove_file(clean).unwrap();
    inp
}

/// Corrupt packets in the middle: the run goes to the end with the decoder's concealment; the
/// output has exactly the frames a decoder gets out of the input, at their own times; every
/// frame that could not be decoded lies in a reported range (times are printed to the
/// millisecond); `--progress json` carries the same
/// warnings as events.
#[test]
fn corrupt_packets_mid_file_are_concealed_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let inp = damaged_mp4(dir.path());
    let check = Command::new("ffmpeg").args(["-v", "error", "-i", s(&inp), "-f", "null", "-"]).output().unwrap();
    assert!(!check.stderr.is_empty(), "the input is not damaged");
    let (packets, frames) = (packet_times(&inp), frame_times(&inp));
    assert_eq!(packets.len(), 96);
    let lost: Vec<f64> = secs(&packets.iter().filter(|p| !frames.contains(p)).cloned().collect::<Vec<_>>());

    let out = dir.path().join("out.mp4");
    let r = upscale(&["-q", s(&inp), "-o", s(&out)]);
    assert!(r.status.success(), "{}", r.stderr);
    assert_same_times(&frames, &frame_times(&out));
    let ranges: Vec<(f64, f64, u64, u64)> = warnings(&r)
        .iter()
        .map(|w| {
            assert!(w.starts_with(&format!("{}: ", inp.display())), "warning does not name the file: {w}");
            damaged_range(w).unwrap_or_else(|| panic!("not a damaged range: {w}"))
        })
        .collect();
    assert!(!ranges.is_empty(), "no warning: {}", r.stderr);
    for &(a, b, concealed, lost) in &ranges {
        assert!(0.0 <= a && a < b && b <= 4.0 + 1e-9, "range {a}..{b}");
        assert!(concealed + lost > 0, "a range without a frame: {}", r.stderr);
    }
    for t in &lost {
        assert!(
            ranges.iter().any(|&(a, b, ..)| a - 5e-4 <= *t && *t < b),
            "lost frame at {t} s not reported: {}",
            r.stderr
        );
    }
    assert_eq!(ranges.iter().map(|r| r.3).sum::<u64>(), lost.len() as u64, "{}", r.stderr);

    let out_json = dir.path().join("out_json.mp4");
    let j = upscale(&["--progress", "json", s(&inp), "-o", s(&out_json)]);
    assert!(j.status.success(), "{}", j.stderr);
    let events: Vec<&str> = j
        .stderr
        .lines()
        .filter(|l| l.starts_with("{\"event\":\"warning\",\"message\":\"") && l.contains("damaged video from"))
        .collect();
    assert_eq!(events.len(), ranges.len(), "{}", j.stderr);
    for (e, w) in events.iter().zip(warnings(&r)) {
        assert!(e.contains(w), "{e} vs {w}");
    }
    assert_eq!(frame_times(&out_json).len(), frames.len());
}

/// `--strict`: the first damaged packet is one error naming the file and where, and no output.
#[test]
fn strict_stops_at_the_first_damaged_packet() {
    let dir = tempfile::tempdir().unwrap();
    let inp = damaged_mp4(dir.path());
    let out = dir.path().join("out.mp4");
    let r = upscale(&["-q", "--strict", s(&inp), "-o", s(&out)]);
    assert_one_error(&r, "in.mp4", "damaged video at ");
    assert!(r.stderr.contains("stopped by the strict setting"), "{}", r.stderr);
    // The time named is that of a video packet of the input.
    let at = r.stderr.split("damaged video at ").nth(1).and_then(|t| t.split(" s").next()).unwrap();
    let at: f64 = at.parse().unwrap();
    assert!(secs(&packet_times(&inp)).iter().any(|t| (t - at).abs() < 0.0006), "{at} s is no packet's time");
    assert_nothing_written(dir.path(), &out);
}

/// MP4 with the index at the front, cut at 60%: the frames that exist are processed (as many as
/// a decoder gets, at their times, audio kept), and warnings say where the last frame broke and
/// how many frames the index lists beyond the end. `--strict` makes it one error.
#[test]
fn truncated_faststart_mp4_keeps_the_frames_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.mp4");
    make_mp4(&full, true);
    let b = std::fs::read(&full).unwrap();
    let inp = dir.path().join("cut.mp4");
    std::fs::write(&inp, &b[..b.len() * 6 / 10]).unwrap();
    std::fs::remove_file(&full).unwrap();
    let (packets, frames) = (packet_times(&inp), frame_times(&inp));
    assert!(!frames.is_empty() && packets.len() < 96, "{} packets", packets.len());

    let out = dir.path().join("out.mp4");
    let r = upscale(&["-q", s(&inp), "-o", s(&out)]);
    assert!(r.status.success(), "{}", r.stderr);
    assert_same_times(&frames, &frame_times(&out));
    let streams = ffprobe(&out, &["-show_entries", "stream=codec_type", "-of", "csv=p=0"]);
    assert_eq!(streams.split_whitespace().collect::<Vec<_>>(), ["video", "audio"]);
    let w = warnings(&r);
    let end =
        format!("{}: the file ends early: {} of its 96 video frames are missing", inp.display(), 96 - packets.len());
    assert_eq!(w.iter().filter(|l| l.starts_with(&end)).count(), 1, "expected '{end}' in:\n{}", r.stderr);
    // The packet cut in two could not be decoded: it is the one damaged range.
    let ranges: Vec<_> = w.iter().filter_map(|l| damaged_range(l)).collect();
    assert_eq!(w.len(), ranges.len() + 1, "{}", r.stderr);
    let lost = packets.len() - frames.len();
    assert_eq!(ranges.iter().map(|r| r.3).sum::<u64>(), lost as u64, "{}", r.stderr);

    let strict_out = dir.path().join("strict.mp4");
    let r = upscale(&["-q", "--strict", s(&inp), "-o", s(&strict_out)]);
    assert_one_error(&r, "cut.mp4", "stopped by the strict setting");
    assert_nothing_written(dir.path(), &strict_out);
}

/// MP4 with the index at the end, cut at 60%: there is no index, so nothing is playable.
#[test]
fn truncated_mp4_with_the_index_at_the_end_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.mp4");
    make_mp4(&full, false);
    let b = std::fs::read(&full).unwrap();
    let (moov, _) = find_box(&b, b"moov");
    let (mdat, _) = find_box(&b, b"mdat");
    assert!(mdat < moov, "the index is not at the end");
    let inp = dir.path().join("cut.mp4");
    std::fs::write(&inp, &b[..b.len() * 6 / 10]).unwrap();
    let out = dir.path().join("out.mp4");
    let r = upscale(&["-q", s(&inp), "-o", s(&out)]);
    assert_one_error(&r, "cut.mp4", "cannot open as a video: Invalid data found when processing input");
    assert_nothing_written(dir.path(), &out);
}

/// A `moov` box whose bytes are zeroed: with its header kept it is an empty index (no video
/// stream); zeroed whole there is no index at all. Either way one error line and no output.
#[test]
fn a_zeroed_moov_box_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.mp4");
    make_mp4(&full, true);
    let b = std::fs::read(&full).unwrap();
    let (moov, size) = find_box(&b, b"moov");
    for (name, from, cause) in [
        ("payload.mp4", moov + 8, "no video stream"),
        ("whole.mp4", moov, "cannot open as a video: Invalid data found when processing input"),
    ] {
        let mut z = b.clone();
        z[from..moov + size].fill(0);
        let inp = dir.path().join(name);
        std::fs::write(&inp, z).unwrap();
        let out = dir.path().join(format!("out_{name}"));
        let r = upscale(&["-q", s(&inp), "-o", s(&out)]);
        assert_one_error(&r, name, cause);
        assert_nothing_written(dir.path(), &out);
    }
}
