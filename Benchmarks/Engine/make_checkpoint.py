#!/usr/bin/env python3
"""A full-size Qwen3-VL-2B-Thinking checkpoint with random weights, for timing and memory.

No real weights can be downloaded here, but speed and memory depend only on the shapes. This builds
`Qwen3VLForConditionalGeneration` from the 2B configuration (docs: qwen3vl-spec.md §1: text 2048 wide,
28 layers; vision 1024 wide, 24 blocks, DeepStack after blocks 5, 11, 17), initialises it the way
transformers does (normal, std = initializer_range), and saves it in BF16 like the release
(`save_pretrained`: transformers' own tensor names and file layout, ~4.3 GB). The folder also gets the
Thinking chat template, the release preprocessor and generation settings.

    /tmp/golden-venv/bin/python Benchmarks/Engine/make_checkpoint.py OUT_DIR [--seed 2026]
"""
import argparse
import json
import os
import shutil

import torch
import transformers
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

TEXT_2B = dict(
    hidden_size=2048, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8, head_dim=128,
    intermediate_size=6144, vocab_size=151936, rms_norm_eps=1e-6, max_position_embeddings=262144,
    hidden_act="silu", attention_bias=False, tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645,
    rope_parameters={"rope_type": "default", "rope_theta": 5000000.0, "mrope_section": [24, 20, 20], "mrope_interleaved": True},
)
VISION_2B = dict(
    depth=24, hidden_size=1024, num_heads=16, intermediate_size=4096, hidden_act="gelu_pytorch_tanh", in_channels=3,
    patch_size=16, temporal_patch_size=2, spatial_merge_size=2, out_hidden_size=2048, num_position_embeddings=2304,
    deepstack_visual_indexes=[5, 11, 17],
)
PREPROCESSOR = {
    "size": {"longest_edge": 16777216, "shortest_edge": 65536}, "patch_size": 16, "temporal_patch_size": 2,
    "merge_size": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
    "processor_class": "Qwen3VLProcessor", "image_processor_type": "Qwen2VLImageProcessorFast",
}
GENERATION = {
    "bos_token_id": 151643, "pad_token_id": 151643, "do_sample": True, "eos_token_id": [151645, 151643],
    "top_k": 20, "top_p": 0.95, "temperature": 0.6,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    config = Qwen3VLConfig(text_config=TEXT_2B, vision_config=VISION_2B, tie_word_embeddings=True,
                           image_token_id=151655, video_token_id=151656,
                           vision_start_token_id=151652, vision_end_token_id=151653)
    model = Qwen3VLForConditionalGeneration(config).to(torch.bfloat16).eval()
    count = sum(p.numel() for p in model.parameters())
    model.save_pretrained(args.out, max_shard_size="8GB")
    for name, content in [("preprocessor_config.json", PREPROCESSOR), ("generation_config.json", GENERATION)]:
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(content, f, indent=2)
    shutil.copy(os.path.join(REPO, "Fixtures/Golden/tiny-tied/chat_template.jinja"), args.out)
    print(f"{args.out}: {count / 1e9:.2f} B parameters, transformers {transformers.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
