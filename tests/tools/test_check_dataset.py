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
    # the loader's reader, read_frame, names it
    assert "Cannot decode frame '" + osp.join(broken, '2.jpg') in out
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


STAR_DAGGER = 'configs/synthetic/fineclip_star_dagger_synthetic.py'


def _star_copy(tiny_data, tmp_path):
    import shutil
    root = str(tmp_path / 'data')
    shutil.copytree(tiny_data, root)
    return root, ['embedded_default=None'] + [
        f'{loader}.dataset.data_root={root}'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')]


def test_star_set_without_face_maps_is_a_report_not_a_traceback(
        tiny_data, tmp_path):
    import shutil
    root, options = _star_copy(tiny_data, tmp_path)
    shutil.rmtree(osp.join(root, 'face_maps'))
    run = call_tool_main('tools/data/check_dataset.py', [
        STAR_DAGGER, '--folds', '1', '2', '--decode', 'none',
        '--cfg-options'] + options)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert 'Traceback' not in run.stderr and 'lists no clips' not in out
    assert '== train fold 1: 28 clips' in out
    assert (f"clip 00001: face-map file '{root}/face_maps/00001.npz' is "
            'missing') in out
    assert 'fix: python tools/data/extract_face_maps.py ' + STAR_DAGGER in out
    assert ('missing face-map files: 70 (train fold 1: 28, test fold 1: 7, '
            'train fold 2: 28, test fold 2: 7)') in out
    # the configured fold's train-to-test leakage of its descriptions
    assert (f'description leakage ({root}/descriptions.jsonl): a text-only '
            "classifier fitted on fold 1's 28 training descriptions "
            "predicts its 7 test clips' labels with accuracy") in out
    assert out.rstrip().endswith('70 problem(s) found.')


def test_every_side_input_problem_is_counted_per_split(tiny_data, tmp_path):
    import json
    root, options = _star_copy(tiny_data, tmp_path)
    maps = osp.join(root, 'face_maps')
    for clip_id in ('00001', '00002'):
        os.remove(osp.join(maps, clip_id + '.npz'))
    with open(osp.join(maps, '00003.npz'), 'wb') as f:
        f.write(os.urandom(64))  # not an npz
    texts = osp.join(root, 'descriptions.jsonl')
    with open(texts) as f:
        records = [json.loads(line) for line in f]
    with open(texts, 'w') as f:  # clip 4 loses its text, 99999 is no clip
        for record in records:
            if record['clip_id'] != '00004':
                f.write(json.dumps(record) + '\n')
        f.write(json.dumps({'clip_id': '99999', 'text': 'a face'}) + '\n')
    os.remove(osp.join(root, 'EmoLabel_DataSplit/test(single-labeled)/'
                       'set_2.csv'))
    run = call_tool_main('tools/data/check_dataset.py', [
        STAR_DAGGER, '--folds', '1', '2', '--decode', 'none',
        '--cfg-options'] + options)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert 'Traceback' not in run.stderr
    assert '== test fold 2: cannot be read' in out
    assert 'set_2.csv' in out and 'is missing' in out
    assert f"{maps}/00003.npz: not a readable face-map file" in out
    assert "clip 00004 has no description in '" + texts in out
    assert f"{texts}:{len(records)}: clip_id '99999' is no clip" in out
    # clips 1-4 count in fold 1 and in fold 2's training split (fold 2's
    # test split file is gone)
    for line in ('missing face-map files: 3 (train fold 1: 2, train fold 2:',
                 'unreadable or mismatched face-map files: 2 (',
                 'clips without a description: 2 (',
                 'descriptions of no listed clip: 1 (descriptions: 1)',
                 'splits that cannot be read: 1 (test fold 2: 1)'):
        assert line in out, line
    assert out.rstrip().endswith('9 problem(s) found.')
