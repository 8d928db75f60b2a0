#!/usr/bin/env python3
"""Exports a PyTorch reference model (mit_ref.py, s2aformer_ref.py, xformer_ref.py) with fixed random weights, an input
batch and its logits to HDF5, for the Swift parity tests (Tests/ModelZooTests/MiTParityTests.swift,
S2AFormerParityTests.swift).

    python3 tools/reference/parity.py --out DIR [--models segformer_b0,pvtv2_b0] [--size 70x90]

One file per model, DIR/<model>.h5:
  /weights/<state path>   every parameter and buffer under its official state_dict key, converted to
                          ViTLab's layouts: conv weights OIHW -> OHWI, Linear weights stay [out, in],
                          1-D tensors as they are, num_batches_tracked as a float scalar
  /input                  the input batch, NHWC (B×H×W×3 images; B×H×W×C for a single block)
  /logits                 the reference output, NHWC (B×h×w×K) for maps, B×K for a classifier, computed
                          in float64 from the float32 weights
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
import s2aformer_ref as S  # noqa: E402
import xformer_ref as X  # noqa: E402

# name: () -> (model, classes or output width, input channels[, (H, W) replacing --size])
BUILDERS = {
    "segformer_b0": lambda: (R.segformer("b0", 20), 20, 3),
    "segformer_b1": lambda: (R.segformer("b1", 20), 20, 3),
    "segformer_b2": lambda: (R.segformer("b2", 20), 20, 3),
    "pvtv2_b0": lambda: (R.pvtv2_fpn("b0", 20), 20, 3),
    "lvt": lambda: (R.lvt(20), 20, 3),
    # S2AFormer-mini classifier, both heads averaged, 10 classes
    "s2aformer_mini_cls": lambda: (S.S2AFormerClassifier("mini", num_classes=10), 10, 3),
    # S2AFormer-mini + FPN + Semantic FPN with BN (ADE20K head, 20 classes here)
    "s2aformer_mini_fpn": lambda: (S.Segmentor("mini", num_classes=20), 20, 3),
    # one hybrid perception block of stage 2 (C 64, 2 heads, k = 4), conv and pooling reduction
    # (29×37: a stage-2 map of a 232×296 image, which the reduction 4 does not divide)
    "s2aformer_hpb": lambda: (S.HPB(64, 2, 4), 64, 64, (29, 37)),
    "s2aformer_hpb_pool": lambda: (S.HPB(64, 2, 4, reduction="pool"), 64, 64, (29, 37)),
    # XFormer classifier (XFA, w_c for 224 resampled to the 70×90 grids), 10 classes; the MHSA variant
    "xformer_cls": lambda: (X.XFormerClassifier(num_classes=10), 10, 3),
    "xformer_mhsa_cls": lambda: (X.XFormerClassifier(num_classes=10, attention="mhsa"), 10, 3),
    # XFormer + mmseg SegformerHead, w_c sized for the 70×90 input itself, 19 classes
    "xformer_segformer": lambda: (X.Segmentor(num_classes=19, img=(70, 90)), 19, 3),
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
    model, k, cin, *own_size = BUILDERS[name]()
    size = own_size[0] if own_size else size
    gen = torch.Generator().manual_seed(0)
    randomise(model, gen)
    model.eval()
    x = torch.rand(batch, cin, size[0], size[1], generator=gen)
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
        out = logits.permute(0, 2, 3, 1) if logits.dim() == 4 else logits
        f.create_dataset("logits", data=out.contiguous().numpy())
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
