//! A dry run of the video path's first stage: open a file with the pipeline's own
//! `Decoder`, demux it, decode up to a number of frames to RGB and pass
//! every other stream's packets along, without a model or an encoder. It checks that a file can
//! be read, and it is what the `demux_video` fuzz target drives.

use std::path::Path;

use crossbeam_channel::bounded;

use super::decode::Decoder;
use super::items::{Control, Item};
use crate::config::VideoConfig;
use crate::error::{Error, Result};
use crate::progress::NoProgress;

/// What [`scan`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Streams in the container.
    pub streams: usize,
    /// The video stream that was decoded.
    pub video_stream: usize,
    /// Its picture width in pixels.
    pub width: u32,
    /// Its picture height in pixels.
    pub height: u32,
    /// Frames the container says it holds (or estimated from its duration), if any.
    pub total_frames: Option<u64>,
    /// RGB pictures the decoder stage produced (at most `max_frames`).
    pub frames: u64,
    /// Pictures whose size was not `width`×`height` (always 0 unless the converter is broken).
    pub odd_frames: u64,
    /// Packets of the other streams passed along untouched while those frames were decoded.
    pub packets: u64,
}

/// Opens `path` as a video, decodes up to `max_frames` frames of its best video stream to RGB
/// (deinterlacing as `auto` would) and passes every other stream's packets along, counting both.
/// Stops early, without an error, once `max_frames` pictures have come out. A stream or frame
/// over `max_pixels` is [`Error::TooLarge`].
pub fn scan(path: &Path, max_frames: u64, max_pixels: u64) -> Result<ScanReport> {
    super::init_ffmpeg(path)?;
    let mut dec = Decoder::open(path, &VideoConfig::default())?;
    dec.limit_pixels(max_pixels)?;
    let info = dec.info().clone();
    let streams = dec.input().nb_streams() as usize;
    for i in (0..streams).filter(|&i| i != info.index) {
        dec.copy_stream(i, i);
    }
    let mut report = ScanReport {
        streams,
        video_stream: info.index,
        width: info.width,
        height: info.height,
        total_frames: info.total_frames,
        ..Default::default()
    };
    if max_frames == 0 {
        return Ok(report);
    }
    let ctl = Control::default();
    let (tx, rx) = bounded::<Item>(2);
    let (w, h) = (info.width, info.height);
    // The decoder runs on this thread, so a panic in it reaches the caller as one; the counting
    // end stops (dropping the receiver, which ends the decoder quietly) after `max_frames`.
    let counted = std::thread::scope(|s| {
        let counter = s.spawn(move || {
            let (mut frames, mut odd, mut packets) = (0u64, 0u64, 0u64);
            for item in rx {
                match item {
                    Item::Frame(p) => {
                        frames += 1;
                        if p.rgb.dimensions() != (w, h) || p.rgb.samples() != w as usize * h as usize * 3 {
                            odd += 1;
                        }
                        if frames >= max_frames {
                            break;
                        }
                    }
                    Item::Packet(..) => packets += 1,
                }
            }
            (frames, odd, packets)
        });
        let ran = dec.run(tx, &ctl, &NoProgress);
        let counted = counter.join().map_err(|_| Error::video(path, "internal error: the frame counter stopped"));
        ran.and(counted)
    })?;
    (report.frames, report.odd_frames, report.packets) = counted;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const LIMIT: u64 = 1 << 20;

    /// A clip made by the ffmpeg CLI: `frames` frames of 32×32 H.264 with a PCM audio track.
    fn clip(dir: &Path, frames: u32) -> std::path::PathBuf {
        let path = dir.join("clip.mkv");
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-threads", "1"])
            .args(["-f", "lavfi", "-i", "testsrc=size=32x32:rate=10"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000"])
            .args(["-frames:v", &frames.to_string(), "-t", &format!("{}", frames as f64 / 10.0)])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-ac", "1"])
            .arg(&path)
            .output()
            .expect("ffmpeg runs");
        assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
        path
    }

    #[test]
    fn scan_counts_every_frame_and_the_audio_packets() {
        let dir = tempfile::tempdir().unwrap();
        let path = clip(dir.path(), 7);
        let r = scan(&path, 100, LIMIT).unwrap();
        assert_eq!((r.width, r.height, r.streams, r.video_stream), (32, 32, 2, 0), "{r:?}");
        assert_eq!(r.frames, 7, "{r:?}");
        assert_eq!(r.odd_frames, 0, "{r:?}");
        assert!(r.packets > 0, "{r:?}");
    }

    #[test]
    fn scan_stops_at_max_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = clip(dir.path(), 7);
        assert_eq!(scan(&path, 3, LIMIT).unwrap().frames, 3);
        let r = scan(&path, 0, LIMIT).unwrap();
        assert_eq!((r.frames, r.width), (0, 32));
    }

    #[test]
    fn scan_refuses_pictures_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = clip(dir.path(), 2);
        assert_eq!(scan(&path, 10, 32 * 32).unwrap().frames, 2);
        match scan(&path, 10, 32 * 32 - 1) {
            Err(Error::TooLarge { width: 32, height: 32, limit: 1023, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    /// A frame larger than the limit after the stream began smaller is refused when it comes.
    #[test]
    fn scan_refuses_a_frame_that_grows_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = joined_ts(dir.path(), [("32x32", 3), ("64x48", 3)]);
        assert!(scan(&path, 100, LIMIT).is_ok());
        match scan(&path, 100, 32 * 32) {
            Err(Error::TooLarge { width: 64, height: 48, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    /// Colour codes FFmpeg does not name (MPEG-2 carries 8 bits of each, copied unchecked) are
    /// read as unspecified, not as invalid Rust enums.
    #[test]
    fn colour_codes_out_of_range_are_unspecified() {
        use ffmpeg_next::util::color::{Primaries, Space, TransferCharacteristic};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("colour.m2v");
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-threads", "1"])
            .args(["-f", "lavfi", "-i", "testsrc=size=32x32:rate=25", "-frames:v", "3", "-c:v", "mpeg2video"])
            .args(["-color_primaries", "200", "-color_trc", "201", "-colorspace", "202"])
            .arg(&path)
            .output()
            .expect("ffmpeg runs");
        assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
        super::super::init_ffmpeg(&path).unwrap();
        let dec = Decoder::open(&path, &VideoConfig::default()).unwrap();
        let info = dec.info();
        assert_eq!(info.primaries, Primaries::Unspecified);
        assert_eq!(info.transfer, TransferCharacteristic::Unspecified);
        assert_eq!(info.matrix, Space::Unspecified);
        assert_eq!(scan(&path, 10, LIMIT).unwrap().frames, 3);
    }

    #[test]
    fn scan_of_bytes_that_are_not_a_video_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noise.mp4");
        std::fs::write(&path, (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>())
            .unwrap();
        assert!(matches!(scan(&path, 10, LIMIT), Err(Error::Video { .. })));
        assert!(matches!(scan(&dir.path().join("missing.mkv"), 10, LIMIT), Err(Error::Video { .. })));
    }

    /// Interlaced MPEG-2 clips of the given sizes and frame counts, joined into one transport
    /// stream (the picture size changes at each join).
    fn joined_ts<const N: usize>(dir: &Path, parts: [(&str, u32); N]) -> std::path::PathBuf {
        let mut bytes = Vec::new();
        for (size, n) in parts {
            let part = dir.join(format!("{size}.ts"));
            let out = Command::new("ffmpeg")
                .args(["-hide_banner", "-loglevel", "error", "-y", "-threads", "1"])
                .args(["-f", "lavfi", "-i", &format!("testsrc=size={size}:rate=25")])
                .args(["-frames:v", &n.to_string(), "-c:v", "mpeg2video", "-flags", "+ildct+ilme", "-top", "1"])
                .arg(&part)
                .output()
                .expect("ffmpeg runs");
            assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
            bytes.extend(std::fs::read(&part).unwrap());
        }
        let path = dir.join("joined.ts");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Two interlaced MPEG-2 clips of different sizes back to back: the deinterlacer is rebuilt
    /// at the change (fed the new size, libavfilter's bwdif read past the frame), and every
    /// frame still comes out, at the first size.
    #[test]
    fn scan_survives_a_size_change_while_deinterlacing() {
        let dir = tempfile::tempdir().unwrap();
        let path = joined_ts(dir.path(), [("64x48", 4), ("32x32", 5)]);
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=width", "-of", "csv=p=0"])
            .arg(&path)
            .output()
            .expect("ffprobe runs");
        let widths: Vec<String> = String::from_utf8_lossy(&probe.stdout)
            .split_whitespace()
            .map(|w| w.trim_matches(',').to_string())
            .collect();
        assert!(widths.iter().any(|w| w == "32") && widths.iter().any(|w| w == "64"), "{widths:?}");
        let r = scan(&path, 100, LIMIT).unwrap();
        assert_eq!((r.width, r.height), (64, 48), "{r:?}");
        assert_eq!(r.frames, widths.len() as u64, "{r:?}");
        assert_eq!(r.odd_frames, 0, "{r:?}");
    }

    /// The fuzz target's seeds (fuzz/corpus/demux_video) all scan, with the frames each holds.
    #[test]
    fn fuzz_seeds_scan() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/demux_video");
        for (name, frames) in [
            ("h264.mp4", 4),
            ("h264_pcm.mkv", 3),
            ("mpeg2.ts", 4),
            ("interlaced_mpeg2.ts", 4),
            ("mjpeg.avi", 3),
            ("vp9.webm", 3),
            // The first finding: a size change while deinterlacing (see the test above).
            ("regress-bwdif-size-change.ts", 2),
            // The third: colour codes out of range (see the test above).
            ("regress-mpeg1-bad-colour-enums.mpg", 2),
        ] {
            let r = scan(&dir.join(name), 100, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.frames, frames, "{name}: {r:?}");
            assert_eq!(r.odd_frames, 0, "{name}: {r:?}");
        }
        // The second finding: 4 KB that declare an 8224×12320 picture, refused before decoding.
        match scan(&dir.join("regress-mpeg2-8224x12320.ts"), 100, LIMIT) {
            Err(Error::TooLarge { width: 8224, height: 12320, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
