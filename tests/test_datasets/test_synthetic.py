"""The synthetic quadruped dataset: determinism, COCO validity, visibility, detections, and the
write-to-temp-then-rename / refuse-to-overwrite behaviour of the generator and its tool."""
import hashlib
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from posecfg.datasets import synthetic
from posecfg.datasets.metainfo import load_dataset_info, parse_dataset_info
from posecfg.datasets.synthetic import (DEFAULT_DATASET_INFO, DatasetExistsError, Painter,
                                        generate_dataset, load_keypoint_meta, render_image)

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = dict(num_train=6, num_val=24, image_size=(320, 240), seed=3)
TINY = dict(SMALL, num_train=2, num_val=2)  # for tests of how files are written
WIDTH, HEIGHT = SMALL['image_size']


@pytest.fixture(scope='module')
def meta():
    return load_keypoint_meta()


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """A small dataset on disk, shared by the read-only tests."""
    root = tmp_path_factory.mktemp('synthetic') / 'animals'
    generate_dataset(root, **SMALL)
    return root


@pytest.fixture(scope='module')
def rendered(meta):
    """80 images rendered in memory: enough for every kind of case to occur."""
    return [render_image(synthetic._rng(0, 'train', i), meta, WIDTH, HEIGHT)[1]
            for i in range(80)]


def read(root, name):
    return json.loads((root / 'annotations' / name).read_text())


def tree_bytes(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file()}


def leftovers(parent: Path) -> list:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith('.'))


# ------------------------------------------------------------------------------ determinism
def test_same_seed_gives_identical_bytes(dataset, tmp_path):
    again = tmp_path / 'again'
    generate_dataset(again, **SMALL)
    assert tree_bytes(again) == tree_bytes(dataset)


#: (GENERATOR_VERSION, digest of what seed 0 renders). A dataset on disk is recognised by its
#: parameters and GENERATOR_VERSION, so a change to the rendering must bump the version, or an old
#: dataset would be taken for a new one. A change of numpy or OpenCV that alters the pixels shows
#: up here too: "same seed, same bytes" then no longer holds across the two versions.
RENDER_FINGERPRINT = (2, 'e3aa63c0c1703435')


def test_rendering_changes_come_with_a_new_generator_version(meta):
    digest = hashlib.sha256()
    for index in range(3):
        image, instances = render_image(synthetic._rng(0, 'train', index), meta, WIDTH, HEIGHT)
        digest.update(image.tobytes())
        digest.update(json.dumps([inst.coco(1, 1) for inst in instances]).encode())
    found = (synthetic.GENERATOR_VERSION, digest.hexdigest()[:16])
    assert found == RENDER_FINGERPRINT, (
        f'the synthetic images or annotations changed (fingerprint {found}); if that is '
        f'intended, bump GENERATOR_VERSION in posecfg/datasets/synthetic.py and set '
        f'RENDER_FINGERPRINT here to the new pair')


def test_other_seed_gives_other_images(dataset, tmp_path):
    other = tmp_path / 'other'
    generate_dataset(other, **{**TINY, 'seed': 4})
    assert (other / 'images/train/000001.jpg').read_bytes() != \
        (dataset / 'images/train/000001.jpg').read_bytes()


def test_more_images_keep_the_first_ones(dataset, tmp_path):
    fewer = tmp_path / 'fewer'
    generate_dataset(fewer, **TINY)
    for name in ('000001.jpg', '000002.jpg'):
        assert (fewer / 'images/train' / name).read_bytes() == \
            (dataset / 'images/train' / name).read_bytes()
    assert read(fewer, 'train.json')['images'] == read(dataset, 'train.json')['images'][:2]


# ------------------------------------------------------------------------------ layout and COCO
def test_layout_and_category_match_the_dataset_info(dataset):
    names = {p.relative_to(dataset).as_posix() for p in dataset.rglob('*') if p.is_file()}
    assert {'manifest.json', 'annotations/train.json', 'annotations/val.json',
            'annotations/val_detections.json'} <= names
    assert len([n for n in names if n.startswith('images/train/')]) == SMALL['num_train']
    assert len([n for n in names if n.startswith('images/val/')]) == SMALL['num_val']
    info = load_dataset_info(DEFAULT_DATASET_INFO)
    names_in_order = [info['keypoint_info'][i]['name'] for i in range(len(info['keypoint_info']))]
    links = [info['skeleton_info'][i]['link'] for i in sorted(info['skeleton_info'])]
    for split in ('train', 'val'):
        (category,) = read(dataset, f'{split}.json')['categories']
        assert category['id'] == 1 and category['keypoints'] == names_in_order
        # COCO skeletons are 1-based
        assert [tuple(names_in_order[i - 1] for i in link) for link in category['skeleton']] \
            == [tuple(link) for link in links]


@pytest.mark.parametrize('split', ['train', 'val'])
def test_annotations_are_valid_coco_keypoints(dataset, split):
    coco = read(dataset, f'{split}.json')
    images = {img['id']: img for img in coco['images']}
    assert len(images) == len(coco['images'])
    for img in coco['images']:
        assert (dataset / 'images' / split / img['file_name']).is_file()
        assert (img['width'], img['height']) == (WIDTH, HEIGHT)
    ann_ids = [a['id'] for a in coco['annotations']]
    assert len(set(ann_ids)) == len(ann_ids) > len(images)  # several animals per image
    num = len(coco['categories'][0]['keypoints'])
    for ann in coco['annotations']:
        assert ann['image_id'] in images and ann['category_id'] == 1 and ann['iscrowd'] == 0
        kpts = np.array(ann['keypoints'], float).reshape(num, 3)
        vis = kpts[:, 2]
        assert set(vis) <= {0, 1, 2}
        assert ann['num_keypoints'] == int((vis > 0).sum()) > 0
        assert (kpts[vis == 0, :2] == 0).all()  # unlabelled: x = y = 0, as in COCO
        x, y, w, h = ann['bbox']
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= WIDTH and y + h <= HEIGHT
        assert 0 < ann['area'] <= w * h
        labelled = kpts[vis > 0, :2]
        # inside the image: pixel centres are whole numbers, so pixels span [-0.5, W - 0.5)
        assert ((labelled >= -0.5) & (labelled < [WIDTH - 0.5, HEIGHT - 0.5])).all()
        # every keypoint lies on a drawn part, so inside the silhouette's box (pixel rounding)
        assert ((labelled >= [x - 1, y - 1]) & (labelled <= [x + w + 1, y + h + 1])).all()


def test_the_cases_real_data_has_all_occur(rendered):
    instances = [inst for image in rendered for inst in image]
    vis = np.concatenate([inst.visible for inst in instances])
    areas = np.array([inst.area for inst in instances])
    assert {0, 1, 2} <= set(vis.tolist())  # outside the image, occluded, visible
    assert (vis == 2).mean() > 0.8  # but mostly visible
    assert (areas < 32 ** 2).any() and ((areas >= 32 ** 2) & (areas < 96 ** 2)).any() \
        and (areas >= 96 ** 2).any()  # COCO small, medium and large
    assert max(len(image) for image in rendered) >= 3


def test_oks_sigmas_follow_from_the_drawn_marks(meta, rendered):
    """synthetic_animal.py derives each sigma as r / (sqrt(2) * sqrt(area)) with r the mark
    radius; the area per L² it assumes must still be what the renderer draws."""
    neck, tail_base = meta.index('neck'), meta.index('tail_base')
    ratios = [inst.area / np.sum((inst.keypoints[neck] - inst.keypoints[tail_base]) ** 2)
              for image in rendered for inst in image if (inst.visible > 0).all()]
    area_per_l2 = float(np.mean(ratios))
    expected = [synthetic.MARK_RADII[name] / math.sqrt(2 * area_per_l2) for name in meta.names]
    np.testing.assert_allclose(meta.sigmas, expected, rtol=0.06)


# ------------------------------------------------------------------------------ geometry
def test_left_is_left_of_the_heading(meta):
    """Seen from above, an animal facing up (-y) has its left side at smaller x."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        animal = synthetic.sample_animal(rng, np.array([160.0, 120.0]), 80.0, -math.pi / 2)
        for left, right in meta.flip_pairs:
            assert animal.points[meta.names[left]][0] < animal.points[meta.names[right]][0]
        assert animal.points['nose'][1] < animal.points['neck'][1] < animal.points['tail_base'][1]


def test_visibility_reads_what_covers_the_keypoint(meta):
    rng = np.random.default_rng(1)
    painter = Painter(np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    # facing right with the head near the right edge: the nose may leave the image
    animal = synthetic.sample_animal(rng, np.array([270.0, 120.0]), 80.0, 0.0)
    painter.begin_silhouette()
    owner = synthetic.draw_animal(painter, animal, synthetic.sample_palette(rng), stripe=False)
    silhouette = painter.end_silhouette()
    painter.circle(animal.points['tail_base'], 6.0, (255, 255, 255))  # an occluder
    inst = synthetic.annotate(meta, animal, owner, silhouette, painter.layers)
    vis = dict(zip(meta.names, inst.visible.tolist()))
    assert animal.points['nose'][0] >= WIDTH and vis['nose'] == 0
    assert (inst.keypoints[meta.index('nose')] == 0).all()
    assert vis['tail_base'] == 1
    # nothing is drawn over these after them: the head is drawn last but for ears and nose,
    # and hind paws always stick out beside the torso
    assert vis['neck'] == vis['left_back_paw'] == vis['right_back_paw'] == 2


def test_a_dataset_info_naming_undrawn_keypoints_is_refused(tmp_path):
    text = DEFAULT_DATASET_INFO.read_text().replace("'left_ear'", "'left_eye'")
    edited = tmp_path / 'edited.py'
    edited.write_text(text)
    with pytest.raises(ValueError, match="left_eye"):
        generate_dataset(tmp_path / 'out', **SMALL, dataset_info=edited)
    assert not (tmp_path / 'out').exists()


# ------------------------------------------------------------------------------ detections
def test_detections_derive_from_the_ground_truth_boxes(dataset):
    coco = read(dataset, 'val.json')
    dets = read(dataset, 'val_detections.json')
    image_ids = {img['id'] for img in coco['images']}
    for det in dets:
        assert set(det) == {'image_id', 'category_id', 'bbox', 'score'}
        assert det['image_id'] in image_ids and det['category_id'] == 1
        assert 0 < det['score'] <= 1
        x, y, w, h = det['bbox']
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= WIDTH + 0.01 and y + h <= HEIGHT + 0.01

    def best_iou(box, boxes):
        return max([iou(box, b) for b in boxes] or [0.0])

    by_image = {}
    for det in dets:
        by_image.setdefault(det['image_id'], []).append(det['bbox'])
    gts = coco['annotations']
    found = [best_iou(a['bbox'], by_image.get(a['image_id'], [])) >= 0.5 for a in gts]
    assert 0.8 <= np.mean(found) <= 1.0
    gt_boxes = {}
    for a in gts:
        gt_boxes.setdefault(a['image_id'], []).append(a['bbox'])
    false = [d for d in dets if best_iou(d['bbox'], gt_boxes.get(d['image_id'], [])) < 0.1]
    assert false and max(d['score'] for d in false) <= 0.5  # false positives score low


def iou(a, b):
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    iw = min(ax0 + aw, bx0 + bw) - max(ax0, bx0)
    ih = min(ay0 + ah, by0 + bh) - max(ay0, by0)
    inter = max(iw, 0) * max(ih, 0)
    return inter / (aw * ah + bw * bh - inter)


def test_files_load_in_the_coco_dataset_class(dataset, make_data_cfg):
    from posecfg.datasets import TopDownCocoDataset
    coco = read(dataset, 'val.json')
    cfg = make_data_cfg(14, image_size=[128, 128], heatmap_size=[32, 32])
    gt = TopDownCocoDataset(str(dataset / 'annotations/val.json'), str(dataset / 'images/val'),
                            cfg, [], dataset_info=str(DEFAULT_DATASET_INFO))
    assert len(gt) == len(coco['annotations'])
    cfg = make_data_cfg(14, use_gt_bbox=False, det_bbox_thr=0.0,
                        bbox_file=str(dataset / 'annotations/val_detections.json'))
    det = TopDownCocoDataset(str(dataset / 'annotations/val.json'), str(dataset / 'images/val'),
                             cfg, [], dataset_info=str(DEFAULT_DATASET_INFO), test_mode=True)
    assert len(det) == len(read(dataset, 'val_detections.json'))


# ------------------------------------------------------------------------------ writing safely
def test_same_request_twice_writes_nothing(dataset):
    before = {p: p.stat().st_mtime_ns for p in dataset.rglob('*')}
    summary = generate_dataset(dataset, **SMALL)
    assert not summary.created
    assert {p: p.stat().st_mtime_ns for p in dataset.rglob('*')} == before


def test_a_different_dataset_is_replaced_only_when_asked(tmp_path):
    root = tmp_path / 'ds'
    generate_dataset(root, **TINY)
    with pytest.raises(DatasetExistsError, match=r'num_val: 2 there, 3 asked.*overwrite'):
        generate_dataset(root, **{**TINY, 'num_val': 3})
    assert json.loads((root / 'manifest.json').read_text())['params']['num_val'] == 2
    generate_dataset(root, **{**TINY, 'num_val': 3}, overwrite=True)
    assert len(list((root / 'images/val').iterdir())) == 3
    assert leftovers(tmp_path) == []


def test_an_incomplete_dataset_is_not_taken_for_complete(tmp_path):
    root = tmp_path / 'ds'
    generate_dataset(root, **TINY)
    (root / 'images/val/000002.jpg').unlink()
    with pytest.raises(DatasetExistsError, match='files are missing'):
        generate_dataset(root, **TINY)
    assert generate_dataset(root, **TINY, overwrite=True).created
    assert (root / 'images/val/000002.jpg').is_file()


def test_other_directories_are_never_replaced(tmp_path):
    root = tmp_path / 'mine'
    root.mkdir()
    (root / 'thesis.tex').write_text('precious')
    with pytest.raises(DatasetExistsError, match='not a posecfg synthetic dataset'):
        generate_dataset(root, **TINY, overwrite=True)
    assert [p.name for p in root.iterdir()] == ['thesis.tex']
    assert leftovers(tmp_path) == []


def test_an_empty_directory_is_filled(tmp_path):
    root = tmp_path / 'empty'
    root.mkdir()
    assert generate_dataset(root, **TINY).created
    assert (root / 'manifest.json').is_file()


@pytest.mark.parametrize('existing', [False, True])
def test_an_interrupted_run_leaves_no_half_dataset(tmp_path, monkeypatch, existing):
    root = tmp_path / 'ds'
    if existing:
        generate_dataset(root, **{**TINY, 'seed': 9})
        before = tree_bytes(root)
    calls = []
    real = synthetic.render_image

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(synthetic, 'render_image', failing)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(root, **TINY, overwrite=True)
    if existing:
        assert tree_bytes(root) == before
    else:
        assert not root.exists()
    assert leftovers(tmp_path) == []


def test_bad_arguments_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match='num_train'):
        generate_dataset(tmp_path / 'x', **{**SMALL, 'num_train': 0})
    with pytest.raises(ValueError, match='image_size'):
        generate_dataset(tmp_path / 'x', **{**SMALL, 'image_size': (32, 240)})


# ------------------------------------------------------------------------------ the tool
def load_tool():
    path = REPO_ROOT / 'tools' / 'make_synthetic_dataset.py'
    spec = importlib.util.spec_from_file_location('make_synthetic_dataset', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_writes_reports_and_refuses(tmp_path, capsys):
    tool = load_tool()
    out = tmp_path / 'cli'
    args = [str(out), '--num-train', '2', '--num-val', '2', '--image-size', '160', '120',
            '--seed', '5']
    assert tool.main(args) == 0
    printed = capsys.readouterr().out
    assert f'wrote {out}' in printed and 'images/s' in printed
    assert 'val_detections.json' in printed
    manifest = json.loads((out / 'manifest.json').read_text())['params']
    assert manifest['image_size'] == [160, 120] and manifest['seed'] == 5
    assert tool.main(args) == 0 and 'already up to date' in capsys.readouterr().out
    assert tool.main(args[:-1] + ['6']) == 1
    assert '--overwrite' in capsys.readouterr().err
    assert tool.main(args[:-1] + ['6', '--overwrite']) == 0
    assert tool.main([str(tmp_path / 'bad'), '--num-val', '0']) == 2
    assert 'num_val' in capsys.readouterr().err
    missing = tmp_path / 'missing.py'
    assert tool.main([str(tmp_path / 'bad'), '--dataset-info', str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_the_dataset_info_file_is_the_one_mmengine_reads():
    from mmengine import Config
    expected = Config.fromfile(str(DEFAULT_DATASET_INFO)).to_dict()['dataset_info']
    assert parse_dataset_info(expected).names == load_keypoint_meta().names
