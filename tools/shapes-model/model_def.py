"""The shapes model's tokenizer, processor and Qwen3-VL configuration.

The tokenizer is the real Qwen pipeline (NFC, Qwen2 split regex, byte-level BPE with all
256 bytes as the base alphabet, so any text still encodes) with a small vocabulary trained
on this task's own texts: the answers, the product's prompts and the chat template's fixed
words, so a whole prompt costs a handful of tokens. The Qwen special tokens follow the BPE
ids in the released order (the runtime reads their ids from config.json).
"""

import json
import random
import sys
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "golden"))
from tokenizer_build import PLAIN_ADDED_TOKENS, SPECIAL_TOKENS  # noqa: E402  (same specials as the golden kit)

import scenes  # noqa: E402

CHAT_TEMPLATE = (HERE.parent / "golden" / "qwen3_vl_instruct_chat_template.jinja").read_text(encoding="utf-8")
BPE_VOCAB_SIZE = 512

# Images are resized (smart_resize) to between 16 and 49 merged tokens of 32x32 pixels.
IMAGE_PROCESSOR = dict(
    size={"shortest_edge": 128 * 128, "longest_edge": 224 * 224},
    patch_size=16, temporal_patch_size=2, merge_size=2,
    image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
)
VIDEO_PROCESSOR = dict(
    size={"shortest_edge": 128 * 128, "longest_edge": 224 * 224 * 4},
    patch_size=16, temporal_patch_size=2, merge_size=2,
    image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
    fps=2, min_frames=4, max_frames=16, do_sample_frames=True,
)

TEXT = dict(hidden_size=128, intermediate_size=384, num_hidden_layers=3, num_attention_heads=4,
            num_key_value_heads=2, head_dim=32, mrope_section=[6, 5, 5])
# 12x12 learned position table: every image's patch grid (8..14 per side) interpolates it.
VISION = dict(depth=3, hidden_size=64, intermediate_size=192, num_heads=2,
              num_position_embeddings=144, deepstack_visual_indexes=[0, 1])


def _corpus():
    rng = random.Random(99)
    texts = []
    for i in range(4000):
        texts.extend(a for a in scenes.answers(scenes.sample_scene(rng, i)).values() if a)
    texts.extend(list(scenes.PROMPTS.values()) * 200)
    texts.extend(["user\n", "assistant\n", "system\n", "You are a helpful assistant."] * 200)
    return texts


def build_tokenizer():
    from transformers import AddedToken
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB_SIZE, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(_corpus(), trainer=trainer)
    vocab = tok.get_vocab()
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in json.loads(tok.to_str())["model"]["merges"]]
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None, eos_token=None,
                               pad_token=None, model_max_length=32768)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS]})
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in PLAIN_ADDED_TOKENS])
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.pad_token = "<|endoftext|>"
    tokenizer.chat_template = CHAT_TEMPLATE
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tokenizer.convert_tokens_to_ids(t) == len(vocab) + i, t
    return tokenizer


def build_processor():
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    return Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(**IMAGE_PROCESSOR),
        tokenizer=build_tokenizer(),
        video_processor=Qwen3VLVideoProcessor(**VIDEO_PROCESSOR),
        chat_template=CHAT_TEMPLATE,
    )


def build_config(tokenizer):
    from transformers import Qwen3VLConfig

    sid = tokenizer.convert_tokens_to_ids
    rows = (len(tokenizer) + 63) // 64 * 64  # embedding rows rounded up, as released checkpoints do
    text_config = dict(
        vocab_size=rows, hidden_size=TEXT["hidden_size"], intermediate_size=TEXT["intermediate_size"],
        num_hidden_layers=TEXT["num_hidden_layers"], num_attention_heads=TEXT["num_attention_heads"],
        num_key_value_heads=TEXT["num_key_value_heads"], head_dim=TEXT["head_dim"], hidden_act="silu",
        max_position_embeddings=32768, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 5000000.0,
                         "mrope_section": TEXT["mrope_section"], "mrope_interleaved": True},
        attention_bias=False, attention_dropout=0.0, initializer_range=0.02,
        bos_token_id=sid("<|endoftext|>"), eos_token_id=sid("<|im_end|>"), tie_word_embeddings=True,
        dtype="bfloat16",
    )
    vision_config = dict(
        depth=VISION["depth"], hidden_size=VISION["hidden_size"], intermediate_size=VISION["intermediate_size"],
        num_heads=VISION["num_heads"], hidden_act="gelu_pytorch_tanh", in_channels=3, patch_size=16,
        temporal_patch_size=2, spatial_merge_size=2, out_hidden_size=TEXT["hidden_size"],
        num_position_embeddings=VISION["num_position_embeddings"],
        deepstack_visual_indexes=VISION["deepstack_visual_indexes"], initializer_range=0.02,
    )
    config = Qwen3VLConfig(
        text_config=text_config, vision_config=vision_config,
        image_token_id=sid("<|image_pad|>"), video_token_id=sid("<|video_pad|>"),
        vision_start_token_id=sid("<|vision_start|>"), vision_end_token_id=sid("<|vision_end|>"),
        tie_word_embeddings=True,
    )
    config.architectures = ["Qwen3VLForConditionalGeneration"]
    config.dtype = "bfloat16"
    return config


def build_generation_config(tokenizer):
    from transformers import GenerationConfig

    sid = tokenizer.convert_tokens_to_ids
    # Greedy by default: the model is trained to one canonical answer per prompt.
    return GenerationConfig(bos_token_id=sid("<|endoftext|>"), pad_token_id=sid("<|endoftext|>"),
                            eos_token_id=[sid("<|im_end|>"), sid("<|endoftext|>")], do_sample=False,
                            max_new_tokens=48)
