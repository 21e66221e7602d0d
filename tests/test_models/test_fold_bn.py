"""BatchNorm folding for inference: the same function, fewer layers, and no fold where the
convolution's output is read by something else."""
import torch
import torch.nn as nn

from posecfg.models.utils.fold_bn import fold_batchnorms


def randomize(model):
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(8)
        self.deconv = nn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False, groups=2)
        self.bn2 = nn.BatchNorm2d(4)
        self.shared = nn.Conv2d(4, 4, 1)
        self.bn3 = nn.BatchNorm2d(4)  # its input is also added back: must not be folded

    def forward(self, x):
        y = self.bn2(self.deconv(torch.relu(self.bn(self.conv(x)))))
        z = self.shared(y)
        return self.bn3(z) + z


def test_folds_conv_and_deconv_and_keeps_the_function():
    model = randomize(Block())
    x = torch.randn(2, 3, 8, 8)
    folded, count = fold_batchnorms(model, lambda m: m(x))
    assert count == 2
    assert isinstance(folded.bn, nn.Identity) and isinstance(folded.bn2, nn.Identity)
    assert isinstance(folded.bn3, nn.BatchNorm2d)  # its conv's output is read twice
    assert isinstance(model.bn, nn.BatchNorm2d)  # the original is untouched
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)


def test_nothing_to_fold_returns_the_model():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    folded, count = fold_batchnorms(model, lambda m: m(torch.randn(1, 3, 8, 8)))
    assert folded is model and count == 0


def test_frozen_batchnorms_fold_and_the_training_model_stays_frozen():
    """``norm_eval`` / ``freeze_norm_weights`` (DeepLabCut's freeze_bn_stats/weights) and
    folding for evaluation: a frozen BatchNorm (eval mode, ``requires_grad=False`` affine) folds
    like any other, and folding a copy leaves the model being trained as it was: still in
    train mode with its BatchNorms in eval mode and their weights frozen."""
    from posecfg.models.backbones import DLCRNet
    model = DLCRNet(base_channels=8, stem_channels=8, norm_eval=True,
                    freeze_norm_weights=True).train()
    randomize(model).train()
    x = torch.randn(1, 3, 64, 64)
    folded, count = fold_batchnorms(model, lambda m: m(x)[0])
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert count == len(norms)  # every BatchNorm directly follows its convolution
    assert model.training and not any(bn.training for bn in norms)
    assert not any(p.requires_grad for bn in norms for p in (bn.weight, bn.bias))
    with torch.no_grad():
        torch.testing.assert_close(folded(x)[0], model.eval()(x)[0], rtol=1e-4, atol=1e-4)


def test_a_model_without_batchnorm_is_returned_without_running_it():
    """GroupNorm models (DeepLabCut's resnet_50) have nothing to fold: no copy, no run."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(4, 8))

    def run(m):
        raise AssertionError('the model was run')
    assert fold_batchnorms(model, run) == (model, 0)
