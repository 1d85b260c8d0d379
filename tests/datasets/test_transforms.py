import numpy as np
import pytest

from fineclip.datasets.transforms import (GroupFlip, GroupRandomResizedCrop,
                                          SampleFrameIndices, segment_indices)


def test_test_sampling_takes_segment_middles():
    idx = segment_indices(32, 4, random=False)
    assert idx.tolist() == [3, 11, 19, 27]


def test_train_sampling_stays_inside_each_segment():
    np.random.seed(0)
    for _ in range(50):
        idx = segment_indices(40, 8, random=True)
        assert all(5 * k <= i < 5 * (k + 1) for k, i in enumerate(idx))


def test_short_clips_are_edge_padded():
    assert segment_indices(5, 8, random=False).tolist() == [
        0, 1, 2, 3, 4, 4, 4, 4]
    assert segment_indices(5, 8, random=True).tolist() == [
        0, 1, 2, 3, 4, 4, 4, 4]
    with pytest.raises(ValueError):
        segment_indices(0, 8, random=False)


def test_sample_frame_indices_transform():
    out = SampleFrameIndices(num_frames=4, test_mode=True)(
        dict(total_frames=8))
    assert out['frame_inds'].tolist() == [0, 2, 4, 6]


# --- the official DFER-CLIP rule (rule='dfer_clip') --------------------------
def _official(total, num_frames, test_mode):
    return SampleFrameIndices(num_frames, test_mode=test_mode,
                              rule='dfer_clip')(
                                  dict(total_frames=total))['frame_inds']


def test_official_test_sampling_rounds_tick_down():
    # tick = 17 / 16: frame int(tick / 2 + tick * i) skips frame 8, where
    # FineCLIP's segment middles skip frame 16
    assert _official(17, 16, True).tolist() == [*range(8), *range(9, 17)]
    assert segment_indices(17, 16, random=False).tolist() == list(range(16))
    assert _official(40, 8, True).tolist() == [2, 7, 12, 17, 22, 27, 32, 37]
    assert _official(30, 4, True).tolist() == [3, 11, 18, 26]  # tick 7.5
    assert _official(8, 8, True).tolist() == list(range(8))
    assert _official(5, 8, True).tolist() == [0, 1, 2, 3, 4, 4, 4, 4]


def test_official_train_sampling_is_one_draw_per_clip():
    # segments of n // T frames from frame 0: the last n % T frames are
    # never drawn; one randint(n // T, size=T) call, so a NumPy seed gives
    # the official loader's indices
    np.random.seed(3)
    expected = np.arange(8) * 4 + np.random.randint(4, size=8)
    np.random.seed(3)
    idx = _official(35, 8, False)
    assert idx.tolist() == expected.tolist()
    np.random.seed(0)
    for _ in range(50):
        idx = _official(35, 8, False)
        assert all(4 * k <= i < 4 * (k + 1) for k, i in enumerate(idx))
    assert _official(8, 8, False).tolist() == list(range(8))
    assert _official(3, 4, False).tolist() == [0, 1, 2, 2]


def test_unknown_sampling_rule_is_refused():
    with pytest.raises(ValueError, match="rule 'tsn'"):
        SampleFrameIndices(16, rule='tsn')


def _clip(t=3):
    frames = [np.full((20, 30, 3), i, np.uint8) for i in range(t)]
    frames[0][:, :15] = 255  # left half of frame 0 white
    return dict(imgs=frames, img_shape=(20, 30))


def test_group_crop_and_flip_treat_all_frames_alike():
    np.random.seed(1)
    out = GroupRandomResizedCrop(size=(10, 12))(_clip())
    assert all(img.shape == (10, 12, 3) for img in out['imgs'])
    assert 'crop_box' in out
    flipped = GroupFlip(flip_ratio=1.0)(_clip())
    assert flipped['flip'] is True
    assert (flipped['imgs'][0][:, -1] == 255).all()
    assert (flipped['imgs'][1] == 1).all()
    assert GroupFlip(flip_ratio=0.0)(_clip())['flip'] is False


def test_group_rotate_turns_every_frame_by_one_angle():
    from fineclip.datasets.transforms import GroupRotate
    np.random.seed(2)
    clip = dict(imgs=[np.zeros((21, 21, 3), np.uint8) for _ in range(2)],
                img_shape=(21, 21))
    for img in clip['imgs']:
        img[10, :] = 255  # a horizontal line through the centre
    out = GroupRotate(max_degrees=30)(clip)
    assert -30 <= out['rotation'] <= 30 and abs(out['rotation']) > 1
    assert np.array_equal(out['imgs'][0], out['imgs'][1])
    assert not np.array_equal(out['imgs'][0][10], np.full((21, 3), 255))
    assert GroupRotate(0)(dict(imgs=[np.ones((5, 5, 3), np.uint8)],
                               img_shape=(5, 5)))['rotation'] == 0


def _folder_clip(tmp_path, sizes, broken=()):
    import cv2
    names = []
    for i, size in enumerate(sizes):
        name = f'{i}.png'
        if i in broken:
            (tmp_path / name).write_bytes(b'not an image')
        else:
            cv2.imwrite(str(tmp_path / name), np.zeros((size, size, 3),
                                                       np.uint8))
        names.append(name)
    return dict(frame_dir=str(tmp_path), frame_names=names, clip_id='00042',
                frame_inds=np.arange(len(sizes)))


def test_decode_errors_name_the_file(tmp_path):
    from fineclip.datasets.transforms import DecodeFrames
    with pytest.raises(OSError, match=r"Cannot decode frame '.*1.png' of "
                       r'clip 00042'):
        DecodeFrames()(_folder_clip(tmp_path, [8, 8], broken=[1]))
    with pytest.raises(ValueError, match=r"Clip 00042 in '.*' mixes frame "
                       r'sizes'):
        DecodeFrames()(_folder_clip(tmp_path, [8, 12]))
