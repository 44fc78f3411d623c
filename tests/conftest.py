"""Shared fixtures: the local data folder and small generators made here (nothing is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from pix2pix.networks import UNetGenerator

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The folder holding data/ and metrics/ (../shared beside the checkout on the project's machines)."""
    candidates = [
        os.environ.get("SKETCH2PHOTO_SHARED"),
        REPO.parent / "shared",
        Path("/work/shared"),
    ]
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "data").is_dir()
            and (Path(candidate) / "metrics").is_dir()
        ):
            return Path(candidate)
    pytest.fail(
        "No shared data folder: set SKETCH2PHOTO_SHARED to the folder holding data/ and metrics/."
    )


def small_generator(
    ngf: int = 8, num_downs: int = 8, seed: int = 0, in_channels: int = 1
) -> UNetGenerator:
    """A seeded random generator in eval mode. Its photos are not flat: outside training, batch norm
    normalises each image by its own statistics (networks.ImageBatchNorm2d). in_channels=5 makes a
    hint model (pix2pix.hints)."""
    torch.manual_seed(seed)
    return UNetGenerator(in_channels, out_channels=3, ngf=ngf, num_downs=num_downs).eval()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A small 256x256 generator saved with save_pretrained, as a user's model folder would be."""
    folder = tmp_path_factory.mktemp("model")
    small_generator().save_pretrained(folder)
    return folder
