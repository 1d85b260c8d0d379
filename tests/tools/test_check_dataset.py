"""tools/data/check_dataset.py reports every problem, naming its file."""
import os
import os.path as osp

import cv2
import numpy as np

from tests.helpers import call_tool_main, write_small_config


def _clip(root, clip_id, sizes):
    folder = osp.join(root, 'Clip/clip_224x224', clip_id)
    os.makedirs(folder)
    for i, size in enumerate(sizes, start=1):
        cv2.imwrite(osp.join(folder, f'{i}.jpg'),
                    np.zeros((size, size, 3), np.uint8))
    return folder


def test_broken_copy_is_reported(tmp_path):
    root = str(tmp_path / 'dfew')
    _clip(root, '00001', [16, 16, 16])
    _clip(root, '00002', [16, 24])  # mixed sizes
    broken = _clip(root, '00003', [16, 16])
    with open(osp.join(broken, '2.jpg'), 'wb') as f:
        f.write(b'not a jpeg')
    os.makedirs(osp.join(root, 'Clip/clip_224x224/00004'))  # empty
    for split in ('train', 'test'):
        folder = osp.join(root, 'EmoLabel_DataSplit',
                          f'{split}(single-labeled)')
        os.makedirs(folder)
        with open(osp.join(folder, 'set_1.csv'), 'w') as f:
            f.write('video_name,label\n1,1\n2,2\n3,3\n4,4\n5,9\n')
    config = write_small_config(tmp_path, root)
    run = call_tool_main('tools/data/check_dataset.py',
                         [config, '--folds', '1'])
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert '== train fold 1: 3 clips' in out
    assert 'set_1.csv:6: label 9 is outside 1..7' in out
    assert "set_1.csv:5: clip 00004's frame folder" in out
    assert "cannot decode '" + osp.join(broken, '2.jpg') in out
    assert 'clip 00002' in out and 'mixes frame sizes' in out
    assert 'clips shorter than T=4: 3' in out
    assert out.rstrip().endswith('8 problem(s) found.')


def test_face_map_files_are_checked_against_their_clips(tmp_path):
    from fineclip.datasets import DFEWDataset
    from fineclip.datasets.face_maps import FaceMaps, save_face_maps
    from fineclip.datasets.inspection import decode_problems
    root = str(tmp_path / 'dfew')
    for clip_id, frames in (('00001', 3), ('00002', 2)):
        _clip(root, clip_id, [16] * frames)
        # clip 2's file holds one frame too many
        t = frames + (clip_id == '00002')
        save_face_maps(osp.join(root, 'face_maps', clip_id + '.npz'),
                       FaceMaps(np.zeros((t, 68, 2), np.float32),
                                np.ones(t, bool),
                                np.zeros((t, 4, 4), np.uint8)))
    folder = osp.join(root, 'EmoLabel_DataSplit', 'test(single-labeled)')
    os.makedirs(folder)
    with open(osp.join(folder, 'set_1.csv'), 'w') as f:
        f.write('video_name,label\n1,1\n2,2\n')
    os.makedirs(osp.join(root, 'EmoLabel_DataSplit',
                         'train(single-labeled)'))
    ds = DFEWDataset(root, fold=1, split='test', face_map_dir='face_maps')
    problems = decode_problems(ds, mode='none', progress=False)
    assert len(problems) == 1
    assert 'clip 00002' in problems[0] and '00002.npz' in problems[0]
    assert 'holds 3 frames but the clip has 2' in problems[0]
