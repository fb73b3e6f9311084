"""Real-size architectures built from their configs (the throughput benchmark's --arch): the right size, offline."""

import pytest
import torch

from vlgym_agents.policy.sized import SIZES, build_sized_vlm
from vlgym_agents.policy.tiny import qwen2_5_vl_parts


@pytest.mark.parametrize(("arch", "billions", "vocab"),
                         [("qwen2.5-vl-3b", 3.75, 151936), ("qwen2.5-vl-7b", 8.29, 152064)])
def test_real_size_architectures_have_the_published_size(arch, billions, vocab):
    with torch.device("meta"):  # shapes only: no memory, no time
        model, processor, _ = qwen2_5_vl_parts(112, **SIZES[arch])
    assert sum(p.numel() for p in model.parameters()) / 1e9 == pytest.approx(billions, rel=0.01)
    assert model.get_output_embeddings().weight.shape[0] == vocab
    assert len(processor.tokenizer) < vocab  # the tiny tokenizer: answers from random weights run to the cap


def test_the_tiny_size_builds_and_loads(tmp_path):
    from transformers import AutoModelForImageTextToText

    path = build_sized_vlm(tmp_path / "m", "tiny", dtype="float32")
    config = AutoModelForImageTextToText.from_pretrained(path).config.get_text_config()
    assert config.hidden_size // config.num_attention_heads == 64
