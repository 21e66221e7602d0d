"""Every part posecfg registers, in every registry, is built from its ``example_args`` and
exercised by kind (timm-style registry tests).

Parts are found by walking the registries of :mod:`posecfg.registry` after importing
:mod:`posecfg.engine.registration`, so a new registered class is tested by being registered:
``test_every_part_has_example_args`` fails, listing it, until it declares ``example_args`` (its
own class attribute, not one inherited), and the exercise of its kind then runs on it.

Kinds and what is checked (each check can fail):

- transform: run (through ``Compose``, so lazy-image rules apply) on a real top-down sample and
  a real whole-image record of MMPose's COCO test image; it must accept at least one of them,
  keep that record's contract (keys, dtypes, shapes) and draw its randomness from ``np.random``
  (same seed, same output);
- codec: encode three keypoints, decode the targets as a perfect head's outputs (the codec's
  ``output_keys``), get them back within half a heatmap cell;
- loss: a finite 0-dim value, minimal (0) for equal prediction and target, growing with error
  (inputs: the class's ``example_inputs()`` → (prediction, target, *rest), by default heatmaps
  (2, 3, 8, 6) twice and joint weights (2, 3, 1)); a class's ``example_perfect(target)`` moves
  the minimum (BCE on logits), ``example_move(prediction, step)`` keeps moved predictions valid
  (distributions), ``aggregates_losses`` checks an aggregator's formula instead;
  ``unsupervised_loss`` losses (Lightning Pose's PCA and temporal losses) take no target: they
  are called ``loss(prediction, *rest)`` and the example's "target" is their zero-loss point
  (a pose on the fitted subspace, a still sequence);
- codec: a codec that only encodes or only decodes (DeepLabCut's generators and predictor)
  gives ``example_round_trip``, the other half (or an encoder whose ``generators`` hold it);
- metric: process + compute on a tiny image-level set; perfect predictions give each value's
  best (1 or 100 for scores, 0 for errors), shifted predictions a different value;
- backbone / head / estimator: output shapes (a head reads features of its
  ``example_feature_shapes``, see ``BaseHead``); losses finite, every parameter gets a gradient,
  a few optimizer steps lower the loss; predictions (N, K, 2) pixels and (N, K) scores;
- preprocessor: a uint8 batch becomes normalized float images;
- collate function: samples of a batch stacked / listed (``sample_kind = 'frame_sequence'``:
  sequences of frames, all frames in one batch);
- sampler, scheduler, optimizer wrapper: sampled indices, the learning rate against its
  formula, a step that changes the weights;
- dataset: its first image record keeps the record contract; its first sample has the keys of
  its data mode (``sample_kind = 'frame_sequence'``: unlabeled video sequences, (T, 3, h, w)
  uint8 frames with the warp matrix of their augmentation);
- hook, loop: a real tiny mmengine runner (the TopDown example on MMPose's COCO test data)
  trains, validates and tests with them, each hook's own callbacks being called.
"""
import copy
import functools
import re
import sys

import numpy as np
import pytest
import torch

import posecfg.engine.registration  # noqa: F401  (registers every part)
from posecfg import registry as R
from posecfg.datasets.records import check_image_record
from tests.conftest import REPO_ROOT as REPO, shared_path  # skips when the data is absent


# ---------------------------------------------------------------------------- discovery
def posecfg_registries():
    return [obj for obj in vars(R).values() if isinstance(obj, R.Registry)
            and obj.scope == R.SCOPE]


def registered_parts():
    """(registry, name, obj) of every part posecfg registers."""
    parts = []
    for registry in posecfg_registries():
        if registry._locations:
            registry.import_from_location()
        for name, obj in sorted(registry.module_dict.items()):
            if getattr(obj, '__module__', '').startswith('posecfg.'):
                parts.append((registry, name, obj))
    return parts


PARTS = registered_parts()
IDS = [f'{reg.name}:{name}' for reg, name, _ in PARTS]


def own_example_args(obj):
    """The part's own ``example_args`` (not inherited), or None."""
    value = obj.__dict__.get('example_args') if hasattr(obj, '__dict__') else None
    if hasattr(value, '__get__'):  # a descriptor (datasets/examples.py ExampleArgs) builds them
        value = value.__get__(None, obj)
    return value if isinstance(value, dict) else None


def kind_of(registry, obj) -> str:
    from mmengine.model import BaseDataPreprocessor
    from posecfg.models.backbones.base import BaseBackbone
    from posecfg.models.heads.base_head import BaseHead
    from posecfg.models.pose_estimators.base import BasePoseEstimator
    simple = {R.TRANSFORMS: 'transform', R.KEYPOINT_CODECS: 'codec', R.METRICS: 'metric',
              R.HOOKS: 'hook', R.LOOPS: 'loop', R.OPTIM_WRAPPERS: 'optim_wrapper',
              R.PARAM_SCHEDULERS: 'scheduler', R.DATA_SAMPLERS: 'sampler',
              R.FUNCTIONS: 'collate', R.DATASETS: 'dataset', R.VISUALIZERS: 'visualizer'}
    if registry in simple:
        return simple[registry]
    if registry is R.MODELS and isinstance(obj, type):
        for base, kind in ((BaseBackbone, 'backbone'), (BaseHead, 'head'),
                           (BasePoseEstimator, 'estimator'),
                           (BaseDataPreprocessor, 'preprocessor')):
            if issubclass(obj, base):
                return kind
        if '.losses.' in obj.__module__:
            return 'loss'
    return 'unknown'


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


# ---------------------------------------------------------------------------- completeness
def test_discovery_walks_every_registry():
    names = {name for _, name, _ in PARTS}
    assert {'ResNet', 'TopdownHeatmapSimpleHead', 'JointsMSELoss', 'TopDown', 'MSRAHeatmap',
            'TopDownAffine', 'PCKAccuracy', 'CheckpointHook', 'PoseValLoop', 'ExpWarmupLR',
            'SeededSampler', 'pose_collate', 'TopDownCocoDataset'} <= names


def test_every_module_that_registers_is_imported_by_registration():
    """A part registered in a module that ``posecfg.engine.registration`` does not import is
    invisible to the Runner (and to this test)."""
    missing = []
    for path in sorted((REPO / 'posecfg').rglob('*.py')):
        if re.search(r'\.register_module\(', path.read_text()) and path.name != 'registry.py':
            module = '.'.join(path.relative_to(REPO).with_suffix('').parts)
            module = module[:-len('.__init__')] if module.endswith('.__init__') else module
            if module not in sys.modules:
                missing.append(module)
    assert not missing, f'modules registering parts but not imported by registration: {missing}'


def test_every_part_has_example_args():
    missing = [f'{reg.name}:{name}' for reg, name, obj in PARTS if own_example_args(obj) is None]
    assert not missing, ('give these registered parts a class attribute example_args = '
                         f'dict(...) (constructor arguments of a small instance): {missing}')


def test_every_part_has_an_exercise():
    unknown = [f'{reg.name}:{name}' for reg, name, obj in PARTS
               if kind_of(reg, obj) == 'unknown']
    assert not unknown, f'no exercise for the kind of {unknown}: add one in {__file__}'


# ---------------------------------------------------------------------------- shared inputs
def example(obj):
    args = own_example_args(obj)
    if args is None:
        pytest.fail(f'{obj.__name__} has no example_args')
    return copy.deepcopy(args)


@pytest.fixture(scope='module')
def coco_dataset():
    root = shared_path('mmpose-tests', 'coco')

    def build(data_mode, test_mode=False):
        from posecfg.datasets.topdown_base import example_dataset_args
        args = example_dataset_args('coco/test_coco.json', 17)
        args['data_cfg'].update(image_size=[192, 256], heatmap_size=[48, 64])
        return R.DATASETS.build(dict(
            type='TopDownCocoDataset', **dict(args, ann_file=str(root / 'test_coco.json'),
                                              img_prefix=str(root) + '/'),
            data_mode=data_mode, test_mode=test_mode))
    return build


@pytest.fixture(scope='module')
def sample_records(coco_dataset):
    """(top-down sample record, whole-image record) of MMPose's COCO test data, each with the
    image loaded (a LazyImage, as ``LoadImageFromFile`` leaves it)."""
    from posecfg.transforms import LoadImageFromFile
    topdown = coco_dataset('topdown', test_mode=True)
    bottomup = coco_dataset('bottomup', test_mode=True)
    td = next(topdown.record(i) for i in range(len(topdown))
              if topdown.record(i)['joints_3d_visible'][:, 0].sum() > 6)
    bu = max((bottomup.record(i) for i in range(len(bottomup))),
             key=lambda r: len(r['keypoints']))
    loader = LoadImageFromFile()
    return loader(td), loader(bu)


# ---------------------------------------------------------------------------- build
@pytest.mark.parametrize('registry,name,obj', PARTS, ids=IDS)
def test_builds_from_example_args(registry, name, obj):
    kind = kind_of(registry, obj)
    args = example(obj)
    if kind == 'dataset':
        for key in ('ann_file', 'img_prefix'):  # generated projects carry their own paths
            if key in args:
                args[key] = str(shared_path(args[key]))
    if kind == 'collate':  # functions: mmengine builds a partial of them
        assert R.unexpected_arguments(obj, args) == []
        return
    if kind == 'loop':
        pytest.skip('loops need a runner: built in test_hooks_and_loops_run_a_tiny_runner')
    default_args = {}
    if kind in ('scheduler', 'optim_wrapper'):
        optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
        default_args = dict(optimizer=optimizer)
    elif kind == 'sampler':
        default_args = dict(dataset=list(range(5)))
    built = registry.build(dict(type=name, **args), default_args=default_args or None)
    assert type(built) is obj
    # and an argument the class does not take is refused, naming it
    if not R.takes_any_keyword(obj):
        with pytest.raises(R.UnexpectedArgumentError, match='not_an_argument'):
            registry.build(dict(type=name, not_an_argument=1, **args))


def parts_of(*kinds):
    return [pytest.param(name, obj, id=name) for reg, name, obj in PARTS
            if kind_of(reg, obj) in kinds]


# ---------------------------------------------------------------------------- transforms
TOPDOWN_SPECS = dict(joints_3d=(np.float32, ('K', 3)), joints_3d_visible=(np.float32, ('K', 3)),
                     center=(np.float32, (2,)), scale=(np.float32, (2,)), bbox=(np.float32, (4,)))


def check_image(img):
    from posecfg.transforms.compose import LAZY_IMAGE_TYPES
    if isinstance(img, LAZY_IMAGE_TYPES):  # a pending load or warp, decoded on demand
        img = np.asarray(img)
    if torch.is_tensor(img):
        assert img.ndim == 3 and img.shape[0] == 3 and img.dtype in (torch.uint8, torch.float32)
    else:
        assert isinstance(img, np.ndarray) and img.ndim == 3 and img.shape[2] == 3 \
            and img.dtype in (np.uint8, np.float32)


def check_topdown(out, before):
    k = len(before['joints_3d'])
    for key, (dtype, shape) in TOPDOWN_SPECS.items():
        if key in out:
            value = np.asarray(out[key])
            want = tuple(k if s == 'K' else s for s in shape)
            assert value.shape == want and value.dtype == dtype, (key, value.shape, value.dtype)
            assert np.isfinite(value).all(), key
    for key in ('image_file', 'image_id', 'bbox_id', 'ann_info', 'gt'):
        assert key in out, f'the step dropped {key!r}'
    assert np.isfinite(float(out.get('rotation', 0.0)))


def check_bottomup(out, before):
    check_image_record(out, 'the step', num_keypoints=before['keypoints'].shape[1])
    assert 'ann_info' in out and 'gt' in out


def packed(out):
    return isinstance(out, dict) and 'img_metas' in out


def run_transform(transform, record, seed):
    from posecfg.transforms import Compose
    np.random.seed(seed)
    return Compose([transform])(copy.deepcopy(record))


def same(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if torch.is_tensor(a):
        return torch.equal(a, b)
    if isinstance(a, np.ndarray) or hasattr(a, '__array__'):
        a, b = np.asarray(a), np.asarray(b)
        return np.array_equal(a, b, equal_nan=a.dtype.kind == 'f' and b.dtype.kind == 'f')
    return a == b or (a != a and b != b)


@pytest.mark.parametrize('name,cls', parts_of('transform'))
def test_transform_keeps_the_record_contract(name, cls, sample_records):
    transform = R.TRANSFORMS.build(dict(type=name, **example(cls)))
    accepted = []
    for mode, record, check in zip(('topdown', 'bottomup'), sample_records,
                                   (check_topdown, check_bottomup)):
        try:
            out = run_transform(transform, record, seed=1)
        except KeyError as err:  # the step needs keys of the other kind of record
            assert name in str(err) or 'has no' in str(err) or 'Collect' in str(err), err
            continue
        accepted.append(mode)
        assert isinstance(out, dict)
        if packed(out):  # Collect: the chosen keys, untouched, plus the metas
            assert 'img' in out and isinstance(out['img_metas'], dict)
            assert out['img_metas'], 'no meta keys collected'
        else:
            check(out, record)
            check_image(out['img'])
        # randomness from np.random: the same seed gives the same output
        assert same(out, run_transform(transform, record, seed=1)), \
            f'{name} is not reproducible from the np.random seed'
    assert accepted, f'{name} runs on neither a top-down sample nor a whole-image record'


# ---------------------------------------------------------------------------- codecs
#: decoded keypoints lie within this many heatmap cells of the encoded ones (a decoder that
#: picks the nearest cell is off by at most half a cell along each axis)
CODEC_TOLERANCE_CELLS = 0.5


@pytest.mark.parametrize('name,cls', parts_of('codec'))
def test_codec_round_trip(name, cls):
    codec = R.KEYPOINT_CODECS.build(dict(type=name, **example(cls)))
    encoder = decoder = codec
    input_size = codec.input_size
    names = {k: k for k in codec.output_keys}  # head output name ← target name
    # a codec that only encodes (or only decodes) names the other half of its round trip
    trip = getattr(cls, 'example_round_trip', None)
    if trip is not None:
        encoder = R.KEYPOINT_CODECS.build(copy.deepcopy(trip['encoder']))
        decoder = R.KEYPOINT_CODECS.build(copy.deepcopy(trip['decoder']))
        # (an encoder chaining generators, DeepLabCut's SequentialGenerator, may hold it)
        parts = [encoder, decoder, *getattr(encoder, 'generators', ())]
        assert type(codec) in [type(p) for p in parts]
        input_size, names = trip['input_size'], trip['outputs']
    width, height = input_size
    stride = np.asarray(input_size, float) / np.asarray(encoder.heatmap_size, float)
    keypoints = np.array([[[10.3, 12.6], [30.8, 40.1], [24.0, 50.7]]], np.float32)
    assert (keypoints[..., 0] < width).all() and (keypoints[..., 1] < height).all()
    visible = np.ones((1, 3), np.float32)
    targets = encoder.encode(keypoints, visible)
    assert set(encoder.target_keys) <= set(targets), 'encode must return its target_keys'
    outputs = {out: torch.from_numpy(np.asarray(targets[k]))[None] for out, k in names.items()}
    decoded, scores = decoder.decode(outputs if len(outputs) > 1
                                     else next(iter(outputs.values())))
    assert decoded.shape == (1, 1, 3, 2) and scores.shape == (1, 1, 3)
    error_cells = np.abs(decoded[0, 0] - keypoints[0]) / stride
    assert (error_cells <= CODEC_TOLERANCE_CELLS).all(), error_cells
    assert (scores > 0).all()


# ---------------------------------------------------------------------------- losses
def loss_inputs(cls):
    """(prediction, target, *rest): the class's ``example_inputs()`` or heatmaps
    (2, 3, 8, 6) with joint weights (2, 3, 1)."""
    if hasattr(cls, 'example_inputs'):
        return cls.example_inputs()
    torch.manual_seed(0)
    return torch.rand(2, 3, 8, 6), torch.rand(2, 3, 8, 6), torch.ones(2, 3, 1)


@pytest.mark.parametrize('name,cls', parts_of('loss'))
def test_loss_is_minimal_at_the_target_and_grows_with_error(name, cls):
    loss = R.MODELS.build(dict(type=name, **example(cls)))
    if getattr(cls, 'aggregates_losses', False):  # weights · named losses, averaged
        weights = example(cls)['weights']
        losses = {name: torch.tensor(float(i + 1)) for i, name in enumerate(weights)}
        want = np.mean([w * float(losses[n]) for n, w in weights.items()])
        assert float(loss(losses)) == pytest.approx(want)
        first = next(iter(weights))
        assert float(loss({**losses, first: losses[first] + 1})) > want
        return
    pred, target, *rest = loss_inputs(cls)
    # the least loss is at the target, or where the class says (BCE on logits: logit(target))
    best = cls.example_perfect(target) if hasattr(cls, 'example_perfect') else target
    torch.manual_seed(1)
    direction = torch.randn_like(target)
    # how a prediction moves off the best: added, or as the class says (distributions stay so)
    move = getattr(cls, 'example_move', lambda prediction, step: prediction + step)
    if getattr(cls, 'unsupervised_loss', False):  # no target argument; target = zero-loss point
        def call(prediction, _target, *args):
            return loss(prediction, *args)
    else:
        call = loss
    values = [call(move(best, scale * direction), target, *rest) for scale in (0.0, 0.1, 0.2)]
    for value in values:
        assert value.dim() == 0 and torch.isfinite(value)
    assert values[0] < values[1] < values[2], values
    if not hasattr(cls, 'example_perfect'):
        assert values[0].abs() < 1e-6, values
    assert torch.isfinite(call(pred, target, *rest))


# ---------------------------------------------------------------------------- metrics
K = 5


def metric_set(shift):
    """Two images (2 and 1 instances) of K keypoints; predictions = truth + shift pixels."""
    rng = np.random.default_rng(0)
    batch, preds = [], []
    for image_id, n, extent in ((1, 2, 80), (2, 1, 200)):  # COCO medium and large instances
        keypoints = (rng.uniform(20, extent, (n, K, 2)) + np.arange(n)[:, None, None] * 100
                     ).astype(np.float32)
        visible = np.ones((n, K), np.float32)
        low, high = keypoints.min(1), keypoints.max(1)
        bboxes = np.concatenate([low - 5, high - low + 10], 1).astype(np.float32)
        gt = dict(keypoints=keypoints, keypoints_visible=visible, bboxes=bboxes,
                  areas=(bboxes[:, 2] * bboxes[:, 3]).astype(np.float32),
                  category_ids=np.ones(n, np.int64), instance_ids=np.arange(n) + 10 * image_id,
                  image_id=image_id)
        batch.append(gt)
        preds.append(dict(keypoints=keypoints + shift, keypoint_scores=np.ones((n, K), np.float32),
                          bboxes=bboxes, bbox_scores=np.ones(n, np.float32),
                          image_id=image_id, image_file=f'{image_id}.jpg'))
    return dict(gt=batch), preds


#: (metric, key) → value for perfect predictions, where it is not the best value 0 or 1:
#: MMPose 0.x's AUC (mmpose/core/evaluation/top_down_eval.py, ``keypoint_auc``) averages PCK
#: over thresholds ``i / num_thrs · norm_factor`` for i in 0..num_thrs-1; at threshold 0 no
#: distance is below it, so perfect predictions score 1 - 1 / num_thrs
PERFECT = {('AUC', 'AUC'): lambda args: 1 - 1 / args['num_thrs']}


def metric_values(name, cls, shift):
    metric = R.METRICS.build(dict(type=name, **example(cls)))
    metric.dataset_meta = dict(
        dataset_name='example', num_keypoints=K, sigmas=np.full(K, 0.05),
        keypoint_names=[f'p{i}' for i in range(K)], flip_pairs=[[1, 2]],
        keypoint_id2name={i: f'p{i}' for i in range(K)})
    data_batch, preds = metric_set(shift)
    metric.process(data_batch, preds)
    return metric.evaluate(size=len(preds))


@pytest.mark.parametrize('name,cls', parts_of('metric'))
def test_metric_of_perfect_and_of_shifted_predictions(name, cls):
    perfect = metric_values(name, cls, 0.0)
    shifted = metric_values(name, cls, 25.0)
    assert perfect, f'{name} computed nothing'
    for key, value in perfect.items():
        if (name, key) in PERFECT:
            assert float(value) == pytest.approx(PERFECT[name, key](example(cls)))
        else:
            assert min(abs(float(value) - best) for best in (0.0, 1.0, 100.0)) < 1e-9, \
                f'{name} {key} = {value} for perfect predictions'
        assert float(shifted[key]) != float(value), f'{name} {key} ignores a 25 px error'


# ---------------------------------------------------------------------------- models
def train_steps(module, loss_fn, steps=5, lr=1e-2):
    """Losses before and after ``steps`` Adam steps on one batch."""
    optimizer = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr)
    first = None
    for _ in range(steps + 1):
        losses = loss_fn()
        total = sum(v for k, v in losses.items() if 'loss' in k)
        if first is None:
            first = total.item()
            for key, value in losses.items():
                assert value.dim() == 0 and torch.isfinite(value), key
            optimizer.zero_grad()
            total.backward()
            unused = [n for n, p in module.named_parameters()
                      if p.requires_grad and p.grad is None]
            assert not unused, f'parameters without gradient: {unused[:5]}'
            optimizer.step()
            continue
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    return first, total.item()


def keypoint_batch(num, k, input_size, rng):
    width, height = input_size
    keypoints = [np.stack([rng.uniform(4, width - 4, (1, k)), rng.uniform(4, height - 4, (1, k))],
                          -1).astype(np.float32) for _ in range(num)]
    return keypoints, [np.ones((1, k), np.float32) for _ in range(num)]


def head_batch(head, outputs, keypoints, visible, input_size):
    """A collated batch for ``head``: img, keypoints lists, and the codec's targets."""
    width, height = input_size
    batch = dict(img=torch.zeros(len(keypoints), 3, height, width), keypoints=keypoints,
                 keypoints_visible=visible,
                 img_metas=[dict(image_file=f'{i}.jpg', image_id=i)
                            for i in range(len(keypoints))])
    codec = getattr(head, 'codec', None)
    if codec is not None and torch.is_tensor(outputs):
        sized = codec.sized(input_size, outputs.shape[:1:-1])
        encoded = [sized.encode(k, v) for k, v in zip(keypoints, visible)]
        batch['heatmaps'] = torch.from_numpy(np.stack([e['heatmaps'] for e in encoded]))
        batch['keypoint_weights'] = [e['keypoint_weights'] for e in encoded]
    return batch


def check_predictions(preds, count, k=None):
    assert len(preds) == count
    for pred in preds:
        keypoints, scores = np.asarray(pred['keypoints']), np.asarray(pred['keypoint_scores'])
        assert keypoints.ndim == 3 and keypoints.shape[-1] == 2 and keypoints.dtype == np.float32
        assert scores.shape == keypoints.shape[:2] and np.isfinite(keypoints).all()
        if k is not None:
            assert keypoints.shape[1] == k
    return np.asarray(preds[0]['keypoints']).shape[1]


@pytest.mark.parametrize('name,cls', parts_of('head'))
def test_head_forward_loss_predict(name, cls):
    torch.manual_seed(0)
    head = R.MODELS.build(dict(type=name, **example(cls)))
    feats = tuple(torch.rand(*shape) for shape in cls.example_feature_shapes)
    num = cls.example_feature_shapes[0][0]
    input_size = cls.example_input_size
    head.eval()
    with torch.no_grad():
        outputs = head(feats)
        preds = head.predict(feats, [{} for _ in range(num)], input_size)
    k = check_predictions(preds, num)
    keypoints, visible = keypoint_batch(num, k, input_size, np.random.default_rng(0))
    batch = head_batch(head, outputs, keypoints, visible, input_size)
    head.train()
    before, after = train_steps(head, lambda: head.loss(feats, batch))
    assert after < before, f'{name}: loss {before} → {after} after 5 steps on one batch'


@pytest.mark.parametrize('name,cls', parts_of('estimator'))
def test_estimator_modes(name, cls):
    torch.manual_seed(0)
    model = R.MODELS.build(dict(type=name, **example(cls)))
    model.init_weights()
    num, width, height = 2, 48, 64
    img = torch.randn(num, 3, height, width)
    metas = [dict(image_file=f'{i}.jpg', image_id=i, center=np.array([23.5, 31.5], np.float32),
                  scale=np.array([0.24, 0.32], np.float32), flip_pairs=[[1, 2]],
                  warp_mat=np.array([[1., 0, 0], [0, 1., 0]]), bbox_id=i) for i in range(num)]
    model.eval()
    with torch.no_grad():
        outputs = model(img, mode='tensor')
        preds = model(img, mode='predict', img_metas=metas)
    for out in (outputs.values() if isinstance(outputs, dict) else [outputs]):
        assert torch.isfinite(out).all() and out.shape[0] == num
    k = check_predictions(preds, num)
    keypoints, visible = keypoint_batch(num, k, (width, height), np.random.default_rng(0))
    first = model.heads[model.head_names[0]]
    batch = head_batch(first, first(model.extract_feat(img)), keypoints, visible,
                       (width, height))
    batch.pop('img')
    batch['img_metas'] = metas
    model.train()
    before, after = train_steps(model, lambda: model(img, mode='loss', **batch))
    assert after < before, f'{name}: loss {before} → {after} after 5 steps on one batch'


@pytest.mark.parametrize('name,cls', parts_of('backbone'))
def test_backbone_output_shapes(name, cls):
    size = (64, 96)
    model = R.MODELS.build(dict(type=name, **example(cls)))
    model.init_weights()
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, *size))
    assert isinstance(out, tuple) and len(out) == len(model.out_channels) == \
        len(model.out_strides) > 0
    for feat, channels, stride in zip(out, model.out_channels, model.out_strides):
        assert feat.shape == (1, channels, size[0] // stride, size[1] // stride)


@pytest.mark.parametrize('name,cls', parts_of('preprocessor'))
def test_preprocessor_normalizes_a_batch(name, cls):
    pre = R.MODELS.build(dict(type=name, **example(cls)))
    img = torch.randint(0, 256, (2, 3, 8, 6), dtype=torch.uint8)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    out = pre(dict(img=img, img_metas=[dict(img_norm_cfg=dict(mean=mean, std=std))] * 2))
    mean_, std_ = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
    want = (img.float() / 255 - mean_) / std_
    assert torch.allclose(out['img'], want, atol=1e-5)


# ---------------------------------------------------------------------------- data plumbing
@pytest.mark.parametrize('name,fn', parts_of('collate'))
def test_collate_function(name, fn):
    collate = functools.partial(R.FUNCTIONS.get(name), **example(fn))
    if getattr(fn, 'sample_kind', None) == 'frame_sequence':
        samples = [dict(img=torch.full((4, 3, 16, 12), i, dtype=torch.uint8),
                        img_metas=dict(start=4 * i, warp_mat=np.eye(2, 3, dtype=np.float32)))
                   for i in range(2)]
        batch = collate(samples)
        assert batch['img'].shape == (8, 3, 16, 12) and batch['sequence_length'] == 4
        assert [m['start'] for m in batch['img_metas']] == [0] * 4 + [4] * 4
        assert (batch['img'][4:] == 1).all() and batch['warp_mat'].shape == (2, 2, 3)
        return
    if getattr(fn, 'sample_kind', None) == 'multiview_frame_sequence':  # V views per sample
        samples = [dict(img=torch.stack([torch.full((4, 3, 16, 12), 10 * i + v,
                                                    dtype=torch.uint8) for v in range(2)]),
                        img_metas=dict(views=[dict(start=4 * i, view=v, warp_mat=np.eye(
                            2, 3, dtype=np.float32)) for v in range(2)]))
                   for i in range(2)]
        batch = collate(samples)
        assert batch['img'].shape == (16, 3, 16, 12) and batch['sequence_length'] == 4
        assert batch['num_views'] == 2 and batch['warp_mat'].shape == (4, 2, 3)
        assert [int(batch['img'][4 * j, 0, 0, 0]) for j in range(4)] == [0, 1, 10, 11]
        assert [m['view'] for m in batch['img_metas'][::4]] == [0, 1, 0, 1]
        return
    samples = [dict(img=torch.zeros(3, 16, 12, dtype=torch.uint8),
                    keypoints=np.zeros((n, 3, 2), np.float32),
                    keypoints_visible=np.ones((n, 3), np.float32),
                    img_metas=dict(image_id=n)) for n in (1, 2)]
    batch = collate(samples)
    assert batch['img'].shape[:2] == (2, 3) and batch['img'].shape[2] >= 16
    assert [len(k) for k in batch['keypoints']] == [1, 2]
    assert [m['image_id'] for m in batch['img_metas']] == [1, 2]


@pytest.mark.parametrize('name,cls', parts_of('sampler'))
def test_sampler_yields_every_index_reproducibly(name, cls):
    def keys():
        sampler = R.DATA_SAMPLERS.build(dict(type=name, **example(cls)),
                                        default_args=dict(dataset=list(range(7))))
        return list(sampler)
    first = keys()
    indices = sorted(int(k[0]) if isinstance(k, tuple) else int(k) for k in first)
    assert indices == list(range(7)) and keys() == first


@pytest.mark.parametrize('name,cls', parts_of('scheduler'))
def test_scheduler_changes_the_learning_rate(name, cls):
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    args = example(cls)
    scheduler = R.PARAM_SCHEDULERS.build(dict(type=name, **args),
                                         default_args=dict(optimizer=optimizer))
    lrs = []
    for _ in range(6):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    assert all(np.isfinite(lrs)) and len(set(np.round(lrs, 12))) > 1, lrs
    if name == 'ExpWarmupLR':  # mmcv's exp warm-up: lr · ratio ** (1 - t / (end - begin - 1))
        t = np.arange(5)
        want = 0.1 * args['warmup_ratio'] ** (1 - t / (args['end'] - args['begin'] - 1))
        assert np.allclose(lrs[:5], want)


@pytest.mark.parametrize('name,cls', parts_of('optim_wrapper'))
def test_optim_wrapper_updates_weights(name, cls):
    model = torch.nn.Linear(3, 1)
    wrapper = R.OPTIM_WRAPPERS.build(
        dict(type=name, **example(cls)),
        default_args=dict(optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        loss = model(torch.ones(4, 3)).square().mean()
    wrapper.update_params(loss)
    assert not torch.equal(before, model.weight.detach())


@pytest.mark.parametrize('name,cls', parts_of('dataset'))
def test_dataset_records(name, cls):
    args = example(cls)
    if getattr(cls, 'sample_kind', None) == 'frame_sequence':  # unlabeled video sequences
        ds = R.DATASETS.build(dict(type=name, **args))
        assert len(ds) > 0
        sample = ds[0]
        assert sample['img'].dtype == torch.uint8 and sample['img'].dim() == 4
        assert sample['img'].shape[1] == 3 and sample['img_metas']['warp_mat'].shape == (2, 3)
        assert torch.equal(ds[(0, 7)]['img'], ds[(0, 7)]['img'])  # same seed, same sample
        return
    if getattr(cls, 'sample_kind', None) == 'multiview_frame_sequence':  # views of a sequence
        ds = R.DATASETS.build(dict(type=name, **args))
        sample = ds[0]
        assert sample['img'].dtype == torch.uint8 and sample['img'].dim() == 5
        assert sample['img'].shape[0] == len(sample['img_metas']['views']) >= 2
        assert torch.equal(ds[(0, 7)]['img'], ds[(0, 7)]['img'])  # same seed, same sample
        return
    if getattr(cls, 'sample_kind', None) == 'multiview':  # every camera view of a frame
        ds = R.DATASETS.build(dict(type=name, **args, test_mode=True, pipeline=[
            dict(type='LoadImageFromFile'), dict(type='ToTensor'),
            dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                 meta_keys=['image_file', 'image_id'])]))
        num = ds.metainfo['num_keypoints']
        check_image_record(ds.image_record(0), name, num_keypoints=num)
        sample = ds[0]
        views = sample['img'].shape[0]
        assert sample['img'].dim() == 4 and views >= 2 and len(sample['img_metas']['views']) == \
            views and sample['gt']['keypoints'].shape == (1, num, 2)
        assert sample['keypoints'].shape == (views, 1, num // views, 2)
        return
    for key in ('ann_file', 'img_prefix'):
        if key in args:
            args[key] = str(shared_path(args[key]))
    from posecfg.datasets.project_base import ProjectDataset
    for mode in ('topdown', 'bottomup'):
        extra = {}
        if mode == 'topdown' and issubclass(cls, ProjectDataset):  # records hold boxes only
            extra = dict(pipeline=[dict(type='TopDownGetBboxCenterScale', padding=1.25)],
                         image_size=[48, 64], heatmap_size=[12, 16])
        ds = R.DATASETS.build(dict(type=name, **args, **extra, data_mode=mode, test_mode=True))
        assert len(ds) > 0
        num = ds.metainfo['num_keypoints']
        check_image_record(ds.image_record(0), name, num_keypoints=num)
        sample = ds[0]
        if mode == 'topdown':
            assert sample['joints_3d'].shape == (num, 3) and 'center' in sample and 'gt' in sample
        else:
            check_image_record(sample, name, num_keypoints=num)
            assert 'gt' in sample


# ---------------------------------------------------------------------------- engine
def test_hooks_and_loops_run_a_tiny_runner(tmp_path):
    """Every registered hook (built from its example_args) and loop (from its example_args,
    with the runner's dataloaders) in a real mmengine Runner: the TopDown example trained for
    one epoch on MMPose's COCO test crops, validated and tested. Each hook's own callbacks
    (the methods it defines) must be called."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    shared_path('mmpose-tests', 'coco')
    hooks, called = [], {}
    for reg, name, cls in PARTS:
        if kind_of(reg, cls) != 'hook':
            continue
        hook = R.HOOKS.build(dict(type=name, **example(cls)))
        for stage in Hook.stages:
            if stage in vars(cls) or any(stage in vars(b) for b in cls.__mro__[1:]
                                         if b.__module__.startswith('posecfg.')):
                original = getattr(hook, stage)

                def spy(*a, _stage=stage, _name=name, _original=original, **kw):
                    called.setdefault(_name, set()).add(_stage)
                    return _original(*a, **kw)
                setattr(hook, stage, spy)
                called.setdefault(name, set())
        hooks.append(hook)
    loops = {kind: [(name, cls) for reg, name, cls in PARTS if reg is R.LOOPS
                    and kind in name] for kind in ('Train', 'Val', 'Test')}
    train_loop = dict(type=loops['Train'][0][0], **example(loops['Train'][0][1]))
    model_cls = R.MODELS.get('TopDown')
    model = copy.deepcopy(own_example_args(model_cls))
    model['keypoint_head']['out_channels'] = 17
    norm = dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    root = shared_path('mmpose-tests', 'coco')
    from posecfg.datasets.topdown_base import example_dataset_args
    ds_args = example_dataset_args('x/test_coco.json', 17)
    ds_args.update(ann_file=str(root / 'test_coco.json'), img_prefix=str(root) + '/')
    ds_args['data_cfg']['heatmap_size'] = [24, 32]  # the TopDown example's output: stride 2

    def loader(pipeline, test_mode):
        return dict(batch_size=4, num_workers=0,
                    sampler=dict(type='SeededSampler', shuffle=not test_mode, seed=0),
                    collate_fn=dict(type=R.FUNCTIONS.get('pose_collate')),
                    dataset=dict(type='TopDownCocoDataset', **dict(ds_args, pipeline=pipeline),
                                 test_mode=test_mode))
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='TopDownAffine'),
                      dict(type='ToTensor'), norm, dict(type='TopDownGenerateTarget', sigma=2),
                      dict(type='Collect', keys=['img', 'target', 'target_weight'],
                           meta_keys=['image_file'])]
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='TopDownAffine'),
                     dict(type='ToTensor'), norm,
                     dict(type='Collect', keys=['img'],
                          meta_keys=['image_file', 'center', 'scale', 'rotation', 'bbox_score',
                                     'flip_pairs', 'image_id'])]
    val_loop = dict(type=loops['Val'][0][0], **example(loops['Val'][0][1]))
    test_loop = dict(type=loops['Test'][0][0], **example(loops['Test'][0][1]))
    runner = Runner(
        model=dict(type='TopDown', **model), work_dir=str(tmp_path),
        train_dataloader=loader(train_pipeline, False),
        val_dataloader=loader(test_pipeline, True), test_dataloader=loader(test_pipeline, True),
        train_cfg=train_loop, val_cfg=val_loop, test_cfg=test_loop,
        val_evaluator=val_loop.pop('evaluator'), test_evaluator=test_loop.pop('evaluator'),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
        default_hooks=dict(checkpoint=None, logger=None),
        custom_hooks=hooks, default_scope='posecfg', randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo')), log_level='WARNING')
    runner.train()
    metrics = runner.test()
    assert set(metrics) and all(np.isfinite(float(v)) for v in metrics.values())
    for name, stages in called.items():
        assert stages, f'{name}: none of its callbacks was called'
    if any(type(h).__name__ == 'CheckpointHook' for h in hooks):
        assert (tmp_path / 'epoch_1.pth').is_file()
