"""The generator as an ONNX file, for runtimes without PyTorch (onnxruntime, browsers, phones).

The model takes "sketch", float (N, in_channels, S, S) in [-1, 1] with white = +1 and S the
generator's image_size, and gives "photo", (N, out_channels, S, S) in [-1, 1]: the tensors that
pix2pix.imaging's to_sketch_tensor makes and to_photo reads. A hint model's "sketch" has 5
channels (pix2pix.hints): 0 the grey sketch, 1-3 the hint colours as RGB in [-1, 1] multiplied
by the mask (0 where there is no hint), 4 the hint mask (1 on a hint, else 0); channels 1-4 all
zero is the sketch alone. It is the deterministic generator (eval mode: batch norm with each
image's own statistics, see networks.ImageBatchNorm2d; no dropout), the path Translator takes
without a seed.

Export uses torch.export (`torch.onnx.export(..., dynamo=True)`), the exporter PyTorch maintains;
the TorchScript one gives the same numbers but is deprecated since torch 2.9. It needs the packages
onnx and onnxscript (in requirements.txt, and pyproject's `onnx` extra; onnxruntime runs the file).
`cached_onnx` and `onnx_session` are what Translator(runtime="onnxruntime") and the app use; they
take the framer (pix2pix.framing) too, "sketch" (N, 1, 128, 128) in, "eyes" (N, 2, 2) out.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from pix2pix.framing import INPUT_SIZE, Framer
from pix2pix.networks import UNetGenerator

# 18 is the opset the exporter writes natively; it asks the onnx version converter for older ones,
# which fails on some operators. onnxruntime runs opset 18 since 1.14.
MIN_OPSET = 18
DEFAULT_OPSET = 18
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")  # export, export, run
INSTALL_HINT = "pip install " + " ".join(ONNX_PACKAGES)


def onnx_installed() -> bool:
    """Whether ONNX_PACKAGES are all installed, found without importing them (slow to import)."""
    return all(importlib.util.find_spec(name) for name in ONNX_PACKAGES)


def require_onnx() -> None:
    """ImportError with the install command when the optional export packages are missing."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise ImportError(f"ONNX export needs the {err.name} package: {INSTALL_HINT}") from err


def signature(model: UNetGenerator | Framer) -> tuple[str, str, tuple[int, int, int]]:
    """(input name, output name, the input's shape without the batch) of a model in ONNX."""
    if isinstance(model, Framer):
        return "sketch", "eyes", (1, INPUT_SIZE, INPUT_SIZE)
    return "sketch", "photo", (model.in_channels, model.image_size, model.image_size)


def export_onnx(
    generator: UNetGenerator | Framer,
    path: str | Path,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
) -> Path:
    """Write `generator` (put in eval mode) to `path` as one self-contained .onnx file; return the path.

    dynamic_batch=True lets the file take any batch size N; False fixes N to 1. The file holds the
    weights in the generator's dtype (save_pretrained's fp16 weights load as fp32). A Framer is
    written the same way.
    """
    require_onnx()
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"ONNX opset {opset} is not available: choose {MIN_OPSET} to {newest} "
            f"(the newest this onnx {onnx.__version__} knows)."
        )
    generator.eval()
    weight = next(generator.parameters())
    input_name, output_name, shape = signature(generator)
    # torch.export may fix a dimension whose example size is 1 (older versions do), so a dynamic
    # batch is traced with 2.
    sketch = torch.zeros(
        2 if dynamic_batch else 1, *shape, dtype=weight.dtype, device=weight.device
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The exporter logs that it skips torchvision's operators (this project has no torchvision, on
    # purpose) and warns about its own internals: noise nobody exporting a U-Net can act on.
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            torch.onnx.export(
                generator,
                (sketch,),
                str(path),
                input_names=[input_name],
                output_names=[output_name],
                opset_version=opset,
                dynamo=True,
                dynamic_shapes=({0: torch.export.Dim("batch")},) if dynamic_batch else None,
                external_data=False,  # one file: unet_256 is 218 MB, far below protobuf's 2 GB
                verbose=False,
            )
    finally:
        logger.setLevel(level)
    return path


def onnx_cache_folder() -> Path:
    """Where exported generators are kept between runs: $SKETCH2PHOTO_CACHE, else
    $XDG_CACHE_HOME/sketch2photo, else ~/.cache/sketch2photo."""
    if os.environ.get("SKETCH2PHOTO_CACHE"):
        return Path(os.environ["SKETCH2PHOTO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sketch2photo"


def cached_onnx(generator: UNetGenerator | Framer, folder: str | Path | None = None) -> Path:
    """The generator's (or framer's) ONNX file (fp32, any batch size), exported once and then found
    again.

    Exporting takes seconds to tens of seconds on a CPU, every start of the app would pay it, so
    the file is named after what decides its content (the architecture, every weight, torch's
    version and the opset) and reused while those stay the same.
    """
    fp32 = copy.deepcopy(generator).float().to("cpu", memory_format=torch.contiguous_format)
    kind = "framer" if isinstance(generator, Framer) else "generator"
    digest = hashlib.sha256(f"{signature(fp32)} {torch.__version__} {DEFAULT_OPSET}".encode())
    for name, tensor in fp32.state_dict().items():  # names and shapes give the architecture
        digest.update(f"{name} {tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    folder = Path(folder) if folder is not None else onnx_cache_folder()
    path = folder / f"{kind}-{digest.hexdigest()[:32]}.onnx"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed: two servers starting at once never read a
    # half-written file.
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        os.replace(export_onnx(fp32, Path(scratch) / path.name), path)
    return path


def onnx_session(
    generator: UNetGenerator | Framer, threads: int | None = None, folder: str | Path | None = None
):
    """An onnxruntime CPU session of the generator or framer (cached_onnx's file), warmed up.

    For the small generators the app serves, onnxruntime's fp32 forward pass is about three times
    faster than torch's on a CPU. threads: onnxruntime's intra-op threads (default: torch's count).
    Its threads sleep when idle instead of spinning, as torch's do with OMP_WAIT_POLICY=PASSIVE,
    so a waiting session takes no CPU from the web server or other visitors.
    """
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(
            f"Running on onnxruntime needs the onnxruntime package: {INSTALL_HINT}"
        ) from err
    path = cached_onnx(generator, folder)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name, _, shape = signature(generator)
    session.run(None, {input_name: np.ones((1, *shape), np.float32)})
    return session
