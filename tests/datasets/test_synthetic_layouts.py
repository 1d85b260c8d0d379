"""The synthetic FERV39k and MAFW layouts, read by their loaders."""
import hashlib
import json
import os
import os.path as osp
import runpy
import sys

import numpy as np
import pytest

from fineclip.datasets.ferv39k import FERV39K_CLASSES, FERV39kDataset
from fineclip.datasets.mafw import MAFW_CLASSES, MAFWDataset
from fineclip.datasets.synthetic import (FERV39K_SYNTHETIC_CLASSES,
                                         MAFW_SYNTHETIC_CLASSES,
                                         PROFILE_NAMES, SYNTHETIC_CLASSES,
                                         apex_profile, generate_synthetic,
                                         generate_synthetic_dfew,
                                         generate_synthetic_ferv39k,
                                         generate_synthetic_mafw)
from fineclip.datasets.synthetic.dynamics import sample_apex

# Content hash of generate_synthetic_dfew(tmp, num_clips=35, seed=3,
# image_size=48, progress=False), taken when the FERV39k / MAFW layouts were
# added (the whole tree, JPEG bytes included, was checked unchanged then):
# the DFEW random stream must never change. JPEG and zlib bytes are left
# out because they change with the OpenCV and zlib builds, not with us.
DFEW_HASH = '2d52a6ff07c5404bbaf71d941f802332f3c74e04bca69dccffd2460b00d06b58'
FERV = dict(num_clips=35, seed=5, image_size=32, min_frames=2, max_frames=8,
            progress=False)
MAFW = dict(num_clips=55, seed=5, image_size=32, min_frames=1, max_frames=8,
            progress=False)


def tree_hash(root):
    """Hash of file names, text files and the face maps' arrays."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = osp.join(dirpath, name)
            h.update(osp.relpath(path, root).replace(os.sep, '/').encode())
            if name.endswith('.npz'):
                with np.load(path) as maps:
                    for key in ('landmarks', 'action_units', 'face_found'):
                        h.update(maps[key].tobytes())
            elif not name.endswith(('.jpg', '.png', '.mp4')):
                with open(path, 'rb') as f:
                    h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def _descriptions(root):
    with open(osp.join(root, 'descriptions.jsonl')) as f:
        return {r['clip_id']: r['text'] for r in map(json.loads, f)}


@pytest.fixture(scope='module')
def ferv(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ferv39k'))
    return root, generate_synthetic_ferv39k(root, **FERV)


@pytest.fixture(scope='module')
def mafw(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('mafw'))
    return root, generate_synthetic_mafw(root, video=True, **MAFW)


def test_dfew_output_unchanged(tmp_path):
    generate_synthetic_dfew(str(tmp_path), num_clips=35, seed=3,
                            image_size=48, progress=False)
    # The descriptions' provenance fields came later than the hash: every
    # line carries the generator's, and without them the tree is the one
    # hashed (same texts, same random stream).
    path = osp.join(str(tmp_path), 'descriptions.jsonl')
    with open(path) as f:
        lines = [json.loads(line) for line in f]
    assert all(line.pop('describer') == 'synthetic.describe_action_units'
               and line.pop('label_given') is False
               and line.pop('model') is line.pop('prompt_sha256') is None
               for line in lines)
    with open(path, 'w') as f:
        f.writelines(json.dumps(line) + '\n' for line in lines)
    assert tree_hash(str(tmp_path)) == DFEW_HASH


def test_profiles_by_name():
    assert MAFW_SYNTHETIC_CLASSES == MAFW_CLASSES
    assert FERV39K_SYNTHETIC_CLASSES == FERV39K_CLASSES == SYNTHETIC_CLASSES
    for i, name in enumerate(SYNTHETIC_CLASSES):
        assert np.array_equal(apex_profile(name.upper()), apex_profile(i))
        a = sample_apex(i, np.random.default_rng(i))
        assert np.array_equal(a, sample_apex(name, np.random.default_rng(i)))
    for mafw_name, base in (('anger', 'Angry'), ('happiness', 'Happy'),
                            ('sadness', 'Sad'), ('Fear', 'Fear')):
        assert np.array_equal(apex_profile(mafw_name), apex_profile(base))
    rows = np.array([apex_profile(n) for n in MAFW_CLASSES])
    dist = np.linalg.norm(rows[:, None] - rows[None], axis=-1)
    assert dist[~np.eye(len(rows), dtype=bool)].min() > 0.6
    assert len(PROFILE_NAMES) == 11
    with pytest.raises(KeyError):
        apex_profile('boredom')


def test_ferv39k_loads_stratified(ferv):
    root, summary = ferv
    texts = _descriptions(root)
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['classes'] == list(FERV39K_CLASSES)
    assert meta['format'] == 'fineclip-synthetic-ferv39k'
    seen = set()
    for split, per_class in (('train', 4), ('test', 1)):
        ds = FERV39kDataset(root, split=split)
        assert ds.class_counts() == [per_class] * 7
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            scene, emotion, number = info['clip_id'].split('/')
            assert emotion == FERV39K_CLASSES[info['label']]
            assert len(number) == 4 and number.isdigit()
            assert info['clip_id'] in texts and info['clip_id'] not in seen
            seen.add(info['clip_id'])
            maps = np.load(osp.join(root, 'face_maps', scene, emotion,
                                    number + '.npz'))
            assert len(maps['action_units']) == info['total_frames']
            assert 2 <= info['total_frames'] <= 8
    assert seen == set(texts) and summary['split_counts'] == dict(train=28,
                                                                  test=7)
    with open(osp.join(root, '4_setups', 'All_scenes', 'test_All.csv')) as f:
        line = f.readline()
    assert line.count(' ') == 1 and line.endswith('\n')


def test_mafw_folds_captions_and_video(mafw):
    root, summary = mafw
    texts = _descriptions(root)
    with open(osp.join(root, 'meta.json')) as f:
        assert json.load(f)['classes'] == list(MAFW_CLASSES)
    assert summary['class_counts'] == {c: 5 for c in MAFW_CLASSES}
    tested = []
    for k in range(1, 6):
        for split, per_class in (('train', 4), ('test', 1)):
            frames = MAFWDataset(root, fold=k, split=split)
            captioned = MAFWDataset(root, fold=k, split=split,
                                    captions=True, source='video')
            assert frames.class_counts() == [per_class] * 11
            assert captioned.class_counts() == [per_class] * 11
            for i in range(len(frames)):
                a, b = frames.get_data_info(i), captioned.get_data_info(i)
                assert a['clip_id'] == b['clip_id']
                assert a['total_frames'] == b['total_frames']
                assert b['caption'] == texts[b['clip_id']]
                assert b['video_path'].endswith(f"{b['clip_id']}.mp4")
                if split == 'test':
                    tested.append(a['clip_id'])
    assert sorted(tested) == sorted(texts)  # every clip tested exactly once


def test_mafw_split_file_format(mafw):
    root, _ = mafw
    base = osp.join(root, 'Train & Test Set', 'single')
    with open(osp.join(base, 'no_caption', 'set_2', 'train.txt'), 'rb') as f:
        plain = f.read()
    with open(osp.join(base, 'with_caption', 'set_2', 'train.txt'),
              'rb') as f:
        captioned = f.read()
    lines = plain.decode('ascii').split('\r\n')
    assert lines[-1] == '' and all(
        len(l.split(' ')) == 2 and l.split(' ')[0].endswith('.mp4')
        for l in lines[:-1])
    rows = captioned.decode('gbk').split('\r\n')[:-1]
    assert len(rows) == len(lines) - 1
    for row, line in zip(rows, lines):
        fields = row.split('\t')
        assert len(fields) == 4 and fields[:2] == line.split(' ')
        assert '合成' in fields[2]
    with pytest.raises(UnicodeDecodeError):
        captioned.decode('utf-8')  # really GBK, not UTF-8


def test_mafw_frames_only_by_default(tmp_path):
    args = dict(MAFW, max_frames=2)
    generate_synthetic('MAFW', str(tmp_path), **args)
    assert not osp.exists(osp.join(tmp_path, 'data', 'clips'))
    assert len(MAFWDataset(str(tmp_path), fold=3, split='test',
                           captions=True)) == 11
    with pytest.raises(ValueError):
        generate_synthetic_mafw(str(tmp_path), **dict(args, num_clips=54))


@pytest.mark.parametrize('layout', ['ferv39k', 'mafw'])
def test_same_seed_is_byte_identical(tmp_path, layout):
    args = dict(num_clips=14 if layout == 'ferv39k' else 55, seed=7,
                image_size=32, min_frames=1, max_frames=3, progress=False)
    a, b, c = (str(tmp_path / n) for n in 'abc')
    generate_synthetic(layout, a, **args)
    generate_synthetic(layout, b, **args)
    generate_synthetic(layout, c, **dict(args, seed=8))
    assert tree_hash(a) == tree_hash(b) != tree_hash(c)


def test_dispatcher_rejects_unknown_layout(tmp_path):
    with pytest.raises(ValueError, match='layout'):
        generate_synthetic('afew', str(tmp_path))


def test_command_line_tool_layouts(tmp_path, monkeypatch, capsys):
    script = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'data',
                      'make_synthetic_dfer.py')
    monkeypatch.setattr(sys, 'argv', [
        script, '--layout', 'mafw', '--video', '--out-dir', str(tmp_path),
        '--num-clips', '55', '--image-size', '32', '--min-frames', '1',
        '--max-frames', '2', '--no-progress'])
    with pytest.raises(SystemExit) as stop:  # sys.exit(run_main(main))
        runpy.run_path(script, run_name='__main__')
    assert stop.value.code == 0
    assert json.loads(capsys.readouterr().out)['num_clips'] == 55
    assert osp.isfile(osp.join(tmp_path, 'data', 'clips', '00055.mp4'))
    monkeypatch.setattr(sys, 'argv', [script, '--video', '--out-dir',
                                      str(tmp_path / 'x')])
    with pytest.raises(SystemExit):
        runpy.run_path(script, run_name='__main__')
