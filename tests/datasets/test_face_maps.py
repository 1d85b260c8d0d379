"""Face-map files, their loading into datasets, and their rendering."""
import os
import os.path as osp
import threading

import numpy as np
import pytest
from mmengine.dataset import Compose

from fineclip.datasets import DFEWDataset
from fineclip.datasets.face_maps import (LANDMARK_FLIP_ORDER, FaceMapError,
                                         FaceMapLayoutWarning, FaceMaps,
                                         face_map_layout, fill_missing,
                                         load_face_map_frames,
                                         load_face_maps, parsing_key,
                                         save_face_maps, temporary_name,
                                         upgrade_face_map_file)
from fineclip.datasets.synthetic import generate_synthetic_dfew
from fineclip.datasets.transforms import with_face_maps
from fineclip.datasets.transforms.face_maps import (PARSING_PALETTE,
                                                    draw_landmarks)

SIZE = 64


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic_face_maps'))
    generate_synthetic_dfew(root, num_clips=14, seed=7, image_size=SIZE,
                            min_frames=10, max_frames=12, num_folds=2,
                            parsing_size=48, progress=False)
    return root


def _maps(t=5, s=8):
    rng = np.random.default_rng(0)
    return FaceMaps(rng.random((t, 68, 2), dtype=np.float32),
                    np.ones(t, bool),
                    rng.integers(0, 11, (t, s, s), dtype=np.uint8))


# --- the file -------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path):
    path = str(tmp_path / 'sub' / 'clip.npz')
    maps = _maps()
    save_face_maps(path, maps)
    back = load_face_maps(path, num_frames=5)
    assert np.array_equal(back.landmarks, maps.landmarks)
    assert np.array_equal(back.parsing, maps.parsing)
    assert not osp.exists(path + '.part.npz')


@pytest.mark.parametrize('change, message', [
    (dict(landmarks=np.zeros((5, 67, 2), np.float32)), 'landmarks must be'),
    (dict(landmarks=np.zeros((5, 68, 2))), 'landmarks must be'),
    (dict(parsing=np.full((5, 8, 8), 11, np.uint8)), 'label 11'),
    (dict(parsing=np.zeros((5, 8, 6), np.uint8)), 'parsing must be'),
    (dict(face_found=np.ones(5, np.int64)), 'face_found must be'),
])
def test_malformed_arrays_are_refused_naming_the_file(tmp_path, change,
                                                      message):
    arrays = dict(landmarks=_maps().landmarks, face_found=np.ones(5, bool),
                  parsing=_maps().parsing)
    arrays.update(change)
    path = str(tmp_path / 'bad.npz')
    np.savez(path, **arrays)
    with pytest.raises(FaceMapError, match=message) as err:
        load_face_maps(path)
    assert path in str(err.value)


def test_missing_key_wrong_length_and_garbage_name_the_file(tmp_path):
    path = str(tmp_path / 'nokey.npz')
    np.savez(path, landmarks=_maps().landmarks)
    with pytest.raises(FaceMapError, match=r"missing key.*face_found"):
        load_face_maps(path)
    good = str(tmp_path / 'good.npz')
    save_face_maps(good, _maps())
    with pytest.raises(FaceMapError, match='holds 5 frames but the clip '
                       'has 7'):
        load_face_maps(good, num_frames=7)
    garbage = tmp_path / 'garbage.npz'
    garbage.write_bytes(b'not a zip file')
    with pytest.raises(FaceMapError, match='garbage.npz'):
        load_face_maps(str(garbage))
    with pytest.raises(FileNotFoundError, match='extract_face_maps'):
        load_face_maps(str(tmp_path / 'absent.npz'))


def test_pickled_objects_are_refused(tmp_path):
    path = str(tmp_path / 'pickle.npz')
    np.savez(path, landmarks=np.array([object()]), face_found=np.ones(1),
             parsing=np.zeros(1))
    with pytest.raises(FaceMapError, match='not a readable'):
        load_face_maps(path)


def test_a_sample_decompresses_only_the_frames_it_needs(tmp_path,
                                                        monkeypatch):
    maps = _maps(t=12)
    maps.face_found[5] = maps.face_found[6] = False
    path = str(tmp_path / 'clip.npz')
    save_face_maps(path, maps)
    assert face_map_layout(path) == 'per_frame'
    read = []
    real_getitem = np.lib.npyio.NpzFile.__getitem__

    def spy(self, key):
        read.append(key)
        return real_getitem(self, key)
    monkeypatch.setattr(np.lib.npyio.NpzFile, '__getitem__', spy)
    inds = [0, 5, 5, 6, 9]
    part = load_face_map_frames(path, inds, 12)
    # frame 5 takes frame 4's maps and 6 frame 7's (nearest with a face)
    assert sorted(read) == sorted(['landmarks', 'face_found'] + [
        parsing_key(t) for t in (0, 4, 7, 9)])
    full = fill_missing(load_face_maps(path))
    assert np.array_equal(part.parsing, full.parsing[inds])
    assert np.array_equal(part.landmarks, full.landmarks[inds])
    assert part.face_found.tolist() == [True, False, False, False, True]


def test_earlier_layout_still_loads_and_upgrades_exactly(tmp_path):
    maps = _maps(t=6)
    maps.face_found[2] = False
    folder = tmp_path / 'old layout'
    folder.mkdir()
    path = str(folder / 'clip.npz')
    units = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.savez_compressed(path, landmarks=maps.landmarks,
                        face_found=maps.face_found, parsing=maps.parsing,
                        action_units=units)
    assert face_map_layout(path) == 'array'
    with pytest.warns(FaceMapLayoutWarning, match="extract_face_maps.py "
                      "'[^']*old layout' --upgrade") as warned:
        before = load_face_map_frames(path, [1, 2, 3], 6)
    assert path in str(warned[0].message)
    assert upgrade_face_map_file(path) is True
    assert face_map_layout(path) == 'per_frame'
    assert upgrade_face_map_file(path) is False  # current: left alone
    after = load_face_map_frames(path, [1, 2, 3], 6)
    for key in ('landmarks', 'face_found', 'parsing'):
        assert np.array_equal(getattr(before, key), getattr(after, key))
    assert np.array_equal(load_face_maps(path).parsing, maps.parsing)
    with np.load(path) as data:
        assert np.array_equal(data['action_units'], units)
    assert os.listdir(folder) == ['clip.npz']


def test_concurrent_writers_of_one_clip_never_collide(tmp_path):
    """Two writers (threads of one process, as in one process two ranks
    cannot be; processes differ by pid as well) save the same clip at the
    same time, again and again: each uses its own temporary file, every
    rename installs a complete file, and nothing is left behind."""
    path = str(tmp_path / '00001.npz')
    versions = [_maps(t=30, s=16), FaceMaps(*(np.copy(a) for a in (
        _maps(t=30, s=16).landmarks, np.ones(30, bool),
        np.full((30, 16, 16), 3, np.uint8))))]
    start, errors, names = threading.Barrier(2), [], set()

    def write(maps):
        names.add(temporary_name(path))
        start.wait()
        try:
            for _ in range(15):
                save_face_maps(path, maps)
                load_face_maps(path, 30)  # whatever is there is complete
        except Exception as err:  # noqa: BLE001 (reported below)
            errors.append(err)
    threads = [threading.Thread(target=write, args=(m, )) for m in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(names) == 2  # one temporary name per writer
    final = load_face_maps(path, 30)
    assert any(np.array_equal(final.parsing, v.parsing) for v in versions)
    assert os.listdir(tmp_path) == ['00001.npz']


def test_frames_without_a_face_take_the_nearest_found_frame():
    maps = _maps(t=7)
    maps.face_found[:] = [False, True, False, False, False, True, False]
    filled = fill_missing(maps)
    # nearest found frame of each frame; ties (frame 3) go to the earlier
    source = [1, 1, 1, 1, 5, 5, 5]
    assert np.array_equal(filled.landmarks, maps.landmarks[source])
    assert np.array_equal(filled.parsing, maps.parsing[source])
    assert np.array_equal(filled.face_found, maps.face_found)


def test_flip_order_is_a_mirror_pairing():
    order = LANDMARK_FLIP_ORDER
    assert np.array_equal(order[order], np.arange(68))
    for a, b in [(0, 16), (8, 8), (17, 26), (36, 45), (39, 42), (48, 54),
                 (30, 30), (51, 51), (62, 62), (66, 66), (60, 64)]:
        assert order[a] == b and order[b] == a


# --- datasets -------------------------------------------------------------
def test_dataset_attaches_face_map_files(synthetic_root):
    ds = DFEWDataset(synthetic_root, fold=1, split='test',
                     face_map_dir='face_maps', lazy_init=True)
    ds.full_init()
    info = ds.get_data_info(0)
    assert info['face_map_path'] == osp.join(
        synthetic_root, 'face_maps', info['clip_id'] + '.npz')
    plain = DFEWDataset(synthetic_root, fold=1, split='test')
    assert 'face_map_path' not in plain.get_data_info(0)


def test_missing_face_map_file_names_file_and_line(synthetic_root):
    with pytest.raises(FileNotFoundError) as err:
        DFEWDataset(synthetic_root, fold=1, split='test',
                    face_map_dir='no_such_dir')
    message = str(err.value)
    assert 'no_such_dir' in message and 'test(single-labeled)' in message
    assert 'extract_face_maps' in message
    assert osp.basename(message.split(':')[0]).endswith('.csv')


# --- rendering ------------------------------------------------------------
def _pipeline(flip: bool, rotate: float = 0.0, crop: bool = False):
    steps = [dict(type='SampleFrameIndices', num_frames=4, test_mode=True),
             dict(type='DecodeFrames')]
    if crop:
        steps.append(dict(type='GroupRandomResizedCrop', size=SIZE,
                          scale=(0.5, 0.8)))
    else:
        steps.append(dict(type='GroupResize', size=SIZE))
    steps.append(dict(type='GroupFlip', flip_ratio=1.0 if flip else 0.0))
    if rotate:
        steps.append(dict(type='GroupRotate', max_degrees=rotate))
    steps.append(dict(type='PackDFERInputs'))
    return Compose(with_face_maps(steps))


def _results(root, flip, **kwargs):
    ds = DFEWDataset(root, fold=1, split='test', face_map_dir='face_maps')
    info = ds.get_data_info(0)
    pipe = _pipeline(flip, **kwargs)
    # run the transforms but keep the intermediate fields (skip packing)
    results = dict(info)
    for transform in pipe.transforms[:-1]:
        results = transform(results)
    return results


def _labels(colour_images):
    """Parsing labels back from their palette colours."""
    imgs = np.stack(colour_images).astype(np.int64)
    codes = (imgs[..., 0] << 16) | (imgs[..., 1] << 8) | imgs[..., 2]
    palette = PARSING_PALETTE.astype(np.int64)
    lut = {(r << 16) | (g << 8) | b: i for i, (r, g, b) in enumerate(palette)}
    return np.vectorize(lut.__getitem__)(codes)


def test_flip_moves_maps_and_swaps_left_and_right(synthetic_root):
    plain = _results(synthetic_root, flip=False)
    flipped = _results(synthetic_root, flip=True)
    assert np.array_equal(np.stack(flipped['imgs']),
                          np.stack(plain['imgs'])[:, :, ::-1])
    # landmark i of the flipped face is the mirror of its partner
    mirrored = plain['face_landmarks_out'][:, LANDMARK_FLIP_ORDER].copy()
    mirrored[..., 0] = SIZE - 1 - mirrored[..., 0]
    assert np.allclose(flipped['face_landmarks_out'], mirrored, atol=1e-4)
    # the image-left eye after the flip is the image-right one before it
    left_eye = flipped['face_landmarks_out'][:, 36:42].mean(1)
    right_eye_before = plain['face_landmarks_out'][:, 42:48].mean(1)
    assert np.allclose(left_eye[:, 0], SIZE - 1 - right_eye_before[:, 0],
                       atol=1e-4)
    # landmark images: mirror images of each other
    a = np.stack(flipped['landmark_imgs']).astype(int)
    b = np.stack(plain['landmark_imgs'])[:, :, ::-1].astype(int)
    assert np.abs(a - b).mean() < 1.0 and np.abs(a - b).max() <= 40
    # parsing: mirrored, with left/right brow and eye labels swapped
    swap = np.array([0, 1, 3, 2, 5, 4, 6, 7, 8, 9, 10])
    assert np.array_equal(_labels(flipped['parsing_imgs']),
                          swap[_labels(plain['parsing_imgs'])[:, :, ::-1]])


@pytest.mark.parametrize('kwargs', [dict(crop=True, rotate=10.0),
                                    dict(crop=False, rotate=0.0)])
def test_maps_stay_on_the_face_through_crop_and_rotation(synthetic_root,
                                                         kwargs):
    np.random.seed(3)
    res = _results(synthetic_root, flip=True, **kwargs)
    labels = _labels(res['parsing_imgs'])
    points = res['face_landmarks_out']
    hits = total = 0
    for t in range(len(points)):
        # the eye centres fall on eye labels, the image-left one on label 4
        for members, label in ((range(36, 42), 4), (range(42, 48), 5)):
            x, y = np.round(points[t, list(members)].mean(0)).astype(int)
            if 0 <= x < SIZE and 0 <= y < SIZE:
                total += 1
                hits += labels[t, y, x] == label
    assert total >= 4 and hits >= total - 1
    # landmark dots peak where the points are
    img = res['landmark_imgs'][0].max(-1)
    x, y = np.round(points[0, 30]).astype(int)  # nose tip
    if 0 <= x < SIZE and 0 <= y < SIZE:
        assert img[y, x] > 100


def test_packed_inputs_hold_the_three_image_modalities(synthetic_root):
    ds = DFEWDataset(synthetic_root, fold=1, split='test',
                     face_map_dir='face_maps',
                     pipeline=_pipeline(False).transforms)
    inputs = ds[0]['inputs']
    assert set(inputs) == {'frames', 'parsing', 'landmarks'}
    assert all(v.shape == (4, 3, SIZE, SIZE) for v in inputs.values())


def test_pipeline_order_and_inputs_are_checked(synthetic_root):
    with pytest.raises(ValueError, match='DecodeFrames'):
        with_face_maps([dict(type='PackDFERInputs')])
    ds = DFEWDataset(synthetic_root, fold=1, split='test')
    pipe = _pipeline(False)
    with pytest.raises(KeyError, match='face_map_dir'):
        pipe(dict(ds.get_data_info(0)))
    info = DFEWDataset(synthetic_root, fold=1, split='test',
                       face_map_dir='face_maps').get_data_info(0)
    info = dict(info, total_frames=info['total_frames'] + 1,
                frame_names=info['frame_names'] + ['x.jpg'])
    with pytest.raises(ValueError, match='holds .* frames but the clip'):
        pipe(info)


def test_landmark_dots_are_gaussians_at_the_points():
    points = np.full((68, 2), -100.0, np.float32)
    points[30] = (20.0, 12.0)
    img = draw_landmarks(points, (32, 40), sigma=2.0)
    assert img.shape == (32, 40, 3)
    y, x = np.unravel_index(img[..., 1].argmax(), img.shape[:2])
    assert (x, y) == (20, 12)
    # a Gaussian of spread 2 px peaking at the colour (green 255)
    profile = img[12, 20:25, 1].astype(float)
    expected = 255 * np.exp(-np.arange(5)**2 / (2 * 2.0**2))
    assert np.abs(profile - expected).max() <= 3
    assert img[..., 0].max() == 0  # the nose is drawn in pure green
