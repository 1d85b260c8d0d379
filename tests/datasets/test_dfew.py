import os
import os.path as osp

import cv2
import numpy as np
import pytest

from fineclip.datasets import DFEWDataset, list_frames
from fineclip.datasets.synthetic import generate_synthetic_dfew


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('dfew') / 'synthetic')
    generate_synthetic_dfew(root, num_clips=35, seed=3, image_size=48,
                            progress=False)
    return root


def _write_split(root, rows, split='train', fold=1, header='video_name,label'):
    folder = osp.join(root, 'EmoLabel_DataSplit', f'{split}(single-labeled)')
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, f'set_{fold}.csv'), 'w') as f:
        f.write('\n'.join([header] + rows) + '\n')


def _write_clip(root, clip_id, names):
    folder = osp.join(root, 'Clip', 'clip_224x224', clip_id)
    os.makedirs(folder, exist_ok=True)
    for name in names:
        cv2.imwrite(osp.join(folder, name), np.zeros((8, 8, 3), np.uint8))


def test_reads_official_split_and_counts_frames_from_disk(synthetic_root):
    train = DFEWDataset(synthetic_root, fold=2, split='train')
    test = DFEWDataset(synthetic_root, fold=2, split='test')
    assert len(train) + len(test) == 35
    info = train.get_data_info(0)
    assert info['total_frames'] == len(os.listdir(info['frame_dir']))
    assert 0 <= info['label'] < 7
    assert train.metainfo['classes'][0] == 'Happy'
    assert sum(train.class_counts()) == len(train)


def test_labels_are_one_indexed_in_the_file(tmp_path):
    _write_clip(str(tmp_path), '00001', ['1.jpg'])
    _write_split(str(tmp_path), ['1,7'])
    ds = DFEWDataset(str(tmp_path), fold=1, split='train')
    assert ds.get_data_info(0)['label'] == 6  # Fear
    assert ds.get_data_info(0)['clip_id'] == '00001'


def test_frames_are_sorted_naturally(tmp_path):
    _write_clip(str(tmp_path), '00002', ['10.jpg', '2.jpg', '1.jpg'])
    assert list_frames(str(tmp_path / 'Clip/clip_224x224/00002')) == [
        '1.jpg', '2.jpg', '10.jpg']


@pytest.mark.parametrize('rows, message', [
    (['1,9'], r'set_1.csv:2: label 9 is outside 1..7'),
    (['1;3'], r'set_1.csv:2: expected'),
    (['1,x'], r'set_1.csv:2: label'),
    (['5,1'], r"set_1.csv:2: clip 00005's frame folder"),
])
def test_bad_lines_name_the_file_and_line(tmp_path, rows, message):
    _write_clip(str(tmp_path), '00001', ['1.jpg'])
    _write_split(str(tmp_path), rows)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        DFEWDataset(str(tmp_path), fold=1, split='train')


def test_missing_root_header_and_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='data_root'):
        DFEWDataset(str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='split file'):
        DFEWDataset(str(tmp_path))
    _write_split(str(tmp_path), ['1,1'], header='name,label')
    with pytest.raises(ValueError, match='set_1.csv:1: expected header'):
        DFEWDataset(str(tmp_path))
    _write_split(str(tmp_path), ['1,1'])
    os.makedirs(tmp_path / 'Clip/clip_224x224/00001')
    with pytest.raises(ValueError, match='holds no images'):
        DFEWDataset(str(tmp_path))


def test_pipeline_output(synthetic_root):
    pipeline = [
        dict(type='SampleFrameIndices', num_frames=16, test_mode=True),
        dict(type='DecodeFrames'),
        dict(type='GroupResize', size=32),
        dict(type='PackDFERInputs'),
    ]
    ds = DFEWDataset(synthetic_root, fold=1, split='test', pipeline=pipeline,
                     test_mode=True)
    sample = ds[0]
    assert tuple(sample['inputs']['frames'].shape) == (16, 3, 32, 32)
    assert int(sample['data_samples'].gt_label) == ds.get_data_info(0)['label']
    assert sample['data_samples'].clip_id == ds.get_data_info(0)['clip_id']


def test_skip_mode_logs_and_leaves_bad_clips_out(tmp_path):
    for clip in ('00001', '00002', '00003'):
        _write_clip(str(tmp_path), clip, ['1.jpg'])
    _write_split(str(tmp_path), ['1,1', '2,9', '3,2', '4,1'])
    ds = DFEWDataset(str(tmp_path), on_bad_clip='skip', max_bad_fraction=0.5)
    assert [ds.get_data_info(i)['clip_id'] for i in range(len(ds))] == [
        '00001', '00003']
    assert len(ds.bad_clips) == 2
    assert 'set_1.csv:3: label 9' in ds.bad_clips[0]
    assert "set_1.csv:5: clip 00004's frame folder" in ds.bad_clips[1]


def test_skip_mode_stops_past_the_allowed_fraction(tmp_path):
    _write_clip(str(tmp_path), '00001', ['1.jpg'])
    _write_split(str(tmp_path), ['1,1', '2,1'])
    with pytest.raises(ValueError, match=r'1 of 2 clips .* are bad \(50.0% '
                       r'> max_bad_fraction 10.0%\)'):
        DFEWDataset(str(tmp_path), on_bad_clip='skip', max_bad_fraction=0.1)
    with pytest.raises(ValueError, match='on_bad_clip'):
        DFEWDataset(str(tmp_path), on_bad_clip='ignore')


def test_holdout_is_stratified_disjoint_and_seeded(synthetic_root):
    full = DFEWDataset(synthetic_root, fold=1)
    kw = dict(fold=1, holdout_fraction=0.25, holdout_seed=7)
    rest = DFEWDataset(synthetic_root, holdout_keep='rest', **kw)
    held = DFEWDataset(synthetic_root, holdout_keep='held_out', **kw)

    def ids(ds):
        return {ds.get_data_info(i)['clip_id'] for i in range(len(ds))}

    assert ids(rest) | ids(held) == ids(full)
    assert not ids(rest) & ids(held)
    assert held.class_counts() == [round(0.25 * c)
                                   for c in full.class_counts()]
    again = DFEWDataset(synthetic_root, holdout_keep='held_out', **kw)
    assert ids(again) == ids(held)
    with pytest.raises(ValueError, match='holdout_keep'):
        DFEWDataset(synthetic_root, holdout_fraction=0.2, holdout_keep='x')


def test_dfew_from_videos_matches_frames(tmp_path):
    root = str(tmp_path)
    os.makedirs(tmp_path / 'videos')
    frames = [np.full((24, 24, 3), 12 * i, np.uint8) for i in range(18)]
    _write_clip(root, '00001', [])
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(tmp_path / f'Clip/clip_224x224/00001/{i}.jpg'), frame)
    writer = cv2.VideoWriter(str(tmp_path / 'videos/00001.avi'),
                             cv2.VideoWriter_fourcc(*'MJPG'), 25, (24, 24))
    for frame in frames:
        writer.write(frame)
    writer.release()
    _write_split(root, ['1,5'])
    by_frames = DFEWDataset(root)
    by_video = DFEWDataset(root, source='video', video_dir='videos')
    assert by_video.get_data_info(0)['total_frames'] == 18
    assert by_video.get_data_info(0)['video_path'].endswith('00001.avi')
    assert by_frames.get_data_info(0)['total_frames'] == 18
    with pytest.raises(FileNotFoundError, match=r"no video of clip 00001 in "
                       r"'.*elsewhere'"):
        DFEWDataset(root, source='video', video_dir='elsewhere')
