"""Files: a video written with every frame and its audio, with the progress events of
`--progress json`; a folder; Ctrl-C cancelling a running file job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PIL import Image

import upscale
from conftest import make_clip, photo, probe


def test_a_video_keeps_every_frame_and_its_audio_and_calls_back(tmp_path: Path) -> None:
    clip, out = tmp_path / "clip.mp4", tmp_path / "clip_x2.mp4"
    make_clip(clip, 24)
    events = []
    summary = upscale.upscale_file(clip, out, scale=2, progress=events.append, crf=20)
    assert summary == {"done": 1, "failed": 0, "interrupted": False, "outputs": [str(out)], "skipped": []}
    streams = probe(out)
    video = [s for s in streams if s["codec_type"] == "video"]
    audio = [s for s in streams if s["codec_type"] == "audio"]
    assert len(video) == 1 and (video[0]["width"], video[0]["height"]) == (192, 128)
    assert int(video[0]["nb_read_frames"]) == 24
    assert len(audio) == 1 and audio[0]["codec_name"] == "aac"
    kinds = [e["event"] for e in events]
    assert kinds[-2:] == ["file_done", "summary"], kinds
    start = next(e for e in events if e["event"] == "start")
    assert start == {"event": "start", "file": str(clip), "total": 24, "unit": "frames"}
    frames = [e["done"] for e in events if e["event"] == "progress" and e["unit"] == "frames"]
    assert frames == sorted(frames) and frames[-1] == 24
    assert events[-2] == {"event": "file_done", "input": str(clip), "output": str(out), "interrupted": False}
    assert events[-1] == {"event": "summary", "done": 1, "failed": 0, "interrupted": False}
    # The events are the command line's JSON lines, field for field.
    assert all(json.loads(json.dumps(e)) == e for e in events)


def test_a_folder_is_upscaled_file_by_file(tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(photo(40, 30)).save(src / "a.png")
    Image.fromarray(photo(32, 24, 50, 50)).save(src / "b.jpg", quality=95)
    (src / "notes.txt").write_text("neither picture nor video")
    events = []
    summary = upscale.upscale_file(src, dst, model="realesr-animevideov3", scale=2, progress=events.append)
    assert summary["done"] == 2 and summary["failed"] == 0 and summary["skipped"] == [str(src / "notes.txt")]
    assert sorted(summary["outputs"]) == [str(dst / "a.png"), str(dst / "b.jpg")]
    assert Image.open(dst / "a.png").size == (80, 60) and Image.open(dst / "b.jpg").size == (64, 48)
    files = [e for e in events if e.get("unit") == "files"]
    assert files[0] == {"event": "start", "file": None, "total": 2, "unit": "files"}
    assert files[-1] == {"event": "progress", "done": 2, "total": 2, "unit": "files"}
    assert any(e["event"] == "note" and "notes.txt" in e["message"] for e in events)


def test_ctrl_c_cancels_a_running_video(tmp_path: Path) -> None:
    clip, out = tmp_path / "long.mp4", tmp_path / "long_x2.mp4"
    make_clip(clip, 480, 64, 48)
    # Ctrl-C arrives as SIGINT from another process while frames are being upscaled.
    script = textwrap.dedent(
        f"""
        import json, os, signal, subprocess, sys, upscale
        # As in a terminal: a process started in the background inherits SIGINT ignored, and
        # Python then never turns Ctrl-C into KeyboardInterrupt.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        events = []
        sent = []
        def on_event(e):
            events.append(e)
            if e["event"] == "progress" and e["unit"] == "frames" and e["done"] >= 5 and not sent:
                sent.append(subprocess.Popen(["kill", "-INT", str(os.getpid())]))
        try:
            upscale.upscale_file({str(clip)!r}, {str(out)!r}, scale=2, progress=on_event)
            print(json.dumps({{"raised": None}}))
        except KeyboardInterrupt:
            done = [e["done"] for e in events if e["event"] == "progress" and e["unit"] == "frames"]
            print(json.dumps({{"raised": "KeyboardInterrupt", "last": done[-1], "events": events}}))
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["raised"] == "KeyboardInterrupt", result
    assert 5 <= result["last"] < 480, result["last"]
    # The library finished the file cleanly, as the command line's first Ctrl-C does: the
    # frames done so far, a playable file.
    done = [e for e in result["events"] if e["event"] == "file_done"]
    assert done == [{"event": "file_done", "input": str(clip), "output": str(out), "interrupted": True}]
    frames = int(next(s for s in probe(out) if s["codec_type"] == "video")["nb_read_frames"])
    assert 5 <= frames < 480


def test_ctrl_c_cancels_an_array_being_upscaled() -> None:
    script = textwrap.dedent(
        """
        import os, signal, subprocess, numpy as np, upscale
        # As in a terminal (see the test above).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        a = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
        seen = []
        sent = []
        def on_event(e):
            if e["event"] == "progress":
                seen.append(e["done"])
                if e["done"] >= 2 and not sent:
                    sent.append(subprocess.Popen(["kill", "-INT", str(os.getpid())]))
        try:
            upscale.upscale_image(a, model="realesr-animevideov3", tile=32, progress=on_event)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted", seen[-1])
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    word, last = r.stdout.split()
    assert word == "interrupted" and 2 <= int(last) < 64, r.stdout
