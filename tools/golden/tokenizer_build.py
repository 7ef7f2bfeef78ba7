"""Builds the small byte-level BPE tokenizer shared by the tiny checkpoints.

Same pipeline as the real Qwen2/Qwen3 tokenizer (NFC normaliser, Qwen2 split regex,
ByteLevel without prefix space, ByteLevel decoder), a ~2k-token vocabulary trained on
a fixed corpus, then the Qwen special tokens appended in the real order. The runtime
reads special ids from config.json, so small ids are fine.
"""

from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

import transformers
from transformers import AddedToken
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

BPE_VOCAB_SIZE = 2048

# Order as in the released Qwen3-VL tokenizer (151643.. there, BPE_VOCAB_SIZE.. here).
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Added but not special (the real tokenizer has these too): they survive skip_special_tokens.
PLAIN_ADDED_TOKENS = ["<tool_call>", "</tool_call>", "<think>", "</think>"]

# Multilingual and symbol-heavy lines so the BPE learns some merges outside ASCII.
_EXTRA_CORPUS = """
一张照片，上面有一只猫坐在窗台上。图片中的文字是什么？请描述这张图片。
これは写真です。猫が窓辺に座っています。画像を説明してください。
이 사진에는 고양이가 창가에 앉아 있습니다. 이미지를 설명해 주세요.
Ceci est une photo d'un chat assis sur le rebord de la fenêtre. Décrivez l'image.
Dies ist ein Foto einer Katze auf der Fensterbank. Beschreiben Sie das Bild.
Это фотография кошки на подоконнике. Опишите изображение.
Emoji: 😀 😃 🐱 🚀 🌍 👍🏽 ❤️ 🇫🇷 — rockets, cats and flags.
Numbers 0123456789, 3.14159, 2026-11-28, $42.00, 100% and x^2 + y^2 = z^2.
Describe this image. What is in the picture? List keywords. Read the text in the image.
A rocket lifts off from the launch pad into a clear blue sky, trailing smoke and fire.
A cat with striped fur looks at the camera. A cup of coffee on a saucer.
"""


def _training_corpus():
    # Fixed by the pinned transformers version: the source of the model family we mirror.
    root = Path(transformers.__file__).parent / "models"
    files = [
        root / "qwen3_vl" / "modeling_qwen3_vl.py",
        root / "qwen3_vl" / "processing_qwen3_vl.py",
        root / "qwen3_vl" / "video_processing_qwen3_vl.py",
        root / "qwen2_vl" / "image_processing_qwen2_vl.py",
        root / "qwen2" / "tokenization_qwen2.py",
    ]
    texts = [f.read_text(encoding="utf-8") for f in files]
    texts.extend([_EXTRA_CORPUS] * 20)
    return texts


def train_bpe():
    """Returns (vocab dict, merges list) of a byte-level BPE trained deterministically."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB_SIZE,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator(_training_corpus(), trainer=trainer)
    model = tok.model
    vocab = tok.get_vocab()
    # Read merges back from the serialised model (the API has no getter).
    import json

    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges]
    del model
    return vocab, merges


def build_tokenizer(chat_template: str) -> Qwen2Tokenizer:
    vocab, merges = train_bpe()
    assert len(vocab) == BPE_VOCAB_SIZE, len(vocab)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token=None,
        pad_token=None,
        model_max_length=262144,
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS]}
    )
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in PLAIN_ADDED_TOKENS])
    # As in the released Instruct tokenizer_config.json.
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.pad_token = "<|endoftext|>"
    tokenizer.chat_template = chat_template
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tokenizer.convert_tokens_to_ids(t) == BPE_VOCAB_SIZE + i, (t, tokenizer.convert_tokens_to_ids(t))
    return tokenizer


def special_id(name: str) -> int:
    return BPE_VOCAB_SIZE + SPECIAL_TOKENS.index(name)
