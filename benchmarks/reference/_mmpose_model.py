"""MMPose 1.3.2 model and batch builders shared by mmpose_train_step.py and mmpose_inference.py.

Import only after threads are pinned (see _common.pin_threads). Uses the config file shipped
inside the installed mmpose wheel (mmpose/.mim/configs/...), so the model is exactly MMPose's
td-hm_res50_8xb64-210e_coco-256x192 with its defaults; only the backbone's pretrained init
(torchvision://resnet50, a download) is dropped, which does not change the cost of a step.
"""
import contextlib
import io
import os
import warnings

warnings.filterwarnings('ignore', category=UserWarning)

CONFIG_REL = 'configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py'


def mmpose_config_path():
    import mmpose
    return os.path.join(os.path.dirname(mmpose.__file__), '.mim', CONFIG_REL)


def load_config():
    from mmengine.config import Config
    cfg = Config.fromfile(mmpose_config_path())
    cfg.model.backbone.init_cfg = None
    return cfg


def build_model(cfg):
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(cfg.model)
    return model


def build_dataset(cfg, data_root, ann_file, test_mode):
    """CocoDataset on the given annotation file with the config's train or val pipeline."""
    from mmpose.registry import DATASETS
    loader = cfg.val_dataloader if test_mode else cfg.train_dataloader
    ds_cfg = dict(loader.dataset)
    ds_cfg.update(data_root=data_root, ann_file=ann_file, data_prefix=dict(img=''),
                  test_mode=test_mode)
    ds_cfg.pop('bbox_file', None)  # GT boxes, not the detector's
    with contextlib.redirect_stdout(io.StringIO()):  # xtcocotools prints progress
        return DATASETS.build(ds_cfg)


def real_batch(dataset, batch_size):
    """A collated batch (mmengine pseudo_collate, as the Runner's dataloader gives it) of
    ``batch_size`` real pipeline outputs, cycling over the dataset."""
    from mmengine.dataset import pseudo_collate
    samples = [dataset[i % len(dataset)] for i in range(batch_size)]
    return pseudo_collate(samples)


class FlopCounter:
    """Forward multiply-accumulates of Conv/ConvTranspose/Linear layers, counted by hooks.

    BatchNorm, ReLU, pooling, additions and the loss are not counted (they are < 1% of a
    ResNet-50's arithmetic). ``gflops = 2 * gmacs``.
    """

    def __init__(self, model):
        import torch.nn as nn
        self.macs = 0
        self.handles = []
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                self.handles.append(m.register_forward_hook(self._conv))
            elif isinstance(m, nn.ConvTranspose2d):
                self.handles.append(m.register_forward_hook(self._deconv))
            elif isinstance(m, nn.Linear):
                self.handles.append(m.register_forward_hook(self._linear))

    def _conv(self, m, inp, out):
        kh, kw = m.kernel_size
        self.macs += out.numel() * (m.in_channels // m.groups) * kh * kw

    def _deconv(self, m, inp, out):
        kh, kw = m.kernel_size
        self.macs += inp[0].numel() * (m.out_channels // m.groups) * kh * kw

    def _linear(self, m, inp, out):
        self.macs += out.numel() * m.in_features

    def remove(self):
        for h in self.handles:
            h.remove()


def forward_gmacs_per_image(model, input_size=(256, 192)):
    """GMACs of one image's forward pass (backbone + head), batch of 1, no flip."""
    import torch
    counter = FlopCounter(model)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, *input_size), None, mode='tensor')
    model.train(was_training)
    counter.remove()
    return counter.macs / 1e9
