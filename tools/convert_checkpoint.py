#!/usr/bin/env python3
"""Converts checkpoints between PyTorch (official SeaFormer / SegFormer-MiT / PVTv2 releases,
mmseg and timm files) and ViTLab's HDF5 layout, in both directions.

    python3 tools/convert_checkpoint.py to-vitlab  IN.pth OUT.h5  [--family seaformer] [--weights ema]
    python3 tools/convert_checkpoint.py to-pytorch IN.h5  OUT.pth [--family seaformer] [--weights ema]
    python3 tools/convert_checkpoint.py families

to-vitlab: unwraps the container (`state_dict`, `state_dict_ema`, `model`, `model_ema`, or a bare
state dict; `--weights ema` picks the EMA copy where the file has one), strips DataParallel's
`module.`, renames keys by the family's table, changes layouts (4-D conv weights OIHW -> OHWI,
integer buffers -> float32), and writes `/model/<key as groups>` (plus `/ema/...` when the source
has both), with the attributes `converted_from` and `family`. The output loads with
`model.init: {checkpoint: OUT.h5}` or `runexp eval --checkpoint OUT.h5`.

to-pytorch: the reverse, for mmseg/timm users: `/model` (or `/ema`) back to official key names and
PyTorch layouts, saved as `{'state_dict': ..., 'meta': {...}}` (mmseg's wrapper);
`num_batches_tracked` becomes int64 again.

Key tables (one per family; ViTLab's state paths are the official PyTorch names, so most tables
are empty and only layouts change):

| family    | official source                                   | renames |
|-----------|---------------------------------------------------|---------|
| seaformer | fudan-zvg/SeaFormer cls (timm) and seg (mmseg)    | none    |
| mit       | NVlabs/SegFormer (mmseg 0.x naming: patch_embed1, block1.0.attn.q, ...) | none |
| pvtv2     | whai362/PVT v2 (patch_embed1.proj, block1.0.attn.sr, ...) | none |
| lvt       | TransKD's LVT student (train/models/lvt/backbone.py: backbone.{stage}.…, the All-MLP head at the top level) | linear_c*, linear_fuse, linear_pred -> decode_head.* |
| s2aformer | no official release; the names of tools/reference/s2aformer_ref.py (stem.0.conv, block1.0.attn.q, ...) | none |
| xformer   | no official release; ml-cvnets MobileViT names as tools/reference/xformer_ref.py (layer_3.1.global_rep.0.attn.w_c, ...) | none |

Every family is checked both ways on logits against its PyTorch reference with random weights
(tools/reference/conversion_parity.py, Tests/ExperimentsTests/ConversionTests.swift).

Needs torch and h5py (`python3 -m pip install torch h5py`). Exit status 2 with one line on
stderr for every user error (missing file, unknown family, no EMA weights, not a checkpoint).
"""
import argparse
import sys

# Renames as (official prefix, ViTLab prefix); applied to the start of a key, first match wins.
FAMILIES = {
    'seaformer': [],
    'mit': [],
    'pvtv2': [],
    # TransKD's `lvt` module holds the SegFormer head's layers beside `backbone`, not under a head.
    'lvt': [('linear_c', 'decode_head.linear_c'), ('linear_fuse.', 'decode_head.linear_fuse.'),
            ('linear_pred.', 'decode_head.linear_pred.')],
    's2aformer': [],
    'xformer': [],
}

WRAPPERS_MODEL = ('state_dict', 'model', 'module')
WRAPPERS_EMA = ('state_dict_ema', 'model_ema', 'ema_state_dict')


def fail(message):
    print(f'convert_checkpoint: {message}', file=sys.stderr)
    sys.exit(2)


def rename(key, table, reverse=False):
    for official, ours in table:
        src, dst = (ours, official) if reverse else (official, ours)
        if key.startswith(src):
            return dst + key[len(src):]
    return key


def unwrap(obj, weights):
    """The state dict inside a checkpoint container, the EMA copy when asked for."""
    if not isinstance(obj, dict):
        fail('the file does not hold a state dict or a checkpoint dictionary')
    if weights == 'ema':
        for k in WRAPPERS_EMA:
            if k in obj and isinstance(obj[k], dict):
                return obj[k]
        fail(f'no EMA weights in the file (looked for {", ".join(WRAPPERS_EMA)}); drop --weights ema')
    for k in WRAPPERS_MODEL:
        if k in obj and isinstance(obj[k], dict):
            return obj[k]
    return obj


def to_vitlab_tensor(t):
    import numpy as np
    a = t.detach().cpu().numpy()
    if a.ndim == 4:
        a = a.transpose(0, 2, 3, 1)  # OIHW -> OHWI (ViTLab convs are [Cout, KH, KW, Cin/groups])
    # np.array, not np.ascontiguousarray: the latter turns 0-d buffers (num_batches_tracked) into 1-d.
    return np.array(a, dtype=np.float32, order='C')


def to_torch_tensor(key, a):
    import numpy as np
    import torch
    if a.ndim == 4:
        a = a.transpose(0, 3, 1, 2)  # OHWI -> OIHW
    t = torch.from_numpy(np.array(a, order='C'))
    if key.endswith('num_batches_tracked'):
        t = t.to(torch.int64)
    return t


def write_group(h5, group, state, table):
    for key, t in state.items():
        if not hasattr(t, 'detach'):
            continue
        key = rename(key[len('module.'):] if key.startswith('module.') else key, table)
        h5.create_dataset(group + '/' + key.replace('.', '/'), data=to_vitlab_tensor(t))


def read_group(h5, group):
    out = {}

    def visit(name, obj):
        if hasattr(obj, 'shape'):
            out[name.replace('/', '.')] = obj[()]
    h5[group].visititems(visit)
    return out


def to_vitlab(args):
    import h5py
    import torch
    table = FAMILIES[args.family]
    try:
        obj = torch.load(args.input, map_location='cpu', weights_only=False)
    except FileNotFoundError:
        fail(f'no file at {args.input}')
    except Exception as e:  # noqa: BLE001 - any unreadable file is a user error here
        fail(f'{args.input} is not a PyTorch checkpoint: {e}')
    main = unwrap(obj, args.weights)
    with h5py.File(args.output, 'w') as h5:
        write_group(h5, 'model', main, table)
        if args.weights == 'model' and isinstance(obj, dict):
            ema = next((obj[k] for k in WRAPPERS_EMA if isinstance(obj.get(k), dict)), None)
            if ema is not None:
                write_group(h5, 'ema', ema, table)
        h5.attrs['converted_from'] = args.input
        h5.attrs['family'] = args.family
    print(f'wrote {args.output} ({len(main)} tensors, family {args.family})')


def to_pytorch(args):
    import h5py
    import torch
    table = FAMILIES[args.family]
    try:
        h5 = h5py.File(args.input, 'r')
    except (FileNotFoundError, OSError) as e:
        fail(f'cannot open {args.input} as HDF5: {e}')
    group = 'ema' if args.weights == 'ema' else 'model'
    if group not in h5:
        fail(f'{args.input} has no /{group} weights')
    state = {rename(k, table, reverse=True): to_torch_tensor(k, a) for k, a in read_group(h5, group).items()}
    torch.save({'state_dict': state, 'meta': {'converted_from': args.input, 'family': args.family}}, args.output)
    print(f'wrote {args.output} ({len(state)} tensors, family {args.family})')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = p.add_subparsers(dest='command', required=True)
    for name in ('to-vitlab', 'to-pytorch'):
        s = sub.add_parser(name)
        s.add_argument('input')
        s.add_argument('output')
        s.add_argument('--family', default='seaformer')
        s.add_argument('--weights', choices=['model', 'ema'], default='model')
    sub.add_parser('families')
    args = p.parse_args(argv)
    if args.command == 'families':
        for name, table in FAMILIES.items():
            print(f'{name}: {len(table)} renames')
        return
    if args.family not in FAMILIES:
        fail(f"unknown family '{args.family}'; known: {', '.join(FAMILIES)}")
    try:
        import h5py  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        fail(f'needs torch and h5py ({e.name} is missing): python3 -m pip install torch h5py')
    (to_vitlab if args.command == 'to-vitlab' else to_pytorch)(args)


if __name__ == '__main__':
    main()
