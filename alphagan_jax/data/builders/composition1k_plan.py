"""What a Composition-1k build makes from what: Adobe's name lists paired with the files, checked up front.

Adobe's script pairs foreground k of ``test_fg_names.txt`` with background names 20k..20k+19 of
``test_bg_names.txt``, in the files' order; scripts that list folders instead pair other images on every
machine. Every input is opened (header only) and hashed here, before anything is written, so a missing,
unreadable or mis-sized file stops the build with its name and the recipe (the pairing and every input's
sha256) tells a rerun whether ``--out`` holds this same set.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

NUM_BGS = 20  # backgrounds per foreground, the script's num_bgs
FG_LIST, BG_LIST = "test_fg_names.txt", "test_bg_names.txt"
# Test_set subfolders with fg/, alpha/ and trimaps/; Adobe's test set has only the first.
IMAGE_ROOTS = ("Adobe-licensed images", "Other")


class BuildError(ValueError):
    """A bad input or output folder; the message names the file and is the whole report."""


@dataclass(frozen=True)
class ForegroundJob:
    """One foreground's inputs and its composites' names (``<fg name minus 4 chars>_<i>``), in order."""

    fg: Path
    alpha: Path
    trimap: Path
    backgrounds: tuple[Path, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    jobs: tuple[ForegroundJob, ...]
    recipe: dict  # what the outputs are made from; equal recipes make equal outputs


def composite_name(fg_name: str, index: int) -> str:
    # The script drops exactly 4 characters ('.png', '.jpg'), whatever the extension is.
    return f"{fg_name[:-4]}_{index}"


def read_names(path: Path) -> list[str]:
    """A name list, one name a line, stripped as the script strips them; trailing blank lines ignored."""
    if not path.is_file():
        raise BuildError(f"name list not found: {path}")
    names = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    while names and not names[-1]:
        names.pop()
    if "" in names:
        raise BuildError(f"{path}: line {names.index('') + 1} is blank (the script would open an empty name)")
    return names


def _image_root(test_set: Path, name: str) -> Path:
    for root in IMAGE_ROOTS:
        if (test_set / root / "fg" / name).is_file():
            return test_set / root
    roots = " or ".join(str(test_set / r / "fg") for r in IMAGE_ROOTS)
    raise BuildError(f"foreground {name!r} listed in {test_set / FG_LIST} has no file in {roots}")


def _trimap(root: Path, name: str) -> Path:
    for candidate in (root / "trimaps" / name, root / "trimaps" / (Path(name).stem + ".png")):
        if candidate.is_file():
            return candidate
    raise BuildError(f"foreground {name!r} has no trimap {root / 'trimaps' / name}")


def _hash_and_size(path: Path) -> tuple[str, tuple[int, int]]:
    """sha256 of the file's bytes and its (width, height) from the header (no decode)."""
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            size = img.size
    except UnidentifiedImageError as e:
        raise BuildError(f"cannot read image {path}: not an image format PIL reads") from e
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise BuildError(f"cannot read image {path}: {e}") from e
    return hashlib.sha256(data).hexdigest(), size


def make_plan(test_set: str | Path, voc: str | Path, num_bgs: int = NUM_BGS) -> Plan:
    """Pair Adobe's lists with the files and check every input; raises BuildError naming the first bad one.

    Args:
      test_set: ``Combined_Dataset/Test_set`` (the name lists and ``Adobe-licensed images/``).
      voc: the folder of PASCAL VOC 2012 JPEGs the background names refer to.
      num_bgs: backgrounds per foreground (20 in Adobe's script).
    """
    test_set, voc = Path(test_set), Path(voc)
    for folder, what in ((test_set, "--test-set"), (voc, "--voc")):
        if not folder.is_dir():
            raise BuildError(f"{what} folder not found: {folder}")
    fg_names, bg_names = read_names(test_set / FG_LIST), read_names(test_set / BG_LIST)
    if not fg_names:
        raise BuildError(f"{test_set / FG_LIST} lists no foreground")
    repeated = sorted({n for n in fg_names if fg_names.count(n) > 1})
    if repeated:
        raise BuildError(f"{test_set / FG_LIST} lists {repeated[0]!r} twice (its composites would overwrite)")
    need = num_bgs * len(fg_names)
    if len(bg_names) < need:
        raise BuildError(
            f"{test_set / BG_LIST} lists {len(bg_names)} background names; {len(fg_names)} "
            f"foregrounds x {num_bgs} need {need}"
        )

    inputs: dict[str, str] = {}
    composites: dict[str, list[str]] = {}
    jobs = []
    for k, name in enumerate(fg_names):
        root = _image_root(test_set, name)
        fg, alpha, trimap = root / "fg" / name, root / "alpha" / name, _trimap(root, name)
        if not alpha.is_file():
            raise BuildError(f"foreground {name!r} has no alpha {alpha}")
        sizes = {}
        for path in (fg, alpha, trimap):
            inputs[str(path.relative_to(test_set))], sizes[path] = _hash_and_size(path)
        if len(set(sizes.values())) > 1:
            detail = ", ".join(f"{p} is {s[0]}x{s[1]}" for p, s in sizes.items())
            raise BuildError(f"foreground {name!r}: sizes differ (WxH): {detail}")
        line = k * num_bgs
        bgs = []
        for j, bg_name in enumerate(bg_names[line : line + num_bgs]):
            bg = voc / bg_name
            if not bg.is_file():
                raise BuildError(
                    f"background {bg_name!r} (line {line + j + 1} of {test_set / BG_LIST}) not found: {bg}"
                )
            inputs["voc/" + bg_name], _ = _hash_and_size(bg)
            bgs.append(bg)
            composites[composite_name(name, j)] = [str(fg.relative_to(test_set)), bg_name]
        jobs.append(
            ForegroundJob(fg, alpha, trimap, tuple(bgs), tuple(composite_name(name, j) for j in range(num_bgs)))
        )
    recipe = {"format": 1, "num_bgs": num_bgs, "composites": composites, "inputs": inputs}
    return Plan(tuple(jobs), recipe)


def recipe_difference(old: dict, new: dict) -> str:
    """'' when two recipes make the same set, else the first difference, for an error message."""
    if old.get("format") != new["format"] or old.get("num_bgs") != new["num_bgs"]:
        return f"it was built with {old.get('num_bgs')} backgrounds per foreground (format {old.get('format')})"
    old_c, new_c = old.get("composites", {}), new["composites"]
    for name in sorted(set(old_c) | set(new_c)):
        if old_c.get(name) != new_c.get(name):
            return f"composite {name} there is made from {old_c.get(name)}, here from {new_c.get(name)}"
    old_i, new_i = old.get("inputs", {}), new["inputs"]
    for name in sorted(set(old_i) | set(new_i)):
        if old_i.get(name) != new_i.get(name):
            return f"input {name} differs from the file it was built from (sha256)"
    return ""
