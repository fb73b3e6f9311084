"""A VLM policy: any Hugging Face image-text-to-text checkpoint, LoRA, and a value head on the last prompt token.

One class covers Qwen2-VL, Qwen2.5-VL, Qwen3-VL, Gemma 3 and Idefics3/SmolVLM: it only goes through
``AutoProcessor`` and ``AutoModelForImageTextToText``. Prompts travel as :class:`Prompt` (the chat-templated
text and its images) and are turned into tensors by the processor, left-padded, so that the last prompt token
sits at the same index in every row; that is where the value head reads the hidden state.

The reference policy of the KL term is this same model with its adapter disabled: no second copy of the weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from vlgym.prompts import build_messages
from vlgym_agents.config import LoraSettings, PolicyConfig, Sampling
from vlgym_agents.policy.sampling import (
    LOG_PROB_FLOOR,
    RowSeededSampler,
    generation_config,
    sampling_log_probs,
    sampling_logits,
)

#: Input tensors indexed like ``input_ids`` that mark image tokens; generated tokens are text (type 0).
TOKEN_TYPE_KEYS = ("mm_token_type_ids", "token_type_ids")


@dataclass
class Prompt:
    """A chat-templated prompt and the images its placeholders stand for."""

    text: str
    images: list[np.ndarray]


@dataclass
class Generation:
    tokens: torch.Tensor  # (B, T) generated ids, padding after the end-of-turn token
    mask: torch.Tensor  # (B, T) True up to and including the end-of-turn token
    texts: list[str]  # decoded answers, special tokens removed
    log_probs: torch.Tensor | None = None  # (B, T) under the sampling distribution (with ``score=True``)
    values: torch.Tensor | None = None  # (B,) value of each prompt (with ``score=True``)


class RunningNorm(torch.nn.Module):
    """Standardises each feature with a running mean and variance, updated from the batches it sees in training.

    The same statistics normalise while acting and while training (no batch statistics, so a batch of one is
    fine). In a tiny model the last prompt token's final state differs between prompts by ~0.1% of its size:
    unnormalised, an MLP head would need weights ~1000x larger than its initialisation to read that.
    """

    def __init__(self, size: int, momentum: float = 0.05, floor: float = 1e-2, clip: float = 5.0):
        super().__init__()
        self.momentum, self.floor, self.clip = momentum, floor, clip
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("var", torch.ones(size))
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] > 1:
            with torch.no_grad():
                rate = 1.0 if self.seen == 0 else self.momentum  # the first batch sets the statistics
                self.mean.lerp_(x.mean(0), rate)
                self.var.lerp_(x.var(0), rate)
                self.seen += 1
        # A feature that barely varied must not blow up when it moves (the policy trains under the critic):
        # variances are floored at a fraction of the mean variance, and standardised values are clipped.
        var = self.var.clamp(min=self.floor * float(self.var.mean()))
        return ((x - self.mean) / var.sqrt()).clamp(-self.clip, self.clip)


class ValueHead(torch.nn.Module):
    """MLP from the last prompt token's final hidden state to a scalar value (optionally standardised first)."""

    def __init__(self, hidden_size: int, layers: Sequence[int], *, norm: bool = False):
        super().__init__()
        self.norm = RunningNorm(hidden_size) if norm else torch.nn.Identity()
        sizes = [hidden_size, *layers]
        modules: list[torch.nn.Module] = []
        for a, b in pairwise(sizes):
            modules += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        modules.append(torch.nn.Linear(sizes[-1], 1))
        self.mlp = torch.nn.Sequential(*modules)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm(hidden.float())).squeeze(-1)


class VLMPolicy(torch.nn.Module):
    """The actor (the VLM, optionally with a LoRA adapter) and the critic (a value head on its hidden state).

    ``forward`` is the training forward (token log-probs and values); it is what DDP wraps. ``generate`` and
    ``reference_log_probs`` run without gradients.
    """

    def __init__(self, config: PolicyConfig, *, device: str | torch.device = "cpu", adapter: str | Path | None = None):
        super().__init__()
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.config = config
        self.processor = AutoProcessor.from_pretrained(config.path)
        self.processor.tokenizer.padding_side = "left"  # the last prompt token must be at index P-1 in every row
        base = AutoModelForImageTextToText.from_pretrained(config.path, dtype=getattr(torch, config.dtype),
                                                           attn_implementation=config.attn_implementation)
        self.model = self._with_adapter(base, config.lora, adapter)
        self.value_head = ValueHead(base.config.get_text_config().hidden_size, config.value_head_hidden,
                                    norm=config.value_head_norm)
        tokenizer = self.processor.tokenizer
        eos = base.generation_config.eos_token_id
        eos = [eos] if isinstance(eos, int) else list(eos or [])
        self.eos_token_ids = sorted({*eos, tokenizer.eos_token_id} - {None})
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_token_ids[0]
        # Special tokens (image placeholders, turn markers, ...) are never part of an answer: only end-of-turn.
        self.suppress_token_ids = sorted(set(tokenizer.all_special_ids) - set(self.eos_token_ids))
        self.to(device)

    @staticmethod
    def _with_adapter(base, lora: LoraSettings | None, adapter: str | Path | None):
        if adapter is not None:
            from peft import PeftModel

            return PeftModel.from_pretrained(base, str(adapter), is_trainable=True)
        if lora is None:
            return base
        from peft import LoraConfig, get_peft_model

        return get_peft_model(base, LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                               target_modules=lora.target_modules, bias="none"))

    @property
    def device(self) -> torch.device:
        return self.value_head.mlp[0].weight.device

    @property
    def has_adapter(self) -> bool:
        return hasattr(self.model, "disable_adapter")

    # -- prompts -------------------------------------------------------------------------------------
    def prompt(self, obs: dict[str, Any], info: dict[str, Any], **message_options: Any) -> Prompt:
        """The chat-templated prompt for one observation (see :func:`vlgym.prompts.build_messages`)."""
        messages = build_messages(obs, info, **message_options)
        images = [np.asarray(item["image"]) for m in messages for item in m["content"]
                  if isinstance(item, dict) and item.get("type") == "image"]
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return Prompt(text, images)

    def encode(self, prompts: Sequence[Prompt]) -> dict[str, torch.Tensor]:
        """Left-padded processor tensors for a batch of prompts, on the policy's device and dtype."""
        images = [[Image.fromarray(image) for image in p.images] for p in prompts]
        kwargs = {"images": images} if any(images) else {}
        batch = self.processor(text=[p.text for p in prompts], padding=True, return_tensors="pt", **kwargs)
        dtype = next(self.model.parameters()).dtype
        return {k: v.to(self.device, dtype=dtype if v.is_floating_point() else v.dtype) for k, v in batch.items()}

    # -- acting ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, batch: dict[str, torch.Tensor], sampling: Sampling, *, score: bool = False,
                 seeds: Sequence[int] | None = None) -> Generation:
        """Sample answers; with ``score``, also their log-probs and the prompts' values, from the same pass.

        With ``seeds`` (one per row), every row samples from its own stream (:class:`RowSeededSampler`), so its
        answer does not depend on the rest of the batch; without, ``generate`` samples the batch from torch's
        global stream. The log-probs come from the scores ``generate`` sampled from (equal to the training
        forward's to ~1e-6); the value reads the final hidden state of the last prompt token, caught on its way
        into the LM head during the first decoding step. That saves a full forward per rollout step.
        """
        from transformers import LogitsProcessorList

        per_row = seeds is not None and sampling.do_sample
        config = generation_config(Sampling(do_sample=False, max_new_tokens=sampling.max_new_tokens)
                                   if per_row else sampling, eos_token_ids=self.eos_token_ids,
                                   pad_token_id=self.pad_token_id, suppress_token_ids=self.suppress_token_ids)
        # Per row, the processed scores are one-hot (the sampled token), so the log-probs come from the raw logits.
        config.output_scores, config.output_logits = score and not per_row, score and per_row
        processors = [RowSeededSampler(seeds, sampling, self.suppress_token_ids)] if per_row else []
        first_hidden: list[torch.Tensor] = []
        hook = self.model.get_output_embeddings().register_forward_pre_hook(
            lambda _, args: first_hidden.append(args[0][:, -1]) if not first_hidden else None) if score else None
        was_training = self.training
        self.eval()  # no dropout while acting: the stored old log-probs must be the sampling distribution's
        try:
            out = self.model.generate(**batch, generation_config=config,
                                      logits_processor=LogitsProcessorList(processors))
        finally:
            self.train(was_training)
            if hook is not None:
                hook.remove()
        tokens = out.sequences[:, batch["input_ids"].shape[1]:]
        is_eos = torch.isin(tokens, torch.as_tensor(self.eos_token_ids, device=tokens.device))
        after_eos = (is_eos.cumsum(1) - is_eos.long()) > 0
        mask = ~after_eos
        tokens = tokens.masked_fill(after_eos, self.pad_token_id)
        texts = self.processor.tokenizer.batch_decode(tokens.masked_fill(is_eos, self.pad_token_id),
                                                      skip_special_tokens=True)
        if not score:
            return Generation(tokens, mask, texts)
        processed = (sampling_logits(torch.stack(out.logits, 1), sampling, self.suppress_token_ids) if per_row
                     else torch.stack(out.scores, 1).float())
        log_probs = processed.log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1).clamp(min=LOG_PROB_FLOOR)
        return Generation(tokens, mask, texts, log_probs, self.value_head(first_hidden[0]))

    # -- scoring -----------------------------------------------------------------------------------------
    def forward(self, batch: dict[str, torch.Tensor], tokens: torch.Tensor, mask: torch.Tensor,
                sampling: Sampling, *, with_values: bool = True, value_gradient_to_backbone: bool = False,
                readout: Callable[[torch.Tensor], torch.Tensor] | None = None):
        """Token log-probs of ``tokens`` under the sampling distribution, and the step values.

        The value head reads the final hidden state of the last prompt token; unless
        ``value_gradient_to_backbone`` (RL4VLM), that state is detached, so the value loss trains only the head.
        ``readout`` replaces the value head (with the gradient reaching the model): the warm start's auxiliary loss.
        """
        inputs = dict(batch)
        prompt_length = inputs["input_ids"].shape[1]
        inputs["input_ids"] = torch.cat([inputs["input_ids"], tokens], dim=1)
        inputs["attention_mask"] = torch.cat([inputs["attention_mask"], mask.to(inputs["attention_mask"].dtype)], 1)
        for key in TOKEN_TYPE_KEYS:
            if key in inputs:
                inputs[key] = torch.cat([inputs[key], torch.zeros_like(tokens, dtype=inputs[key].dtype)], dim=1)
        out = self.model(**inputs, logits_to_keep=tokens.shape[1] + 1, output_hidden_states=with_values,
                         use_cache=False)
        log_probs = sampling_log_probs(out.logits[:, :-1], tokens, sampling, self.suppress_token_ids)
        if not with_values:
            return log_probs, None
        hidden = out.hidden_states[-1][:, prompt_length - 1]
        if readout is not None:
            return log_probs, readout(hidden)
        return log_probs, self.value_head(hidden if value_gradient_to_backbone else hidden.detach())

    @torch.no_grad()
    def reference_log_probs(self, batch, tokens, mask, sampling: Sampling) -> torch.Tensor:
        """Log-probs under the frozen base model: the same weights with the adapter switched off."""
        context = self.model.disable_adapter() if self.has_adapter else nullcontext()
        with context:
            return self.forward(batch, tokens, mask, sampling, with_values=False)[0]

    @torch.no_grad()
    def values(self, batch: dict[str, torch.Tensor],
               readout: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Values of prompts alone (bootstrapping a truncated episode); ``readout`` replaces the value head."""
        out = self.model(**batch, logits_to_keep=1, output_hidden_states=True, use_cache=False)
        return (readout or self.value_head)(out.hidden_states[-1][:, -1])

    # -- persistence -------------------------------------------------------------------------------------
    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def save(self, path: str | Path) -> None:
        """The adapter (or the whole model when there is none), the processor, and the value head."""
        path = Path(path)
        self.model.save_pretrained(path / "model")
        self.processor.save_pretrained(path / "model")
        torch.save(self.value_head.state_dict(), path / "value_head.pt")

    @classmethod
    def load(cls, config: PolicyConfig, path: str | Path, *, device: str | torch.device = "cpu") -> VLMPolicy:
        """The policy :meth:`save` wrote under ``path`` (e.g. a trainer checkpoint), built as ``config`` says."""
        path = Path(path)
        if config.lora is None:  # the folder holds the whole fine-tuned model
            policy = cls(config.model_copy(update={"path": str(path / "model")}), device=device)
        else:
            policy = cls(config, device=device, adapter=path / "model")
        policy.load_value_head(path)
        return policy

    def load_value_head(self, path: str | Path) -> None:
        self.value_head.load_state_dict(torch.load(Path(path) / "value_head.pt", map_location=self.device))
