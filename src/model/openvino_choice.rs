//! Which runtime and precision run a network on the CPU: `--precision auto` is the fastest of
//! ONNX Runtime fp32, OpenVINO fp32 and OpenVINO bf16 (offered only where the CPU has
//! AVX512_BF16 or AMX) that stays >= 50 dB from fp32; `fp32` and `int8` run on whichever runtime
//! is faster for them. Faster is measured, never assumed from CPU flags: a short timed probe on a
//! real photo when an engine first starts on a machine, kept in the cache folder. Today's
//! runtime (ONNX Runtime) stays unless another is faster by more than the noise margin, so
//! `auto` is never slower than fp32 was ([`choose`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::config::{Device, Precision};
use crate::error::{ConfigError, DeviceProblem, Error, Result};
use crate::model::network::Network;
use crate::model::openvino::{self, cache_root, OPENVINO_VERSION};
use crate::model::runtime::Source;
use crate::model::runtime::{Execution, Runtime, ORT_VERSION};
use crate::planes::Planes;

/// CPU flags (as `/proc/cpuinfo` names them, comma-separated) to treat as absent, for tests:
/// `UPSCALE_HIDE_CPU_FEATURES=avx512_bf16,amx_bf16` makes a bf16 CPU look like one without.
pub const HIDE_CPU_FEATURES: &str = "UPSCALE_HIDE_CPU_FEATURES";
/// `onnxruntime` or `openvino`: run on that runtime without measuring (for measurements and
/// tests; a precision it cannot run is an error as usual).
pub const FORCE_RUNTIME: &str = "UPSCALE_RUNTIME";
/// The lowest agreement with fp32 that `auto` accepts.
pub const AUTO_MIN_DB: f64 = 50.0;

/// The lowest agreement of OpenVINO's int8 with ONNX Runtime's int8 (the same file).
pub const INT8_MIN_DB: f64 = 38.0;
/// Another runtime replaces today's only when faster by more than this share (timing noise).
pub const MARGIN: f64 = 0.05;

/// The CPU flags that give bf16 arithmetic (AVX-512 BF16 on Zen 4 and Cooper Lake, AMX from
/// Sapphire Rapids).
const BF16_FLAGS: [&str; 2] = ["avx512_bf16", "amx_bf16"];

/// A probe photo (samples/coffee.png, a real photo), cropped for the timed runs.
const PROBE_PHOTO: &[u8] = include_bytes!("../../samples/coffee.png");
const PROBE_SIDE: u32 = 96;

/// This CPU's flags from `/proc/cpuinfo`, less those hidden by [`HIDE_CPU_FEATURES`].
pub fn cpu_flags() -> Vec<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let hidden = std::env::var(HIDE_CPU_FEATURES).unwrap_or_default();
    let hidden: Vec<&str> = hidden.split(',').map(str::trim).collect();
    info.lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, f)| f.split_whitespace().filter(|f| !hidden.contains(f)).map(String::from).collect())
        .unwrap_or_default()
}

/// The CPU's model name from `/proc/cpuinfo`.
pub fn cpu_name() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".into(), |(_, n)| n.trim().to_string())
}

/// Whether the CPU computes in bf16 (AVX512_BF16 or AMX-BF16).
pub fn cpu_has_bf16() -> bool {
    cpu_flags().iter().any(|f| BF16_FLAGS.contains(&f.as_str()))
}

/// One candidate's probe: seconds per run (the best of a few) and agreement with the baseline.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trial {
    /// The runtime and precision timed.
    pub execution: Execution,
    /// Seconds per run on the probe picture, the best of a few.
    pub seconds: f64,
    /// PSNR against the baseline's output, in dB (the baseline's own: infinite, stored as 999).
    pub db: f64,
}

/// The never-slower rule: the fastest trial that holds `min_db`, provided it beats `baseline`
/// (today's runtime at the asked precision) by more than [`MARGIN`]; else `baseline`.
pub fn choose(baseline: Execution, trials: &[Trial], min_db: f64) -> Execution {
    let Some(base) = trials.iter().find(|t| t.execution == baseline) else {
        return baseline;
    };
    let best = trials
        .iter()
        .filter(|t| t.db >= min_db && t.seconds.is_finite() && t.seconds > 0.0)
        .min_by(|a, b| a.seconds.total_cmp(&b.seconds));
    match best {
        Some(b) if b.execution != baseline && b.seconds * (1.0 + MARGIN) < base.seconds => b.execution,
        _ => baseline,
    }
}

/// What an engine on the CPU runs with, and the note that says so and why.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The runtime and precision to run with (never `auto`).
    pub execution: Execution,
    /// For a person: the execution and why (asked, measured, forced, OpenVINO missing).
    pub note: String,
    /// Seconds per run of the chosen execution on the probe picture, where it was timed.
    pub seconds: Option<f64>,
}

/// The note for `--precision int8` where `auto` is faster on this CPU: int8 is for CPUs whose
/// 8-bit units (VNNI, AMX) outrun their bf16 or fp32 ones; elsewhere it loses quality and time.
/// `int8` and `auto` are the two resolutions' probe times (the same picture, so comparable).
pub fn int8_slower_note(int8: &Resolved, auto: &Resolved) -> Option<String> {
    let (Some(i), Some(a)) = (int8.seconds, auto.seconds) else { return None };
    (i > a * (1.0 + MARGIN)).then(|| {
        format!(
            "int8 is slower than precision auto on this CPU ({}: {:.2}x the time of {}); auto is faster and closer to fp32",
            int8.execution,
            i / a,
            auto.execution
        )
    })
}

/// Resolves `asked` for a network on the CPU: `source` is the file it runs (fp32 for auto, fp32
/// and bf16, the int8 file for int8), `scale` its scale when known. Measures on first use per
/// machine and model (seconds, on `threads`; kept in the cache folder, and then the same for any
/// thread count, so the frame workers and a one-thread engine run the same arithmetic). bf16 on a CPU without it,
/// or without OpenVINO, is an error.
pub fn resolve(model: &str, source: &Source, scale: Option<u32>, asked: Precision, threads: usize) -> Result<Resolved> {
    let ort = |precision| Execution { runtime: Runtime::OnnxRuntime, precision };
    let ov = |precision| Execution { runtime: Runtime::OpenVino, precision };
    let bf16_cpu = cpu_has_bf16();
    if asked == Precision::Bf16 && !bf16_cpu {
        return Err(ConfigError::new(
            "precision",
            "bf16",
            format!("auto, fp32 or int8: this CPU ({}) has neither AVX512_BF16 nor AMX", cpu_name()),
        )
        .into());
    }
    let forced = match std::env::var(FORCE_RUNTIME).ok().filter(|v| !v.is_empty()).as_deref() {
        None => None,
        Some("onnxruntime") => Some(Runtime::OnnxRuntime),
        Some("openvino") => Some(Runtime::OpenVino),
        Some(v) => return Err(ConfigError::new("UPSCALE_RUNTIME", v, "onnxruntime or openvino").into()),
    };
    let need_ov = asked == Precision::Bf16 || forced == Some(Runtime::OpenVino);
    if let Err(e) = openvino::load() {
        if need_ov {
            return Err(Error::Device {
                device: "cpu".into(),
                problem: DeviceProblem::Unavailable,
                msg: format!("{} runs through OpenVINO: {e}", if asked == Precision::Bf16 { "bf16" } else { "this" }),
            });
        }
        let execution = ort(if asked == Precision::Auto { Precision::Fp32 } else { asked });
        let note = format!("{execution} (OpenVINO is not installed: tools/setup.sh adds it)");
        return Ok(Resolved { execution, note, seconds: None });
    }
    match (forced, asked) {
        (Some(Runtime::OnnxRuntime), Precision::Bf16) => {
            return Err(ConfigError::new("precision", "bf16", "fp32, fp16 or int8 on ONNX Runtime").into());
        }
        (Some(r), p) => {
            let precision = match p {
                Precision::Auto if r == Runtime::OpenVino && bf16_cpu => Precision::Bf16,
                Precision::Auto => Precision::Fp32,
                p => p,
            };
            let execution = Execution { runtime: r, precision };
            return Ok(Resolved { execution, note: format!("{execution} ({FORCE_RUNTIME})"), seconds: None });
        }
        (None, Precision::Bf16) => {
            let execution = ov(Precision::Bf16);
            return Ok(Resolved { execution, note: format!("{execution} (asked)"), seconds: None });
        }
        (None, Precision::Fp16) => {
            let execution = ort(Precision::Fp16);
            return Ok(Resolved { execution, note: format!("{execution} (asked)"), seconds: None });
        }
        _ => {}
    }
    let (baseline, mut candidates, min_db) = match asked {
        Precision::Int8 => (ort(Precision::Int8), vec![ov(Precision::Int8)], INT8_MIN_DB),
        Precision::Fp32 => (ort(Precision::Fp32), vec![ov(Precision::Fp32)], AUTO_MIN_DB),
        _ => (ort(Precision::Fp32), vec![ov(Precision::Fp32)], AUTO_MIN_DB),
    };
    if asked == Precision::Auto && bf16_cpu && crate::model::family(model).is_none_or(|f| f.bf16_auto) {
        candidates.push(ov(Precision::Bf16));
    }
    let key = format!(
        "{model} {} {asked} cpu={} bf16={bf16_cpu} ort={ORT_VERSION} openvino={OPENVINO_VERSION}",
        identity(source),
        cpu_name()
    );
    let (trials, cached) = match read_cache().remove(&key) {
        Some(t) => (t, true),
        None => {
            let t = measure(model, source, scale, threads, baseline, &candidates)?;
            write_cache(&key, &t);
            (t, false)
        }
    };
    let execution = choose(baseline, &trials, min_db);
    let seconds = trials.iter().find(|t| t.execution == execution).map(|t| t.seconds);
    Ok(Resolved { execution, note: describe(execution, baseline, &trials, cached, bf16_cpu), seconds })
}

/// What a source's depth changes in an engine's choice: the execution to run instead (when
/// `auto` chose bf16 for a source of more than 8 bits), and a note saying why, or warning that
/// an asked bf16 may band.
#[derive(Debug, Clone, Default)]
pub struct ForDepth {
    /// Run this instead of the engine's own choice (`None`: keep it).
    pub execution: Option<Execution>,
    /// Why fp32 runs instead (`auto` on a deep source), or that an asked bf16 may band.
    pub note: Option<String>,
}

/// The rule for sources of `bits` per sample (video samples, picture channels) on an engine
/// asked for `asked` precision with `threads` that resolved `current`, whose largest network is
/// `net` (name, native scale, weights: the engine's own, never resolved again): bf16 keeps 8 bits of mantissa, so for more than 8
/// bits `--precision auto` runs fp32 instead, on the runtime `--precision fp32` would choose
/// (measured and cached as for it); an asked bf16 stays, with a note. 8-bit sources, other
/// precisions and classic filters (`current` `None`) keep what they have. Every path that runs a
/// deep source (a whole video, a segment plan, `--resume`, a picture) asks this, so they agree.
pub fn for_depth(
    asked: Precision,
    threads: usize,
    net: Option<(&str, u32, &Source)>,
    current: Option<Execution>,
    bits: u32,
) -> Result<ForDepth> {
    let Some(current) = current.filter(|e| bits > 8 && e.precision == Precision::Bf16) else {
        return Ok(ForDepth::default());
    };
    if asked != Precision::Auto {
        let note = format!(
            "{bits} bits per sample in bf16 (as asked): bf16 keeps 8 bits of mantissa, so fine steps \
             may band; precision auto or fp32 keeps them"
        );
        return Ok(ForDepth { execution: None, note: Some(note) });
    }
    let Some((name, scale, src)) = net else {
        return Ok(ForDepth::default());
    };
    let r = resolve(name, src, Some(scale), Precision::Fp32, threads)?;
    let how = r.note.strip_prefix(&format!("{} ", r.execution)).unwrap_or(&r.note);
    let note = format!(
        "precision auto: {} rather than {current} for a source of {bits} bits per sample: bf16 keeps 8 bits of \
         mantissa and would band its steps (fp32 {how})",
        r.execution
    );
    Ok(ForDepth { execution: Some(r.execution), note: Some(note) })
}

/// The note: what runs, and what the probe found for each candidate.
fn describe(chosen: Execution, baseline: Execution, trials: &[Trial], cached: bool, bf16_cpu: bool) -> String {
    let base = trials.iter().find(|t| t.execution == baseline).map_or(f64::NAN, |t| t.seconds);
    let others: Vec<String> = trials
        .iter()
        .filter(|t| t.execution != baseline)
        .map(|t| {
            let db = if t.db >= 999.0 { String::new() } else { format!(" at {:.1} dB", t.db) };
            format!("{} {:.2}x{db}", t.execution, base / t.seconds)
        })
        .collect();
    let bf16 = if bf16_cpu { "" } else { "; no bf16 on this CPU" };
    let when = if cached { "timed on this machine before" } else { "timed now" };
    format!("{chosen} (against {baseline}: {}{bf16}; {when})", others.join(", "))
}

/// Times `baseline` and `candidates` on a crop of a real photo, round-robin after a warm-up
/// each, and measures each output's agreement with the baseline's. A candidate that cannot
/// load or run is left out; the baseline failing is an error.
fn measure(
    model: &str,
    source: &Source,
    scale: Option<u32>,
    threads: usize,
    baseline: Execution,
    candidates: &[Execution],
) -> Result<Vec<Trial>> {
    let input = probe_picture();
    let mut nets = vec![(Network::load_with(model, source, Device::Cpu, threads, scale, baseline)?, f64::INFINITY)];
    let start = Instant::now();
    let reference = nets[0].0.run(&input)?;
    let first = start.elapsed().as_secs_f64();
    let mut dbs = vec![999.0];
    for &c in candidates {
        let run = Network::load_with(model, source, Device::Cpu, threads, scale, c)
            .and_then(|mut n| n.run(&input).map(|out| (n, out)));
        if let Ok((n, out)) = run {
            dbs.push(psnr(&reference.data, &out.data).min(999.0));
            nets.push((n, f64::INFINITY));
        }
    }
    let reps = if first < 0.3 {
        3
    } else if first < 1.5 {
        2
    } else {
        1
    };
    for _ in 0..reps {
        for (net, best) in nets.iter_mut() {
            let t = Instant::now();
            net.run(&input)?;
            *best = best.min(t.elapsed().as_secs_f64());
        }
    }
    Ok(nets.iter().zip(dbs).map(|((n, s), db)| Trial { execution: n.execution(), seconds: *s, db }).collect())
}

/// The probe photo whole (a real photo, 200×133).
pub(crate) fn probe_photo() -> Planes {
    let rgb = image::load_from_memory(PROBE_PHOTO).map(|i| i.to_rgb8()).unwrap_or_default();
    if rgb.width() == 0 {
        return Planes::new(PROBE_SIDE, PROBE_SIDE, 3);
    }
    Planes::from_buffer(&rgb)
}

/// The centre of the probe photo, [`PROBE_SIDE`] square.
fn probe_picture() -> Planes {
    let rgb = image::load_from_memory(PROBE_PHOTO).map(|i| i.to_rgb8()).unwrap_or_default();
    let (w, h) = rgb.dimensions();
    let side = PROBE_SIDE.min(w).min(h).max(1);
    let crop = image::imageops::crop_imm(&rgb, (w - side.min(w)) / 2, (h - side.min(h)) / 2, side, side).to_image();
    if crop.width() == 0 {
        return Planes::new(PROBE_SIDE, PROBE_SIDE, 3);
    }
    Planes::from_buffer(&crop)
}

/// PSNR of `b` against `a`, both in [0, 1] (clamped), in dB.
pub fn psnr(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len()).max(1);
    let mse: f64 =
        a.iter().zip(b).map(|(x, y)| (x.clamp(0.0, 1.0) as f64 - y.clamp(0.0, 1.0) as f64).powi(2)).sum::<f64>()
            / n as f64;
    10.0 * (1.0 / mse.max(1e-30)).log10()
}

/// A model file's identity for the cache: embedded bytes by their hash, a file by path, size
/// and modification time.
pub(crate) fn identity(source: &Source) -> String {
    match source {
        Source::Embedded(b) => {
            use sha2::Digest;
            let h = sha2::Sha256::digest(b);
            h.iter().take(8).map(|b| format!("{b:02x}")).collect()
        }
        Source::File(p) => {
            let m = std::fs::metadata(p).ok();
            let size = m.as_ref().map_or(0, |m| m.len());
            let time = m.and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}:{size}:{}", p.display(), time.map_or(0, |t| t.as_secs()))
        }
    }
}

/// Where the probes are kept.
pub fn cache_file() -> Option<PathBuf> {
    cache_root().map(|d| d.join(CACHE_FILE))
}

/// The probes' file name in the cache folder.
const CACHE_FILE: &str = "runtime-choice.json";

fn read_cache() -> BTreeMap<String, Vec<Trial>> {
    read_cache_file(CACHE_FILE)
}

fn write_cache(key: &str, trials: &[Trial]) {
    write_cache_file(CACHE_FILE, key, trials);
}

/// One of the cache folder's measurement files (`name`), by key; empty when absent or unreadable.
pub(crate) fn read_cache_file<T: serde::de::DeserializeOwned>(name: &str) -> BTreeMap<String, T> {
    cache_root()
        .and_then(|d| std::fs::read(d.join(name)).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Adds one measurement to the cache folder's file `name` (written beside and renamed:
/// concurrent runs never see half a file). A file that cannot be written only means measuring
/// again next time.
pub(crate) fn write_cache_file<T: serde::Serialize + ?Sized>(name: &str, key: &str, value: &T) {
    let Some(dir) = cache_root() else { return };
    let mut all: BTreeMap<String, serde_json::Value> = read_cache_file(name);
    let Ok(v) = serde_json::to_value(value) else { return };
    all.insert(key.to_string(), v);
    let (file, tmp) = (dir.join(name), dir.join(format!(".{name}.{}.tmp", std::process::id())));
    let ok = std::fs::create_dir_all(&dir).is_ok()
        && serde_json::to_vec_pretty(&all).is_ok_and(|b| std::fs::write(&tmp, b).is_ok());
    if !ok || std::fs::rename(&tmp, &file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn ex(runtime: Runtime, precision: Precision) -> Execution {
        Execution { runtime, precision }
    }

    fn trial(runtime: Runtime, precision: Precision, seconds: f64, db: f64) -> Trial {
        Trial { execution: ex(runtime, precision), seconds, db }
    }

    #[test]
    fn never_slower_keeps_todays_runtime_unless_another_is_clearly_faster() {
        use Precision::*;
        use Runtime::*;
        let base = ex(OnnxRuntime, Fp32);
        // An AVX2-only CPU: OpenVINO fp32 within the noise, or slower: today's runtime stays.
        let t = [trial(OnnxRuntime, Fp32, 1.00, 999.0), trial(OpenVino, Fp32, 0.97, 120.0)];
        assert_eq!(choose(base, &t, AUTO_MIN_DB), base);
        let t = [trial(OnnxRuntime, Fp32, 1.00, 999.0), trial(OpenVino, Fp32, 1.40, 120.0)];
        assert_eq!(choose(base, &t, AUTO_MIN_DB), base);
        // Clearly faster: taken.
        let t = [trial(OnnxRuntime, Fp32, 1.00, 999.0), trial(OpenVino, Fp32, 0.80, 139.0)];
        assert_eq!(choose(base, &t, AUTO_MIN_DB), ex(OpenVino, Fp32));
        // bf16 fastest and within the bar: taken; under the bar: the next fastest that holds it.
        let t = [
            trial(OnnxRuntime, Fp32, 1.00, 999.0),
            trial(OpenVino, Fp32, 0.80, 139.0),
            trial(OpenVino, Bf16, 0.40, 55.0),
        ];
        assert_eq!(choose(base, &t, AUTO_MIN_DB), ex(OpenVino, Bf16));
        let t = [
            trial(OnnxRuntime, Fp32, 1.00, 999.0),
            trial(OpenVino, Fp32, 0.99, 139.0),
            trial(OpenVino, Bf16, 0.40, 48.0),
        ];
        assert_eq!(choose(base, &t, AUTO_MIN_DB), base);
        // A failed or missing measurement never wins.
        let t = [trial(OnnxRuntime, Fp32, 1.00, 999.0), trial(OpenVino, Bf16, f64::NAN, 60.0)];
        assert_eq!(choose(base, &t, AUTO_MIN_DB), base);
        assert_eq!(choose(base, &[], AUTO_MIN_DB), base);
    }

    #[test]
    fn depth_changes_only_autos_bf16_on_deep_sources() {
        use Precision::*;
        let cfg = Config::default();
        let bf16 = Some(ex(Runtime::OpenVino, Bf16));
        // 8 bits, a classic filter, a precision other than bf16: nothing changes, nothing said.
        for (current, bits) in [(bf16, 8), (None, 16), (Some(ex(Runtime::OnnxRuntime, Fp32)), 10)] {
            let r = for_depth(cfg.precision, 0, None, current, bits).unwrap();
            assert!(r.execution.is_none() && r.note.is_none(), "{current:?} {bits}");
        }
        // An asked bf16 stays, with a note.
        let asked = Config { precision: Bf16, ..Config::default() };
        let r = for_depth(asked.precision, 0, None, bf16, 10).unwrap();
        assert!(r.execution.is_none() && r.note.is_some_and(|n| n.contains("10 bits per sample in bf16 (as asked)")));
    }

    #[test]
    fn hidden_cpu_features_are_absent_and_psnr_is_right() {
        std::env::set_var(HIDE_CPU_FEATURES, "avx512_bf16,amx_bf16");
        assert!(!cpu_has_bf16());
        std::env::remove_var(HIDE_CPU_FEATURES);
        let a = vec![0.5f32; 100];
        let mut b = a.clone();
        b[0] = 0.6; // mse 1e-4 → 40 dB
        assert!((psnr(&a, &b) - 40.0).abs() < 0.01);
        let p = probe_picture();
        assert_eq!((p.width, p.height), (PROBE_SIDE, PROBE_SIDE));
        assert!(p.data.iter().any(|&v| v > 0.1));
    }
}
