"""Descriptions files (JSONL) as generators and hand edits leave them: a
broken line, a clip without text, a stray byte, empty text, ids written
with and without zero padding."""
import json
import os.path as osp

import pytest

from fineclip.datasets import DFEWDataset
from fineclip.datasets.descriptions import read_description_records
from tests.reliability.bad_inputs import (dfew_clip, dfew_split,
                                          dfew_split_path, raises_naming,
                                          write_bytes)


def _lines(*records) -> bytes:
    return b''.join(r if isinstance(r, bytes) else
                    (json.dumps(r, ensure_ascii=False) + '\n').encode()
                    for r in records)


def _copy(root, content: bytes, rows=('1,3', '2,7'), **kwargs):
    """A DFEW copy with clips 00001 and 00002 and descriptions
    ``content``; returns (descriptions path, loader)."""
    for clip in ('00001', '00002'):
        dfew_clip(root, clip)
    dfew_split(root, list(rows))
    path = write_bytes(osp.join(root, 'descriptions.jsonl'), content)

    def load():
        return DFEWDataset(root, serialize_data=False, fold=1, split='train',
                           description_file='descriptions.jsonl', **kwargs)
    return path, load


def _texts(ds):
    return [ds.get_data_info(i)['description'] for i in range(len(ds))]


def test_good_file_with_blank_lines_crlf_and_bom(tmp_path):
    content = b'\xef\xbb\xbf' + _lines(
        {'clip_id': '00001', 'text': 'Brows rise. \u00e9t\u00e9'}
    ).replace(b'\n', b'\r\n') + b'\n  \n' + _lines(
        {'clip_id': '00002', 'text': 'Lips press.', 'extra': 1})
    _, load = _copy(str(tmp_path), content)
    assert _texts(load()) == ['Brows rise. \u00e9t\u00e9', 'Lips press.']


@pytest.mark.parametrize('bad, fragment', [
    (b'{"clip_id": "00002", "text": "cut off\n', 'not valid JSON'),
    (b'["00002", "a list"]\n', 'expected a JSON object'),
    (b'{"clip_id": "00002"}\n', "missing 'text'"),
    (b'{"clip_id": 2, "text": "x"}\n', "'clip_id' must be a string"),
    (b'{"clip_id": "00001", "text": "again"}\n', 'duplicate clip_id'),
    (b'{"clip_id": "00002", "text": "caf\xe9"}\n',
     'not UTF-8 (byte 0xe9 at column 34)'),
], ids=['malformed', 'not-object', 'no-text', 'id-not-string',
        'duplicate', 'latin1-byte'])
def test_bad_line_is_named_with_file_and_line(tmp_path, bad, fragment,
                                              nothing_lost):
    root = str(tmp_path)
    path, load = _copy(root, _lines({'clip_id': '00001', 'text': 'ok'})
                       + bad)
    nothing_lost(root)
    with raises_naming(ValueError, path, 2, fragment):
        load()
    with raises_naming(ValueError, path, 2, fragment):
        read_description_records(path)  # the refinement tool's reader


def test_clip_without_description_names_split_line_and_file(tmp_path):
    root = str(tmp_path)
    path, load = _copy(root, _lines({'clip_id': '00001', 'text': 'ok'}))
    with raises_naming(ValueError, dfew_split_path(root), 3,
                       'clip 00002 has no description', path):
        load()


def test_clip_without_description_skipped_keeps_the_others(tmp_path):
    root = str(tmp_path)
    _, load = _copy(root, _lines({'clip_id': '00001', 'text': 'ok'}),
                    on_bad_clip='skip', max_bad_fraction=0.5)
    ds = load()
    assert _texts(ds) == ['ok']
    assert ds.bad_clips[0].startswith(f'{dfew_split_path(root)}:3: ')


@pytest.mark.parametrize('text', ['', '   ', '\n'])
def test_empty_text_is_named_with_both_files(tmp_path, text):
    root = str(tmp_path)
    path, load = _copy(root, _lines({'clip_id': '00001', 'text': 'ok'},
                                    {'clip_id': '00002', 'text': text}))
    with raises_naming(ValueError, dfew_split_path(root), 3,
                       'clip 00002 has an empty description', f'{path}:2'):
        load()


def test_ids_with_and_without_zero_padding_match(tmp_path):
    # describers and spreadsheets drop the padding of DFEW's 5-digit ids
    _, load = _copy(str(tmp_path), _lines({'clip_id': '1', 'text': 'one'},
                                          {'clip_id': '00002',
                                           'text': 'two'}))
    assert _texts(load()) == ['one', 'two']


def test_two_ids_of_one_clip_number_are_refused(tmp_path):
    root = str(tmp_path)
    path, load = _copy(root, _lines({'clip_id': '00001', 'text': 'a'},
                                    {'clip_id': '1', 'text': 'b'}))
    with raises_naming(ValueError, path, 2, "'1' is the same clip as "
                       "'00001' on line 1"):
        load()


def test_missing_file_says_how_to_make_it(tmp_path):
    root = str(tmp_path)
    for clip in ('00001', '00002'):
        dfew_clip(root, clip)
    dfew_split(root, ['1,3'])
    with raises_naming(FileNotFoundError, osp.join(root, 'none.jsonl'),
                       None, 'generate_descriptions.py'):
        DFEWDataset(root, serialize_data=False, description_file='none.jsonl')


def test_refining_a_blank_description_names_the_clip_and_writes_nothing(
        tmp_path):
    from tests.helpers import call_tool_main
    src = write_bytes(str(tmp_path / 'raw.jsonl'), _lines(
        {'clip_id': '00001', 'text': 'The brows rise.'},
        {'clip_id': '00002', 'text': '  \t '}))
    out = tmp_path / 'refined.jsonl'
    run = call_tool_main('tools/data/refine_descriptions.py',
                         [src, '--out', out])
    assert run.returncode == 2, run.stderr[-2000:]
    assert f'clip 00002 ({src}:2)' in run.stderr
    assert 'Traceback' not in run.stderr
    assert not out.exists()
