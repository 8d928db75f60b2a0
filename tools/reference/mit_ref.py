#!/usr/bin/env python3
"""PyTorch reference for the TransKD model families, written from /work/shared/spec/transkd.md §1
(not copied from the official code): SegFormer's Mix Transformer (MiT-B0/B1/B2) with the all-MLP
head, and PVTv2-B0/B2 (conv spatial reduction, as TransKD uses it) with the FPN neck and the
Semantic FPN head. state_dict keys follow the official names (backbone.patch_embed1.proj.weight,
backbone.block1.0.attn.kv.weight, backbone.block1.0.mlp.dwconv.dwconv.weight, backbone.norm1.weight,
decode_head.linear_c1.proj.weight, decode_head.linear_fuse.conv.weight, decode_head.linear_pred.weight;
for PVTv2 decode_head.neck.lateral_convs.0.conv.weight, decode_head.scale_heads.1.0.conv.weight,
decode_head.conv_seg.weight — the neck sits inside the head as in ViTLab).

    python3 tools/reference/mit_ref.py --check     # asserts the counter's parameter counts, prints OK
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

MIT = {  # embed dims, depths, decoder dim D
    "b0": ([32, 64, 160, 256], [2, 2, 2, 2], 256),
    "b1": ([64, 128, 320, 512], [2, 2, 2, 2], 256),
    "b2": ([64, 128, 320, 512], [3, 4, 6, 3], 768),
}
PVT = {"b0": ([32, 64, 160, 256], [2, 2, 2, 2]), "b2": ([64, 128, 320, 512], [3, 4, 6, 3])}
HEADS, SRS = [1, 2, 5, 8], [8, 4, 2, 1]


class OverlapPatchEmbed(nn.Module):
    def __init__(self, cin, c, k, s):
        super().__init__()
        self.proj = nn.Conv2d(cin, c, k, stride=s, padding=k // 2)
        self.norm = nn.LayerNorm(c)

    def forward(self, x):                       # B×Cin×H×W -> (B×N×C, H', W')
        y = self.proj(x)
        _, _, h, w = y.shape
        return self.norm(y.flatten(2).transpose(1, 2)), h, w


class SRAttention(nn.Module):
    def __init__(self, c, heads, r):
        super().__init__()
        self.heads, self.r = heads, r
        self.scale = (c // heads) ** -0.5
        self.q = nn.Linear(c, c)
        self.kv = nn.Linear(c, 2 * c)
        self.proj = nn.Linear(c, c)
        if r > 1:
            self.sr = nn.Conv2d(c, c, r, stride=r)
            self.norm = nn.LayerNorm(c)

    def forward(self, x, h, w):                 # B×N×C
        b, n, c = x.shape
        q = self.q(x).reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
        xs = x
        if self.r > 1:
            xs = self.sr(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
            xs = self.norm(xs)
        kv = self.kv(xs).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]
        a = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, c))


class DWConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 3, 1, 1, groups=c)

    def forward(self, x, h, w):
        b, n, c = x.shape
        return self.dwconv(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)


class MixFFN(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.fc1 = nn.Linear(c, hidden)
        self.dwconv = DWConv(hidden)
        self.fc2 = nn.Linear(hidden, c)

    def forward(self, x, h, w):
        return self.fc2(F.gelu(self.dwconv(self.fc1(x), h, w)))


class Block(nn.Module):
    def __init__(self, c, heads, r, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(c, eps=1e-6)
        self.attn = SRAttention(c, heads, r)
        self.norm2 = nn.LayerNorm(c, eps=1e-6)
        self.mlp = MixFFN(c, c * mlp_ratio)

    def forward(self, x, h, w):                 # drop path is the identity in eval mode
        x = x + self.attn(self.norm1(x), h, w)
        return x + self.mlp(self.norm2(x), h, w)


class MixVisionTransformer(nn.Module):
    """Four stages; returns the post-norm stage maps B×C_i×H_i×W_i (features) and the patch
    embeddings after their LayerNorm B×N_i×C_i (embeds), as TransKD's KD version does."""

    def __init__(self, dims, depths, mlp_ratios):
        super().__init__()
        cin = 3
        for i, c in enumerate(dims):
            k, s = (7, 4) if i == 0 else (3, 2)
            setattr(self, f"patch_embed{i + 1}", OverlapPatchEmbed(cin, c, k, s))
            setattr(self, f"block{i + 1}", nn.ModuleList([Block(c, HEADS[i], SRS[i], mlp_ratios[i]) for _ in range(depths[i])]))
            setattr(self, f"norm{i + 1}", nn.LayerNorm(c, eps=1e-6))
            cin = c
        self.stages = len(dims)

    def forward(self, x):
        features, embeds = [], []
        for i in range(1, self.stages + 1):
            t, h, w = getattr(self, f"patch_embed{i}")(x)
            embeds.append(t)
            for blk in getattr(self, f"block{i}"):
                t = blk(t, h, w)
            t = getattr(self, f"norm{i}")(t)
            x = t.reshape(t.shape[0], h, w, -1).permute(0, 3, 1, 2).contiguous()
            features.append(x)
        return features, embeds


class ConvModule(nn.Module):
    """mmcv ConvModule: conv (bias only without a norm), optional BN, optional ReLU."""

    def __init__(self, cin, cout, k, norm=True, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=not norm)
        if norm:
            self.bn = nn.BatchNorm2d(cout)
        self.use_norm, self.act = norm, act

    def forward(self, x):
        x = self.conv(x)
        if self.use_norm:
            x = self.bn(x)
        return F.relu(x) if self.act else x


class MLP(nn.Module):
    def __init__(self, cin, d):
        super().__init__()
        self.proj = nn.Linear(cin, d)

    def forward(self, x):                        # B×C×H×W -> B×D×H×W
        b, _, h, w = x.shape
        return self.proj(x.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, -1, h, w)


class SegFormerHead(nn.Module):
    def __init__(self, dims, d, k):
        super().__init__()
        for i, c in enumerate(dims):
            setattr(self, f"linear_c{i + 1}", MLP(c, d))
        self.linear_fuse = ConvModule(len(dims) * d, d, 1)
        self.dropout = nn.Dropout2d(0.1)
        self.linear_pred = nn.Conv2d(d, k, 1)
        self.n = len(dims)

    def forward(self, feats):
        size = feats[0].shape[2:]
        cs = []
        for i in reversed(range(self.n)):
            c = getattr(self, f"linear_c{i + 1}")(feats[i])
            cs.append(c if i == 0 else F.interpolate(c, size=size, mode="bilinear", align_corners=False))
        return self.linear_pred(self.dropout(self.linear_fuse(torch.cat(cs, dim=1))))


class FPN(nn.Module):
    def __init__(self, dims, oc=256):
        super().__init__()
        self.lateral_convs = nn.ModuleList([ConvModule(c, oc, 1, norm=False, act=False) for c in dims])
        self.fpn_convs = nn.ModuleList([ConvModule(oc, oc, 3, norm=False, act=False) for _ in dims])

    def forward(self, feats):
        lat = [m(f) for m, f in zip(self.lateral_convs, feats)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[2:], mode="nearest")
        return [m(x) for m, x in zip(self.fpn_convs, lat)]


class FPNHead(nn.Module):
    def __init__(self, dims, k, ch=128, oc=256, strides=(4, 8, 16, 32)):
        super().__init__()
        self.neck = FPN(dims, oc)
        heads = []
        for i, s in enumerate(strides):
            n = max(1, int(math.log2(s) - math.log2(strides[0])))
            layers = []
            for j in range(n):
                layers.append(ConvModule(oc if j == 0 else ch, ch, 3, norm=False))
                if s != strides[0]:
                    layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            heads.append(nn.Sequential(*layers))
        self.scale_heads = nn.ModuleList(heads)
        self.dropout = nn.Dropout2d(0.1)
        self.conv_seg = nn.Conv2d(ch, k, 1)

    def forward(self, feats):
        x = self.neck(feats)
        out = self.scale_heads[0](x[0])
        for i in range(1, len(x)):
            out = out + F.interpolate(self.scale_heads[i](x[i]), size=out.shape[2:], mode="bilinear", align_corners=False)
        return self.conv_seg(self.dropout(out))


class Segmentor(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.decode_head = backbone, head

    def forward(self, x):                        # logits at 1/4, not upsampled (TransKD)
        return self.decode_head(self.backbone(x)[0])


def segformer(variant="b0", num_classes=20):
    dims, depths, d = MIT[variant]
    return Segmentor(MixVisionTransformer(dims, depths, [4, 4, 4, 4]), SegFormerHead(dims, d, num_classes))


def pvtv2_fpn(variant="b0", num_classes=20):
    dims, depths = PVT[variant]
    return Segmentor(MixVisionTransformer(dims, depths, [8, 8, 4, 4]), FPNHead(dims, num_classes))


# ---------------------------------------------------------------------------------------------
# LVT (spec §1.5): channels-last (B×H×W×C) inside the backbone, as the official model keeps it.

class CSA(nn.Module):
    """Convolutional self-attention: 3×3 windows at stride 2 (padding 1); per window and head a 9×9
    tap mixing from Linear(C, 81·heads) of the 2×2 ceil-mode average pool; values = unfolded taps
    through a grouped 1×1 conv (one C→C map per tap); fold back; proj."""

    def __init__(self, c, heads):
        super().__init__()
        self.heads, self.c = heads, c
        self.scale = (c // heads) ** -0.5
        self.attn = nn.Linear(c, 81 * heads)
        self.weight = nn.Conv2d(9 * c, 9 * c, 1, groups=9, bias=False)
        self.proj = nn.Linear(c, c)

    def forward(self, x):                         # B×H×W×C
        b, H, W, c = x.shape
        h, w = math.ceil(H / 2), math.ceil(W / 2)
        a = F.avg_pool2d(x.permute(0, 3, 1, 2), 2, 2, ceil_mode=True).permute(0, 2, 3, 1)
        a = self.attn(a).reshape(b, h * w, self.heads, 9, 9).permute(0, 2, 1, 3, 4)
        a = (a * self.scale).softmax(dim=-1)                                  # B,heads,N,9,9
        v = F.unfold(x.permute(0, 3, 1, 2), 3, padding=1, stride=2)           # B, C·9, N
        v = v.reshape(b, c, 9, h * w).permute(0, 3, 2, 1).reshape(b * h * w, 9 * c, 1, 1)
        v = self.weight(v).reshape(b, h * w, 9, self.heads, c // self.heads).permute(0, 3, 1, 2, 4)
        y = (a @ v).permute(0, 1, 4, 3, 2).reshape(b, c * 9, h * w)           # (head·d + j)·9 + tap
        y = F.fold(y, output_size=(H, W), kernel_size=3, padding=1, stride=2)
        return self.proj(y.permute(0, 2, 3, 1))


class DSConv(nn.Module):
    """One depthwise 3×3 weight applied at dilations 1, 3, 5, SiLU after each, summed (no bias)."""

    def __init__(self, c, rates=(1, 3, 5)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c, 1, 3, 3))
        self.rates, self.c = rates, c

    def forward(self, x):                         # B×C×H×W
        return sum(F.silu(F.conv2d(x, self.weight, None, 1, r, r, self.c)) for r in self.rates)


class RASA(nn.Module):
    def __init__(self, c, heads, r, rounds=2):
        super().__init__()
        self.heads, self.r, self.rounds = heads, r, rounds
        self.scale = (c // heads) ** -0.5
        self.q = nn.Linear(c, c, bias=False)
        self.kv = nn.Linear(c, 2 * c, bias=False)
        self.proj = nn.Linear(c, c)
        if r > 1:
            self.sr = nn.Conv2d(c, c, r, stride=r)
            self.norm = nn.LayerNorm(c)
        self.ds = DSConv(c)

    def inner(self, x):                           # B×H×W×C
        b, h, w, c = x.shape
        q = self.ds(self.q(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        q = q.reshape(b, h * w, self.heads, c // self.heads).permute(0, 2, 1, 3)
        xs = x
        if self.r > 1:
            xs = self.norm(self.sr(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))
        kv = self.kv(xs).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = ((q @ kv[0].transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((a @ kv[1]).transpose(1, 2).reshape(b, h, w, c))

    def forward(self, x):
        x_in, y = x, self.inner(x)
        if self.rounds > 1:
            y = F.silu(y)
        for _ in range(self.rounds - 1):
            z = y + x_in
            x_in, y = z, F.silu(self.inner(z))
        return y


class LVTMlp(nn.Module):
    def __init__(self, c, hidden, depconv):
        super().__init__()
        self.use_dw = depconv
        if depconv:
            self.fc1 = nn.Conv2d(c, hidden, 1)
            self.depconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
            self.fc2 = nn.Conv2d(hidden, c, 1)
        else:
            self.fc1, self.fc2 = nn.Linear(c, hidden), nn.Linear(hidden, c)

    def forward(self, x):                         # B×H×W×C
        if self.use_dw:
            y = self.fc2(F.gelu(self.depconv(self.fc1(x.permute(0, 3, 1, 2)))))
            return y.permute(0, 2, 3, 1)
        return self.fc2(F.gelu(self.fc1(x)))


class LVTBlock(nn.Module):
    def __init__(self, c, attn, mlp):
        super().__init__()
        self.norm1, self.attn, self.norm2, self.mlp = nn.LayerNorm(c), attn, nn.LayerNorm(c), mlp

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class LVTEmbed(nn.Module):
    def __init__(self, cin, c, k, s):
        super().__init__()
        self.proj = nn.Conv2d(cin, c, k, stride=s, padding=k // 2)
        self.norm = nn.LayerNorm(c)

    def forward(self, x):                         # B×H×W×Cin -> B×H'×W'×C
        return self.norm(self.proj(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


class LVTBackbone(nn.Module):
    DIMS, HEADS, MLP, SR, DW = [64, 64, 160, 256], [2, 2, 5, 8], [4, 8, 4, 4], [8, 4, 2, 1], [False, True, True, True]

    def __init__(self):
        super().__init__()
        stages, cin = [], 3
        for i, c in enumerate(self.DIMS):
            k, s = (7, 4) if i == 0 else (3, 2)
            blocks = [LVTBlock(c, CSA(c, self.HEADS[i]) if i == 0 else RASA(c, self.HEADS[i], self.SR[i]),
                               LVTMlp(c, c * self.MLP[i], self.DW[i])) for _ in range(2)]
            stages.append(nn.Sequential(LVTEmbed(cin, c, k, s), nn.Sequential(*blocks)))
            cin = c
        self.stages = nn.ModuleList(stages)

    def forward(self, x):                         # NCHW image -> NCHW stage maps
        x = x.permute(0, 2, 3, 1)
        feats = []
        for st in self.stages:
            x = st(x)
            feats.append(x.permute(0, 3, 1, 2))
        return feats, None


class LVTSegmentor(nn.Module):
    """State keys as ViTLab's: backbone.{stage}.0.proj.weight, backbone.0.1.0.attn.attn.weight, …,
    decode_head.linear_c1.proj.weight (the official model has the head at the top level)."""

    def __init__(self, num_classes=20):
        super().__init__()
        self.backbone = LVTBackbone().stages
        self.decode_head = SegFormerHead(LVTBackbone.DIMS, 256, num_classes)
        self.decode_head.dropout = nn.Identity()   # drop path 0 -> no decoder dropout

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        feats = []
        for st in self.backbone:
            x = st(x)
            feats.append(x.permute(0, 3, 1, 2))
        return self.decode_head(feats)


def lvt(num_classes=20):
    return LVTSegmentor(num_classes)


def count(m):
    return sum(p.numel() for p in m.parameters())


if __name__ == "__main__":
    if "--check" in sys.argv:
        expected = {("mit", "b0", 20): 3_719_284, ("mit", "b1", 20): 13_682_388, ("mit", "b2", 20): 27_362_004,
                    ("mit", "b0", 41): 3_724_681, ("mit", "b2", 41): 27_378_153,
                    ("pvt", "b0", 20): 7_527_668, ("pvt", "b2", 20): 29_098_836}
        for (fam, v, k), n in expected.items():
            m = segformer(v, k) if fam == "mit" else pvtv2_fpn(v, k)
            assert count(m) == n, (fam, v, k, count(m), n)
        assert count(lvt(20)) == 3_837_176, count(lvt(20))
        m = segformer("b0").eval()
        with torch.no_grad():
            assert m(torch.zeros(1, 3, 70, 90)).shape == (1, 20, 18, 23)
        print("OK")
