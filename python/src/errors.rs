//! The library's errors as Python exceptions: each `upscale::Error` kind raises its class of
//! `upscale.Error` (defined in python/upscale/_errors.py) with the library's one-line message
//! (`Error::report`), and the setting or file it names as attributes.

use pyo3::prelude::*;
use pyo3::types::PyType;
use upscale::Error;

/// The class in `upscale._errors` an error of the library raises.
pub fn class_of(e: &Error) -> &'static str {
    match e {
        Error::Config(_) | Error::Conflict(_) => "ConfigError",
        Error::Decode { .. } | Error::TooLarge { .. } => "InputError",
        Error::Output { .. } | Error::Encode { .. } => "OutputError",
        Error::Io { .. } => "FileError",
        Error::Video { .. } => "VideoError",
        Error::Model { .. } => "ModelError",
        Error::Runtime { .. } => "RuntimeLibraryError",
        Error::Device { .. } => "DeviceError",
        Error::OutOfMemory { .. } | Error::Memory { .. } => "MemoryLimitError",
        Error::Edit { .. } => "EditError",
        Error::Cancelled => "Cancelled",
        _ => "Error",
    }
}

/// The file an error names, when it names one.
pub fn path_of(e: &Error) -> Option<std::path::PathBuf> {
    match e {
        Error::Io { path, .. }
        | Error::Decode { path, .. }
        | Error::Encode { path, .. }
        | Error::TooLarge { path, .. }
        | Error::Output { path, .. }
        | Error::Video { path, .. } => Some(path.clone()),
        Error::Edit { path, .. } if !path.as_os_str().is_empty() => Some(path.clone()),
        Error::Memory { file, .. } => file.clone(),
        _ => None,
    }
}

/// A library error as the Python exception to raise.
pub fn to_py(e: &Error) -> PyErr {
    Python::attach(|py| {
        let path = path_of(e).map(|p| p.display().to_string());
        raise(py, class_of(e), &message(e), e.setting(), path.as_deref())
    })
}

/// The library's one-line message, in this front end's words where it names the command
/// line's: an output that exists is replaced with `overwrite=True`, not `-y`.
pub fn message(e: &Error) -> String {
    let text = e.report();
    match e {
        Error::Output { .. } => text.replace("(use -y to overwrite)", "(overwrite=True replaces it)"),
        _ => text,
    }
}

/// An exception of class `class` (a name in `upscale._errors`) with `message`, and the
/// attributes `setting` (the `Config` field it is about) and `path` (the file it names).
pub fn raise(py: Python<'_>, class: &str, message: &str, setting: Option<&str>, path: Option<&str>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("upscale._errors")?;
        let cls = module.getattr(class)?;
        let cls = cls.cast::<PyType>()?;
        let exc = cls.call1((message,))?;
        exc.setattr("setting", setting)?;
        exc.setattr("path", path)?;
        Ok(PyErr::from_value(exc))
    };
    // The package's own module failing to import is a broken installation: say that instead.
    build().unwrap_or_else(|e| e)
}

/// A `ConfigError` about the keyword argument `name` (not a library error: an unknown name or
/// a value of the wrong type).
pub fn config(py: Python<'_>, name: Option<&str>, message: &str) -> PyErr {
    raise(py, "ConfigError", message, name, None)
}

/// An `InputError` about an array given to upscale.
pub fn input(py: Python<'_>, message: &str) -> PyErr {
    raise(py, "InputError", message, None, None)
}
