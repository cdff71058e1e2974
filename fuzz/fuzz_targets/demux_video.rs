//! Fuzzes the container/packet path: `video::probe::scan` (the pipeline's own decoder stage:
//! FFmpeg's demuxer and decoder, the deinterlacer when the stream asks for one, the conversion
//! to RGB, the copied streams' packets) on arbitrary bytes. FFmpeg reads from a path, so each
//! input is written to a file in /dev/shm (memory) first. Any `Err` is fine; a panic, an
//! abort, a hang (`-timeout`) or memory over `-rss_limit_mb` is a finding.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// Enough frames to reach past the first keyframe, the decoder's frame-thread delay and the
/// deinterlacer's look-ahead; few enough that an input runs in milliseconds.
const MAX_FRAMES: u64 = 16;

/// 1 megapixel: far above every seed (64×48 at most). A few kilobytes can declare a picture of
/// 100 megapixels, which takes seconds a frame to decode and convert under ASan; the limit keeps
/// each input to milliseconds (the guard itself is what `Decoder::limit_pixels` adds).
const MAX_PIXELS: u64 = 1 << 20;

/// One file per fuzzing process (libFuzzer's `-jobs`/`-fork` run several at once).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() };
        dir.join(format!("upscale-fuzz-demux-{}.bin", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("write the input to the scratch file");
    if let Ok(r) = upscale::video::scan(path, MAX_FRAMES, MAX_PIXELS) {
        assert!(r.width > 0 && r.height > 0, "{r:?}");
        assert!(r.video_stream < r.streams, "{r:?}");
        assert!(r.frames <= MAX_FRAMES, "{r:?}");
        assert!(r.width as u64 * r.height as u64 <= MAX_PIXELS, "{r:?}");
        assert_eq!(r.odd_frames, 0, "pictures not of the stream's size: {r:?}");
    }
});
