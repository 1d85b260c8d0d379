"""A modality added from a plugin, without editing the package.

``configs/plugins/fineclip_motion_synthetic.py`` loads
``plugins/frame_motion.py``: its ``FrameDifferences`` transform writes
motion images, ``PackDFERInputs(image_fields=...)`` packs them as
``inputs['motion']``, ``DFERDataPreprocessor(image_keys=...)`` normalises
them, and its ``MotionBranch`` encodes them.
"""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate

from tests.plugins.tiny_training import (FRAMES, ROOT, SIZE, build_and_train,
                                         tiny_plugin_config)


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # custom_imports resolve from the repo root


def moving_square_clip(folder, frames: int = 6, size: int = 40) -> dict:
    """A frame folder of a bright square moving right, as a data list
    entry of the datasets."""
    folder.mkdir()
    names = []
    for t in range(frames):
        image = np.full((size, size, 3), 60, np.uint8)
        image[10:22, 4 + 3 * t:16 + 3 * t] = 220
        names.append(f'{t:05d}.png')
        cv2.imwrite(str(folder / names[-1]), image)
    return dict(frame_dir=str(folder), frame_names=names,
                total_frames=frames, label=2, clip_id='square')


def test_frame_differences_are_grey_where_nothing_moves():
    from plugins.frame_motion import FrameDifferences
    still = [np.full((4, 4, 3), 90, np.uint8)] * 3
    out = FrameDifferences()(dict(imgs=still))['motion_imgs']
    assert len(out) == 3 and all((m == 128).all() for m in out)
    moved = [np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 200, np.uint8)]
    out = FrameDifferences()(dict(imgs=moved))['motion_imgs']
    assert out[1][0, 0, 0] == 228 and out[0][0, 0, 0] == 228  # 128 + 200/2


def test_plugin_modality_is_packed_normalised_and_trained(tmp_path):
    cfg = tiny_plugin_config('fineclip_motion_synthetic.py')
    entry = moving_square_clip(tmp_path / 'clip')
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    packed = pipeline(dict(entry))
    assert set(packed['inputs']) == {'frames', 'motion'}
    assert packed['inputs']['motion'].shape == (FRAMES, 3, SIZE, SIZE)
    assert packed['inputs']['motion'].dtype == torch.uint8

    def batches(step):
        return pseudo_collate([pipeline(dict(entry)) for _ in range(2)])

    model, before = build_and_train(cfg, batches)
    # The model says which inputs its branches read: the plugin's included.
    assert model.input_keys() == ('frames', 'motion')
    # Normalised as an image: float, CLIP's mean and std.
    data = model.data_preprocessor(batches(0))
    motion = data['inputs']['motion']
    assert motion.dtype == torch.float32
    raw = torch.stack([packed['inputs']['motion']]).float()
    pre = model.data_preprocessor
    assert torch.allclose(pre(dict(inputs=[packed['inputs']]))['inputs'][
        'motion'], (raw - pre.mean) / pre.std)
    # The plugin branch is a representation the fusion weighs ...
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
        _, _, weights, _ = model._fuse(data['inputs'], feats)
    assert set(feats) == {'video', 'motion'} and weights.shape == (2, 2)
    # ... and its projection trained, while the frozen CLIP did not.
    changed = {n for n, p in model.named_parameters()
               if not torch.equal(p, before[n])}
    assert {'branches.motion.projection.weight',
            'branches.motion.projection.bias'} <= changed
    assert not any(n.startswith('clip.') for n in changed)
