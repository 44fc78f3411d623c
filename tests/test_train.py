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
from PIL import Image
from safetensors.torch import load_file

from pix2pix.losses import GAN_MODES, feature_matching, gan_loss, r1_penalty
from pix2pix.networks import MultiScaleDiscriminator
from tests.conftest import REPO, draw_pair
from train import loop as loop_module
from train.__main__ import main
from train.config import TrainConfig
from train.loop import (
    R1_EVERY,
    Precision,
    adopt_base_model,
    build_models,
    l1_loss,
    load_data,
    train,
    train_step,
)
from train.publish import describe_discriminator


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


@pytest.fixture(scope="module")
def reference(pairs_dir, tmp_path_factory):
    """The weights of an uninterrupted run of the tiny settings (2 + 1 epochs of 8 steps)."""
    run = tmp_path_factory.mktemp("reference") / "run"
    train(tiny(pairs_dir, run))
    return weights(run)


def flat_pairs(root, count: int, seed: int = 0):
    """`count` pairs in A/ + B/, with no test split."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        sketch, photo = draw_pair(rng)
        for folder, image in (("A", sketch), ("B", photo)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            image.save(root / folder / f"{i:02d}.png")
    return root


def card(run_dir) -> str:
    return (run_dir / "model" / "README.md").read_text()


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


def test_crash_between_saves_resumes_exactly(pairs_dir, tmp_path, monkeypatch, reference):
    """A hard kill (no save at the end) loses the steps since the last state; redoing them is exact."""
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
    assert all(torch.equal(v, reference[k]) for k, v in weights(run).items())


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


def test_a_bad_test_file_is_skipped_at_the_end_and_the_card_is_ours(pairs_dir, tmp_path):
    """Evaluation skips and counts a broken file as training does; a resume scores again."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(pairs_dir, data)
    (data / "test" / "photos" / "01.png").write_text("broken")
    run = tmp_path / "run"
    for resume in (False, True):
        train(tiny(data, run, max_steps=1), resume=resume)
        text = card(run)
        assert "PytorchModelHubMixin" not in text and "license: other" in text
        assert "On 1 pair of the test split" in text and "1 of them left out" in text
        metrics = json.loads((run / "eval" / "metrics.json").read_text())
        assert metrics["pairs"] == 1 and "01.png" in metrics["skipped"][0]


def test_the_card_is_ours_even_when_the_evaluation_fails(pairs_dir, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("train.evaluate.evaluate", broken)
    run = tmp_path / "run"
    with pytest.raises(RuntimeError):
        train(tiny(pairs_dir, run, max_steps=1))
    assert "PytorchModelHubMixin" not in card(run)
    assert "No scores: the evaluation did not finish" in card(run)


def test_without_a_test_split_pairs_are_held_out_before_training(tmp_path):
    data = flat_pairs(tmp_path / "data", 20)
    config = tiny(data, tmp_path / "run", max_steps=2)
    loaded = load_data(config)
    assert loaded.holdout == 2 and config.holdout is None  # a tenth; the settings stay as given
    assert len(loaded.dataset) == 18 and len(loaded.eval_pairs) == 2
    assert not set(loaded.eval_pairs) & set(loaded.dataset.pairs)
    assert load_data(tiny(data, tmp_path / "other")).eval_pairs == loaded.eval_pairs
    train(config)
    run = tmp_path / "run"
    assert json.loads((run / "args.json").read_text())["holdout"] == 2
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert [entry["name"] for entry in metrics["per_image"]] == [p.name for p in loaded.eval_pairs]
    text = card(run)
    assert "On 2 pairs held out of" in text and "never trained on" in text
    assert "held-out test" not in text and "layout folders" in text
    usage = text.split("```python")[1].split("```")[0]
    assert 'Translator("path/to/this/folder")' in usage and str(tmp_path) not in usage


def test_too_few_pairs_to_hold_out_give_no_scores_and_say_why(tmp_path):
    data = flat_pairs(tmp_path / "data", 8)
    run = tmp_path / "run"
    train(tiny(data, run, max_steps=1))
    assert "No scores: `" in card(run) and "too few to hold a tenth out" in card(run)
    assert not (run / "eval").exists()
    assert json.loads((run / "args.json").read_text())["holdout"] == 0


def test_a_val_split_is_scored_when_there_is_no_test_split(tmp_path):
    """train.faces writes train/ and val/ (whole people held out): val is what the end scores."""
    flat_pairs(tmp_path / "data" / "train", 4)
    flat_pairs(tmp_path / "data" / "val", 2, seed=1)
    loaded = load_data(tiny(tmp_path / "data", tmp_path / "run"))
    assert len(loaded.dataset) == 4 and len(loaded.eval_pairs) == 2
    assert loaded.eval_about.startswith("of the val split of")


def test_the_end_of_the_run_scores_a_bounded_sample(pairs_dir, tmp_path):
    loaded = load_data(tiny(pairs_dir, tmp_path, eval_pairs=1, repeat=[2]))
    assert len(loaded.eval_pairs) == 1 and "a sample of its 2" in loaded.eval_about
    assert loaded.describe().startswith("8 training pairs (16 per epoch) from `")


def test_an_existing_run_folder_is_refused(pairs_dir, tmp_path, capsys):
    run = tmp_path / "run"
    args = [*cli_args(tiny(pairs_dir, run)), "--max-steps", "2"]
    assert main(args) == 0
    before = {name: (run / name).read_bytes() for name in ("state.pt", "losses.csv")}
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"--resume {run}" in err and "--overwrite" in err
    assert {name: (run / name).read_bytes() for name in before} == before
    assert main([*args, "--overwrite", "--max-steps", "1"]) == 0
    with open(run / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1]


def test_unpaired_files_are_named_and_strict_refuses(tmp_path, capsys):
    data = flat_pairs(tmp_path / "data", 10)
    rng = np.random.default_rng(1)
    for i in range(6):
        draw_pair(rng)[1].save(data / "B" / f"extra{i}.png")
    draw_pair(rng)[0].save(data / "A" / "lonely.png")
    run = tmp_path / "run"
    args = [*cli_args(tiny(data, run)), "--max-steps", "1"]
    assert main([*args, "--strict"]) == 2
    err = capsys.readouterr().err
    assert "7 problem(s)" in err and "... and 2 more" in err
    assert "lonely.png has no photo" in err and "extra0.png has no sketch" in err
    assert not run.exists()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "lonely.png has no photo" in err and "... and 2 more" in err
    assert len(json.loads((run / "summary.json").read_text())["skipped"]) == 7


def test_start_up_summary_progress_lines_and_max_steps(
    pairs_dir, tmp_path, reference, capsys, monkeypatch
):
    """A log file gets the plan, a time estimate and a line every --log-every steps; a run cut by
    --max-steps has its model, and a resume that lifts the limit ends exactly as an uncut run."""
    monkeypatch.setattr("train.console.ESTIMATE_AFTER", 2)
    run = tmp_path / "run"
    assert main([*cli_args(tiny(pairs_dir, run)), "--max-steps", "5", "--log-every", "2"]) == 0
    out = capsys.readouterr().out
    for text in (
        "data: 8 training pairs from",
        "(layout folders)",
        "evaluation at the end: 2 pairs of the test split",
        "8 steps per epoch (batch 1) x 3 epochs (2 + 1 decaying) = 24 steps",
        "stopping at step 5 (--max-steps)",
        "device: cpu",
        "precision fp32",
        "s per step here, so about",
        "step 2/5 epoch 1/3 G_GAN=",
        "step 4/5",
    ):
        assert text in out
    assert out.index("device: cpu") < out.index("step 2/5")
    assert "stopped at step 5 by --max-steps" in card(run)
    assert main(["--resume", str(run), "--max-steps", "0"]) == 0
    assert "--max-steps 5 -> 0" in capsys.readouterr().out
    assert all(torch.equal(v, reference[k]) for k, v in weights(run).items())
    with open(run / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == list(range(1, 25))


def test_resume_extends_the_schedule_and_refuses_other_changes(
    pairs_dir, tmp_path, reference, capsys
):
    run = tmp_path / "run"
    assert main(cli_args(tiny(pairs_dir, run, epochs_decay=0))) == 0  # finished after 16 steps
    assert main(["--resume", str(run), "--lr", "0.1"]) == 2
    assert "--lr cannot change when resuming" in capsys.readouterr().err
    again = [*cli_args(tiny(pairs_dir, run, epochs_decay=1)), "--resume", str(run)]
    assert main(again) == 0  # the start command again: only the changed option counts
    assert "--epochs-decay 0 -> 1" in capsys.readouterr().out
    assert json.loads((run / "args.json").read_text())["epochs_decay"] == 1
    assert "--epochs-decay 1 --workers 0" in card(run).split("## How it was made")[1]
    assert all(torch.equal(v, reference[k]) for k, v in weights(run).items())
    with open(run / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 25))
    assert float(rows[-1]["lr"]) == pytest.approx(1e-4)  # the new schedule's rate, not the old 0


def test_a_stop_during_the_evaluation_ends_with_the_model_and_our_card(
    pairs_dir, tmp_path, monkeypatch, capsys
):
    import train.evaluate as evaluate_module

    real = evaluate_module.Translator.translate_batch

    def signalled(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill` or a cluster's pre-emption would
        return real(self, *args, **kwargs)

    monkeypatch.setattr(evaluate_module.Translator, "translate_batch", signalled)
    before = signal.getsignal(signal.SIGTERM)
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        train(tiny(pairs_dir, run, max_steps=1))
    assert exit_.value.code == 130
    assert signal.getsignal(signal.SIGTERM) is before  # the trainer's handler is gone again
    assert (run / "model" / "model.safetensors").is_file()
    assert "No scores: the evaluation was stopped" in card(run)
    assert "scoring 2 pairs" in capsys.readouterr().out
    monkeypatch.setattr(evaluate_module.Translator, "translate_batch", real)
    train(tiny(pairs_dir, run, max_steps=1), resume=True)
    assert "On 2 pairs of the test split" in card(run)


def test_empty_data_and_bad_settings_are_sentences(tmp_path, capsys, pairs_dir, monkeypatch):
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
    (tmp_path / "file").write_text("")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    for extra, expected in (
        (["--batch-size", "9"], "--batch-size 9 is more than the 8 training pairs"),
        (["--out", str(tmp_path / "file")], "is a file"),
        (["--holdout", "-1"], "cannot be negative"),
        (["--device", "cuda"], "no cuda device"),
    ):
        assert main([*cli_args(tiny(pairs_dir, tmp_path / "run")), *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("gan_mode", ["lsgan", "hinge", "wgangp"])
def test_other_gan_modes_train(pairs_dir, tmp_path, gan_mode):
    config = tiny(pairs_dir, tmp_path, gan_mode=gan_mode)
    models = build_models(config, torch.device("cpu"))
    batch = {"input": torch.rand(2, 1, 32, 32) * 2 - 1, "target": torch.rand(2, 3, 32, 32) * 2 - 1}
    losses = train_step(models, batch, config, Precision(False, torch.device("cpu")))
    assert all(np.isfinite(v) for v in losses.values())


def test_amp_step_runs_in_bf16(pairs_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(loop_module, "cpu_has_bf16", lambda: True)  # as on an AVX-512 BF16 CPU
    config = tiny(pairs_dir, tmp_path, amp=True)
    models = build_models(config, torch.device("cpu"))
    before = models.generator.model.model[0].weight.clone()
    batch = {"input": torch.rand(1, 1, 32, 32) * 2 - 1, "target": torch.rand(1, 3, 32, 32) * 2 - 1}
    precision = Precision(True, torch.device("cpu"))
    assert precision.enabled and precision.dtype == torch.bfloat16
    seen = []
    hook = models.generator.model.model[0].register_forward_hook(
        lambda module, args, out: seen.append(out.dtype)
    )
    train_step(models, batch, config, precision)
    hook.remove()
    assert seen == [torch.bfloat16]
    assert models.generator.model.model[0].weight.dtype == torch.float32  # master weights stay fp32
    assert not torch.equal(before, models.generator.model.model[0].weight)


def test_amp_is_ignored_and_said_where_the_cpu_would_emulate_bf16(monkeypatch):
    monkeypatch.setattr(loop_module, "cpu_has_bf16", lambda: False)
    precision = Precision(True, torch.device("cpu"))
    assert not precision.enabled and "--amp ignored" in precision.name
    assert Precision(False, torch.device("cpu")).name == "fp32"


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
        if path == "/api/whoami-v2":
            return httpx2.Response(
                200, json={"name": "someone", "auth": {"accessToken": {"role": "write"}}}
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


def test_resume_with_push_to_hub_uploads_the_model_folder(pairs_dir, tmp_path, fake_hub, capsys):
    """`--resume RUN --push-to-hub REPO` uploads a finished run (or retries a failed upload)."""
    run = tmp_path / "run"
    assert main([*cli_args(tiny(pairs_dir, run)), "--max-steps", "1"]) == 0
    assert not fake_hub["requests"]
    assert main(["--resume", str(run), "--push-to-hub", "someone/faces"]) == 0
    model = run / "model"
    assert {"config.json", "model.safetensors", "README.md"} <= set(fake_hub["files"])
    for name in ("config.json", "model.safetensors", "README.md"):
        assert fake_hub["files"][name] == (model / name).read_bytes()
    assert 'Translator("someone/faces")' in card(run)
    writes = [auth for method, _, auth in fake_hub["requests"] if method == "POST"]
    assert writes and all(auth == "Bearer hf_secret_token" for auth in writes)
    output = capsys.readouterr()
    assert "hf_secret_token" not in output.out + output.err


def test_push_to_hub_is_checked_before_the_first_step(pairs_dir, tmp_path, fake_hub, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no_token"))
    run = tmp_path / "run"
    config = tiny(pairs_dir, run, push_to_hub="someone/faces")
    with pytest.raises(ValueError, match="hf auth login"):
        train(config)
    assert not run.exists()
    monkeypatch.setenv("HF_TOKEN", "hf_bad_token")
    fake_hub["fail"] = 401
    with pytest.raises(ValueError, match="could not confirm the token") as error:
        train(config)
    assert "hf_bad_token" not in str(error.value)
    assert not run.exists()
    assert [path for _, path, _ in fake_hub["requests"]] == ["/api/whoami-v2"]


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


def test_ddp_refusal_reaches_every_rank(pairs_dir, tmp_path):
    """Rank 0 alone looks at the run folder; its refusal must stop rank 1 too, not leave it
    waiting for a partner that has gone."""
    run = tmp_path / "taken"
    run.mkdir()
    (run / "args.json").write_text("{}")
    result = subprocess.run(
        [
            *[sys.executable, "-m", "torch.distributed.run", "--standalone"],
            *["--nproc-per-node", "2", "-m", "train", *cli_args(tiny(pairs_dir, run))],
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode != 0
    assert result.stderr.count("already holds a run") == 2  # said by both ranks


def test_feature_matching_pulls_generated_activations_towards_real(pairs_dir, tmp_path):
    config = tiny(pairs_dir, tmp_path, lambda_fm=10.0)
    models = build_models(config, torch.device("cpu"))
    D = models.discriminator
    pair = torch.rand(1, 4, 32, 32)
    layers = D.features(pair)
    assert torch.equal(layers[-1], D(pair))  # the last entry is what forward scores
    assert len(layers) == config.n_layers_d + 2  # every LeakyReLU's output, then the scores
    assert feature_matching(layers[:-1], layers[:-1]).item() == 0
    batch = {"input": torch.rand(1, 1, 32, 32) * 2 - 1, "target": torch.rand(1, 3, 32, 32) * 2 - 1}
    losses = train_step(models, batch, config, Precision(False, torch.device("cpu")))
    assert losses["G_FM"] > 0
    plain = train_step(
        build_models(tiny(pairs_dir, tmp_path), torch.device("cpu")),
        batch,
        tiny(pairs_dir, tmp_path),
        Precision(False, torch.device("cpu")),
    )
    assert plain["G_FM"] == 0  # the paper's loss by default
    with pytest.raises(ValueError, match="lambda-fm needs a PatchGAN"):
        tiny(pairs_dir, tmp_path, lambda_fm=1.0, n_layers_d=0).check()


def test_low_pass_l1_leaves_texture_finer_than_its_blocks_to_the_gan(pairs_dir, tmp_path):
    photo = torch.rand(1, 3, 8, 8) * 2 - 1
    rows, cols = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    checker = (((rows + cols) % 2) * 2 - 1).float() * 0.5  # texture: +-0.5, 2x2 blocks average 0
    textured, tinted = photo + checker, photo + 0.3
    assert l1_loss(textured, photo, 1).item() == pytest.approx(0.5)
    assert l1_loss(textured, photo, 2).item() == pytest.approx(0, abs=1e-6)
    assert l1_loss(tinted, photo, 4).item() == pytest.approx(0.3)  # colour counts
    batch = {"input": torch.rand(1, 1, 32, 32) * 2 - 1, "target": torch.rand(1, 3, 32, 32) * 2 - 1}
    l1 = {}
    for pool in (1, 4):
        torch.manual_seed(0)
        config = tiny(pairs_dir, tmp_path, l1_pool=pool)
        models = build_models(config, torch.device("cpu"))
        l1[pool] = train_step(models, batch, config, Precision(False, torch.device("cpu")))["G_L1"]
    assert l1[4] < l1[1]  # the noise target's texture no longer counts
    with pytest.raises(ValueError, match="l1-pool must be at least 1"):
        tiny(pairs_dir, tmp_path, l1_pool=0).check()


def test_r1_penalty_is_the_squared_gradient_on_the_photo():
    """For D(pair) = w . photo + v . sketch summed over pixels, the gradient with respect to the
    photo is w at every pixel: R1 = gamma/2 x pixels x |w|^2, whatever the sketch's weights."""
    D = torch.nn.Conv2d(4, 1, kernel_size=1, bias=False)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([5.0, 1.0, -2.0, 2.0]).view(1, 4, 1, 1))
    sketch, photo = torch.rand(2, 1, 8, 8), torch.rand(2, 3, 8, 8)
    assert r1_penalty(D, sketch, photo, gamma=2.0).item() == pytest.approx(64 * 9.0)


def test_lazy_r1_changes_the_discriminator_only_on_its_steps(pairs_dir, tmp_path):
    batch = {"input": torch.rand(1, 1, 32, 32) * 2 - 1, "target": torch.rand(1, 3, 32, 32) * 2 - 1}

    def d_after(step: int, r1: float) -> tuple[dict, float]:
        torch.manual_seed(0)
        config = tiny(pairs_dir, tmp_path, r1=r1)
        models = build_models(config, torch.device("cpu"))
        losses = train_step(models, batch, config, Precision(False, torch.device("cpu")), step)
        return models.discriminator.state_dict(), losses["D_R1"]

    def same(a: dict, b: dict) -> bool:
        return all(torch.equal(a[k], b[k]) for k in a)

    plain, _ = d_after(R1_EVERY, 0.0)
    off_step, off_r1 = d_after(R1_EVERY - 1, 10.0)
    on_step, on_r1 = d_after(R1_EVERY, 10.0)
    assert off_r1 == 0 and same(off_step, d_after(R1_EVERY - 1, 0.0)[0])
    assert on_r1 > 0 and not same(on_step, plain)
    with pytest.raises(ValueError, match="--r1"):
        tiny(pairs_dir, tmp_path, r1=-1.0).check()


def test_spectral_norm_bounds_every_discriminator_convolution(pairs_dir, tmp_path):
    config = tiny(pairs_dir, tmp_path, spectral_norm=True, d_scales=1)
    D = build_models(config, torch.device("cpu")).discriminator
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    D.train()
    for _ in range(30):  # power iterations run in training-mode forwards
        D(torch.rand(1, 4, 32, 32))
    for conv in convs:
        largest = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert largest.item() == pytest.approx(1.0, abs=0.05)
    plain = build_models(tiny(pairs_dir, tmp_path), torch.device("cpu")).discriminator
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in plain.modules())


@pytest.mark.parametrize("mode", GAN_MODES)
def test_gan_loss_of_several_score_maps_is_the_mean_of_their_losses(mode):
    """A multi-scale discriminator's scales count the same, whatever their number of patches."""
    fine, coarse = torch.randn(1, 1, 30, 30), torch.randn(1, 1, 6, 6)
    for real in (True, False):
        expected = (gan_loss(fine, real, mode) + gan_loss(coarse, real, mode)) / 2
        assert torch.allclose(gan_loss([fine, coarse], real, mode), expected)


def test_multi_scale_discriminator_trains_every_scale(pairs_dir, tmp_path):
    config = tiny(pairs_dir, tmp_path, image_size=64, d_scales=2, lambda_fm=10.0)
    config.check()
    models = build_models(config, torch.device("cpu"))
    D = models.discriminator
    assert isinstance(D, MultiScaleDiscriminator) and len(D.scales) == 2
    before = {k: v.clone() for k, v in D.state_dict().items()}
    batch = {"input": torch.rand(1, 1, 64, 64) * 2 - 1, "target": torch.rand(1, 3, 64, 64) * 2 - 1}
    losses = train_step(models, batch, config, Precision(False, torch.device("cpu")))
    assert losses["G_FM"] > 0 and all(np.isfinite(v) for v in losses.values())
    for scale in ("scales.0.model.0.weight", "scales.1.model.0.weight"):
        assert not torch.equal(before[scale], D.state_dict()[scale])
    assert "at 2 image sizes" in describe_discriminator(config)
    assert describe_discriminator(tiny(pairs_dir, tmp_path)) == "70x70 PatchGAN"


def test_multi_scale_settings_that_cannot_train_are_refused(pairs_dir, tmp_path):
    with pytest.raises(ValueError, match="d-scales needs a PatchGAN"):
        tiny(pairs_dir, tmp_path, d_scales=2, n_layers_d=0).check()
    with pytest.raises(ValueError, match="below 32 pixels"):
        tiny(pairs_dir, tmp_path, image_size=64, d_scales=3).check()
    with pytest.raises(ValueError, match="d-scales must be at least 1"):
        tiny(pairs_dir, tmp_path, d_scales=0).check()
    with pytest.raises(ValueError, match="place-prob is a probability"):
        tiny(pairs_dir, tmp_path, place_prob=1.5).check()


def test_resize_convolution_decoder_trains_and_fine_tunes_as_saved(pairs_dir, tmp_path):
    """--upsample resize builds the decoder the card names; --init-from keeps the saved decoder."""
    run = tmp_path / "run"
    train(tiny(pairs_dir, run, upsample="resize", max_steps=2))
    saved = json.loads((run / "model" / "config.json").read_text())
    assert saved["upsample"] == "resize"
    assert "U-Net with resize-convolutions" in (run / "model" / "README.md").read_text()
    again, said = adopt_base_model(
        tiny(pairs_dir, tmp_path / "again", init_from=str(run / "model"), max_steps=1)
    )
    assert any("decides --upsample: transpose -> resize" in line for line in said)
    models = build_models(again, torch.device("cpu"))
    assert again.upsample == "resize" and models.bare_generator.upsample == "resize"
