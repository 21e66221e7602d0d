"""A download-free keypoint dataset: rendered quadrupeds seen from above, in COCO format.

``make demo`` trains on it and most tests read it, so it must be deterministic, quick to make and
learnable by a small top-down model on a CPU in minutes, while still exercising what real data
does: several animals per image, occlusion (by each other, by their own limbs, by foreground
clutter), keypoints outside the image, COCO small/medium/large areas, textured backgrounds,
and a detection file with jitter, misses and false positives.

What an image shows
    A textured background (smooth colour noise plus stick/blob clutter), 1–4 animals, and in
    some images foreground occluders, then pixel noise, sometimes blur, saved as JPEG. An animal
    is a two-ellipse torso bent at the middle, a head with two ears and a nose blob, four
    two-segment legs with a knee joint and a paw, and a curved tapering tail ending in a tuft.
    It is seen from above, so left and right follow from the geometry (the left side is on the
    left of the heading) and stay consistent under horizontal flipping with the swap pairs. As
    an extra cue (which flip augmentation turns into noise the model learns to ignore), left
    legs and ears are lighter than the body and right ones darker. Body colour, size, heading
    (any angle), spine bend, head turn, leg swing and bend, tail length and curl vary.

Keypoints
    Names, order, skeleton and swap pairs come from ``configs/_base_/datasets/synthetic_animal.py``
    (the one place dataset facts live); the renderer knows the geometry of each name and refuses
    a dataset_info that names a point it does not draw. Annotated coordinates are pixels with
    pixel centres at whole numbers (posecfg's, MMPose's and OpenCV's convention: the centre of
    pixel (0, 0) is (0, 0)); the renderer works in corner-origin coordinates internally.
    Visibility is COCO's: 2 visible, 1 inside the image but covered by something drawn later
    (another animal, an occluder, or the animal's own later-drawn part), 0 outside the image
    (then x = y = 0, as in COCO).

Boxes and areas
    ``bbox`` is the tight xywh box of the animal's whole silhouette (occluded parts included),
    clipped to the image; ``area`` is that silhouette's pixel count inside the image. OKS uses
    ``area`` as the object scale, so occlusion does not tighten the tolerance.

Determinism
    Image ``i`` of a split is drawn from its own ``numpy.random.Generator`` seeded by
    ``SeedSequence([seed, split, i])``: the same seed gives byte-identical files, and a larger
    ``num_train`` adds images without changing the first ones.

Files (written by :func:`generate_dataset`; a COCO-style dataset's ``img_prefix`` is
``OUT_DIR/images/<split>/``)::

    OUT_DIR/
      manifest.json                  generator version and parameters; identifies the dataset
      images/train/000001.jpg …      image_id 1 … num_train, file_name '000001.jpg'
      images/val/000001.jpg …        image_id 1 … num_val
      annotations/train.json         COCO keypoints: images, annotations, categories
      annotations/val.json
      annotations/val_detections.json  COCO detection results [{image_id, category_id, bbox, score}]
"""
from __future__ import annotations

import colorsys
import dataclasses
import json
import math
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .metainfo import BASE_DATASETS_DIR, DatasetMeta, load_dataset_info, parse_dataset_info

#: Bump whenever rendering or file contents change, so an old dataset on disk is not mistaken
#: for what this code would write.
GENERATOR_VERSION = 2

DEFAULT_DATASET_INFO = BASE_DATASETS_DIR / 'synthetic_animal.py'

MANIFEST_NAME = 'manifest.json'
SPLITS = ('train', 'val')
#: random stream of each kind of image (a DeepLabCut project's frames: 'dlc', synthetic_dlc.py)
_SPLIT_CODES = {'train': 0, 'val': 1, 'val_detections': 2, 'dlc': 3}
JPEG_QUALITY = 90

#: COCO's area ranges, for the summary: small < 32², medium < 96², large above.
AREA_SMALL, AREA_MEDIUM = 32 ** 2, 96 ** 2

Point = np.ndarray  # (2,) float64, pixels


class DatasetExistsError(FileExistsError):
    """The output directory holds something other than the dataset asked for."""


# ---------------------------------------------------------------------------------------------
# Dataset facts
# ---------------------------------------------------------------------------------------------

def load_keypoint_meta(path: os.PathLike = DEFAULT_DATASET_INFO) -> DatasetMeta:
    """The parsed ``dataset_info`` of ``path``, checked to name only keypoints we draw."""
    meta = parse_dataset_info(load_dataset_info(path), source=str(path))
    check_renderable(meta)
    return meta


def check_renderable(meta: DatasetMeta) -> None:
    """ValueError unless every keypoint of ``meta`` is one the renderer draws."""
    missing = [name for name in meta.names if name not in RENDERED_KEYPOINTS]
    if missing:
        raise ValueError(f'{meta.source} names keypoints the synthetic renderer does not draw: '
                         f'{missing}; it draws {sorted(RENDERED_KEYPOINTS)}')


def coco_category(meta: DatasetMeta) -> dict:
    """The COCO ``categories`` entry: id 1, keypoint names, skeleton 1-based as in COCO."""
    return dict(supercategory='animal', id=1, name='animal', keypoints=list(meta.names),
                skeleton=[[int(a) + 1, int(b) + 1] for a, b in meta.skeleton])


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------

class Painter:
    """Draws each shape three times: anti-aliased into the image, as a layer number into the
    layer map, and into the current animal's silhouette mask.

    The layer map (H, W) uint16 holds, per pixel, the number of the last shape drawn there
    (0 = background). A keypoint is covered iff the layer at its pixel is newer than the shape
    that shows it, which handles occlusion by other animals, occluders and the animal's own
    later parts alike. Points are continuous pixel coordinates (corner origin); OpenCV's integer
    coordinates name pixel centres, hence the 0.5 shift, and ``shift`` bits keep sub-pixels.
    """

    SHIFT = 4
    _ONE = 1 << SHIFT

    def __init__(self, image: np.ndarray):
        self.image = image  # (H, W, 3) uint8 BGR
        self.layers = np.zeros(image.shape[:2], np.uint16)
        self.layer = 0
        self.mask: Optional[np.ndarray] = None

    def begin_silhouette(self) -> None:
        """Start a new (H, W) uint8 silhouette mask that later shapes also draw into."""
        self.mask = np.zeros(self.layers.shape, np.uint8)

    def end_silhouette(self) -> np.ndarray:
        mask, self.mask = self.mask, None
        return mask

    def _fix(self, p: Sequence[float]) -> Tuple[int, int]:
        return (int(round((p[0] - 0.5) * self._ONE)), int(round((p[1] - 0.5) * self._ONE)))

    def _len(self, r: float) -> int:
        return max(1, int(round(r * self._ONE)))

    def _draw(self, fn, color) -> int:
        """Run ``fn(target, color, line_type)`` on each target; returns the new layer number."""
        self.layer += 1
        if self.layer >= np.iinfo(np.uint16).max:
            raise OverflowError('more than 65534 shapes in one image')
        fn(self.image, tuple(int(c) for c in color), cv2.LINE_AA)
        fn(self.layers, (self.layer,), cv2.LINE_8)
        if self.mask is not None:
            fn(self.mask, (255,), cv2.LINE_8)
        return self.layer

    def circle(self, center: Point, radius: float, color) -> int:
        c, r = self._fix(center), self._len(radius)
        return self._draw(lambda t, col, lt: cv2.circle(t, c, r, col, -1, lt, self.SHIFT), color)

    def ellipse(self, center: Point, semi_axes: Tuple[float, float], angle: float, color) -> int:
        """Filled ellipse; ``angle`` in degrees, clockwise in the image (OpenCV's)."""
        c, ax = self._fix(center), (self._len(semi_axes[0]), self._len(semi_axes[1]))
        return self._draw(
            lambda t, col, lt: cv2.ellipse(t, c, ax, angle, 0, 360, col, -1, lt, self.SHIFT),
            color)

    def line(self, p0: Point, p1: Point, width: float, color) -> int:
        """Round-capped line ``width`` pixels wide (rounded to whole pixels by OpenCV)."""
        a, b = self._fix(p0), self._fix(p1)
        w = max(1, int(round(width)))
        return self._draw(lambda t, col, lt: cv2.line(t, a, b, col, w, lt, self.SHIFT), color)

    def polygon(self, points: np.ndarray, color) -> int:
        """Filled polygon through ``points`` (N, 2)."""
        pts = np.array([self._fix(p) for p in points], np.int32)[None]
        return self._draw(lambda t, col, lt: cv2.fillPoly(t, pts, col, lt, self.SHIFT), color)


def _rot(angle: float) -> Point:
    """Unit vector at ``angle`` radians, clockwise from +x in image coordinates (y down)."""
    return np.array([math.cos(angle), math.sin(angle)])


def _left_of(direction: Point) -> Point:
    """The animal's left when heading along ``direction``, seen from above (y down)."""
    return np.array([direction[1], -direction[0]])


def _degrees(direction: Point) -> float:
    return math.degrees(math.atan2(direction[1], direction[0]))


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    """BGR colour (3,) float in 0–255 from HSV in 0–1."""
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return np.array([b, g, r]) * 255.0


def _mix(color: np.ndarray, other: np.ndarray, t: float) -> np.ndarray:
    return color * (1.0 - t) + other * t


_WHITE, _BLACK = np.full(3, 255.0), np.zeros(3)


# ---------------------------------------------------------------------------------------------
# The animal
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Animal:
    """One animal's pose and shape, in image pixels.

    ``points`` maps every keypoint name the renderer knows to its (2,) position; the other
    fields are what drawing needs besides the keypoints.
    """

    length: float                     # L: neck to tail-base distance, pixels
    half_width: float                 # torso half-width, pixels
    chest_dir: Point                  # unit vectors of the two torso halves
    hips_dir: Point
    head_dir: Point
    head_semi: Tuple[float, float]    # head ellipse semi-axes (along, across), pixels
    points: Dict[str, Point]
    shoulders: Dict[str, Point]       # leg roots, by leg name ('left_front', …)
    tail: np.ndarray                  # (S + 1, 2) tail polyline from tail_base to tail_tip

    def extent(self) -> Tuple[float, float, float, float]:
        """Approximate (x0, y0, x1, y1) of the drawn animal, for placement before drawing."""
        pts = np.concatenate([np.stack(list(self.points.values())), self.tail])
        pad = 0.08 * self.length
        return (pts[:, 0].min() - pad, pts[:, 1].min() - pad,
                pts[:, 0].max() + pad, pts[:, 1].max() + pad)


#: The keypoints the renderer draws, with the radius (a fraction of L) of the mark that shows
#: each: round marks for the extremities; neck and tail base are junctions of shapes, located
#: about as well as the head's half-width or the tail root. synthetic_animal.py derives its OKS
#: sigmas from these radii, and a test checks that the two agree.
MARK_RADII = {
    'nose': 0.045, 'left_ear': 0.065, 'right_ear': 0.065, 'neck': 0.12, 'tail_base': 0.12,
    'tail_tip': 0.06, 'left_front_knee': 0.055, 'right_front_knee': 0.055,
    'left_front_paw': 0.06, 'right_front_paw': 0.06, 'left_back_knee': 0.055,
    'right_back_knee': 0.055, 'left_back_paw': 0.06, 'right_back_paw': 0.06,
}
RENDERED_KEYPOINTS = frozenset(MARK_RADII)
LEGS = ('left_front', 'right_front', 'left_back', 'right_back')
_TAIL_SEGMENTS = 8
TORSO_SEMI = 0.3  # semi-major axis of each torso half


def sample_animal(rng: np.random.Generator, center: Point, length: float,
                  heading: float) -> Animal:
    """Sample a pose and body shape for an animal whose torso middle is at ``center``.

    Args:
        center: (2,) torso midpoint, pixels.
        length: L, neck to tail-base distance, pixels.
        heading: direction the animal faces, radians clockwise from +x (image y points down).
    """
    L = length
    bend = rng.uniform(-0.45, 0.45)  # spine bend between chest and hips, radians
    chest_dir, hips_dir = _rot(heading + bend / 2), _rot(heading - bend / 2)
    neck = center + 0.5 * L * chest_dir
    tail_base = center - 0.5 * L * hips_dir
    half_width = rng.uniform(0.16, 0.22) * L

    head_dir = _rot(heading + bend / 2 + rng.uniform(-0.6, 0.6))
    head_len = rng.uniform(0.32, 0.40) * L
    head_semi = (head_len / 2, rng.uniform(0.09, 0.12) * L)
    # the head ellipse starts just behind the neck, so the neck point sits inside the head
    nose = neck + (head_len - 0.05 * L) * head_dir
    ear_base = neck + 0.12 * L * head_dir
    ear_side = (head_semi[1] + rng.uniform(0.0, 0.03) * L) * _left_of(head_dir)
    points = {'nose': nose, 'neck': neck, 'tail_base': tail_base,
              'left_ear': ear_base + ear_side, 'right_ear': ear_base - ear_side}

    shoulders = {}
    for leg in LEGS:
        front = leg.endswith('front')
        anchor, along = (neck - 0.15 * L * chest_dir, chest_dir) if front else \
            (tail_base + 0.15 * L * hips_dir, hips_dir)
        shoulders[leg], points[f'{leg}_knee'], points[f'{leg}_paw'] = _sample_leg(
            rng, anchor, along, L, left=leg.startswith('left'), front=front)

    tail = _sample_tail(rng, tail_base, -hips_dir, L)
    points['tail_tip'] = tail[-1]
    return Animal(L, half_width, chest_dir, hips_dir, head_dir, head_semi, points, shoulders,
                  tail)


def _sample_leg(rng: np.random.Generator, anchor: Point, along: Point, L: float, left: bool,
                front: bool) -> Tuple[Point, Point, Point]:
    """Root (under the torso), knee and paw of one leg; each (2,) pixels.

    ``anchor`` is the point on the spine the leg hangs from and ``along`` the spine direction
    there (towards the head). The upper leg swings from straight sideways towards the head or
    the tail; the lower leg bends further, forward for front legs and back for hind legs.
    """
    side = 1.0 if left else -1.0
    outward = side * _left_of(along)
    root = anchor + 0.12 * L * outward
    swing = rng.uniform(-0.7, 0.7)
    bend = rng.uniform(0.1, 1.0) * (1.0 if front else -1.0)
    base = math.atan2(outward[1], outward[0])
    # with y pointing down, turning a left leg towards the head increases its angle and
    # turning a right leg towards the head decreases it, hence the factor side
    knee = root + rng.uniform(0.20, 0.26) * L * _rot(base + side * swing)
    paw = knee + rng.uniform(0.18, 0.24) * L * _rot(base + side * (swing + bend))
    return root, knee, paw


def _sample_tail(rng: np.random.Generator, base: Point, backwards: Point, L: float) -> np.ndarray:
    """(S + 1, 2) polyline of a tail leaving ``base`` along ``backwards``, curling evenly."""
    tail_len = rng.uniform(0.45, 0.8) * L
    curl = rng.uniform(-1.5, 1.5)  # total turn along the tail, radians
    turn = curl * (np.arange(_TAIL_SEGMENTS) + 0.5) / _TAIL_SEGMENTS
    angles = math.atan2(backwards[1], backwards[0]) + turn
    steps = (tail_len / _TAIL_SEGMENTS) * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return base + np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])


def sample_palette(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Colours (BGR, 0–255 floats) of one animal's parts.

    Part colours stay recognisable across animals (dark paws, pink ears, dark nose, pale tail
    tuft) while the body colour varies freely; left parts are lighter than right ones.
    """
    body = _hsv(rng.uniform(), rng.uniform(0.15, 0.75), rng.uniform(0.35, 0.8))
    paw = _hsv(rng.uniform(0.0, 0.15), rng.uniform(0.1, 0.5), rng.uniform(0.08, 0.22))
    light, dark = rng.uniform(0.3, 0.45), rng.uniform(0.3, 0.45)
    return dict(
        body=body,
        stripe=_mix(body, _BLACK, rng.uniform(0.15, 0.35)),
        head=_mix(body, _WHITE, rng.uniform(0.0, 0.15)),
        left_leg=_mix(body, _WHITE, light), right_leg=_mix(body, _BLACK, dark),
        # knee joints: a shade off their leg, so the bend point shows as a mark
        left_knee=_mix(body, _WHITE, light + 0.2), right_knee=_mix(body, _BLACK, dark + 0.2),
        left_paw=_mix(paw, _WHITE, 0.2), right_paw=paw,
        ear=_hsv(rng.uniform(0.93, 0.99), rng.uniform(0.3, 0.55), rng.uniform(0.8, 1.0)),
        nose=_hsv(rng.uniform(0.93, 0.99), rng.uniform(0.3, 0.6), rng.uniform(0.1, 0.3)),
        tuft=_hsv(rng.uniform(0.05, 0.15), rng.uniform(0.0, 0.15), rng.uniform(0.9, 1.0)),
    )


def draw_animal(painter: Painter, animal: Animal, palette: Dict[str, np.ndarray],
                stripe: bool) -> Dict[str, int]:
    """Draw ``animal`` back to front (tail, legs, torso, head); returns, per keypoint name, the
    layer of the last shape drawn at that keypoint (a newer layer there means it is covered)."""
    owner = {}
    owner.update(_draw_tail(painter, animal, palette))
    owner.update(_draw_legs(painter, animal, palette))
    owner.update(_draw_torso(painter, animal, palette, stripe))
    owner.update(_draw_head(painter, animal, palette))
    return owner


def _draw_tail(painter: Painter, animal: Animal, palette: dict) -> Dict[str, int]:
    """The tail, thinning towards the tip, then the pale tuft that marks tail_tip."""
    L = animal.length
    widths = np.linspace(0.08, 0.035, _TAIL_SEGMENTS) * L
    for a, b, w in zip(animal.tail[:-1], animal.tail[1:], widths):
        painter.line(a, b, w, palette['body'])
    tip = animal.points['tail_tip']
    return {'tail_tip': painter.circle(tip, MARK_RADII['tail_tip'] * L, palette['tuft'])}


def _draw_legs(painter: Painter, animal: Animal, palette: dict) -> Dict[str, int]:
    """Thick upper and lower leg, a knee joint and a paw per leg, in the side's shade."""
    L, p, owner = animal.length, animal.points, {}
    for leg in LEGS:
        side = 'left' if leg.startswith('left') else 'right'
        knee, paw = p[f'{leg}_knee'], p[f'{leg}_paw']
        painter.line(animal.shoulders[leg], knee, 0.10 * L, palette[f'{side}_leg'])
        painter.line(knee, paw, 0.075 * L, palette[f'{side}_leg'])
        owner[f'{leg}_knee'] = painter.circle(knee, MARK_RADII[f'{leg}_knee'] * L,
                                              palette[f'{side}_knee'])
        owner[f'{leg}_paw'] = painter.circle(paw, MARK_RADII[f'{leg}_paw'] * L,
                                             palette[f'{side}_paw'])
    return owner


def _draw_torso(painter: Painter, animal: Animal, palette: dict,
                stripe: bool) -> Dict[str, int]:
    """Hips and chest ellipses (tail_base is the hips' rear end), and an optional stripe."""
    L, p = animal.length, animal.points
    # each half runs from its end point (tail base / neck) to past the middle, so the two
    # overlap and the bent body looks like one piece
    hips_c = p['tail_base'] + TORSO_SEMI * L * animal.hips_dir
    chest_c = p['neck'] - TORSO_SEMI * L * animal.chest_dir
    hips = painter.ellipse(hips_c, (TORSO_SEMI * L, 0.95 * animal.half_width),
                           _degrees(animal.hips_dir), palette['body'])
    painter.ellipse(chest_c, (TORSO_SEMI * L, animal.half_width), _degrees(animal.chest_dir),
                    palette['body'])
    if stripe:  # a dorsal stripe: texture on the body that is not a keypoint; it stops short
        # of the neck and the tail base so that it covers neither
        center = (p['neck'] + p['tail_base']) / 2
        painter.line(p['tail_base'] + 0.08 * L * animal.hips_dir, center, 0.05 * L,
                     palette['stripe'])
        painter.line(center, p['neck'] - 0.08 * L * animal.chest_dir, 0.05 * L,
                     palette['stripe'])
    return {'tail_base': hips}


def _draw_head(painter: Painter, animal: Animal, palette: dict) -> Dict[str, int]:
    """Head ellipse (it holds the neck point), ears with a shaded rim and pink inside, nose."""
    L, p = animal.length, animal.points
    head_c = p['neck'] + (animal.head_semi[0] - 0.05 * L) * animal.head_dir
    owner = {'neck': painter.ellipse(head_c, animal.head_semi, _degrees(animal.head_dir),
                                     palette['head'])}
    for side in ('left', 'right'):
        ear = p[f'{side}_ear']
        radius = MARK_RADII[f'{side}_ear'] * L
        painter.circle(ear, radius, palette[f'{side}_leg'])  # the rim is shaded like the legs
        owner[f'{side}_ear'] = painter.circle(ear, 0.6 * radius, palette['ear'])
    owner['nose'] = painter.circle(p['nose'], MARK_RADII['nose'] * L, palette['nose'])
    return owner


# ---------------------------------------------------------------------------------------------
# The image
# ---------------------------------------------------------------------------------------------

def render_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A (height, width, 3) uint8 BGR background: smooth two-colour noise at three scales,
    plus sticks and blobs, some in animal-like colours, so that shape matters, not colour."""
    c0 = _hsv(rng.uniform(), rng.uniform(0.05, 0.6), rng.uniform(0.25, 0.85))
    c1 = _hsv(rng.uniform(), rng.uniform(0.05, 0.6), rng.uniform(0.25, 0.85))
    noise = np.zeros((height, width), np.float32)
    for cells, weight in ((rng.integers(2, 6), 1.0), (rng.integers(8, 20), 0.5),
                          (rng.integers(30, 60), 0.25)):
        grid = rng.random((cells, cells), dtype=np.float32)
        noise += weight * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    # blend the two colours by the noise through a 256-entry table: one lookup per pixel
    level = cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX, cv2.CV_8U)
    table = c0 + (c1 - c0) * (np.arange(256)[:, None] / 255.0)
    image = cv2.LUT(cv2.cvtColor(level, cv2.COLOR_GRAY2BGR),
                    np.clip(table, 0, 255).astype(np.uint8)[None])

    short = min(width, height)
    for _ in range(rng.integers(3, 12)):
        color = tuple(float(c) for c in _hsv(rng.uniform(), rng.uniform(0, 0.8),
                                             rng.uniform(0.05, 1.0)))
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        if rng.random() < 0.5:  # stick: looks like a leg or a tail
            angle, length = rng.uniform(0, 2 * math.pi), rng.uniform(0.05, 0.3) * short
            end = (int(x + length * math.cos(angle)), int(y + length * math.sin(angle)))
            width_px = int(rng.integers(1, max(2, int(0.04 * short))))
            cv2.line(image, (int(x), int(y)), end, color, width_px, cv2.LINE_AA)
        else:  # blob: looks like a paw, an ear or a body
            axes = (int(rng.uniform(0.01, 0.08) * short) + 1,
                    int(rng.uniform(0.01, 0.08) * short) + 1)
            cv2.ellipse(image, (int(x), int(y)), axes, rng.uniform(0, 180), 0, 360, color, -1,
                        cv2.LINE_AA)
    return image


def _box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two (x0, y0, x1, y1) boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _fraction_inside(animal: Animal, width: int, height: int) -> float:
    pts = np.stack(list(animal.points.values()))
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < width) & (pts[:, 1] >= 0) & (pts[:, 1] < height)
    return float(inside.mean())


#: How many animals an image holds, and how likely each count is.
ANIMAL_COUNTS, ANIMAL_COUNT_P = (1, 2, 3, 4), (0.35, 0.35, 0.2, 0.1)
#: L (neck to tail base) as a fraction of the image's short side, sampled log-uniformly; gives
#: about 10 % small, 70 % medium and 20 % large COCO areas (the area is about 0.7 L²).
LENGTH_RANGE = (0.14, 0.75)
MAX_BOX_IOU = 0.3   # animals overlap (and occlude) but none hides another
MIN_INSIDE = 0.8    # fraction of keypoints inside the image; the rest are unlabelled


def place_animals(rng: np.random.Generator, width: int, height: int) -> List[Animal]:
    """Sample 1–4 animals that overlap little and lie mostly inside the image, back to front."""
    count = rng.choice(ANIMAL_COUNTS, p=ANIMAL_COUNT_P)
    short = min(width, height)
    # the biggest are placed first (they are the hardest to fit); the drawing order is random
    lengths = np.sort(short * np.exp(rng.uniform(*np.log(LENGTH_RANGE), size=count)))[::-1]
    animals: List[Animal] = []
    boxes: list = []
    for length in lengths:
        for attempt in range(30):
            if attempt and attempt % 10 == 0:
                length *= 0.8  # a crowded image: smaller animals fit more easily
            center = rng.uniform((0, 0), (width, height))
            animal = sample_animal(rng, center, length, rng.uniform(0, 2 * math.pi))
            box = animal.extent()
            if (_fraction_inside(animal, width, height) >= MIN_INSIDE
                    and all(_box_iou(box, b) <= MAX_BOX_IOU for b in boxes)):
                animals.append(animal)
                boxes.append(box)
                break
    return [animals[i] for i in rng.permutation(len(animals))]


def draw_occluders(rng: np.random.Generator, painter: Painter, animals: List[Animal],
                   width: int, height: int) -> None:
    """In about a third of the images, draw 1–2 rocks or grass tufts in front of the animals,
    mostly over one of them so that they do occlude keypoints."""
    if not animals or rng.random() >= 0.35:
        return
    short = min(width, height)
    for _ in range(rng.integers(1, 3)):
        target = animals[rng.integers(len(animals))]
        if rng.random() < 0.75:
            names = sorted(target.points)
            center = target.points[names[rng.integers(len(names))]] + rng.normal(0, 0.1, 2) * \
                target.length
        else:
            center = rng.uniform((0, 0), (width, height))
        color = _hsv(rng.uniform(), rng.uniform(0.1, 0.7), rng.uniform(0.2, 0.9))
        size = rng.uniform(0.04, 0.12) * short
        if rng.random() < 0.5:  # rock: an irregular polygon
            angles = np.sort(rng.uniform(0, 2 * math.pi, 7))
            radii = size * rng.uniform(0.6, 1.0, 7)
            pts = center + np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
            painter.polygon(pts, color)
        else:  # grass: a few blades
            for _ in range(rng.integers(2, 5)):
                angle = rng.uniform(-2.4, -0.7)  # pointing roughly up
                root = center + rng.normal(0, 0.3, 2) * size
                painter.line(root, root + 1.5 * size * _rot(angle), max(1.0, 0.12 * size), color)


def finish_image(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Camera-like degradation: pixel noise and, in 40 % of images, a slight blur."""
    if rng.random() < 0.4:
        image = cv2.GaussianBlur(image, (0, 0), sigmaX=rng.uniform(0.5, 1.2))
    sigma = rng.uniform(2.0, 8.0)
    # uniform noise from raw bytes (std of uniform 0..255 is 73.9): five times cheaper than
    # Gaussian noise, and the eye and the model cannot tell the two apart at this level
    uniform = np.frombuffer(rng.bytes(image.size), np.uint8).reshape(image.shape)
    noisy = image.astype(np.float32)
    noisy += (uniform.astype(np.float32) - 127.5) * np.float32(sigma / 73.9)
    return np.clip(noisy, 0, 255, out=noisy).astype(np.uint8)


@dataclasses.dataclass
class Instance:
    """One animal's annotation.

    ``keypoints`` (K, 2) float64 pixels (0 where unlabelled), ``visible`` (K,) int in {0, 1, 2},
    ``bbox`` (x, y, w, h) pixels, ``area`` silhouette pixel count inside the image.
    """

    keypoints: np.ndarray
    visible: np.ndarray
    bbox: Tuple[float, float, float, float]
    area: int

    def coco(self, ann_id: int, image_id: int) -> dict:
        """The COCO annotation dict, coordinates rounded to 1/100 pixel."""
        flat = np.concatenate([self.keypoints, self.visible[:, None]], axis=1).ravel()
        return dict(id=ann_id, image_id=image_id, category_id=1, iscrowd=0,
                    keypoints=[round(float(v), 2) for v in flat],
                    num_keypoints=int((self.visible > 0).sum()),
                    bbox=[float(v) for v in self.bbox], area=float(self.area))


def annotate(meta: DatasetMeta, animal: Animal, owner: Dict[str, int], silhouette: np.ndarray,
             layers: np.ndarray) -> Instance:
    """Keypoints in ``meta`` order with visibility read from the final layer map.

    Args:
        owner: per keypoint name, the layer of the last shape drawn at it (from draw_animal).
        silhouette: (H, W) uint8, the animal's whole silhouette (non-zero inside).
        layers: (H, W) uint16 layer map after everything was drawn.
    """
    height, width = layers.shape
    keypoints = np.zeros((meta.num_keypoints, 2))
    visible = np.zeros(meta.num_keypoints, np.int64)
    for k, name in enumerate(meta.names):
        # round first, so that the stored coordinates are the ones tested against the image
        x, y = (round(float(v), 2) for v in animal.points[name])
        if 0 <= x < width and 0 <= y < height:
            covered = layers[int(y), int(x)] > owner[name]
            keypoints[k] = (x - 0.5, y - 0.5)  # corner origin → pixel centres at whole numbers
            visible[k] = 1 if covered else 2
    x0, y0, w, h = cv2.boundingRect(silhouette)  # tight box of the non-zero pixels
    return Instance(keypoints, visible, (float(x0), float(y0), float(w), float(h)),
                    int(cv2.countNonZero(silhouette)))


def render_image(rng: np.random.Generator, meta: DatasetMeta, width: int,
                 height: int) -> Tuple[np.ndarray, List[Instance]]:
    """Render one image; returns the (height, width, 3) uint8 BGR image and its animals."""
    check_renderable(meta)
    painter = Painter(render_background(rng, width, height))
    animals = place_animals(rng, width, height)
    drawn = []
    for animal in animals:
        palette = sample_palette(rng)
        painter.begin_silhouette()
        owner = draw_animal(painter, animal, palette, stripe=bool(rng.random() < 0.5))
        drawn.append((animal, owner, painter.end_silhouette()))
    draw_occluders(rng, painter, animals, width, height)
    image = finish_image(rng, painter.image)
    return image, [annotate(meta, a, owner, mask, painter.layers) for a, owner, mask in drawn]


# ---------------------------------------------------------------------------------------------
# Detections
# ---------------------------------------------------------------------------------------------

MISS_RATE = 0.05         # GT animals the "detector" misses
DUPLICATE_RATE = 0.1     # GT animals detected twice (exercises NMS)
FALSE_POSITIVES = 0.4    # mean false detections per image


def _jittered_box(rng: np.random.Generator, bbox: Sequence[float], width: int, height: int,
                  spread: float) -> List[float]:
    """``bbox`` (x, y, w, h) moved and resized by ``spread`` of its size, clipped to the image."""
    x, y, w, h = bbox
    cx, cy = x + w / 2 + rng.normal(0, spread) * w, y + h / 2 + rng.normal(0, spread) * h
    w, h = w * math.exp(rng.normal(0, 1.5 * spread)), h * math.exp(rng.normal(0, 1.5 * spread))
    # clip to the image, keeping at least one pixel even when the centre drifted outside
    x0 = min(max(0.0, cx - w / 2), width - 1.0)
    y0 = min(max(0.0, cy - h / 2), height - 1.0)
    x1 = max(min(float(width), cx + w / 2), x0 + 1.0)
    y1 = max(min(float(height), cy + h / 2), y0 + 1.0)
    return [round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)]


def make_detections(rng: np.random.Generator, image: dict, annotations: List[dict]) -> List[dict]:
    """COCO detection results for one image, derived from its GT boxes: jittered boxes with high
    scores, a few misses and duplicates, and false positives with low scores."""
    width, height = image['width'], image['height']
    dets = []
    for ann in annotations:
        if rng.random() < MISS_RATE:
            continue
        dets.append((_jittered_box(rng, ann['bbox'], width, height, 0.05), rng.uniform(0.55, 1.0)))
        if rng.random() < DUPLICATE_RATE:
            dets.append((_jittered_box(rng, ann['bbox'], width, height, 0.15),
                         rng.uniform(0.3, 0.7)))
    short = min(width, height)
    for _ in range(rng.poisson(FALSE_POSITIVES)):
        w, h = rng.uniform(0.1, 0.4, 2) * short
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        box = [round(float(v), 2) for v in (x, y, w, h)]
        dets.append((box, rng.uniform(0.02, 0.5)))
    dets.sort(key=lambda d: -d[1])
    return [dict(image_id=image['id'], category_id=1, bbox=box, score=round(float(score), 4))
            for box, score in dets]


# ---------------------------------------------------------------------------------------------
# Writing a dataset
# ---------------------------------------------------------------------------------------------

def _rng(seed: int, stream: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODES[stream], index]))


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, separators=(',', ':')))


def write_split(root: Path, split: str, meta: DatasetMeta, num_images: int,
                image_size: Tuple[int, int], seed: int) -> dict:
    """Render a split's images into ``root/images/<split>/``; returns its COCO dict."""
    width, height = image_size
    image_dir = root / 'images' / split
    image_dir.mkdir(parents=True)
    digits = max(6, len(str(num_images)))
    images, annotations = [], []
    for index in range(num_images):
        image, instances = render_image(_rng(seed, split, index), meta, width, height)
        image_id = index + 1
        file_name = f'{image_id:0{digits}d}.jpg'
        ok, jpeg = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f'OpenCV could not encode {split} image {image_id} as JPEG')
        (image_dir / file_name).write_bytes(jpeg.tobytes())
        images.append(dict(id=image_id, file_name=file_name, width=width, height=height))
        for inst in instances:
            annotations.append(inst.coco(ann_id=len(annotations) + 1, image_id=image_id))
    return dict(info=dict(description=f'posecfg {meta.dataset_name}, {split} split',
                          generator_version=GENERATOR_VERSION, seed=seed),
                images=images, annotations=annotations, categories=[coco_category(meta)])


def detections_for(coco: dict, seed: int) -> List[dict]:
    """Detection results for every image of a split's COCO dict, image by image."""
    by_image: Dict[int, list] = {img['id']: [] for img in coco['images']}
    for ann in coco['annotations']:
        by_image[ann['image_id']].append(ann)
    dets = []
    for index, image in enumerate(coco['images']):
        dets.extend(make_detections(_rng(seed, 'val_detections', index), image,
                                    by_image[image['id']]))
    return dets


def dataset_params(num_train: int, num_val: int, image_size: Tuple[int, int], seed: int,
                   meta: DatasetMeta) -> dict:
    """Everything that determines the files: equal params mean byte-identical datasets."""
    return dict(generator='posecfg.datasets.synthetic', generator_version=GENERATOR_VERSION,
                dataset_name=meta.dataset_name, keypoints=list(meta.names),
                skeleton=meta.skeleton.tolist(), seed=seed,
                num_train=num_train, num_val=num_val, image_size=list(image_size))


#: Files besides the images that a complete dataset has, relative to its root.
EXPECTED_FILES = (MANIFEST_NAME, 'annotations/train.json', 'annotations/val.json',
                  'annotations/val_detections.json')


def _is_complete(root: Path, params: dict) -> bool:
    if not all((root / f).is_file() for f in EXPECTED_FILES):
        return False
    counts = {'train': params['num_train'], 'val': params['num_val']}
    return all((root / 'images' / s).is_dir()
               and sum(1 for _ in (root / 'images' / s).iterdir()) == n
               for s, n in counts.items())


def existing_dataset(root: Path, params: dict, is_complete=_is_complete) -> Optional[str]:
    """What is at ``root``: None (nothing, or an empty directory), 'same' (this dataset,
    complete) or 'different' (another synthetic dataset, or an incomplete one).

    Raises DatasetExistsError when ``root`` holds anything that is not a synthetic dataset:
    such a directory is never replaced, whatever ``overwrite`` says.
    """
    if not root.exists():
        return None
    if not root.is_dir():
        raise DatasetExistsError(f'{root} exists and is not a directory')
    if not any(root.iterdir()):
        return None
    manifest_path = root / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text())
        found = manifest['params']
    except (OSError, ValueError, KeyError, TypeError):
        raise DatasetExistsError(
            f'{root} is not empty and is not a posecfg synthetic dataset (no readable '
            f'{MANIFEST_NAME}); choose another output directory or remove it yourself') from None
    if found == params and is_complete(root, params):
        return 'same'
    return 'different'


def _differences(root: Path, params: dict) -> str:
    try:
        found = json.loads((root / MANIFEST_NAME).read_text())['params']
    except (OSError, ValueError, KeyError):
        return 'unreadable manifest'
    diffs = [f'{k}: {found.get(k)!r} there, {v!r} asked' for k, v in params.items()
             if found.get(k) != v]
    return '; '.join(diffs) or 'same parameters but files are missing'


@dataclasses.dataclass
class DatasetSummary:
    """What a dataset directory holds, for printing."""

    root: Path
    created: bool                      # False when an identical dataset was already there
    seconds: float                     # generation time (0 when reused)
    splits: Dict[str, dict]            # per split: images, instances, keypoint and area counts
    detections: int

    @property
    def images_per_second(self) -> float:
        total = sum(s['images'] for s in self.splits.values())
        return total / self.seconds if self.seconds > 0 else float('nan')

    def format(self) -> str:
        """Multi-line human-readable report."""
        verb = 'wrote' if self.created else 'already up to date:'
        lines = [f'{verb} {self.root}']
        for split, s in self.splits.items():
            lines.append(
                f'  {split:5s} images/{split}/ ({s["images"]} JPEG) + annotations/{split}.json: '
                f'{s["instances"]} animals, {s["labelled"]} labelled keypoints '
                f'({s["occluded"]} occluded, {s["unlabelled"]} outside the image); areas '
                f'small/medium/large = {s["small"]}/{s["medium"]}/{s["large"]}')
        lines.append(f'  annotations/val_detections.json: {self.detections} detection boxes')
        if self.created:
            lines.append(f'  {self.seconds:.1f} s, {self.images_per_second:.0f} images/s')
        return '\n'.join(lines)

    __str__ = format  # print(summary) shows the report


def _split_stats(coco: dict) -> dict:
    vis = np.array([a['keypoints'][2::3] for a in coco['annotations']]).reshape(-1)
    areas = np.array([a['area'] for a in coco['annotations']])
    return dict(images=len(coco['images']), instances=len(coco['annotations']),
                labelled=int((vis > 0).sum()), occluded=int((vis == 1).sum()),
                unlabelled=int((vis == 0).sum()),
                small=int((areas < AREA_SMALL).sum()),
                medium=int(((areas >= AREA_SMALL) & (areas < AREA_MEDIUM)).sum()),
                large=int((areas >= AREA_MEDIUM).sum()))


def summarize(root: Path, created: bool, seconds: float) -> DatasetSummary:
    """Read a dataset's annotation files back into a summary."""
    root = Path(root)
    splits = {s: _split_stats(json.loads((root / 'annotations' / f'{s}.json').read_text()))
              for s in SPLITS}
    dets = json.loads((root / 'annotations' / 'val_detections.json').read_text())
    return DatasetSummary(root, created, seconds, splits, len(dets))


def _check_args(num_train: int, num_val: int, image_size: Tuple[int, int], seed: int) -> None:
    if num_train < 1 or num_val < 1:
        raise ValueError(f'num_train and num_val must be at least 1, got {num_train}, {num_val}')
    if len(image_size) != 2 or min(image_size) < 64:
        raise ValueError(f'image_size must be (width, height), each at least 64 pixels, '
                         f'got {tuple(image_size)}')
    if seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed}')


def _write_all(tmp: Path, meta: DatasetMeta, params: dict) -> None:
    """Write a whole dataset into the (empty) directory ``tmp``; the manifest goes last."""
    size, seed = tuple(params['image_size']), params['seed']
    (tmp / 'annotations').mkdir()
    for split in SPLITS:
        coco = write_split(tmp, split, meta, params[f'num_{split}'], size, seed)
        _write_json(tmp / 'annotations' / f'{split}.json', coco)
        if split == 'val':
            _write_json(tmp / 'annotations' / 'val_detections.json', detections_for(coco, seed))
    _write_json(tmp / MANIFEST_NAME, dict(
        params=params, written_with=dict(opencv=cv2.__version__, numpy=np.__version__)))


def generate_dataset(out_dir: os.PathLike, num_train: int = 400, num_val: int = 100,
                     image_size: Tuple[int, int] = (320, 240), seed: int = 0,
                     overwrite: bool = False,
                     dataset_info: os.PathLike = DEFAULT_DATASET_INFO) -> DatasetSummary:
    """Write the synthetic dataset to ``out_dir`` (layout in the module docstring).

    Everything is written to a temporary sibling directory and renamed into place, so an
    interrupted run leaves no half dataset at ``out_dir``. If ``out_dir`` already holds the
    same dataset (same parameters and generator version) nothing is written; if it holds a
    different synthetic dataset, :class:`DatasetExistsError` is raised unless ``overwrite``;
    a non-empty directory that is not a synthetic dataset is never replaced.

    Args:
        image_size: (width, height) in pixels.
        dataset_info: the ``configs/_base_/datasets/*.py`` file with the keypoint facts.
    """
    _check_args(num_train, num_val, image_size, seed)
    meta = load_keypoint_meta(dataset_info)
    params = dataset_params(num_train, num_val, tuple(int(v) for v in image_size), seed, meta)
    return write_generated(Path(out_dir), params, lambda tmp: _write_all(tmp, meta, params),
                           summarize, overwrite, _is_complete)


def write_generated(root: Path, params: dict, write, summarize_fn, overwrite: bool,
                    is_complete):
    """Write a generated dataset to ``root`` unless the same one is there (module docstring of
    :func:`generate_dataset`): ``write(tmp)`` fills an empty sibling directory (the manifest
    with ``params`` last), which is then renamed into place; ``summarize_fn(root, created,
    seconds)`` is returned; ``is_complete(root, params)`` tells a finished dataset."""
    state = existing_dataset(root, params, is_complete)
    if state == 'same':
        return summarize_fn(root, created=False, seconds=0.0)
    if state == 'different' and not overwrite:
        raise DatasetExistsError(f'{root} holds a different synthetic dataset '
                                 f'({_differences(root, params)}); pass overwrite=True '
                                 f'(--overwrite) to replace it')
    root.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tmp = _make_sibling(root, 'partial')
    try:
        write(tmp)
        seconds = time.perf_counter() - start
        _move_into_place(tmp, root, params, replace=state == 'different',
                         is_complete=is_complete)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return summarize_fn(root, created=True, seconds=seconds)


def _make_sibling(root: Path, purpose: str) -> Path:
    """Create a new hidden directory next to ``root`` (same file system, so renames are
    atomic). Unlike tempfile.mkdtemp's 0700, it gets the user's usual permissions, which the
    dataset keeps once renamed into place."""
    for _ in range(100):
        path = root.parent / f'.{root.name}.{purpose}-{os.getpid()}-{secrets.token_hex(4)}'
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f'could not create a temporary directory next to {root}')


def _move_into_place(tmp: Path, root: Path, params: dict, replace: bool,
                     is_complete=_is_complete) -> None:
    """Rename the finished ``tmp`` to ``root``; the old dataset (if ``replace``) is renamed
    aside first and deleted after, so ``root`` never holds a mix of the two."""
    old = None
    if replace:
        old = _make_sibling(root, 'old')
        os.replace(root, old / 'dataset')
    try:
        os.replace(tmp, root)  # also replaces an empty directory
    except OSError:
        # another run created root meanwhile: fine if it made the same dataset
        if existing_dataset(root, params, is_complete) != 'same':
            raise DatasetExistsError(f'{root} appeared while this dataset was being written')
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
