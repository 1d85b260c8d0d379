"""Frame folders as they come from real copies: cut-short and empty files,
a PNG named .jpg, grayscale and RGBA frames, mixed sizes, the files file
managers leave behind, numbered names with and without padding."""
import os.path as osp

import cv2
import numpy as np
import pytest

from fineclip.datasets import DFEWDataset, list_frames
from tests.reliability.bad_inputs import (DECODE, dfew_clip, dfew_split,
                                          frame, raises_naming, write_bytes,
                                          write_image)


def _dataset(root):
    dfew_split(root, ['1,1'])
    return DFEWDataset(root, fold=1, split='train', pipeline=DECODE,
                       test_mode=True, serialize_data=False)


def _clip_dir(root):
    return osp.join(root, 'Clip', 'clip_224x224', '00001')


def _jpeg(value=100):
    ok, data = cv2.imencode('.jpg', frame(value))
    assert ok
    return data.tobytes()


def test_truncated_jpeg_is_named(tmp_path, nothing_lost):
    root = str(tmp_path)
    folder = dfew_clip(root, '00001', names=('1.jpg', '3.jpg'))
    cut = write_bytes(osp.join(folder, '2.jpg'), _jpeg()[:len(_jpeg()) // 2])
    ds = _dataset(nothing_lost(root))
    with raises_naming(OSError, cut, None, '00001', 'truncated JPEG'):
        ds[0]


def test_jpeg_with_trailing_bytes_after_its_end_is_accepted(tmp_path):
    # cameras append data after the end-of-image marker; the image is whole
    root = str(tmp_path)
    folder = dfew_clip(root, '00001', names=('1.png', '3.png'))
    write_bytes(osp.join(folder, '2.jpg'), _jpeg(120) + b'\x00' * 16)
    imgs = _dataset(root)[0]['imgs']
    assert abs(int(imgs[1].mean()) - 120) <= 2


def test_zero_byte_frame_is_named(tmp_path, nothing_lost):
    root = str(tmp_path)
    folder = dfew_clip(root, '00001', names=('1.png', '3.png'))
    empty = write_bytes(osp.join(folder, '2.png'), b'')
    ds = _dataset(nothing_lost(root))
    with raises_naming(OSError, empty, None, '00001', 'empty (0 bytes)'):
        ds[0]


def test_truncated_png_is_named(tmp_path, nothing_lost):
    root = str(tmp_path)
    folder = dfew_clip(root, '00001', names=('1.png', '3.png'))
    ok, data = cv2.imencode('.png', np.random.RandomState(0).randint(
        0, 255, (16, 16, 3), np.uint8))
    cut = write_bytes(osp.join(folder, '2.png'), data.tobytes()[:200])
    ds = _dataset(nothing_lost(root))
    with raises_naming(OSError, cut, None, '00001'):
        ds[0]


def test_png_named_jpg_is_decoded_from_its_content(tmp_path):
    root = str(tmp_path)
    folder = dfew_clip(root, '00001', names=('1.png', '3.png'))
    write_image(osp.join(folder, '2.jpg'), frame(77), ext='.png')
    imgs = _dataset(root)[0]['imgs']
    assert imgs[1].shape == (16, 16, 3)
    assert (imgs[1] == 77).all()  # PNG content: lossless, exact


def test_grayscale_and_rgba_frames_become_rgb(tmp_path):
    root = str(tmp_path)
    folder = _clip_dir(root)
    write_image(osp.join(folder, '1.png'), frame(40, channels=1))
    bgra = np.zeros((16, 16, 4), np.uint8)
    bgra[..., 0], bgra[..., 2], bgra[..., 3] = 200, 30, 0  # blue, clear
    write_image(osp.join(folder, '2.png'), bgra)
    bgr = np.zeros((16, 16, 3), np.uint8)
    bgr[..., 2] = 250  # red
    write_image(osp.join(folder, '3.png'), bgr)
    imgs = _dataset(root)[0]['imgs']
    assert [img.shape for img in imgs[:3]] == [(16, 16, 3)] * 3
    assert (imgs[0] == 40).all()
    assert imgs[1][0, 0].tolist() == [30, 0, 200]  # RGB, alpha dropped
    assert imgs[2][0, 0].tolist() == [250, 0, 0]


def test_mixed_frame_sizes_name_the_odd_frame(tmp_path, nothing_lost):
    root = str(tmp_path)
    folder = dfew_clip(root, '00001', names=('1.png', '3.png'))
    write_image(osp.join(folder, '2.png'), frame(50, size=(20, 16)))
    ds = _dataset(nothing_lost(root))
    with raises_naming(ValueError, folder, None, "'2.png' is 16x20",
                       "'1.png' is 16x16"):
        ds[0]


def test_non_image_files_in_a_clip_folder_are_ignored(tmp_path):
    root = str(tmp_path)
    folder = dfew_clip(root, '00001')
    for name in ('.DS_Store', 'Thumbs.db', 'desktop.ini', 'notes.txt'):
        write_bytes(osp.join(folder, name), b'\x00\x01junk')
    # a macOS resource fork next to a frame: an image name, not an image
    write_bytes(osp.join(folder, '._1.png'), b'\x00\x05\x16\x07junk')
    ds = _dataset(root)
    assert ds.get_data_info(0)['frame_names'] == ['1.png', '2.png', '3.png']
    assert ds.get_data_info(0)['total_frames'] == 3
    assert len(ds[0]['imgs']) == 4


@pytest.mark.parametrize('names', [
    ['1.jpg', '2.jpg', '10.jpg', '11.JPG'],
    ['001.jpg', '002.jpg', '010.jpg', '011.jpg'],
    ['frame_2.png', 'frame_10.png', 'frame_100.png', 'frame_101.png'],
])
def test_frames_are_ordered_by_number(tmp_path, names):
    root = str(tmp_path)
    folder = _clip_dir(root)
    for i, name in enumerate(reversed(names)):
        write_image(osp.join(folder, name), frame(200 - 40 * i), ext='.png')
    assert list_frames(folder) == names
    means = [int(img.mean()) for img in _dataset(root)[0]['imgs']]
    assert means == sorted(means) and len(set(means)) == 4


def test_padded_and_unpadded_names_of_one_number_order_the_same_way(
        tmp_path):
    folder = str(tmp_path)
    for name in ('02.png', '2.png', '1.png'):
        write_bytes(osp.join(folder, name), b'')
    # '02' and '2' tie by value; the name decides, never the listing order
    assert list_frames(folder) == ['1.png', '02.png', '2.png']
