"""Synthetic scenes of one or two coloured shapes, and their true descriptions.

A scene is drawn from a seeded `random.Random`, so the same seed always gives the same
picture and text. The texts follow one canonical form per prompt, which makes exact-match
accuracy well defined:
  caption   "A red circle to the left of a blue square."  (the left / upper shape first)
  keywords  "red, circle, blue, square"                  (order of mention, no repeats)
  detailed  "Two shapes on a plain white background: a red circle on the left and a blue
             square on the right."
  ocr       ""  (the scenes contain no text, and the OCR prompt says to output nothing then)
  tags      '{"objects": ["circle", "square"], "colors": ["red", "blue"], "text_present": false,
             "scene": "plain white background"}'  (json.dumps, keys in the order of the product's
             tags schema, java/src/main/resources/dev/loupe/presets/tags.schema.json)
"""

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = {
    "red": (215, 35, 35),
    "orange": (245, 135, 20),
    "yellow": (235, 210, 25),
    "green": (35, 160, 60),
    "blue": (35, 75, 215),
    "purple": (135, 45, 175),
}
SHAPES = ("circle", "square", "triangle", "star")
BACKGROUNDS = {"white": (246, 246, 246), "gray": (190, 190, 190), "beige": (236, 224, 196)}
TEXTURES = ("plain", "speckled")

# Prompt texts exactly as the product sends them (dev.loupe.PromptPreset; "detailed" is its DESCRIPTION).
PROMPTS = {
    "caption": "Write one short sentence describing this image.",
    "detailed": "Describe this image in detail: the subjects, their attributes, the setting and any actions.",
    "keywords": "List 5 to 10 comma-separated keywords for this image, most important first. Output only the keywords.",
    "ocr": "Transcribe all text visible in this image, line by line. Output only the text, or nothing if there is none.",
    "tags": "Tag this image as JSON: the objects in it, their main colours, whether it shows any text, and the scene.",
}

# The JSON schema the product decodes the tags preset under; its property order is the key order.
TAGS_SCHEMA_PATH = (Path(__file__).resolve().parents[2]
                    / "java/src/main/resources/dev/loupe/presets/tags.schema.json")
TAGS_SCHEMA = json.loads(TAGS_SCHEMA_PATH.read_text(encoding="utf-8"))
TAGS_KEYS = tuple(TAGS_SCHEMA["properties"])


@dataclass(frozen=True)
class Item:
    colour: str
    shape: str
    cx: float
    cy: float
    size: float  # side of the bounding square, pixels


@dataclass(frozen=True)
class Scene:
    width: int
    height: int
    background: str
    texture: str
    items: tuple  # one or two Items; with two, items[0] is the left (or upper) one
    relation: str  # "" | "horizontal" | "vertical"
    seed: int


def sample_scene(rng: random.Random, seed: int = 0) -> Scene:
    width, height = rng.randint(64, 256), rng.randint(64, 256)
    background, texture = rng.choice(list(BACKGROUNDS)), rng.choice(TEXTURES)
    if rng.random() < 0.35:
        size = rng.uniform(0.40, 0.80) * min(width, height)
        cx = rng.uniform(size / 2, width - size / 2)
        cy = rng.uniform(size / 2, height - size / 2)
        return Scene(width, height, background, texture, (Item(_colour(rng), rng.choice(SHAPES), cx, cy, size),), "", seed)
    # Two shapes side by side along the image's longer axis (or either axis when square-ish),
    # each in its own half, with the cross-axis offset small enough that the relation is clear.
    if width > 1.25 * height:
        relation = "horizontal"
    elif height > 1.25 * width:
        relation = "vertical"
    else:
        relation = rng.choice(("horizontal", "vertical"))
    first, second = _distinct_pair(rng)
    long_side, short_side = (width, height) if relation == "horizontal" else (height, width)
    items = []
    for half, (colour, shape) in enumerate((first, second)):
        size = rng.uniform(0.55, 0.90) * min(long_side / 2, short_side)
        along = rng.uniform(half * long_side / 2 + size / 2, (half + 1) * long_side / 2 - size / 2)
        slack = min(short_side - size, long_side / 4)
        across = short_side / 2 + rng.uniform(-slack / 2, slack / 2)
        cx, cy = (along, across) if relation == "horizontal" else (across, along)
        items.append(Item(colour, shape, cx, cy, size))
    return Scene(width, height, background, texture, tuple(items), relation, seed)


def _colour(rng):
    return rng.choice(list(COLOURS))


def _distinct_pair(rng):
    while True:
        a = (_colour(rng), rng.choice(SHAPES))
        b = (_colour(rng), rng.choice(SHAPES))
        if a != b:
            return a, b


def render(scene: Scene) -> Image.Image:
    rng = random.Random(scene.seed * 7919 + 17)
    base = BACKGROUNDS[scene.background]
    img = Image.new("RGB", (scene.width, scene.height), base)
    draw = ImageDraw.Draw(img)
    if scene.texture == "speckled":
        for _ in range(scene.width * scene.height // 40):
            x, y = rng.randrange(scene.width), rng.randrange(scene.height)
            d = rng.choice((-40, -25, 25))
            draw.point((x, y), fill=tuple(max(0, min(255, c + d)) for c in base))
    for item in scene.items:
        fill = tuple(max(0, min(255, c + rng.randint(-18, 18))) for c in COLOURS[item.colour])
        _draw_shape(draw, item, fill)
    return img


def _draw_shape(draw, item: Item, fill):
    r = item.size / 2
    cx, cy = item.cx, item.cy
    if item.shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif item.shape == "square":
        s = r * 0.88
        draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=fill)
    elif item.shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r * 0.95, cy + r * 0.8), (cx - r * 0.95, cy + r * 0.8)], fill=fill)
    elif item.shape == "star":
        points = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.42
            a = -math.pi / 2 + k * math.pi / 5
            points.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        draw.polygon(points, fill=fill)
    else:
        raise ValueError(item.shape)


def _name(item: Item) -> str:
    return f"{item.colour} {item.shape}"


def _a(item: Item, capital: bool = False) -> str:
    """The shape's name with its indefinite article ("an orange star")."""
    article = "an" if item.colour[0] in "aeiou" else "a"
    return f"{article.capitalize() if capital else article} {_name(item)}"


def answers(scene: Scene) -> dict:
    """The true answer to every prompt in PROMPTS."""
    items = scene.items
    if len(items) == 1:
        caption = f"{_a(items[0], True)}."
        detailed = f"One {_name(items[0])} on a {scene.texture} {scene.background} background."
    else:
        a, b = items
        if scene.relation == "horizontal":
            caption = f"{_a(a, True)} to the left of {_a(b)}."
            where = ("on the left", "on the right")
        else:
            caption = f"{_a(a, True)} above {_a(b)}."
            where = ("at the top", "at the bottom")
        detailed = (f"Two shapes on a {scene.texture} {scene.background} background: "
                    f"{_a(a)} {where[0]} and {_a(b)} {where[1]}.")
    keywords = []
    for item in items:
        for word in (item.colour, item.shape):
            if word not in keywords:
                keywords.append(word)
    return {"caption": caption, "detailed": detailed, "keywords": ", ".join(keywords), "ocr": "",
            "tags": json.dumps(tags(scene))}


def tags(scene: Scene) -> dict:
    """The tags preset's object: every shape in item order, the distinct colours in item
    order, no text, and the background; keys in the schema's property order."""
    colours = []
    for item in scene.items:
        if item.colour not in colours:
            colours.append(item.colour)
    facts = {"objects": [i.shape for i in scene.items], "colors": colours, "text_present": False,
             "scene": f"{scene.texture} {scene.background} background"}
    assert set(facts) == set(TAGS_KEYS), (sorted(facts), TAGS_KEYS)
    return {k: facts[k] for k in TAGS_KEYS}


def describe(scene: Scene) -> dict:
    """JSON-friendly facts of a scene, for the held-out set and per-attribute scoring."""
    return {
        "width": scene.width,
        "height": scene.height,
        "background": scene.background,
        "texture": scene.texture,
        "relation": scene.relation,
        "shapes": [{"colour": i.colour, "shape": i.shape} for i in scene.items],
    }


def scene_for(seed: int) -> Scene:
    return sample_scene(random.Random(seed), seed)
