"""Tiny random Qwen3-VL checkpoints, built and saved by HuggingFace itself.

Two shapes that exercise different code paths of a runtime:
  tiny-tied   fp32 on disk, tied lm_head, head_dim 32 != hidden/heads (like the 4B),
              48x48 position table (2304 rows, as released), vision depth 5.
  tiny-untied bf16 on disk, separate lm_head.weight, head_dim == hidden/heads,
              12x12 position table (144 rows: images larger than the table upsample it),
              vision depth 6.
Both: GQA 4/2, interleaved M-RoPE with mrope_section summing to head_dim/2, three
deepstack levels, real patch 16 / temporal 2 / merge 2.
"""

import torch

from tokenizer_build import BPE_VOCAB_SIZE, PLAIN_ADDED_TOKENS, SPECIAL_TOKENS, special_id

# Embedding rows exceed the tokenizer's ids, as in the released files (151936 > 151669).
VOCAB_ROWS = BPE_VOCAB_SIZE + 128

CHECKPOINTS = {
    "tiny-tied": {
        "seed": 1234,
        "dtype": torch.float32,
        "tie": True,
        "text": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
                     num_key_value_heads=2, head_dim=32, mrope_section=[6, 5, 5]),
        "vision": dict(depth=5, hidden_size=32, intermediate_size=96, num_heads=2,
                       num_position_embeddings=2304, deepstack_visual_indexes=[1, 2, 3]),
        "max_shard_size": "400KB",
    },
    "tiny-untied": {
        "seed": 4321,
        "dtype": torch.bfloat16,
        "tie": False,
        "text": dict(hidden_size=96, intermediate_size=192, num_hidden_layers=3, num_attention_heads=4,
                     num_key_value_heads=2, head_dim=24, mrope_section=[4, 4, 4]),
        "vision": dict(depth=6, hidden_size=48, intermediate_size=96, num_heads=3,
                       num_position_embeddings=144, deepstack_visual_indexes=[0, 2, 4]),
        "max_shard_size": "800KB",
    },
}


def make_config(spec):
    from transformers import Qwen3VLConfig

    t, v = spec["text"], spec["vision"]
    text_config = dict(
        vocab_size=VOCAB_ROWS,
        hidden_size=t["hidden_size"],
        intermediate_size=t["intermediate_size"],
        num_hidden_layers=t["num_hidden_layers"],
        num_attention_heads=t["num_attention_heads"],
        num_key_value_heads=t["num_key_value_heads"],
        head_dim=t["head_dim"],
        hidden_act="silu",
        max_position_embeddings=262144,
        rms_norm_eps=1e-6,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 5000000.0,
            "mrope_section": t["mrope_section"],
            "mrope_interleaved": True,
        },
        attention_bias=False,
        attention_dropout=0.0,
        initializer_range=0.05,
        bos_token_id=special_id("<|endoftext|>"),
        eos_token_id=special_id("<|im_end|>"),
        tie_word_embeddings=spec["tie"],
        dtype="float32" if spec["dtype"] == torch.float32 else "bfloat16",
    )
    vision_config = dict(
        depth=v["depth"],
        hidden_size=v["hidden_size"],
        intermediate_size=v["intermediate_size"],
        num_heads=v["num_heads"],
        hidden_act="gelu_pytorch_tanh",
        in_channels=3,
        patch_size=16,
        temporal_patch_size=2,
        spatial_merge_size=2,
        out_hidden_size=t["hidden_size"],
        num_position_embeddings=v["num_position_embeddings"],
        deepstack_visual_indexes=v["deepstack_visual_indexes"],
        initializer_range=0.05,
    )
    config = Qwen3VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=special_id("<|image_pad|>"),
        video_token_id=special_id("<|video_pad|>"),
        vision_start_token_id=special_id("<|vision_start|>"),
        vision_end_token_id=special_id("<|vision_end|>"),
        tie_word_embeddings=spec["tie"],
    )
    config.architectures = ["Qwen3VLForConditionalGeneration"]
    config.dtype = text_config["dtype"]
    return config


@torch.no_grad()
def perturb_affine_params(model, generator):
    """Random norm scales and biases: HF initialises them to 1 and 0, which would hide a
    runtime that forgets to apply a norm weight or a bias."""
    for name, p in model.named_parameters():
        if name.endswith("norm.weight") or ".norm1." in name or ".norm2." in name or "_norm." in name:
            if p.dim() == 1 and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=generator))
                continue
        if name.endswith(".bias"):
            p.copy_(0.05 * torch.randn(p.shape, generator=generator))


@torch.no_grad()
def sharpen_text_model(model):
    """Plain random init gives nearly flat logits (greedy ties) and, when tied, a model
    that keeps repeating its input token (embedding and lm_head are the same matrix).
    Smaller embeddings, larger projections and a larger final-norm scale give varied
    greedy output with clear top-1 margins, so token-exact tests mean something."""
    lm = model.model.language_model
    lm.embed_tokens.weight.mul_(0.25)
    if not model.config.tie_word_embeddings:
        model.lm_head.weight.mul_(0.25)
    for name, p in lm.named_parameters():
        if name.endswith("proj.weight"):
            p.mul_(3.0)
    lm.norm.weight.mul_(10.0)
    # Rows past the tokenizer (2066..2175) are padding, as in released checkpoints where
    # they are untrained and never win the argmax; keep them small but non-zero so a
    # row-offset bug in a loader still shows.
    n_tok = BPE_VOCAB_SIZE + len(SPECIAL_TOKENS) + len(PLAIN_ADDED_TOKENS)
    lm.embed_tokens.weight[n_tok:].mul_(0.01)
    if not model.config.tie_word_embeddings:
        model.lm_head.weight[n_tok:].mul_(0.01)


def build_model(name):
    from transformers import Qwen3VLForConditionalGeneration

    spec = CHECKPOINTS[name]
    torch.manual_seed(spec["seed"])
    config = make_config(spec)
    model = Qwen3VLForConditionalGeneration(config).to(torch.float32).eval()
    perturb_affine_params(model, torch.Generator().manual_seed(spec["seed"] + 1))
    sharpen_text_model(model)
    if spec["tie"]:
        assert model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()
    return model.to(spec["dtype"])


def make_generation_config():
    from transformers import GenerationConfig

    # Values of the released Instruct generation_config.json, with this tokenizer's ids.
    return GenerationConfig(
        bos_token_id=special_id("<|endoftext|>"),
        pad_token_id=special_id("<|endoftext|>"),
        eos_token_id=[special_id("<|im_end|>"), special_id("<|endoftext|>")],
        do_sample=True,
        temperature=0.7,
        top_p=0.8,
        top_k=20,
        repetition_penalty=1.0,
    )
