#!/usr/bin/env python3
"""SeaFormer (v1, ICLR 2023) reference implementation in PyTorch, written from
/work/shared/spec/seaformer.md sections 1.1-1.4 (not copied from the official code).

Module attribute names are chosen so that `state_dict()` keys equal the official ones
(fudan-zvg/SeaFormer @ 9718d05):
  segmentation (mmseg EncoderDecoder):  backbone.smb1.stem_block.0.c.weight, backbone.smb1.layer1.conv.0.bn.weight,
      backbone.trans1.transformer_blocks.0.attn.to_q.c.weight, ...attn.proj.1.c.weight, ...attn.pos_emb_rowq.pos_embed,
      ...mlp.fc1.c.weight, ...mlp.dwconv.bias, decode_head.fuse1.local_embedding.conv.weight,
      decode_head.fuse1.global_act.bn.weight, decode_head.linear_fuse.conv.weight, decode_head.conv_seg.bias
  classification (timm model):          smb1..., trans1..., linear.weight, linear.bias

Usage:
  python3 tools/reference/seaformer_ref.py --check     # asserts the spec §1.5 parameter counts, prints OK
  python3 tools/reference/seaformer_ref.py --keys T    # prints the segmentation state_dict keys and shapes
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------
# Variant configurations (spec §1.2). MV2 rows are [k, t, c, s]; one list per smb{i}.
# --------------------------------------------------------------------------------------------
VARIANTS = {
    'T': dict(cfgs=[[[3, 1, 16, 1], [3, 4, 16, 2], [3, 3, 16, 1]],
                    [[5, 3, 32, 2], [5, 3, 32, 1]],
                    [[3, 3, 64, 2], [3, 3, 64, 1]],
                    [[5, 3, 128, 2]],
                    [[3, 6, 160, 2]]],
              channels=[16, 16, 32, 64, 128, 160], num_heads=4, depths=[2, 2], key_dims=[16, 24],
              emb_dims=[128, 160], mlp_ratios=[2, 4],
              head_in=[32, 128, 160], head_embed=[64, 96], head_ch=96),
    'S': dict(cfgs=[[[3, 1, 16, 1], [3, 4, 24, 2], [3, 3, 24, 1]],
                    [[5, 3, 48, 2], [5, 3, 48, 1]],
                    [[3, 3, 96, 2], [3, 3, 96, 1]],
                    [[5, 4, 160, 2]],
                    [[3, 6, 192, 2]]],
              channels=[16, 24, 48, 96, 160, 192], num_heads=6, depths=[3, 3], key_dims=[16, 24],
              emb_dims=[160, 192], mlp_ratios=[2, 4],
              head_in=[48, 160, 192], head_embed=[96, 128], head_ch=128),
    'B': dict(cfgs=[[[3, 1, 16, 1], [3, 4, 32, 2], [3, 3, 32, 1]],
                    [[5, 3, 64, 2], [5, 3, 64, 1]],
                    [[3, 3, 128, 2], [3, 3, 128, 1]],
                    [[5, 4, 192, 2]],
                    [[3, 6, 256, 2]]],
              channels=[16, 32, 64, 128, 192, 256], num_heads=8, depths=[4, 4], key_dims=[16, 24],
              emb_dims=[192, 256], mlp_ratios=[2, 4],
              head_in=[64, 192, 256], head_embed=[128, 160], head_ch=160),
    'L': dict(cfgs=[[[3, 3, 32, 1], [3, 4, 64, 2], [3, 4, 64, 1]],
                    [[5, 4, 128, 2], [5, 4, 128, 1]],
                    [[3, 4, 192, 2], [3, 4, 192, 1]],
                    [[5, 4, 256, 2]],
                    [[3, 6, 320, 2]]],
              channels=[32, 64, 128, 192, 256, 320], num_heads=8, depths=[3, 3, 3], key_dims=[16, 20, 24],
              emb_dims=[192, 256, 320], mlp_ratios=[2, 4, 6],
              head_in=[128, 192, 256, 320], head_embed=[128, 160, 192], head_ch=192),
}
ALIASES = {'tiny': 'T', 'small': 'S', 'base': 'B', 'large': 'L'}

# Spec §1.5, exact trainable-parameter counts.
EXPECTED_SEG_150 = {'T': 1_667_318, 'S': 3_990_118, 'B': 8_605_654, 'L': 13_951_510}
EXPECTED_CLS_1000 = {'T': 1_781_096, 'S': 4_105_656, 'B': 8_742_664, 'L': 14_046_504}
EXPECTED_BACKBONE = {'T': 1_620_096, 'S': 3_912_656, 'B': 8_485_664, 'L': 13_725_504}


def variant(name):
    return ALIASES.get(name.lower(), name.upper())


# --------------------------------------------------------------------------------------------
# Primitives (spec §1.1)
# --------------------------------------------------------------------------------------------
def hard_sigmoid(x):
    # ReLU6(x + 3) / 6, written exactly like that (not F.hardsigmoid, whose rounding differs).
    return F.relu6(x + 3.0) / 6.0


class HSigmoid(nn.Module):
    def forward(self, x):
        return hard_sigmoid(x)


class Conv2d_BN(nn.Sequential):
    """conv (no bias) -> BatchNorm. Children are named 'c' and 'bn' (official key names)."""

    def __init__(self, cin, cout, ks=1, stride=1, pad=0, groups=1, bn_weight_init=1.0):
        super().__init__()
        self.add_module('c', nn.Conv2d(cin, cout, ks, stride, pad, groups=groups, bias=False))
        bn = nn.BatchNorm2d(cout)
        nn.init.constant_(bn.weight, bn_weight_init)
        nn.init.zeros_(bn.bias)
        self.add_module('bn', bn)


class ConvModule(nn.Module):
    """mmcv ConvModule subset: conv (no bias) -> BN -> optional activation. Children 'conv' and 'bn'."""

    def __init__(self, cin, cout, ks=1, groups=1, act=None):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, ks, 1, ks // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.act(x) if self.act is not None else x


class DropPath(nn.Module):
    """Per-sample stochastic depth: x / keep * floor(keep + U[0,1))."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.floor(keep + torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device))
        return x / keep * mask


# --------------------------------------------------------------------------------------------
# MobileNetV2 part
# --------------------------------------------------------------------------------------------
class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, k, s, t):
        super().__init__()
        hid = int(round(inp * t))
        mods = []
        if t != 1:
            mods += [Conv2d_BN(inp, hid, 1), nn.ReLU(inplace=True)]
        mods += [Conv2d_BN(hid, hid, k, s, k // 2, groups=hid), nn.ReLU(inplace=True), Conv2d_BN(hid, oup, 1)]
        self.conv = nn.Sequential(*mods)  # key prefix 'conv.<i>'
        self.residual = (s == 1 and inp == oup)

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y


class StackedMV2Block(nn.Module):
    def __init__(self, rows, cin, stem):
        super().__init__()
        self.has_stem = stem
        if stem:
            self.stem_block = nn.Sequential(Conv2d_BN(3, cin, 3, 2, 1), nn.ReLU(inplace=True))
        self.n = len(rows)
        for i, (k, t, c, s) in enumerate(rows):
            self.add_module(f'layer{i + 1}', InvertedResidual(cin, c, k, s, t))
            cin = c

    def forward(self, x):
        if self.has_stem:
            x = self.stem_block(x)
        for i in range(self.n):
            x = getattr(self, f'layer{i + 1}')(x)
        return x


# --------------------------------------------------------------------------------------------
# SEA attention (spec §1.3)
# --------------------------------------------------------------------------------------------
class SqueezeAxialPositionalEmbedding(nn.Module):
    def __init__(self, dim, length=16):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, dim, length))

    def forward(self, z):  # z: B x C x N
        return z + F.interpolate(self.pos_embed, size=z.shape[-1], mode='linear', align_corners=False)


class Sea_Attention(nn.Module):
    def __init__(self, dim, key_dim, num_heads, attn_ratio=2):
        super().__init__()
        self.nh = num_heads
        self.kd = key_dim
        self.d = int(attn_ratio * key_dim)
        nh_kd = key_dim * num_heads
        dh = self.d * num_heads
        self.scale = key_dim ** -0.5
        self.to_q = Conv2d_BN(dim, nh_kd, 1)
        self.to_k = Conv2d_BN(dim, nh_kd, 1)
        self.to_v = Conv2d_BN(dim, dh, 1)
        self.proj = nn.Sequential(nn.ReLU6(), Conv2d_BN(dh, dim, 1, bn_weight_init=0.0))
        self.proj_encode_row = nn.Sequential(nn.ReLU6(), Conv2d_BN(dh, dh, 1, bn_weight_init=0.0))
        self.pos_emb_rowq = SqueezeAxialPositionalEmbedding(nh_kd)
        self.pos_emb_rowk = SqueezeAxialPositionalEmbedding(nh_kd)
        self.proj_encode_column = nn.Sequential(nn.ReLU6(), Conv2d_BN(dh, dh, 1, bn_weight_init=0.0))
        self.pos_emb_columnq = SqueezeAxialPositionalEmbedding(nh_kd)
        self.pos_emb_columnk = SqueezeAxialPositionalEmbedding(nh_kd)
        cat = 2 * nh_kd + dh
        self.dwconv = Conv2d_BN(cat, cat, 3, 1, 1, groups=cat)
        self.pwconv = Conv2d_BN(cat, dim, 1)

    def _axial(self, q, k, v, pq, pk):
        # q, k: B x nh_kd x N ; v: B x dh x N  ->  B x dh x N
        B, _, N = q.shape
        q = pq(q).reshape(B, self.nh, self.kd, N).transpose(2, 3)    # B nh N kd
        k = pk(k).reshape(B, self.nh, self.kd, N)                    # B nh kd N
        v = v.reshape(B, self.nh, self.d, N).transpose(2, 3)         # B nh N d
        a = torch.softmax(torch.matmul(q, k) * self.scale, dim=-1)   # B nh N N
        y = torch.matmul(a, v)                                       # B nh N d
        return y.transpose(2, 3).reshape(B, self.nh * self.d, N)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)
        # detail enhancement
        qkv = F.relu6(self.dwconv(torch.cat([q, k, v], dim=1)))
        qkv = self.pwconv(qkv)
        # row branch: squeeze over W
        yr = self._axial(q.mean(-1), k.mean(-1), v.mean(-1), self.pos_emb_rowq, self.pos_emb_rowk)
        yr = self.proj_encode_row(yr.reshape(B, -1, H, 1))
        # column branch: squeeze over H
        yc = self._axial(q.mean(-2), k.mean(-2), v.mean(-2), self.pos_emb_columnq, self.pos_emb_columnk)
        yc = self.proj_encode_column(yc.reshape(B, -1, 1, W))
        y = self.proj(v + (yr + yc))
        return hard_sigmoid(y) * qkv


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = Conv2d_BN(dim, hidden, 1)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=True)
        self.fc2 = Conv2d_BN(hidden, dim, 1)

    def forward(self, x):
        return self.fc2(F.relu6(self.dwconv(self.fc1(x))))


class Block(nn.Module):
    def __init__(self, dim, key_dim, num_heads, mlp_ratio, drop_path):
        super().__init__()
        self.attn = Sea_Attention(dim, key_dim, num_heads)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.drop_path(self.attn(x))
        return x + self.drop_path(self.mlp(x))


class BasicLayer(nn.Module):
    def __init__(self, depth, dim, key_dim, num_heads, mlp_ratio, drop_path_rate):
        super().__init__()
        rates = torch.linspace(0, drop_path_rate, depth).tolist()  # restarts at 0 in every stage
        self.transformer_blocks = nn.ModuleList(
            [Block(dim, key_dim, num_heads, mlp_ratio, r) for r in rates])

    def forward(self, x):
        for blk in self.transformer_blocks:
            x = blk(x)
        return x


# --------------------------------------------------------------------------------------------
# Backbone / classifier
# --------------------------------------------------------------------------------------------
class SeaFormer(nn.Module):
    """Backbone. With num_classes set it is the ImageNet classifier (GAP -> Linear)."""

    def __init__(self, name='T', num_classes=None, drop_path_rate=0.1):
        super().__init__()
        c = VARIANTS[variant(name)]
        self.n_smb = len(c['cfgs'])
        self.n_sea = len(c['depths'])
        for i, rows in enumerate(c['cfgs']):
            self.add_module(f'smb{i + 1}', StackedMV2Block(rows, c['channels'][i], stem=(i == 0)))
        for j in range(self.n_sea):
            self.add_module(f'trans{j + 1}', BasicLayer(c['depths'][j], c['emb_dims'][j], c['key_dims'][j],
                                                       c['num_heads'], c['mlp_ratios'][j], drop_path_rate))
        self.num_classes = num_classes
        if num_classes is not None:
            self.linear = nn.Linear(c['channels'][-1], num_classes)
            self.avgpool = nn.AdaptiveAvgPool2d(1)

    def features(self, x):
        outs = []
        for i in range(self.n_smb):
            x = getattr(self, f'smb{i + 1}')(x)
            if i == 1:
                outs.append(x)
            j = i - (self.n_smb - self.n_sea)
            if j >= 0:
                x = getattr(self, f'trans{j + 1}')(x)
                outs.append(x)
        return outs

    def forward(self, x):
        outs = self.features(x)
        if self.num_classes is None:
            return outs
        return self.linear(self.avgpool(outs[-1]).flatten(1))

    def init_weights_seg(self):
        """SeaFormer.init_weights() as called by mmseg before loading the ImageNet checkpoint (spec §1.4)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------------------------
# Light segmentation head + segmentor
# --------------------------------------------------------------------------------------------
class Fusion_block(nn.Module):
    def __init__(self, inp, oup, embed_dim):
        super().__init__()
        self.local_embedding = ConvModule(inp, embed_dim, 1)
        self.global_act = ConvModule(oup, embed_dim, 1)

    def forward(self, x_l, x_g):
        local = self.local_embedding(x_l)
        w = hard_sigmoid(self.global_act(x_g))
        w = F.interpolate(w, size=x_l.shape[2:], mode='bilinear', align_corners=False)
        return local * w


class LightHead(nn.Module):
    def __init__(self, in_channels, embed_dims, channels, num_classes, dropout_ratio=0.1):
        super().__init__()
        # registration order = official state_dict order (mmseg BaseDecodeHead first)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        self.dropout = nn.Dropout2d(dropout_ratio)
        self.linear_fuse = ConvModule(channels, channels, 1, groups=channels, act=nn.ReLU(inplace=True))
        self.n_fuse = len(embed_dims)
        for i, e in enumerate(embed_dims):
            inp = in_channels[0] if i == 0 else embed_dims[i - 1]
            self.add_module(f'fuse{i + 1}', Fusion_block(inp, in_channels[i + 1], e))

    def forward(self, feats):
        x = feats[0]
        for i in range(self.n_fuse):
            x = getattr(self, f'fuse{i + 1}')(x, feats[i + 1])
        return self.conv_seg(self.dropout(self.linear_fuse(x)))

    def init_weights(self):
        for name, m in self.named_modules():
            if isinstance(m, nn.Conv2d):
                if name == 'conv_seg':
                    nn.init.normal_(m.weight, 0.0, 0.01)
                    nn.init.zeros_(m.bias)
                else:
                    nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


class SeaFormerSeg(nn.Module):
    """mmseg EncoderDecoder(backbone=SeaFormer, decode_head=LightHead), no auxiliary head."""

    def __init__(self, name='T', num_classes=150, drop_path_rate=0.1, init=True):
        super().__init__()
        c = VARIANTS[variant(name)]
        self.backbone = SeaFormer(name, None, drop_path_rate)
        self.decode_head = LightHead(c['head_in'], c['head_embed'], c['head_ch'], num_classes)
        if init:
            self.backbone.init_weights_seg()
            self.decode_head.init_weights()

    def forward(self, x):
        """Logits at 1/8 of the input resolution."""
        return self.decode_head(self.backbone(x))

    def encode_decode(self, x, post_memory_format=None):
        """Logits resized (bilinear, align_corners=False) to the input size.
        post_memory_format: optional memory format the 1/8 logits are converted to before the resize
        (a speed knob only; the values are the same)."""
        logits = self(x)
        if post_memory_format is not None:
            logits = logits.contiguous(memory_format=post_memory_format)
        return F.interpolate(logits, size=x.shape[2:], mode='bilinear', align_corners=False)

    def predict(self, x, softmax=False, post_memory_format=None):
        """mmseg whole-mode simple_test: resize to input size, (softmax), argmax over classes."""
        logits = self.encode_decode(x, post_memory_format)
        if softmax:
            logits = torch.softmax(logits, dim=1)
        return logits.argmax(dim=1)

    @staticmethod
    def loss(logits, label, ignore_index=255, post_memory_format=None):
        """mmseg 0.19 CrossEntropyLoss: resize logits to the label size, sum over valid pixels / ALL pixels."""
        if post_memory_format is not None:
            logits = logits.contiguous(memory_format=post_memory_format)
        logits = F.interpolate(logits, size=label.shape[-2:], mode='bilinear', align_corners=False)
        return F.cross_entropy(logits, label, ignore_index=ignore_index, reduction='none').mean()


def seaformer_seg(name='T', num_classes=150, **kw):
    return SeaFormerSeg(name, num_classes, **kw)


def seaformer_cls(name='T', num_classes=1000, **kw):
    return SeaFormer(name, num_classes, **kw)


def n_params(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


# --------------------------------------------------------------------------------------------
# Self-check
# --------------------------------------------------------------------------------------------
def check():
    torch.manual_seed(0)
    for n in 'TSBL':
        seg = seaformer_seg(n, 150)
        cls = seaformer_cls(n, 1000)
        ps, pc, pb = n_params(seg), n_params(cls), n_params(seg.backbone)
        print(f'SeaFormer-{n}: seg150 {ps:,} (spec {EXPECTED_SEG_150[n]:,})  cls1000 {pc:,} (spec {EXPECTED_CLS_1000[n]:,})'
              f'  backbone {pb:,}')
        assert ps == EXPECTED_SEG_150[n], (n, 'seg', ps)
        assert pc == EXPECTED_CLS_1000[n], (n, 'cls', pc)
        assert pb == EXPECTED_BACKBONE[n], (n, 'backbone', pb)
        # key naming spot checks (official names)
        keys = set(seg.state_dict().keys())
        for k in ['backbone.smb1.stem_block.0.c.weight', 'backbone.smb1.layer1.conv.0.bn.running_var',
                  'backbone.trans1.transformer_blocks.0.attn.to_q.c.weight',
                  'backbone.trans1.transformer_blocks.0.attn.proj.1.bn.weight',
                  'backbone.trans1.transformer_blocks.0.attn.pos_emb_columnk.pos_embed',
                  'backbone.trans1.transformer_blocks.0.mlp.dwconv.bias',
                  'decode_head.fuse1.local_embedding.conv.weight', 'decode_head.fuse2.global_act.bn.bias',
                  'decode_head.linear_fuse.bn.num_batches_tracked', 'decode_head.conv_seg.weight']:
            assert k in keys, (n, k)
        assert 'linear.weight' in cls.state_dict() and not any(k.startswith('backbone.') for k in cls.state_dict())
    # shapes (spec §1.2 trace) and train/eval forward
    m = seaformer_seg('T').eval()
    with torch.inference_mode():
        x = torch.randn(1, 3, 512, 512)
        feats = m.backbone(x)
        assert [tuple(f.shape) for f in feats] == [(1, 32, 64, 64), (1, 128, 16, 16), (1, 160, 8, 8)], \
            [f.shape for f in feats]
        assert tuple(m(x).shape) == (1, 150, 64, 64)
        assert tuple(m.predict(x).shape) == (1, 512, 512)
        # channels_last gives the same result
        y0 = m(x)
        m_cl = m.to(memory_format=torch.channels_last)
        y1 = m_cl(x.contiguous(memory_format=torch.channels_last))
        assert torch.allclose(y0, y1, atol=1e-4, rtol=1e-4), (y0 - y1).abs().max()
    ml = seaformer_seg('L').eval()
    with torch.inference_mode():
        f = ml.backbone(torch.randn(1, 3, 512, 512))
        assert [tuple(t.shape) for t in f] == [(1, 128, 64, 64), (1, 192, 32, 32), (1, 256, 16, 16), (1, 320, 8, 8)]
    mc = seaformer_cls('T').eval()
    with torch.inference_mode():
        assert tuple(mc(torch.randn(2, 3, 224, 224)).shape) == (2, 1000)
    m = seaformer_seg('T').train()
    x = torch.randn(2, 3, 128, 128)
    lbl = torch.randint(0, 150, (2, 128, 128))
    lbl[:, :8] = 255
    loss = m.loss(m(x), lbl)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in m.parameters())
    print('OK')


if __name__ == '__main__':
    if '--check' in sys.argv:
        check()
    elif '--keys' in sys.argv:
        n = sys.argv[sys.argv.index('--keys') + 1] if len(sys.argv) > sys.argv.index('--keys') + 1 else 'T'
        for k, v in seaformer_seg(n).state_dict().items():
            print(k, tuple(v.shape))
    else:
        print(__doc__)
