"""Errors are exceptions under upscale.Error with the library's messages: bad arrays raise
InputError (never a crash), options ConfigError naming the option, a missing network, runtime
or output their own classes; a callback's False or exception stops the work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import upscale
from conftest import photo

ANIME = "realesr-animevideov3"


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros((48, 64), np.uint8), "(48, 64)"),
        (np.zeros((48, 64, 3), np.float64), "float64"),
        (np.zeros((48, 64, 3), np.int32), "int32"),
        (np.zeros((48, 64, 3), bool), "bool"),
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((0, 64, 3), np.uint8), "empty"),
        (np.zeros((48, 0, 4), np.uint8), "empty"),
        (np.zeros((48, 64, 2), np.uint8), "(48, 64, 2)"),
        (np.zeros((48, 64, 1), np.uint16), "(48, 64, 1)"),
        (np.zeros((2, 48, 64, 3), np.uint8), "(2, 48, 64, 3)"),
        (np.zeros(3, np.uint8), "(3,)"),
        (np.zeros((48, 64, 3), ">u2"), "u2"),
        ([[[0, 0, 0]]], "list"),
        ("picture.png", "str"),
        (None, "NoneType"),
    ],
)
def test_bad_arrays_raise_input_error(bad, words: str) -> None:
    for call in (lambda: upscale.upscale_image(bad, model=ANIME), lambda: upscale.Engine(model=ANIME).upscale(bad)):
        with pytest.raises(upscale.InputError) as e:
            call()
        assert isinstance(e.value, ValueError) and isinstance(e.value, upscale.Error)
        assert words in str(e.value), str(e.value)


def test_options_are_checked_and_named() -> None:
    a = photo(32, 24)
    with pytest.raises(upscale.ConfigError) as e:
        upscale.upscale_image(a, scale=5, model=ANIME)
    assert e.value.setting == "scale" and "scale 5: expected 2, 3, 4, 6 or 8" in str(e.value)
    with pytest.raises(upscale.ConfigError) as e:
        upscale.upscale_image(a, model=ANIME, tiel=64)
    assert e.value.setting == "tiel" and "unknown option 'tiel'" in str(e.value) and "tile" in str(e.value)
    with pytest.raises(upscale.ConfigError) as e:
        upscale.upscale_image(a, model=ANIME, scale="four")
    assert e.value.setting == "scale" and "'four'" in str(e.value)
    with pytest.raises(upscale.ConfigError) as e:
        upscale.upscale_image(a, model=ANIME, precision="fp8")
    assert "precision" in str(e.value) and "fp32" in str(e.value)
    with pytest.raises(upscale.ConfigError) as e:
        upscale.upscale_image(a, model=ANIME, outscale=2.0, width=100)
    assert e.value.setting == "outscale" and isinstance(e.value, ValueError)
    with pytest.raises(upscale.ConfigError) as e:
        upscale.upscale_file("x.mp4", crf=99)
    assert e.value.setting == "video.crf"
    with pytest.raises(upscale.ConfigError) as e:
        upscale.upscale_image(a, model=ANIME, device=object())
    assert e.value.setting == "device"


def test_model_input_and_output_errors(tmp_path: Path) -> None:
    a = photo(32, 24)
    with pytest.raises(upscale.ModelError) as e:
        upscale.upscale_image(a, model="no-such-network")
    assert "no-such-network" in str(e.value) and ANIME in str(e.value)
    with pytest.raises(upscale.FileError) as e:
        upscale.upscale_file(tmp_path / "missing.png", tmp_path / "out.png")
    assert isinstance(e.value, OSError) and "missing.png" in str(e.value)
    (tmp_path / "not.png").write_bytes(b"this is not a picture at all, nor a video")
    with pytest.raises(upscale.Error) as e:
        upscale.upscale_file(tmp_path / "not.png", tmp_path / "out.png", model=ANIME)
    assert "not.png" in str(e.value) and e.value.summary["failed"] == 1
    assert not (tmp_path / "out.png").exists()
    Image.fromarray(a).save(tmp_path / "in.png")
    (tmp_path / "taken.png").write_bytes(b"")
    with pytest.raises(upscale.OutputError) as e:
        upscale.upscale_file(tmp_path / "in.png", tmp_path / "taken.png", model=ANIME)
    assert "taken.png" in str(e.value) and e.value.path.endswith("taken.png")
    assert "overwrite=True" in str(e.value)
    summary = upscale.upscale_file(tmp_path / "in.png", tmp_path / "taken.png", model=ANIME, overwrite=True)
    assert summary["done"] == 1 and Image.open(tmp_path / "taken.png").size == (128, 96)


def test_a_callback_that_answers_false_or_raises_stops_the_work() -> None:
    a = photo(96, 64)
    seen = []

    def stop(e):
        seen.append(e)
        return False if e["event"] == "progress" else None

    with pytest.raises(upscale.Cancelled):
        upscale.upscale_image(a, model=ANIME, tile=32, progress=stop)
    assert [e["done"] for e in seen if e["event"] == "progress"] == [1]

    class Boom(Exception):
        pass

    def boom(e):
        if e["event"] == "progress":
            raise Boom("from the callback")

    with pytest.raises(Boom):
        upscale.upscale_image(a, model=ANIME, tile=32, progress=boom)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )


def test_a_missing_runtime_or_model_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import numpy as np, upscale\n"
        "try:\n"
        "    upscale.upscale_image(np.zeros((8, 8, 3), np.uint8), model='realesr-animevideov3')\n"
        "except upscale.RuntimeLibraryError as e:\n"
        "    print('raised', e)\n"
    )
    r = run_python(code, ORT_DYLIB_PATH=str(tmp_path / "libonnxruntime.so"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("raised ONNX Runtime: libonnxruntime.so 1.31.1 not found"), r.stdout
    assert "ORT_DYLIB_PATH" in r.stdout and "tools/setup.sh" in r.stdout
    code = (
        "import numpy as np, upscale\n"
        "try:\n"
        "    upscale.upscale_image(np.zeros((8, 8, 3), np.uint8))\n"
        "except upscale.ModelError as e:\n"
        "    print('raised', e)\n"
    )
    r = run_python(code, UPSCALE_MODEL_DIR=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert upscale.DEFAULT_PICTURE_MODEL in r.stdout and "not installed" in r.stdout, r.stdout
    assert "tools/setup.sh" in r.stdout and "UPSCALE_MODEL_DIR" in r.stdout
