"""Convert an official EmoCLIP checkpoint to a FineCLIP one.

``python tools/model_converters/emoclip.py OFFICIAL.pth OUT.pth``

The official training script (github.com/NickyFot/EmoCLIP) saves the
``state_dict`` of its DistributedDataParallel model: plain tensors, keys
prefixed ``module.``, the whole CLIP under ``backbone.``. It is read with
``weights_only=True`` (nothing in it runs), renamed to the plugin's model
(``plugins/emoclip/official_checkpoint.py``) and written as a full
MMEngine checkpoint that ``tools/test.py`` loads with the plugin's configs,
e.g. ``configs/plugins/emoclip_zeroshot_dfew.py``. EmoCLIP has no
class-specific weights: the file fits any target's classes.
"""
import argparse
import os.path as osp
import sys

import torch

from fineclip.apis.error_boundary import run_main
from fineclip.engine.checkpoint_io import CheckpointError, read_checkpoint
from fineclip.utils.errors import UserInputError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('official', help='official EmoCLIP checkpoint')
    parser.add_argument('out', help='FineCLIP checkpoint to write')
    parser.add_argument('--video-branch', default='video',
                        help="the config's EmoCLIPVideoBranch name")
    parser.add_argument('--caption-branch', default='caption',
                        help="the config's EmoCLIPCaptionBranch name")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # plugins/ is a folder of the repository, not of the package: import
    # it from there, wherever the tool runs from
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if root not in sys.path:
        sys.path.insert(0, root)
    from plugins.emoclip.official_checkpoint import \
        convert_official_state_dict
    if not osp.isfile(args.official):
        raise UserInputError(f'No such checkpoint: {args.official}')
    try:
        official = read_checkpoint(args.official)
    except CheckpointError as err:
        raise UserInputError(str(err)) from None
    if isinstance(official, dict) and 'state_dict' in official:
        official = official['state_dict']  # re-saved as an MMEngine file
    if not isinstance(official, dict):
        raise UserInputError(f'{args.official} holds a '
                             f'{type(official).__name__}, not a state dict.')
    try:
        state_dict = convert_official_state_dict(
            official, args.video_branch, args.caption_branch)
    except KeyError as err:
        raise UserInputError(f'{args.official}: {err.args[0]}') from None
    meta = dict(converted_from=osp.abspath(args.official),
                source='github.com/NickyFot/EmoCLIP (official EmoCLIP)')
    torch.save(dict(state_dict=state_dict, meta=meta), args.out)
    print(f'{args.out}: {len(state_dict)} tensors from {args.official}')


if __name__ == '__main__':
    sys.exit(run_main(main))
