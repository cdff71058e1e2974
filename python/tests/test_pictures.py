"""Pictures as arrays: the same pixels as the command line's output for the same PNG (>= 50 dB),
RGBA kept, uint16 in and out, one Engine serving several arrays, strided arrays, tile events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import upscale
from conftest import photo, psnr, read_png, run_cli


@pytest.mark.parametrize("model, scale", [(None, 4), ("realesr-animevideov3", 2)])
def test_a_picture_equals_the_command_lines_output(cli: Path, tmp_path: Path, model, scale) -> None:
    a = photo(96, 72, 40, 30)
    Image.fromarray(a).save(tmp_path / "in.png")
    args = ["-m", model] if model else []
    run_cli(cli, tmp_path / "in.png", "-o", tmp_path / "out.png", "-s", scale, *args)
    expected = read_png(tmp_path / "out.png")
    got = upscale.upscale_image(a, scale=scale, model=model)
    assert got.dtype == np.uint8 and got.shape == (72 * scale, 96 * scale, 3)
    assert psnr(got, expected) >= 50, psnr(got, expected)
    # And it is an upscale of this picture, not of anything: near its bicubic enlargement.
    bicubic = np.asarray(Image.fromarray(a).resize((96 * scale, 72 * scale), Image.BICUBIC))
    assert 20 < psnr(got, bicubic) < 45


def test_rgba_is_kept_as_the_command_line_keeps_it(cli: Path, tmp_path: Path) -> None:
    rgb = photo(64, 48, 100, 60)
    yy, xx = np.mgrid[0:48, 0:64]
    alpha = np.clip(xx * 4 + yy, 0, 255).astype(np.uint8)
    a = np.dstack([rgb, alpha])
    Image.fromarray(a).save(tmp_path / "in.png")  # four uint8 channels: RGBA
    run_cli(cli, tmp_path / "in.png", "-o", tmp_path / "out.png", "-s", 2, "-m", "realesr-animevideov3")
    expected = read_png(tmp_path / "out.png")
    assert expected.shape == (96, 128, 4)
    got = upscale.upscale_image(a, scale=2, model="realesr-animevideov3")
    assert got.dtype == np.uint8 and got.shape == (96, 128, 4)
    assert psnr(got, expected) >= 50
    # The alpha is the input's, enlarged: opaque stays opaque, the gradient's ends are kept.
    assert psnr(got[..., 3], np.asarray(Image.fromarray(alpha).resize((128, 96), Image.BICUBIC))) > 35
    # The colour is what the same picture without alpha gives.
    assert psnr(got[..., :3], upscale.upscale_image(rgb, scale=2, model="realesr-animevideov3")) >= 50


def test_uint16_in_gives_uint16_out_with_its_depth() -> None:
    a8 = photo(64, 48, 10, 10)
    # 16-bit samples between the 8-bit levels: depth an 8-bit path would lose.
    a16 = a8.astype(np.uint16) * 257 + np.random.default_rng(7).integers(0, 200, a8.shape, dtype=np.uint16)
    got = upscale.upscale_image(a16, scale=2, model="realesr-animevideov3")
    assert got.dtype == np.uint16 and got.shape == (96, 128, 3)
    # The same picture as the 8-bit one (bit depth aside) ...
    as8 = np.clip(np.round(got / 257.0), 0, 255).astype(np.uint8)
    assert psnr(as8, upscale.upscale_image(a8, scale=2, model="realesr-animevideov3")) > 40
    # ... with more than 256 levels: the output is not 8-bit widened.
    assert np.count_nonzero(got % 257) > got.size // 2
    rgba16 = np.dstack([a16, np.full(a16.shape[:2], 65535, np.uint16)])
    out = upscale.upscale_image(rgba16, scale=2, model="realesr-animevideov3")
    assert out.dtype == np.uint16 and out.shape == (96, 128, 4) and (out[..., 3] == 65535).all()


def test_an_engine_serves_several_arrays() -> None:
    engine = upscale.Engine(model="realesr-animevideov3", scale=2)
    assert (engine.model, engine.scale, engine.denoise, engine.device) == ("realesr-animevideov3", 2, 0, "cpu")
    assert engine.precision in ("fp32", "bf16")
    pictures = [photo(64, 48, 0, 0), photo(40, 30, 120, 80), photo(96, 64, 50, 40)]
    for a in pictures:
        got = engine.upscale(a)
        assert got.shape == (a.shape[0] * 2, a.shape[1] * 2, 3)
        # Each is what a one-off call makes of it: the engine keeps no state between arrays.
        assert psnr(got, upscale.upscale_image(a, scale=2, model="realesr-animevideov3")) >= 50
    # A call may change the job's scale; the network stays.
    assert engine.upscale(pictures[0], scale=4).shape == (192, 256, 3)
    with pytest.raises(upscale.ConfigError) as e:
        engine.upscale(pictures[0], model="realesr-general-x4v3")
    assert "realesr-animevideov3" in str(e.value)


def test_strided_arrays_are_read_as_the_pictures_they_show() -> None:
    a = photo(96, 64, 20, 20)
    for view in (a[:, ::2], a[::-1], a[..., ::-1], np.asfortranarray(a)):
        assert not view.flags.c_contiguous
        got = upscale.upscale_image(view, scale=2, model="realesr-animevideov3")
        assert psnr(got, upscale.upscale_image(np.ascontiguousarray(view), scale=2, model="realesr-animevideov3")) >= 50


def test_an_array_reports_its_tiles_and_an_edit_applies() -> None:
    events = []
    a = photo(96, 64)
    got = upscale.upscale_image(a, scale=2, model="realesr-animevideov3", tile=32, progress=events.append)
    starts = [e for e in events if e["event"] == "start"]
    assert starts == [{"event": "start", "file": None, "total": 6, "unit": "tiles"}]
    done = [e["done"] for e in events if e["event"] == "progress"]
    assert done == [1, 2, 3, 4, 5, 6]
    # The edit after scaling, as for a file: a crop of the scaled picture.
    edit = {"crop": {"x": 10, "y": 20, "width": 50, "height": 40}}
    cropped = upscale.upscale_image(a, scale=2, model="realesr-animevideov3", tile=32, edit=edit)
    assert cropped.shape == (40, 50, 3)
    assert psnr(cropped, got[20:60, 10:60]) >= 50


def test_models_lists_the_family_table() -> None:
    rows = {m["name"]: m for m in upscale.models()}
    anime = rows["realesr-animevideov3"]
    assert anime["kind"] == "network" and anime["builtin"] and anime["present"]
    assert anime["scales"] == [2, 3, 4] and anime["int8"]
    assert rows[upscale.DEFAULT_PICTURE_MODEL]["present"], "tools/setup.sh converts the picture default"
    assert any(m["kind"] == "classic" for m in rows.values())
    assert all(len(v["sha256"]) == 64 for m in rows.values() for v in m.get("variants", []))


def test_the_package_ships_its_stubs() -> None:
    folder = Path(upscale.__file__).parent
    assert (folder / "py.typed").is_file() and (folder / "_upscale.pyi").is_file()
    for name in upscale.__all__:
        obj = getattr(upscale, name)
        if callable(obj) and not name[0].isupper() or isinstance(obj, type):
            assert obj.__doc__, f"upscale.{name} has no docstring"
