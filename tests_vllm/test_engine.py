"""The vLLM engine against our policy: same prompt ids, same images, same log-probs, same adapter."""

from pathlib import Path

import pytest
import torch
from conftest import numberline_prompts

from vlgym_agents.config import Sampling
from vlgym_agents.engines.vllm import engine_request
from vlgym_agents.policy.vlm import Prompt

#: Measured on this fp32 tiny model on CPU: vLLM's log-probs of its sampled tokens differ from the policy's
#: training forward by about 1e-6 per token on average (README: "Rollout engines"); the bound leaves headroom.
MAE_BOUND = 1e-3


def answers(tokens: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
    return [row[: int(m.sum())].tolist() for row, m in zip(tokens, mask, strict=True)]


def test_vllm_sees_the_token_ids_our_processor_makes(policy, engine):
    from vllm import SamplingParams

    prompts = numberline_prompts(policy, range(4)) + numberline_prompts(policy, range(2), state_in_text=True)
    outputs = engine.llm.generate([engine_request(p) for p in prompts], SamplingParams(max_tokens=1),
                                  lora_request=engine.lora_request, use_tqdm=False)
    batch = policy.encode(prompts)
    image_pad = policy.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for i, output in enumerate(outputs):
        ours = batch["input_ids"][i][batch["attention_mask"][i].bool()].tolist()
        assert ours.count(image_pad) > 1  # the image's placeholder, expanded to its patches
        assert list(output.prompt_token_ids) == ours
    assert len({len(o.prompt_token_ids) for o in outputs}) > 1  # prompts of different lengths (padding is ours)


def test_generation_with_images_is_scored_by_the_policy(policy, engine):
    prompts = numberline_prompts(policy, range(4))
    batch = policy.encode(prompts)
    sampling = Sampling(max_new_tokens=12)
    generation = engine.generate(prompts, batch, sampling)
    assert generation.tokens.shape[0] == 4 and generation.values.shape == (4,)
    assert all(isinstance(text, str) for text in generation.texts)
    policy.eval()
    with torch.no_grad():
        ours, values = policy(batch, generation.tokens, generation.mask, sampling)
        other_images = policy.encode([Prompt(p.text, [255 - p.images[0]]) for p in prompts])
        without_the_image, _ = policy(other_images, generation.tokens, generation.mask, sampling)
    mask = generation.mask
    assert torch.equal(generation.log_probs[mask], ours[mask]) and torch.allclose(generation.values, values)
    mae = engine.metrics()["engine_logprob_mae"]
    assert mae < MAE_BOUND
    # The comparison sees the image: scored against other images, the same answers are far off.
    assert (without_the_image - ours)[mask].abs().mean() > 100 * max(mae, 1e-7)


@pytest.mark.parametrize("options", [{}, {"temperature": 0.7, "top_p": 0.9, "top_k": 20}, {"do_sample": False}],
                         ids=["plain", "truncated", "greedy"])
def test_engine_logprobs_agree_with_the_policy(policy, engine, options):
    prompts = numberline_prompts(policy, range(8))
    engine.metrics()  # reset the counters
    generation = engine.generate(prompts, policy.encode(prompts), Sampling(max_new_tokens=16, **options))
    metrics = engine.metrics()
    print(options, metrics)
    assert int(generation.mask.sum()) > 8
    assert metrics["engine_logprob_mae"] < MAE_BOUND
    assert 0 <= metrics["engine_logprob_k3"] < MAE_BOUND


def test_a_seeded_request_gets_the_same_answer_in_any_batch(policy, engine):
    """rollout.sampling_streams per_step: the collector's seed decides a request's answer, not its batch."""
    prompts = numberline_prompts(policy, range(4))
    sampling = Sampling(max_new_tokens=12)
    seeds = [101, 202, 303, 404]
    together, _ = engine.sample(prompts, sampling, seeds)
    halves = engine.sample(prompts[:2], sampling, seeds[:2])[0] + engine.sample(prompts[2:], sampling, seeds[2:])[0]
    assert together == halves
    reseeded, _ = engine.sample(prompts, sampling, [102, 202, 303, 404])
    assert reseeded[0] != together[0] and reseeded[1:] == together[1:]
    assert len({tuple(a) for a in together}) > 1


def test_the_engine_follows_each_adapter_update(policy, engine):
    prompts = numberline_prompts(policy, range(6))
    batch = policy.encode(prompts)
    greedy = Sampling(do_sample=False, max_new_tokens=10)

    def ours():
        generation = policy.generate(batch, greedy)
        return answers(generation.tokens, generation.mask)

    def engines():
        return engine.sample(prompts, greedy)[0]

    def optimizer_step(lr: float) -> None:
        target = policy.processor.tokenizer('{"thoughts": "", "action": "+"}', return_tensors="pt").input_ids
        tokens = target.repeat(len(prompts), 1)
        optimizer = torch.optim.Adam([p for p in policy.model.parameters() if p.requires_grad], lr=lr)
        log_probs, _ = policy(batch, tokens, torch.ones_like(tokens, dtype=torch.bool), greedy, with_values=False)
        (-log_probs.mean()).backward()
        optimizer.step()
        optimizer.zero_grad()

    version = engine.version
    before = ours()
    assert engines() == before
    optimizer_step(lr=0.0)  # a step that changes nothing: neither answer moves
    engine.sync(policy, version + 1)
    assert ours() == before and engines() == before
    old_adapter = engine.lora_request.lora_path
    optimizer_step(lr=0.05)
    after = ours()
    assert after != before
    assert engines() == before  # not synced yet: the engine still has the old adapter
    engine.sync(policy, version + 2)
    assert engines() == after
    assert engine.version == version + 2 and engine.lora_request.lora_int_id == version + 3
    assert not Path(old_adapter).exists()  # the previous version is dropped
