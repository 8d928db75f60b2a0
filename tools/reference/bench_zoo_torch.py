#!/usr/bin/env python3
"""PyTorch eager timings of the model-zoo rows of `vitlab-bench --zoo` (Sources/vitlab-bench/ZooBench.swift),
on the same CPU with the same thread count, for the benchmark's "PyTorch" column.

    python3 tools/reference/bench_zoo_torch.py [--threads 2] [--rows a,b] [--quick]

Rows (names shared with ZooBench.swift; the models are the references of this folder):
  segformer_b0_infer_512x1024_b1   mit_ref.segformer('b0', 20): net to the 1/4 logits, and predict
                                   (bilinear upsample to 512×1024 + argmax)
  segformer_b0_train_512x1024_b2   one step: forward, upsample + cross entropy at label size
                                   (ignore 255), backward, fused AdamW
  mit_b0_stage1_attn_512x1024_b2   MiT-B0 stage-1 attention alone (C 32, 1 head, sr 8: 32768 queries
                                   against 512 keys): forward, and forward + backward
  xformer_infer_224_b1, xformer_train_224_b8               xformer_ref.XFormerClassifier (1000 classes)
  xformer_segformer_infer_1024x2048_b1                     xformer_ref.Segmentor at Cityscapes' full size (net)
  s2aformer_t_infer_224_b1, s2aformer_t_train_224_b8      s2aformer_ref.S2AFormerClassifier('t')
  s2aformer_t_throughput_224_b16                          images per second at batch 16 (Table V)

Each row is timed in NCHW and channels_last and the faster is kept (`layout`). Prints one JSON
object: {"torch_version", "threads", "rows": [{"name", "ms", "net_ms"?, "layout", "others_cpu"}]}.
Exit code 3 when torch is not installed.
"""
import argparse
import json
import os
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f'bench_zoo_torch.py: PyTorch is not installed ({e}); python3 -m pip install torch', file=sys.stderr)
    sys.exit(3)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mit_ref  # noqa: E402
import s2aformer_ref  # noqa: E402
import xformer_ref  # noqa: E402
from bench_torch import OthersProbe, timed  # noqa: E402

LAYOUTS = {'contiguous': torch.contiguous_format, 'channels_last': torch.channels_last}


def infer_row(build, shape, warmup, repeat, predict_size=None):
    """Median ms of the network (and of predict when `predict_size` is given), best layout."""
    best = None
    for name, fmt in LAYOUTS.items():
        torch.manual_seed(0)
        model = build().eval().to(memory_format=fmt)
        x = torch.randn(*shape).contiguous(memory_format=fmt)
        with torch.inference_mode():
            net = timed(lambda: model(x), warmup, repeat)
            row = {'ms': net, 'layout': name}
            if predict_size is not None:
                def predict():
                    y = F.interpolate(model(x), size=predict_size, mode='bilinear', align_corners=False)
                    return y.argmax(1)
                row = {'ms': timed(predict, warmup, repeat), 'net_ms': net, 'layout': name}
        if best is None or row['ms'] < best['ms']:
            best = row
    return best


def train_row(build, shape, labels, warmup, repeat, segmentation):
    best = None
    for name, fmt in LAYOUTS.items():
        torch.manual_seed(0)
        model = build().train().to(memory_format=fmt)
        x = torch.randn(*shape).contiguous(memory_format=fmt)
        opt = torch.optim.AdamW(model.parameters(), lr=6e-5, weight_decay=0.01, fused=True)

        def step():
            out = model(x)
            if segmentation:
                out = F.interpolate(out, size=labels.shape[-2:], mode='bilinear', align_corners=False)
            loss = F.cross_entropy(out, labels, ignore_index=255)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        row = {'ms': timed(step, warmup, repeat), 'layout': name}
        if best is None or row['ms'] < best['ms']:
            best = row
    return best


def attention_row(warmup, repeat, batch, h, w):
    """MiT-B0's stage-1 attention (C 32, 1 head, sr 8) on a B×(h·w)×C token sequence."""
    torch.manual_seed(0)
    attn = mit_ref.SRAttention(32, 1, 8)
    x = torch.randn(batch, h * w, 32)
    with torch.inference_mode():
        fwd = timed(lambda: attn(x[:1], h, w), warmup, repeat)
    xg = x.clone().requires_grad_(True)
    g = torch.randn(batch, h * w, 32)

    def fwd_bwd():
        attn.zero_grad(set_to_none=True)
        xg.grad = None
        attn(xg, h, w).backward(g)
    return {'ms': timed(fwd_bwd, warmup, repeat), 'net_ms': fwd, 'layout': 'tokens'}


def rows(quick):
    s = (lambda full, small: small if quick else full)
    seg_h, seg_w = s((512, 1024), (128, 256))
    cls = s(224, 64)
    xs_h, xs_w = s((1024, 2048), (128, 256))
    seg_labels = torch.randint(0, 20, (2, seg_h, seg_w))
    cls_labels = torch.randint(0, 1000, (8,))
    return {
        f'segformer_b0_infer_{seg_h}x{seg_w}_b1': lambda w, r: infer_row(lambda: mit_ref.segformer('b0', 20), (1, 3, seg_h, seg_w), w, r, (seg_h, seg_w)),
        f'segformer_b0_train_{seg_h}x{seg_w}_b2': lambda w, r: train_row(lambda: mit_ref.segformer('b0', 20), (2, 3, seg_h, seg_w), seg_labels, w, r, True),
        f'mit_b0_stage1_attn_{seg_h}x{seg_w}_b2': lambda w, r: attention_row(w, r, 2, seg_h // 4, seg_w // 4),
        f'xformer_infer_{cls}_b1': lambda w, r: infer_row(lambda: xformer_ref.XFormerClassifier(num_classes=1000), (1, 3, cls, cls), w, r),
        f'xformer_train_{cls}_b8': lambda w, r: train_row(lambda: xformer_ref.XFormerClassifier(num_classes=1000), (8, 3, cls, cls), cls_labels, w, r, False),
        f'xformer_segformer_infer_{xs_h}x{xs_w}_b1': lambda w, r: infer_row(lambda: xformer_ref.Segmentor(num_classes=19, img=(xs_h, xs_w)), (1, 3, xs_h, xs_w), 1, max(1, r // 3)),
        f's2aformer_t_infer_{cls}_b1': lambda w, r: infer_row(lambda: s2aformer_ref.S2AFormerClassifier('t', num_classes=1000), (1, 3, cls, cls), w, r),
        f's2aformer_t_train_{cls}_b8': lambda w, r: train_row(lambda: s2aformer_ref.S2AFormerClassifier('t', num_classes=1000), (8, 3, cls, cls), cls_labels, w, r, False),
        f's2aformer_t_throughput_{cls}_b16': lambda w, r: infer_row(lambda: s2aformer_ref.S2AFormerClassifier('t', num_classes=1000), (16, 3, cls, cls), w, r),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--rows', default='', help='comma list of row names (default: all)')
    ap.add_argument('--quick', action='store_true', help='smoke run: small sizes, 1 warm-up, 1 repeat')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    warmup, repeat = (1, 1) if a.quick else (2, 5)
    table = rows(a.quick)
    wanted = [n for n in a.rows.split(',') if n] or list(table)
    unknown = [n for n in wanted if n not in table]
    if unknown:
        print(f'bench_zoo_torch.py: unknown rows {unknown}; known: {", ".join(table)}', file=sys.stderr)
        sys.exit(2)
    out = []
    for name in wanted:
        probe = OthersProbe()
        row = table[name](warmup, repeat)
        row = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
        out.append({'name': name, **row, 'others_cpu': probe.others()})
    print(json.dumps({'torch_version': torch.__version__, 'threads': a.threads, 'rows': out}))


if __name__ == '__main__':
    main()
