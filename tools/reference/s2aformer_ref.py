#!/usr/bin/env python3
"""PyTorch reference for S2AFormer (arXiv 2505.22195v1), written from /work/shared/spec/s2aformer.md
§1–2 (the paper publishes no code; the spec's reconstruction is what this implements, not copied
from any project).

state_dict keys (the spec gives no naming; these are ViTLab's, identical in Swift):
  stem.{0,1,2}.conv / .bn                     3×3 conv (bias) -> GELU -> BN, first stride 2
  patch_embed{i}.proj / .norm                 2×2 stride-2 conv (bias) + LayerNorm (eps 1e-5)
  block{i}.{j}.lpu                            Eq. 1 depth-wise 3×3 (bias)
  block{i}.{j}.norm1 / .norm2 / .norm3        LayerNorms (eps 1e-6); norm2 only with the LIM
  block{i}.{j}.attn.q / .k                    Linear(C, h): one channel per head ("strip" q, k)
  block{i}.{j}.attn.v / .proj                 Linear(C, C)
  block{i}.{j}.attn.sr / .norm                k×k stride-k depth-wise conv (bias) + BN, when k > 1 (conv reduction)
  block{i}.{j}.lim.pw1 / .dw / .se.fc1 / .se.fc2 / .pw2   LIM: grouped 1×1, DW 3×3, SE(r=4), grouped 1×1
  block{i}.{j}.mlp.conv1 / .bn1 / .dw / .bn2 / .conv2 / .bn3   CMT inverted-residual FFN (ratio 4)
  classifier only: head_conv (1×1 -> 1280), head_bn, head, head_dist (the two averaged Linear heads)
Segmentor: backbone.* and decode_head.* (FPN neck inside the head as decode_head.neck.*, mmseg FPNHead
with BN: decode_head.scale_heads.{i}.{j}.conv / .bn, decode_head.conv_seg).

    python3 tools/reference/s2aformer_ref.py --check    # asserts the counter's parameter counts, prints OK
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = {  # depths, widths (Table II)
    "mini": ([2, 2, 2, 2], [32, 64, 128, 256]),
    "t": ([2, 2, 6, 2], [48, 64, 128, 256]),
    "xs": ([2, 2, 10, 2], [48, 64, 128, 256]),
    "s": ([2, 4, 24, 4], [48, 64, 128, 256]),
    "m": ([2, 4, 20, 2], [96, 128, 256, 512]),
}
HEADS, SRS, STEM, MLP_RATIO = [1, 2, 4, 8], [8, 4, 2, 1], (16, 16, 32), 4


class SSA(nn.Module):
    """Strip self-attention (spec §1.1): x B×N×C (already normalised) with its map size H, W."""

    def __init__(self, c, heads, k, reduction="conv", scale="head_dim"):
        super().__init__()
        self.heads, self.ratio, self.reduction = heads, k, reduction
        self.scale = 1.0 if scale == "unit" else (c // heads) ** -0.5
        self.q = nn.Linear(c, heads)
        self.k = nn.Linear(c, heads)
        self.v = nn.Linear(c, c)
        if k > 1 and reduction == "conv":
            self.sr = nn.Conv2d(c, c, k, stride=k, groups=c)
            self.norm = nn.BatchNorm2d(c)
        self.proj = nn.Linear(c, c)

    def forward(self, x, h, w):
        b, n, c = x.shape
        q = self.q(x).reshape(b, n, self.heads, 1).permute(0, 2, 1, 3)            # B×h×N×1
        xs = x
        if self.ratio > 1:
            m = x.transpose(1, 2).reshape(b, c, h, w)
            m = self.norm(self.sr(m)) if self.reduction == "conv" else F.avg_pool2d(m, self.ratio, self.ratio)
            xs = m.flatten(2).transpose(1, 2)                                       # B×Ns×C
        ns = xs.shape[1]
        kk = self.k(xs).reshape(b, ns, self.heads, 1).permute(0, 2, 1, 3)
        v = self.v(xs).reshape(b, ns, self.heads, c // self.heads).permute(0, 2, 1, 3)
        attn = ((q @ kk.transpose(-2, -1)) * self.scale).softmax(dim=-1)            # B×h×N×Ns
        y = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(y)


class SE(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.fc1 = nn.Conv2d(c, max(1, c // r), 1)
        self.fc2 = nn.Conv2d(max(1, c // r), c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))


class LIM(nn.Module):
    """Eqs. 6–7: pw2(ReLU(SE(dw(ReLU(pw1(x)))))), "PWConv" per channel (spec §6 row 6)."""

    def __init__(self, c):
        super().__init__()
        self.pw1 = nn.Conv2d(c, c, 1, groups=c)
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.se = SE(c)
        self.pw2 = nn.Conv2d(c, c, 1, groups=c)

    def forward(self, x):
        return self.pw2(F.relu(self.se(self.dw(F.relu(self.pw1(x))))))


class IRFFN(nn.Module):
    def __init__(self, c, ratio=MLP_RATIO):
        super().__init__()
        hid = c * ratio
        self.conv1, self.bn1 = nn.Conv2d(c, hid, 1), nn.BatchNorm2d(hid)
        self.dw, self.bn2 = nn.Conv2d(hid, hid, 3, padding=1, groups=hid), nn.BatchNorm2d(hid)
        self.conv2, self.bn3 = nn.Conv2d(hid, c, 1), nn.BatchNorm2d(c)

    def forward(self, x):
        y = self.bn1(F.gelu(self.conv1(x)))
        y = self.bn2(F.gelu(self.dw(y) + y))
        return self.bn3(self.conv2(y))


def tokens(x):           # B×C×H×W -> B×N×C
    return x.flatten(2).transpose(1, 2)


def image(t, h, w):      # B×N×C -> B×C×H×W
    return t.transpose(1, 2).reshape(t.shape[0], -1, h, w)


class HPB(nn.Module):
    """Hybrid perception block, Eqs. 1–4, on B×C×H×W (drop path 0)."""

    def __init__(self, c, heads, k, lim=True, reduction="conv"):
        super().__init__()
        self.lpu = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.norm1 = nn.LayerNorm(c, eps=1e-6)
        self.attn = SSA(c, heads, k, reduction)
        if lim:
            self.norm2 = nn.LayerNorm(c, eps=1e-6)
            self.lim = LIM(c)
        self.norm3 = nn.LayerNorm(c, eps=1e-6)
        self.mlp = IRFFN(c)
        self.has_lim = lim

    def forward(self, x):
        _, _, h, w = x.shape
        x = x + self.lpu(x)
        t = tokens(x)
        t = t + self.attn(self.norm1(t), h, w)
        if self.has_lim:
            t = t + tokens(self.lim(image(self.norm2(t), h, w)))
        t = t + tokens(self.mlp(image(self.norm3(t), h, w)))
        return image(t, h, w)


class StemConv(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(F.gelu(self.conv(x)))


class PatchEmbed(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.proj = nn.Conv2d(cin, c, 2, stride=2)
        self.norm = nn.LayerNorm(c)

    def forward(self, x):
        y = self.proj(x)
        _, _, h, w = y.shape
        return image(self.norm(tokens(y)), h, w)


class S2AFormer(nn.Module):
    """Backbone: returns F1..F4 (B×C_i×H_i×W_i)."""

    def __init__(self, variant="mini", lim=True, reduction="conv"):
        super().__init__()
        depths, widths = VARIANTS[variant]
        self.widths = widths
        a, b, c = STEM
        self.stem = nn.Sequential(StemConv(3, a, 2), StemConv(a, b, 1), StemConv(b, c, 1))
        cin = c
        for i in range(4):
            setattr(self, f"patch_embed{i + 1}", PatchEmbed(cin, widths[i]))
            setattr(self, f"block{i + 1}", nn.Sequential(*[HPB(widths[i], HEADS[i], SRS[i], lim, reduction)
                                                          for _ in range(depths[i])]))
            cin = widths[i]

    def features(self, x):
        y = self.stem(x)
        out = []
        for i in range(4):
            y = getattr(self, f"block{i + 1}")(getattr(self, f"patch_embed{i + 1}")(y))
            out.append(y)
        return out

    def forward(self, x):
        return self.features(x)


class S2AFormerClassifier(S2AFormer):
    """Backbone keys at the top level, then head_conv (1×1 -> 1280), head_bn, SiLU, GAP, dropout,
    and head / head_dist whose logits are averaged (spec §1.3, §6 row 11)."""

    def __init__(self, variant="mini", num_classes=1000, dist_head=True, lim=True, reduction="conv", dim=1280):
        super().__init__(variant, lim, reduction)
        self.head_conv = nn.Conv2d(self.widths[3], dim, 1)
        self.head_bn = nn.BatchNorm2d(dim)
        self.head_drop = nn.Dropout(0.1)
        self.head = nn.Linear(dim, num_classes)
        self.head_dist = nn.Linear(dim, num_classes) if dist_head else None

    def forward(self, x):
        f = self.features(x)[-1]
        z = self.head_drop(F.adaptive_avg_pool2d(F.silu(self.head_bn(self.head_conv(f))), 1).flatten(1))
        if self.head_dist is None:
            return self.head(z)
        return (self.head(z) + self.head_dist(z)) / 2


class ConvBNReLU(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Up2(nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class FPNNeck(nn.Module):
    class Conv(nn.Module):
        def __init__(self, cin, cout, k):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, k, padding=k // 2)

        def forward(self, x):
            return self.conv(x)

    def __init__(self, widths, out=256):
        super().__init__()
        self.lateral_convs = nn.ModuleList([self.Conv(c, out, 1) for c in widths])
        self.fpn_convs = nn.ModuleList([self.Conv(out, out, 3) for _ in widths])

    def forward(self, feats):
        lat = [m(f) for m, f in zip(self.lateral_convs, feats)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[2:], mode="nearest")
        return [m(x) for m, x in zip(self.fpn_convs, lat)]


class SemanticFPN(nn.Module):
    """mmseg FPNHead with norm_cfg=BN (spec §2.2), the neck inside as `neck`."""

    def __init__(self, widths, num_classes=150, channels=128):
        super().__init__()
        self.neck = FPNNeck(widths)
        heads = []
        for i in range(4):
            layers = []
            for j in range(max(1, i)):
                layers.append(ConvBNReLU(256 if j == 0 else channels, channels))
                if i > 0:
                    layers.append(Up2())
            heads.append(nn.Sequential(*layers))
        self.scale_heads = nn.ModuleList(heads)
        self.dropout = nn.Dropout2d(0.1)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def forward(self, feats):
        maps = self.neck(feats)
        out = self.scale_heads[0](maps[0])
        for i in range(1, 4):
            y = self.scale_heads[i](maps[i])
            if y.shape[2:] != out.shape[2:]:
                y = F.interpolate(y, size=out.shape[2:], mode="bilinear", align_corners=False)
            out = out + y
        return self.conv_seg(self.dropout(out))


class Segmentor(nn.Module):
    def __init__(self, variant="mini", num_classes=150):
        super().__init__()
        self.backbone = S2AFormer(variant)
        self.decode_head = SemanticFPN(self.backbone.widths, num_classes)

    def forward(self, x):
        return self.decode_head(self.backbone.features(x))


def count(m):
    return sum(p.numel() for p in m.parameters())


if __name__ == "__main__":
    if "--check" in sys.argv:
        expected = {"mini": (5018316, 3737316, 2124796, 6252178), "t": (5801796, 4520796, 2908276, 7039754),
                    "xs": (6546916, 5265916, 3653396, 7784874), "s": (10689884, 9408884, 7796364, 11927842),
                    "m": (24875300, 23594300, 21654100, 25912554)}
        for v, (dist, single, bb, seg) in expected.items():
            assert count(S2AFormerClassifier(v)) == dist, v
            assert count(S2AFormerClassifier(v, dist_head=False)) == single, v
            assert count(S2AFormer(v)) == bb, v
            assert count(Segmentor(v)) == seg, v
        assert count(S2AFormerClassifier("mini", reduction="pool")) == 5009804
        m = S2AFormerClassifier("mini").eval()
        assert m(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
        s = Segmentor("mini").eval()
        assert s(torch.zeros(1, 3, 70, 90)).shape == (1, 150, 17, 22)
        print("OK")
