"""The embedding convention, scene contents and query texts shared by train.py and evaluate.py.

Input format, image resize and pooling follow the Qwen3-VL-Embedding reference
(QwenLM/Qwen3-VL-Embedding, src/models/qwen3_vl_embedding.py, with qwen_vl_utils'
smart_resize / fetch_image):
  * one conversation per input: system = the instruction (stripped, "." appended unless it
    already ends in punctuation), user = the images, then the text ("NULL" when empty),
    rendered by the checkpoint's chat template with add_generation_prompt=True;
  * each image converted to RGB (RGBA composited on white), resized with smart_resize
    (factor 32, 4*32*32 .. 1800*32*32 pixels) and PIL's default (bicubic) resampling, then
    given to the HF processor with do_resize=False;
  * embedding = Qwen3VLModel's last_hidden_state (after the final norm) at the last
    attended token (the "\\n" after "assistant"), L2-normalised.

Scene "content" = the set of (colour, shape) pairs, regardless of position, size, relation,
background or texture: two renders with the same content are the same answer to a query.
"""

import math
import sys
import unicodedata
from dataclasses import replace
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "shapes-model"))
import scenes  # noqa: E402  (the shapes model's scene sampler and renderer, reused as is)

DOCUMENT_INSTRUCTION = "Represent the user's input."  # the reference's default instruction (images)
QUERY_INSTRUCTION = "Retrieve images that match the user's query."  # text queries
IMAGE_FACTOR = 32  # patch 16 x spatial merge 2
MIN_PIXELS = 4 * IMAGE_FACTOR * IMAGE_FACTOR
MAX_PIXELS = 1800 * IMAGE_FACTOR * IMAGE_FACTOR


# ---------------------------------------------------------------- input format (reference)

def smart_resize(height, width, factor=IMAGE_FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS):
    """(height, width) rounded to multiples of factor, total pixels kept in [min, max]."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def prepare_image(image):
    """RGB (RGBA over white), resized as the reference embedder does before the processor."""
    from PIL import Image

    if image.mode == "RGBA":
        rgb = Image.new("RGB", image.size, (255, 255, 255))
        rgb.paste(image, mask=image.split()[3])
        image = rgb
    else:
        image = image.convert("RGB")
    height, width = smart_resize(image.height, image.width)
    return image.resize((width, height), Image.BICUBIC)  # PIL returns a copy when the size is unchanged


def normalise_instruction(instruction):
    instruction = (instruction or "").strip()
    if instruction and not unicodedata.category(instruction[-1]).startswith("P"):
        instruction += "."
    return instruction or DOCUMENT_INSTRUCTION


def conversation(text=None, image=None, instruction=None):
    content = []
    if image is not None:
        content.append({"type": "image", "image": image})
    if text:
        content.append({"type": "text", "text": text})
    if not content:
        content.append({"type": "text", "text": "NULL"})
    return [{"role": "system", "content": [{"type": "text", "text": normalise_instruction(instruction)}]},
            {"role": "user", "content": content}]


def image_input(image):
    return {"image": image, "instruction": DOCUMENT_INSTRUCTION}


def query_input(text):
    return {"text": text, "instruction": QUERY_INSTRUCTION}


def encode(processor, inputs):
    """HF processor tensors for a batch of inputs ({"text"?, "image"?, "instruction"}),
    right-padded, exactly as the reference embedder prepares them."""
    processor.tokenizer.padding_side = "right"
    convs = [conversation(x.get("text"), x.get("image"), x.get("instruction")) for x in inputs]
    texts = processor.apply_chat_template(convs, tokenize=False, add_generation_prompt=True)
    images = [prepare_image(x["image"]) for x in inputs if x.get("image") is not None]
    return processor(text=texts, images=images or None, padding=True, do_resize=False, return_tensors="pt")


def pool_last(hidden, attention_mask):
    """Hidden state at the last attended position of every row (any padding side)."""
    last = attention_mask.shape[1] - 1 - attention_mask.flip(dims=[1]).argmax(dim=1)
    return hidden[torch.arange(hidden.shape[0]), last]


def embed(model, batch):
    """Normalised embeddings; model is a Qwen3VLForConditionalGeneration (its .model is the
    Qwen3VLModel whose last_hidden_state the reference pools)."""
    hidden = model.model(**batch).last_hidden_state
    return torch.nn.functional.normalize(pool_last(hidden, batch["attention_mask"]).float(), dim=-1)


# ---------------------------------------------------------------- scene contents and re-renders

def content(scene):
    """The scene's (colour, shape) pairs, sorted: what a query is about."""
    return tuple(sorted((item.colour, item.shape) for item in scene.items))


def relayout(pairs, rng, seed):
    """A new scene with the given content: layout, size, background and texture drawn the way
    scenes.sample_scene draws them (a sampled scene with the right number of shapes, its
    colours and shapes replaced), the shapes in random order; `seed` drives the render noise."""
    pairs = list(pairs)
    rng.shuffle(pairs)
    while True:
        scene = scenes.sample_scene(rng, seed)
        if len(scene.items) == len(pairs):
            break
    items = tuple(replace(item, colour=c, shape=s) for item, (c, s) in zip(scene.items, pairs))
    return replace(scene, items=items)


def perturb(pairs, rng):
    """A different content close to `pairs` (a hard negative): one colour or shape changed,
    the colours of two shapes swapped, a shape dropped or added."""
    colours, shapes = list(scenes.COLOURS), list(scenes.SHAPES)
    pairs = list(pairs)
    while True:
        new = [list(p) for p in pairs]
        kind = rng.choice(("colour", "shape", "swap", "count") if len(new) == 2 else ("colour", "shape", "count"))
        k = rng.randrange(len(new))
        if kind == "colour":
            new[k][0] = rng.choice(colours)
        elif kind == "shape":
            new[k][1] = rng.choice(shapes)
        elif kind == "swap":
            new[0][0], new[1][0] = new[1][0], new[0][0]
        elif len(new) == 2:
            del new[k]
        else:
            new.append([rng.choice(colours), rng.choice(shapes)])
        out = tuple(sorted(tuple(p) for p in new))
        if len(set(out)) == len(out) and out != tuple(sorted(pairs)):
            return out


# ---------------------------------------------------------------- query texts

# Colour words: the captions' own word first, then words the captions never use.
COLOUR_WORDS = {
    "red": ["red", "crimson", "scarlet", "cherry"],
    "orange": ["orange", "tangerine", "amber", "apricot"],
    "yellow": ["yellow", "golden", "lemon", "mustard"],
    "green": ["green", "emerald", "grass-green", "jade"],
    "blue": ["blue", "navy", "azure", "cobalt"],
    "purple": ["purple", "violet", "lilac", "plum"],
}
# How a coloured shape may be named; {c} is the colour word.
SHAPE_FORMS = {
    "circle": ["{c} circle", "round {c} shape", "{c} round shape", "{c} disc", "{c} dot", "circle in {c}"],
    "square": ["{c} square", "{c} box", "{c} block", "square {c} shape", "{c} square shape", "square in {c}"],
    "triangle": ["{c} triangle", "three-sided {c} shape", "{c} three-sided shape", "triangular {c} shape",
                 "{c} triangular shape", "triangle in {c}"],
    "star": ["{c} star", "five-pointed {c} star", "{c} five-pointed shape", "star-shaped {c} figure",
             "{c} star shape", "star in {c}"],
}
ONE_TEMPLATES = ["{a}", "{a}.", "a picture of {a}", "an image of {a}", "just {a}", "only {a}",
                 "{a} on its own", "a single {n}", "one {n}", "a photo showing {a}"]
TWO_TEMPLATES = ["{a} and {b}", "{b} and {a}", "two shapes: {a} and {b}", "{a} with {b}", "{b} with {a}",
                 "{a} next to {b}", "{a} beside {b}", "a picture of {a} and {b}", "{a}, {b}",
                 "an image with {b} and {a}"]
RELATION_TEMPLATES = {  # a = the left / upper shape
    "horizontal": ["{a} to the left of {b}", "{b} to the right of {a}", "{a} on the left and {b} on the right",
                   "{b} on the right, {a} on the left"],
    "vertical": ["{a} above {b}", "{b} below {a}", "{b} under {a}", "{a} on top and {b} at the bottom"],
}
# Never used in training: evaluate.py's "unseen templates" figure measures how far the
# model generalises beyond the sentence shapes it was trained on.
HELDOUT_ONE_TEMPLATES = ["there is {a} here", "show me {a}", "looking for {a}"]
HELDOUT_TWO_TEMPLATES = ["{a} together with {b}", "show me {b} and {a}", "looking for {a} plus {b}"]


def article(phrase):
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def shape_phrase(colour, shape, rng, colour_mode="any", shape_mode="any"):
    """A name for a coloured shape (no article). colour_mode / shape_mode: "any",
    "canonical" (the captions' word) or "synonym" (a word the captions never use)."""
    words = COLOUR_WORDS[colour]
    c = words[0] if colour_mode == "canonical" else rng.choice(words[1:] if colour_mode == "synonym" else words)
    forms = SHAPE_FORMS[shape]
    form = forms[0] if shape_mode == "canonical" else rng.choice(forms[1:] if shape_mode == "synonym" else forms)
    return form.format(c=c)


def paraphrase(scene, rng, colour_mode="any", shape_mode="any", heldout_templates=False):
    """A query describing the scene's content in other words (colour and shape synonyms,
    either order, counts, the spatial relation when it is the true one)."""
    names = [shape_phrase(i.colour, i.shape, rng, colour_mode, shape_mode) for i in scene.items]
    if len(names) == 1:
        template = rng.choice(HELDOUT_ONE_TEMPLATES if heldout_templates else ONE_TEMPLATES)
        text = template.format(a=article(names[0]), n=names[0])
    else:
        if heldout_templates:
            pool = HELDOUT_TWO_TEMPLATES
        else:
            pool = TWO_TEMPLATES + RELATION_TEMPLATES[scene.relation]
        text = rng.choice(pool).format(a=article(names[0]), b=article(names[1]))
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    return text


def training_text(scene, rng):
    """The text side of a training pair: the canonical caption, the keyword list, the
    detailed description, or (mostly) a paraphrase."""
    r = rng.random()
    answers = scenes.answers(scene)
    if r < 0.25:
        return answers["caption"]
    if r < 0.32:
        return answers["keywords"]
    if r < 0.37:
        return answers["detailed"]
    return paraphrase(scene, rng)
