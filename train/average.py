"""Average the weights of generators fine-tuned from one another (a "model soup").

    python -m train.average checkpoints/faces runs/NAME/model --out runs/soup

Two fine-tunes of one model lie in one basin of the loss, and the average of their weights is
often better than either (Wortsman et al. 2022, "Model soups"): a fine-tune that gains realism but
makes the photos more alike, averaged with its base, can keep some of each. The generators must
have the same architecture (config.json equal); every parameter and float buffer is averaged with
the given weights (half and half by default). The batch-norm statistics average too, but the
generator normalises each photo by its own statistics (pix2pix.networks.ImageBatchNorm2d), so they
do not change a photo. The framer and the terms of the training data come from the inputs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from pix2pix.framing import FRAMER_NAME, framer_beside
from pix2pix.networks import UNetGenerator
from train.publish import CARD_HEAD, USAGE, card_license

CARD = (
    CARD_HEAD
    + """The average, parameter by parameter, of pix2pix generators (U-Net, ngf {ngf}) fine-tuned from one
another:

{mix}

"""
    + USAGE.format(model_ref="path/to/this/folder")
    + """

## Data

Its weights are made from the training data of every model in the mix, and it carries the terms of
each (the card's license is `other`; see each model's card). Check them before publishing it.

{framing}## How it was made

```
python -m train.average {command}
```
"""
)


def mix_shares(models: list[str], weights: list[float]) -> list[float]:
    """Each model's share of the average: its weight over the sum, after checking the weights."""
    if len(models) < 2:
        raise ValueError("Averaging needs at least two models.")
    if len(weights) != len(models):
        raise ValueError(f"{len(models)} models need {len(models)} weights, not {len(weights)}.")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("The weights must be non-negative and not all zero.")
    return [w / sum(weights) for w in weights]


def average_generators(models: list[str], shares: list[float]) -> UNetGenerator:
    """The average of the generators saved in `models` (folders or Hub repo ids), each counted with
    its share (mix_shares)."""
    generators = [UNetGenerator.from_pretrained(m) for m in models]
    for model, generator in zip(models[1:], generators[1:], strict=True):
        if generator.config != generators[0].config:
            raise ValueError(
                f"{model} is a different generator from {models[0]} ({generator.config} against "
                f"{generators[0].config}): only generators of one architecture average."
            )
    soup = UNetGenerator.from_config(generators[0].config)
    states = [g.state_dict() for g in generators]
    mixed = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            mixed[key] = sum(share * s[key] for share, s in zip(shares, states, strict=True))
        else:  # num_batches_tracked: a count, not a weight
            mixed[key] = first
    soup.load_state_dict(mixed)
    return soup


def write_soup(
    models: list[str], weights: list[float], out: Path, half: bool, command: str
) -> None:
    """Average, save (config, weights, the first model's framer) and write the card.

    The framer is carried from a local folder only (framer_beside), as the Translator reads it."""
    shares = mix_shares(models, weights)
    soup = average_generators(models, shares)
    out.mkdir(parents=True, exist_ok=True)
    (soup.half() if half else soup).save_pretrained(out)
    framer = framer_beside(models[0])
    framing = ""
    if framer is not None:
        shutil.copyfile(framer, out / FRAMER_NAME)
        framing = f"## Framing\n\nThe framer of `{models[0]}`.\n\n"
    names = {card_license(m) for m in models} - {None}
    card = CARD.format(
        license_name=f"license_name: {names.pop()}\n" if len(names) == 1 else "",
        ngf=soup.config.ngf,
        mix="\n".join(f"- `{m}` x {share:.3g}" for m, share in zip(models, shares, strict=True)),
        framing=framing,
        command=command,
    )
    (out / "README.md").write_text(card)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.average",
        description="Average the weights of generators of one architecture fine-tuned from one "
        "another (a model soup) into a new model folder.",
    )
    parser.add_argument("models", nargs="+", help="model folders or Hub repo ids (two or more)")
    parser.add_argument("--out", required=True, type=Path, help="the new model folder")
    parser.add_argument(
        "--weights",
        nargs="+",
        type=float,
        help="one weight per model, normalised to sum to one (default: equal)",
    )
    parser.add_argument(
        "--half", action="store_true", help="store the weights in fp16 (as the bundled model)"
    )
    args = parser.parse_args(argv)
    weights = args.weights or [1.0] * len(args.models)
    command = " ".join(sys.argv[1:] if argv is None else argv)
    try:
        write_soup(args.models, weights, args.out, args.half, command)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"model saved in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
