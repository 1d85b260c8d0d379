"""Plot where the last image block looks, on one test clip's frames.

``python tools/analysis/plot_attention.py CONFIG CHECKPOINT
[--index N | --clip-id ID] --out attn.png [--branch video]``

The paper's Fig 6: in the last transformer block of the video branch's
adapted image tower, the class token's attention to the patch tokens
(spatial attention, averaged over heads, renormalised over the patches),
upsampled to the frame and laid over each sampled frame, one column per
frame. The maps also go to ``<out>.json``.
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate

from fineclip.apis.analysis import (capture_last_block_attention,
                                    class_token_attention,
                                    denormalize_frames,
                                    load_model_and_loader, patch_grid)
from fineclip.apis.error_boundary import run_main
from fineclip.utils.data_root import add_data_root_argument
from fineclip.utils.errors import (InputError, OutOfRangeError,
                                   UnknownNameError)
from fineclip.visualization.attention import plot_attention_overlay


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--index', type=int, default=None,
                       help='position of the clip in the test split '
                       '(default 0)')
    which.add_argument('--clip-id', help='id of the clip in the test split')
    parser.add_argument('--out', required=True, help='PNG path')
    parser.add_argument('--branch', default='video',
                        help='the frames branch to look into')
    parser.add_argument('--alpha', type=float, default=0.5,
                        help='opacity of the heat map')
    parser.add_argument('--device', help='cpu or cuda (default: a GPU if '
                        'there is one)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    add_data_root_argument(parser)
    return parser.parse_args(argv)


def find_clip(dataset, index=None, clip_id=None) -> int:
    """The dataset position of the clip named by index or clip id."""
    size = len(dataset)
    if clip_id is not None:
        ids = [dataset.get_data_info(i).get('clip_id') for i in range(size)]
        if clip_id not in ids:
            raise UnknownNameError(
                f"No clip '{clip_id}' in the test split ({size} clips, "
                f'e.g. {ids[:5]}).')
        return ids.index(clip_id)
    index = 0 if index is None else index
    if not -size <= index < size:
        raise OutOfRangeError(f'--index {index} is out of range: the test '
                              f'split has {size} clips.')
    return index % size


def frames_branch(model, name: str):
    """The named branch, checked to encode frames with AIM blocks."""
    if name not in model.branches:
        raise UnknownNameError(f"No branch '{name}'; the model has "
                               f'{sorted(model.branches)}.')
    branch = model.branches[name]
    encoder = getattr(branch, 'encoder', None)
    if not hasattr(encoder, 'blocks') or not hasattr(branch, 'input_key'):
        raise InputError(f"Branch '{name}' ({type(branch).__name__}) is "
                         'not a frames branch with an AIM video encoder.')
    return branch


def main(argv=None):
    args = parse_args(argv)
    model, loader, _ = load_model_and_loader(
        args.config, args.checkpoint, args.cfg_options, args.device)
    branch = frames_branch(model, args.branch)
    dataset = loader.dataset
    index = find_clip(dataset, args.index, args.clip_id)
    data = model.data_preprocessor(pseudo_collate([dataset[index]]), False)
    sample = data['data_samples'][0]
    frames = data['inputs'][branch.input_key]  # (1, T, 3, H, W)
    height, width = frames.shape[-2:]
    encoder = branch.encoder
    with torch.no_grad(), capture_last_block_attention(encoder) as records:
        pred = model(data['inputs'], data['data_samples'], mode='predict')[0]
    if not records:
        raise RuntimeError(f"Branch '{args.branch}' did not run its last "
                           'block: nothing was recorded.')
    attention = class_token_attention(
        records[-1], encoder.num_frames,
        patch_grid(encoder.visual, height, width))
    maps = attention['maps'][0].cpu().numpy()

    classes = list(model.class_names)
    label = int(sample.gt_label[0])
    predicted = int(pred.pred_label[0])
    clip_id = sample.metainfo.get('clip_id', str(index))
    frame_inds = sample.metainfo.get('frame_inds')
    titles = ([f'frame {int(i)}' for i in frame_inds]
              if frame_inds is not None else None)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    plot_attention_overlay(
        denormalize_frames(frames[0], model.data_preprocessor), maps,
        args.out, frame_titles=titles, alpha=args.alpha,
        title=f'clip {clip_id}: true {classes[label]}, predicted '
        f'{classes[predicted]} '
        f'(p={float(pred.pred_score[predicted]):.2f}); class-token '
        f'attention, last block of {args.branch}')
    json_out = osp.splitext(args.out)[0] + '.json'
    with open(json_out, 'w') as f:
        json.dump(dict(
            clip_id=clip_id, index=index, label=classes[label],
            predicted=classes[predicted],
            frame_inds=[int(i) for i in frame_inds]
            if frame_inds is not None else None,
            to_patches=attention['to_patches'][0].tolist(),
            maps=maps.tolist()), f)
    print(f'clip {clip_id} (index {index}): true {classes[label]}, '
          f'predicted {classes[predicted]}')
    print(f'Wrote {args.out} and {json_out}')
    return dict(out=args.out, json=json_out, index=index, maps=maps,
                to_patches=attention['to_patches'][0].cpu().numpy(),
                records=records)


if __name__ == '__main__':
    sys.exit(run_main(main))
