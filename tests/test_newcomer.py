"""What a new user meets first: a port already taken, a mistyped model folder."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from pix2pix.checkpoint import resolve_file
from tests.conftest import REPO


def test_a_second_app_on_a_taken_port_says_which_flag_to_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "app.py", "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and f"--port {port + 1}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_mistyped_model_folder_is_named_before_any_network(monkeypatch):
    monkeypatch.chdir(REPO)

    def no_network(*args, **kwargs):
        raise AssertionError("the Hub was asked")

    monkeypatch.setattr("pix2pix.checkpoint.hf_hub_download", no_network)
    with pytest.raises(
        ValueError, match="no folder checkpoint/faces here; did you mean checkpoints/faces"
    ):
        resolve_file("checkpoint/faces", "config.json")


def test_sketches_and_photos_with_different_names_are_explained(tmp_path):
    from PIL import Image

    from train.data import scan_pairs

    for folder, name in (("sketches", "a.png"), ("photos", "photo_a.jpg")):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (8, 8), "white").save(tmp_path / folder / name)
    with pytest.raises(
        ValueError, match=r"no sketch has a photo of the same name.*a\.png and photo_a\.jpg"
    ):
        scan_pairs(tmp_path, split=None)


def test_publish_dry_run_lists_files_and_terms_and_uploads_nothing(tmp_path, monkeypatch, capsys):
    from pix2pix import UNetGenerator
    from train import publish

    model = tmp_path / "model"
    UNetGenerator(ngf=4, num_downs=5).save_pretrained(model)
    (model / "README.md").write_text("---\nlicense: other\nlicense_name: cuhk-nc\n---\n")
    monkeypatch.setattr(publish, "HfApi", lambda **kw: pytest.fail("the Hub was called"))
    assert publish.main([str(model), "--repo", "me/faces", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "huggingface.co/me/faces" in out and "model.safetensors" in out and "cuhk-nc" in out


def test_resuming_a_finished_run_says_how_to_train_further(tmp_path, capsys):
    from tests.test_train import flat_pairs
    from tests.test_train_options import tiny_args
    from train.__main__ import main

    flat_pairs(tmp_path / "pairs", 4)
    run = tmp_path / "run"
    args = tiny_args(tmp_path / "pairs", run, "--ngf", "4", "--max-steps", "2")
    assert main(args) == 0
    capsys.readouterr()
    assert main(["--resume", str(run)]) == 0
    out = capsys.readouterr().out
    assert "already trained to step 2" in out and "--max-steps" in out
