"""Each message states the real cause: a file where a folder belongs, a
symlink loop, a broken link, frames of an unsupported type (naming the
supported ones); check_dataset decodes with the loader's own reader."""
import os
import os.path as osp

import pytest

from fineclip.datasets import DFEWDataset
from tests.helpers import call_tool_main, write_small_config
from tests.reliability.bad_inputs import (dfew_clip, dfew_split, frame,
                                          load_mafw, mafw_split,
                                          raises_naming, write_bytes,
                                          write_image)


def _dfew_with_clip_2(root, make_clip_2):
    dfew_clip(root, '00001')
    folder = osp.join(root, 'Clip', 'clip_224x224', '00002')
    make_clip_2(folder)
    return dfew_split(root, ['1,3', '2,7'])


@pytest.mark.parametrize('make, exc, fragment', [
    (lambda f: write_bytes(f, b'a file'), NotADirectoryError,
     'is a file, not a folder of frames'),
    (lambda f: os.symlink(f, f), NotADirectoryError,
     'is a symlink loop'),
    (lambda f: os.symlink(f + '_gone', f), FileNotFoundError,
     "is a broken link to '"),
    (lambda f: write_image(osp.join(f, '1.tif'), frame(50)), ValueError,
     'holds no images of a supported type (.jpg, .jpeg, .png, .bmp, '
     '.webp); it holds .tif files: convert them'),
], ids=['file', 'symlink-loop', 'broken-link', 'tif'])
def test_frame_folder_problem_is_named(tmp_path, make, exc, fragment):
    root = str(tmp_path)
    split = _dfew_with_clip_2(root, make)
    with raises_naming(exc, split, 3, "clip 00002's frame folder", fragment):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')


def test_data_root_that_is_a_file_is_called_one(tmp_path):
    root = write_bytes(str(tmp_path / 'DFEW.zip'), b'PK')
    with pytest.raises(NotADirectoryError, match="'.*DFEW.zip' is a file, "
                       "not the dataset's folder"):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')


def test_check_dataset_reports_what_the_loader_refuses(tmp_path):
    # a JPEG cut short: some OpenCV builds decode it (grey rest), the
    # loader never; the message is the loader's own (read_frame's)
    root = str(tmp_path / 'dfew')
    for clip in ('00001', '00002', '00003', '00004'):
        for i in range(4):
            write_image(osp.join(root, 'Clip', 'clip_224x224', clip,
                                 f'{i + 1}.jpg'), frame(40 * i + 20), '.jpg')
    cut = osp.join(root, 'Clip', 'clip_224x224', '00002', '4.jpg')
    with open(cut, 'rb') as f:
        data = f.read()
    write_bytes(cut, data[:-2])  # the end-of-image marker never written
    dfew_split(root, ['1,1', '2,2'])
    dfew_split(root, ['3,3', '4,4'], split='test')
    config = write_small_config(tmp_path, root)
    run = call_tool_main('tools/data/check_dataset.py',
                         [config, '--folds', '1', '--decode', 'all'])
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"Frame '{cut}' of clip 00002 is a truncated JPEG" in run.stdout


def test_a_video_without_a_video_stream_says_so(tmp_path, nothing_lost):
    av = pytest.importorskip('av')
    import numpy as np
    root = str(tmp_path)
    clips = osp.join(root, 'data', 'clips')
    os.makedirs(clips)
    bad = osp.join(clips, '00001.mp4')
    with av.open(bad, 'w') as container:  # an mp4 of sound only
        stream = container.add_stream('aac', rate=16000)
        for _ in range(5):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format='fltp',
                layout='mono')
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    split = mafw_split(root, b'00001.mp4 anger\n')
    nothing_lost(root)
    with raises_naming(OSError, split, 1, bad,
                       'holds no video stream (only audio)'):
        load_mafw(root, source='video')


def test_refine_out_that_is_a_folder_is_named_first(tmp_path, nothing_lost):
    src = write_bytes(str(tmp_path / 'd.jsonl'),
                      b'{"clip_id": "00001", "text": "The brows rise."}\n')
    out = tmp_path / 'refined'
    out.mkdir()
    nothing_lost(str(tmp_path))
    run = call_tool_main('tools/data/refine_descriptions.py',
                         [src, '--out', out])
    assert run.returncode == 2, run.stdout + run.stderr
    assert f'--out {out}: is a folder; give the refined file' in run.stderr
    assert 'Traceback' not in run.stderr and os.listdir(out) == []
