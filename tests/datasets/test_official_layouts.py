"""FERV39k, MAFW and list-file datasets on hand-made copies of the layouts."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from fineclip.datasets import (DFERListDataset, FERV39kDataset,
                               MAFWDataset)


def _frames(folder, count=3):
    os.makedirs(folder, exist_ok=True)
    for i in range(1, count + 1):
        cv2.imwrite(osp.join(folder, f'{i}.jpg'),
                    np.full((8, 8, 3), i, np.uint8))


def _write(path, text, encoding='utf-8', newline='\n'):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding=encoding, newline=newline) as f:
        f.write(text)


@pytest.fixture
def ferv39k(tmp_path):
    root = str(tmp_path / 'FERV39k')
    for clip in ('Street/Happy/0001', 'Street/Fear/0002', 'Home/Sad/0003'):
        _frames(osp.join(root, '2_ClipsforFaceCrop', clip))
    _write(osp.join(root, '4_setups/All_scenes/train_All.csv'),
           'Street/Happy/0001 Happy\nStreet/Fear/0002 Fear\n')
    _write(osp.join(root, '4_setups/All_scenes/test_All.csv'),
           'Home/Sad/0003 Sad\n')
    return root


def test_ferv39k_maps_labels_by_name(ferv39k):
    train = FERV39kDataset(ferv39k, split='train')
    assert [train.get_data_info(i)['label'] for i in range(2)] == [0, 6]
    assert train.get_data_info(1)['clip_id'] == 'Street/Fear/0002'
    assert train.get_data_info(0)['total_frames'] == 3
    assert len(FERV39kDataset(ferv39k, split='test')) == 1


def test_ferv39k_unknown_label_names_file_and_line(ferv39k):
    _write(osp.join(ferv39k, '4_setups/All_scenes/test_All.csv'),
           'Home/Sad/0003 Sad\nHome/Sad/0003 Sadness\n')
    with pytest.raises(ValueError, match=r"test_All.csv:2: unknown label "
                       r"name 'Sadness'"):
        FERV39kDataset(ferv39k, split='test')


@pytest.fixture
def mafw(tmp_path):
    root = str(tmp_path / 'MAFW')
    for clip in ('03747', '00012'):
        _frames(osp.join(root, 'data/faces', clip))
    single = osp.join(root, 'Train & Test Set/single')
    _write(osp.join(single, 'no_caption/set_2/train.txt'),
           '03747.mp4 anger\r\n00012.mp4 disappointment\r\n', newline='')
    _write(osp.join(single, 'with_caption/set_2/train.txt'),
           '03747.mp4\tanger\t他皱起眉头\tHe frowns.\r\n', encoding='gbk',
           newline='')
    return root


def test_mafw_reads_crlf_lines_and_eleven_classes(mafw):
    ds = MAFWDataset(mafw, fold=2, split='train')
    assert len(ds.classes) == 11
    assert [ds.get_data_info(i)['label'] for i in range(2)] == [0, 10]
    assert ds.get_data_info(0)['clip_id'] == '03747'


def test_mafw_with_caption_keeps_the_english_caption(mafw):
    ds = MAFWDataset(mafw, fold=2, split='train', captions=True)
    assert ds.get_data_info(0)['caption'] == 'He frowns.'


def test_mafw_wrong_encoding_is_reported(mafw):
    path = osp.join(mafw, 'Train & Test Set/single/with_caption/set_2/'
                    'train.txt')
    with open(path, 'wb') as f:
        f.write(b'03747.mp4\tanger\t\xff\xff\xff\tHe frowns.\r\n')
    with pytest.raises(ValueError, match='not gbk-encoded'):
        MAFWDataset(mafw, fold=2, split='train', captions=True)


def test_list_dataset_counts_frames_from_disk(tmp_path):
    _frames(str(tmp_path / 'clips/a'), count=4)
    _frames(str(tmp_path / 'clips/b'), count=2)
    _write(str(tmp_path / 'train.txt'), 'clips/a 99 1\nclips/b 2\n')
    ds = DFERListDataset(str(tmp_path), ann_file='train.txt', first_label=1,
                         metainfo=dict(classes=('x', 'y')))
    assert ds.get_data_info(0)['total_frames'] == 4  # not the listed 99
    assert [ds.get_data_info(i)['label'] for i in range(2)] == [0, 1]
    with pytest.raises(ValueError, match='names the classes|classes'):
        DFERListDataset(str(tmp_path), ann_file='train.txt', first_label=1)
    _write(str(tmp_path / 'bad.txt'), 'clips/a 3\n')
    with pytest.raises(ValueError, match=r'bad.txt:1: label 3 is outside'):
        DFERListDataset(str(tmp_path), ann_file='bad.txt', first_label=1,
                        metainfo=dict(classes=('x', 'y')))


def _frames_and_video(root, clip_id, count=20, size=32):
    """The same clip as a frame folder and as an mp4 (OpenCV, mp4v)."""
    folder = osp.join(root, 'data/faces', clip_id)
    os.makedirs(folder, exist_ok=True)
    os.makedirs(osp.join(root, 'data/clips'), exist_ok=True)
    writer = cv2.VideoWriter(osp.join(root, 'data/clips', f'{clip_id}.mp4'),
                             cv2.VideoWriter_fourcc(*'mp4v'), 25,
                             (size, size))
    for i in range(count):
        frame = np.full((size, size, 3), 10 * i + 5, np.uint8)
        cv2.imwrite(osp.join(folder, f'{i + 1:05d}.jpg'), frame)
        writer.write(frame)
    writer.release()


@pytest.fixture
def mafw_videos(tmp_path):
    root = str(tmp_path / 'MAFW')
    _frames_and_video(root, '00007', count=20)
    _frames_and_video(root, '00008', count=9)
    _write(osp.join(root, 'Train & Test Set/single/no_caption/set_1/'
                    'test.txt'), '00007.mp4 fear\r\n00008.mp4 anxiety\r\n',
           newline='')
    return root


def _test_view(root, source):
    pipeline = [dict(type='SampleFrameIndices', num_frames=16,
                     test_mode=True), dict(type='DecodeFrames')]
    ds = MAFWDataset(root, fold=1, split='test', source=source,
                     pipeline=pipeline, test_mode=True)
    return [ds[i] for i in range(len(ds))]


def test_frames_and_video_give_the_same_sample(mafw_videos):
    from_frames = _test_view(mafw_videos, 'frames')
    from_video = _test_view(mafw_videos, 'video')
    for a, b in zip(from_frames, from_video):
        assert a['total_frames'] == b['total_frames']
        assert a['frame_inds'].tolist() == b['frame_inds'].tolist()
        assert 'video_path' in b and 'video_path' not in a
        diff = np.abs(np.stack(a['imgs']).astype(int) -
                      np.stack(b['imgs']).astype(int)).mean()
        assert diff < 4, diff  # lossy codecs, same frames
    assert from_video[1]['frame_inds'][-1] == 8  # short clip, edge-padded


def test_pyav_reads_what_decord_cannot(mafw_videos, monkeypatch):
    def broken(path):
        raise RuntimeError('decord cannot open this file')

    reference = _test_view(mafw_videos, 'video')
    monkeypatch.setattr('fineclip.datasets.video._decord_reader', broken)
    fallback = _test_view(mafw_videos, 'video')
    for a, b in zip(reference, fallback):
        assert a['total_frames'] == b['total_frames']
        assert np.abs(np.stack(a['imgs']).astype(int) -
                      np.stack(b['imgs']).astype(int)).mean() < 2


def test_truncated_video_is_named(mafw_videos):
    path = osp.join(mafw_videos, 'data/clips/00008.mp4')
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(OSError, match=r'test.txt:2: .*00008.mp4'):
        MAFWDataset(mafw_videos, fold=1, split='test', source='video')


def test_decode_check_reads_videos(mafw_videos):
    from fineclip.datasets.inspection import decode_problems
    ds = MAFWDataset(mafw_videos, fold=1, split='test', source='video')
    assert decode_problems(ds, 'all', progress=False) == []
