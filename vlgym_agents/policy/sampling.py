"""The sampling distribution, written once and used both to generate and to score tokens.

PPO's ratio and the KL term are only right if the log-probs computed in the training forward are those of the
distribution the tokens were sampled from. Hugging Face's ``generate`` builds that distribution from the
logits with a chain of processors; :func:`sampling_log_probs` applies the same chain (suppressed tokens,
temperature, top-k, top-p) to logits from a teacher-forced forward, and :func:`generation_config` hands
``generate`` exactly these settings and nothing from a checkpoint's own ``generation_config.json``.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def sampling_log_probs(logits: torch.Tensor, tokens: torch.Tensor, sampling: Sampling,
                       suppress_token_ids: Sequence[int] = ()) -> torch.Tensor:
    """Log-probs of ``tokens`` (B, T) under the sampling distribution given next-token ``logits`` (B, T, V)."""
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
    log_probs = logits.log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return log_probs.clamp(min=LOG_PROB_FLOOR)
