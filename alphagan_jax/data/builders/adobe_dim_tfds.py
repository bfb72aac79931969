"""Adobe Deep Image Matting as a TFDS dataset built from the manually downloaded archive.

Configs:
  - `fg`: split `train` = the training foregrounds with their alphas (431 in the full set), one example per
    foreground: {'name', 'fg', 'alpha'} with fg/alpha the original files' encoded bytes (so 16-bit and
    RGBA mattes survive unchanged and decode exactly like files). Backgrounds are NOT composited in: they come
    from COCO/VOC (data.bg_path: folder or TFDS name) at training time, so every sample is a fresh composite.
  - `composition1k`: split `test` = the 1000 pre-composited test images {'name', 'image', 'trimap', 'alpha'}.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
import tensorflow_datasets as tfds
from etils import epath

from alphagan_jax.data.eval_sources import eval_folders, load_files, pair_files
from alphagan_jax.data.io import ImageReadError
from alphagan_jax.data.pools import pair_foregrounds

_TRAIN_GROUPS = ("Adobe-licensed images", "Other")


def _bytes_feature():
    return tfds.features.Tensor(shape=(), dtype=tf.string)


def _read_names(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def training_pairs(root: Path) -> list[tuple[str, Path, Path]]:
    """(name, fg path, alpha path) of the training set, in the order of training_fg_names.txt."""
    train = root / "Combined_Dataset" / "Training_set"
    if not train.is_dir():
        raise ImageReadError(f"Adobe training set not found: {train} (expected Combined_Dataset/Training_set)")
    names_file = train / "training_fg_names.txt"
    names = _read_names(names_file) if names_file.is_file() else None
    by_name: dict[str, tuple[Path, Path]] = {}
    for group in _TRAIN_GROUPS:
        fg_dir = train / group / "fg"
        if not fg_dir.is_dir():
            continue
        fgs, alphas = pair_foregrounds(fg_dir, train / group / "alpha")
        by_name.update({Path(f).name: (Path(f), Path(a)) for f, a in zip(fgs, alphas, strict=False)})
    if not by_name:
        raise ImageReadError(f"no foregrounds in {train}/{{{','.join(_TRAIN_GROUPS)}}}/fg")
    if names is None:
        names = sorted(by_name)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ImageReadError(f"{names_file} lists {missing[0]} but no such foreground is in {train}")
    return [(n, *by_name[n]) for n in names]


def composition1k_dir(root: Path) -> Path:
    """The folder holding merged/, alpha_copy/, trimaps/ (searched in the usual places under root)."""
    for cand in (
        root / "Composition-1k",
        root / "Combined_Dataset" / "Test_set" / "Composition-1k",
        root / "Combined_Dataset" / "Test_set",
        root,
    ):
        if (cand / "merged").is_dir():
            return cand
    raise ImageReadError(
        f"Composition-1k test set (a folder with merged/, alpha_copy/, trimaps/) not found under {root}"
    )


class AdobeDim(tfds.core.GeneratorBasedBuilder):
    """Adobe Deep Image Matting (Xu et al., CVPR 2017): training fg/alpha, Composition-1k test."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="fg", description="training foregrounds and alphas (no backgrounds)"),
        tfds.core.BuilderConfig(name="composition1k", description="Composition-1k test composites"),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Request the Adobe Deep Image Matting dataset from its authors (https://sites.google.com/view/deepimagematting)
    and extract it into the manual directory (`--manual_dir` or `<data_dir>/downloads/manual/`), giving:
      Combined_Dataset/Training_set/training_fg_names.txt
      Combined_Dataset/Training_set/Adobe-licensed images/{fg,alpha}/
      Combined_Dataset/Training_set/Other/{fg,alpha}/
    For the `composition1k` config, build the test set (20 VOC 2012 backgrounds per test foreground, exactly
    as Adobe's compose script makes it) into Composition-1k/ under the manual directory:
      alphagan-composition1k --test-set <manual>/Combined_Dataset/Test_set \\
          --voc <VOCdevkit>/VOC2012/JPEGImages --out <manual>/Composition-1k
    """

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls) -> epath.Path:
        # TFDS's default probes `importlib_resources`, a package this environment lacks; the file is enough.
        return epath.Path(__file__)

    def _info(self) -> tfds.core.DatasetInfo:
        if self.builder_config.name == "fg":
            features = {"name": tfds.features.Text(), "fg": _bytes_feature(), "alpha": _bytes_feature()}
        else:
            features = {
                "name": tfds.features.Text(),
                "image": _bytes_feature(),
                "trimap": _bytes_feature(),
                "alpha": _bytes_feature(),
            }
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(features),
            homepage="https://sites.google.com/view/deepimagematting",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        root = Path(dl_manager.manual_dir)
        if self.builder_config.name == "fg":
            return {"train": self._generate_examples(root)}
        return {"test": self._generate_examples(composition1k_dir(root))}

    def _generate_examples(self, folder: Path):
        """(key, example) pairs: training fg/alpha for the `fg` config, test composites otherwise."""
        if self.builder_config.name == "fg":
            return self._generate_train(folder)
        return self._generate_test(folder)

    def _generate_train(self, root: Path):
        for name, fg, alpha in training_pairs(root):
            yield name, {"name": name, "fg": fg.read_bytes(), "alpha": alpha.read_bytes()}

    def _generate_test(self, folder: Path):
        folders = eval_folders("composition1k", folder)
        if folders.alpha is None:
            raise ImageReadError(
                f"Composition-1k ground truth not found: {folder / 'alpha_copy'} or {folder / 'alpha'}"
            )
        # Pair as evaluation does; store the original files' bytes. load_files only validates (decodable,
        # sizes agree), so a bad test file fails the build naming it rather than a later decode in TF.
        for files in pair_files("composition1k", folders):
            load_files(files)
            image, trimap, alpha = files.image, files.trimap, files.alpha
            assert image is not None and trimap is not None and alpha is not None  # else load_files raised
            yield (
                files.name,
                {
                    "name": files.name,
                    "image": image.read_bytes(),
                    "trimap": trimap.read_bytes(),
                    "alpha": alpha.read_bytes(),
                },
            )


def build(manual_dir: str, data_dir: str = "", config: str = "fg") -> tfds.core.DatasetBuilder:
    """Build (once) and return the builder for `config` from an extracted archive at manual_dir.

    On a multi-host run only process 0 builds; the others wait for it, then read the same files (every
    host preparing into one shared data_dir at once would race on its temporary folders).
    """
    import jax

    builder = AdobeDim(config=config, data_dir=data_dir or None)
    download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    if jax.process_count() == 1:
        builder.download_and_prepare(download_config=download_config)
        return builder
    from jax.experimental import multihost_utils

    if jax.process_index() == 0:
        builder.download_and_prepare(download_config=download_config)
    multihost_utils.sync_global_devices(f"adobe_dim/{config} built")
    return AdobeDim(config=config, data_dir=data_dir or None)
