"""The README's three Python examples (section "Python") run as written, in a folder holding
the files they name: a picture, a folder of scans, a clip with audio."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import REPO, make_clip, photo, probe


def examples() -> list:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_examples_run(tmp_path: Path, monkeypatch) -> None:
    blocks = examples()
    assert len(blocks) == 3, blocks
    Image.fromarray(photo(60, 40)).save(tmp_path / "photo.jpg", quality=95)
    (tmp_path / "scans" / "old").mkdir(parents=True)
    Image.fromarray(photo(40, 30, 100, 50)).save(tmp_path / "scans" / "a.png")
    Image.fromarray(photo(36, 28, 20, 90)).save(tmp_path / "scans" / "old" / "b.jpg", quality=80)
    make_clip(tmp_path / "clip.mp4", 12)
    monkeypatch.chdir(tmp_path)
    for i, code in enumerate(blocks):
        script = tmp_path / f"example{i}.py"
        script.write_text(code, encoding="utf-8")
        runpy.run_path(str(script), run_name="__main__")
    assert Image.open(tmp_path / "photo_x4.png").size == (240, 160)
    assert Image.open(tmp_path / "scans_x2" / "a.png").size == (80, 60)
    assert Image.open(tmp_path / "scans_x2" / "old" / "b.jpg").size == (72, 56)
    streams = probe(tmp_path / "clip_x2.mkv")
    video = next(s for s in streams if s["codec_type"] == "video")
    assert int(video["nb_read_frames"]) == 12 and video["width"] == 192
    assert any(s["codec_type"] == "audio" for s in streams)
    assert np.asarray(Image.open(tmp_path / "photo_x4.png")).std() > 10
