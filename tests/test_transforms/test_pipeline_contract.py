"""The pipeline contract: lazy decoding is an optimisation, never a surprise. A pixel step
(``cv2.GaussianBlur`` called on ``results['img']``) placed at every position of the seed's train
pipeline gets pixels, changes the pixels it should, and leaves the geometry alone.

Oracle for a blur before the crop: the image decoded with ``cv2.imread``, mirrored when the
sample was flipped, blurred and warped into the crop with ``cv2.warpAffine`` (the crop matrix
itself is checked against MMPose's formulas in ``test_affine.py``)."""
import os

import cv2
import numpy as np
import torch

from posecfg.config import Config
from posecfg.geometry import bbox_xywh2cs
from posecfg.transforms import Compose
from posecfg.transforms.affine import crop_matrix

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = os.path.join(REPO, 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
                          'res50_coco_256x192.py')
KERNEL = (7, 7)


class GaussianBlur:
    """A pixel step as users write them: OpenCV straight on ``results['img']``; on the CHW
    tensor after ``ToTensor``, channel-last and back."""

    def __init__(self):
        self.kinds = []

    def __call__(self, results):
        img = results['img']
        self.kinds.append(type(img).__name__)
        if torch.is_tensor(img):
            hwc = np.ascontiguousarray(img.permute(1, 2, 0).numpy())
            results['img'] = torch.from_numpy(cv2.GaussianBlur(hwc, KERNEL, 0)).permute(2, 0, 1)
        else:
            results['img'] = cv2.GaussianBlur(img, KERNEL, 0)
        return results


def seed_train_pipeline():
    """The seed config's train pipeline, collecting ``flip`` too (to build the oracle)."""
    steps = [dict(s) for s in Config.fromfile(SEED).to_dict()['train_pipeline']]
    steps[-1]['meta_keys'] = list(steps[-1]['meta_keys']) + ['flip']
    return steps


def with_crop(rec):
    rec['center'], rec['scale'] = bbox_xywh2cs(rec['bbox'], 192 / 256, padding=1.25)
    return rec


def run(steps, rec, seed):
    np.random.seed(seed)
    return Compose(steps)(with_crop(rec))


def oracle(rec, meta):
    img = cv2.cvtColor(cv2.imread(rec['image_file']), cv2.COLOR_BGR2RGB)
    if meta['flip']:
        img = np.ascontiguousarray(img[:, ::-1])
    img = cv2.GaussianBlur(img, KERNEL, 0)
    matrix = crop_matrix(meta['center'], meta['scale'], meta['rotation'], (192, 256), False)
    return cv2.warpAffine(img, matrix, (192, 256), flags=cv2.INTER_LINEAR)


def test_a_pixel_step_works_at_every_position_of_the_seed_pipeline(coco_records):
    steps = seed_train_pipeline()
    names = [s['type'] for s in steps]
    affine = names.index('TopDownAffine')
    records = coco_records()[:4]
    for position in range(1, len(steps)):  # after loading, before Collect's repacking
        for seed, rec in enumerate(records):
            plain = run(steps, dict(rec), seed)
            blur = GaussianBlur()
            out = run(steps[:position] + [blur] + steps[position:], dict(rec), seed)
            where = f'blur before {names[position]} (sample {seed})'
            # pixels, never a lazily decoded image
            assert blur.kinds[0] in ('ndarray', 'Tensor'), where
            # the geometry is the pipeline's, whatever the pixel step did
            for key in ('target', 'target_weight'):
                np.testing.assert_array_equal(out[key], plain[key], err_msg=where)
            for key in ('joints_3d', 'center', 'scale', 'rotation', 'flip'):
                np.testing.assert_array_equal(out['img_metas'][key], plain['img_metas'][key],
                                              err_msg=where)
            got = out['img'].permute(1, 2, 0).numpy().astype(np.int64)
            if position > affine:  # the crop itself blurred
                hwc = np.ascontiguousarray(plain['img'].permute(1, 2, 0).numpy())
                np.testing.assert_array_equal(got, cv2.GaussianBlur(hwc, KERNEL, 0),
                                              err_msg=where)
            else:  # the whole (mirrored) image blurred, then cropped
                diff = np.abs(got - oracle(rec, out['img_metas']).astype(np.int64))
                # equal up to rounding; a flip the warp folds in (instead of mirroring the
                # array) samples the image's edge column differently where it meets the border
                assert diff.mean() < 0.02 and (diff > 2).mean() < 1e-3, (
                    where, diff.max(), diff.mean(), (diff > 2).mean())
            assert not np.array_equal(out['img'], plain['img']), where
