"""The sampling distribution, written once and used both to generate and to score tokens.

PPO's ratio and the KL term are only right if the log-probs computed in the training forward are those of the
distribution the tokens were sampled from. Hugging Face's ``generate`` builds that distribution from the
logits with a chain of processors; :func:`sampling_log_probs` applies the same chain (suppressed tokens,
temperature, top-k, top-p) to logits from a teacher-forced forward, and :func:`generation_config` hands
``generate`` exactly these settings and nothing from a checkpoint's own ``generation_config.json``.
:class:`RowSeededSampler` samples from the same distribution with one seeded stream per row instead of
``generate``'s one stream per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from vlgym_agents.config import Sampling

#: Floor for log-probs of tokens outside a top-k/top-p set: keeps ratios ~0 and losses finite.
LOG_PROB_FLOOR = -30.0
GREEDY_TOP_K = 50


def generation_config(sampling: Sampling, *, eos_token_ids: Sequence[int], pad_token_id: int,
                      suppress_token_ids: Sequence[int]):
    """A complete ``GenerationConfig``: every field that shapes the distribution is set explicitly."""
    from transformers import GenerationConfig

    return GenerationConfig(
        do_sample=sampling.do_sample, temperature=sampling.temperature,
        # Greedy decoding reads no top-k; transformers' own default (50) there keeps it from warning about ours or
        # filling in the checkpoint's.
        top_k=sampling.top_k if sampling.do_sample else GREEDY_TOP_K, top_p=sampling.top_p,
        min_p=None, typical_p=1.0, epsilon_cutoff=0.0, eta_cutoff=0.0, repetition_penalty=1.0,
        no_repeat_ngram_size=0, max_new_tokens=sampling.max_new_tokens, min_new_tokens=0,
        eos_token_id=list(eos_token_ids), pad_token_id=pad_token_id, suppress_tokens=list(suppress_token_ids),
        num_beams=1, output_scores=False, return_dict_in_generate=True)


def sampling_logits(logits: torch.Tensor, sampling: Sampling, suppress_token_ids: Sequence[int] = ()) -> torch.Tensor:
    """``logits`` (..., V) with the sampling chain applied (suppressed tokens, temperature, top-k, top-p): their
    softmax is the distribution answers are sampled from."""
    logits = logits.float()
    if len(suppress_token_ids):
        logits = logits.index_fill(-1, torch.as_tensor(list(suppress_token_ids), device=logits.device),
                                   float("-inf"))
    if sampling.do_sample:
        logits = logits / sampling.temperature
        if 0 < sampling.top_k < logits.shape[-1]:
            kth = torch.topk(logits, sampling.top_k, dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if sampling.top_p < 1.0:
            # Same rule as transformers' TopPLogitsWarper: drop the low tail whose mass is <= 1 - top_p.
            sorted_logits, order = torch.sort(logits, descending=False, dim=-1)
            drop_sorted = sorted_logits.softmax(-1).cumsum(-1) <= (1 - sampling.top_p)
            drop_sorted[..., -1] = False
            drop = drop_sorted.scatter(-1, order, drop_sorted)
            logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sampling_log_probs(logits: torch.Tensor, tokens: torch.Tensor, sampling: Sampling,
                       suppress_token_ids: Sequence[int] = ()) -> torch.Tensor:
    """Log-probs of ``tokens`` (B, T) under the sampling distribution given next-token ``logits`` (B, T, V)."""
    log_probs = sampling_logits(logits, sampling, suppress_token_ids).log_softmax(-1)
    return log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1).clamp(min=LOG_PROB_FLOOR)


def step_seeds(rollout_seed: int, steps: Sequence[tuple[int, int]]) -> list[int]:
    """One sampling seed per (env index, step index within the rollout), mixed with the rollout's seed.

    >>> step_seeds(7, [(0, 0), (0, 1)]) == step_seeds(7, [(0, 0), (0, 1)]) != step_seeds(8, [(0, 0), (0, 1)])
    True
    """
    return [int(np.random.SeedSequence([rollout_seed, env, step]).generate_state(1)[0]) for env, step in steps]


class RowSeededSampler:
    """A logits processor that samples every row from its own seeded random stream, so a row's answer does not
    depend on which other prompts share its batch (``rollout.sampling_streams: per_step``).

    Row ``i`` draws one uniform u per token from ``torch.Generator().manual_seed(seeds[i])`` and takes the token at
    u in the cumulative sampling distribution (inverse CDF, in float64); every other token is set to -inf, so
    ``generate`` run greedily returns exactly the sampled tokens. Greedy settings (``do_sample=False``) need no
    seeds and never reach this class.
    """

    def __init__(self, seeds: Sequence[int], sampling: Sampling, suppress_token_ids: Sequence[int]):
        self.sampling, self.suppress_token_ids = sampling, suppress_token_ids
        self.uniforms = torch.stack([torch.rand(sampling.max_new_tokens, dtype=torch.float64,
                                                generator=torch.Generator().manual_seed(seed)) for seed in seeds])
        self.position = 0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        cdf = sampling_logits(scores, self.sampling, self.suppress_token_ids).softmax(-1).double().cumsum(-1)
        self.uniforms = self.uniforms.to(cdf.device)  # a no-op after the first token
        target = self.uniforms[:, self.position] * cdf[:, -1]
        self.position += 1
        # The first index whose cumulative mass exceeds the target: always a token of positive probability.
        token = torch.searchsorted(cdf, target.unsqueeze(-1), right=True).clamp(max=cdf.shape[-1] - 1)
        return torch.full_like(scores, float("-inf")).scatter(-1, token, 0.0)
