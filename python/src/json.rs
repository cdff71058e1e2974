//! Python objects to JSON values and back: keyword arguments become the `serde_json::Value` that
//! `upscale::Config` is deserialised from, and every `upscale::Event`, serialised as
//! `--progress json` prints it, becomes the dict the callback receives.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// JSON text as Python objects, by Python's own `json.loads`.
pub fn loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

/// A Python value as JSON: None, bool, int, float, str, `os.PathLike` (as its path), lists,
/// tuples and dicts with string keys. `what` names the value in the error for anything else.
pub fn from_py(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<u64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        return Err(PyTypeError::new_err(format!("{what}: {} does not fit in 64 bits", obj.repr()?)));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| PyTypeError::new_err(format!("{what}: {f} is not a finite number")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let Ok(key) = k.extract::<String>() else {
                return Err(PyTypeError::new_err(format!("{what}: keys must be strings, not {}", k.repr()?)));
            };
            let inner = from_py(&v, &format!("{what}.{key}"))?;
            m.insert(key, inner);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut a = Vec::new();
        for (i, x) in obj.try_iter()?.enumerate() {
            a.push(from_py(&x?, &format!("{what}[{i}]"))?);
        }
        return Ok(Value::Array(a));
    }
    // pathlib.Path and anything else with __fspath__.
    let os = obj.py().import("os")?;
    if let Ok(p) = os.call_method1("fspath", (obj,)) {
        if let Ok(s) = p.cast::<PyString>() {
            return Ok(Value::String(s.to_cow()?.into_owned()));
        }
    }
    let ty = obj.get_type().name()?;
    Err(PyTypeError::new_err(format!("{what}: a value of type {ty} is not accepted")))
}
