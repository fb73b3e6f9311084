"""Our decoding parameters as vLLM's, one to one; what vLLM cannot honour is a config error.

No torch and no vLLM import here: the config validates ``rollout.engine: vllm`` with :func:`check_vllm_config`
without loading either.

| ``Sampling`` / policy          | ``vllm.SamplingParams``                                            |
|--------------------------------|--------------------------------------------------------------------|
| ``do_sample=False``            | ``temperature=0`` (greedy; top-k/top-p unused, as in HF)            |
| ``temperature``                | ``temperature`` (vLLM raises values below 0.01: refused here)       |
| ``top_k`` (0: off)             | ``top_k`` (0: off)                                                  |
| ``top_p``                      | ``top_p``                                                          |
| ``max_new_tokens``             | ``max_tokens``                                                     |
| end-of-turn tokens             | ``stop_token_ids`` (the stop token is kept in the answer, as in HF) |
| suppressed special tokens      | ``allowed_token_ids`` = every other token of the vocabulary        |
| (none)                         | ``repetition_penalty=1``, ``min_p=0``, ``min_tokens=0``, ``n=1``    |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: vLLM replaces a sampling temperature below this by this value (with a warning), which would change the
#: distribution the policy scores: such a temperature is refused instead.
VLLM_MIN_TEMPERATURE = 0.01


def check_vllm_config(has_lora: bool, sampling: Any, sleep: bool, device: str) -> None:
    """Raise ValueError for a run that ``rollout.engine: vllm`` cannot do exactly.

    >>> from vlgym_agents.config import Sampling
    >>> try:
    ...     check_vllm_config(True, Sampling(temperature=0.001), False, "cpu")
    ... except ValueError as error:
    ...     print(str(error)[:60])
    rollout.engine=vllm: sampling.temperature 0.001 is below 0.01
    """
    if sleep and device == "cpu":
        raise ValueError("rollout.vllm.sleep needs a GPU (vLLM's sleep mode frees GPU memory); run.device is cpu")
    if sampling.do_sample and sampling.temperature < VLLM_MIN_TEMPERATURE:
        raise ValueError(f"rollout.engine=vllm: sampling.temperature {sampling.temperature} is below "
                         f"{VLLM_MIN_TEMPERATURE}, which vLLM raises to {VLLM_MIN_TEMPERATURE} (the log-probs would "
                         "not match); use sampling.do_sample=false for greedy decoding")
    if not has_lora:
        raise ValueError("rollout.engine=vllm needs model.lora: the engine is kept in sync by handing it each new "
                         "LoRA adapter; full fine-tuning would need the whole model pushed every update, which "
                         "this trainer does not do (use rollout.engine=hf)")


def sampling_params_kwargs(sampling: Any, *, stop_token_ids: Sequence[int], suppress_token_ids: Sequence[int],
                           vocab_size: int, seed: int) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for one request (see the module table).

    >>> from vlgym_agents.config import Sampling
    >>> kw = sampling_params_kwargs(Sampling(top_k=5, max_new_tokens=8), stop_token_ids=[3],
    ...                             suppress_token_ids=[1, 2], vocab_size=6, seed=7)
    >>> kw["top_k"], kw["max_tokens"], kw["allowed_token_ids"], kw["stop_token_ids"]
    (5, 8, [0, 3, 4, 5], [3])
    """
    greedy = not sampling.do_sample
    suppressed = set(suppress_token_ids)
    return dict(n=1, seed=seed, max_tokens=sampling.max_new_tokens, min_tokens=0,
                temperature=0.0 if greedy else sampling.temperature,
                top_k=0 if greedy else sampling.top_k, top_p=1.0 if greedy else sampling.top_p,
                min_p=0.0, repetition_penalty=1.0, presence_penalty=0.0, frequency_penalty=0.0,
                stop_token_ids=list(stop_token_ids), ignore_eos=False,
                allowed_token_ids=[i for i in range(vocab_size) if i not in suppressed],
                logprobs=0, skip_special_tokens=True)
