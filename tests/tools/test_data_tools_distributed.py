"""The data tools under torchrun: each rank takes its share of the clips,
writes its own files and resumes them; the merged output is a 1-process
run's (tools/data/generate_descriptions.py, tools/data/extract_face_maps.py).
"""
import json
import os
import os.path as osp
import shutil
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config

from fineclip.apis.description_generation import (
    DescriptionMergeError, description_clips_from_config,
    generate_descriptions, merge_description_parts, part_file, part_files)
from fineclip.apis.face_map_extraction import (SUMMARY_FILE,
                                               clips_from_config,
                                               extract_face_maps)
from fineclip.apis.sharding import (RankContext, init_data_tool_ranks,
                                    owner_of, rank_device, shard)
from fineclip.datasets.face_maps import (FaceMaps, load_face_maps,
                                         save_face_maps, temporary_name)
from fineclip.datasets.synthetic import generate_synthetic_dfew
from fineclip.preprocessing.describers import LandmarkMotionDescriber
from tests.helpers import run_torchrun

needs_gloo = pytest.mark.skipif(not torch.distributed.is_gloo_available(),
                                reason='torch built without gloo')

# An analyser whose output depends on each frame alone (no state across
# frames or clips), so any split of the clips over ranks and any batch
# size gives the same files: no face where the frame's mean brightness is
# 1 modulo 3, landmark 0 at the mean brightness.
STATELESS_ANALYZER = '''
import numpy as np
from fineclip.preprocessing import BaseFaceAnalyzer
from fineclip.registry import FACE_ANALYZERS


@FACE_ANALYZERS.register_module(force=True)
class StatelessFaceAnalyzer(BaseFaceAnalyzer):
    def analyze(self, frames):
        n = len(frames)
        mean = frames.mean(axis=(1, 2, 3))
        landmarks = np.full((n, 68, 2), 0.5, np.float32)
        landmarks[:, 0, 0] = mean / 255
        parsing = np.ones((n, self.parsing_size, self.parsing_size),
                          np.uint8)
        return dict(landmarks=landmarks,
                    face_found=mean.astype(int) % 3 != 1, parsing=parsing)
'''


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """14 tiny synthetic clips, a config over them, the analyser module."""
    folder = tmp_path_factory.mktemp('sharded_tools')
    root = str(folder / 'synthetic')
    generate_synthetic_dfew(root, num_clips=14, seed=6, image_size=24,
                            min_frames=5, max_frames=8, num_folds=2,
                            progress=False)
    (folder / 'stateless_face_analyzer.py').write_text(STATELESS_ANALYZER)
    sys.path.insert(0, str(folder))  # for the configs' custom_imports
    config = folder / 'cfg.py'
    config.write_text(textwrap.dedent(f'''
        custom_imports = dict(imports=['stateless_face_analyzer'])
        train_dataloader = dict(dataset=dict(
            type='DFEWDataset', data_root={root!r}, fold=1,
            split='train', face_map_dir='face_maps'))
        test_dataloader = dict(dataset=dict(
            type='DFEWDataset', data_root={root!r}, fold=1,
            split='test', face_map_dir='face_maps'))
    '''))
    yield dict(root=root, config=str(config), modules=str(folder))
    sys.path.remove(str(folder))


# --- the split --------------------------------------------------------------
def test_shards_are_disjoint_deterministic_and_cover_every_clip():
    items = [f'{i:05d}' for i in range(11)]
    for world in (1, 2, 3, 4):
        shards = [shard(items, r, world) for r in range(world)]
        assert sorted(sum(shards, [])) == items  # every clip exactly once
        assert shards == [shard(items, r, world) for r in range(world)]
        for r, part in enumerate(shards):
            assert all(owner_of(items.index(c), world) == r for c in part)
            # --limit keeps each rank's clips a prefix of its full shard
            assert shard(items[:5], r, world) == part[:len(
                shard(items[:5], r, world))]
    assert shard(items, 1, 2) == ['00001', '00003', '00005', '00007',
                                  '00009']
    with pytest.raises(ValueError, match='rank 2 is outside a world of 2'):
        shard(items, 2, 2)


def test_torchrun_without_a_launcher_is_refused(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')
    with pytest.raises(SystemExit, match='add --launcher pytorch'):
        init_data_tool_ranks('none')
    monkeypatch.setenv('WORLD_SIZE', '1')
    assert not init_data_tool_ranks('none').distributed


def test_cuda_means_the_ranks_own_gpu():
    two = RankContext(rank=3, world_size=4, local_rank=1)
    assert rank_device('cuda', two) == 'cuda:1'
    assert rank_device('cuda:0', two) == 'cuda:0'
    assert rank_device('cpu', two) == 'cpu'
    assert rank_device('cuda', RankContext()) == 'cuda'


# --- merging description parts ----------------------------------------------
def _write(path, records, tail=''):
    with open(path, 'w') as f:
        f.writelines(json.dumps({'clip_id': c, 'text': t}) + '\n'
                     for c, t in records)
        f.write(tail)


def test_merge_follows_the_one_process_order_and_removes_parts(tmp_path):
    out = str(tmp_path / 'descriptions.jsonl')
    assert part_file(out, 1, 2) == str(tmp_path /
                                       'descriptions.part-1-of-2.jsonl')
    _write(out, [('b', 'B')])  # an earlier run's line stays first
    _write(part_file(out, 0, 2), [('c', 'C'), ('a', 'A')])
    # 'b' again with its text: a merge cut short before removing parts
    _write(part_file(out, 1, 2), [('d', 'D'), ('b', 'B')])
    result = merge_description_parts(out, ['a', 'b', 'c', 'd'], 2)
    assert result['merged'] == 3 and result['kept'] == 1
    with open(out) as f:
        assert [json.loads(line)['clip_id'] for line in f] == ['b', 'a',
                                                               'c', 'd']
    assert part_files(out) == []
    assert sorted(os.listdir(tmp_path)) == ['descriptions.jsonl']


@pytest.mark.parametrize('parts, message', [
    ([[('a', 'A'), ('c', 'C')], [('c', 'other'), ('b', 'B')]],
     r"c in \S*part-0-of-2.jsonl and \S*part-1-of-2.jsonl"),
    ([[('a', 'A'), ('a', 'A')], [('b', 'B'), ('c', 'C')]],
     r"a twice in \S*part-0-of-2.jsonl"),
    ([[('a', 'A'), ('c', 'C')], [('b', 'B'), ('z', 'Z')]],
     r"descriptions.part-1-of-2.jsonl are not among the 3 clips.*z"),
    ([[('a', 'A')], [('b', 'B')]],
     r"no description: c \(expected in \S*part-0-of-2.jsonl\)"),
    ([[('a', 'A'), ('c', 'C')], None],
     r"no description: b \(expected in \S*part-1-of-2.jsonl, which does "
     'not exist'),
])
def test_merge_refuses_duplicates_and_gaps(tmp_path, parts, message):
    out = str(tmp_path / 'descriptions.jsonl')
    for rank, records in enumerate(parts):
        if records is not None:
            _write(part_file(out, rank, 2), records)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(DescriptionMergeError, match=message):
        merge_description_parts(out, ['a', 'b', 'c'], 2)
    assert sorted(os.listdir(tmp_path)) == before  # nothing written/removed


def test_merge_refuses_a_part_that_contradicts_the_output(tmp_path):
    out = str(tmp_path / 'descriptions.jsonl')
    _write(out, [('a', 'A')])
    _write(part_file(out, 0, 1), [('a', 'another text'), ('b', 'B')])
    with pytest.raises(DescriptionMergeError,
                       match=r'a in \S*descriptions.jsonl and \S*part-0-of'):
        merge_description_parts(out, ['a', 'b'], 1)


# --- face-map temporary names ---------------------------------------------
def test_face_map_writers_use_their_own_temporary_names(tmp_path,
                                                        monkeypatch):
    path = str(tmp_path / '00001.npz')
    mine = temporary_name(path)
    assert mine.startswith(path + '.') and mine.endswith('.part.npz')
    monkeypatch.setattr(os, 'getpid', lambda: 123456789)
    other = temporary_name(path)
    monkeypatch.undo()
    assert other != mine and '123456789' in other
    # another process is half-way through writing the same clip
    with open(other, 'wb') as f:
        f.write(b'PK\x03\x04 half written')
    rng = np.random.default_rng(0)
    maps = FaceMaps(rng.random((3, 68, 2), dtype=np.float32),
                    np.ones(3, bool), np.zeros((3, 4, 4), np.uint8))
    save_face_maps(path, maps)
    assert load_face_maps(path, 3).num_frames == 3
    with open(other, 'rb') as f:  # its file was left alone
        assert f.read() == b'PK\x03\x04 half written'
    assert sorted(os.listdir(tmp_path)) == sorted(
        ['00001.npz', osp.basename(other)])

    def broken(file, **arrays):
        with open(file, 'wb') as f:
            f.write(b'cut short')
        raise OSError('disk full')
    monkeypatch.setattr(np, 'savez_compressed', broken)
    with pytest.raises(OSError, match='disk full'):
        save_face_maps(str(tmp_path / '00002.npz'), maps)
    assert not osp.exists(temporary_name(str(tmp_path / '00002.npz')))


# --- two ranks against one process ----------------------------------------
@pytest.fixture
def two_rank_job(data, tmp_path):
    """Both tools' 1-process outputs, then one 2-rank torchrun job that runs
    both tools (one job: the ranks start once) over outputs where rank 1
    had been killed: after two of its clips, half-way through the third.

    Returns:
        dict: the job's ``log``; ``descriptions`` (the 1-process lines),
        ``descriptions_out``; ``clips``, ``maps_expected``, ``maps_out``
        and ``killed`` (the dead writer's temporary file).
    """
    from fineclip.registry import FACE_ANALYZERS
    folder = tmp_path
    cfg = Config.fromfile(data['config'])

    expected = str(folder / 'one.jsonl')
    generate_descriptions(LandmarkMotionDescriber(batch_size=4),
                          description_clips_from_config(cfg), expected,
                          progress=False)
    with open(expected) as f:
        lines = f.readlines()
    # rank 0 had not written anything
    descriptions_out = str(folder / 'two' / 'descriptions.jsonl')
    os.makedirs(osp.dirname(descriptions_out))
    with open(part_file(descriptions_out, 1, 2), 'w') as f:
        f.write(lines[1] + lines[3] + lines[5][:20])

    clips = clips_from_config(cfg)
    maps_expected = str(folder / 'one_maps')
    extract_face_maps(FACE_ANALYZERS.build(
        dict(type='StatelessFaceAnalyzer', parsing_size=8)), clips,
        maps_expected, progress=False)
    maps_out = str(folder / 'two_maps')
    os.makedirs(maps_out)
    for clip in (clips[1], clips[3]):
        name = clip.clip_id + '.npz'
        shutil.copy(osp.join(maps_expected, name), osp.join(maps_out, name))
    killed = temporary_name(osp.join(maps_out, clips[5].clip_id + '.npz'))
    with open(killed, 'wb') as f:
        f.write(b'PK\x03\x04 cut short')

    with pytest.MonkeyPatch.context() as env:  # the analyser module
        env.setenv('PYTHONPATH', data['modules'] + os.pathsep +
                   os.environ.get('PYTHONPATH', ''))
        log = run_torchrun(
            ['tools/data/generate_descriptions.py', data['config'],
             '--describer', 'LandmarkMotionDescriber', '--describer-cfg',
             'batch_size=2', '--out', descriptions_out],
            ['tools/data/extract_face_maps.py', data['config'],
             '--analyzer', 'StatelessFaceAnalyzer', '--analyzer-cfg',
             'parsing_size=8', 'batch_size=3', '--out-dir', maps_out])
    return dict(log=log, descriptions=lines,
                descriptions_out=descriptions_out, clips=clips,
                maps_expected=maps_expected, maps_out=maps_out, killed=killed)


@pytest.mark.slow(11)
@needs_gloo
def test_two_ranks_describe_and_extract_like_one_process_and_resume(
        two_rank_job, data):
    """Both tools in one job (:func:`two_rank_job`): each output is the
    1-process one, and the killed rank's work is resumed, not redone."""
    job = two_rank_job

    # descriptions
    out, lines = job['descriptions_out'], job['descriptions']
    assert len(lines) == 14
    assert '12 clips described, 2 done before' in job['log'], \
        job['log'][-2000:]
    with open(out) as f:
        assert f.read() == ''.join(lines)  # the 1-process file, exactly
    assert part_files(out) == []
    # a later 1-process run finds every clip done
    clips = description_clips_from_config(Config.fromfile(data['config']))
    again = generate_descriptions(LandmarkMotionDescriber(), clips, out,
                                  progress=False)
    assert again['described'] == 0 and again['skipped'] == 14

    # face maps
    expected, out = job['maps_expected'], job['maps_out']
    assert '12 clips extracted, 2 done before' in job['log'], \
        job['log'][-2000:]
    # the dead writer's temporary file is all that differs
    assert sorted(os.listdir(out)) == sorted(
        os.listdir(expected) + [osp.basename(job['killed'])])
    for clip in job['clips']:
        one = load_face_maps(osp.join(expected, clip.clip_id + '.npz'))
        two = load_face_maps(osp.join(out, clip.clip_id + '.npz'))
        for key in ('landmarks', 'face_found', 'parsing'):
            assert np.array_equal(getattr(one, key), getattr(two, key))
    with open(osp.join(expected, SUMMARY_FILE)) as f:
        summary = json.load(f)
    with open(osp.join(out, SUMMARY_FILE)) as f:
        merged = json.load(f)
    # the same summary, but for which clips this run did
    assert merged['extracted'] == 12 and merged['skipped'] == 2
    merged.update(extracted=14, skipped=0)
    assert merged == summary
