#!/usr/bin/env python3
"""PyTorch-eager reference timings for SeaFormer, the baseline of ViTLab's `vitlab-bench`.

Rows (default sizes):
  seaformer_{tiny,small}_infer_512_b1   inference, 1x3x512x512, torch.inference_mode(), model.eval():
        ms        = network + bilinear upsample of the logits to 512x512 + argmax   (what the Swift bench times)
        net_ms    = network alone (logits at 1/8 resolution)
        mmseg_ms  = ms + the softmax over classes that mmseg's EncoderDecoder.inference also runs before argmax
  seaformer_{tiny,small}_train_256_b8   one training step, 8x3x256x256, model.train():
        forward, upsample logits to 256x256, cross entropy (ignore_index 255, mmseg normalisation, labels in [0,150)),
        backward, AdamW step (lr 2.5e-4, wd 0.01), zero_grad.
Memory layouts: the model+input ("layout") and, separately, the 1/8 logits before the final upsample ("post_layout")
are each tried as contiguous NCHW and channels_last (4 combinations, because the big upsample/argmax/CE tail prefers
a different layout than the network). Every (row, combination) runs in a fresh subprocess, so peak RSS
(getrusage maxrss) is per row; the row reports the fastest combination by "ms", all four are kept under "layouts".

Output: one JSON object on stdout, a human table on stderr. Exit code 3 if torch is not importable.

  python3 tools/reference/bench_torch.py [--threads 2] [--repeat N] [--train-repeat N] [--models T,S] [--quick] [--profile]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {'T': 'tiny', 'S': 'small', 'B': 'base', 'L': 'large'}
LAYOUTS = ('contiguous', 'channels_last')


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def median_ms(ts):
    return statistics.median(ts) * 1e3


def timed(fn, warmup, repeat):
    """Median ms of `repeat` calls of `fn` after `warmup` untimed ones (the zoo and runtime scripts)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return round(median_ms(ts), 3)


# ------------------------------------------------------------------------------------------------
# worker: one (model, mode, layout) in a fresh process
# ------------------------------------------------------------------------------------------------
def worker(spec):
    import torch
    torch.set_num_threads(spec['threads'])
    torch.set_num_interop_threads(1)
    sys.path.insert(0, HERE)
    import seaformer_ref as R

    torch.manual_seed(0)
    fmt = {'contiguous': torch.contiguous_format, 'channels_last': torch.channels_last}
    mf = fmt[spec['layout']]
    pf = fmt[spec['post']]  # memory format of the 1/8 logits before the final upsample
    model = R.seaformer_seg(spec['model'], spec['num_classes']).to(memory_format=mf)
    B, S = spec['batch'], spec['size']
    x = torch.randn(B, 3, S, S).contiguous(memory_format=mf)
    out = dict(layout=spec['layout'], post_layout=spec['post'])
    rss0 = maxrss_mb()
    probe = OthersProbe()

    if spec['mode'] == 'infer':
        model.eval()
        net = lambda: model(x)
        full = lambda: model.predict(x, post_memory_format=pf)
        full_sm = lambda: model.predict(x, softmax=True, post_memory_format=pf)
        fns = dict(net_ms=net, ms=full, mmseg_ms=full_sm)
        times = {k: [] for k in fns}
        with torch.inference_mode():
            for _ in range(spec['warmup']):
                for f in fns.values():
                    f()
            for _ in range(spec['repeat']):
                for k, f in fns.items():  # interleaved so that load changes hit all three alike
                    t = time.perf_counter()
                    f()
                    times[k].append(time.perf_counter() - t)
        out['others_cpu'] = probe.others()
        for k, ts in times.items():
            out[k] = round(median_ms(ts), 3)
        out['min_ms'] = round(min(times['ms']) * 1e3, 3)
        if spec['profile']:
            with torch.inference_mode():
                out['profile'] = profile(spec, full, n=3, num_classes=spec['num_classes'], train=False)
    else:
        model.train()
        lbl = torch.randint(0, spec['num_classes'], (B, S, S))
        opt = make_adamw(model, spec['adamw'])
        phases = {'fwd': [], 'loss': [], 'bwd': [], 'opt': []}
        steps = []

        def step(rec=None):
            t0 = time.perf_counter()
            logits = model(x)
            t1 = time.perf_counter()
            loss = R.SeaFormerSeg.loss(logits, lbl, ignore_index=255, post_memory_format=pf)
            t2 = time.perf_counter()
            loss.backward()
            t3 = time.perf_counter()
            opt.step()
            opt.zero_grad(set_to_none=True)
            t4 = time.perf_counter()
            if rec is not None:
                for k, a, b in (('fwd', t0, t1), ('loss', t1, t2), ('bwd', t2, t3), ('opt', t3, t4)):
                    phases[k].append(b - a)
                steps.append(t4 - t0)
            return loss

        for _ in range(spec['warmup']):
            step()
        for _ in range(spec['repeat']):
            step(rec=True)
        out['others_cpu'] = probe.others()
        out['ms'] = round(median_ms(steps), 3)
        out['min_ms'] = round(min(steps) * 1e3, 3)
        out['phases_ms'] = {k: round(median_ms(v), 3) for k, v in phases.items()}
        if spec['profile']:
            out['profile'] = profile(spec, step, n=2, num_classes=spec['num_classes'], train=True)
    if 'profile' in out and out['profile'].get('others_cpu') is not None:
        out['others_cpu'] = max(out.get('others_cpu') or 0.0, out['profile']['others_cpu'])
    out['maxrss_mb'] = round(maxrss_mb(), 1)
    out['rss_before_run_mb'] = round(rss0, 1)
    return out


class OthersProbe:
    """CPU used by OTHER processes since construction, as a fraction of the whole machine
    (busy time from /proc/stat minus this process's user+sys time). Contended runs on a shared machine
    are detected with it; OpenMP barriers make such runs 10-100x slower, not just proportionally slower."""

    def __init__(self):
        self.t0, self.b0, self.o0 = time.perf_counter(), self._busy(), self._own()

    @staticmethod
    def _busy():
        try:
            with open('/proc/stat') as f:
                v = [int(x) for x in f.readline().split()[1:]]
            return (sum(v[:8]) - v[3] - v[4]) / os.sysconf('SC_CLK_TCK')  # user..steal minus idle, iowait
        except (OSError, ValueError):
            return None

    @staticmethod
    def _own():
        t = os.times()
        return t.user + t.system

    def others(self):
        b = self._busy()
        if b is None or self.b0 is None:
            return None
        wall = time.perf_counter() - self.t0
        return round(max(0.0, (b - self.b0) - (self._own() - self.o0)) / (wall * (os.cpu_count() or 1)), 3)


def make_adamw(model, impl):
    import torch
    kw = dict(lr=2.5e-4, weight_decay=0.01)
    if impl == 'fused':
        kw['fused'] = True
    elif impl == 'foreach':
        kw['foreach'] = True
    return torch.optim.AdamW(model.parameters(), **kw)


def profile(spec, fn, n, num_classes, train):
    """Share of profiled op self-time spent in the final upsample (+CE or +argmax/softmax)."""
    import torch
    from torch.profiler import profile as tprof, ProfilerActivity
    probe = OthersProbe()
    with tprof(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        wall = (time.perf_counter() - t) / n
    ev = prof.key_averages(group_by_input_shape=True)
    # self times of all events add up to the time spent inside ops (about the wall time: see wall_ms_per_iter)
    total = sum(e.self_cpu_time_total for e in ev)
    B, S, K = spec['batch'], spec['size'], num_classes
    up_nodes = ('UpsampleBilinear2DBackward',)
    ce_nodes = ('LogSoftmaxBackward', 'NllLoss2DBackward', 'MeanBackward')

    def shapes(e):
        return [tuple(x) for x in (e.input_shapes or []) if isinstance(x, (list, tuple))]

    def k_channels(e):   # any 4-D input with num_classes channels (final upsample fwd/bwd; fusion ones have fewer)
        return any(len(x) == 4 and x[1] == K for x in shapes(e))

    def full_res(e):     # touches the full-resolution logits (B,K,S,S) or per-pixel labels/losses/preds (B,S,S)
        return any(x == (B, K, S, S) or x == (B, S, S) for x in shapes(e))

    up = tail = 0
    for e in ev:
        k, t = e.key, e.self_cpu_time_total
        if 'upsample_bilinear2d' in k:
            if k_channels(e):
                up += t
        elif any(nd in k for nd in up_nodes):          # autograd node wrappers carry no shapes
            up += t
        elif any(nd in k for nd in ce_nodes) or full_res(e):
            tail += t                                  # CE (log_softmax, nll, the zero fill of its grad, mean) or argmax
    r = dict(total_op_ms_per_iter=round(total / n / 1e3, 2), wall_ms_per_iter=round(wall * 1e3, 2),
             others_cpu=probe.others(), upsample_share=round(up / total, 4))
    if train:
        r['ce_share'] = round(tail / total, 4)
        r['upsample_plus_ce_share'] = round((up + tail) / total, 4)
    else:
        r['argmax_share'] = round(tail / total, 4)
        r['upsample_plus_argmax_share'] = round((up + tail) / total, 4)
    tail_ops = {}
    for e in ev:
        if ('upsample_bilinear2d' in e.key and k_channels(e)) or any(nd in e.key for nd in up_nodes + ce_nodes) \
                or full_res(e):
            tail_ops[e.key] = tail_ops.get(e.key, 0) + e.self_cpu_time_total
    r['tail_ops'] = [[k, round(v / total, 4)] for k, v in sorted(tail_ops.items(), key=lambda kv: -kv[1])][:8]
    top = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]
    r['top_ops'] = [[e.key, round(e.self_cpu_time_total / total, 4)] for e in top]
    return r


# ------------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------------
def cpu_busy(interval=1.0):
    """Fraction of all CPUs busy over `interval` seconds (from /proc/stat); None if unavailable."""
    def snap():
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + (v[4] if len(v) > 4 else 0)  # total, idle+iowait
    try:
        t0, i0 = snap()
        time.sleep(interval)
        t1, i1 = snap()
        return round(1.0 - (i1 - i0) / max(1, t1 - t0), 3)
    except OSError:
        return None


def wait_idle(max_wait, busy_max=0.2):
    """Wait (at most max_wait s) until other jobs leave the CPUs mostly idle; returns the last busy fraction."""
    t_end = time.time() + max_wait
    b = cpu_busy()
    while b is not None and b > busy_max and time.time() < t_end:
        b = cpu_busy()
    return b


def run_worker(spec, max_wait=0.0):
    busy = wait_idle(max_wait) if max_wait > 0 else cpu_busy(0.5)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), '--_worker', json.dumps(spec)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f'worker failed for {spec}:\n{p.stderr[-3000:]}')
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r['load1_after'] = round(os.getloadavg()[0], 2)  # 1-min load average when the worker finished
    r['cpu_busy_before'] = busy  # fraction of the CPUs busy (other jobs) just before the worker started
    return r


def run_clean(spec, a, label):
    """run_worker, re-run (up to a.retries times) while other processes used > a.max_others of the CPUs;
    keeps the least contended attempt."""
    tries = []
    for _ in range(1 + a.retries):
        tries.append(run_worker(spec, a.wait_idle))
        oc = tries[-1].get('others_cpu')
        if oc is None or oc <= a.max_others:
            break
        print(f'  {label}: other jobs used {oc:.0%} of the CPUs ({tries[-1]["ms"]:.1f} ms), retrying', file=sys.stderr)
    r = min(tries, key=lambda t: (t.get('others_cpu') or 0.0, t['ms']))
    r['attempts'] = len(tries)
    r['contended'] = (r.get('others_cpu') or 0.0) > a.max_others
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeat', type=int, default=None, help='timed inference runs (default 10)')
    ap.add_argument('--train-repeat', type=int, default=None, help='timed training steps (default 5)')
    ap.add_argument('--warmup', type=int, default=None, help='untimed runs first (default 3 infer / 2 train)')
    ap.add_argument('--models', default='T,S', help='comma list of T,S,B,L')
    ap.add_argument('--modes', default='infer,train')
    ap.add_argument('--layouts', default=','.join(LAYOUTS), help='memory formats of model and input')
    ap.add_argument('--post-layouts', default=','.join(LAYOUTS),
                    help='memory formats of the 1/8 logits before the final upsample (+argmax or +CE)')
    ap.add_argument('--infer-size', type=int, default=512)
    ap.add_argument('--train-size', type=int, default=256)
    ap.add_argument('--train-batch', type=int, default=8)
    ap.add_argument('--adamw', choices=['fused', 'foreach', 'default'], default='fused',
                    help="AdamW implementation (fused is PyTorch's fastest on CPU)")
    ap.add_argument('--wait-idle', type=float, default=0.0, metavar='S',
                    help='before each worker wait up to S seconds for the CPUs to be <20%% busy (shared machines)')
    ap.add_argument('--max-others', type=float, default=0.1,
                    help='a combination whose timed section saw other processes use more than this fraction of '
                         'the CPUs is re-run (default 0.1)')
    ap.add_argument('--retries', type=int, default=2, help='re-runs of a contended combination (default 2)')
    ap.add_argument('--profile', action='store_true', help='also run torch.profiler on the winning layout')
    ap.add_argument('--quick', action='store_true', help='smoke run: 1 repeat, 1 warm-up, 128x128, train batch 2')
    ap.add_argument('--_worker', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()

    try:
        import torch
    except Exception as e:  # noqa: BLE001
        print(f'bench_torch: PyTorch is not available ({e}); install it with `pip install torch`. '
              f'Skipping the PyTorch reference column.', file=sys.stderr)
        sys.exit(3)

    if a._worker is not None:
        print(json.dumps(worker(json.loads(a._worker))))
        return

    if a.quick:
        rep, trep, wu_i, wu_t = a.repeat or 1, a.train_repeat or 1, a.warmup if a.warmup is not None else 1, \
            a.warmup if a.warmup is not None else 1
        isz, tsz, tb = 128, 128, 2
    else:
        rep, trep = a.repeat or 10, a.train_repeat or 5
        wu_i = a.warmup if a.warmup is not None else 3
        wu_t = a.warmup if a.warmup is not None else 2
        isz, tsz, tb = a.infer_size, a.train_size, a.train_batch
    layouts = [l for l in a.layouts.split(',') if l]
    posts = [l for l in a.post_layouts.split(',') if l]
    combos = [(n, p) for n in layouts for p in posts]
    rows = []
    t_start = time.time()
    load0 = os.getloadavg()
    for mode in a.modes.split(','):
        for m in a.models.split(','):
            m = m.strip().upper()
            if mode == 'infer':
                spec = dict(model=m, mode='infer', batch=1, size=isz, repeat=rep, warmup=wu_i)
            else:
                spec = dict(model=m, mode='train', batch=tb, size=tsz, repeat=trep, warmup=wu_t, adamw=a.adamw)
            spec.update(threads=a.threads, num_classes=150, profile=False)
            name = f"seaformer_{NAMES[m]}_{mode}_{spec['size']}_b{spec['batch']}"
            per = {}
            for net, post in combos:
                key = f'{net}/{post}'
                per[key] = run_clean(dict(spec, layout=net, post=post), a, f'{name} [{net}/{post}]')
                extra = f' (net {per[key]["net_ms"]:.1f})' if 'net_ms' in per[key] else ''
                print(f'  {name} [net {net}, logits {post}]: {per[key]["ms"]:.1f} ms{extra}', file=sys.stderr)
            best = min(per, key=lambda k: per[k]['ms'])
            row = dict(name=name, model=f'SeaFormer-{m}', mode=mode, batch=spec['batch'], size=spec['size'])
            row.update(per[best])
            if 'net_ms' in row:  # the network alone: report the best net layout, independent of post-processing
                row['net_ms'] = min(r['net_ms'] for r in per.values())
                row['net_layout'] = min(per, key=lambda k: per[k]['net_ms']).split('/')[0]
                row['mmseg_ms'] = min(r['mmseg_ms'] for r in per.values())
                row['mmseg_layout'] = min(per, key=lambda k: per[k]['mmseg_ms'])
            row['layouts'] = {k: {f: v for f, v in r.items()
                                  if f in ('ms', 'net_ms', 'mmseg_ms', 'min_ms', 'maxrss_mb', 'phases_ms', 'load1_after', 'cpu_busy_before', 'others_cpu', 'attempts', 'contended')}
                              for k, r in per.items()}
            row['repeat'], row['warmup'] = spec['repeat'], spec['warmup']
            if mode == 'train':
                row['adamw'] = a.adamw
            if a.profile:
                row['profile'] = run_clean(dict(spec, layout=row['layout'], post=row['post_layout'], profile=True,
                                                repeat=1, warmup=max(1, spec['warmup'])), a, f'{name} profile')['profile']
            rows.append(row)

    res = dict(torch_version=torch.__version__, threads=a.threads, interop_threads=1,
               mkldnn=bool(torch.backends.mkldnn.is_available()), quick=a.quick,
               loadavg_start=[round(x, 2) for x in load0], loadavg_end=[round(x, 2) for x in os.getloadavg()],
               wall_s=round(time.time() - t_start, 1), rows=rows)
    print(json.dumps(res, indent=1))

    # human table
    hdr = f"{'row':30} {'net/logits layout':28} {'ms':>8} {'net_ms':>8} {'mmseg_ms':>9} {'maxRSS MB':>10}"
    print(hdr, file=sys.stderr)
    print('-' * len(hdr), file=sys.stderr)
    for r in rows:
        f = lambda k, w=8: f'{r[k]:{w}.1f}' if k in r else f'{"-":>{w}}'
        print(f"{r['name']:30} {r['layout'] + '/' + r['post_layout']:28} {r['ms']:8.1f} {f('net_ms')} "
              f"{f('mmseg_ms', 9)} {r['maxrss_mb']:10.1f}", file=sys.stderr)
        print(f"{'':30} all: " + ', '.join(f"{k.replace('contiguous', 'nchw').replace('channels_last', 'cl')} "
                                         f"{v['ms']:.1f}" for k, v in r['layouts'].items()), file=sys.stderr)
        if 'phases_ms' in r:
            print(f"{'':30} phases: " + ', '.join(f'{k} {v:.1f}' for k, v in r['phases_ms'].items()), file=sys.stderr)
        if 'profile' in r:
            p = r['profile']
            s = ', '.join(f'{k} {v*100:.1f}%' for k, v in p.items() if k.endswith('share'))
            print(f"{'':30} profile: {s}", file=sys.stderr)


if __name__ == '__main__':
    main()
