"""AI upscaling of pictures and videos: Real-ESRGAN, Real-CUGAN, waifu2x and SPAN networks on
ONNX Runtime or OpenVINO, without PyTorch. A thin front end of the `upscale` Rust library, like
its command line: the same engine, the same options, the same progress events.

    >>> import upscale
    >>> big = upscale.upscale_image(pixels)                  # (h, w, 3|4) uint8/uint16 array
    >>> engine = upscale.Engine(model="realesr-animevideov3", scale=2)
    >>> frames = [engine.upscale(f) for f in small_frames]   # one engine, many arrays
    >>> upscale.upscale_file("clip.mp4", "clip_x2.mp4", scale=2, progress=print)

Options are keyword arguments named as the library's settings (the command line's long options
with ``_`` for ``-``): ``scale``, ``model``, ``denoise``, ``precision``, ``device``,
``outscale``, ``width``, ``height``, ``tile``, ``tile_pad``, ``threads``, ``quality``,
``overwrite``, ``recursive``, ``max_pixels``, ``model_dir``, ``provenance``, ``edit`` (a dict),
and the video ones given flat or as ``video={...}``: ``codec``, ``crf``, ``preset``,
``pix_fmt``, ``encoder_opts``, ``no_audio``, ``deinterlace``, ``strict``, ``tonemap``,
``resume``, ``segment_frames``, ``queue_depth``. docs/CLI.md says what each does.

The ONNX Runtime library, OpenVINO and the models are found as the command line finds them:
``ORT_DYLIB_PATH``, ``UPSCALE_OPENVINO_DIR``, ``UPSCALE_MODEL_DIR``, else the ``.cache`` made by
tools/setup.sh in the checkout the package was built from (README.md, section "Python").
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import numpy
import numpy.typing

from . import _upscale
from ._errors import (
    Cancelled,
    ConfigError,
    DeviceError,
    EditError,
    Error,
    FileError,
    InputError,
    MemoryLimitError,
    ModelError,
    OutputError,
    RuntimeLibraryError,
    VideoError,
)

__version__ = "0.1.0"

#: The network for pictures when none is named.
DEFAULT_PICTURE_MODEL: str = _upscale.DEFAULT_PICTURE_MODEL
#: The network for videos when none is named (built in: nothing to install).
DEFAULT_VIDEO_MODEL: str = _upscale.DEFAULT_VIDEO_MODEL

#: One progress event, as ``upscale --progress json`` prints it: ``{"event": "start", ...}``,
#: ``"progress"`` (``done``, ``total``, ``unit``: tiles, frames or files), ``"note"``,
#: ``"warning"``, ``"file_done"``, ``"error"``, ``"summary"``.
Event = Dict[str, Any]
#: A progress callback: called with every event; returning ``False`` stops the work (a picture
#: then raises `Cancelled`, a video is finished short), raising stops it and is re-raised.
ProgressCallback = Callable[[Event], Optional[bool]]
PathLike = Union[str, "os.PathLike[str]"]
Array = numpy.typing.NDArray[Any]


def upscale_image(
    image: Array,
    scale: int = 4,
    model: Optional[str] = None,
    denoise: int = 0,
    precision: str = "auto",
    *,
    progress: Optional[ProgressCallback] = None,
    **options: Any,
) -> Array:
    """Upscales one picture held in an array and returns the result as a new array.

    Args:
        image: (height, width, 3) RGB or (height, width, 4) RGBA, ``uint8`` or ``uint16``, any
            strides. The result has the same channels and dtype (alpha is resized beside the
            network; 16-bit samples run at fp32 where ``auto`` would choose bf16).
        scale: 2, 3, 4, 6 or 8 (1 with a denoising network).
        model: a network family (`models`), a classic resizer or an ``.onnx`` path; None is
            the picture default, `DEFAULT_PICTURE_MODEL`.
        denoise: the family's denoise level: -1, 0 (none), 1, 2 or 3.
        precision: ``auto``, ``fp32``, ``fp16``, ``bf16`` or ``int8``.
        progress: called with each event (``start`` and ``progress`` in tiles, notes).
        **options: any other option (``device``, ``tile``, ``outscale``, ``width``, ...).

    The engine for these options is loaded on the first call and kept for the next ones.
    The GIL is released while the network runs; Ctrl-C stops it within one tile and raises
    KeyboardInterrupt.

    Raises:
        InputError: the array is not a picture (2-D, float, empty, ...).
        ConfigError: an option is unknown or out of its range.
        ModelError, RuntimeLibraryError, DeviceError, MemoryLimitError: see their docs.
    """
    opts = dict(options, scale=scale, model=model, denoise=denoise, precision=precision)
    return _upscale.upscale_image(image, progress, opts)


class Engine:
    """A network family loaded once, on one device at one precision, that upscales many arrays.

    >>> engine = upscale.Engine(model="realesr-animevideov3", scale=2)
    >>> engine.device, engine.precision
    ('cpu', 'fp32')
    >>> out = engine.upscale(frame)

    Building it loads the networks for ``scale`` (and on the CPU, the first time on a machine,
    times the runtimes to choose the fastest: seconds). One engine may be used from several
    threads; calls run one at a time.
    """

    def __init__(
        self,
        model: Optional[str] = None,
        scale: int = 4,
        denoise: int = 0,
        precision: str = "auto",
        **options: Any,
    ) -> None:
        """Loads ``model`` (None: `DEFAULT_PICTURE_MODEL`) for ``scale``, at ``denoise`` and
        ``precision``; ``options`` as for `upscale_image` (``device``, ``threads``, ``tile``,
        ``model_dir``, ...)."""
        self._options: Dict[str, Any] = dict(options, model=model, scale=scale, denoise=denoise, precision=precision)
        self._engine = _upscale.Engine(self._options)

    def upscale(self, image: Array, *, progress: Optional[ProgressCallback] = None, **options: Any) -> Array:
        """Upscales one array (as `upscale_image` describes) with this engine's networks.

        ``options`` change this call's job settings only (``scale``, ``outscale``, ``width``,
        ``height``, ``tile``, ``tile_pad``, ``edit``); a different network or denoise level is a
        `ConfigError` (build another engine)."""
        opts = dict(self._options, **options) if options else None
        return self._engine.upscale(image, progress, opts)

    @property
    def model(self) -> str:
        """The network's name."""
        return self._engine.model

    @property
    def scale(self) -> int:
        """The scale factor `upscale` applies when the call does not change it."""
        return self._engine.scale

    @property
    def denoise(self) -> int:
        """The denoise level."""
        return self._engine.denoise

    @property
    def device(self) -> str:
        """Where the network runs: ``cpu`` or ``cuda:N``."""
        return self._engine.device

    @property
    def precision(self) -> str:
        """The precision it runs at, as resolved: ``fp32``, ``bf16``, ``fp16`` or ``int8``."""
        return self._engine.precision

    @property
    def note(self) -> Optional[str]:
        """What was chosen automatically (device, runtime, precision) and why, if anything."""
        return self._engine.note

    def __repr__(self) -> str:
        return repr(self._engine)


def upscale_file(
    input: Union[PathLike, Iterable[PathLike]],
    output: Optional[PathLike] = None,
    *,
    progress: Optional[ProgressCallback] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Upscales picture and video files as the command line does: ``upscale INPUT -o OUTPUT``.

    Args:
        input: a picture, a video, a folder (its pictures and videos; ``recursive=True`` for
            sub-folders), or a list of them.
        output: the file to write (its extension picks the format), or for a folder or a list
            the folder to write into; None names outputs beside the inputs (``photo_x4.png``).
        progress: called with each event as ``upscale --progress json`` prints it: ``start``
            and ``progress`` (tiles of a picture, frames of a video, files of a batch),
            ``note``, ``warning``, ``file_done``, ``error``, ``summary``. Returning ``False``
            stops the run (a video is finished short and kept); raising stops it and the
            exception is re-raised.
        **options: the options (`upscale` module doc): ``scale``, ``model``, ``overwrite``,
            ``crf``, ``codec``, ``no_audio``, ...

    Returns:
        ``{"done": files written in full, "failed": files that failed, "interrupted": bool,
        "outputs": [paths written], "skipped": [files that are neither picture nor video]}``.

    Videos keep their audio, subtitles and metadata. The GIL is released while the files are
    worked on; Ctrl-C stops the run within one frame (the video written so far is kept, as
    the command line's first Ctrl-C does) and raises KeyboardInterrupt.

    Raises:
        Error: the subclass for the first file that failed (each file had its turn; the others'
            errors came as ``error`` events); the summary is its ``summary`` attribute. Before
            any work: `ConfigError`, `OutputError` (an output exists: ``overwrite=True``),
            `FileError` (an input is missing), `ModelError`, ...
    """
    if isinstance(input, (str, os.PathLike)):
        inputs: List[str] = [os.fspath(input)]
    else:
        inputs = [os.fspath(p) for p in input]
    out = None if output is None else os.fspath(output)
    return _upscale.upscale_file(inputs, out, progress, options)


def models(model_dir: Optional[PathLike] = None) -> List[Dict[str, Any]]:
    """The networks and classic resizers, as ``upscale models`` lists them: one dict each with
    ``name``, ``kind`` (``network`` or ``classic``), ``scales``, ``present`` (its files are
    installed), ``size`` (bytes, when present), ``location``, and for networks ``purposes``,
    ``about``, ``licence``, ``source``, ``denoise_levels``, ``variants``, ``builtin``,
    ``int8``, ``fp16``, ``cost`` (time relative to realesr-animevideov3) and ``cost_scale``.
    ``model_dir`` is where to look for the converted models (default: as `Engine` looks)."""
    return _upscale.models(None if model_dir is None else os.fspath(model_dir))


__all__ = [
    "upscale_image",
    "upscale_file",
    "Engine",
    "models",
    "Event",
    "ProgressCallback",
    "DEFAULT_PICTURE_MODEL",
    "DEFAULT_VIDEO_MODEL",
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
