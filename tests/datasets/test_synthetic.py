"""Tests of the synthetic cartoon-face DFEW generator."""
import csv
import filecmp
import json
import os
import os.path as osp
import re
import runpy
import sys

import cv2
import numpy as np
import pytest

from fineclip.datasets.face_maps import face_map_layout, load_face_maps
from fineclip.datasets.synthetic import (ACTION_UNITS, PARSING_CLASSES,
                                         SYNTHETIC_CLASSES,
                                         describe_action_units, describe_frame,
                                         generate_synthetic_dfew,
                                         synthesize_clip)
from fineclip.datasets.synthetic.dynamics import (sample_action_units,
                                                  sample_apex)
from fineclip.datasets.synthetic.face_model import (canonical_landmarks,
                                                    sample_identity)

EMOTION_WORDS = re.compile(
    r'\b(happ\w*|sad\w*|neutral\w*|ang(er|ry)\w*|fear\w*|afraid|scared|'
    r'surpris\w*|disgust\w*|smil\w*|frown\w*|joy\w*|grin\w*|scowl\w*|'
    r'sneer\w*|upset|calm\w*|relax\w*|emotion\w*|mood|shock\w*|grimac\w*|'
    r'cr(y|ies|ying)|tear\w*|pleas\w*|worr\w*|terr\w*|contempt\w*)\b', re.I)
SPLIT = 'EmoLabel_DataSplit'
LABEL = {name: i for i, name in enumerate(SYNTHETIC_CLASSES)}


def _read_split(root, kind, k):
    path = osp.join(root, SPLIT, f'{kind}(single-labeled)', f'set_{k}.csv')
    with open(path, newline='') as f:
        header = f.readline()
        rows = list(csv.reader(f))
    return header, rows


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """A small dataset with the default clip lengths and image size."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    summary = generate_synthetic_dfew(root, num_clips=21, seed=3, num_folds=3,
                                      parsing_size=56, progress=False)
    return root, summary


def _small(root, seed):
    return generate_synthetic_dfew(root, num_clips=14, seed=seed, num_folds=2,
                                   image_size=48, min_frames=2, max_frames=5,
                                   progress=False)


def test_same_seed_is_byte_identical(tmp_path):
    a, b, c = (str(tmp_path / name) for name in 'abc')
    _small(a, 7)
    _small(b, 7)
    _small(c, 8)
    cmp = filecmp.dircmp(a, b)
    common = ['meta.json', 'descriptions.jsonl'] + [
        osp.join(SPLIT, f'{kind}(single-labeled)', f'set_{k}.csv')
        for kind in ('train', 'test') for k in (1, 2)]
    match, mismatch, errors = filecmp.cmpfiles(a, b, common, shallow=False)
    assert not mismatch and not errors and not cmp.left_only
    for clip_id in ('00001', '00014'):
        frame = osp.join('Clip', 'clip_224x224', clip_id, '00001.jpg')
        assert filecmp.cmp(osp.join(a, frame), osp.join(b, frame),
                           shallow=False)
        za = np.load(osp.join(a, 'face_maps', f'{clip_id}.npz'))
        zb = np.load(osp.join(b, 'face_maps', f'{clip_id}.npz'))
        for key in za.files:
            np.testing.assert_array_equal(za[key], zb[key])
    _, mismatch, _ = filecmp.cmpfiles(a, c, common, shallow=False)
    assert mismatch, 'a different seed must give a different dataset'


def test_layout_and_csv_format(dataset):
    root, summary = dataset
    meta = json.load(open(osp.join(root, 'meta.json')))
    assert meta['format'] == 'fineclip-synthetic-dfew' and meta['version'] == 1
    assert meta['classes'] == list(SYNTHETIC_CLASSES)
    assert meta['action_units'] == list(ACTION_UNITS)
    assert meta['parsing_classes'] == list(PARSING_CLASSES)
    assert meta['num_clips'] == 21 and meta['num_folds'] == 3
    assert summary['class_counts'] == {name: 3 for name in SYNTHETIC_CLASSES}
    test_ids, labels = [], {}
    for k in (1, 2, 3):
        for kind in ('train', 'test'):
            header, rows = _read_split(root, kind, k)
            assert header == 'video_name,label\n'
            assert all(re.fullmatch(r'\d{5}', r[0]) and r[1] in '1234567'
                       and len(r) == 2 for r in rows)
            # every class in every fold's train and test set
            assert {int(r[1]) for r in rows} == set(range(1, 8))
            for vid, lab in rows:
                assert labels.setdefault(vid, lab) == lab
        test = {r[0] for r in _read_split(root, 'test', k)[1]}
        train = {r[0] for r in _read_split(root, 'train', k)[1]}
        assert not test & train and len(test | train) == 21
        test_ids += sorted(test)
    assert sorted(test_ids) == [f'{i:05d}' for i in range(1, 22)]
    lines = open(osp.join(root, 'descriptions.jsonl')).read().splitlines()
    assert [json.loads(x)['clip_id'] for x in lines] == sorted(labels)


def test_frames_and_face_maps(dataset):
    root, _ = dataset
    lengths = []
    for i in range(1, 22):
        clip_id = f'{i:05d}'
        path = osp.join(root, 'face_maps', f'{clip_id}.npz')
        maps = np.load(path)
        t = len(maps['landmarks'])
        lengths.append(t)
        frame_dir = osp.join(root, 'Clip', 'clip_224x224', clip_id)
        names = sorted(os.listdir(frame_dir))
        assert names == [f'{j:05d}.jpg' for j in range(1, t + 1)]
        assert cv2.imread(osp.join(frame_dir, names[0])).shape == (112, 112, 3)
        assert maps['landmarks'].dtype == np.float32
        assert maps['landmarks'].shape == (t, 68, 2)
        assert maps['face_found'].dtype == bool and maps['face_found'].all()
        # The extraction tools' layout: one parsing member per frame.
        assert face_map_layout(path) == 'per_frame'
        parsing = load_face_maps(path).parsing
        assert parsing.shape == (t, 56, 56)
        assert parsing.dtype == np.uint8
        assert parsing.max() < len(PARSING_CLASSES)
        assert maps['action_units'].shape == (t, len(ACTION_UNITS))
        lm = maps['landmarks']
        assert lm.min() > 0.0 and lm.max() < 1.0, 'landmarks leave the image'
    assert min(lengths) >= 10 and max(lengths) <= 48
    assert min(lengths) < 16, 'some clips should be shorter than 16 frames'


def _shape_change(a, b):
    """Landmark motion of b relative to a after removing position and scale."""
    a, b = a - a.mean(0), b - b.mean(0)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    u, _, vt = np.linalg.svd(b.T @ a)
    return float(np.linalg.norm(b @ (u @ vt) - a))


def test_expression_moves_from_neutral_start(dataset):
    root, _ = dataset
    _, rows = _read_split(root, 'test', 1)
    rows += _read_split(root, 'train', 1)[1]
    change = {}
    for vid, lab in rows:
        maps = np.load(osp.join(root, 'face_maps', f'{vid}.npz'))
        au = maps['action_units']
        assert np.abs(au[0, :-1]).max() < 0.1, 'clips start from rest'
        energy = np.abs(au[:, :-1]).sum(1)
        energy[au[:, -1] > 0] = -1  # skip blinks: they are not the expression
        apex = int(np.argmax(energy))
        change.setdefault(int(lab) - 1, []).append(
            _shape_change(maps['landmarks'][0], maps['landmarks'][apex]))
    still = max(change.pop(LABEL['Neutral']))
    for label, values in change.items():
        assert min(values) > 0.025 > still, SYNTHETIC_CLASSES[label]


def _explained(frame, parsing):
    """R^2 of the face pixels when each parsing region is one flat colour."""
    frame, face = frame.astype(float), parsing > 0
    flat = np.zeros_like(frame)
    for label in np.unique(parsing):
        flat[parsing == label] = frame[parsing == label].mean(0)
    residual = ((frame - flat)[face] ** 2).sum()
    return 1 - residual / ((frame[face] - frame[face].mean(0)) ** 2).sum()


@pytest.mark.parametrize('name', SYNTHETIC_CLASSES)
def test_parsing_agrees_with_frame_and_landmarks(name):
    label = LABEL[name]
    clip = synthesize_clip(np.random.default_rng([5, label]), label, 12,
                           image_size=112, parsing_size=112)
    frame, parsing = clip['frames'][-1], clip['parsing'][-1]
    lm = clip['landmarks'][-1] * 112 - 0.5  # pixel-index coordinates

    def label_at(point):
        x, y = np.rint(point).astype(int)
        return parsing[y, x]

    def labels_between(a, b):
        return {label_at(a + (b - a) * t) for t in np.linspace(0, 1, 9)}

    assert label_at(lm[30] + (lm[33] - lm[30]) * 0.3) == 6
    assert label_at(lm[19]) == 2 and label_at(lm[24]) == 3
    assert label_at(lm[36:42].mean(0)) == 4
    assert label_at(lm[42:48].mean(0)) == 5
    assert 7 in labels_between(lm[51], lm[62])
    assert 9 in labels_between(lm[57], lm[66])
    assert label_at(lm[2] + (lm[30] - lm[2]) * 0.3) == 1  # cheek
    if name == 'Surprise':
        assert label_at((lm[62] + lm[66]) / 2) == 8
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(float)
    skin = luma[parsing == 1].mean()
    assert luma[(parsing == 2) | (parsing == 3)].mean() < skin - 20
    # Painting each face region with its mean colour explains the frame much
    # better with the true map than with a map misaligned by two pixels.
    shifted = np.roll(parsing, 2, axis=(0, 1))
    assert _explained(frame, parsing) > max(
        0.2, _explained(frame, shifted) + 0.1)


def test_parsing_resolution_follows_landmarks():
    clip = synthesize_clip(np.random.default_rng(1), LABEL['Surprise'], 6,
                           image_size=96, parsing_size=48)
    parsing, lm = clip['parsing'][-1], clip['landmarks'][-1]
    x, y = np.rint((lm[62] + lm[66]) / 2 * 48 - 0.5).astype(int)
    assert parsing.shape == (48, 48) and parsing[y, x] == 8


def _apex_stats(name, n=40):
    rng = np.random.default_rng(LABEL[name])
    out = []
    for _ in range(n):
        identity = sample_identity(rng)
        lm = canonical_landmarks(identity, sample_apex(LABEL[name], rng))
        out.append(dict(
            opening=lm[66, 1] - lm[62, 1],
            corner_lift=lm[[51, 57], 1].mean() - lm[[48, 54], 1].mean(),
            brow=-(lm[17:27, 1].mean() - lm[36:48, 1].mean())))
    return {k: np.mean([o[k] for o in out]) for k in out[0]}


def test_class_cues_are_large_and_distinct():
    stats = {name: _apex_stats(name) for name in SYNTHETIC_CLASSES}
    assert stats['Surprise']['opening'] > stats['Neutral']['opening'] + 0.1
    assert stats['Happy']['corner_lift'] > stats['Sad']['corner_lift'] + 0.1
    assert stats['Surprise']['brow'] > stats['Angry']['brow'] + 0.08
    assert stats['Fear']['opening'] > stats['Angry']['opening'] + 0.03


def test_descriptions_use_no_emotion_words(dataset):
    root, _ = dataset
    texts = [json.loads(x)['text']
             for x in open(osp.join(root, 'descriptions.jsonl'))]
    rng = np.random.default_rng(0)
    for label in range(len(SYNTHETIC_CLASSES)):
        for _ in range(15):
            au = sample_action_units(label, int(rng.integers(1, 30)), rng)
            texts.append(describe_action_units(au, rng))
            texts.append(describe_action_units(au))
            texts += [describe_frame(row, rng) for row in au[::4]]
    assert all(t and t[0].isupper() and t.endswith('.') for t in texts)
    bad = [t for t in texts if EMOTION_WORDS.search(t)]
    assert not bad, bad[:3]
    assert len(set(texts)) > len(texts) // 2, 'phrasing should vary'


def test_frame_captions_are_pure_functions_of_a_row(dataset):
    root, _ = dataset
    au = np.load(osp.join(root, 'face_maps', '00001.npz'))['action_units']
    first = [describe_frame(row) for row in au]
    assert first == [describe_frame(row.copy()) for row in au]
    assert describe_frame(np.zeros(len(ACTION_UNITS))) == describe_frame(
        np.zeros(len(ACTION_UNITS)))
    row = np.zeros(len(ACTION_UNITS), np.float32)
    row[ACTION_UNITS.index('mouth_open')] = 0.9
    assert 'mouth' in describe_frame(row) or 'jaw' in describe_frame(row)
    phrasings = {describe_frame(row, np.random.default_rng(seed))
                 for seed in range(20)}
    assert len(phrasings) > 1


@pytest.mark.parametrize('kwargs', [
    dict(num_clips=13, num_folds=2), dict(num_folds=1), dict(min_frames=0),
    dict(min_frames=9, max_frames=8), dict(image_size=8)])
def test_invalid_arguments_raise(tmp_path, kwargs):
    args = dict(num_clips=14, num_folds=2, progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError):
        generate_synthetic_dfew(str(tmp_path), **args)


def test_command_line_tool(tmp_path, monkeypatch, capsys):
    script = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'data',
                      'make_synthetic_dfer.py')
    monkeypatch.setattr(sys, 'argv', [
        script, '--out-dir', str(tmp_path), '--num-clips', '14',
        '--num-folds', '2', '--image-size', '32', '--min-frames', '1',
        '--max-frames', '2', '--no-progress'])
    with pytest.raises(SystemExit) as stop:  # sys.exit(run_main(main))
        runpy.run_path(script, run_name='__main__')
    assert stop.value.code == 0
    assert json.loads(capsys.readouterr().out)['num_clips'] == 14
    assert osp.isfile(osp.join(tmp_path, 'Clip', 'clip_224x224', '00014',
                               '00001.jpg'))
