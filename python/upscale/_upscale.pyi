"""Type stubs of the native module `upscale._upscale` (python/src/lib.rs). Callers use the
documented wrappers in `upscale` (python/upscale/__init__.py) instead."""

from typing import Any, Callable, Dict, List, Optional

import numpy.typing

_Array = numpy.typing.NDArray[Any]
_Progress = Optional[Callable[[Dict[str, Any]], Optional[bool]]]

DEFAULT_PICTURE_MODEL: str
DEFAULT_VIDEO_MODEL: str
LIBRARY_VERSION: str

def upscale_image(image: _Array, progress: _Progress = None, options: Optional[Dict[str, Any]] = None) -> _Array: ...
def upscale_file(
    inputs: List[str],
    output: Optional[str] = None,
    progress: _Progress = None,
    options: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]: ...
def models(model_dir: Optional[str] = None) -> List[Dict[str, Any]]: ...

class Engine:
    def __init__(self, options: Optional[Dict[str, Any]] = None) -> None: ...
    def upscale(
        self, image: _Array, progress: _Progress = None, options: Optional[Dict[str, Any]] = None
    ) -> _Array: ...
    @property
    def model(self) -> str: ...
    @property
    def scale(self) -> int: ...
    @property
    def denoise(self) -> int: ...
    @property
    def device(self) -> str: ...
    @property
    def precision(self) -> str: ...
    @property
    def note(self) -> Optional[str]: ...
