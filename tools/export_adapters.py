"""Export a checkpoint's weights to safetensors for sharing.

``python tools/export_adapters.py CHECKPOINT [--out F.safetensors]``

An adapter-only checkpoint (the default since ``AdapterCheckpointHook``)
gives a file with the tunable weights only, plus the frozen weights'
fingerprint and source in its metadata; ``tools/infer.py`` and the analysis
tools read it like the ``.pth`` it came from. The optimiser state is left
out.
"""
import argparse
import os.path as osp
import sys

from fineclip.apis.error_boundary import run_main
from fineclip.engine.checkpoint_io import resolve_checkpoint
from fineclip.engine.checkpoints import (FROZEN_KEY, CheckpointError,
                                         export_safetensors, read_checkpoint)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='MMEngine checkpoint (.pth)')
    parser.add_argument('--out', help='output file (default: the '
                        'checkpoint with .safetensors)')
    parser.add_argument('--force', action='store_true',
                        help='replace an existing output file')
    return parser.parse_args(argv)


def check_output(checkpoint: str, out: str, force: bool) -> None:
    """Refuses to write over the input, or over an existing file without
    ``--force``."""
    if osp.exists(out) and osp.samefile(out, checkpoint):
        raise SystemExit(f'--out {out} is the checkpoint being exported; '
                         'writing there would destroy it. Choose another '
                         'file (default: the checkpoint with .safetensors).')
    if osp.isdir(out):
        raise SystemExit(f'--out {out}: is a folder; give a file name, '
                         f'e.g. {osp.join(out, "weights.safetensors")}')
    if osp.exists(out) and not force:
        raise SystemExit(f'--out {out} exists; add --force to replace it '
                         '(it is replaced only once the new file is '
                         'complete).')


def main(argv=None):
    args = parse_args(argv)
    try:  # a work dir where the checkpoint belongs: its newest one
        args.checkpoint = resolve_checkpoint(args.checkpoint)
    except CheckpointError as err:
        raise SystemExit(str(err)) from None
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'No such checkpoint: {args.checkpoint}')
    out = args.out or osp.splitext(args.checkpoint)[0] + '.safetensors'
    check_output(args.checkpoint, out, args.force)
    # weights_only: a shared checkpoint must not be able to run code
    try:
        checkpoint = read_checkpoint(args.checkpoint)
    except CheckpointError as err:
        raise SystemExit(str(err)) from None
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise SystemExit(f'{args.checkpoint}: no state_dict (not an '
                         'MMEngine checkpoint?)')
    info = export_safetensors(checkpoint, out)
    kind = ('adapter-only' if checkpoint.get(FROZEN_KEY) else
            'full (frozen weights included)')
    print(f"{out}: {info['tensors']} tensors, "
          f"{info['bytes'] / 2**20:.1f} MiB, {kind}")


if __name__ == '__main__':
    sys.exit(run_main(main))
