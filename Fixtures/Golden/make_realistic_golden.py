#!/usr/bin/env python3
"""A realistic-width Qwen3-VL text golden whose weights are not stored but generated.

The 2B model's text widths (hidden 2048, intermediate 6144, 16 heads, 8 KV heads, head_dim 128,
mrope [24, 20, 20]) with one decoder layer and a reduced vocabulary of 4096 rows (prompts are fed
as token ids, so no tokenizer is involved). Stored, those weights would be ~100 MB; instead every
weight comes from SplitMix64, which the Swift test reimplements:

    element i of the whole parameter stream (tensors in the order of WEIGHT_ORDER, row-major),
    z = seed + (i + 1) * 0x9E3779B97F4A7C15 (mod 2^64), then the SplitMix64 finaliser;
    u = (z >> 40) / 2^24 in [0, 1);  v = 2u - 1 in [-1, 1)
    norm weights: 1 + 0.1 v;  embedding: 0.2 v;  linear weights: 0.04 v   (computed in float64, stored as float32)

Writes realistic/config.json and realistic/golden.json with logits-N.f32 (float32, little-endian).
Run with the venv of README.md: /tmp/golden-venv/bin/python Fixtures/Golden/make_realistic_golden.py
"""
import json
import os

import numpy as np
import torch
import transformers
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "realistic")
SEED = 2026
VOCAB, HIDDEN, INTER, HEADS, KV, HEAD_DIM, LAYERS = 4096, 2048, 6144, 16, 8, 128, 1
PROMPTS = [[17, 42, 1001, 7, 3999], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]]
NEW_TOKENS = 8

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix(start: int, count: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        i = np.arange(start + 1, start + count + 1, dtype=np.uint64)
        z = np.uint64(SEED) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return 2.0 * u - 1.0


def weight_order():
    p = "model.language_model."
    order = [(p + "embed_tokens.weight", (VOCAB, HIDDEN), "embedding")]
    for layer in range(LAYERS):
        q = f"{p}layers.{layer}."
        order += [
            (q + "input_layernorm.weight", (HIDDEN,), "norm"),
            (q + "post_attention_layernorm.weight", (HIDDEN,), "norm"),
            (q + "self_attn.q_norm.weight", (HEAD_DIM,), "norm"),
            (q + "self_attn.k_norm.weight", (HEAD_DIM,), "norm"),
            (q + "self_attn.q_proj.weight", (HEADS * HEAD_DIM, HIDDEN), "linear"),
            (q + "self_attn.k_proj.weight", (KV * HEAD_DIM, HIDDEN), "linear"),
            (q + "self_attn.v_proj.weight", (KV * HEAD_DIM, HIDDEN), "linear"),
            (q + "self_attn.o_proj.weight", (HIDDEN, HEADS * HEAD_DIM), "linear"),
            (q + "mlp.gate_proj.weight", (INTER, HIDDEN), "linear"),
            (q + "mlp.up_proj.weight", (INTER, HIDDEN), "linear"),
            (q + "mlp.down_proj.weight", (HIDDEN, INTER), "linear"),
        ]
    order.append((p + "norm.weight", (HIDDEN,), "norm"))
    return order


def main():
    config = Qwen3VLConfig(
        text_config=dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTER, num_hidden_layers=LAYERS,
                         num_attention_heads=HEADS, num_key_value_heads=KV, head_dim=HEAD_DIM, hidden_act="silu",
                         max_position_embeddings=262144, rms_norm_eps=1e-6, attention_bias=False,
                         rope_parameters=dict(rope_type="default", rope_theta=5000000.0, mrope_section=[24, 20, 20],
                                              mrope_interleaved=True),
                         tie_word_embeddings=True),
        vision_config=dict(depth=1, hidden_size=32, hidden_act="gelu_pytorch_tanh", intermediate_size=64, num_heads=2,
                           in_channels=3, patch_size=16, spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=HIDDEN,
                           num_position_embeddings=64, deepstack_visual_indexes=[0]),
        image_token_id=151655, video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653,
        tie_word_embeddings=True)
    model = Qwen3VLForConditionalGeneration(config).to(torch.float32).eval()
    params = dict(model.named_parameters())
    offset = 0
    with torch.no_grad():
        for name, shape, kind in weight_order():
            count = int(np.prod(shape))
            v = splitmix(offset, count)
            offset += count
            values = {"norm": 1.0 + 0.1 * v, "embedding": 0.2 * v, "linear": 0.04 * v}[kind]
            params[name].copy_(torch.from_numpy(values.astype(np.float32).reshape(shape)))
    os.makedirs(OUT, exist_ok=True)
    config.save_pretrained(OUT)
    golden = dict(seed=SEED, transformers_version=transformers.__version__, torch_version=torch.__version__,
                  weight_order=[name for name, _, _ in weight_order()], prompts=[])
    with torch.no_grad():
        for n, ids in enumerate(PROMPTS):
            out = model(input_ids=torch.tensor([ids]), use_cache=False)
            out.logits[0, -1].to(torch.float32).numpy().astype("<f4").tofile(os.path.join(OUT, f"logits-{n}.f32"))
            generated = model.generate(input_ids=torch.tensor([ids]), do_sample=False, max_new_tokens=NEW_TOKENS,
                                       min_new_tokens=NEW_TOKENS, pad_token_id=0)
            golden["prompts"].append(dict(input_ids=ids, logits_last_file=f"logits-{n}.f32",
                                          greedy_new_ids=generated[0, len(ids):].tolist()))
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)


if __name__ == "__main__":
    main()
