//! `upscale._upscale`: the native part of the Python package, a thin front end of the library
//! like the command line. Keyword arguments become the library's `Config`, arrays its pictures,
//! the callback its `Progress`; the engines are the library's (`Engine`, and one `Engines` cache
//! per device/precision/threads/model folder for the module-level functions), the jobs its
//! `jobs::plan_all` / `prepare` / `run_all`, exactly as `upscale` runs them. The pure-Python
//! part (python/upscale/__init__.py) gives these their documented signatures.

mod arrays;
mod errors;
mod json;
mod options;
mod progress;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use upscale::config::Kind;
use upscale::still::{self, Picture};
use upscale::{jobs, model, Config, Engine, Engines, Event, Progress};

use crate::arrays::{FromArray, Samples};
use crate::progress::{run_detached, Callback};

/// How an array is named in the library's notes (`array: runs fp32 for 16-bit samples`).
const ARRAY: &str = "array";

/// The engines of the module-level functions, one `Engines` cache per set of engine settings
/// the library's cache does not key on (device, precision, threads, model folder): two calls
/// asking for different precisions never share an engine.
fn engines_for(cfg: &Config) -> Arc<Engines> {
    static ALL: OnceLock<Mutex<HashMap<String, Arc<Engines>>>> = OnceLock::new();
    let key = format!("{}|{}|{}|{:?}", cfg.device, cfg.precision, cfg.threads, cfg.model_dir);
    let mut all = ALL.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    all.entry(key).or_insert_with(|| Arc::new(Engines::new())).clone()
}

/// What the caller raises: the Python exception that stopped the work (the callback's own, or
/// KeyboardInterrupt) before the library's error, which it caused.
fn finish<T>(cb: &Callback, result: upscale::Result<T>) -> PyResult<T> {
    if let Some(e) = cb.take_raised() {
        return Err(e);
    }
    result.map_err(|e| errors::to_py(&e))
}

/// One array through `engine` with the job settings `cfg`: the picture path's own steps (the
/// deep-source rule, the network, alpha beside it, the edit after scaling).
fn upscale_picture(engine: &Engine, cfg: &Config, input: &FromArray, cb: &Callback) -> upscale::Result<Samples> {
    let up = engine.upscaler(cfg)?;
    let mut up = up.for_depth(Path::new(ARRAY), input.bits, cb)?;
    let total = up.tile_count(input.picture.rgb.width, input.picture.rgb.height);
    cb.event(&Event::Start { file: None, total: Some(total), unit: upscale::progress::Unit::Tiles, estimated: false });
    let big = input.picture.upscale(&mut up, cb)?;
    let big = if cfg.edit.is_empty() {
        big
    } else {
        // As a written picture would be edited: rounded to its bit depth first.
        still::edit(Picture::from_image(&big.to_image()), &cfg.edit, Path::new(""), cb)?
    };
    Ok(arrays::samples_of(&big))
}

/// `upscale_image(image, progress=None, options=None)`: one array, on the engine the options
/// name (the picture default network when none), loaded once per process.
#[pyfunction]
#[pyo3(signature = (image, progress=None, options=None))]
fn upscale_image<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    progress: Option<Py<PyAny>>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let cfg = options::config(py, options)?.for_kind(Kind::Image);
    let input = arrays::read(py, image)?;
    let cb = Callback::new(progress);
    let engines = engines_for(&cfg);
    let result = run_detached(py, &cb, || {
        let engine = engines.get(&cfg, &cb)?;
        upscale_picture(&engine, &cfg, &input, &cb)
    })?;
    arrays::to_array(py, finish(&cb, result)?)
}

/// An engine built once (a network family on one device at one precision) that upscales many
/// arrays: `Engine(options)`, `.upscale(image, progress=None, options=None)`.
#[pyclass(frozen, name = "Engine", module = "upscale._upscale")]
struct PyEngine {
    engine: Arc<Engine>,
    cfg: Config,
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (options=None))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let cfg = options::config(py, options)?.for_kind(Kind::Image);
        let cb = Callback::new(None);
        let result = run_detached(py, &cb, || Engine::new(&cfg))?;
        let engine = finish(&cb, result)?;
        Ok(PyEngine { engine: Arc::new(engine), cfg })
    }

    /// Upscales one array; `options` (the engine's own with the call's on top) may change the
    /// job's settings (scale, size, tiling, edit), not the network.
    #[pyo3(signature = (image, progress=None, options=None))]
    fn upscale<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        progress: Option<Py<PyAny>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cfg = match options {
            Some(o) if !o.is_empty() => options::config(py, Some(o))?.for_kind(Kind::Image),
            _ => self.cfg.clone(),
        };
        let input = arrays::read(py, image)?;
        let cb = Callback::new(progress);
        let engine = &self.engine;
        let result = run_detached(py, &cb, || upscale_picture(engine, &cfg, &input, &cb))?;
        arrays::to_array(py, finish(&cb, result)?)
    }

    /// The network's name.
    #[getter]
    fn model(&self) -> String {
        self.engine.model().to_string()
    }

    /// The scale factor of `upscale` when the call does not change it.
    #[getter]
    fn scale(&self) -> u32 {
        self.cfg.scale
    }

    /// The denoise level.
    #[getter]
    fn denoise(&self) -> i32 {
        self.engine.denoise()
    }

    /// Where the network runs: `cpu` or `cuda:N`.
    #[getter]
    fn device(&self) -> String {
        self.engine.device().to_string()
    }

    /// The precision it runs at, as resolved (`fp32`, `bf16`, `fp16`, `int8`).
    #[getter]
    fn precision(&self) -> String {
        self.engine.precision().to_string()
    }

    /// What was chosen automatically and why (device, runtime, precision), when anything was.
    #[getter]
    fn note(&self) -> Option<String> {
        self.engine.device_note().map(str::to_string)
    }

    fn __repr__(&self) -> String {
        format!(
            "upscale.Engine(model={:?}, scale={}, denoise={}, device={:?}, precision={:?})",
            self.engine.model(),
            self.cfg.scale,
            self.engine.denoise(),
            self.engine.device().to_string(),
            self.engine.precision().to_string()
        )
    }
}

/// `upscale_file(inputs, output=None, progress=None, options=None)`: pictures, folders and
/// videos, planned, prepared and run as the command line runs them. Returns the summary; the
/// first failure raises its exception once every file has had its turn.
#[pyfunction]
#[pyo3(signature = (inputs, output=None, progress=None, options=None))]
fn upscale_file<'py>(
    py: Python<'py>,
    inputs: Vec<PathBuf>,
    output: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = options::config(py, options)?;
    if inputs.is_empty() {
        return Err(errors::raise(py, "InputError", "no input given", None, None));
    }
    let planned = jobs::plan_all(&inputs, output.as_deref(), &cfg).map_err(|e| errors::to_py(&e))?;
    let cb = Callback::new(progress);
    if let Some(first) = planned.skipped.first() {
        let n = planned.skipped.len();
        let more = if n > 1 { format!(" and {} more", n - 1) } else { String::new() };
        cb.note(&format!("{n} file(s) left out, neither picture nor video: {}{more}", first.display()));
    }
    let work = &planned.jobs;
    let engines = engines_for(&cfg);
    let result = run_detached(py, &cb, || {
        jobs::prepare(work, &engines, &cb)?;
        Ok(jobs::run_all(work, &engines, &cb))
    })?;
    let sum = finish(&cb, result)?;
    let failures = cb.take_failures();
    let paths = |v: Vec<PathBuf>| v.into_iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
    let summary = PyDict::new(py);
    summary.set_item("done", sum.done)?;
    summary.set_item("failed", sum.failed)?;
    summary.set_item("interrupted", sum.interrupted)?;
    summary.set_item("outputs", PyList::new(py, paths(cb.outputs()))?)?;
    summary.set_item("skipped", PyList::new(py, paths(planned.skipped.clone()))?)?;
    if let Some(first) = failures.first() {
        let more = match failures.len() {
            1 => String::new(),
            n => format!(" (and {} more failed files: see the error events)", n - 1),
        };
        let path = first.path.display().to_string();
        let e = errors::raise(py, first.class, &format!("{}{more}", first.message), first.setting, Some(&path));
        e.value(py).setattr("summary", &summary)?;
        return Err(e);
    }
    Ok(summary)
}

/// `models(model_dir=None)`: the family table and what is installed, one dict per network
/// (and per classic resizer), in the order `upscale models` prints them.
#[pyfunction]
#[pyo3(signature = (model_dir=None))]
fn models<'py>(py: Python<'py>, model_dir: Option<PathBuf>) -> PyResult<Bound<'py, PyList>> {
    let rows = PyList::empty(py);
    for m in model::list(model_dir.as_deref()) {
        let d = PyDict::new(py);
        d.set_item("name", &m.name)?;
        d.set_item("kind", if m.family.is_some() { "network" } else { "classic" })?;
        d.set_item("scales", m.scales.clone())?;
        d.set_item("present", m.present)?;
        d.set_item("size", m.size)?;
        d.set_item("location", &m.location)?;
        if let Some(f) = m.family {
            d.set_item("purposes", f.purposes.clone())?;
            d.set_item("about", f.about)?;
            d.set_item("licence", f.licence)?;
            d.set_item("source", f.source)?;
            d.set_item("denoise_levels", f.denoise_levels())?;
            d.set_item("int8", f.int8)?;
            d.set_item("fp16", f.fp16)?;
            d.set_item("builtin", f.location == model::Location::Embedded)?;
            d.set_item("cost", f.cost)?;
            d.set_item("cost_scale", f.cost_scale)?;
            let variants = PyList::empty(py);
            for v in &f.variants {
                let x = PyDict::new(py);
                x.set_item("scale", v.scale)?;
                x.set_item("denoise", v.denoise)?;
                x.set_item("file", v.file)?;
                x.set_item("sha256", v.sha256)?;
                variants.append(x)?;
            }
            d.set_item("variants", variants)?;
        }
        rows.append(d)?;
    }
    Ok(rows)
}

/// The module: the functions above, the `Engine` class, and the library's defaults.
#[pymodule]
fn _upscale(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(upscale_image, m)?)?;
    m.add_function(wrap_pyfunction!(upscale_file, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_class::<PyEngine>()?;
    m.add("DEFAULT_PICTURE_MODEL", model::DEFAULT_PICTURE_MODEL)?;
    m.add("DEFAULT_VIDEO_MODEL", model::DEFAULT_MODEL)?;
    m.add("LIBRARY_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
