//! The engines a process keeps: one per network and denoise level, loaded on first use and
//! shared by every job and thread after it. The command line, the page's workers and the
//! Python package hold one [`Engines`] instead of caches of their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::engine::Engine;
use crate::error::Result;
use crate::progress::Progress;

/// Loaded engines by (network, denoise level). The first config that asks for a pair decides
/// its device, precision, threads and model folder; a failed load is not kept.
#[derive(Default)]
pub struct Engines {
    loaded: Mutex<HashMap<(String, i32), Arc<Engine>>>,
}

impl Engines {
    /// An empty cache.
    pub fn new() -> Self {
        Engines::default()
    }

    /// A cache holding `engine` (for callers that built one themselves).
    pub fn holding(engine: Engine) -> Self {
        let key = (engine.model().to_string(), engine.denoise());
        Engines { loaded: Mutex::new(HashMap::from([(key, Arc::new(engine))])) }
    }

    /// The engine for `cfg`'s network at `cfg.denoise`, loaded now when it is not yet; a fresh
    /// load says its device (and on the CPU its runtime and precision) to `progress`.
    pub fn get(&self, cfg: &Config, progress: &dyn Progress) -> Result<Arc<Engine>> {
        let mut map = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let key = (cfg.model_name().to_string(), cfg.denoise);
        if let Some(e) = map.get(&key) {
            return Ok(e.clone());
        }
        let e = Arc::new(Engine::new(cfg)?);
        if let Some(n) = e.device_note() {
            progress.note(&format!("device {n}"));
        }
        map.insert(key, e.clone());
        Ok(e)
    }
}
