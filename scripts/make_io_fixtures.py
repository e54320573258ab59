"""Creates the small weight-file fixtures in test/fixtures/io/ used by test/nn.io.test.ts.

Run with a Python that has torch (>= 1.6, zip serialization) and safetensors:
    python3 scripts/make_io_fixtures.py            # (re)write the fixtures
    python3 scripts/make_io_fixtures.py --check F  # load F (written by irsde) with safetensors
The tests need no Python: the fixtures and expected.json are committed.
"""
import collections
import json
import os
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'io')


def bits(t):
    """float32 bit patterns (as unsigned ints) of t widened to float32, row-major."""
    return [v & 0xFFFFFFFF for v in t.detach().float().contiguous().view(torch.int32).flatten().tolist()]


def entry(t):
    return {'shape': list(t.shape), 'bits': bits(t)}


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    # Edge values: exact in float16 (normal, max, min normal, subnormals, signed zero, infinity).
    half_vals = [1.0, -2.0, 0.5, 65504.0, 2.0 ** -14, 2.0 ** -24, 3 * 2.0 ** -24, -0.0, float('inf'), -1.5, 1.0 / 3.0, 1000.0]
    h = torch.tensor(half_vals, dtype=torch.float16).view(3, 4)
    hb = torch.tensor([0.25, -7.0], dtype=torch.float16)

    # 1. DataParallel names (module. prefix), float16 tensors.
    sd = collections.OrderedDict()
    sd['module.conv.weight'] = h
    sd['module.conv.bias'] = hb
    torch.save(sd, os.path.join(OUT, 'f16_module.pth'))
    expected['f16_module.pth'] = {'conv.weight': entry(h), 'conv.bias': entry(hb)}

    # 2. A training checkpoint: state_dict nested under "params", bfloat16 and float32, views with
    #    storage offsets that share one storage, a Parameter, plus non-tensor extras.
    big = torch.arange(24, dtype=torch.float32) * 0.5 - 3.0
    view_a = big[4:10].view(2, 3)        # storage offset 4
    view_b = big[12:24].view(3, 4)       # same storage, offset 12
    bf = torch.tensor([1.0, -2.0, 3.140625, 1e-40, float('inf'), -0.0], dtype=torch.bfloat16).view(2, 3)
    param = torch.nn.Parameter(torch.linspace(-1, 1, 5))
    inner = collections.OrderedDict([('a', view_a), ('b', view_b), ('bf', bf), ('p', param)])
    torch.save({'epoch': 3, 'lr': 1e-4, 'names': ['x', 'y'], 'params': inner}, os.path.join(OUT, 'nested_params.pth'))
    expected['nested_params.pth'] = {k: entry(v) for k, v in inner.items()}

    # 3. Nested under "state_dict", archive folder renamed by the file name ("ckpt").
    sd3 = collections.OrderedDict([('w', torch.tensor([[1.0, 2.0], [3.0, 4.0]]))])
    torch.save({'state_dict': sd3, 'optimizer': {'state': {}, 'param_groups': [{'lr': 0.1, 'params': [0]}]}},
               os.path.join(OUT, 'ckpt.pth'))
    expected['ckpt.pth'] = {k: entry(v) for k, v in sd3.items()}

    # Refused inputs.
    torch.save({'t': torch.arange(6, dtype=torch.float32).view(2, 3).t()}, os.path.join(OUT, 'noncontig.pth'))
    torch.save(torch.nn.BatchNorm1d(2).state_dict(), os.path.join(OUT, 'int64_buffer.pth'))
    torch.save({'w': torch.ones(2)}, os.path.join(OUT, 'legacy.pth'), _use_new_zipfile_serialization=False)

    # safetensors written by the reference implementation, all three float dtypes.
    try:
        from safetensors.torch import save_file
    except ImportError:
        print('safetensors not installed: skipping ref_mixed.safetensors')
    else:
        st = {'half': h, 'bf': bf, 'f32': big.view(4, 6), 'scalar': torch.tensor(2.5), 'empty': torch.zeros(0, 3)}
        save_file(st, os.path.join(OUT, 'ref_mixed.safetensors'), metadata={'format': 'pt', 'note': 'fixture'})
        expected['ref_mixed.safetensors'] = {k: entry(v) for k, v in st.items()}

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


def check(path):
    """Loads a file irsde wrote with the reference safetensors reader and prints a summary."""
    from safetensors import safe_open
    with safe_open(path, framework='pt') as f:
        print('metadata', f.metadata())
        for k in f.keys():
            t = f.get_tensor(k)
            print(k, t.dtype, tuple(t.shape), float(t.double().sum()))


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--check':
        check(sys.argv[2])
    else:
        main()
