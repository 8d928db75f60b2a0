#!/usr/bin/env python3
"""Both directions of tools/convert_checkpoint.py checked on logits, for every family, with no
network access.

    python3 tools/reference/conversion_parity.py make DIR --model NAME[,NAME...|all]
        Builds the PyTorch reference model NAME with random weights and random norm statistics,
        saves it as an mmseg-style checkpoint DIR/NAME.pth, converts it with
        `convert_checkpoint.py to-vitlab --family F` into DIR/NAME.converted.h5, and writes
        DIR/NAME.reference.h5 with a fixed input and the reference's eval-mode logits, both NHWC.
    python3 tools/reference/conversion_parity.py reverse DIR --model NAME[,NAME...|all]
        Converts DIR/NAME.vitlab.h5 (a ViTLab checkpoint the Swift test wrote from its own random
        model) with `convert_checkpoint.py to-pytorch --family F`, loads it into the reference
        (strict) and writes the reference's logits on the reference input to DIR/NAME.reverse.h5.
    python3 tools/reference/conversion_parity.py models
        The model names, one a line with the family each exercises.

The Swift test (Tests/ExperimentsTests/ConversionTests.swift) compares ViTLab's logits with these
to 1e-4 relative. Unlike parity.py, which lays out the weights itself, every tensor here goes
through the converter, so its key tables and layout changes are what is checked. Needs torch and
h5py; exit code 3 when torch cannot be imported. The converter runs in this process (its `main`),
so torch is imported once for all models.
"""
import contextlib
import io
import os
import sys

try:
    import torch
except ImportError as e:  # the Swift test turns this into an XCTSkip
    print(f'conversion_parity.py: PyTorch is not installed ({e}); python3 -m pip install torch', file=sys.stderr)
    sys.exit(3)
import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..'))
import convert_checkpoint  # noqa: E402
import parity  # noqa: E402  (its builders and weight perturbation)
import seaformer_ref  # noqa: E402

# name: (convert_checkpoint family, () -> model, input H×W). One model per family; each is a
# segmentor (or the XFormer segmentor whose w_c is sized for the input), so heads convert too.
# The reference modules use ViTLab's state paths; OFFICIAL_NAMES turns them into the official
# release's where the two differ, so the converter's key table is what maps them back.
MODELS = {
    'seaformer_t': ('seaformer', lambda: seaformer_ref.seaformer_seg('T', num_classes=6), (64, 96)),
    'segformer_b0': ('mit', lambda: parity.BUILDERS['segformer_b0']()[0], (70, 90)),
    'pvtv2_b0': ('pvtv2', lambda: parity.BUILDERS['pvtv2_b0']()[0], (70, 90)),
    'lvt': ('lvt', lambda: parity.BUILDERS['lvt']()[0], (70, 90)),
    's2aformer_mini_fpn': ('s2aformer', lambda: parity.BUILDERS['s2aformer_mini_fpn']()[0], (70, 90)),
    'xformer_segformer': ('xformer', lambda: parity.BUILDERS['xformer_segformer']()[0], (70, 90)),
}




def lvt_official(key):
    """TransKD's `lvt` module keeps the All-MLP head's layers at its top level."""
    return key[len('decode_head.'):] if key.startswith('decode_head.') else key


def lvt_reference(key):
    head = ('linear_c', 'linear_fuse.', 'linear_pred.')
    return 'decode_head.' + key if key.startswith(head) else key


OFFICIAL_NAMES = {'lvt': (lvt_official, lvt_reference)}


def official_state(name, model):
    to_official = OFFICIAL_NAMES.get(name, (lambda k: k, None))[0]
    return {to_official(k): v for k, v in model.state_dict().items()}


def reference_state(name, state):
    to_reference = OFFICIAL_NAMES.get(name, (None, lambda k: k))[1]
    return {to_reference(k): v for k, v in state.items()}


def reference_model(name):
    torch.manual_seed(0)
    model = MODELS[name][1]()
    parity.randomise(model, torch.Generator().manual_seed(0))
    return model.eval()


def logits_nhwc(model, x_nhwc):
    with torch.no_grad():
        y = model(torch.from_numpy(x_nhwc).permute(0, 3, 1, 2).contiguous())
    return y.permute(0, 2, 3, 1).contiguous().numpy()


def convert(direction, src, dst, family):
    with contextlib.redirect_stdout(io.StringIO()):
        convert_checkpoint.main([direction, src, dst, '--family', family])


def make(d, name):
    family, _, (h, w) = MODELS[name]
    m = reference_model(name)
    pth = os.path.join(d, f'{name}.pth')
    torch.save({'state_dict': official_state(name, m), 'meta': {'note': 'random weights'}}, pth)
    convert('to-vitlab', pth, os.path.join(d, f'{name}.converted.h5'), family)
    x = np.random.default_rng(1).standard_normal((1, h, w, 3)).astype(np.float32)
    with h5py.File(os.path.join(d, f'{name}.reference.h5'), 'w') as f:
        f['input'] = x
        f['logits'] = logits_nhwc(m, x)


def reverse(d, name):
    family = MODELS[name][0]
    pth = os.path.join(d, f'{name}.vitlab.pth')
    convert('to-pytorch', os.path.join(d, f'{name}.vitlab.h5'), pth, family)
    torch.manual_seed(0)
    m = MODELS[name][1]()
    m.load_state_dict(reference_state(name, torch.load(pth, weights_only=False)['state_dict']), strict=True)
    m.eval()
    with h5py.File(os.path.join(d, f'{name}.reference.h5'), 'r') as f:
        x = f['input'][()]
    with h5py.File(os.path.join(d, f'{name}.reverse.h5'), 'w') as f:
        f['logits'] = logits_nhwc(m, x)


def main(argv):
    if argv[:1] == ['models']:
        for name, (family, _, _) in MODELS.items():
            print(f'{name} {family}')
        return
    names = list(MODELS) if argv[3:] == ['all'] else argv[3].split(',') if len(argv) == 4 else []
    if len(argv) != 4 or argv[0] not in ('make', 'reverse') or argv[2] != '--model' or not names \
            or any(n not in MODELS for n in names):
        print(__doc__, file=sys.stderr)
        print(f'models: {", ".join(MODELS)}', file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(2)
    for name in names:
        (make if argv[0] == 'make' else reverse)(argv[1], name)


if __name__ == '__main__':
    main(sys.argv[1:])
