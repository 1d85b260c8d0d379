"""What value range the data preprocessor hands the model."""
import torch

from fineclip.models.data_preprocessors import DFERDataPreprocessor
from fineclip.models.data_preprocessors.dfer_data_preprocessor import (
    CLIP_MEAN, CLIP_STD, UNIT_RANGE)


def _frames():
    torch.manual_seed(0)
    frames = torch.randint(0, 256, (2, 3, 3, 4, 4), dtype=torch.uint8)
    frames[0, 0, 0, 0, 0], frames[0, 0, 0, 0, 1] = 0, 255
    return frames


def _run(preprocessor, frames):
    return preprocessor({'inputs': {'frames': frames}})['inputs']['frames']


def test_unit_range_is_the_official_dfer_clip_input():
    frames = _frames()
    out = _run(DFERDataPreprocessor(**UNIT_RANGE), frames)
    # the official loader: float32, divided by 255, nothing else
    assert torch.equal(out, frames.to(torch.float32).div(255))
    assert out.min() == 0 and out.max() == 1


def test_no_mean_gives_the_raw_0_255_values():
    frames = _frames()
    out = _run(DFERDataPreprocessor(mean=None, std=None), frames)
    assert torch.equal(out, frames.float()) and out.max() == 255


def test_default_is_clip_normalisation():
    frames = _frames()
    out = _run(DFERDataPreprocessor(), frames)
    mean = torch.tensor(CLIP_MEAN).view(1, 1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 1, 3, 1, 1)
    assert torch.allclose(out, (frames.float() - mean) / std)
