"""The tiny CLIP pretraining behind the embedded default."""
import json

import numpy as np
import torch

from fineclip.models.clip import build_clip
from fineclip.pretraining import pretrain_tiny_clip, tiny_clip_ready
from fineclip.pretraining.tiny_clip import (_multi_positive_loss,
                                            patch_class_mix,
                                            render_pretraining_set)


def test_patch_class_mix_counts_each_patch():
    parsing = np.zeros((1, 4, 4), np.uint8)
    parsing[0, :2, :2] = 3  # top-left patch all class 3
    parsing[0, 2:, 2:] = [[1, 2], [1, 2]]  # bottom-right half 1, half 2
    mix = patch_class_mix(parsing, patch=2, num_classes=4)
    assert mix.shape == (1, 4, 4)
    assert mix[0, 0].tolist() == [0, 0, 0, 1]
    assert mix[0, 1].tolist() == [1, 0, 0, 0]
    assert mix[0, 3].tolist() == [0, 0.5, 0.5, 0]


def test_identical_captions_are_positives():
    # images 0 and 1 share a caption; image 0 matches caption 1 best
    logits = torch.tensor([[1., 5., -5.], [5., 5., -5.], [-5., -5., 5.]])
    same = torch.tensor([[1., 1., 0.], [1., 1., 0.], [0., 0., 1.]])
    shared = _multi_positive_loss(logits, same)
    exact = _multi_positive_loss(logits, torch.eye(3))
    assert shared < exact - 0.5


def test_pretraining_set_has_no_emotion_words():
    data = render_pretraining_set(7, 3, size=32, seed=0)
    assert data['images'].shape == (21, 32, 32, 3)
    assert data['parsing'].shape == (21, 32, 32)
    text = ' '.join(data['captions']).lower()
    for word in ('happy', 'sad', 'angry', 'fear', 'surprise', 'disgust',
                 'neutral'):
        assert word not in text


def test_pretrain_writes_loadable_weights(tiny_arch, tmp_path):
    out = str(tmp_path / 'tiny.pth')
    info = pretrain_tiny_clip(out, tiny_arch, num_clips=7, frames_per_clip=2,
                              image_steps=3, text_steps=3, batch_size=4,
                              progress=False)
    assert tiny_clip_ready(out, tiny_arch)
    assert not tiny_clip_ready(out, dict(tiny_arch, embed_dim=16))
    assert json.load(open(out + '.json'))['image_steps'] == 3
    assert np.isfinite(info['final_image_loss'])
    model = build_clip(tiny_arch, pretrained=out)
    random = build_clip(tiny_arch)
    assert not torch.equal(model.visual.conv1.weight,
                           random.visual.conv1.weight)
