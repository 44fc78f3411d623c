"""Training: real steps on tiny generated pairs, exact resume, DDP on CPU, the Hub upload."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file

from tests.conftest import REPO
from train.__main__ import main
from train.config import TrainConfig
from train.loop import Precision, build_models, train, train_step


def draw_pair(rng: np.random.Generator, size: int = 32) -> tuple[Image.Image, Image.Image]:
    """A sketch (outlines) and its 'photo' (the same shapes filled with colour)."""
    sketch = Image.new("L", (size, size), 255)
    photo = Image.new("RGB", (size, size), (235, 225, 210))
    for _ in range(3):
        x, y = rng.integers(0, size - 10, 2)
        w, h = rng.integers(6, 12, 2)
        box = [int(x), int(y), int(x + w), int(y + h)]
        ImageDraw.Draw(photo).ellipse(box, fill=tuple(int(c) for c in rng.integers(0, 200, 3)))
        ImageDraw.Draw(sketch).ellipse(box, outline=0)
    return sketch, photo


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("test", 2)):
        for i in range(n):
            sketch, photo = draw_pair(rng)
            for folder, image in (("sketches", sketch), ("photos", photo)):
                (root / split / folder).mkdir(parents=True, exist_ok=True)
                image.save(root / split / folder / f"{i:02d}.png")
    return root


def tiny(pairs_dir, out, **changes) -> TrainConfig:
    settings = dict(
        data=str(pairs_dir),
        out=str(out),
        image_size=32,
        ngf=4,
        ndf=4,
        epochs=2,
        epochs_decay=1,
        workers=0,
        save_every=4,
        sample_every=5,
        device="cpu",
    )
    settings.update(changes)
    return TrainConfig(**settings)


def cli_args(config: TrainConfig) -> list[str]:
    """The command line that gives `config` (only the settings the tiny runs change)."""
    names = (
        "out",
        "image_size",
        "ngf",
        "ndf",
        "epochs",
        "epochs_decay",
        "workers",
        "save_every",
        "sample_every",
        "device",
    )
    return ["--data", *config.data] + [
        arg for name in names for arg in (f"--{name.replace('_', '-')}", str(getattr(config, name)))
    ]


def weights(run_dir) -> dict[str, torch.Tensor]:
    return load_file(run_dir / "model" / "model.safetensors")


def test_steps_change_weights_and_lower_l1(pairs_dir, tmp_path):
    config = tiny(pairs_dir, tmp_path)
    torch.manual_seed(0)
    models = build_models(config, torch.device("cpu"))
    precision = Precision(False, torch.device("cpu"))
    before = {k: v.clone() for k, v in models.generator.state_dict().items()}
    rng = np.random.default_rng(1)
    drawn = [draw_pair(rng) for _ in range(2)]
    batch = {
        "input": torch.stack(
            [torch.from_numpy(np.asarray(s, np.float32) / 127.5 - 1)[None] for s, _ in drawn]
        ),
        "target": torch.stack(
            [
                torch.from_numpy(np.asarray(p, np.float32) / 127.5 - 1).permute(2, 0, 1)
                for _, p in drawn
            ]
        ),
    }
    first = [train_step(models, batch, config, precision)["G_L1"] for _ in range(2)]
    changed = [
        k
        for k, v in models.generator.state_dict().items()
        if v.is_floating_point() and not torch.equal(v, before[k])
    ]
    assert "model.model.0.weight" in changed
    for _ in range(48):
        last = train_step(models, batch, config, precision)["G_L1"]
    assert last < 0.85 * first[0]


def test_run_folder_has_everything(pairs_dir, tmp_path):
    assert (
        main(
            [
                "--data",
                str(pairs_dir),
                "--out",
                str(tmp_path / "run"),
                "--image-size",
                "32",
                "--ngf",
                "4",
                "--ndf",
                "4",
                "--epochs",
                "1",
                "--epochs-decay",
                "1",
                "--workers",
                "0",
                "--sample-every",
                "5",
            ]
        )
        == 0
    )
    run = tmp_path / "run"
    assert json.loads((run / "args.json").read_text())["ngf"] == 4
    with open(run / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 17))
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        f"step_{s:07d}.png" for s in (5, 10, 15)
    ]
    assert Image.open(run / "samples" / "step_0000005.png").size == (
        3 * 32,
        4 * 32,
    )  # sketch|made|true x 4
    assert (run / "loss_curve.png").is_file()
    model = run / "model"
    assert {p.name for p in model.iterdir()} == {"config.json", "model.safetensors", "README.md"}
    card = (model / "README.md").read_text()
    assert "python -m train --data" in card and "FSIM" in card
    assert (run / "eval" / "results.png").is_file()  # pictures of the data stay out of model/
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert metrics["pairs"] == 2 and 0 < metrics["fsim_gray"] <= 1


def test_sigterm_then_resume_is_bit_exact(pairs_dir, tmp_path):
    """A real run with a loader worker, stopped by SIGTERM to its whole process group (as Ctrl-C or
    `docker stop` do) mid-run, resumed, ends with the weights of an uninterrupted run without workers."""
    reference = tmp_path / "reference"
    train(tiny(pairs_dir, reference, epochs=10, epochs_decay=5))
    run = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "train",
        *cli_args(tiny(pairs_dir, run, epochs=10, epochs_decay=5, workers=1)),
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        losses = run / "losses.csv"
        if losses.exists() and len(losses.read_text().splitlines()) > 10:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "--resume" in err and not (run / "model").exists()
    assert main(["--resume", str(run)]) == 0
    assert all(torch.equal(v, weights(reference)[k]) for k, v in weights(run).items())
    with open(run / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == list(range(1, 121))


def test_crash_between_saves_resumes_exactly(pairs_dir, tmp_path, monkeypatch):
    """A hard kill (no save at the end) loses the steps since the last state; redoing them is exact."""
    reference = tmp_path / "reference"
    train(tiny(pairs_dir, reference))
    run = tmp_path / "crashed"
    calls = {"n": 0}
    real_step = train_step

    def crash_at_step_11(*args):
        calls["n"] += 1
        if calls["n"] == 11:  # state was saved at steps 4 and 8 (and the epoch's end)
            raise KeyboardInterrupt("power cut")
        return real_step(*args)

    monkeypatch.setattr("train.loop.train_step", crash_at_step_11)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(pairs_dir, run))
    monkeypatch.setattr("train.loop.train_step", real_step)
    assert torch.load(run / "state.pt", weights_only=True)["step"] == 8
    train(tiny(pairs_dir, run), resume=True)
    assert all(torch.equal(v, weights(reference)[k]) for k, v in weights(run).items())


def test_resume_without_state_starts_from_the_beginning(pairs_dir, tmp_path):
    config = tiny(pairs_dir, tmp_path / "run", epochs=1, epochs_decay=0)
    (tmp_path / "run").mkdir()
    config.save(tmp_path / "run" / "args.json")
    assert main(["--resume", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()


def test_bad_files_are_skipped_and_counted(pairs_dir, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(pairs_dir, data)
    (data / "train" / "photos" / "03.png").write_text("broken")
    train(tiny(data, tmp_path / "run", epochs=1, epochs_decay=0))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["train_pairs"] == 7
    assert len(summary["skipped"]) == 1 and "03.png" in summary["skipped"][0]
    with pytest.raises(ValueError, match=r"03\.png"):
        train(tiny(data, tmp_path / "strict", strict=True))


def test_empty_data_and_bad_settings_are_sentences(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["--data", str(tmp_path / "empty"), "--out", str(tmp_path / "run")]) == 2
    assert "error:" in capsys.readouterr().err
    assert (
        main(
            [
                "--data",
                str(tmp_path / "empty"),
                "--out",
                str(tmp_path / "run"),
                "--image-size",
                "100",
            ]
        )
        == 2
    )
    assert "power of two" in capsys.readouterr().err


@pytest.mark.parametrize("gan_mode", ["lsgan", "hinge", "wgangp"])
def test_other_gan_modes_train(pairs_dir, tmp_path, gan_mode):
    config = tiny(pairs_dir, tmp_path, gan_mode=gan_mode)
    models = build_models(config, torch.device("cpu"))
    batch = {"input": torch.rand(2, 1, 32, 32) * 2 - 1, "target": torch.rand(2, 3, 32, 32) * 2 - 1}
    losses = train_step(models, batch, config, Precision(False, torch.device("cpu")))
    assert all(np.isfinite(v) for v in losses.values())


def test_amp_step_runs_in_bf16(pairs_dir, tmp_path):
    config = tiny(pairs_dir, tmp_path, amp=True)
    models = build_models(config, torch.device("cpu"))
    before = models.generator.model.model[0].weight.clone()
    batch = {"input": torch.rand(1, 1, 32, 32) * 2 - 1, "target": torch.rand(1, 3, 32, 32) * 2 - 1}
    precision = Precision(True, torch.device("cpu"))
    assert precision.dtype == torch.bfloat16
    train_step(models, batch, config, precision)
    assert models.generator.model.model[0].weight.dtype == torch.float32  # master weights stay fp32
    assert not torch.equal(before, models.generator.model.model[0].weight)


def test_ddp_two_processes_on_cpu_stay_equal(pairs_dir, tmp_path):
    run = tmp_path / "ddp"
    result = subprocess.run(
        [
            *[
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",
                "--nproc-per-node",
                "2",
            ],
            *["-m", "train", *cli_args(tiny(pairs_dir, run, epochs=1, epochs_decay=1))],
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    first, second = summary["rank_checksums"]
    assert first == second
    with open(run / "losses.csv") as f:
        assert (
            len(list(csv.DictReader(f))) == 2 * 4
        )  # 8 pairs split over 2 ranks: 4 steps per epoch


@pytest.fixture
def fake_hub(monkeypatch):
    """The Hub's HTTP API answered in-process (httpx MockTransport): the real upload code runs to
    the socket, and what would have been sent is recorded. Nothing leaves the machine."""
    import base64

    import httpx2
    from huggingface_hub.utils import _http

    hub = {"requests": [], "files": {}, "fail": None}

    def answer(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        hub["requests"].append((request.method, path, request.headers.get("authorization", "")))
        if hub["fail"]:
            return httpx2.Response(
                hub["fail"], json={"error": "Invalid credentials in Authorization header"}
            )
        if path == "/api/repos/create":
            return httpx2.Response(200, json={"url": "https://huggingface.co/someone/faces"})
        if path == "/api/validate-yaml":
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        if path.endswith("/preupload/main"):
            files = json.loads(request.content)["files"]
            return httpx2.Response(
                200,
                json={
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                        for f in files
                    ]
                },
            )
        if "/commit/" in path:
            for line in request.content.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    hub["files"][item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            return httpx2.Response(
                200,
                json={
                    "commitUrl": "https://huggingface.co/someone/faces/commit/1",
                    "commitOid": "1" * 40,
                },
            )
        return httpx2.Response(
            404, json={"error": f"fake hub does not know {request.method} {path}"}
        )

    monkeypatch.setattr(_http, "_GLOBAL_CLIENT", None, raising=False)
    _http.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(answer)))
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token")
    yield hub
    _http.set_client_factory(_http.default_client_factory)
    _http.close_session()


def test_push_to_hub_sends_the_model_folder(pairs_dir, tmp_path, fake_hub, capsys):
    config = tiny(
        pairs_dir, tmp_path / "run", epochs=1, epochs_decay=0, push_to_hub="someone/faces"
    )
    train(config)
    model = tmp_path / "run" / "model"
    assert {"config.json", "model.safetensors", "README.md"} <= set(fake_hub["files"])
    for name in ("config.json", "model.safetensors", "README.md"):
        assert fake_hub["files"][name] == (model / name).read_bytes()
    writes = [auth for method, _, auth in fake_hub["requests"] if method == "POST"]
    assert writes and all(auth == "Bearer hf_secret_token" for auth in writes)
    output = capsys.readouterr()
    assert "hf_secret_token" not in output.out + output.err


def test_failed_upload_says_why_and_keeps_the_folder(tmp_path, fake_hub):
    from tests.conftest import small_generator
    from train.publish import push

    model = tmp_path / "model"
    small_generator(ngf=4, num_downs=6).save_pretrained(model)
    fake_hub["fail"] = 401
    with pytest.raises(ValueError, match="Upload to someone/faces failed") as err:
        push(model, "someone/faces")
    assert "hf_secret_token" not in str(err.value)
    assert (model / "model.safetensors").is_file()


def test_fine_tune_from_a_saved_generator(pairs_dir, tmp_path):
    from pix2pix import UNetGenerator

    start = UNetGenerator(ngf=6, num_downs=5)
    start.save_pretrained(tmp_path / "start")
    train(
        tiny(
            pairs_dir, tmp_path / "run", epochs=1, epochs_decay=0, init_from=str(tmp_path / "start")
        )
    )
    tuned = UNetGenerator.from_pretrained(tmp_path / "run" / "model")
    assert tuned.ngf == 6  # the saved architecture wins over --ngf
    assert "ngf 6" in (tmp_path / "run" / "model" / "README.md").read_text()
    assert not torch.equal(tuned.model.model[0].weight, start.model.model[0].weight)
    with pytest.raises(ValueError, match="--image-size 32"):
        train(tiny(pairs_dir, tmp_path / "wrong", image_size=64, init_from=str(tmp_path / "start")))


def test_photo2sketch_direction(pairs_dir, tmp_path):
    from pix2pix import UNetGenerator

    train(tiny(pairs_dir, tmp_path / "run", epochs=1, epochs_decay=0, direction="photo2sketch"))
    generator = UNetGenerator.from_pretrained(tmp_path / "run" / "model")
    assert (generator.in_channels, generator.out_channels) == (3, 1)
