#!/usr/bin/env python3
"""PyTorch references of the distillation modules (spec transkd.md §2.1, §2.4, §2.8; seaformer.md
§2.3), written from the specs in NCHW, with the official state_dict names, and an exporter for the
Swift parity test (Tests/ModelZooTests/DistillationParityTests.swift):

    python3 tools/reference/distill_ref.py DIR

writes DIR/<module>.h5 for sk (a CSF stage with fusion), abf (a Knowledge Review stage with
fusion), gl (GL-Mixer) and upsample (SeaFormer++'s upsample module): /weights/<key> (conv OIHW ->
OHWI; Conv1d and Linear weights as they are), /x and /y (NHWC inputs; tokens [B, N, C] for gl),
/out and, for the fusion stages, /mid (NHWC), in eval mode with perturbed norm statistics (seed 0).
Exit code 3 without torch.
"""
import os
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f'distill_ref.py: PyTorch is not installed ({e}); python3 -m pip install torch', file=sys.stderr)
    sys.exit(3)
import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity import randomise  # noqa: E402


def conv_bn(cin, cout, k=1, groups=1, pad=None):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2 if pad is None else pad, groups=groups, bias=False), nn.BatchNorm2d(cout))


class SK(nn.Module):
    """CSF stage (Eqs. 6–10): fc with BN for batches > 1, fc1 without for a batch of one."""

    def __init__(self, cin, mid, cout, d=32):
        super().__init__()
        self.conv1 = conv_bn(cin, mid)
        self.conv2 = conv_bn(mid, cout, 3)
        self.fc = nn.Sequential(nn.Conv2d(mid, d, 1, bias=False), nn.BatchNorm2d(d), nn.ReLU())
        self.fc1 = nn.Sequential(nn.Conv2d(mid, d, 1, bias=False), nn.ReLU())
        self.fcs = nn.ModuleList([nn.Conv2d(d, mid, 1), nn.Conv2d(d, mid, 1)])

    def forward(self, x, y):
        x = self.conv1(x)
        y = F.interpolate(y, size=x.shape[-2:], mode='nearest')
        s = (x + y).mean((2, 3), keepdim=True)
        z = self.fc(s) if x.shape[0] > 1 else self.fc1(s)
        ab = torch.stack([f(z) for f in self.fcs], dim=1).softmax(dim=1)
        x = ab[:, 0] * x + ab[:, 1] * y
        return self.conv2(x), x


class ABF(nn.Module):
    """Knowledge Review's attention based fusion stage."""

    def __init__(self, cin, mid, cout):
        super().__init__()
        self.conv1 = conv_bn(cin, mid)
        self.conv2 = conv_bn(mid, cout, 3)
        self.att_conv = nn.Sequential(nn.Conv2d(2 * mid, 2, 1), nn.Sigmoid())

    def forward(self, x, y):
        x = self.conv1(x)
        y = F.interpolate(y, size=x.shape[-2:], mode='nearest')
        z = self.att_conv(torch.cat([x, y], dim=1))
        x = x * z[:, 0:1] + y * z[:, 1:2]
        return self.conv2(x), x


class QKVAttention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(c, 3 * c, bias=False)
        self.proj = nn.Linear(c, c)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, c))


class GLMixer(nn.Module):
    """Eq. 5 with the official 1-D convolutions along the token sequence."""

    def __init__(self, c, heads=8):
        super().__init__()
        self.attn4 = QKVAttention(c, heads)
        self.conv1 = nn.Conv1d(c, c, 3, padding=1)
        self.conv2 = nn.Conv1d(c, c, 3, padding=1)
        self.atten_weight = nn.Parameter(torch.ones(1))
        self.conv_weight = nn.Parameter(torch.ones(1))

    def forward(self, e):
        t = e.transpose(1, 2)
        local = (self.conv1(t) * torch.sigmoid(self.conv2(t))).transpose(1, 2)
        return self.atten_weight * self.attn4(e) + self.conv_weight * local


class MV2(nn.Module):
    """MobileNetV2 block with SeaFormer's state names (conv.{0,2,4}.c / .bn), stride 1, residual."""

    def __init__(self, c, expansion, k=5):
        super().__init__()
        h = int(round(c * expansion))
        self.conv = nn.Sequential(
            nn.Sequential(), nn.ReLU(), nn.Sequential(), nn.ReLU(), nn.Sequential())
        for i, (cin, cout, kk, g) in zip((0, 2, 4), ((c, h, 1, 1), (h, h, k, h), (h, c, 1, 1))):
            self.conv[i] = nn.Module()
            self.conv[i].c = nn.Conv2d(cin, cout, kk, padding=kk // 2, groups=g, bias=False)
            self.conv[i].bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = x
        for i, m in enumerate(self.conv):
            y = m.bn(m.c(y)) if i % 2 == 0 else m(y)
        return x + y


class Upsample(nn.Module):
    """SeaFormer++'s upsample module (spec §2.3 hypotheses: 1×1 guide, bilinear, refine E=2)."""

    def __init__(self, c, cprev):
        super().__init__()
        self.guide = nn.Module()
        self.guide.c = nn.Conv2d(cprev, c, 1, bias=False)
        self.guide.bn = nn.BatchNorm2d(c)
        self.low = MV2(c, 4)
        self.refine = MV2(c, 2)

    def forward(self, x, prev):
        w = torch.sigmoid(self.guide.bn(self.guide.c(prev)))
        u = F.interpolate(self.low(x), size=prev.shape[-2:], mode='bilinear', align_corners=False)
        return self.refine(u * w)


# name: (module, x shape NCHW or tokens, y shape or None)
CASES = {
    'sk': (lambda: SK(24, 16, 20, d=8), (2, 24, 10, 14), (2, 16, 5, 7)),
    'abf': (lambda: ABF(24, 16, 20), (2, 24, 10, 14), (2, 16, 5, 7)),
    'gl': (lambda: GLMixer(32, heads=4), (2, 12, 32), None),
    'upsample': (lambda: Upsample(16, 8), (2, 16, 5, 7), (2, 8, 10, 14)),
}


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous().numpy() if t.dim() == 4 else t.contiguous().numpy()


def export(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, (build, xs, ys) in CASES.items():
        torch.manual_seed(0)
        m = build()
        gen = torch.Generator().manual_seed(0)
        randomise(m, gen)
        m.eval()
        x = torch.randn(*xs, generator=gen)
        y = torch.randn(*ys, generator=gen) if ys else None
        with torch.no_grad():
            r = m.double()(x.double(), y.double()) if y is not None else m.double()(x.double())
        out, mid = (r if isinstance(r, tuple) else (r, None))
        path = os.path.join(out_dir, f'{name}.h5')
        with h5py.File(path + '.tmp', 'w') as f:
            g = f.create_group('weights')
            for key, t in m.float().state_dict().items():
                a = t.detach().numpy()
                if a.ndim == 4:
                    a = a.transpose(0, 2, 3, 1)
                g.create_dataset(key, data=np.ascontiguousarray(a, dtype=np.float32))
            f['x'] = nhwc(x)
            if y is not None:
                f['y'] = nhwc(y)
            f['out'] = nhwc(out.float())
            if mid is not None:
                f['mid'] = nhwc(mid.float())
        os.replace(path + '.tmp', path)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(2)
    export(sys.argv[1])
