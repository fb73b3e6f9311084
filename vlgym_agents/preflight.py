"""Checks at trainer start-up, before any model weights load or any rollout runs, that name the fix.

A training run that dies ten minutes in, or with a library traceback, on something knowable at start is a lost
run: the model folder, its architecture and chat template, and the env's extra are checked here, each failure a
:class:`~vlgym.errors.UserError` (or :class:`~vlgym.errors.MissingExtraError`) with what to do.
Out-of-memory errors cannot be checked ahead; :func:`out_of_memory_message` words them for the command line.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import vlgym
from vlgym.core.registration import env_family
from vlgym.errors import UserError
from vlgym.extras import require_extra

#: ``org/name`` or ``name``, as the Hugging Face Hub spells model ids.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def hub_offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE",
                                                                                      "TRANSFORMERS_OFFLINE"))


def check_model_source(path: str) -> None:
    """A local model folder with a ``config.json``, or a Hub id that is cached here or can be downloaded."""
    folder = Path(path).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise UserError(f"{path} is a folder but not a model: no config.json in it (model.path must be a folder "
                            "saved with save_pretrained, or a Hugging Face Hub id)")
        return
    if not _HUB_ID.match(path) or folder.exists():
        why = "no Hub access here" if hub_offline() else "not a Hugging Face Hub model id either"
        raise UserError(f"no model folder at {path} (and {why})")
    if hub_offline():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(path, "config.json"), str):
            raise UserError(f"no model folder at {path} (and no Hub access here: HF_HUB_OFFLINE is set and the "
                            "model is not in the Hugging Face cache)")


def check_image_text_model(path: str) -> None:
    """The checkpoint's architecture loads through ``AutoModelForImageTextToText`` (what the policy uses)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(path)
    except OSError as error:  # a Hub id that cannot be fetched: no network, no such repo, a gated model
        raise UserError(f"cannot load the model config of {path}: {error}") from error
    if config.model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        architectures = ", ".join(getattr(config, "architectures", None) or []) or "no architectures listed"
        raise UserError(f"{path} is a '{config.model_type}' model ({architectures}), which has no image-text class "
                        "(AutoModelForImageTextToText): use a vision-language checkpoint such as Qwen2-VL, "
                        "Qwen2.5-VL, Gemma 3 or SmolVLM")


def check_chat_template(path: str) -> None:
    """The processor has a chat template: prompts are built with it."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(path)
    if not getattr(processor, "chat_template", None):
        raise UserError(f"the processor at {path} has no chat template: add one (chat_template.jinja next to the "
                        "processor files, e.g. the base model's) or start from an instruction-tuned checkpoint")


def check_env(env_id: str) -> None:
    """A vlgym id whose family's extra is installed here."""
    if env_id.startswith("vlgym/") and env_id not in vlgym.list_envs():
        raise UserError(f"unknown env id {env_id!r} in env.id; see `vlgym list`")
    if env_id in vlgym.list_envs():
        require_extra(env_family(env_id))


def check_startup(config) -> None:
    """Every check above for a :class:`~vlgym_agents.config.TrainConfig`; raises on the first failure."""
    for spec in config.envs:
        check_env(spec.id)
    check_model_source(config.model.path)
    check_image_text_model(config.model.path)
    check_chat_template(config.model.path)


def out_of_memory_message(error: BaseException) -> str | None:
    """A one-line account of an out-of-memory error with the settings that shrink memory, else None."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    if isinstance(error, torch.OutOfMemoryError):
        where = "the GPU"
    elif isinstance(error, RuntimeError) and "can't allocate memory" in str(error):
        where = "the CPU"
    else:
        return None
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (f"out of memory on {where} ({detail[:200]}): lower algo.minibatch_size (raise algo.grad_accum to keep "
            "the batch), env.num_envs or sampling.max_new_tokens, use model.dtype=bfloat16 or "
            "run.mixed_precision=bf16, keep LoRA on (model.lora) instead of full fine-tuning, or pick a smaller model")
