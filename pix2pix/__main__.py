"""`python -m pix2pix translate INPUT... -o OUT`: sketches (files or folders) in, photos (PNG) out.
`python -m pix2pix export --format onnx -o FILE`: the generator as a file for other runtimes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from pix2pix.export import DEFAULT_OPSET, INSTALL_HINT, MIN_OPSET, export_onnx
from pix2pix.hints import HINT_CHANNELS
from pix2pix.imaging import IMAGE_SUFFIXES

HINT_LAYOUT = (
    "channel 0 the grey sketch (white = 1), 1-3 the hint colours (RGB times the mask), "
    "4 the hint mask (1 on a hint)"
)


def find_inputs(inputs: list[str]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(file, output name relative to OUT) for every image given or inside a given folder; and problems."""
    found, problems = [], []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                problems.append(f"{path}: the folder holds no images")
            found += [(f, f.relative_to(path).with_suffix(".png")) for f in files]
        elif path.is_file():
            found.append((path, Path(path.name).with_suffix(".png")))
        else:
            problems.append(f"{path}: no such file or folder")
    return found, problems


def unique_names(found: list[tuple[Path, Path]]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Outputs never overwrite each other: a.png and a.jpg would both make a.png, so a.png keeps
    the name (a PNG input first) and a.jpg makes a-2.png; a name another input wants is never
    handed out. Returns the list in input order and one line per renamed output."""
    wanted = {name for _, name in found}
    taken, chosen, renamed = set(), {}, []
    pngs_first = sorted(range(len(found)), key=lambda i: found[i][0].suffix.lower() != ".png")
    for i in pngs_first:
        path, name = found[i]
        choice, n = name, 1
        while choice in taken or (choice != name and choice in wanted):
            n += 1
            choice = name.with_name(f"{name.stem}-{n}{name.suffix}")
        if choice != name:
            renamed.append(f"{path} -> {choice} ({name} is another input's photo)")
        taken.add(choice)
        chosen[i] = choice
    return [(path, chosen[i]) for i, (path, _) in enumerate(found)], renamed


def translate_files(args: argparse.Namespace) -> int:
    from pix2pix.translate import Translator

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        print(f"error: -o {out} is a file; -o takes a folder for the photos.", file=sys.stderr)
        return 2
    files, problems = find_inputs(args.inputs)
    files, renamed = unique_names(files)
    for line in problems:
        print(line, file=sys.stderr)
    try:
        translator = Translator(args.model, device=args.device)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in renamed:
        print(f"renamed: {line}")
    written = replaced = 0
    for path, name in tqdm(files, desc="translating", unit="image", disable=len(files) < 2):
        try:
            photo = translator.translate(path, seed=args.seed)
        except ValueError as err:
            tqdm.write(f"{path}: {err}", file=sys.stderr)
            problems.append(str(path))
            continue
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        replaced += target.exists()
        photo.save(target)
        written += 1
    print(
        f"wrote {written} photo(s) to {out}"
        + (f", replacing {replaced} that were there" if replaced else "")
        + (f"; {len(problems)} problem(s)" if problems else "")
    )
    return 1 if problems else 0


def export_model(args: argparse.Namespace) -> int:
    from pix2pix.translate import load_generator

    if Path(args.output).is_dir():
        print(f"error: -o {args.output} is a folder; name the file to write.", file=sys.stderr)
        return 2
    try:
        generator = load_generator(args.model)
        path = export_onnx(generator, args.output, opset=args.opset)
    except (ImportError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    size = generator.image_size
    layout = HINT_LAYOUT if generator.in_channels == 1 + HINT_CHANNELS else "white = 1"
    print(
        f"wrote {path}: input 'sketch' (N, {generator.in_channels}, {size}, {size}) in [-1, 1], "
        f"{layout}; output 'photo' (N, {generator.out_channels}, {size}, {size}) in [-1, 1]"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pix2pix", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    translate = commands.add_parser(
        "translate",
        help="turn sketches into photos",
        description="Turn sketch images (files, or folders searched recursively) into PNG photos. "
        "For a model trained with colour hints, coloured strokes in a drawing are hints (the colour "
        "of hair, skin, clothes) and black or grey strokes are lines; other models see the "
        "drawing in grey. "
        "Exit code 1 when some input could not be read (the others are still written), 2 when "
        "nothing could start (a bad model, device or -o).",
    )
    translate.add_argument("inputs", nargs="+", metavar="INPUT", help="sketch files or folders")
    translate.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="folder for the photos: one PNG per input, named after it (a.jpg -> OUT/a.png, "
        "dir/sub/b.jpg -> OUT/sub/b.png); when inputs would share a name (a.png and a.jpg), "
        "a.png keeps it and the others get -2, -3, ... (each renaming is printed)",
    )
    translate.add_argument(
        "--model",
        default=None,
        metavar="DIR_OR_REPO",
        help="model folder or Hub repo id (default: the bundled model in checkpoints/faces)",
    )
    translate.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)"
    )
    translate.add_argument(
        "--seed",
        type=int,
        default=None,
        help="turn on dropout noise with this seed (default: deterministic)",
    )
    translate.set_defaults(run=translate_files)

    export = commands.add_parser(
        "export",
        help="save the generator for other runtimes (ONNX)",
        description=f"Save the generator as an ONNX file. Needs the optional packages: {INSTALL_HINT}.",
    )
    export.add_argument(
        "--model",
        default=None,
        metavar="DIR_OR_REPO",
        help="model folder or Hub repo id (default: the bundled model in checkpoints/faces)",
    )
    export.add_argument(
        "--format", choices=["onnx"], default="onnx", help="file format (default: onnx)"
    )
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    export.add_argument(
        "--opset",
        type=int,
        default=DEFAULT_OPSET,
        help=f"ONNX opset version, {MIN_OPSET} or newer (default: {DEFAULT_OPSET})",
    )
    export.set_defaults(run=export_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
