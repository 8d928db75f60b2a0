#!/usr/bin/env python3
"""Both directions of tools/convert_checkpoint.py checked on logits, with no network access.

    python3 tools/reference/conversion_parity.py make DIR
        Builds the PyTorch reference SeaFormer-T segmentor (6 classes) with random weights and
        random BN statistics, saves it as an mmseg-style checkpoint DIR/official.pth, converts it
        with `convert_checkpoint.py to-vitlab` into DIR/converted.h5, and writes DIR/reference.h5
        with a fixed input and the reference's eval-mode logits, both NHWC.
    python3 tools/reference/conversion_parity.py reverse DIR
        Converts DIR/vitlab.h5 (a ViTLab checkpoint the Swift test wrote from its own random
        model) with `convert_checkpoint.py to-pytorch`, loads it into the reference (strict) and
        writes the reference's logits on DIR/reference.h5's input to DIR/reverse.h5.

The Swift test (Tests/ExperimentsTests/ConversionTests.swift) compares ViTLab's logits with
these to 1e-4 relative. Needs torch and h5py.
"""
import os
import subprocess
import sys

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import seaformer_ref as R  # noqa: E402

CONVERT = os.path.join(HERE, '..', 'convert_checkpoint.py')


def reference_model():
    torch.manual_seed(0)
    m = R.seaformer_seg('T', num_classes=6)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    return m.eval()


def logits_nhwc(model, x_nhwc):
    with torch.no_grad():
        y = model(torch.from_numpy(x_nhwc).permute(0, 3, 1, 2).contiguous())
    return y.permute(0, 2, 3, 1).contiguous().numpy()


def make(d):
    m = reference_model()
    torch.save({'state_dict': m.state_dict(), 'meta': {'note': 'random weights'}}, os.path.join(d, 'official.pth'))
    subprocess.run([sys.executable, CONVERT, 'to-vitlab', os.path.join(d, 'official.pth'), os.path.join(d, 'converted.h5')], check=True)
    x = np.random.default_rng(1).standard_normal((1, 64, 96, 3)).astype(np.float32)
    with h5py.File(os.path.join(d, 'reference.h5'), 'w') as f:
        f['input'] = x
        f['logits'] = logits_nhwc(m, x)


def reverse(d):
    subprocess.run([sys.executable, CONVERT, 'to-pytorch', os.path.join(d, 'vitlab.h5'), os.path.join(d, 'vitlab.pth')], check=True)
    m = R.seaformer_seg('T', num_classes=6)
    m.load_state_dict(torch.load(os.path.join(d, 'vitlab.pth'), weights_only=False)['state_dict'], strict=True)
    m.eval()
    with h5py.File(os.path.join(d, 'reference.h5'), 'r') as f:
        x = f['input'][()]
    with h5py.File(os.path.join(d, 'reverse.h5'), 'w') as f:
        f['logits'] = logits_nhwc(m, x)


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] not in ('make', 'reverse'):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    (make if sys.argv[1] == 'make' else reverse)(sys.argv[2])
