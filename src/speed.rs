//! `upscale models --measure`: how fast each installed family runs on this machine, timed
//! through the engine as a plain run would be.

use std::path::Path;

use crate::config::{Config, Device};
use crate::engine::Engine;
use crate::error::Result;
use crate::model::{list, Family};
use crate::planes::Planes;

/// One family timed by [`measure_families`].
#[derive(Debug)]
pub struct Measured {
    /// The family's registry entry.
    pub family: &'static Family,
    /// The native scale it ran at: its first variant at denoise 0 (else its first variant).
    pub scale: u32,
    /// Seconds for one run on the picture (after a first run that loads and warms up), or why
    /// it could not run.
    pub seconds: Result<f64>,
}

/// `upscale models --measure`: every family installed (in `dir`, else the usual folders,
/// [`crate::model::model_dirs`]) timed on this machine's CPU (`--precision auto`, as a plain run) on one
/// 160×120 picture, one family each time the iterator is advanced, in the order of [`crate::model::families`].
pub fn measure_families(dir: Option<&Path>) -> impl Iterator<Item = Measured> {
    let mut pic = Planes::new(160, 120, 3);
    for (i, v) in pic.data.iter_mut().enumerate() {
        *v = ((i * 7919) % 251) as f32 / 251.0;
    }
    let dir = dir.map(Path::to_path_buf);
    list(dir.as_deref()).into_iter().filter(|m| m.present).filter_map(|m| m.family).map(move |f| {
        let v = f.variants.iter().find(|v| v.denoise == 0).or(f.variants.first());
        let (scale, denoise) = v.map_or((0, 0), |v| (v.scale, v.denoise));
        let cfg = Config {
            model: Some(f.name.to_string()),
            scale,
            denoise,
            device: Device::Cpu,
            model_dir: dir.clone(),
            ..Config::default()
        };
        let seconds = Engine::new(&cfg).and_then(|e| {
            let mut up = e.upscaler(&cfg)?;
            up.upscale(&pic)?;
            let t = std::time::Instant::now();
            up.upscale(&pic)?;
            Ok(t.elapsed().as_secs_f64())
        });
        Measured { family: f, scale, seconds }
    })
}
