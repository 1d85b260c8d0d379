"""Data roots and clip names with spaces and non-ASCII characters (a user's
'Mes données', a Chinese folder name): loaded, decoded, and named intact
in messages."""
import json
import os.path as osp

import pytest

from fineclip.datasets import DFERListDataset, DFEWDataset
from tests.reliability.bad_inputs import (DECODE, dfew_clip, dfew_split,
                                          dfew_split_path, frame,
                                          load_mafw, mafw_split,
                                          raises_naming, write_bytes,
                                          write_image)

ODD = ['with space', 'Données é', '表情 数据']


@pytest.mark.parametrize('name', ODD)
def test_frame_clips_under_an_odd_root(tmp_path, name):
    root = str(tmp_path / name / 'DFEW copy')
    dfew_clip(root, '00001')
    dfew_split(root, ['1,3', '2,1'])
    write_bytes(osp.join(root, 'descriptions.jsonl'), (json.dumps(
        {'clip_id': '00001', 'text': f'{name}.'}, ensure_ascii=False)
        + '\n').encode())
    # clip 00002 is missing: its message must carry the path intact
    with raises_naming(FileNotFoundError, dfew_split_path(root), 3,
                       osp.join(root, 'Clip', 'clip_224x224', '00002')):
        DFEWDataset(root, serialize_data=False)
    dfew_split(root, ['1,3'])
    ds = DFEWDataset(root, description_file='descriptions.jsonl',
                     pipeline=DECODE, test_mode=True, serialize_data=False)
    assert ds.get_data_info(0)['description'] == f'{name}.'
    assert [int(img.mean()) for img in ds[0]['imgs']] == [10, 20, 30, 30]


@pytest.mark.parametrize('name', ODD)
def test_video_clips_under_an_odd_root(tmp_path, name):
    av = pytest.importorskip('av')
    root = str(tmp_path / name / 'MAFW')
    path = osp.join(root, 'data', 'clips', '00001.mp4')
    write_bytes(path, b'')
    with av.open(path, 'w') as container:
        stream = container.add_stream('mpeg4', rate=25)
        stream.width = stream.height = 16
        stream.pix_fmt = 'yuv420p'
        for i in range(6):
            image = av.VideoFrame.from_ndarray(frame(40 * i), format='rgb24')
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    mafw_split(root, b'00001.mp4 anger\r\n')
    ds = load_mafw(root, source='video', pipeline=DECODE, test_mode=True)
    assert ds.get_data_info(0)['total_frames'] == 6
    means = [img.mean() for img in ds[0]['imgs']]
    assert means == sorted(means) and means[-1] > means[0] + 50


def test_list_file_clip_names_with_spaces_and_non_ascii(tmp_path):
    root = str(tmp_path / 'my clips')
    folders = ['happy one', 'überrascht 2', '悲伤/clip 3', 'plain']
    for i, folder in enumerate(folders):
        for j in range(2 + i):
            write_image(osp.join(root, folder, f'{j}.png'), frame(9))
    # with and without the frame count; 'überrascht 2' ends in a number
    text = ('happy one 2 1\n'
            'überrascht 2 1\n'
            '悲伤/clip 3  4  2\n'
            'plain 2\n')
    write_bytes(osp.join(root, 'list.txt'), text.encode())
    ds = DFERListDataset(root, ann_file='list.txt', first_label=1,
                         metainfo=dict(classes=('a', 'b')),
                         serialize_data=False)
    got = [(ds.get_data_info(i)['clip_id'], ds.get_data_info(i)['label'],
            ds.get_data_info(i)['total_frames']) for i in range(len(ds))]
    assert got == [('happy one', 0, 2), ('überrascht 2', 0, 3),
                   ('悲伤/clip 3', 1, 4), ('plain', 1, 5)]


def test_list_file_unknown_spaced_clip_is_named_whole(tmp_path):
    root = str(tmp_path)
    path = write_bytes(osp.join(root, 'list.txt'), b'no such clip 1\n')
    with raises_naming(FileNotFoundError, path, 1,
                       osp.join(root, 'no such clip')):
        DFERListDataset(root, ann_file='list.txt', first_label=1,
                        metainfo=dict(classes=('a', 'b')))
