"""Provenance of description lines: read, kept by part merging, and one
warning for a file that has none."""
import json
import warnings

from fineclip.apis.description_parts import (merge_description_parts,
                                             part_file)
from fineclip.datasets.description_provenance import make_provenance
from fineclip.datasets.descriptions import (DescriptionIndex,
                                            read_description_records)


def _write(path, records):
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    return str(path)


def test_records_carry_their_provenance(tmp_path):
    made = make_provenance('VideoLlavaDescriber', 'm', 'a prompt', True)
    path = _write(tmp_path / 'd.jsonl', [
        dict(clip_id='1', text='x', **made), dict(clip_id='2', text='y')])
    first, second = read_description_records(path)
    assert first.provenance == made and first.label_given is True
    assert len(made['prompt_sha256']) == 16
    assert second.provenance is None and second.label_given is None


def test_a_file_without_provenance_warns_once(tmp_path):
    path = _write(tmp_path / 'old.jsonl', [
        dict(clip_id=f'{i}', text='the brows rise') for i in range(30)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        for _ in range(3):  # train, val and test datasets each read it
            DescriptionIndex(path)
    unknown = [w for w in caught if 'provenance unknown' in str(w.message)]
    assert len(unknown) == 1
    assert f'{path}: provenance unknown for 30 of 30' in str(
        unknown[0].message)
    known = _write(tmp_path / 'new.jsonl', [dict(
        clip_id='1', text='x', **make_provenance('LandmarkMotionDescriber'))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        DescriptionIndex(known)
    assert not [w for w in caught if 'provenance' in str(w.message)]


def test_part_merging_keeps_provenance(tmp_path):
    out = str(tmp_path / 'descriptions.jsonl')
    given = make_provenance('VideoLlavaDescriber', 'm', 'p', True)
    free = make_provenance('VideoLlavaDescriber', 'm', 'p', False)
    _write(part_file(out, 0, 2), [dict(clip_id='a', text='x', **given),
                                  dict(clip_id='c', text='z', **free)])
    _write(part_file(out, 1, 2), [dict(clip_id='b', text='y', **free)])
    merge_description_parts(out, ['a', 'b', 'c'], 2)
    records = read_description_records(out)
    assert [r.clip_id for r in records] == ['a', 'b', 'c']
    assert [r.provenance for r in records] == [given, free, free]
