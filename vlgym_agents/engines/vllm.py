"""The vLLM engine: a ``vllm.LLM`` in the trainer's process (one per rank), on the trainer's device.

- **Prompts** are the policy's :class:`~vlgym_agents.policy.vlm.Prompt` (same chat template, same images); vLLM
  runs the processor saved with the model on the text and the images (multimodal data), so it sees the token ids
  our processor makes (tested).
- **Sampling** maps one to one (:mod:`vlgym_agents.engines.vllm_sampling`); each request gets the seed the collector
  gives it (``rollout.sampling_streams: per_step``) or else one drawn from torch's random stream, which
  checkpoints save, so a run is reproducible and resumes on the same stream.
- **Scoring**: the answers are scored by one batched forward of the training policy (old log-probs and values);
  vLLM's own log-probs of the sampled tokens (its ``processed_logprobs``: after suppression, temperature,
  top-k and top-p, like ours) are only compared with ours: ``engine_logprob_mae`` (mean absolute difference
  per answer token) and ``engine_logprob_k3`` (the k3 estimate of KL(engine || policy)), with a warning above
  ``rollout.vllm.logprob_warn_mae``.
- **Weights**: with LoRA, :meth:`VLLMEngine.sync` saves the adapter and hands it to vLLM as a new versioned
  ``LoRARequest`` (no merge); the previous version is removed from the engine and from disk.
- **Memory**: ``gpu_memory_utilization`` bounds vLLM's share of the GPU (on CPU: of RAM, with
  ``VLLM_CPU_KVCACHE_SPACE`` GiB of KV cache); with ``sleep``, vLLM sleeps during updates.
- **DDP**: every rank builds its own engine; with more than one rank vLLM joins the trainer's process group
  (``distributed_executor_backend="external_launcher"``), so it runs on that rank's device.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from vlgym_agents.config import Sampling, VLLMSettings
from vlgym_agents.engines.vllm_sampling import sampling_params_kwargs
from vlgym_agents.policy.sampling import LOG_PROB_FLOOR
from vlgym_agents.policy.vlm import Generation, Prompt, VLMPolicy

log = logging.getLogger(__name__)


def engine_request(prompt: Prompt) -> dict[str, Any]:
    """One vLLM prompt: the chat-templated text and its images as multimodal data."""
    request: dict[str, Any] = {"prompt": prompt.text}
    if prompt.images:
        request["multi_modal_data"] = {"image": [Image.fromarray(image) for image in prompt.images]}
    return request


class VLLMEngine:
    """See the module docstring. ``version`` counts the updates whose adapter the engine generates with."""

    def __init__(self, policy: VLMPolicy, settings: VLLMSettings, *, seed: int, workdir: Path, world_size: int = 1):
        from vllm import LLM

        if policy.config.lora is None:  # the config check says so first; this guards direct use
            raise ValueError("the vLLM engine needs a LoRA policy (see check_vllm_config)")
        self.policy, self.settings, self.workdir = policy, settings, Path(workdir)
        on_cpu = policy.device.type == "cpu"
        if on_cpu and settings.sleep:  # run.device=auto on a machine without a GPU
            raise ValueError("rollout.vllm.sleep needs a GPU (vLLM's sleep mode frees GPU memory); this run is on CPU")
        if on_cpu:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(settings.cpu_kv_cache_gib))
        extra: dict[str, Any] = {}
        if world_size > 1:
            extra["distributed_executor_backend"] = "external_launcher"
        self.llm = LLM(model=policy.config.path, dtype=policy.config.dtype, seed=seed,
                       enable_lora=True, max_lora_rank=policy.config.lora.r, max_loras=1,
                       max_model_len=settings.max_model_len, gpu_memory_utilization=settings.gpu_memory_utilization,
                       enable_sleep_mode=settings.sleep, logprobs_mode="processed_logprobs",
                       generation_config="vllm",  # nothing from the checkpoint's generation_config.json
                       **extra)
        self.vocab_size = policy.model.get_output_embeddings().weight.shape[0]
        self.version: int | None = None
        self.generated_with: int | None = None  # the adapter version of the latest answers
        self.lora_request = None
        self.asleep = False
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.abs_sum = self.k3_sum = 0.0
        self.tokens = 0
        self.generate_s = self.score_s = 0.0

    # -- weights ---------------------------------------------------------------------------------------------
    def sync(self, policy: VLMPolicy, version: int) -> None:
        """Hand the engine ``policy``'s adapter as version ``version`` and drop the previous one."""
        from vllm.lora.request import LoRARequest

        path = self.workdir / f"adapter-v{version}"
        policy.model.save_pretrained(path)
        old = self.lora_request
        self.policy, self.version = policy, version
        self.lora_request = LoRARequest(f"vlgym-v{version}", version + 1, str(path))
        if old is not None and old.lora_int_id != self.lora_request.lora_int_id:
            self.llm.llm_engine.remove_lora(old.lora_int_id)
            shutil.rmtree(old.lora_path, ignore_errors=True)

    def sleep(self) -> None:
        if self.settings.sleep and not self.asleep:
            self.llm.sleep(level=1)
            self.asleep = True

    # -- acting ----------------------------------------------------------------------------------------------
    def sample(self, prompts: Sequence[Prompt], sampling: Sampling,
               seeds: Sequence[int] | None = None) -> tuple[list[list[int]], list[list[float]]]:
        """vLLM's answer token ids and their log-probs (under the sampling distribution) for each prompt."""
        from vllm import SamplingParams

        if self.asleep:
            self.llm.wake_up()
            self.asleep = False
        self.generated_with = self.version
        if seeds is None:
            seeds = torch.randint(0, 2**31 - 1, (len(prompts),)).tolist()
        params = [SamplingParams(**sampling_params_kwargs(
            sampling, stop_token_ids=self.policy.eos_token_ids, suppress_token_ids=self.policy.suppress_token_ids,
            vocab_size=self.vocab_size, seed=seed)) for seed in seeds]
        outputs = self.llm.generate([engine_request(p) for p in prompts], params, lora_request=self.lora_request,
                                    use_tqdm=False)
        ids, log_probs = [], []
        for output in outputs:
            answer = output.outputs[0]
            ids.append(list(answer.token_ids))
            log_probs.append([step[token].logprob for step, token in zip(answer.logprobs, answer.token_ids,
                                                                            strict=True)])
        return ids, log_probs

    def generate(self, prompts: Sequence[Prompt], batch: dict[str, torch.Tensor], sampling: Sampling,
                 seeds: Sequence[int] | None = None) -> Generation:
        started = time.perf_counter()
        ids, engine_lp = self.sample(prompts, sampling, seeds)
        scored = time.perf_counter()
        policy = self.policy
        width = max(1, max(map(len, ids)))
        tokens = torch.full((len(ids), width), policy.pad_token_id, dtype=torch.long)
        engine_log_probs = torch.zeros((len(ids), width))
        mask = torch.zeros((len(ids), width), dtype=torch.bool)
        for i, (row, lp) in enumerate(zip(ids, engine_lp, strict=True)):
            tokens[i, :len(row)] = torch.as_tensor(row, dtype=torch.long)
            engine_log_probs[i, :len(row)] = torch.as_tensor(lp)
            mask[i, :len(row)] = True
        is_eos = torch.isin(tokens, torch.as_tensor(policy.eos_token_ids))
        texts = policy.processor.tokenizer.batch_decode(tokens.masked_fill(is_eos, policy.pad_token_id),
                                                        skip_special_tokens=True)
        tokens, mask = tokens.to(policy.device), mask.to(policy.device)
        was_training = policy.training
        policy.eval()  # the scoring forward must be the sampling distribution's: no dropout
        try:
            with torch.no_grad():
                log_probs, values = policy(batch, tokens, mask, sampling)
        finally:
            policy.train(was_training)
        self._compare(log_probs.cpu(), engine_log_probs.clamp(min=LOG_PROB_FLOOR), mask.cpu())
        self.generate_s += scored - started
        self.score_s += time.perf_counter() - scored
        return Generation(tokens, mask, texts, log_probs, values)

    def _compare(self, ours: torch.Tensor, engine: torch.Tensor, mask: torch.Tensor) -> None:
        log_ratio = (ours.double() - engine.double())[mask]  # float64: k3 of near-equal log-probs is tiny
        self.abs_sum += float(log_ratio.abs().sum())
        self.k3_sum += float((log_ratio.exp() - 1 - log_ratio).sum())
        self.tokens += int(mask.sum())

    def metrics(self) -> dict[str, Any]:
        """Since the last call: the log-prob mismatch, the adapter version generated with, and the seconds."""
        tokens = max(1, self.tokens)
        out = {"engine_logprob_mae": self.abs_sum / tokens, "engine_logprob_k3": self.k3_sum / tokens,
               "engine_adapter_version": self.generated_with, "engine_generate_s": self.generate_s,
               "engine_score_s": self.score_s}
        if self.tokens and out["engine_logprob_mae"] > self.settings.logprob_warn_mae:
            log.warning("vLLM's log-probs differ from the policy's by %.4f per token on average (bound %.4f, "
                        "rollout.vllm.logprob_warn_mae): the engine samples from another distribution than the one "
                        "the loss assumes", out["engine_logprob_mae"], self.settings.logprob_warn_mae)
        self._reset_counters()
        return out

    def close(self) -> None:
        """Drop the engine (its process ends once the ``LLM`` is collected); closing twice is harmless."""
        self.llm = None
