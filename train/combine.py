"""Write pix2pix's side-by-side A|B training images from two folders of matching files.

This is the official tutorial's preprocessing step (combine_A_and_B.py), for people who train with
the official code; `python -m train` reads the two folders directly and does not need it.

    python -m train.combine --a sketches/ --b photos/ --out aligned/

A file in --a and the file in --b with the same name (extension aside) become one PNG, A on the left,
B on the right. PNG keeps the pixels exact, and a text tag in it says that it is an A|B pair, so that
`--layout auto` finds these files whatever their shape (not only the official 2:1 squares). Pairs of different sizes, files that do not open and files
without a partner are reported by name and skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from train.data import (
    ALIGNED_KEY,
    ALIGNED_VALUE,
    image_files,
    index_by_stem,
    open_image,
    without_partner,
)


def combine(a_dir: str | Path, b_dir: str | Path, out_dir: str | Path) -> tuple[int, list[str]]:
    """Write out_dir/<name>.png = A|B for each name in both folders; return (written, problems)."""
    a_dir, b_dir, out_dir = Path(a_dir), Path(b_dir), Path(out_dir)
    for folder in (a_dir, b_dir):
        if not folder.is_dir():
            raise ValueError(f"{folder} is not a folder.")
    a_files, b_files = index_by_stem(image_files(a_dir)), index_by_stem(image_files(b_dir))
    problems = [
        f"{f} has no file of the same name in {b_dir}." for f in without_partner(a_files, b_files)
    ]
    problems += [
        f"{f} has no file of the same name in {a_dir}." for f in without_partner(b_files, a_files)
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = PngInfo()
    tag.add_text(ALIGNED_KEY, ALIGNED_VALUE)
    written = 0
    for stem in sorted(a_files.keys() & b_files.keys()):
        try:
            a, b = (open_image(p).convert("RGB") for p in (a_files[stem], b_files[stem]))
        except Exception as error:  # PIL raises OSError, SyntaxError, ... for broken files
            problems.append(
                f"{a_files[stem]} or {b_files[stem]} does not open as an image ({error})."
            )
            continue
        if a.size != b.size:
            problems.append(
                f"{a_files[stem]} is {a.width}x{a.height} but {b_files[stem]} is {b.width}x{b.height}; "
                "A|B needs one size."
            )
            continue
        both = Image.new("RGB", (2 * a.width, a.height))
        both.paste(a, (0, 0))
        both.paste(b, (a.width, 0))
        both.save(out_dir / f"{stem}.png", pnginfo=tag)
        written += 1
    return written, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.combine",
        description="Write side-by-side A|B images (pix2pix's 'aligned' format) from two folders of "
        "files with matching names. Mismatched sizes, broken files and files without a partner are "
        "listed and skipped. Exit code 1 when nothing was written.",
    )
    parser.add_argument(
        "--a",
        required=True,
        type=Path,
        help="folder of A images (left half; the sketches for sketch2photo)",
    )
    parser.add_argument(
        "--b", required=True, type=Path, help="folder of B images (right half; the photos)"
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="folder to write <name>.png into (created if missing)",
    )
    args = parser.parse_args(argv)
    try:
        written, problems = combine(args.a, args.b, args.out)
    except ValueError as error:
        parser.error(str(error))
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"written {written}, skipped {len(problems)} -> {args.out}")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
