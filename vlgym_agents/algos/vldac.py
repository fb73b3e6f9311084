"""VL-DAC (Bredis et al. 2025): token-level PPO for the actor, a step-level value for the critic.

For a minibatch of environment steps, each with generated tokens a_t = (a_t^1 ... a_t^n):

    r_{t,i} = exp(log π_θ(a_t^i | s_t, a_t^<i) − log π_old(a_t^i | ...))                (per token)
    L_policy = −mean_t [ (1/n_t) Σ_i min(r_{t,i} A_t, clip(r_{t,i}, 1−ε, 1+ε) A_t) ]    (A_t: the step's GAE)
    L_KL     =  mean_t [ (1/n_t) Σ_i k3(log π_ref − log π_θ) ],  k3(x) = exp(x) − x − 1  (frozen base model)
    L_value  =  mean_t [ ½ (V(s_t) − R_t)² ]                       (V reads a detached hidden state)
    L        =  L_policy + β L_KL + c_V L_value;   during the value warm-up:  L = c_V L_value

Normalising the advantages over the rollout happens before the loss (see
:func:`vlgym_agents.algos.batch.normalize_advantages`).
"""

from __future__ import annotations

import torch

from vlgym_agents.algos.batch import StepBatch
from vlgym_agents.algos.rule import Rule
from vlgym_agents.algos.settings import VLDACSettings


def per_step_mean(per_token: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(1/n_t) Σ_i x_{t,i} over each step's real tokens: shape (B,)."""
    mask = mask.to(per_token.dtype)
    return (per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)


def k3_kl(log_probs: torch.Tensor, ref_log_probs: torch.Tensor) -> torch.Tensor:
    """Schulman's unbiased, non-negative estimator of KL(π_θ ‖ π_ref) for tokens sampled from π_θ."""
    delta = ref_log_probs - log_probs
    return torch.exp(delta) - delta - 1


def clipped_surrogate(ratio: torch.Tensor, advantages: torch.Tensor, clip_eps: float) -> torch.Tensor:
    """PPO's min(r A, clip(r, 1±ε) A), per token."""
    return torch.minimum(ratio * advantages, ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages)


def token_ppo_actor(batch: StepBatch, clip_eps: float) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Token-level clipped surrogate and k3 KL, each averaged per step then over steps (shared with LOOP)."""
    mask = batch.token_mask
    log_ratio = batch.log_probs - batch.old_log_probs
    ratio = torch.exp(log_ratio)
    surrogate = clipped_surrogate(ratio, batch.advantages.unsqueeze(-1), clip_eps)
    policy_loss = -per_step_mean(surrogate, mask).mean()
    kl = per_step_mean(k3_kl(batch.log_probs, batch.ref_log_probs), mask).mean()
    with torch.no_grad():
        real = mask.bool()
        stats = {
            "policy_loss": policy_loss.item(), "kl_ref": kl.item(),
            "clip_fraction": ((ratio - 1).abs() > clip_eps)[real].float().mean().item(),
            "approx_kl_old": ((ratio - 1) - log_ratio)[real].mean().item(),
        }
    return policy_loss, kl, stats


def vldac_loss(batch: StepBatch, settings: VLDACSettings, *, warmup: bool = False) -> tuple[torch.Tensor, dict]:
    """The VL-DAC loss and its parts (floats, for logging)."""
    policy_loss, kl, stats = token_ppo_actor(batch, settings.clip_eps)
    value_loss = 0.5 * (batch.values - batch.returns).pow(2).mean()
    actor = policy_loss + settings.kl_beta * kl
    # Warm-up keeps the actor terms in the graph at weight 0, so every parameter gets a (zero) gradient:
    # DDP then needs no unused-parameter search, and the actor stays exactly where it is.
    loss = settings.value_coef * value_loss + (0.0 if warmup else 1.0) * actor
    return loss, {"loss": loss.item(), "value_loss": value_loss.item(), **stats}


class VLDAC(Rule):
    """VL-DAC: GAE advantages, a critic on a detached hidden state, value warm-up."""

    uses_critic = True
    value_gradient_to_backbone = False
    loss_function = vldac_loss
