"""Model folders on the Hugging Face Hub, through huggingface_hub's ModelHubMixin (the `hub` extra).

:class:`HubModel` is a :class:`alphagan_jax.api.Model` whose `save_pretrained` writes a model folder plus
a model card (README.md, the validation metrics in its `model-index`), and whose `from_pretrained` reads a
local model folder offline or downloads one from the Hub (`push_to_hub` publishes). The folder format is
alphagan_jax.artifacts.model_folder's own, so `alphagan_jax.load` reads it without huggingface_hub.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData, ModelHubMixin, snapshot_download

from alphagan_jax.api import Model
from alphagan_jax.artifacts.model_folder import read_model_folder, write_model_folder

CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

AlphaGAN natural image matting (Lutz, Amplianitis and Smolic, BMVC 2018), trained with alphagan-jax
(`pip install alphagan-jax`; `alphagan-jax[hub]` for `from_pretrained`).

```python
import alphagan_jax as ag
model = ag.from_pretrained("{{ repo_id }}")   # or ag.load("path/to/this/folder")
alpha = model.alpha(image, trimap)            # uint8 HxWx3, uint8 HxW {0, 128, 255} -> float32 HxW
```

| | |
|---|---|
| step | {{ step }} |
| validation ({{ val_data }}) | SAD {{ val_sad }}, MSE {{ val_mse }} |
| training data | {{ train_data }} |
| training data licence | {{ data_licence }} |
| network | {{ network }} |
| weights sha256 | `{{ sha256 }}` |
| alphagan-jax | {{ version }} |

The weights (`generator.msgpack`, flax msgpack) are checked against this sha256 when loaded.
"""


class HubModel(
    Model,
    ModelHubMixin,
    library_name="alphagan-jax",
    tags=["image-matting", "alphagan", "jax", "flax"],
    pipeline_tag="image-segmentation",
    model_card_template=CARD_TEMPLATE,
):
    """A Model with ModelHubMixin's save_pretrained / from_pretrained / push_to_hub."""

    @classmethod
    def from_model(cls, model: Model) -> HubModel:
        return cls(model.model_config, model.variables, model.info)

    def _save_pretrained(self, save_directory: Path) -> None:
        # write_model_folder also writes config.json, so the mixin does not replace it with its own.
        self.info = write_model_folder(save_directory, self.variables, self.model_config.to_dict(), self.info)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        **model_kwargs: Any,
    ) -> HubModel:
        folder = Path(model_id)
        if not folder.is_dir():
            folder = Path(
                snapshot_download(
                    repo_id=model_id,
                    revision=revision,
                    cache_dir=cache_dir,
                    force_download=force_download,
                    local_files_only=local_files_only,
                    token=token,
                )
            )
        model_config, variables, info = read_model_folder(folder)
        return cls(model_config, variables, info, **model_kwargs)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        info = self.info
        val = info.get("validation") or {}
        name = info.get("name", "alphagan")
        results = [
            EvalResult(
                task_type="image-matting",
                task_name="Image matting",
                dataset_type=val.get("source", "?"),
                dataset_name=val.get("name", val.get("source", "?")),
                dataset_split="validation",
                metric_type=metric,
                metric_name=metric.upper(),
                metric_value=round(float(val[metric]), 6),
            )
            for metric in ("sad", "mse")
            if val.get(metric) is not None
        ]
        card_data = ModelCardData(
            library_name="alphagan-jax",
            tags=["image-matting", "alphagan", "jax", "flax"],
            pipeline_tag="image-segmentation",
            license="other",
            model_name=name,
            eval_results=results or None,
        )
        return ModelCard.from_template(
            card_data,
            template_str=CARD_TEMPLATE,
            model_name=name,
            repo_id=kwargs.pop("repo_id", f"USER/{name}"),
            step=info.get("step"),
            val_data=val.get("name", "-"),
            val_sad=_fmt(val.get("sad")),
            val_mse=_fmt(val.get("mse")),
            train_data=info.get("training_data", {}).get("summary", "-"),
            data_licence=info.get("training_data", {}).get("licence", "-"),
            network=info.get("network", "-"),
            sha256=info.get("sha256", "-"),
            version=info.get("alphagan_jax"),
            **kwargs,
        )


def from_pretrained(repo_id_or_path: str | Path, **kwargs: Any) -> HubModel:
    """A model folder from the Hugging Face Hub (`user/name`, cached) or a local path; `kwargs` are
    ModelHubMixin.from_pretrained's (revision, cache_dir, local_files_only, token, ...) and Model's
    (bucket, tta, bf16)."""
    return HubModel.from_pretrained(repo_id_or_path, **kwargs)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4g}"
