"""Shared fixtures: offline hub, tiny CLIP shapes, a tiny recognizer."""
import os

# Hub look-ups retry for minutes without a network; tests never download.
os.environ['HF_HUB_OFFLINE'] = '1'
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

import pytest  # noqa: E402
import torch  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import fineclip  # noqa: E402,F401

from fineclip.models.clip.builder import NAMED_ARCHS  # noqa: E402

TINY_ARCH = NAMED_ARCHS['fineclip-tiny']
CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear')


@pytest.fixture(autouse=True)
def fineclip_scope():
    init_default_scope('fineclip')
    yield


@pytest.fixture
def tiny_arch():
    return {k: (dict(v) if isinstance(v, dict) else v)
            for k, v in TINY_ARCH.items()}


@pytest.fixture
def tiny_clip(tiny_arch):
    from fineclip.models.clip import build_clip
    torch.manual_seed(0)
    return build_clip(tiny_arch)


def tiny_model_cfg(num_frames=4, **overrides):
    """Config of a FineCLIPER on the tiny random CLIP."""
    cfg = dict(
        type='FineCLIPER',
        clip=dict(type='OpenCLIP', arch=TINY_ARCH),
        branches=dict(video=dict(
            type='FramesBranch',
            encoder=dict(type='AIMVideoEncoder', num_frames=num_frames))),
        class_names=CLASSES,
        data_preprocessor=dict(type='DFERDataPreprocessor'))
    cfg.update(overrides)
    return cfg
