#!/usr/bin/env python3
"""Deployment-runtime timings of SeaFormer for `vitlab-bench --runtimes` (issue 16's yardsticks), on
the same CPU with the same thread count and, with --weights, the same weights as ViTLab:

    python3 tools/reference/bench_runtimes.py [--threads 2] [--models T,S] [--weights DIR] [--quick]

Per model (seaformer_ref.py, 150 classes):
  infer row  (1×3×512×512): network to the 1/8 logits ("net") and the full predict (bilinear resize
             to 512×512 + argmax) in
               eager      PyTorch eager, inference_mode, faster of NCHW / channels_last
               compile    torch.compile (inductor, default mode); compile time reported apart
               ort        ONNX Runtime CPU execution provider, ORT_ENABLE_ALL, intra-op threads =
                          --threads, inter-op 1 (the network and the predict exported separately)
               openvino   OpenVINO CPU, PERFORMANCE_HINT LATENCY, INFERENCE_NUM_THREADS = --threads,
                          INFERENCE_PRECISION_HINT f32, from the same ONNX files
  train row  (8×3×256×256): one step (forward, mmseg loss at label size, backward, fused AdamW) in
             eager and compile.
--weights DIR loads DIR/seaformer_<variant>.h5 (a ViTLab `/model` state written by vitlab-bench)
into the reference, converted as tools/convert_checkpoint.py does. Missing runtimes are reported
in "skipped" and their cells left out. Prints one JSON object; exit code 3 without torch.
"""
import argparse
import json
import os
import sys
import tempfile
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f'bench_runtimes.py: PyTorch is not installed ({e}); python3 -m pip install torch', file=sys.stderr)
    sys.exit(3)
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..'))
import seaformer_ref  # noqa: E402
from bench_torch import OthersProbe, timed  # noqa: E402

NAMES = {'T': 'tiny', 'S': 'small', 'B': 'base', 'L': 'large'}


def load_vitlab_weights(model, path):
    """A ViTLab checkpoint's /model state into the reference (OHWI -> OIHW), strictly."""
    import h5py
    import convert_checkpoint as cc
    with h5py.File(path, 'r') as f:
        state = {k: cc.to_torch_tensor(k, a) for k, a in cc.read_group(f, 'model').items()}
    model.load_state_dict(state, strict=True)


class Predict(nn.Module):
    """The full predict as one graph: network, bilinear resize to the input size, argmax."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        logits = self.model(x)
        return F.interpolate(logits, size=x.shape[2:], mode='bilinear', align_corners=False).argmax(1)


def eager_infer(model, x, warmup, repeat):
    best = None
    for fmt in (torch.contiguous_format, torch.channels_last):
        m, xi = model.to(memory_format=fmt), x.contiguous(memory_format=fmt)
        with torch.inference_mode():
            row = {'eager_net_ms': timed(lambda: m(xi), warmup, repeat), 'eager_ms': timed(lambda: m.predict(xi), warmup, repeat)}
        if best is None or row['eager_ms'] < best['eager_ms']:
            best = row
    model.to(memory_format=torch.contiguous_format)
    return best


def compile_infer(model, x, warmup, repeat):
    out = {}
    for key, module in (('compile_net', model), ('compile', Predict(model))):
        fn = torch.compile(module)
        with torch.inference_mode():
            t = time.perf_counter()
            fn(x)
            out[f'{key}_compile_s'] = round(time.perf_counter() - t, 1)
            out[f'{key}_ms'] = timed(lambda: fn(x), warmup, repeat)
    return out


def export_onnx(module, x, path):
    with torch.no_grad():
        torch.onnx.export(module, (x,), path, opset_version=17, dynamo=False, input_names=['image'], output_names=['out'])


def ort_infer(paths, x, threads, warmup, repeat):
    import onnxruntime as ort
    out = {}
    for key, path in paths.items():
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        s = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
        feed = {'image': x.numpy()}
        out[f'ort{key}_ms'] = timed(lambda: s.run(None, feed), warmup, repeat)
    return out


def openvino_infer(paths, x, threads, warmup, repeat):
    import openvino as ov
    core = ov.Core()
    out = {}
    for key, path in paths.items():
        compiled = core.compile_model(path, 'CPU', {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_NUM_THREADS': threads,
                                                     'INFERENCE_PRECISION_HINT': 'f32'})
        request = compiled.create_infer_request()
        feed = x.numpy()
        out[f'openvino{key}_ms'] = timed(lambda: request.infer({0: feed}), warmup, repeat)
    return out


def train_rows(model, batch, size, warmup, repeat, skipped):
    x = torch.randn(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    label = torch.randint(0, 150, (batch, size, size))
    model = model.train().to(memory_format=torch.channels_last)
    out = {}

    def stepper(fwd):
        opt = torch.optim.AdamW(model.parameters(), lr=2.5e-4, weight_decay=0.01, fused=True)

        def step():
            loss = seaformer_ref.SeaFormerSeg.loss(fwd(x), label)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        return step
    out['eager_ms'] = timed(stepper(model), warmup, repeat)
    try:
        step = stepper(torch.compile(model))
        t = time.perf_counter()
        step()
        out['compile_compile_s'] = round(time.perf_counter() - t, 1)
        out['compile_ms'] = timed(step, warmup, repeat)
    except Exception as e:  # noqa: BLE001 - inductor needs a C++ compiler; without one the column is empty
        skipped['compile_train'] = f'torch.compile training failed: {str(e).splitlines()[0]}'
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--models', default='T,S')
    ap.add_argument('--weights', default=None, help='directory with seaformer_<variant>.h5 from vitlab-bench')
    ap.add_argument('--quick', action='store_true', help='smoke run: 128×128, train batch 2 at 64×64, 1 repeat')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    size, tsize, tbatch = (128, 64, 2) if a.quick else (512, 256, 8)
    warmup, repeat = (1, 1) if a.quick else (3, 10)
    rows, skipped = [], {}
    tmp = tempfile.mkdtemp(prefix='vitlab-runtimes-')
    for letter in a.models.split(','):
        name = NAMES[letter.upper()]
        torch.manual_seed(0)
        model = seaformer_ref.seaformer_seg(letter.upper(), 150).eval()
        if a.weights:
            load_vitlab_weights(model, os.path.join(a.weights, f'seaformer_{name}.h5'))
        x = torch.randn(1, 3, size, size)
        probe = OthersProbe()
        row = {'name': f'seaformer_{name}_infer_{size}_b1'}
        row.update(eager_infer(model, x, warmup, repeat))
        paths = {'_net': os.path.join(tmp, f'{name}_net.onnx'), '': os.path.join(tmp, f'{name}_predict.onnx')}
        try:
            export_onnx(model, x, paths['_net'])
            export_onnx(Predict(model), x, paths[''])
        except Exception as e:  # noqa: BLE001 - an export failure only empties the two columns
            skipped['onnx'] = f'ONNX export failed: {e}'
            paths = {}
        for runtime, fn in (('ort', ort_infer), ('openvino', openvino_infer)):
            if not paths:
                continue
            try:
                row.update(fn(paths, x, a.threads, warmup, repeat))
            except ImportError as e:
                skipped[runtime] = f'{e.name} is not installed (python3 -m pip install -r tools/reference/requirements.txt)'
            except Exception as e:  # noqa: BLE001
                skipped[runtime] = f'{runtime} failed: {e}'
        try:
            row.update(compile_infer(model, x, warmup, repeat))
        except Exception as e:  # noqa: BLE001 - inductor needs a C++ compiler; without one the column is empty
            skipped['compile'] = f'torch.compile failed: {str(e).splitlines()[0]}'
        row['others_cpu'] = probe.others()
        rows.append(row)
        train = {'name': f'seaformer_{name}_train_{tsize}_b{tbatch}'}
        train.update(train_rows(model, tbatch, tsize, min(warmup, 2), max(1, repeat // 2), skipped))
        rows.append(train)
    print(json.dumps({'torch_version': torch.__version__, 'threads': a.threads, 'rows': rows, 'skipped': skipped}))


if __name__ == '__main__':
    main()
