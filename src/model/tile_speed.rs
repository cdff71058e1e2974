//! The automatic tile's speed side: the tile side at which a network on the CPU does the most
//! picture per second, for this CPU, runtime and precision, timed once per machine and network
//! (as `auto` precision is, model::openvino_choice) and kept in the cache folder. Where the
//! matrix units outrun memory (AMX), a tile whose activations stay in cache beats the whole
//! picture; where they do not, bigger runs as fast or faster and the whole picture stays. Each
//! tile pays for its context on every side, so the timing includes it. The engine takes the
//! smaller of this tile and the one memory allows.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::config::Device;
use crate::error::Result;
use crate::model::network::Network;
use crate::model::openvino::OPENVINO_VERSION;
use crate::model::openvino_choice::{cpu_name, identity, probe_photo, read_cache_file, write_cache_file};
use crate::model::runtime::{Execution, Source, ORT_VERSION};
use crate::planes::Planes;
use crate::tile::border_index;

/// Tile sides tried, in input pixels, smallest first; the last stands for "as large as memory
/// allows" (the whole picture).
pub const CANDIDATES: [u32; 6] = [64, 96, 128, 192, 256, 512];
/// A smaller tile replaces the largest only when faster per pixel by more than this share.
pub const MARGIN: f64 = 0.08;
/// No larger candidate is tried once one run takes longer than this (a slow network or CPU
/// measures fewer sizes, and a first run is not held up for long); a run over a third of it is
/// not repeated.
const SLOW_RUN_S: f64 = 1.5;

/// One candidate's timing.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// Tile side in input pixels, without context.
    pub tile: u32,
    /// Seconds per input pixel of the tile's own part (its context is paid for, not counted).
    pub seconds_per_pixel: f64,
}

/// The rule: the tile with the lowest cost per pixel, provided it beats the largest size timed
/// by more than [`MARGIN`]; else 0 (no speed limit: the whole picture, or what memory allows).
pub fn choose(timings: &[Timing]) -> u32 {
    let ok = |t: &&Timing| t.seconds_per_pixel.is_finite() && t.seconds_per_pixel > 0.0;
    let Some(largest) = timings.iter().filter(ok).max_by_key(|t| t.tile) else { return 0 };
    let best = timings.iter().filter(ok).min_by(|a, b| a.seconds_per_pixel.total_cmp(&b.seconds_per_pixel));
    match best {
        Some(b) if b.tile != largest.tile && b.seconds_per_pixel * (1.0 + MARGIN) < largest.seconds_per_pixel => b.tile,
        _ => 0,
    }
}

/// The speed tile for a network and the note that says what was timed.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Tile side in input pixels; 0 for no speed limit.
    pub tile: u32,
    /// For a person: the tile and the timing behind it.
    pub note: String,
}

/// The fastest tile for `model`'s x`scale` network (`None`: found by probing) from `source` run as `execution` on
/// `threads`, with `context` px around every tile: read from the cache folder, else timed now
/// (on a picture made of a real photo) and kept. A network that fails to run at some size
/// stops the timing there; one that fails at the smallest gives no speed limit.
pub fn resolve(
    model: &str,
    source: &Source,
    scale: Option<u32>,
    execution: Execution,
    context: u32,
    threads: usize,
) -> Result<Resolved> {
    let x = scale.map_or_else(|| "x?".to_string(), |s| format!("x{s}"));
    let key = format!(
        "{model} {x} {} {execution} context={context} cpu={} ort={ORT_VERSION} openvino={OPENVINO_VERSION}",
        identity(source),
        cpu_name()
    );
    let mut cache: BTreeMap<String, Vec<Timing>> = read_cache_file(CACHE_FILE);
    let (timings, when) = match cache.remove(&key) {
        Some(t) => (t, "timed on this machine before"),
        None => {
            let t = measure(model, source, scale, execution, context, threads)?;
            write_cache_file(CACHE_FILE, &key, &t);
            (t, "timed now")
        }
    };
    let tile = choose(&timings);
    Ok(Resolved { tile, note: describe(tile, &timings, when) })
}

/// The cache file's name in the cache folder.
const CACHE_FILE: &str = "tile-choice.json";

fn describe(tile: u32, timings: &[Timing], when: &str) -> String {
    let Some(largest) = timings.iter().max_by_key(|t| t.tile) else {
        return format!("tiles from memory alone (nothing could be timed; {when})");
    };
    let speed = |t: &Timing| largest.seconds_per_pixel / t.seconds_per_pixel;
    let all: Vec<String> = timings.iter().map(|t| format!("{} {:.2}x", t.tile, speed(t))).collect();
    let what = if tile == 0 { "whole pictures where memory allows".to_string() } else { format!("tiles of {tile}") };
    format!("{what} (per pixel against {}: {}; {when})", largest.tile, all.join(", "))
}

/// Times the candidates in order, each on a picture of its side plus the context around it
/// (after one untimed run: compiling for the shape), the best of two runs.
fn measure(
    model: &str,
    source: &Source,
    scale: Option<u32>,
    execution: Execution,
    context: u32,
    threads: usize,
) -> Result<Vec<Timing>> {
    let mut net = Network::load_with(model, source, Device::Cpu, threads, scale, execution)?;
    let photo = probe_photo();
    let mut timings = Vec::new();
    for tile in CANDIDATES {
        let input = mirrored(&photo, tile + 2 * context);
        // The first run compiles for the shape (OpenVINO) and is not timed.
        if net.run(&input).is_err() {
            return Ok(timings);
        }
        let mut best = f64::INFINITY;
        for _ in 0..2 {
            let t = Instant::now();
            if net.run(&input).is_err() {
                return Ok(timings);
            }
            best = best.min(t.elapsed().as_secs_f64());
            if best > SLOW_RUN_S / 3.0 {
                break;
            }
        }
        timings.push(Timing { tile, seconds_per_pixel: best / (tile as f64 * tile as f64) });
        if best > SLOW_RUN_S {
            break;
        }
    }
    Ok(timings)
}

/// `photo` mirrored over and over to `side`×`side` (real texture at any size).
fn mirrored(photo: &Planes, side: u32) -> Planes {
    let mut out = Planes::new(side, side, 3);
    let (w, h) = (photo.width as i64, photo.height as i64);
    for c in 0..3 {
        let (src, dst) = (photo.plane(c), out.plane_mut(c));
        for y in 0..side as usize {
            let sy = border_index(y as i64, h, 0);
            for x in 0..side as usize {
                dst[y * side as usize + x] = src[sy * w as usize + border_index(x as i64, w, 0)];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(tile: u32, us: f64) -> Timing {
        Timing { tile, seconds_per_pixel: us * 1e-6 }
    }

    #[test]
    fn a_smaller_tile_wins_only_when_clearly_faster_per_pixel() {
        // Bigger is as fast (AVX-512 without AMX): the whole picture stays.
        assert_eq!(choose(&[t(64, 9.0), t(128, 7.5), t(256, 7.1), t(512, 7.0)]), 0);
        assert_eq!(choose(&[t(64, 9.0), t(128, 7.0), t(256, 6.9), t(512, 7.2)]), 0);
        // A cache-sized tile clearly faster (AMX): taken.
        assert_eq!(choose(&[t(64, 4.0), t(128, 2.6), t(256, 2.2), t(512, 3.6)]), 256);
        // Only the sizes timed count (a slow network times fewer): the largest timed is the
        // whole picture's stand-in; a failed timing never wins; nothing timed: no limit.
        assert_eq!(choose(&[t(64, 5.0), t(96, 3.0)]), 0);
        assert_eq!(choose(&[t(64, 2.0), t(96, 3.0), t(128, 3.5)]), 64);
        assert_eq!(choose(&[t(64, f64::NAN), t(128, 7.0)]), 0);
        assert_eq!(choose(&[]), 0);
    }

    #[test]
    fn the_timing_picture_is_the_photo_mirrored() {
        let p = probe_photo();
        let m = mirrored(&p, p.width * 2 + 3);
        assert_eq!((m.width, m.height), (p.width * 2 + 3, p.width * 2 + 3));
        let (w, mw) = (p.width as usize, m.width as usize);
        // Row 0: the photo, then mirrored back from its last column.
        assert_eq!(m.data[..w], p.data[..w]);
        assert_eq!(m.data[w], p.data[w - 2]);
        assert_eq!(m.data[mw], p.data[w]);
    }
}
