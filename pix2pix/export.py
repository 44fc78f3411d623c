"""The generator as an ONNX file, for runtimes without PyTorch (onnxruntime, browsers, phones).

The model takes "sketch", float (N, in_channels, S, S) in [-1, 1] with white = +1 and S the
generator's image_size, and gives "photo", (N, out_channels, S, S) in [-1, 1]: the tensors that
pix2pix.imaging's to_sketch_tensor makes and to_photo reads. A hint model's "sketch" has 5
channels (pix2pix.hints): 0 the grey sketch, 1-3 the hint colours as RGB in [-1, 1] multiplied
by the mask (0 where there is no hint), 4 the hint mask (1 on a hint, else 0); channels 1-4 all
zero is the sketch alone. It is the deterministic generator
(eval mode: batch norm's running statistics, no dropout), the path Translator takes without a seed.

Export uses torch.export (`torch.onnx.export(..., dynamo=True)`), the exporter PyTorch maintains;
the TorchScript one gives the same numbers but is deprecated since torch 2.9. It needs the optional
packages onnx and onnxscript (pyproject's `onnx` extra; onnxruntime runs the file).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from pix2pix.networks import UNetGenerator

# 18 is the opset the exporter writes natively; it asks the onnx version converter for older ones,
# which fails on some operators. onnxruntime runs opset 18 since 1.14.
MIN_OPSET = 18
DEFAULT_OPSET = 18
INSTALL_HINT = "pip install onnx onnxscript onnxruntime"


def require_onnx() -> None:
    """ImportError with the install command when the optional export packages are missing."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise ImportError(f"ONNX export needs the {err.name} package: {INSTALL_HINT}") from err


def export_onnx(
    generator: UNetGenerator,
    path: str | Path,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
) -> Path:
    """Write `generator` (put in eval mode) to `path` as one self-contained .onnx file; return the path.

    dynamic_batch=True lets the file take any batch size N; False fixes N to 1. The file holds the
    weights in the generator's dtype (save_pretrained's fp16 weights load as fp32).
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
    size = generator.image_size
    # torch.export may fix a dimension whose example size is 1 (older versions do), so a dynamic
    # batch is traced with 2.
    sketch = torch.zeros(
        2 if dynamic_batch else 1,
        generator.in_channels,
        size,
        size,
        dtype=weight.dtype,
        device=weight.device,
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
                input_names=["sketch"],
                output_names=["photo"],
                opset_version=opset,
                dynamo=True,
                dynamic_shapes={"sketch": {0: torch.export.Dim("batch")}}
                if dynamic_batch
                else None,
                external_data=False,  # one file: unet_256 is 218 MB, far below protobuf's 2 GB
                verbose=False,
            )
    finally:
        logger.setLevel(level)
    return path
