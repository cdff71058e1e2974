//! What every output says about how it was made: the program and its version, the network and
//! the sha256 of its weights, the scale and the precision. Pictures carry it as PNG `Software`
//! text or EXIF `Software`, videos as the container's `encoder` tag; `--no-provenance`
//! (`Config::provenance` false) leaves it out.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::model::Source;

/// The program's name and version, as outputs name it.
pub const PROGRAM: &str = concat!("upscale ", env!("CARGO_PKG_VERSION"));

/// Hashes already computed in this process, by weight file (or compiled-in bytes' address).
static HASHES: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

/// The sha256 of a network's weights, hex; computed once a process per source.
fn sha256(src: &Source) -> Result<String> {
    let key = match src {
        Source::Embedded(b) => format!("embedded:{:p}:{}", b.as_ptr(), b.len()),
        Source::File(p) => format!("file:{}", p.display()),
    };
    if let Some(h) = HASHES.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).get(&key) {
        return Ok(h.clone());
    }
    let digest = match src {
        Source::Embedded(b) => Sha256::digest(b),
        Source::File(p) => {
            let mut f = std::fs::File::open(p).map_err(|e| Error::io(p, e))?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf).map_err(|e| Error::io(p, e))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            h.finalize()
        }
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    HASHES.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).insert(key, hex.clone());
    Ok(hex)
}

/// One line naming the program, the network (each pass's native scale and sha256), the
/// precision and the sizes: `upscale 0.1.0; model realesr-animevideov3 x4 sha256:…; precision
/// fp32; 64x48 -> 256x192`. A classic filter is named without weights or precision.
pub fn describe(up: &Upscaler, (iw, ih): (u32, u32), (ow, oh): (u32, u32)) -> Result<String> {
    let (model, precision) = up.model();
    let weights = up.weights();
    let sizes = format!("{iw}x{ih} -> {ow}x{oh}");
    if weights.is_empty() {
        return Ok(format!("{PROGRAM}; filter {model}; {sizes}"));
    }
    let passes = weights
        .iter()
        .map(|(s, src)| Ok(format!("x{s} sha256:{}", sha256(src)?)))
        .collect::<Result<Vec<_>>>()?
        .join(", ");
    let precision = format!("{precision:?}").to_ascii_lowercase();
    Ok(format!("{PROGRAM}; model {model} {passes}; precision {precision}; {sizes}"))
}
