"""The VLM policy: loading through Auto classes, LoRA, sampling-consistent log-probs, values, reference."""

import gymnasium as gym
import pytest
import torch

import vlgym  # noqa: F401
from vlgym_agents.policy.sampling import Sampling, generation_config, sampling_log_probs
from vlgym_agents.policy.vlm import LoraSettings, PolicyConfig, VLMPolicy

SAMPLERS = [Sampling(temperature=1.0, max_new_tokens=10), Sampling(temperature=0.7, top_k=40, top_p=0.9,
                                                                   max_new_tokens=10)]


def prompts_of_different_lengths(policy):
    """Three prompts whose token counts differ (images of different sizes and different texts)."""
    out = []
    for env_id, seed, size in (("vlgym/GymCards-NumberLine-v0", 0, 300), ("vlgym/GymCards-Points24-v0", 1, 64),
                               ("vlgym/GymCards-Blackjack-v0", 2, 128)):
        env = gym.make(env_id, image_size=size, state_in_text=True)
        obs, info = env.reset(seed=seed)
        out.append(policy.prompt(obs, info))
        env.close()
    return out


@pytest.fixture(scope="module", params=["qwen2_5_vl", "idefics3"])
def policy(request, tiny_models):
    return VLMPolicy(PolicyConfig(path=str(tiny_models[request.param]), value_head_hidden=[32],
                                  lora=LoraSettings(r=4, dropout=0.0)))


def test_loads_through_auto_classes(policy):
    assert type(policy.model.get_base_model()).__name__ in {"Qwen2_5_VLForConditionalGeneration",
                                                           "Idefics3ForConditionalGeneration"}


def test_lora_is_applied_to_the_language_model_only(policy):
    trainable = [n for n, p in policy.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert all(("language_model" in n or "text_model" in n) for n in trainable)
    # 2 layers x 7 projections x (A, B)
    assert len(trainable) == 2 * 7 * 2
    assert policy.model.peft_config["default"].r == 4


@pytest.mark.parametrize("sampling", SAMPLERS, ids=["t1", "t0.7-topk-topp"])
def test_training_log_probs_equal_the_sampling_distribution(policy, sampling):
    prompts = prompts_of_different_lengths(policy)
    batch = policy.encode(prompts)
    lengths = batch["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) > 1  # left padding is exercised
    config = generation_config(sampling, eos_token_ids=policy.eos_token_ids, pad_token_id=policy.pad_token_id,
                               suppress_token_ids=policy.suppress_token_ids)
    config.output_scores = True
    torch.manual_seed(0)
    out = policy.model.generate(**batch, generation_config=config)
    tokens = out.sequences[:, batch["input_ids"].shape[1]:]
    mask = torch.ones_like(tokens, dtype=torch.bool)
    from_generate = torch.stack(out.scores, 1).log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    batched, values = policy(batch, tokens, mask, sampling)
    assert torch.allclose(batched, from_generate, atol=1e-5)
    for row, prompt in enumerate(prompts):
        single, value = policy(policy.encode([prompt]), tokens[row: row + 1], mask[row: row + 1], sampling)
        assert torch.allclose(single, batched[row: row + 1], atol=1e-5)
        assert value.item() == pytest.approx(values[row].item(), abs=1e-5)


def test_sampling_log_probs_match_transformers_warpers():
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    torch.manual_seed(1)
    logits = torch.randn(4, 50) * 3
    sampling = Sampling(temperature=0.8, top_k=20, top_p=0.85)
    warped = LogitsProcessorList([TemperatureLogitsWarper(0.8), TopKLogitsWarper(20), TopPLogitsWarper(0.85)])(
        None, logits.clone())
    expected = warped.log_softmax(-1)
    tokens = expected.argmax(-1, keepdim=True)
    ours = sampling_log_probs(logits.unsqueeze(1), tokens, sampling)
    assert torch.allclose(ours.squeeze(1), expected.gather(-1, tokens).squeeze(1), atol=1e-6)
    # a token outside the top-p set gets the finite floor, not -inf
    outside = expected.argmin(-1, keepdim=True)
    assert torch.isfinite(sampling_log_probs(logits.unsqueeze(1), outside, sampling)).all()


def test_generation_uses_the_config_not_the_checkpoint_defaults(policy):
    """The tiny checkpoints ship near-greedy defaults (top_k=1); sampling at T=1 must still vary."""
    assert policy.model.generation_config.top_k == 1
    batch = policy.encode(prompts_of_different_lengths(policy)[:1] * 6)
    torch.manual_seed(0)
    texts = policy.generate(batch, Sampling(temperature=1.0, max_new_tokens=8)).texts
    assert len(set(texts)) > 1


def test_special_tokens_are_never_generated(policy):
    batch = policy.encode(prompts_of_different_lengths(policy))
    torch.manual_seed(0)
    generation = policy.generate(batch, Sampling(temperature=2.0, max_new_tokens=16))
    real = generation.tokens[generation.mask]
    assert not torch.isin(real, torch.tensor(policy.suppress_token_ids)).any()
    vision = policy.processor.tokenizer.convert_tokens_to_ids(
        "<|image_pad|>" if "qwen" in type(policy.processor).__name__.lower() else "<image>")
    assert vision in policy.suppress_token_ids


def test_mask_ends_at_the_first_end_of_turn(policy):
    batch = policy.encode(prompts_of_different_lengths(policy))
    torch.manual_seed(3)
    g = policy.generate(batch, Sampling(temperature=1.0, max_new_tokens=12))
    for row in range(len(g.texts)):
        real = g.tokens[row][g.mask[row]].tolist()
        ends = [i for i, t in enumerate(real) if t in policy.eos_token_ids]
        assert ends in ([], [len(real) - 1])  # at most one end token, and it is the last real one


def test_reference_is_the_model_without_adapter(policy):
    batch = policy.encode(prompts_of_different_lengths(policy)[:2])
    tokens = torch.randint(0, 200, (2, 5))
    mask = torch.ones_like(tokens, dtype=torch.bool)
    sampling = Sampling()
    before, _ = policy(batch, tokens, mask, sampling)
    with torch.no_grad():  # move the adapter away from its zero initialisation
        for name, parameter in policy.model.named_parameters():
            if "lora_B" in name:
                parameter.add_(0.05)
    moved, _ = policy(batch, tokens, mask, sampling)
    reference = policy.reference_log_probs(batch, tokens, mask, sampling)
    assert not torch.allclose(moved, before, atol=1e-4)
    assert torch.allclose(reference, before, atol=1e-6)
    with torch.no_grad():
        for name, parameter in policy.model.named_parameters():
            if "lora_B" in name:
                parameter.sub_(0.05)


def test_value_gradient_stops_at_the_backbone(policy):
    batch = policy.encode(prompts_of_different_lengths(policy)[:2])
    tokens = torch.randint(0, 200, (2, 3))
    mask = torch.ones_like(tokens, dtype=torch.bool)
    for to_backbone in (False, True):
        policy.zero_grad()
        _, values = policy(batch, tokens, mask, Sampling(), value_gradient_to_backbone=to_backbone)
        values.sum().backward()
        lora_grads = [p.grad for n, p in policy.model.named_parameters() if p.requires_grad]
        head_grads = [p.grad for p in policy.value_head.parameters()]
        assert all(g is not None and torch.count_nonzero(g) for g in head_grads[-1:])
        reached_backbone = any(g is not None and torch.count_nonzero(g) for g in lora_grads)
        assert reached_backbone == to_backbone
    policy.zero_grad()


def test_scores_from_generate_equal_the_training_forward(policy):
    batch = policy.encode(prompts_of_different_lengths(policy))
    sampling = Sampling(temperature=0.9, top_p=0.95, max_new_tokens=10)
    torch.manual_seed(4)
    generation = policy.generate(batch, sampling, score=True)
    log_probs, values = policy(batch, generation.tokens, generation.mask, sampling)
    real = generation.mask
    assert torch.allclose(generation.log_probs[real], log_probs[real], atol=1e-5)
    assert torch.allclose(generation.values, values, atol=1e-5)


def test_tiny_models_are_reproducible(tmp_path):
    from vlgym_agents.policy.tiny import build_tiny_vlm

    first, second = build_tiny_vlm(tmp_path / "a", seed=3), build_tiny_vlm(tmp_path / "b", seed=3)
    for name in ("tokenizer.json", "model.safetensors", "processor_config.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert (build_tiny_vlm(tmp_path / "c", seed=4) / "model.safetensors").read_bytes() != (
        first / "model.safetensors").read_bytes()


@pytest.mark.parametrize("sampling", SAMPLERS, ids=["t1", "t0.7-topk-topp"])
def test_a_seeded_row_gets_the_same_answer_in_any_batch_with_the_training_log_probs(policy, sampling):
    """Per-step streams: a row's answer depends on its seed, not on its batch neighbours; the log-probs returned
    with it are the training forward's (the PPO ratio starts at 1)."""
    prompts = prompts_of_different_lengths(policy)
    batch = policy.encode(prompts)
    together = policy.generate(batch, sampling, score=True, seeds=[11, 22, 33])
    for row, seed in enumerate([11, 22, 33]):
        alone = policy.generate(policy.encode(prompts[row:row + 1]), sampling, score=True, seeds=[seed])
        width = int(together.mask[row].sum())
        assert int(alone.mask[0].sum()) == width
        assert torch.equal(alone.tokens[0, :width], together.tokens[row, :width])
    reseeded = policy.generate(batch, sampling, seeds=[12, 22, 33])
    assert not torch.equal(reseeded.tokens[0], together.tokens[0])  # the seed, not the prompt, decides
    assert torch.equal(reseeded.tokens[1:], together.tokens[1:])
    log_probs, _ = policy(batch, together.tokens, together.mask, sampling)
    assert torch.allclose(log_probs[together.mask], together.log_probs[together.mask], atol=1e-5)


def test_the_seeded_sampler_draws_from_the_sampling_distribution():
    """Inverse-CDF draws over 4,000 seeds match the top-k/top-p distribution (the same chain as the log-probs)
    and never pick a token outside it."""
    from vlgym_agents.policy.sampling import RowSeededSampler, sampling_logits, step_seeds

    sampling = Sampling(temperature=0.7, top_k=4, top_p=0.95, max_new_tokens=1)
    logits = torch.tensor([2.0, 1.5, 1.0, 0.5, 0.4, -1.0])
    expected = sampling_logits(logits, sampling).softmax(-1)
    seeds = step_seeds(0, [(i, 0) for i in range(4000)])
    chosen = RowSeededSampler(seeds, sampling, ())(None, logits.expand(len(seeds), -1)).argmax(-1)
    counts = torch.bincount(chosen, minlength=len(logits)).float() / len(seeds)
    assert counts[expected == 0].sum() == 0
    assert torch.allclose(counts, expected, atol=0.025)
    assert (expected > 0).sum() <= 4 and (counts > 0).sum() == (expected > 0).sum()
