"""Real-size Qwen2.5-VL architectures with random weights, built offline: generation throughput needs no trained
weights, so a benchmark on a GPU runs without downloads.

The hyperparameters are those of the published Qwen2.5-VL-3B/7B-Instruct configs (vocabulary size included); the
tokenizer, processor and chat template are the tiny model's (:mod:`vlgym_agents.policy.tiny`), so prompts are
short and answers, from random weights, almost never end before the answer-length cap: every answer has the same
length, which is what a throughput comparison wants.

>>> sorted(SIZES)
['qwen2.5-vl-3b', 'qwen2.5-vl-7b', 'tiny']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlgym_agents.policy.tiny import VLLM_ARCH, build_tiny_vlm, qwen2_5_vl_parts

_VISION = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, window_size=112,
               fullatt_block_indexes=[7, 15, 23, 31])
_ROPE = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}

#: ``{"text": ..., "vision": ...}`` config entries per architecture; ``tiny`` is the vLLM-sized tiny model.
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "qwen2.5-vl-3b": {
        "text": dict(vocab_size=151936, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                     num_attention_heads=16, num_key_value_heads=2, max_position_embeddings=128000,
                     rope_parameters=_ROPE, tie_word_embeddings=True),
        "vision": {**_VISION, "out_hidden_size": 2048}},
    "qwen2.5-vl-7b": {
        "text": dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                     num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=128000,
                     rope_parameters=_ROPE, tie_word_embeddings=False),
        "vision": {**_VISION, "out_hidden_size": 3584}},
    "tiny": {},
}


def build_sized_vlm(path: str | Path, arch: str, *, dtype: str = "bfloat16", device: str = "cpu",
                    seed: int = 0) -> Path:
    """Build ``arch`` (a key of :data:`SIZES`) with random weights in ``dtype`` on ``device``; save it to ``path``."""
    import torch
    from transformers import GenerationConfig

    if arch not in SIZES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(sorted(SIZES))}")
    if arch == "tiny":
        return build_tiny_vlm(path, VLLM_ARCH, seed=seed)
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            model, processor, eos_ids = qwen2_5_vl_parts(112, **SIZES[arch])
    finally:
        torch.set_default_dtype(previous)
    model.generation_config = GenerationConfig(eos_token_id=eos_ids, pad_token_id=processor.tokenizer.pad_token_id)
    path = Path(path)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
