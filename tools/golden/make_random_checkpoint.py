"""Random-weight Qwen3-VL checkpoint with the real released shapes (not committed).

    python make_random_checkpoint.py --size 2b [--out ~/.cache/loupe/models/qwen3vl-2b-random]

Writes config.json, generation_config.json, preprocessor/video/processor configs, a
tokenizer whose special tokens sit at the real ids (151643…), the chat template and
bf16 safetensors shards + index, streaming one tensor at a time: the model is built on
the meta device only to learn names and shapes, so peak memory stays near one tensor.
Weights: N(0, 0.02) for matrices and embeddings, 1 + N(0, 0.02) for norm scales,
N(0, 0.02) biases — numerically sane activations for benchmarks and load tests, nothing
meaningful to generate.
"""

import argparse
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from make_checkpoints import CHAT_TEMPLATE, IMAGE_PROCESSOR, VIDEO_PROCESSOR

# Spec section 1.4 (values of the released Instruct config.json files).
SIZES = {
    "2b": dict(text=dict(hidden_size=2048, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                         intermediate_size=6144), tie=True,
               vision=dict(depth=24, hidden_size=1024, intermediate_size=4096, deepstack=[5, 11, 17])),
    "4b": dict(text=dict(hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                         intermediate_size=9728), tie=True,
               vision=dict(depth=24, hidden_size=1024, intermediate_size=4096, deepstack=[5, 11, 17])),
    "8b": dict(text=dict(hidden_size=4096, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                         intermediate_size=12288), tie=False,
               vision=dict(depth=27, hidden_size=1152, intermediate_size=4304, deepstack=[8, 16, 24])),
}
# Real Qwen2/Qwen3 tokenizer ids.
ENDOFTEXT, IM_START, IM_END = 151643, 151644, 151645
VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD = 151652, 151653, 151655, 151656
SHARD_BYTES = 2_000_000_000


def make_config(size):
    from transformers import Qwen3VLConfig

    s = SIZES[size]
    t, v = s["text"], s["vision"]
    config = Qwen3VLConfig(
        text_config=dict(
            vocab_size=151936, head_dim=128, hidden_act="silu", max_position_embeddings=262144,
            rms_norm_eps=1e-6, attention_bias=False, attention_dropout=0.0, initializer_range=0.02,
            rope_parameters={"rope_type": "default", "rope_theta": 5000000.0, "mrope_section": [24, 20, 20],
                             "mrope_interleaved": True},
            bos_token_id=ENDOFTEXT, eos_token_id=IM_END, tie_word_embeddings=s["tie"], dtype="bfloat16", **t),
        vision_config=dict(
            depth=v["depth"], hidden_size=v["hidden_size"], intermediate_size=v["intermediate_size"], num_heads=16,
            hidden_act="gelu_pytorch_tanh", in_channels=3, patch_size=16, temporal_patch_size=2,
            spatial_merge_size=2, out_hidden_size=t["hidden_size"], num_position_embeddings=2304,
            deepstack_visual_indexes=v["deepstack"], initializer_range=0.02),
        image_token_id=IMAGE_PAD, video_token_id=VIDEO_PAD, vision_start_token_id=VISION_START,
        vision_end_token_id=VISION_END, tie_word_embeddings=s["tie"],
    )
    config.architectures = ["Qwen3VLForConditionalGeneration"]
    config.dtype = "bfloat16"
    return config


def make_tokenizer():
    """The tiny BPE with its specials moved to the real ids: unreachable filler entries pad
    the vocabulary to 151643, so special/visual ids match config.json. Text encodes to
    small ids; that is all a runtime working on token ids needs."""
    from transformers import AddedToken
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    from tokenizer_build import PLAIN_ADDED_TOKENS, SPECIAL_TOKENS, train_bpe

    vocab, merges = train_bpe()
    for i in range(len(vocab), ENDOFTEXT):
        vocab[f"<|filler_{i}|>"] = i
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None, eos_token=None,
                         pad_token=None, model_max_length=262144)
    tok.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True, normalized=False)
                                                          for t in SPECIAL_TOKENS]})
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in PLAIN_ADDED_TOKENS])
    tok.eos_token, tok.pad_token = "<|im_end|>", "<|endoftext|>"
    tok.chat_template = CHAT_TEMPLATE
    assert tok.convert_tokens_to_ids("<|image_pad|>") == IMAGE_PAD
    return tok


def init_tensor(name, shape, gen):
    if name.endswith(".bias"):
        return torch.randn(shape, generator=gen) * 0.02
    if len(shape) == 1:  # RMSNorm / LayerNorm scales
        return 1.0 + torch.randn(shape, generator=gen) * 0.02
    return torch.randn(shape, generator=gen) * 0.02


def write_weights(config, out: Path, seed: int):
    from transformers import Qwen3VLForConditionalGeneration

    with torch.device("meta"):
        model = Qwen3VLForConditionalGeneration(config)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        shapes.pop("lm_head.weight")
    del model
    gen = torch.Generator().manual_seed(seed)
    names = list(shapes)
    # Plan shards by size, in name order, like save_pretrained.
    shards, cur, cur_bytes = [], [], 0
    for n in names:
        nbytes = 2 * int(torch.tensor(shapes[n]).prod())
        if cur and cur_bytes + nbytes > SHARD_BYTES:
            shards.append(cur)
            cur, cur_bytes = [], 0
        cur.append(n)
        cur_bytes += nbytes
    shards.append(cur)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        tensors = {}
        for n in shard:
            tensors[n] = init_tensor(n, shapes[n], gen).to(torch.bfloat16)
            weight_map[n] = fname
            total += tensors[n].numel() * 2
        save_file(tensors, out / fname, metadata={"format": "pt"})
        del tensors
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return total, len(shards)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=sorted(SIZES), default="2b")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = (args.out or Path.home() / ".cache" / "loupe" / "models" / f"qwen3vl-{args.size}-random").expanduser()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("model*.safetensors*"):
        old.unlink()
    t0 = time.time()
    from transformers import GenerationConfig, Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    config = make_config(args.size)
    config.save_pretrained(out)
    GenerationConfig(bos_token_id=ENDOFTEXT, pad_token_id=ENDOFTEXT, eos_token_id=[IM_END, ENDOFTEXT],
                     do_sample=True, temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.0).save_pretrained(out)
    processor = Qwen3VLProcessor(image_processor=Qwen2VLImageProcessor(**IMAGE_PROCESSOR), tokenizer=make_tokenizer(),
                                 video_processor=Qwen3VLVideoProcessor(**VIDEO_PROCESSOR), chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(out)
    processor.image_processor.save_pretrained(out)
    processor.video_processor.save_pretrained(out)
    total, n = write_weights(config, out, args.seed)
    print(f"{out}: {total / 1e9:.2f} GB bf16 in {n} shards, {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
