"""The patch classifier's network (seed 001): a torchvision ResNet on 1-channel patches with
a dropout + single-logit head, and batched prediction on numpy patches."""
import numpy as np
import torch
from torch import nn

from ..device import inference_copy


def build_classifier(backbone="resnet18", dropout=0.3):
    """ResNet with a 1-channel stem and a dropout + single-logit head; forward -> (B,)."""
    import torchvision

    net = getattr(torchvision.models, backbone)(weights=None)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    net.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(net.fc.in_features, 1))
    return _Logit(net)


class _Logit(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).flatten()


@torch.no_grad()
def predict(model, patches, device="cpu", batch_size=256, logits=False):
    """Probabilities (or logits) for (N, H, W) numpy patches, in bounded batches."""
    model.eval()
    fast = inference_copy(model)
    out = []
    for i in range(0, len(patches), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(patches[i:i + batch_size, None])).to(device)
        z = fast(x.contiguous(memory_format=torch.channels_last)).float()
        out.append((z if logits else torch.sigmoid(z)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
