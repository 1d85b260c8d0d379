"""Compare FineCLIP's DFER-CLIP with the official code, offline.

``python tools/model_converters/check_dfer_clip.py DIR --dataset dfew``

``DIR`` is a checkout of the official repository
(github.com/zengqunzhao/DFER-CLIP); nothing of it is copied here, it is
imported from there. The check

1. builds the official model with random weights at ViT-B/32 shapes (its
   own CLIP module, no download), moves its temporal model and context off
   their initial values, and saves it as the official training script does
   (``DataParallel`` keys, optimiser, a pickled ``RecorderMeter``);
2. converts that file with ``tools/model_converters/dfer_clip.py``, builds
   the converted config's model with random weights and loads the
   checkpoint strictly;
3. compares the logits of both on one random 16-frame clip in fp32 (the
   official model fed ``frames / 255``, FineCLIP's through its data
   preprocessor), in the dataset's class order; and what the exact GELU
   or CLIP's normalisation instead would change;
4. compares the official loader's frame indices with
   ``SampleFrameIndices`` for every clip length 1-``--lengths``, test and
   training (the same NumPy seed), for both of FineCLIP's rules.

It needs no GPU (about a minute on one core). Results:
docs/baselines_dfer_clip.md.
"""
import argparse
import importlib.util
import os.path as osp
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTER = osp.join(ROOT, 'tools', 'model_converters', 'dfer_clip.py')


class RecorderMeter:
    """Stands for the official script's recorder in the saved file."""

    def __init__(self, epochs: int):
        self.total_epoch = epochs
        self.epoch_accuracy = np.zeros((epochs, 2), np.float32)


def _einops_stand_in() -> types.ModuleType:
    """The two einops calls the official temporal model makes, for a
    machine without einops."""
    module = types.ModuleType('einops')

    def rearrange(t, pattern, h=None):
        if pattern == 'b n (h d) -> b h n d':
            return t.reshape(*t.shape[:2], h, -1).transpose(1, 2)
        if pattern == 'b h n d -> b n (h d)':
            return t.transpose(1, 2).flatten(2)
        raise NotImplementedError(pattern)

    def repeat(t, pattern, b=None):
        if pattern != '() n d -> b n d':
            raise NotImplementedError(pattern)
        return t.expand(b, -1, -1)

    module.rearrange, module.repeat = rearrange, repeat
    return module


def official_model(official_dir: str, dataset: str):
    """The official GenerateModel with random ViT-B/32 weights."""
    sys.path[:0] = [official_dir, osp.join(official_dir, 'models')]
    try:
        import einops  # noqa: F401
    except ImportError:
        sys.modules['einops'] = _einops_stand_in()
    from models.clip.model import CLIP
    from models.Generate_Model import GenerateModel
    from models.Text import class_descriptor_7, class_descriptor_11
    clip = CLIP(embed_dim=512, image_resolution=224, vision_layers=12,
                vision_width=768, vision_patch_size=32, context_length=77,
                vocab_size=49408, transformer_width=512, transformer_heads=8,
                transformer_layers=12).float()
    texts = class_descriptor_11 if dataset == 'mafw' else class_descriptor_7
    # the settings of the official train_*.sh scripts
    args = types.SimpleNamespace(
        contexts_number=8, class_specific_contexts='True',
        load_and_tune_prompt_learner='False', class_token_position='end',
        temporal_layers=1)
    model = GenerateModel(texts, clip, args).eval()
    with torch.no_grad():  # trained weights are not the initial ones
        for name, param in model.named_parameters():
            if name.startswith(('temporal_net', 'prompt_learner')):
                param.add_(0.05 * torch.randn_like(param))
    return model


def compare_logits(official_dir: str, dataset: str, folder: str) -> dict:
    """Steps 1-3; returns the differences."""
    from fineclip.apis import build_model, enable_local_imports
    from fineclip.models.data_preprocessors.dfer_data_preprocessor import \
        CLIP_MEAN, CLIP_STD
    torch.manual_seed(0)
    official = official_model(official_dir, dataset)
    src = osp.join(folder, 'official.pth')
    optimizer = torch.optim.SGD(official.parameters(), lr=1e-2, momentum=0.9)
    torch.save({'epoch': 50,
                'state_dict': torch.nn.DataParallel(official).state_dict(),
                'best_acc': torch.tensor(70.), 'optimizer':
                optimizer.state_dict(), 'recorder': RecorderMeter(50)}, src)
    out = osp.join(folder, 'converted.pth')
    subprocess.run([sys.executable, CONVERTER, src, out, '--dataset',
                    dataset], check=True, cwd=ROOT)
    enable_local_imports()
    if ROOT not in sys.path:  # the configs import plugins.dfer_clip
        sys.path.insert(0, ROOT)
    ours = build_model(osp.join(folder, 'converted.py'), out,
                       shapes_only=True)
    spec = importlib.util.spec_from_file_location('_dfer_clip', CONVERTER)
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    order = converter.class_order(ours.class_names)
    frames = torch.randint(0, 256, (1, 16, 3, 224, 224), dtype=torch.uint8)
    with torch.no_grad():
        ref = official(frames.float().div(255))[:, order]
        inputs = ours.data_preprocessor({'inputs': {'frames': frames}})
        got = ours(inputs['inputs'], mode='tensor')
        layers = ours.branches.video.temporal.layers
        for layer in layers:
            layer.mlp[1].approximate = 'none'
        exact = ours(inputs['inputs'], mode='tensor')
        for layer in layers:
            layer.mlp[1].approximate = 'tanh'
        mean = torch.tensor(CLIP_MEAN).view(1, 1, 3, 1, 1)
        std = torch.tensor(CLIP_STD).view(1, 1, 3, 1, 1)
        normed = ours({'frames': (frames.float() - mean) / std},
                      mode='tensor')
    return dict(logits=(ref - got).abs().max().item(),
                largest=ref.abs().max().item(),
                exact_gelu=(ref - exact).abs().max().item(),
                clip_normalised=(ref - normed).abs().max().item())


def compare_sampling(official_dir: str, lengths: int, t: int = 16) -> dict:
    """Step 4: ``{rule: (test lengths differing, train lengths
    differing)}``."""
    sys.path.insert(0, official_dir)
    from dataloader.video_dataloader import VideoDataset

    from fineclip.datasets.transforms.sampling import SampleFrameIndices
    loader = VideoDataset.__new__(VideoDataset)  # the rules, no list file
    loader.num_segments, loader.duration = t, 1
    result = {}
    for rule in ('dfer_clip', 'segments'):
        test, train = [], []
        for n in range(1, lengths + 1):
            record = types.SimpleNamespace(num_frames=n)
            ours = SampleFrameIndices(t, test_mode=True, rule=rule)(
                dict(total_frames=n))['frame_inds']
            if not np.array_equal(loader._get_test_indices(record), ours):
                test.append(n)
            np.random.seed(n)
            ref = loader._get_train_indices(record)
            np.random.seed(n)
            ours = SampleFrameIndices(t, rule=rule)(
                dict(total_frames=n))['frame_inds']
            if not np.array_equal(ref, ours):
                train.append(n)
        result[rule] = (test, train)
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('official', help='checkout of the official code')
    parser.add_argument('--dataset', default='dfew',
                        choices=('dfew', 'ferv39k', 'mafw'))
    parser.add_argument('--lengths', type=int, default=1000,
                        help='compare sampling for clip lengths 1-N')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    official = osp.abspath(args.official)
    if not osp.isfile(osp.join(official, 'models', 'Generate_Model.py')):
        raise SystemExit(f'{official} is not a checkout of the official '
                         'DFER-CLIP code (no models/Generate_Model.py).')
    with tempfile.TemporaryDirectory() as folder:
        diff = compare_logits(official, args.dataset, folder)
    print(f"{args.dataset}: max |logit difference| {diff['logits']:.2e} "
          f"(largest |logit| {diff['largest']:.2f}); with the exact GELU "
          f"{diff['exact_gelu']:.2e}; with CLIP mean/std input "
          f"{diff['clip_normalised']:.2e}")
    for rule, (test, train) in compare_sampling(official,
                                                args.lengths).items():
        print(f"sampling rule='{rule}': test indices differ for "
              f'{len(test)} of {args.lengths} lengths '
              f'({sum(n <= 300 for n in test)} of 1-300), training (same '
              f'NumPy seed) for {len(train)}')
    return 0 if diff['logits'] < 1e-5 else 1


if __name__ == '__main__':
    # here, not at the top: this tool imports the package lazily
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from fineclip.apis.error_boundary import run_main
    sys.exit(run_main(main))
