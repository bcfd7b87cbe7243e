#!/usr/bin/env python3
"""Build tiny random-weight Qwen3-VL checkpoints and record what HF transformers computes.

Developer tool; CI never runs it. See README.md in this folder for the exact commands.

For each model folder (tiny-tied/, tiny-untied/) it writes:
  config.json, generation_config.json, model.safetensors (bfloat16)  -- via save_pretrained
  golden.json, logits-N.f32                                          -- goldens (float32, little-endian)

The goldens are computed from the checkpoint *reloaded from disk* as float32, so Swift and torch
see bit-identical (bf16-rounded) weights.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer, GenerationConfig, Qwen3VLConfig, Qwen3VLForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER_DIR = os.path.normpath(os.path.join(HERE, "..", "QwenTokenizer"))
SEED = 0
MAX_NEW_TOKENS = 12
LINEAR_STD = float(os.environ.get("GOLDEN_LINEAR_STD", "0.3"))

PROMPT_TEXTS = [
    "Hello, world!",
    "<|im_start|>user\nClick the Log out button at (912, 40).<|im_end|>\n<|im_start|>assistant\n<think>\n",
    # Truncated/padded to exactly 40 tokens below.
    "The quick brown fox jumps over the lazy dog. In 2024, Qwen3-VL models could read screenshots, "
    "find buttons such as \"Submit\" or \"Cancel\", and answer in JSON: {\"x\": 512, \"y\": 384}. "
    "Ünïcödé, 中文, and emoji 🙂 are tokenized byte-level.",
]
LONG_LEN = 40


def make_config(tied: bool, layers: int, hidden: int) -> Qwen3VLConfig:
    text = dict(
        vocab_size=151936,
        hidden_size=hidden,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        hidden_act="silu",
        max_position_embeddings=262144,
        rms_norm_eps=1e-6,
        attention_bias=False,
        attention_dropout=0.0,
        rope_parameters=dict(
            rope_type="default",
            rope_theta=5000000.0,
            mrope_section=[4, 2, 2],  # sums to head_dim/2 = 8
            mrope_interleaved=True,
        ),
        bos_token_id=151643,
        eos_token_id=151645,
        tie_word_embeddings=tied,
    )
    vision = dict(
        depth=2,
        hidden_size=32,
        hidden_act="gelu_pytorch_tanh",
        intermediate_size=64,
        num_heads=2,
        in_channels=3,
        patch_size=16,
        spatial_merge_size=2,
        temporal_patch_size=2,
        out_hidden_size=hidden,  # = text hidden_size
        num_position_embeddings=64,  # 8x8 grid
        deepstack_visual_indexes=[0],
    )
    return Qwen3VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=151655,
        video_token_id=151656,
        vision_start_token_id=151652,
        vision_end_token_id=151653,
        tie_word_embeddings=tied,
    )


@torch.no_grad()
def randomize(model: torch.nn.Module, gen: torch.Generator):
    """Deterministic init so that logits vary by O(1) even at width 32.

    - norm weights (RMSNorm incl. q_norm/k_norm, LayerNorm weights): 1 + 0.1*N(0,1)
    - embeddings / lm_head: N(0, 0.2^2)   (logit std ~ sqrt(32)*0.2 ~ 1.1)
    - biases: N(0, 0.02^2)
    - every other weight: N(0, 0.3^2)  (large enough that greedy decoding is not a fixed point)
    Parameters are visited in named_parameters() order (deterministic). Tied lm_head is skipped
    (it is the same tensor as embed_tokens).
    """
    seen = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
        if "norm" in name and p.dim() == 1 and name.endswith("weight"):
            p.copy_(1.0 + 0.1 * noise)
        elif name.endswith("bias"):
            p.copy_(0.02 * noise)
        elif "embed_tokens" in name or name.startswith("lm_head"):
            p.copy_(0.2 * noise)
        else:
            p.copy_(LINEAR_STD * noise)


def write_f32(path: str, t: torch.Tensor):
    arr = t.detach().to(torch.float32).contiguous().numpy().astype("<f4", copy=False)
    arr.tofile(path)


def floats(t: torch.Tensor):
    # Python floats are float64; repr of a float32 converted to float64 round-trips exactly.
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def load_tokenizer():
    tok = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    return tok


def prompt_ids(tok):
    out = []
    for i, text in enumerate(PROMPT_TEXTS):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        if i == 2:
            assert len(ids) >= LONG_LEN, len(ids)
            ids = ids[:LONG_LEN]
        out.append(ids)
    return out


@torch.no_grad()
def compute_goldens(folder: str, model_name: str, prompts, texts):
    model = Qwen3VLForConditionalGeneration.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    cfg = model.config
    lm = model.model.language_model

    # Own hooks: raw output of every decoder layer and of the final norm (unambiguous).
    captured = {}

    def hook(name):
        def f(_m, _inp, out):
            captured[name] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        return f

    handles = [layer.register_forward_hook(hook(f"layer{i}")) for i, layer in enumerate(lm.layers)]
    handles.append(lm.norm.register_forward_hook(hook("norm")))
    handles.append(lm.embed_tokens.register_forward_hook(hook("embed")))

    result = dict(
        model=model_name,
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
        seed=SEED,
        dtype_weights_on_disk="bfloat16",
        dtype_compute="float32",
        vocab_size=cfg.text_config.vocab_size,
        prompts=[],
    )
    sane = {}
    for n, ids in enumerate(prompts):
        input_ids = torch.tensor([ids], dtype=torch.long)
        seq = len(ids)
        captured.clear()
        out = model(input_ids=input_ids, output_hidden_states=True, use_cache=False)
        logits = out.logits[0]  # [seq, vocab]
        last = logits[-1]

        # Cross-check: explicit 3-stream position ids (all equal to 0..n-1) give the same logits.
        pos = torch.arange(seq, dtype=torch.long).view(1, 1, seq).expand(3, 1, seq)
        out2 = model(input_ids=input_ids, position_ids=pos, use_cache=False)
        pos_diff = (out2.logits[0] - logits).abs().max().item()
        assert pos_diff == 0.0 or pos_diff < 1e-5, pos_diff

        write_f32(os.path.join(folder, f"logits-{n}.f32"), last)
        entry = dict(
            index=n,
            text=texts[n],
            input_ids=ids,
            seq_len=seq,
            position_ids=[list(range(seq))] * 3,  # [t, h, w] streams; text-only => identical
            logits_last_file=f"logits-{n}.f32",
            logits_last_shape=[cfg.text_config.vocab_size],
            logits_last_first8=floats(last[:8]),
            logits_last_argmax=int(last.argmax().item()),
            logits_last_max=float(last.max().item()),
            logits_last_min=float(last.min().item()),
            logits_last_mean=float(last.mean().item()),
            logits_last_std=float(last.std().item()),
            logits_last_sum=float(last.double().sum().item()),
        )
        if n == 0:
            hs = out.hidden_states
            entry["hidden_states_last_pos"] = [floats(h[0, -1]) for h in hs]
            entry["hidden_states_note"] = (
                "HF output_hidden_states as returned by transformers %s: len = %d. "
                "See also embedding_last_pos / layer_outputs_last_pos / final_norm_last_pos, "
                "recorded with forward hooks, and hidden_states_match." % (transformers.__version__, len(hs))
            )
            entry["embedding_last_pos"] = floats(captured["embed"][0, -1])
            entry["layer_outputs_last_pos"] = [
                floats(captured[f"layer{i}"][0, -1]) for i in range(len(lm.layers))
            ]
            entry["final_norm_last_pos"] = floats(captured["norm"][0, -1])
            # Describe what each HF hidden_states entry equals.
            refs = [("embedding", captured["embed"])] + [
                (f"layer{i}_output", captured[f"layer{i}"]) for i in range(len(lm.layers))
            ] + [("final_norm", captured["norm"])]
            match = []
            for h in hs:
                m = [nm for nm, r in refs if torch.equal(h[0, -1], r[0, -1])]
                match.append(m)
            entry["hidden_states_match"] = match

        # Greedy continuation through HF generate (uses the KV cache) ...
        gen = model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=False,
            max_new_tokens=MAX_NEW_TOKENS,
            min_new_tokens=MAX_NEW_TOKENS,
            pad_token_id=151643,
        )
        greedy = gen[0, seq:].tolist()
        # ... cross-checked with a no-cache argmax loop (full recompute every step).
        cur = list(ids)
        manual = []
        margins = []
        for _ in range(MAX_NEW_TOKENS):
            lg = model(input_ids=torch.tensor([cur]), use_cache=False).logits[0, -1]
            t = int(lg.argmax().item())
            top2 = lg.topk(2).values
            margins.append(float((top2[0] - top2[1]).item()))
            manual.append(t)
            cur.append(t)
        entry["greedy_new_ids"] = greedy
        entry["greedy_matches_nocache_loop"] = greedy == manual
        entry["greedy_top1_minus_top2"] = margins
        if greedy != manual:
            entry["greedy_nocache_loop_ids"] = manual
        entry["greedy_note"] = (
            "generate(do_sample=False, max_new_tokens=%d, min_new_tokens=%d): min_new_tokens "
            "suppresses eos (151645) and <|endoftext|> (151643) for these 12 steps so the sequence "
            "always has exactly 12 ids." % (MAX_NEW_TOKENS, MAX_NEW_TOKENS)
        )
        result["prompts"].append(entry)
        sane[n] = dict(std=entry["logits_last_std"], max=entry["logits_last_max"],
                       min=entry["logits_last_min"], greedy=greedy,
                       match=greedy == manual, margin=min(margins), first8=entry["logits_last_first8"])

    for h in handles:
        h.remove()
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump(result, f, indent=1)
    return sane


def build(folder: str, tied: bool, layers: int, hidden: int):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    cfg = make_config(tied, layers, hidden)
    model = Qwen3VLForConditionalGeneration(cfg).to(torch.float32)
    randomize(model, gen)
    if tied:
        assert model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()
    model.eval()
    os.makedirs(folder, exist_ok=True)
    for fn in os.listdir(folder):
        if fn != ".gitkeep":
            os.remove(os.path.join(folder, fn))
    model.to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    gc = GenerationConfig(
        bos_token_id=151643,
        pad_token_id=151643,
        eos_token_id=[151645, 151643],
        do_sample=False,
    )
    gc.save_pretrained(folder)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=HERE, help="output root (default: this folder)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    tok = load_tokenizer()
    prompts = prompt_ids(tok)
    texts = [tok.decode(p) for p in prompts]
    for n, (p, t) in enumerate(zip(prompts, texts)):
        print(f"prompt {n}: {len(p)} ids: {p}")
    # The untied model is narrower: its second vocab-sized matrix would double the file.
    specs = [("tiny-tied", True, 2, 32), ("tiny-untied", False, 3, 16)]
    for name, tied, layers, hidden in specs:
        folder = os.path.join(args.out, name)
        build(folder, tied, layers, hidden)
        sane = compute_goldens(folder, name, prompts, texts)
        print(f"== {name}")
        for n, s in sane.items():
            print(f"  prompt {n}: logits std {s['std']:.4f} min {s['min']:.4f} max {s['max']:.4f} "
                  f"greedy {s['greedy']} cache==nocache {s['match']} min top1-top2 {s['margin']:.2e}")
            if n == 0:
                print(f"  first8: {s['first8']}")
        for fn in sorted(os.listdir(folder)):
            print(f"  {fn:24s} {os.path.getsize(os.path.join(folder, fn)):>10d}")


if __name__ == "__main__":
    main()
