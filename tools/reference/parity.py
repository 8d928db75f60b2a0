#!/usr/bin/env python3
"""Exports a PyTorch reference model (mit_ref.py) with fixed random weights, an input batch and its
logits to HDF5, for the Swift parity test (Tests/ModelZooTests/MiTParityTests.swift).

    python3 tools/reference/parity.py --out DIR [--models segformer_b0,pvtv2_b0] [--size 70x90]

One file per model, DIR/<model>.h5:
  /weights/<state path>   every parameter and buffer under its official state_dict key, converted to
                          ViTLab's layouts: conv weights OIHW -> OHWI, Linear weights stay [out, in],
                          1-D tensors as they are, num_batches_tracked as a float scalar
  /input                  the image batch, NHWC (B×H×W×3)
  /logits                 the reference logits, NHWC (B×h×w×K), computed in float64 from the float32 weights
  attributes on /: model, num_classes, torch_version
Weights are the module init perturbed so that every LayerNorm/BN affine, bias and running statistic is
non-trivial (seed 0). Exit code 3 when torch cannot be imported.
"""
import argparse
import os
import sys

try:
    import torch
except ImportError as e:  # the Swift test turns this into an XCTSkip
    print(f"parity.py: PyTorch is not installed ({e}); python3 -m pip install torch", file=sys.stderr)
    sys.exit(3)
import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mit_ref as R  # noqa: E402

BUILDERS = {
    "segformer_b0": lambda: (R.segformer("b0", 20), 20),
    "segformer_b1": lambda: (R.segformer("b1", 20), 20),
    "segformer_b2": lambda: (R.segformer("b2", 20), 20),
    "pvtv2_b0": lambda: (R.pvtv2_fpn("b0", 20), 20),
    "lvt": lambda: (R.lvt(20), 20),
}


def randomise(model, gen):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            elif name.endswith("running_mean") or name.endswith("bias"):
                t.copy_(0.1 * torch.randn(t.shape, generator=gen))
            elif t.dim() == 1:  # norm weights
                t.copy_(1 + 0.2 * torch.randn(t.shape, generator=gen))
            else:  # keep each weight's init scale, redrawn from the seeded generator
                std = float(t.std()) if t.numel() > 1 and float(t.std()) > 0 else 0.02
                t.copy_(std * torch.randn(t.shape, generator=gen))


def export(name, out_dir, size, batch=2):
    torch.manual_seed(0)  # the module inits whose scales randomise() keeps: same file every run
    model, k = BUILDERS[name]()
    gen = torch.Generator().manual_seed(0)
    randomise(model, gen)
    model.eval()
    x = torch.rand(batch, 3, size[0], size[1], generator=gen)
    ref = model.double()
    with torch.no_grad():
        logits = ref(x.double()).float()
    path = os.path.join(out_dir, f"{name}.h5")
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["model"] = str(name)
        f.attrs["num_classes"] = k
        f.attrs["torch_version"] = str(torch.__version__)
        g = f.create_group("weights")
        for key, t in model.float().state_dict().items():
            a = t.detach().float().numpy()
            if a.ndim == 4:
                a = a.transpose(0, 2, 3, 1)  # OIHW -> OHWI
            g.create_dataset(key, data=np.ascontiguousarray(a, dtype=np.float32))
        f.create_dataset("input", data=x.permute(0, 2, 3, 1).contiguous().numpy())
        f.create_dataset("logits", data=logits.permute(0, 2, 3, 1).contiguous().numpy())
    os.replace(tmp, path)
    print(f"{path}: logits {tuple(logits.shape)} (NCHW), |logits| max {float(logits.abs().max()):.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--models", default="segformer_b0,pvtv2_b0,lvt")
    p.add_argument("--size", default="70x90", help="H×W of the input (default 70x90, which 32 does not divide)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    h, w = (int(v) for v in a.size.lower().split("x"))
    torch.set_num_threads(2)
    for name in a.models.split(","):
        export(name, a.out, (h, w))


if __name__ == "__main__":
    main()
