"""Shared fixtures of the package's tests: the command-line binary to compare against, real
pictures (crops of the repository's samples/coffee.png), clips made with ffmpeg, and probes.

These tests run on the installed wheel (tests/python.rs builds it, installs it into a fresh
venv under target/ and runs pytest with UPSCALE_BIN set); a missing tool fails them, never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
from PIL import Image

import upscale

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    # The package under test is the installed wheel, never the source folder beside the tests.
    assert "site-packages" in upscale.__file__, f"upscale imported from {upscale.__file__}, not the installed wheel"


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `upscale` binary the package is compared with ($UPSCALE_BIN, set by tests/python.rs)."""
    p = os.environ.get("UPSCALE_BIN")
    assert p, "UPSCALE_BIN is not set: run these tests through `cargo test --release --test python`"
    assert Path(p).is_file(), f"the upscale binary is missing: {p}"
    return Path(p)


def tool(name: str) -> str:
    """The path of a command these tests need; its absence fails the test."""
    p = shutil.which(name)
    assert p, f"{name} is missing (tools/setup.sh installs it)"
    return p


def run_cli(cli: Path, *args: Any) -> subprocess.CompletedProcess:
    r = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"upscale {args} failed ({r.returncode}): {r.stderr}"
    return r


def photo(w: int, h: int, x: int = 0, y: int = 0) -> np.ndarray:
    """A w x h crop of samples/coffee.png (a real photograph) as an RGB uint8 array."""
    with Image.open(REPO / "samples" / "coffee.png") as im:
        rgb = np.asarray(im.convert("RGB"))
    assert rgb.shape[0] >= y + h and rgb.shape[1] >= x + w, rgb.shape
    return np.ascontiguousarray(rgb[y : y + h, x : x + w])


def read_png(p: Path) -> np.ndarray:
    with Image.open(p) as im:
        return np.asarray(im)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def make_clip(path: Path, frames: int, w: int = 96, h: int = 64, audio: bool = True) -> None:
    """A clip of a moving test pattern (and a tone) encoded with x264 (and AAC)."""
    args = [tool("ffmpeg"), "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate=24"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    subprocess.run(args + [str(path)], check=True, timeout=120)


def probe(path: Path) -> List[Dict[str, Any]]:
    """The streams of a media file with their frames counted by decoding (ffprobe)."""
    r = subprocess.run(
        [tool("ffprobe"), "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(r.stdout)["streams"]
