#!/usr/bin/env python3
"""PyTorch reference for XFormer / cross feature attention (arXiv 2207.07268), written from
/work/shared/spec/xformer.md §1–2 (no official code is public; this implements the spec's
reconstruction in PyTorch's NCHW layout and MobileViT's [B·P, N, E] token layout, independently
of ViTLab's NHWC code).

state_dict keys (ml-cvnets MobileViT names where the spec follows it; identical in Swift):
  conv_1.conv / .bn                              3×3/s2 conv (no bias) + BN + SiLU
  layer_{i}.{j}.exp_1x1 / .conv_3x3 / .red_1x1   MV3: 1×1 expand, DW 3×3, 1×1 reduce (.conv, .bn)
  layer_{i}.{j}.se.fc1 / .fc2                    SE: 1×1 convs with bias, squeeze C_in/4, SiLU, sigmoid
  layer_{3,4,5}.1.local_rep.conv_3x3 / .conv_1x1 XF stage: 3×3 conv/BN/SiLU, 1×1 conv C→E (no bias)
  layer_{k}.1.global_rep.{l}.norm1 / .attn / .norm2 / .mlp.fc1 / .mlp.fc2   transformer layers
  layer_{k}.1.global_rep.{L}                     final LayerNorm
  ...attn.qkv_proj / .out_proj / .w_f [heads, d] / .w_c [N_ref] / .temperature [heads]   (XFA)
  ...attn.qkv_proj / .out_proj                    (MHSA)
  layer_{k}.1.conv_proj / .fusion                1×1 E→C and 3×3 2C→C, conv/BN/SiLU
  conv_1x1_exp.conv / .bn                        1×1 160→640 + BN + SiLU
  classifier.fc                                  Linear(640, K)
Segmentor: backbone.* and decode_head.linear_c{i}.conv / .bn (mmseg SegformerHead ConvModules),
decode_head.linear_fuse.conv / .bn, decode_head.linear_pred.

    python3 tools/reference/xformer_ref.py --check   # asserts the counter's parameter counts, prints OK
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBNAct(nn.Module):
    def __init__(self, cin, cout, k, stride=1, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        y = self.bn(self.conv(x))
        return F.silu(y) if self.act else y


class SE(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.silu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))


def squeeze_width(mode, cin, hid):
    return {"cin_4": max(1, cin // 4), "hidden_4": max(1, hid // 4), "hidden_8": max(1, hid // 8), "none": None}[mode]


class MV3(nn.Module):
    def __init__(self, cin, cout, stride, expansion=4, se="cin_4"):
        super().__init__()
        hid = cin * expansion
        self.exp_1x1 = ConvBNAct(cin, hid, 1)
        self.conv_3x3 = ConvBNAct(hid, hid, 3, stride, groups=hid)
        sq = squeeze_width(se, cin, hid)
        self.se = SE(hid, sq) if sq else None
        self.red_1x1 = ConvBNAct(hid, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        h = self.conv_3x3(self.exp_1x1(x))
        if self.se is not None:
            h = self.se(h)
        h = self.red_1x1(h)
        return x + h if self.residual else h


class XFA(nn.Module):
    """Eq. 5 on tokens x [B', N, E] of an nh×nw patch grid (spec §1.2), materialising A."""

    def __init__(self, e, d=96, heads=1, grid=(14, 14)):
        super().__init__()
        self.heads, self.d, self.grid = heads, d, grid
        self.qkv_proj = nn.Linear(e, 3 * d)
        self.out_proj = nn.Linear(d, e)
        self.w_f = nn.Parameter(torch.randn(heads, d // heads) * 0.02)
        self.w_c = nn.Parameter(torch.full((grid[0] * grid[1],), 1.0 / (grid[0] * grid[1])))
        self.temperature = nn.Parameter(torch.ones(heads))

    def context(self, nh, nw):
        if (nh, nw) == tuple(self.grid):
            return self.w_c
        w = F.interpolate(self.w_c.reshape(1, 1, *self.grid), size=(nh, nw), mode="bilinear", align_corners=False)
        return w.reshape(-1) * (self.grid[0] * self.grid[1] / (nh * nw))

    def forward(self, x, nh, nw):
        b, n, _ = x.shape
        hd = self.d // self.heads
        q, k, v = self.qkv_proj(x).split(self.d, dim=-1)
        q, k, v = (t.reshape(b, n, self.heads, hd).transpose(1, 2) for t in (q, k, v))   # B'×h×N×d
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        k_f = torch.einsum("bhnd,hd->bhn", k, self.w_f)                                   # Eq. 4
        k_c = torch.einsum("n,bhnd->bhd", self.context(nh, nw), k)                        # Eq. 3
        a = torch.einsum("bhnd,bhn->bhd", q, k_f)                                         # Q̂ᵀ K̂_f
        attn = self.temperature.view(1, -1, 1, 1) * a.unsqueeze(-1) * k_c.unsqueeze(-2)   # B'×h×d×d
        o = v @ attn
        return self.out_proj(o.transpose(1, 2).reshape(b, n, self.d))


class MHSA(nn.Module):
    def __init__(self, e, d=96, heads=4):
        super().__init__()
        self.heads, self.d = heads, d
        self.qkv_proj = nn.Linear(e, 3 * d)
        self.out_proj = nn.Linear(d, e)

    def forward(self, x, nh, nw):
        b, n, _ = x.shape
        hd = self.d // self.heads
        q, k, v = (t.reshape(b, n, self.heads, hd).transpose(1, 2) for t in self.qkv_proj(x).split(self.d, dim=-1))
        y = torch.softmax((q * hd ** -0.5) @ k.transpose(-1, -2), dim=-1) @ v
        return self.out_proj(y.transpose(1, 2).reshape(b, n, self.d))


class MLP(nn.Module):
    def __init__(self, e, hidden):
        super().__init__()
        self.fc1 = nn.Linear(e, hidden)
        self.fc2 = nn.Linear(hidden, e)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class XFLayer(nn.Module):   # Eqs. 7–8 (dropout is identity in eval)
    def __init__(self, e, hidden, attn):
        super().__init__()
        self.norm1, self.attn, self.norm2, self.mlp = nn.LayerNorm(e), attn, nn.LayerNorm(e), MLP(e, hidden)

    def forward(self, x, nh, nw):
        x = x + self.attn(self.norm1(x), nh, nw)
        return x + self.mlp(self.norm2(x))


class LocalRep(nn.Module):
    def __init__(self, c, e):
        super().__init__()
        self.conv_3x3 = ConvBNAct(c, c, 3)
        self.conv_1x1 = nn.Conv2d(c, e, 1, bias=False)

    def forward(self, x):
        return self.conv_1x1(self.conv_3x3(x))


class XFStage(nn.Module):   # spec §1.4, MobileViT v1 block
    def __init__(self, c, e, depth, hidden, attn):
        super().__init__()
        self.local_rep = LocalRep(c, e)
        self.global_rep = nn.ModuleList([XFLayer(e, hidden, attn()) for _ in range(depth)] + [nn.LayerNorm(e)])
        self.conv_proj = ConvBNAct(e, c, 1)
        self.fusion = ConvBNAct(2 * c, c, 3)

    @staticmethod
    def unfold(y):          # spec §1.1, MobileViTBlock.unfolding
        b, e, h, w = y.shape
        hp, wp = math.ceil(h / 2) * 2, math.ceil(w / 2) * 2
        if (hp, wp) != (h, w):
            y = F.interpolate(y, size=(hp, wp), mode="bilinear", align_corners=False)
        nh, nw = hp // 2, wp // 2
        t = y.reshape(b * e * nh, 2, nw, 2).transpose(1, 2).reshape(b, e, nh * nw, 4)
        return t.transpose(1, 3).reshape(b * 4, nh * nw, e), nh, nw

    @staticmethod
    def fold(t, b, e, nh, nw, h, w):
        y = t.reshape(b, 4, nh * nw, e).transpose(1, 3).reshape(b * e * nh, nw, 2, 2)
        y = y.transpose(1, 2).reshape(b, e, nh * 2, nw * 2)
        if (nh * 2, nw * 2) != (h, w):
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        return y

    def forward(self, x):
        b, _, h, w = x.shape
        y = self.local_rep(x)
        t, nh, nw = self.unfold(y)
        for layer in self.global_rep[:-1]:
            t = layer(t, nh, nw)
        t = self.global_rep[-1](t)
        y = self.conv_proj(self.fold(t, b, y.shape[1], nh, nw, h, w))
        return self.fusion(torch.cat([x, y], dim=1))


def token_grids(img):
    h, w = img
    for _ in range(2):
        h, w = (h + 1) // 2, (w + 1) // 2
    grids = []
    for _ in range(3):
        h, w = (h + 1) // 2, (w + 1) // 2
        grids.append(((h + 1) // 2, (w + 1) // 2))
    return grids


class XFormer(nn.Module):
    def __init__(self, attention="xfa", heads=1, img=(224, 224), se="cin_4"):
        super().__init__()
        mv = lambda cin, cout, s: MV3(cin, cout, s, se=se)
        self.conv_1 = ConvBNAct(3, 16, 3, 2)
        self.layer_1 = nn.Sequential(mv(16, 32, 1))
        self.layer_2 = nn.Sequential(mv(32, 64, 2), mv(64, 64, 1), mv(64, 64, 1))
        grids = token_grids(img)
        stages = []
        for cin, c, e, depth, r, grid in zip((64, 96, 128), (96, 128, 160), (144, 192, 240), (2, 3, 4), (2, 2, 3), grids):
            attn = (lambda e=e, grid=grid: XFA(e, 96, heads, grid)) if attention == "xfa" else (lambda e=e: MHSA(e, 96, 4))
            stages.append(nn.Sequential(mv(cin, c, 2), XFStage(c, e, depth, int(e * r), attn)))
        self.layer_3, self.layer_4, self.layer_5 = stages
        self.conv_1x1_exp = ConvBNAct(160, 640, 1)

    def features(self, x):
        x = self.layer_2(self.layer_1(self.conv_1(x)))
        f3 = self.layer_3(x)
        f4 = self.layer_4(f3)
        return [x, f3, f4, self.conv_1x1_exp(self.layer_5(f4))]


class Head(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.fc = nn.Linear(640, num_classes)

    def forward(self, x):
        return self.fc(x)


class XFormerClassifier(XFormer):
    def __init__(self, num_classes=1000, **kw):
        super().__init__(**kw)
        self.classifier = Head(num_classes)

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.features(x)[-1], 1).flatten(1))


class SegformerHead(nn.Module):   # mmseg SegformerHead (spec §2.1): ConvModules, concat finest first
    def __init__(self, widths=(64, 96, 128, 640), d=256, num_classes=19):
        super().__init__()
        for i, c in enumerate(widths):
            setattr(self, f"linear_c{i + 1}", ConvBNReLU(c, d))
        self.n = len(widths)
        self.linear_fuse = ConvBNReLU(self.n * d, d)
        self.linear_pred = nn.Conv2d(d, num_classes, 1)

    def forward(self, feats):
        size = feats[0].shape[2:]
        maps = [F.interpolate(getattr(self, f"linear_c{i + 1}")(f), size=size, mode="bilinear", align_corners=False)
                for i, f in enumerate(feats)]
        return self.linear_pred(self.linear_fuse(torch.cat(maps, dim=1)))


class ConvBNReLU(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Segmentor(nn.Module):
    def __init__(self, num_classes=19, img=(1024, 1024)):
        super().__init__()
        self.backbone = XFormer(img=img)
        self.decode_head = SegformerHead(num_classes=num_classes)

    def forward(self, x):
        return self.decode_head(self.backbone.features(x))


def count(m):
    return sum(p.numel() for p in m.parameters())


if __name__ == "__main__":
    if "--check" in sys.argv:
        assert count(XFormerClassifier()) == 5_456_272, count(XFormerClassifier())
        assert count(XFormerClassifier(img=(256, 256))) == 5_456_437
        assert count(XFormerClassifier(attention="mhsa")) == 5_454_796
        assert count(XFormerClassifier(heads=4)) == 5_456_299
        for se, n in (("none", 5_375_964), ("hidden_4", 5_691_628), ("hidden_8", 5_534_724)):
            assert count(XFormerClassifier(se=se)) == n, (se, count(XFormerClassifier(se=se)))
        assert count(Segmentor(img=(1024, 2048))) == 5_346_400
        assert count(Segmentor()) == 5_334_112
        m = XFormerClassifier().eval()
        with torch.no_grad():
            assert m(torch.rand(1, 3, 224, 224)).shape == (1, 1000)
        print("OK")
