"""Tiny vision-language models built offline, for tests and the CPU quickstart.

A tiny model is a real Hugging Face architecture (Qwen2.5-VL or Idefics3, the SmolVLM architecture) with a
small config, a byte-level BPE tokenizer trained in a fraction of a second on text that looks like vlgym
prompts, a processor and a chat template. :func:`build_tiny_vlm` saves all of it with ``save_pretrained``, so
the policy loads it back through ``AutoProcessor`` / ``AutoModelForImageTextToText`` exactly like a real
checkpoint: the code path under test is the one real models go through.

Two details decide whether a tiny model behaves like a real one:

- the tokenizer is trained with the same normaliser and pre-tokeniser that ``Qwen2Tokenizer`` rebuilds on
  load (transformers 5 keeps only vocab and merges), so the saved tokenizer is the one that loads back;
- its generation config mirrors the real Qwen2.5-VL-Instruct one (near-greedy ``top_k=1``), so a trainer that
  forgets to pass its own sampling parameters is caught by tests instead of silently training greedily.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Literal

from vlgym.prompts import ANSWER_FORMAT, SYSTEM_PROMPT

Arch = Literal["qwen2_5_vl", "idefics3", "qwen2_5_vl_vllm"]
ARCHS: tuple[str, ...] = ("qwen2_5_vl", "idefics3", "qwen2_5_vl_vllm")
#: The tiny Qwen2.5-VL that vLLM's CPU kernels load: they need an attention head size of 64 (``qwen2_5_vl`` has 16).
VLLM_ARCH = "qwen2_5_vl_vllm"

BPE_VOCAB_SIZE = 4096

QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                 "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                 "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]
IDEFICS_SPECIALS = (["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<image>",
                     "<global-img>"] + [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)])

# Qwen2-VL's chat template structure, written out for the tiny model: a default system turn, one
# <|vision_start|><|image_pad|><|vision_end|> per image item, and "<|im_start|>assistant\n" to generate.
QWEN_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Idefics3's structure: "Role: <image>text<end_of_utterance>\n", generation starts after "Assistant:".
IDEFICS_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<image>{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def _corpus() -> list[str]:
    """Text like vlgym prompts and answers, plus deterministic pseudo-words so BPE learns enough merges."""
    # Fixed text only (nothing read from the registry), so the same seed always gives the same tokenizer.
    texts = [SYSTEM_PROMPT, ANSWER_FORMAT, "You are a helpful assistant.", "system", "user", "assistant"]
    texts += ['{"thoughts": "The current number is below the target, so I add one.", "action": "+"}',
              '{"thoughts": "The current number is above the target, so I subtract one.", "action": "-"}',
              "Task: Move the current number to the target number on the number line from 0 to 5.",
              "Current state: Target: 3. Current: 1. Available actions: '-', '+'",
              "move forward turn left turn right go to countertop 1 take apple 1 from fridge 1 search click buy now",
              "0 1 2 3 4 5 6 7 8 9 10 11 12 24 + - * / ( ) = hit stand"]
    rng = random.Random(1234)
    letters = "abcdefghijklmnopqrstuvwxyz"
    texts += [" ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(10))
              for _ in range(400)]
    return texts


def _train_bpe(specials: list[str]):
    """A byte-level BPE with Qwen2's pipeline; every byte is in the alphabet, so nothing is ever unknown."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tokenizer = Tokenizer(models.BPE(unk_token=None, continuing_subword_prefix="", end_of_word_suffix="",
                                     fuse_unk=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB_SIZE - len(specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_corpus(), trainer)
    tokenizer.add_special_tokens(specials)
    return tokenizer


def _qwen_tokenizer():
    import json

    from transformers import Qwen2Tokenizer

    bpe = _train_bpe(QWEN_SPECIALS)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    vocab = dict(model["vocab"])
    for token in QWEN_SPECIALS:
        vocab[token] = bpe.token_to_id(token)
    return Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None, eos_token="<|im_end|>",
                          pad_token="<|endoftext|>", extra_special_tokens=QWEN_SPECIALS[1:2] + QWEN_SPECIALS[3:],
                          padding_side="left", model_max_length=32768, clean_up_tokenization_spaces=False,
                          errors="replace", split_special_tokens=False)


def qwen2_5_vl_parts(image_side: int, *, text: dict | None = None, vision: dict | None = None):
    """Qwen2.5-VL: the tiny sizes below, with ``text`` / ``vision`` config entries overriding them."""
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = _qwen_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    pixels = {"shortest_edge": 56 * 56, "longest_edge": image_side * image_side}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=pixels, patch_size=14, temporal_patch_size=2, merge_size=2),
        video_processor=Qwen2VLVideoProcessor(size=pixels, patch_size=14, temporal_patch_size=2, merge_size=2),
        tokenizer=tokenizer, chat_template=QWEN_TEMPLATE)
    text_config = dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                       rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
                       bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                       pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=False) | (text or {})
    vision_config = dict(depth=2, hidden_size=64, intermediate_size=128, num_heads=2, patch_size=14,
                         spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[1],
                         out_hidden_size=text_config["hidden_size"], tokens_per_second=2) | (vision or {})
    config = Qwen2_5_VLConfig(
        text_config=text_config, vision_config=vision_config,
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=text_config["tie_word_embeddings"])
    return Qwen2_5_VLForConditionalGeneration(config), processor, [ids["<|im_end|>"], ids["<|endoftext|>"]]


def _build_idefics3(image_side: int):
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
        PreTrainedTokenizerFast,
    )

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=_train_bpe(IDEFICS_SPECIALS), bos_token="<|im_start|>",
                                        eos_token="<end_of_utterance>", pad_token="<|endoftext|>",
                                        padding_side="left", model_max_length=32768)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in IDEFICS_SPECIALS}
    processor = Idefics3Processor(
        image_processor=Idefics3ImageProcessor(size={"longest_edge": 2 * image_side},
                                               max_image_size={"longest_edge": image_side},
                                               do_image_splitting=False),
        tokenizer=tokenizer, image_seq_len=4, chat_template=IDEFICS_TEMPLATE)
    config = Idefics3Config(
        text_config=dict(model_type="llama", vocab_size=len(tokenizer), hidden_size=64, intermediate_size=256,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, bos_token_id=ids["<|im_start|>"],
                         eos_token_id=ids["<end_of_utterance>"], pad_token_id=ids["<|endoftext|>"],
                         tie_word_embeddings=False),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                           image_size=image_side, patch_size=image_side // 4),
        scale_factor=2, image_token_id=ids["<image>"], tie_word_embeddings=False)
    return Idefics3ForConditionalGeneration(config), processor, [ids["<end_of_utterance>"], ids["<|endoftext|>"]]


def _build_qwen2_5_vl_vllm(image_side: int):
    """Head size 64 in the LM (hidden 256, 4 heads) and in the vision tower (128 wide, 2 heads)."""
    rope = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [8, 12, 12]}  # sums to head size / 2
    return qwen2_5_vl_parts(image_side, text={"hidden_size": 256, "intermediate_size": 1024, "rope_parameters": rope},
                             vision={"hidden_size": 128, "intermediate_size": 256, "out_hidden_size": 256})


BUILDERS = {"qwen2_5_vl": qwen2_5_vl_parts, "idefics3": _build_idefics3, VLLM_ARCH: _build_qwen2_5_vl_vllm}


def build_tiny_vlm(path: str | Path, arch: Arch = "qwen2_5_vl", *, seed: int = 0, image_side: int = 112) -> Path:
    """Build a randomly initialised tiny VLM of ``arch`` and save model + processor to ``path``.

    ``image_side`` bounds the picture the processor feeds the vision tower (112 px: 16 visual tokens for
    Qwen2.5-VL, 4 for Idefics3). The result loads with ``AutoModelForImageTextToText.from_pretrained(path)``.
    """
    import torch
    from transformers import GenerationConfig

    if arch not in BUILDERS:
        raise ValueError(f"unknown tiny architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    torch.manual_seed(seed)
    model, processor, eos_ids = BUILDERS[arch](image_side)
    # Mirror the real Qwen2.5-VL-Instruct generation defaults (near-greedy), see the module docstring.
    model.generation_config = GenerationConfig(do_sample=True, temperature=0.1, top_p=0.001, top_k=1,
                                               repetition_penalty=1.05, eos_token_id=eos_ids,
                                               pad_token_id=processor.tokenizer.pad_token_id)
    path = Path(path)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
