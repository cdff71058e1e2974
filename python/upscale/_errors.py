"""The exceptions of `upscale`: one `upscale.Error` with a subclass per kind of the library's
errors (`upscale::Error` in Rust), each carrying the library's one-line message.

Each also derives from the built-in exception a Python caller would expect (a bad setting is a
`ValueError`, a missing file an `OSError`, a refusal for memory a `MemoryError`), so existing
``except`` clauses keep working.
"""

from __future__ import annotations

from typing import Any, Optional


class Error(Exception):
    """Anything `upscale` refuses or fails at. The message is the library's own, on one line,
    naming the file (or model) and the cause.

    Attributes:
        setting: the option the error is about (``"scale"``, ``"tile"``, ...), when it is one.
        path: the file it names, when it names one.
        summary: for `upscale_file`, the run's summary (set when some files failed).
    """

    setting: Optional[str] = None
    path: Optional[str] = None
    summary: Optional[dict[str, Any]] = None


class ConfigError(Error, ValueError):
    """An option out of its range, options that cannot go together, an unknown option or a
    value of the wrong type. ``setting`` names the option."""


class InputError(Error, ValueError):
    """The input cannot be used: a file that is not a picture or video we read, a picture over
    the pixel limit, or an array that is not (height, width, 3 or 4) of uint8 or uint16."""


class OutputError(Error):
    """The output cannot be written: it exists (pass ``overwrite=True``), it is the input, its
    extension names no format we write, or the encoder failed."""


class FileError(Error, OSError):
    """Reading or writing a file or folder failed (the operating system's reason follows)."""


class VideoError(Error):
    """A video could not be read, processed or written (FFmpeg's reason follows)."""


class ModelError(Error):
    """A network could not be found, loaded or run: an unknown name, or a family whose files
    are not installed (run tools/setup.sh, or set ``UPSCALE_MODEL_DIR``)."""


class RuntimeLibraryError(Error):
    """The ONNX Runtime library could not be found or loaded: run tools/setup.sh, or set
    ``ORT_DYLIB_PATH`` to ``libonnxruntime.so`` from the onnxruntime 1.31.1 wheel."""


class DeviceError(Error):
    """A device that was asked for cannot be had (a GPU without its libraries or driver,
    OpenVINO missing for bf16, int8 on a GPU)."""


class MemoryLimitError(Error, MemoryError):
    """The result would need more memory than this process may use (refused before
    allocating), or the device ran out of memory."""


class EditError(Error, ValueError):
    """An edit after scaling (crop, rotate, resize, watermark, ...) cannot be done."""


class Cancelled(Error):
    """The progress callback returned False while a picture was being upscaled."""


__all__ = [
    "Error",
    "ConfigError",
    "InputError",
    "OutputError",
    "FileError",
    "VideoError",
    "ModelError",
    "RuntimeLibraryError",
    "DeviceError",
    "MemoryLimitError",
    "EditError",
    "Cancelled",
]
