"""Saving and loading generators: round trips, and every way a checkpoint can be broken."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from pix2pix import UNetGenerator
from pix2pix.checkpoint import check_hub_model, hub_repo_id, resolve_file
from tests.conftest import small_generator


def test_round_trip_gives_identical_photos(tmp_path):
    generator = small_generator(ngf=4, num_downs=6)
    generator.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "model.safetensors", "README.md"}
    assert json.loads((tmp_path / "config.json").read_text())["ngf"] == 4
    loaded = UNetGenerator.from_pretrained(tmp_path).eval()
    saved, back = generator.state_dict(), loaded.state_dict()
    assert saved.keys() == back.keys() and all(torch.equal(saved[k], back[k]) for k in saved)
    sketch = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        # The same weights; oneDNN may pick another kernel (another summation order) on a busy
        # machine, which moves a value by ~1e-5, far below one level of 255.
        assert torch.allclose(generator(sketch), loaded(sketch), atol=1e-4, rtol=0)


def test_saved_files_are_readable_by_other_users(tmp_path):
    """A model folder is served, copied into containers and shared: no owner-only 0600 weights."""
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    small_generator(ngf=4, num_downs=6).save_pretrained(tmp_path)
    for name in ("config.json", "model.safetensors", "README.md"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_half_precision_file_loads_into_float32(tmp_path):
    generator = small_generator(ngf=4, num_downs=6)
    generator.half().save_pretrained(tmp_path)
    assert load_file(tmp_path / "model.safetensors")["model.model.0.weight"].dtype == torch.float16
    loaded = UNetGenerator.from_pretrained(tmp_path)
    assert loaded.model.model[0].weight.dtype == torch.float32
    assert torch.equal(loaded.model.model[0].weight, generator.model.model[0].weight.float())


@pytest.fixture
def saved(tmp_path):
    small_generator(ngf=4, num_downs=6).save_pretrained(tmp_path)
    return tmp_path


def edit_weights(folder, edit):
    state = load_file(folder / "model.safetensors")
    edit(state)
    save_file(state, folder / "model.safetensors")


def test_missing_key_is_named(saved):
    edit_weights(saved, lambda s: s.pop("model.model.0.weight"))
    with pytest.raises(ValueError, match=r"missing keys: model\.model\.0\.weight"):
        UNetGenerator.from_pretrained(saved)


def test_unexpected_key_is_named(saved):
    edit_weights(saved, lambda s: s.update(extra=torch.zeros(1)))
    with pytest.raises(ValueError, match="unexpected keys: extra"):
        UNetGenerator.from_pretrained(saved)


def test_shape_mismatch_is_named(saved):
    edit_weights(saved, lambda s: s.update({"model.model.0.weight": torch.zeros(4, 1, 3, 3)}))
    with pytest.raises(ValueError, match=r"shape mismatch: model\.model\.0\.weight"):
        UNetGenerator.from_pretrained(saved)


def test_config_for_another_architecture_is_refused(saved):
    (saved / "config.json").write_text(json.dumps({"ngf": 8, "num_downs": 6}))
    with pytest.raises(ValueError, match="shape mismatch") as err:
        UNetGenerator.from_pretrained(saved)
    assert "model.safetensors" in str(err.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('{"ngf": 4, "num_downs": 6, "ngff": 3}', "does not take: ngff"),
        ('{"ngf": 4, "num_downs": 2}', "does not describe a UNetGenerator"),
        ('{"ngf": 4, "norm": "group"}', "does not describe a UNetGenerator"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_broken_config_is_refused(saved, config, message):
    (saved / "config.json").write_text(config)
    with pytest.raises(ValueError, match=message):
        UNetGenerator.from_pretrained(saved)


@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_missing_file_is_named(saved, name):
    (saved / name).unlink()
    with pytest.raises(ValueError, match=name):
        UNetGenerator.from_pretrained(saved)


def test_corrupt_weights_are_refused(saved):
    data = (saved / "model.safetensors").read_bytes()
    (saved / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        UNetGenerator.from_pretrained(saved)


def test_not_a_folder_nor_repo_id(tmp_path):
    with pytest.raises(ValueError, match="not a model folder"):
        UNetGenerator.from_pretrained(tmp_path / "nowhere")


def test_hub_repo_goes_through_hf_hub_download(monkeypatch, saved):
    """The Hub path, with the network boundary replaced by the local folder."""
    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs.get("revision"), kwargs.get("token")))
        return str(saved / filename)

    monkeypatch.setattr("pix2pix.checkpoint.hf_hub_download", fake_download)
    loaded = UNetGenerator.from_pretrained("someone/faces", revision="v1", token="t0k")
    assert loaded.ngf == 4
    assert calls == [
        ("someone/faces", "config.json", "v1", "t0k"),
        ("someone/faces", "model.safetensors", "v1", "t0k"),
    ]


def test_offline_hub_error_is_a_sentence(monkeypatch):
    from huggingface_hub.errors import LocalEntryNotFoundError

    def offline(**kwargs):
        raise LocalEntryNotFoundError("no connection")

    monkeypatch.setattr("pix2pix.checkpoint.hf_hub_download", offline)
    with pytest.raises(ValueError, match="cannot be downloaded now"):
        resolve_file("someone/faces", "config.json")


def test_official_checkpoint_loads_without_pickle(tmp_path):
    """A latest_net_G.pth as the official code writes it: a plain state dict saved with torch.save."""
    official = small_generator(ngf=4, num_downs=6)
    torch.save(official.state_dict(), tmp_path / "latest_net_G.pth")
    loaded = UNetGenerator.from_official(tmp_path / "latest_net_G.pth", ngf=4, num_downs=6).eval()
    sketch = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.equal(official(sketch), loaded(sketch))


def test_official_checkpoint_with_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this would run",))

    torch.save({"model.model.0.weight": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="refused to unpickle"):
        UNetGenerator.from_official(tmp_path / "evil.pth", ngf=4, num_downs=6)


def test_official_checkpoint_of_other_architecture_names_keys(tmp_path):
    torch.save(UNetGenerator(ngf=4, num_downs=7).state_dict(), tmp_path / "latest_net_G.pth")
    with pytest.raises(ValueError, match="unexpected keys"):
        UNetGenerator.from_official(tmp_path / "latest_net_G.pth", ngf=4, num_downs=6)


def test_what_names_a_hub_repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "someone" / "faces").mkdir(parents=True)
    assert hub_repo_id("openai-community/gpt2") == "openai-community/gpt2"
    assert hub_repo_id("gpt2") == "gpt2"
    for path in ["someone/faces", "./x", "/etc", "~/models", "a/b/c", str(tmp_path)]:
        assert hub_repo_id(path) is None, path  # local paths, existing or written like one


def test_a_hub_repo_that_cannot_be_looked_at_is_a_sentence(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr("pix2pix.checkpoint.model_info", offline)
    with pytest.raises(
        ValueError, match="Could not look up the Hub repo someone/faces: no network"
    ):
        check_hub_model("someone/faces", max_bytes=2**20)
