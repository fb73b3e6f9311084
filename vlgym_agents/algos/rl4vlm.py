"""RL4VLM (Zhai et al. 2024): step-level PPO on a λ-weighted sequence log-prob, value head through the backbone.

The answer ``{"thoughts": ..., "action": ...}`` is split into thought tokens and action tokens, and one number
per step stands for the whole answer:

    log π(a_t|s_t) = λ Σ_{i ∈ thoughts} log π(a_t^i | ...) + Σ_{i ∈ action} log π(a_t^i | ...)
    r_t      = exp(log π_θ(a_t|s_t) − log π_old(a_t|s_t))                                    (one ratio per step)
    L_policy = −mean_t [ min(r_t A_t, clip(r_t, 1−ε, 1+ε) A_t) ]
    L_KL     =  mean_t [ (1/n_t) Σ_i k3(log π_ref − log π_θ) ]          (VL-DAC's stabiliser, as the paper ran it)
    L_value  =  mean_t [ ½ (V(s_t) − R_t)² ]          (V reads the backbone's hidden state *with* gradients)
    L        =  L_policy + β L_KL + c_V L_value

The split comes from the decoded text, never from token ids: each generated token's character span is found by
decoding growing prefixes of the generated ids, and the action part starts at the last ``action`` key of the
answer's JSON (outside quoted strings, so braces, quotes or the word "action" inside the thoughts do not
confuse it). That key, its value, the closing brace and the end-of-turn token are the action; every token
before is a thought. A token that straddles the boundary counts as action. When the answer has no ``action``
key at all, every token counts as action (λ then plays no part), so an unparseable answer is still scored as
the plain sequence log-prob.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from vlgym.core.parsing import scan_json
from vlgym_agents.algos.batch import StepBatch
from vlgym_agents.algos.rule import Rule
from vlgym_agents.algos.settings import RL4VLMSettings
from vlgym_agents.algos.vldac import k3_kl, per_step_mean

#: A ratio's log is kept within ±LOG_RATIO_LIMIT before exp, so a far off-policy step gives a finite loss.
LOG_RATIO_LIMIT = 20.0

# "action" followed by ':' or '=' as a bare word, for answers with no JSON object (the parser's field form).
_BARE_FIELD = re.compile(r"""(?<!\w)["']?action["']?\s*[:=]""", re.IGNORECASE)
_KEY_SEPARATOR = re.compile(r"\s*[:=]")
# "action" as an unquoted key inside an object.
_BARE_KEY = re.compile(r"(?<![^\W_])action(?=\s*[:=])")


def action_char_start(text: str) -> int | None:
    """Where the last ``action`` key of an answer starts (its opening quote), or None if it has none.

    Inside ``{...}`` quoted strings are skipped (with escapes), so only a real key counts; outside any object,
    a bare ``action:`` field is accepted, as the env's parser accepts it. The objects and strings come from the
    env's own scanner (:func:`vlgym.core.parsing.scan_json`).
    """
    layout = scan_json(text)
    keys = [start for start, end, closed in layout.strings
            if closed and text[start + 1: end - 1].strip().lower() == "action" and _KEY_SEPARATOR.match(text, end)]
    in_string = [False] * len(text)
    for start, end, _ in layout.strings:
        in_string[start:end] = [True] * (end - start)
    for start, end in layout.objects:  # unquoted keys inside an object (json_repair accepts them)
        keys += [m.start() for m in _BARE_KEY.finditer(text, start, end) if not in_string[m.start()]]
    if keys:
        return max(keys)
    outside, previous = [], 0
    for start, end in layout.objects:
        outside.append((previous, start))
        previous = end
    outside.append((previous, len(text)))
    bare = [m.start() for start, end in outside for m in _BARE_FIELD.finditer(text, start, end)]
    return bare[-1] if bare else None


def token_char_ends(tokenizer, ids: Sequence[int]) -> list[int]:
    """For each generated token, how many characters of the decoded answer it completes (non-decreasing).

    Prefixes are decoded in one batched call; a prefix that ends inside a multi-byte character decodes to a
    replacement character, so each end is the longest common prefix with the full text.
    """
    ids = list(ids)
    texts = tokenizer.batch_decode([ids[: k + 1] for k in range(len(ids))] + [ids], skip_special_tokens=True)
    full, ends, previous = texts[-1], [], 0
    for prefix in texts[:-1]:
        common = 0
        for a, b in zip(prefix, full, strict=False):
            if a != b:
                break
            common += 1
        previous = max(previous, common)
        ends.append(previous)
    return ends


def action_token_mask(tokenizer, ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """(n,) bool: which generated tokens belong to the action part (see the module docstring)."""
    ids = [int(t) for t in ids]
    full = tokenizer.decode(ids, skip_special_tokens=True)
    start = action_char_start(full)
    if start is None:
        return torch.ones(len(ids), dtype=torch.bool)
    ends = token_char_ends(tokenizer, ids)
    starts = [0, *ends[:-1]]
    return torch.tensor([end > start or begin >= start for begin, end in zip(starts, ends, strict=True)],
                        dtype=torch.bool)


def sequence_log_probs(log_probs: torch.Tensor, token_mask: torch.Tensor, action_mask: torch.Tensor,
                       thought_coef: float) -> torch.Tensor:
    """λ Σ log π(thought tokens) + Σ log π(action tokens), per step: shape (B,)."""
    real = token_mask.to(log_probs.dtype)
    action = (token_mask & action_mask).to(log_probs.dtype)
    weights = thought_coef * (real - action) + action
    return (log_probs * weights).sum(-1)


def rl4vlm_loss(batch: StepBatch, settings: RL4VLMSettings, *, warmup: bool = False) -> tuple[torch.Tensor, dict]:
    """The RL4VLM loss and its parts; ``batch.action_mask`` marks the action tokens (None: all of them)."""
    mask = batch.token_mask.bool()
    action_mask = mask if batch.action_mask is None else batch.action_mask.bool()
    new = sequence_log_probs(batch.log_probs, mask, action_mask, settings.thought_coef)
    old = sequence_log_probs(batch.old_log_probs, mask, action_mask, settings.thought_coef)
    log_ratio = (new - old).clamp(-LOG_RATIO_LIMIT, LOG_RATIO_LIMIT)
    ratio = torch.exp(log_ratio)
    clipped = ratio.clamp(1 - settings.clip_eps, 1 + settings.clip_eps)
    policy_loss = -torch.minimum(ratio * batch.advantages, clipped * batch.advantages).mean()
    kl = per_step_mean(k3_kl(batch.log_probs, batch.ref_log_probs), mask).mean()
    value_loss = 0.5 * (batch.values - batch.returns).pow(2).mean()
    loss = settings.value_coef * value_loss + (0.0 if warmup else 1.0) * (policy_loss + settings.kl_beta * kl)
    with torch.no_grad():
        stats = {
            "loss": loss.item(), "policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
            "kl_ref": kl.item(), "clip_fraction": ((ratio - 1).abs() > settings.clip_eps).float().mean().item(),
            "approx_kl_old": ((ratio - 1) - log_ratio).mean().item(),
            "action_token_fraction": ((mask & action_mask).sum() / mask.sum().clamp(min=1)).item(),
        }
    return loss, stats


class RL4VLM(Rule):
    """RL4VLM: GAE advantages, the value gradient through the backbone, the thought/action token split."""

    uses_critic = True
    value_gradient_to_backbone = True
    loss_function = rl4vlm_loss

    def token_masks(self, tokenizer, records) -> list[torch.Tensor]:
        return [action_token_mask(tokenizer, r.tokens) for r in records]
