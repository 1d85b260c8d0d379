"""tools/data/extract_face_maps.py and the extraction API behind it."""
import os
import os.path as osp
import sys
import textwrap

import cv2
import numpy as np
import pytest

from fineclip.apis.face_map_extraction import (ClipSource, analyze_clip,
                                               clips_from_folder,
                                               compare_with_ground_truth,
                                               extract_face_maps)
from fineclip.datasets.face_maps import load_face_maps
from fineclip.datasets.synthetic import generate_synthetic_dfew
from tests.helpers import run_tool_main

# A stand-in analyser for the tests: it finds no face in every third frame
# and otherwise puts landmark 0 at the frame's mean brightness (so each
# frame's output is traceable), and records the batch sizes it was given.
FAKE_ANALYZER = '''
import numpy as np
from fineclip.preprocessing import BaseFaceAnalyzer
from fineclip.registry import FACE_ANALYZERS


@FACE_ANALYZERS.register_module(force=True)
class FakeFaceAnalyzer(BaseFaceAnalyzer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches, self.seen = [], 0

    def analyze(self, frames):
        n = len(frames)
        self.batches.append(n)
        found = (np.arange(self.seen, self.seen + n) % 3) != 1
        self.seen += n
        landmarks = np.full((n, 68, 2), 0.5, np.float32)
        landmarks[:, 0, 0] = frames.mean(axis=(1, 2, 3)) / 255
        parsing = np.ones((n, self.parsing_size, self.parsing_size),
                          np.uint8)
        return dict(landmarks=landmarks, face_found=found, parsing=parsing)
'''


@pytest.fixture(scope='module')
def fake_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp('fake_analyzer')
    (folder / 'fake_face_analyzer.py').write_text(FAKE_ANALYZER)
    sys.path.insert(0, str(folder))
    import fake_face_analyzer
    yield fake_face_analyzer, str(folder)
    sys.path.remove(str(folder))


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('extract_synthetic'))
    generate_synthetic_dfew(root, num_clips=14, seed=4, image_size=32,
                            min_frames=5, max_frames=7, num_folds=2,
                            progress=False)
    return root


def test_clips_are_analysed_in_batches_and_gaps_filled(fake_module):
    module, _ = fake_module
    analyzer = module.FakeFaceAnalyzer(parsing_size=8, batch_size=4)
    frames = np.stack([np.full((10, 12, 3), 10 * i, np.uint8)
                       for i in range(7)])
    maps = analyze_clip(analyzer, frames)
    assert analyzer.batches == [4, 3]
    assert maps.face_found.tolist() == [True, False, True, True, False,
                                        True, True]
    # frame 1 took frame 0's maps (tie: earlier), frame 4 took frame 3's
    expected = np.array([0, 0, 2, 3, 3, 5, 6]) * 10 / 255
    assert np.allclose(maps.landmarks[:, 0, 0], expected)
    assert maps.parsing.shape == (7, 8, 8)


def test_extraction_is_resumable_and_counts_faceless_frames(
        fake_module, synthetic_root, tmp_path):
    module, _ = fake_module
    clips = clips_from_folder(osp.join(synthetic_root, 'Clip',
                                       'clip_224x224'))
    assert len(clips) == 14 and clips[0].clip_id == '00001'
    out = str(tmp_path / 'maps')
    analyzer = module.FakeFaceAnalyzer(parsing_size=8)
    first = extract_face_maps(analyzer, clips, out, progress=False)
    assert first['extracted'] == 14 and first['skipped'] == 0
    frames = sum(len(c.frame_names) for c in clips)
    assert first['frames'] == frames
    assert 0 < first['frames_without_face'] < frames
    maps = load_face_maps(osp.join(out, '00003.npz'),
                          len(clips[2].frame_names))
    assert maps.parsing.shape[1:] == (8, 8)

    os.remove(osp.join(out, '00005.npz'))
    again = extract_face_maps(analyzer, clips, out, progress=False)
    assert again['extracted'] == 1 and again['skipped'] == 13
    assert again['frames'] == frames  # counted over every clip's file


def test_ground_truth_compared_with_itself_is_perfect(synthetic_root):
    truth = osp.join(synthetic_root, 'face_maps')
    ids = [f'{i:05d}' for i in range(1, 15)]
    report = compare_with_ground_truth(truth, truth, ids)
    assert report['face_found_share'] == 1.0
    assert report['nme_mean'] == 0.0
    assert report['parsing_pixel_accuracy'] == 1.0


def test_landmark_error_is_normalised_by_the_eye_corners(tmp_path,
                                                         synthetic_root):
    truth = osp.join(synthetic_root, 'face_maps')
    gt = load_face_maps(osp.join(truth, '00001.npz'))
    from fineclip.datasets.face_maps import save_face_maps
    shifted = type(gt)(gt.landmarks.copy(), gt.face_found.copy(),
                       gt.parsing.copy())
    ocular = np.linalg.norm(gt.landmarks[:, 36] - gt.landmarks[:, 45], axis=1)
    shifted.landmarks[..., 0] += 0.1 * ocular[:, None]
    save_face_maps(str(tmp_path / '00001.npz'), shifted)
    report = compare_with_ground_truth(str(tmp_path), truth, ['00001'])
    assert report['nme_mean'] == pytest.approx(0.1, rel=1e-4)


def test_folder_sources_take_frame_folders_and_videos(tmp_path):
    (tmp_path / 'a' / 'clip1').mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(tmp_path / 'a' / 'clip1' / f'{i}.png'),
                    np.zeros((8, 8, 3), np.uint8))
    writer = cv2.VideoWriter(str(tmp_path / 'v.avi'),
                             cv2.VideoWriter_fourcc(*'MJPG'), 5, (16, 16))
    for _ in range(4):
        writer.write(np.zeros((16, 16, 3), np.uint8))
    writer.release()
    clips = {c.clip_id: c for c in clips_from_folder(str(tmp_path))}
    assert set(clips) == {osp.join('a', 'clip1'), 'v'}
    assert clips['v'].read_frames().shape == (4, 16, 16, 3)
    assert clips[osp.join('a', 'clip1')].read_frames().shape == (3, 8, 8, 3)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        clips_from_folder(str(tmp_path / 'absent'))
    with pytest.raises(OSError, match=r'nope\.png'):  # names the file
        ClipSource('x', str(tmp_path), ['nope.png']).read_frames()


def test_command_line_on_a_config(fake_module, synthetic_root, tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text(textwrap.dedent(f'''
        custom_imports = dict(imports=['fake_face_analyzer'])
        train_dataloader = dict(dataset=dict(
            type='DFEWDataset', data_root={synthetic_root!r}, fold=1,
            split='train', face_map_dir='extracted'))
        test_dataloader = dict(dataset=dict(
            type='DFEWDataset', data_root={synthetic_root!r}, fold=1,
            split='test', face_map_dir='extracted'))
    '''))
    # in this process: fake_module put the analyser's folder on sys.path
    out = run_tool_main('tools/data/extract_face_maps.py', [
        str(config), '--analyzer', 'FakeFaceAnalyzer', '--analyzer-cfg',
        'parsing_size=16', 'batch_size=2', '--ground-truth',
        osp.join(synthetic_root, 'face_maps')])
    assert '14 clips extracted, 0 done before' in out
    assert 'frames with a face:' in out and '"nme_mean"' in out
    written = sorted(os.listdir(osp.join(synthetic_root, 'extracted')))
    assert written[0] == '00001.npz' and len(written) == 15  # + summary


def test_config_clips_need_neither_maps_nor_descriptions(synthetic_root):
    """The data tools run before the files they make exist: a FineCLIPER*+
    config whose face maps and descriptions are still missing lists its
    clips all the same, with their class names."""
    from mmengine.config import Config

    from fineclip.apis.description_generation import \
        description_clips_from_config
    from fineclip.apis.face_map_extraction import clips_from_config
    dataset = dict(type='DFEWDataset', data_root=synthetic_root, fold=1,
                   face_map_dir='not_yet', description_file='not_yet.jsonl')
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(dataset, split='train')),
        test_dataloader=dict(dataset=dict(dataset, split='test'))))
    clips = clips_from_config(cfg)
    assert sorted(c.clip_id for c in clips) == [f'{i:05d}'
                                                 for i in range(1, 15)]
    described = description_clips_from_config(cfg)
    assert [c.clip_id for c in described] == [c.clip_id for c in clips]
    assert all(c.label in ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise',
                           'Disgust', 'Fear') for c in described)
    assert described[0].face_map_path == osp.join(
        synthetic_root, 'not_yet', described[0].clip_id + '.npz')


def test_upgrade_rewrites_the_earlier_layout_in_place(synthetic_root,
                                                      tmp_path):
    from fineclip.datasets.face_maps import face_map_layout
    # the synthetic maps written again in the earlier layout (one parsing
    # array), as files extracted before the per-frame members were
    source = osp.join(synthetic_root, 'face_maps')
    folder = str(tmp_path / 'maps')
    os.makedirs(folder)
    names = sorted(os.listdir(source))
    before = {n: load_face_maps(osp.join(source, n)) for n in names}
    units = {}
    for n in names:
        with np.load(osp.join(source, n)) as f:
            units[n] = f['action_units']
        maps = before[n]
        np.savez_compressed(osp.join(folder, n), landmarks=maps.landmarks,
                            face_found=maps.face_found, parsing=maps.parsing,
                            action_units=units[n])
    assert {face_map_layout(osp.join(folder, n)) for n in names} == {'array'}
    out = run_tool_main('tools/data/extract_face_maps.py',
                        [folder, '--upgrade', '--workers', '0'])
    assert f'{len(names)} of {len(names)} face-map files rewritten' in out
    assert sorted(os.listdir(folder)) == names  # no temporary files left
    for name in names:
        path = osp.join(folder, name)
        assert face_map_layout(path) == 'per_frame'
        after = load_face_maps(path)
        for key in ('landmarks', 'face_found', 'parsing'):
            assert np.array_equal(getattr(after, key),
                                  getattr(before[name], key))
        with np.load(path) as f:  # extra arrays kept
            assert np.array_equal(f['action_units'], units[name])
    again = run_tool_main('tools/data/extract_face_maps.py',
                          [folder, '--upgrade'])
    assert f'0 of {len(names)} face-map files rewritten' in again
    with pytest.raises(AssertionError, match='--analyzer is required'):
        run_tool_main('tools/data/extract_face_maps.py', [folder])
