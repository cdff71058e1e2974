//! Keyword arguments to `upscale::Config`, the library's one settings struct: each name is a
//! `Config` field (`scale`, `tile`, `video`, `edit`, …) or a field of `Config::video` given flat
//! (`crf=20`, `codec="libx265"`), set through serde one at a time so a wrong value is refused
//! naming its argument; then `Config::validate`, the one place ranges are stated. The fields
//! `Config` does not serialise (this machine's: `threads`, `recursive`, and `video.queue_depth`,
//! `video.resume`, `video.segment_frames`) are set directly.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};
use upscale::Config;

use crate::errors;
use crate::json;

/// `Config` fields that serde skips (this machine's settings), set here by hand.
const TOP_LOCAL: [&str; 2] = ["threads", "recursive"];
/// `VideoConfig` fields that serde skips.
const VIDEO_LOCAL: [&str; 3] = ["queue_depth", "resume", "segment_frames"];

/// The keyword arguments `options` (None: none) as a validated `Config`.
pub fn config(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Config> {
    let base = serde_json::to_value(Config::default()).map_err(|e| errors::config(py, None, &e.to_string()))?;
    let Value::Object(mut base) = base else {
        return Err(errors::config(py, None, "Config does not serialise to an object"));
    };
    let top: Vec<String> = base.keys().cloned().collect();
    let video: Vec<String> = match base.get("video") {
        Some(Value::Object(v)) => v.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let mut local: Vec<(String, Value)> = Vec::new();
    if let Some(options) = options {
        for (k, v) in options.iter() {
            let name: String = k.extract()?;
            if name == "video" {
                let Ok(d) = v.cast::<PyDict>() else {
                    return Err(errors::config(py, Some("video"), "video: expected a dict of video settings"));
                };
                for (vk, vv) in d.iter() {
                    let vname: String = vk.extract()?;
                    set_video(py, &mut base, &video, &mut local, &vname, &vv)?;
                }
            } else if TOP_LOCAL.contains(&name.as_str()) {
                local.push((name.clone(), value(py, &name, &v)?));
            } else if top.contains(&name) {
                let val = value(py, &name, &v)?;
                base.insert(name.clone(), val);
                check(py, &base, &name, &v)?;
            } else if video.contains(&name) || VIDEO_LOCAL.contains(&name.as_str()) {
                set_video(py, &mut base, &video, &mut local, &name, &v)?;
            } else {
                let mut names: Vec<&str> = top.iter().map(String::as_str).filter(|n| *n != "video").collect();
                names.extend(TOP_LOCAL);
                names.extend(video.iter().map(String::as_str));
                names.extend(VIDEO_LOCAL);
                return Err(errors::config(
                    py,
                    Some(&name),
                    &format!("unknown option '{name}'; the options are {}", names.join(", ")),
                ));
            }
        }
    }
    let mut cfg: Config =
        serde_json::from_value(Value::Object(base)).map_err(|e| errors::config(py, None, &e.to_string()))?;
    for (name, v) in local {
        let bad = |expected: &str| errors::config(py, Some(&name), &format!("{name} {v}: expected {expected}"));
        match name.as_str() {
            "threads" => cfg.threads = v.as_u64().ok_or_else(|| bad("0 (all cores) or a thread count"))? as usize,
            "recursive" => cfg.recursive = v.as_bool().ok_or_else(|| bad("True or False"))?,
            "queue_depth" => cfg.video.queue_depth = v.as_u64().ok_or_else(|| bad("at least 1"))? as usize,
            "resume" => cfg.video.resume = v.as_bool().ok_or_else(|| bad("True or False"))?,
            "segment_frames" => cfg.video.segment_frames = v.as_u64().ok_or_else(|| bad("0 or a frame count"))?,
            _ => {}
        }
    }
    cfg.validate().map_err(|e| errors::to_py(&e))?;
    Ok(cfg)
}

/// One video setting, given flat or inside `video=`.
fn set_video(
    py: Python<'_>,
    base: &mut Map<String, Value>,
    fields: &[String],
    local: &mut Vec<(String, Value)>,
    name: &str,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if VIDEO_LOCAL.contains(&name) {
        local.push((name.to_string(), value(py, name, v)?));
        return Ok(());
    }
    if !fields.iter().any(|f| f == name) {
        let mut names: Vec<&str> = fields.iter().map(String::as_str).collect();
        names.extend(VIDEO_LOCAL);
        return Err(errors::config(
            py,
            Some(name),
            &format!("unknown video option '{name}'; the video options are {}", names.join(", ")),
        ));
    }
    let mut val = value(py, name, v)?;
    // `encoder_opts` as a dict ({"tune": "film"}) or as pairs, as the CLI's key=value list.
    if let (Some(m), "encoder_opts") = (val.as_object(), name) {
        val = Value::Array(m.iter().map(|(k, x)| Value::Array(vec![Value::String(k.clone()), plain(x)])).collect());
    }
    if let Some(Value::Object(video)) = base.get_mut("video") {
        video.insert(name.to_string(), val);
    }
    check(py, base, name, v)
}

/// An encoder option's value as the string the encoder is given.
fn plain(v: &Value) -> Value {
    match v {
        Value::String(_) => v.clone(),
        other => Value::String(other.to_string()),
    }
}

/// The argument `name` as JSON, a type that has none refused naming it.
fn value(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    json::from_py(v, name).map_err(|e| match e.is_instance_of::<pyo3::exceptions::PyTypeError>(py) {
        true => errors::config(py, Some(name), &e.value(py).to_string()),
        false => e,
    })
}

/// Whether the settings so far still make a `Config` (serde accepts the types); the error names
/// the argument just set, its value and what serde expected.
fn check(py: Python<'_>, base: &Map<String, Value>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<()> {
    match serde_json::from_value::<Config>(Value::Object(base.clone())) {
        Ok(_) => Ok(()),
        Err(e) => {
            let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
            Err(errors::config(py, Some(name), &format!("{name} {shown}: {e}")))
        }
    }
}
