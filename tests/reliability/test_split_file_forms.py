"""Split files as other editors save them (CR line ends, quoted fields, a
trailing empty column), and ids that only look like numbers: read as
written, or refused with file:line without taking the other split down."""
import pytest

from fineclip.datasets import DFEWDataset
from tests.reliability.bad_inputs import (HEADER, dfew_clip, dfew_split,
                                          dfew_split_path, raises_naming)

ROWS = [('00001', 2), ('00002', 6)]


def _samples(ds):
    return [(ds.get_data_info(i)['clip_id'], ds.get_data_info(i)['label'])
            for i in range(len(ds))]


@pytest.mark.parametrize('content', [
    HEADER.encode() + b'\r1,3\r2,7\r',                        # old Mac
    b'\xef\xbb\xbf' + HEADER.encode() + b'\r1,3\r2,7',        # BOM + CR
    b'"video_name","label"\n"00001","3"\n"2", "7"\n',         # quoted
    HEADER.encode() + b',\n1,3,\n2,7,,\n',                    # empty column
    HEADER.encode() + b'\r\n1,3\r2,7\n',                      # mixed
], ids=['cr', 'bom-cr', 'quoted', 'trailing-column', 'mixed'])
def test_read_as_written(tmp_path, content, nothing_lost):
    root = str(tmp_path)
    for clip in ('00001', '00002'):
        dfew_clip(root, clip)
    dfew_split(root, content)
    nothing_lost(root)
    ds = DFEWDataset(root, serialize_data=False, fold=1, split='train')
    assert _samples(ds) == ROWS
    assert ds.load_warnings == []


def test_a_non_ascii_digit_id_is_named_and_the_other_split_loads(
        tmp_path, nothing_lost):
    root = str(tmp_path)
    for clip in ('00001', '00002', '00003'):
        dfew_clip(root, clip)
    train = dfew_split(root, ['1,3', '2\u00b2,7'])  # '2²' passes isdigit()
    dfew_split(root, ['3,1'], split='test')
    nothing_lost(root)
    with raises_naming(ValueError, train, 3, "got '2\u00b2,7'"):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')
    # the test split reads the train file for overlaps: it still loads
    test = DFEWDataset(root, serialize_data=False, fold=1, split='test',
                       test_mode=True)
    assert _samples(test) == [('00003', 0)]


def test_a_split_file_that_is_a_folder_is_called_one(tmp_path):
    import os
    root = str(tmp_path)
    dfew_clip(root, '00001')
    os.makedirs(dfew_split_path(root))
    with raises_naming(IsADirectoryError, dfew_split_path(root), None,
                       'is a folder'):
        DFEWDataset(root, serialize_data=False, fold=1, split='train')
