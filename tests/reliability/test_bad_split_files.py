"""Split files as editors and spreadsheets save them: what must load as
written, and what must be refused with its file and line."""
import os.path as osp

import pytest

from fineclip.datasets import DFEWDataset, FERV39kDataset
from tests.reliability.bad_inputs import (HEADER, dfew, dfew_clip,
                                          dfew_split, dfew_split_path,
                                          frame, load_mafw, mafw_clip,
                                          mafw_split, raises_naming,
                                          write_bytes, write_image)

ROWS = b'1,3\n2,7\n'


def _samples(ds):
    return [(ds.get_data_info(i)['clip_id'], ds.get_data_info(i)['label'])
            for i in range(len(ds))]


@pytest.mark.parametrize('content', [
    b'\xef\xbb\xbf' + HEADER.encode() + b'\n' + ROWS,     # UTF-8 BOM
    HEADER.encode() + b'\r\n1,3\r\n2,7\r\n',              # CRLF
    HEADER.encode() + b'\n' + ROWS + b'\n\n  \n\r\n',     # blank tail
    b'Video_Name,Label\n' + ROWS,                         # header case
    b'video_name , label\n' + ROWS,                       # header spaces
    b'"video_name","label"\n' + ROWS,                     # quoted header
    ROWS,                                                 # no header
    HEADER.encode() + b'\n  1 , 3 \n\t2,\t7\t\n',         # extra spaces
], ids=['bom', 'crlf', 'blank-tail', 'header-case', 'header-spaces',
        'header-quoted', 'no-header', 'extra-spaces'])
def test_accepted_and_parsed_as_written(tmp_path, content):
    root = str(tmp_path)
    for clip in ('00001', '00002'):
        dfew_clip(root, clip)
    dfew_split(root, content)
    ds = DFEWDataset(root, serialize_data=False, fold=1, split='train')
    assert _samples(ds) == [('00001', 2), ('00002', 6)]
    assert ds.load_warnings == []


def test_a_different_header_is_refused_at_line_1(tmp_path, nothing_lost):
    root = str(tmp_path)
    path = dfew_split(root, b'clip,emotion\n' + ROWS)
    nothing_lost(root)
    with raises_naming(ValueError, path, 1, "expected header"):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')


@pytest.mark.parametrize('row, fragment', [
    ('2,0', 'label 0 is outside 1..7'),
    ('2,8', 'label 8 is outside 1..7'),
    ('2,-1', 'label -1 is outside 1..7'),
    ('2,happy', "label 'happy' is not an integer"),
    ('2,3.0', "label '3.0' is not an integer"),
    ('2,', "label '' is not an integer"),
    ('2;3', "expected '<clip id>,<label>'"),
    ('abc,3', "expected '<clip id>,<label>'"),
    ('2,3,1', "expected '<clip id>,<label>'"),
    ('9,3', "clip 00009's frame folder"),  # unknown clip
], ids=['label-0', 'label-8', 'label-negative', 'label-name',
        'label-float', 'label-empty', 'separator', 'clip-id', 'extra-field',
        'unknown-clip'])
def test_bad_rows_are_named_with_file_and_line(tmp_path, row, fragment,
                                               nothing_lost):
    root = str(tmp_path)
    for clip in ('00001', '00002'):
        dfew_clip(root, clip)
    path = dfew_split(root, ['1,3', row])
    nothing_lost(root)
    with raises_naming((ValueError, OSError), path, 3, fragment):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')


def test_bad_rows_skipped_keep_the_good_ones(tmp_path):
    root = str(tmp_path)
    ds = dfew(root, ['1,3', '2,0', '9,1', '2,7'], on_bad_clip='skip',
              max_bad_fraction=0.6)
    assert _samples(ds) == [('00001', 2), ('00002', 6)]
    path = dfew_split_path(root)
    where = [m.split(': ')[0] for m in ds.bad_clips]
    assert where == [f'{path}:3', f'{path}:4']


def test_a_repeated_clip_with_the_same_label_is_loaded_once(tmp_path):
    root = str(tmp_path)
    ds = dfew(root, ['1,3', '2,7', '1,3'])
    assert _samples(ds) == [('00001', 2), ('00002', 6)]
    [warning] = ds.load_warnings
    assert f'{dfew_split_path(root)}:4: clip 00001 is listed again' in warning
    assert 'first on line 2' in warning


def test_a_repeated_clip_with_another_label_is_refused(tmp_path):
    root = str(tmp_path)
    with raises_naming(ValueError, dfew_split_path(root), 4, 'clip 00001',
                       "'Fear'", 'line 2', "'Neutral'"):
        dfew(root, ['1,3', '2,7', '1,7'])


def test_a_clip_in_both_train_and_test_is_warned_about(tmp_path):
    root = str(tmp_path)
    dfew_split(root, ['2,1', '1,2'], split='test')
    ds = dfew(root, ['1,3', '2,7'])
    assert len(ds) == 2  # a warning: the data still loads
    [warning] = ds.load_warnings
    train, test = dfew_split_path(root), dfew_split_path(root, 'test')
    assert '2 clip(s) are in both' in warning
    assert f'00002 ({train}:3, {test}:2)' in warning
    assert f'00001 ({train}:2, {test}:3)' in warning


def test_latin1_bytes_are_named_with_line_and_byte(tmp_path, nothing_lost):
    root = str(tmp_path)
    for clip in ('00001', '00002'):
        dfew_clip(root, clip)
    # a row commented in a Latin-1 editor: 'é' is the single byte 0xe9
    path = dfew_split(root, HEADER.encode() + b'\n1,3\n2,7 caf\xe9\n')
    nothing_lost(root)
    with raises_naming(ValueError, path, 3, 'not utf-8-encoded',
                       'byte 0xe9 at column 8'):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')


def test_latin1_bytes_in_the_first_line_are_named_too(tmp_path):
    # the header is read first: its decoding error must be named as well
    root = str(tmp_path)
    path = dfew_split(root, b'video_name,l\xe9bel\n' + ROWS)
    with raises_naming(ValueError, path, 1, 'byte 0xe9'):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')


def test_utf16_file_is_named(tmp_path):
    root = str(tmp_path)
    path = dfew_split(root, (HEADER + '\n1,3\n').encode('utf-16'))
    with raises_naming(ValueError, path, None, 'UTF-16'):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')


def test_mafw_crlf_tabs_and_spaces_are_accepted(tmp_path):
    root = str(tmp_path)
    for clip in ('00001', '00002'):
        mafw_clip(root, clip)
    mafw_split(root, b'00001.mp4   anger \r\n00002.mp4\tcontempt\r\n\r\n')
    ds = load_mafw(root)
    assert _samples(ds) == [('00001', 0), ('00002', 7)]


def test_mafw_unknown_label_name_is_named(tmp_path):
    root = str(tmp_path)
    mafw_clip(root, '00001')
    path = mafw_split(root, b'00001.mp4 anger\r\n00001.mp4 angry\r\n')
    with raises_naming(ValueError, path, 2, "unknown label name 'angry'"):
        load_mafw(root)


def test_mafw_caption_file_in_latin1_instead_of_gbk_is_named(tmp_path):
    root = str(tmp_path)
    mafw_clip(root, '00001')
    # 0xff is no GBK lead byte
    path = mafw_split(root, b'00001.mp4\tanger\t\xff\xfe\tHe frowns.\r\n',
                      captions=True)
    with raises_naming(ValueError, path, 1, 'not gbk-encoded'):
        load_mafw(root, captions=True)


def test_ferv39k_scene_names_with_spaces(tmp_path):
    root = str(tmp_path)
    for clip in ('Daily Life/Happy/0001', 'Street/Sad/0002'):
        for i in range(2):
            write_image(osp.join(root, '2_ClipsforFaceCrop', clip,
                                 f'{i + 1}.png'), frame(9))
    write_bytes(osp.join(root, '4_setups/All_scenes/train_All.csv'),
                b'Daily Life/Happy/0001 Happy\r\nStreet/Sad/0002,Sad\n')
    ds = FERV39kDataset(root, serialize_data=False, split='train')
    assert _samples(ds) == [('Daily Life/Happy/0001', 0),
                            ('Street/Sad/0002', 1)]
