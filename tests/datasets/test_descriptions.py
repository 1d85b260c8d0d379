"""Per-clip descriptions: the JSONL file, the dataset key, tokenisation."""
import json

import numpy as np
import pytest
from mmengine.dataset import Compose

from fineclip.datasets import DFEWDataset
from fineclip.datasets.descriptions import read_descriptions
from fineclip.datasets.synthetic import generate_synthetic_dfew
from fineclip.datasets.transforms import with_description


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic_descriptions'))
    generate_synthetic_dfew(root, num_clips=14, seed=2, image_size=32,
                            min_frames=5, max_frames=6, num_folds=2,
                            progress=False)
    return root


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / 'd.jsonl'
    for body, message in [
        ('{"clip_id": "1", "text": "a"}\nnot json\n',
         r'd.jsonl:2: not valid JSON'),
        ('{"clip_id": 1, "text": "a"}\n',
         r"d.jsonl:1: 'clip_id' must be a string"),
        ('{"clip_id": "1", "text": "a"}\n\n{"clip_id": "1", "text": "b"}\n',
         r"d.jsonl:3: duplicate clip_id '1' \(first on line 1\)"),
    ]:
        path.write_text(body)
        with pytest.raises(ValueError, match=message):
            read_descriptions(str(path))
    with pytest.raises(FileNotFoundError, match='generate_descriptions'):
        read_descriptions(str(tmp_path / 'absent.jsonl'))


def test_samples_carry_their_description_and_tokens(root):
    with open(f'{root}/descriptions.jsonl') as f:
        texts = {r['clip_id']: r['text'] for r in map(json.loads, f)}
    pipeline = with_description([
        dict(type='SampleFrameIndices', num_frames=2, test_mode=True),
        dict(type='DecodeFrames'),
        dict(type='PackDFERInputs')
    ], context_length=64)
    assert [t['type'] for t in pipeline][-2:] == ['TokenizeDescription',
                                                  'PackDFERInputs']
    ds = DFEWDataset(root, fold=1, split='test',
                     description_file='descriptions.jsonl',
                     pipeline=pipeline)
    info = ds.get_data_info(0)
    assert info['description'] == texts[info['clip_id']]
    tokens = ds[0]['inputs']['description']
    assert tokens.shape == (64, ) and tokens.dtype.is_floating_point is False
    assert int(tokens[0]) == 49406 and (tokens > 0).sum() > 5  # <sot> ...


def test_clip_without_description_is_a_bad_clip(root, tmp_path):
    with open(f'{root}/descriptions.jsonl') as f:
        lines = f.readlines()
    short = tmp_path / 'short.jsonl'
    short.write_text(''.join(lines[1:]))  # drops clip 00001
    errors = []
    for split in ('train', 'test'):  # clip 00001 is in one of them
        try:
            DFEWDataset(root, fold=1, split=split,
                        description_file=str(short))
        except ValueError as err:
            errors.append(str(err))
    assert len(errors) == 1
    assert 'set_1.csv' in errors[0]
    assert 'clip 00001 has no description' in errors[0]


def test_tokenize_without_description_is_explained():
    pipe = Compose([dict(type='TokenizeDescription', context_length=16)])
    with pytest.raises(KeyError, match='description_file'):
        pipe(dict(clip_id='x', imgs=[np.zeros((4, 4, 3), np.uint8)]))
