"""The golden cases: prompts, inputs and per-request processor limits.

Pixel limits are small on purpose so the tiny model sees tens of visual tokens per
image, and chosen so each image lands on a different smart_resize branch/grid:
  rocket 640x427 @ max 40960   -> 160x224, grid (1,10,14), merged 5x7 (odd dims)
  chelsea 451x300 @ max 24576  -> 96x192,  grid (1,6,12); h/beta/32 = 3.996 (floor edge)
  shapes 250x170 @ max 24576   -> 128x160, grid (1,8,10)
  shapes 250x170 @ max 16384   -> 96x128,  grid (1,6,8)
  clip 16 frames 96x64 @ 4 fps -> 8 sampled frames, grid (4,4,6), 4 timestamped groups
"""

LONG_TEXT = (
    "You are looking at a picture that will be indexed by a search engine. "
    "Before you answer, read these notes carefully. The index serves a team that builds "
    "retrieval augmented generation for technical manuals, product catalogues and field "
    "reports. Captions must be factual, short and free of speculation; when something is "
    "unclear, say so plainly. Mention colours, shapes, any visible text (quote it exactly), "
    "the number of objects, their relative positions (left, right, above, below), and the "
    "overall setting. Avoid words such as beautiful, stunning or amazing. Do not describe "
    "the camera or the photographer. If the picture contains a chart, name its type and "
    "its axes. If it contains people, describe clothing and actions, never identity, age or "
    "ethnicity. Numbers matter: 3 red circles is different from 4. Units matter too: 12 cm, "
    "5 kg, 220 V, 3.5 GHz and 2026-11-28 must be copied as written. Keep the answer under "
    "sixty words, in English, one paragraph, no lists, no markdown, no emoji. "
    "Finally, end the caption with three keywords separated by commas. "
    "Here is the picture:"
)

CASES = [
    {
        "name": "text_only",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": [{"type": "text", "text": "Write one sentence about a rocket launch."}]},
        ],
    },
    {
        "name": "one_image",
        "images": ["rocket.jpg"],
        "images_kwargs": {"size": {"shortest_edge": 4096, "longest_edge": 40960}},
        "messages": [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this image."}]},
        ],
    },
    {
        "name": "two_images",
        "images": ["chelsea.jpg", "generated_shapes.png"],
        "images_kwargs": {"size": {"shortest_edge": 4096, "longest_edge": 24576}},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare "},
                    {"type": "image"},
                    {"type": "text", "text": " with "},
                    {"type": "image"},
                    {"type": "text", "text": ". Which one has a cat?"},
                ],
            },
        ],
    },
    {
        "name": "long_prompt",
        "images": ["generated_shapes.png"],
        "images_kwargs": {"size": {"shortest_edge": 4096, "longest_edge": 16384}},
        "messages": [
            {"role": "system", "content": "You caption images for a search index."},
            {"role": "user", "content": [{"type": "text", "text": LONG_TEXT}, {"type": "image"},
                                         {"type": "text", "text": "Caption it now."}]},
        ],
    },
    {
        "name": "video",
        "video": {"dir": "clip", "frames": 16, "fps": 4.0},
        "videos_kwargs": {"cap_pixels_per_frame": False},
        "messages": [
            {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "What happens in this video?"}]},
        ],
    },
]
