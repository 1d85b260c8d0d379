"""Bad face-map files: wrong shapes, wrong dtypes, missing keys and pickled
objects, in both layouts, through every reader (the whole-clip loader the
data tools use and the sampled-frames loader of ``LoadFaceMaps``).

Every case must raise :class:`FaceMapError` naming the file, leave the
file as it was, and never unpickle anything.
"""
import os.path as osp

import numpy as np
import pytest

from fineclip.datasets.face_maps import (FaceMapError, load_face_map_frames,
                                         load_face_maps, parsing_key)
from fineclip.datasets.transforms import LoadFaceMaps

T, S = 4, 6


class _Payload:
    """Unpickling this creates the file ``marker`` (``open(marker, 'w')``),
    so a loader that unpickles it leaves evidence behind."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def _arrays(layout: str) -> dict:
    rng = np.random.default_rng(0)
    arrays = dict(landmarks=rng.random((T, 68, 2), dtype=np.float32),
                  face_found=np.ones(T, bool))
    parsing = rng.integers(0, 11, (T, S, S), dtype=np.uint8)
    if layout == 'array':
        arrays['parsing'] = parsing
    else:
        arrays.update((parsing_key(t), p) for t, p in enumerate(parsing))
    return arrays


def _write(path: str, arrays: dict) -> str:
    np.savez(path, **arrays)  # np.savez pickles object arrays it is given
    return path


def _readers(path: str):
    """Each way a face-map file is read, as a call."""
    results = dict(face_map_path=path, frame_inds=np.arange(T),
                   total_frames=T, img_shape=(16, 16), clip_id='x')
    return [lambda: load_face_maps(path),
            lambda: load_face_maps(path, T),
            lambda: load_face_map_frames(path, [0, 2], T),
            lambda: LoadFaceMaps()(dict(results))]


# (case, layout, change to the arrays, message)
CASES = [
    ('landmarks shape', 'per_frame',
     dict(landmarks=np.zeros((T, 67, 2), np.float32)), 'landmarks must be'),
    ('landmarks dtype', 'array',
     dict(landmarks=np.zeros((T, 68, 2))), r'landmarks must be float32'),
    ('face_found dtype', 'per_frame',
     dict(face_found=np.ones(T, np.int64)), 'face_found must be a 1-D bool'),
    ('face_found shape', 'array',
     dict(face_found=np.ones((T, 1), bool)), 'face_found must be a 1-D bool'),
    ('parsing frame shape', 'per_frame',
     {parsing_key(0): np.zeros((S, S + 1), np.uint8),
      parsing_key(2): np.zeros((S, S + 1), np.uint8)},
     r'parsing_00000 uint8 \(6, 7\)'),
    ('parsing frame dtype', 'per_frame',
     {parsing_key(0): np.zeros((S, S), np.int64),
      parsing_key(2): np.zeros((S, S), np.int64)}, r'parsing'),
    ('parsing frames of two sizes', 'per_frame',
     {parsing_key(2): np.zeros((S + 2, S + 2), np.uint8)},
     'parsing maps must be uint8 .S, S., all of one size'),
    ('parsing array shape', 'array',
     dict(parsing=np.zeros((T, S), np.uint8)), r'parsing must be uint8'),
    ('parsing array frame count', 'array',
     dict(parsing=np.zeros((T + 1, S, S), np.uint8)), r'parsing must be'),
    ('parsing label range', 'per_frame',
     {parsing_key(0): np.full((S, S), 11, np.uint8),
      parsing_key(2): np.full((S, S), 11, np.uint8)}, 'label 11'),
    ('landmarks NaN', 'per_frame',
     dict(landmarks=np.full((T, 68, 2), np.nan, np.float32)), 'NaN'),
]


@pytest.mark.parametrize('case, layout, change, message', CASES,
                         ids=[c[0] for c in CASES])
def test_wrong_shapes_and_dtypes_name_the_file(tmp_path, nothing_lost, case,
                                               layout, change, message):
    path = _write(str(tmp_path / 'clip 1.npz'), {**_arrays(layout),
                                                 **change})
    nothing_lost(str(tmp_path))
    for read in _readers(path):
        with pytest.raises(FaceMapError, match=message) as err:
            read()
        assert path in str(err.value), case


@pytest.mark.parametrize('layout, drop, message', [
    ('per_frame', ['face_found'], r"missing key\(s\) \['face_found'\]"),
    ('array', ['landmarks'], r"missing key\(s\) \['landmarks'\]"),
    ('array', ['parsing'], r"missing key\(s\) \['parsing'\]"),
    ('per_frame', [parsing_key(t) for t in range(T)],
     r"missing key\(s\) \['parsing'\]"),
    ('per_frame', [parsing_key(3)], r"missing key\(s\) \['parsing_00003'\]"),
])
def test_missing_keys_name_the_file_and_the_key(tmp_path, nothing_lost,
                                                layout, drop, message):
    arrays = {k: v for k, v in _arrays(layout).items() if k not in drop}
    path = _write(str(tmp_path / 'missing.npz'), arrays)
    nothing_lost(str(tmp_path))
    for read in _readers(path):
        with pytest.raises(FaceMapError, match=message) as err:
            read()
        assert path in str(err.value)


@pytest.mark.parametrize('layout, key', [
    ('per_frame', 'landmarks'), ('array', 'face_found'),
    ('per_frame', parsing_key(0)), ('array', 'parsing'),
    ('per_frame', 'action_units'),  # an extra key is never read at all
])
def test_pickled_object_arrays_are_refused_and_never_run(tmp_path, key,
                                                         layout):
    def payload_file(name):
        marker = str(tmp_path / f'{name}.ran')
        arrays = _arrays(layout)
        arrays[key] = np.array([_Payload(marker)], dtype=object)
        return _write(str(tmp_path / f'{name}.npz'), arrays), marker

    # The payload is live: a loader that unpickles runs it.
    control, control_marker = payload_file('control')
    with np.load(control, allow_pickle=True) as data:
        data[key]
    assert osp.exists(control_marker)

    path, marker = payload_file('attack')
    readers = _readers(path)
    for read in readers:
        if key == 'action_units':
            read()  # read without touching the extra key
            continue
        with pytest.raises(FaceMapError, match='not a readable face-map '
                           'file') as err:
            read()
        assert path in str(err.value)
        assert 'allow_pickle' in str(err.value)
    assert not osp.exists(marker), 'the pickled payload ran'


def test_a_pickle_or_npy_instead_of_an_npz_names_the_file(tmp_path):
    import pickle
    marker = str(tmp_path / 'ran')
    raw = tmp_path / 'raw.npz'
    raw.write_bytes(pickle.dumps(_Payload(marker)))
    npy = tmp_path / 'array.npz'
    with open(npy, 'wb') as f:
        np.save(f, np.zeros(3))
    for path, message in ((str(raw), 'not a readable'),
                          (str(npy), r'\.npy array, not an \.npz')):
        for read in _readers(path):
            with pytest.raises(FaceMapError, match=message) as err:
                read()
            assert path in str(err.value)
    assert not osp.exists(marker)


def test_frame_count_and_index_problems_name_the_file(tmp_path):
    path = _write(str(tmp_path / 'short.npz'), _arrays('per_frame'))
    with pytest.raises(FaceMapError, match=f'holds {T} frames but the clip '
                       f'has {T + 2}') as err:
        load_face_map_frames(path, [0], T + 2)
    assert path in str(err.value)
    with pytest.raises(FaceMapError, match=f'frame {T} was asked') as err:
        load_face_map_frames(path, [0, T])
    assert path in str(err.value)
