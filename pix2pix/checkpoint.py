"""Finding and strictly loading saved generators: a local folder or a Hub repo, never a pickle."""

from __future__ import annotations

import difflib
import json
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from huggingface_hub import hf_hub_download, model_info
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def hub_repo_id(model_id: str | Path) -> str | None:
    """`model_id` as a Hub repo id ("user/name"), or None when it names a local path: an existing
    file or folder, or anything written like a path (starting with . / ~, or with two slashes)."""
    name = str(model_id)
    if Path(name).expanduser().exists() or name.startswith((".", "/", "~")) or name.count("/") > 1:
        return None
    return name


def check_hub_model(repo_id: str, max_bytes: int, token: str | bool | None = None) -> str:
    """Look before downloading: the commit of the Hub repo `repo_id` to load, once its config.json
    and model.safetensors are known to exist and to take at most `max_bytes` together.

    Only those two files are ever fetched (resolve_file), and passing the commit as `revision`
    fetches exactly what was checked here, even if the repo changes meanwhile.
    """
    try:
        info = model_info(repo_id, files_metadata=True, token=token)
    except (HfHubHTTPError, OSError) as err:  # no such repo, a private one, offline...
        raise ValueError(f"Could not look up the Hub repo {repo_id}: {err}") from err
    sizes = {file.rfilename: file.size for file in info.siblings or []}
    missing = [name for name in (CONFIG_NAME, WEIGHTS_NAME) if sizes.get(name) is None]
    if missing:
        raise ValueError(
            f"The Hub repo {repo_id} has no {' or '.join(missing)}: a model repo holds "
            "config.json and model.safetensors (as written by save_pretrained)."
        )
    total = sizes[CONFIG_NAME] + sizes[WEIGHTS_NAME]
    if total > max_bytes:
        raise ValueError(
            f"The Hub repo {repo_id} is too large: its model files take {total / 2**20:,.1f} MiB, "
            f"more than the {max_bytes / 2**20:,.1f} MiB allowed."
        )
    return info.sha


def resolve_file(model_id: str | Path, filename: str, **hub_kwargs) -> Path:
    """`filename` inside a local model folder, or downloaded (and cached) from the Hub repo `model_id`."""
    folder = Path(model_id).expanduser()
    if folder.is_dir():
        path = folder / filename
        if not path.is_file():
            raise ValueError(
                f"{folder} has no {filename}: a model folder holds config.json and model.safetensors "
                "(as written by save_pretrained)."
            )
        return path
    if hub_repo_id(model_id) is None:
        raise ValueError(
            f"{model_id} is not a model folder (and not a Hub repo id like user/name)."
        )
    near = nearby_folder(str(model_id))
    if near is not None:  # a typo of a local folder, not a Hub repo: say so before any network
        raise ValueError(
            f"There is no folder {model_id} here; did you mean {near}? (A name like user/name that "
            "is not a folder is looked up on the Hugging Face Hub.)"
        )
    try:
        return Path(hf_hub_download(repo_id=str(model_id), filename=filename, **hub_kwargs))
    except LocalEntryNotFoundError as err:
        raise ValueError(
            f"{filename} of {model_id} is not in the local Hub cache and cannot be downloaded now "
            f"(offline, or HF_HUB_OFFLINE is set); there is no local folder {model_id} either."
        ) from err
    except (HfHubHTTPError, OSError) as err:
        raise ValueError(
            f"Could not fetch {filename} from the Hub repo {model_id} (and there is no local "
            f"folder of that name): {err}"
        ) from err


def nearby_folder(name: str) -> str | None:
    """A model folder here whose path is one small typo away from `name` (checkpoint/faces ->
    checkpoints/faces), or None: the model folders one or two levels below the current one."""
    found = Path(".").glob("*/" + CONFIG_NAME), Path(".").glob("*/*/" + CONFIG_NAME)
    folders = [str(config.parent) for configs in found for config in configs]
    close = difflib.get_close_matches(name, folders, n=1, cutoff=0.85)
    return close[0] if close else None


def read_config(path: Path, allowed: Mapping[str, object]) -> dict:
    """config.json as constructor arguments; a key the constructor does not take is an error."""
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object of constructor arguments.")
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise ValueError(f"{path} has keys the generator does not take: {', '.join(unknown)}.")
    return config


def load_strict(model: nn.Module, path: Path, state: dict[str, torch.Tensor] | None = None) -> None:
    """Copy `state` (by default the safetensors file at `path`) into `model`, all keys and shapes equal.

    Weights stored in another float dtype (fp16 to keep a shipped file small) are cast on the way in.
    """
    if state is None:
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise ValueError(f"{path} is not a readable safetensors file: {err}") from err
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshapen = [
        f"{k} {tuple(state[k].shape)} (model {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = [
        f"{label}: {_first(keys)}"
        for label, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatch", misshapen),
        )
        if keys
    ]
    if problems:
        raise ValueError(
            f"{path} does not match the model's architecture; " + "; ".join(problems) + "."
        )
    model.load_state_dict(state, strict=True)


def read_official_state(path: Path) -> dict[str, torch.Tensor]:
    """A state dict saved by the official pix2pix code, read without running any pickled code."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError) as err:
        raise ValueError(
            f"{path} is not a plain PyTorch state dict (refused to unpickle it): {err}"
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors.")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _first(keys: list[str], n: int = 6) -> str:
    shown = ", ".join(keys[:n])
    return shown if len(keys) <= n else f"{shown} and {len(keys) - n} more"
