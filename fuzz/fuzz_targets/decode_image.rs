//! Fuzzes the image decode path: `still::decode` (format from the content, size checked from the
//! header, EXIF orientation, planes and alpha) on arbitrary bytes. Any result is fine; a panic,
//! an abort, a hang or an allocation over libFuzzer's `-rss_limit_mb` is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// 1 megapixel: large enough for every seed, small enough that an image the header allows
/// stays well under libFuzzer's 2 GB memory limit (the decoder's allocation limit is 16 bytes
/// a pixel of this) and decodes in well under `-timeout` even when the fuzzer only gets idle
/// CPU. (At 4 megapixels a 686-byte CMYK JPEG declaring 31240×134 took 0.6 s under ASan alone
/// and over 10 s at `nice 19` on a loaded machine: a reported timeout, but linear work, no hang.)
const MAX_PIXELS: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(pic) = upscale::internals::still::decode(data, MAX_PIXELS) {
        // What the upscaler would receive must be consistent with what was decoded.
        let area = pic.rgb.width as usize * pic.rgb.height as usize;
        assert_eq!(pic.rgb.data.len(), 3 * area);
        if let Some(a) = &pic.alpha {
            assert_eq!(a.data.len(), area);
        }
        // And must survive the way back to an image (what `save` writes).
        let _ = pic.to_image();
    }
});
