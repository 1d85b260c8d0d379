"""tools/infer.py on videos made here from a real face photo (matplotlib's
Grace Hopper) and on videos without a face, with tiny models."""
import csv
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from matplotlib import cbook

from fineclip.apis.cli import load_config
from fineclip.apis.inference import (FrameSource, InferenceError,
                                     detect_track, model_needs,
                                     window_ranges)
from fineclip.models.encoders.long_clip_text_encoder import stretched_length
from fineclip.registry import FACE_DETECTORS, MODELS
from tests.conftest import CLASSES, TINY_ARCH

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/synthetic/fineclip_synthetic.py')
STAR_DAGGER = osp.join(ROOT,
                       'configs/synthetic/fineclip_star_dagger_synthetic.py')
TINY = ['model.clip.arch=fineclip-tiny', 'model.clip.pretrained=None',
        'model.clip.quick_gelu=False']
# test pipeline of fineclip_synthetic.py: sample, decode, resize, pack
OPTIONS = TINY + ['model.branches.video.encoder.num_frames=4',
                  'test_dataloader.dataset.pipeline.0.num_frames=4',
                  'test_dataloader.dataset.pipeline.2.size=32']

FPS, NUM_FRAMES, SIZE = 20, 20, (320, 240)


def _options_dict(options):
    out = {}
    for option in options:
        key, value = option.split('=', 1)
        out[key] = None if value == 'None' else (
            int(value) if value.isdigit() else
            False if value == 'False' else value)
    return out


def _photo_bgr():
    path = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    return cv2.imread(str(path))


def _placement(t):
    """Where the photo is in frame t: ``x, y, width, height`` (it moves
    right and down and grows by a quarter over the clip)."""
    u = t / (NUM_FRAMES - 1)
    width = int(round(110 + 30 * u))
    return (int(round(20 + 150 * u)), int(round(10 + 20 * u)), width,
            int(round(width * 600 / 512)))


def _write(path, frames):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS,
                             SIZE)
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def _face_frames():
    photo = _photo_bgr()
    for t in range(NUM_FRAMES):
        frame = np.full((SIZE[1], SIZE[0], 3), (90, 140, 60), np.uint8)
        x, y, w, h = _placement(t)
        frame[y:y + h, x:x + w] = cv2.resize(photo, (w, h),
                                             interpolation=cv2.INTER_AREA)
        yield frame


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('infer_videos')
    folder = root / 'clips'
    folder.mkdir()
    _write(str(folder / 'face.mp4'), _face_frames())
    _write(str(root / 'flat.mp4'),
           [np.full((SIZE[1], SIZE[0], 3), 120, np.uint8)] * 12)
    # a frame-folder clip: every other frame of the face video, as PNGs
    frames_dir = folder / 'frames_clip'
    frames_dir.mkdir()
    for t, frame in enumerate(_face_frames()):
        if t % 2 == 0:
            cv2.imwrite(str(frames_dir / f'{t}.png'), frame)
    noise = np.random.default_rng(0).integers(0, 256, (12, SIZE[1],
                                                       SIZE[0], 3))
    _write(str(folder / 'noise.mp4'), noise.astype(np.uint8))
    (root / 'broken.mp4').write_bytes(b'not a video')
    return root


def _save_checkpoint(config, options, path):
    cfg = load_config(config, _options_dict(options))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': list(CLASSES)}}},
               path)
    return path


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('infer_ckpt') / 'tiny.pth')
    return _save_checkpoint(CONFIG, OPTIONS, path)


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'infer_tool', osp.join(ROOT, 'tools/infer.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool():
    return _load_tool()


def run_infer(tool, capsys, *args, config=CONFIG, options=OPTIONS):
    """Runs tools/infer.py's main in this process: (exit code, stdout,
    stderr)."""
    code = tool.main([config, *args, '--cfg-options', *options])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_track_follows_the_moving_face(videos):
    detector = FACE_DETECTORS.build(dict(type='MTCNNFaceDetector'))
    # where MTCNN puts the face in the photo itself
    found = detector.detect([cv2.cvtColor(_photo_bgr(),
                                          cv2.COLOR_BGR2RGB)])[0]
    face = found[np.argmax(found[:, 4]), :4] / np.array([512, 600] * 2)
    source = FrameSource(str(videos / 'clips' / 'face.mp4'))
    assert source.fps == pytest.approx(FPS)
    track = detect_track(source, detector)
    assert track.num_frames == NUM_FRAMES
    assert track.detected.all()  # a face in every frame
    for t, box in enumerate(track.boxes):
        x, y, w, h = _placement(t)
        expected = np.array([x, y, x, y]) + face * np.array([w, h] * 2)
        size = expected[2] - expected[0]
        centre = (box[:2] + box[2:]) / 2
        want = (expected[:2] + expected[2:]) / 2
        assert np.abs(centre - want).max() < 0.1 * size, t
        assert 0.85 < (box[2] - box[0]) / size < 1.15, t


def test_video_probabilities_json_and_figure(videos, checkpoint, tool,
                                             capsys, tmp_path):
    out_file, show = str(tmp_path / 'r.json'), str(tmp_path / 'show')
    code, out, err = run_infer(tool, capsys, checkpoint,
                               str(videos / 'clips' / 'face.mp4'), '--out',
                               out_file, '--show', show)
    assert code == 0
    # the embedded default's model says it is a toy
    assert 'model of the embedded default' in err and 'toy' in err
    assert f'face in {NUM_FRAMES}/{NUM_FRAMES} checked frames' in out
    printed = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in CLASSES:
            printed[parts[0]] = float(parts[1])
    assert set(printed) == set(CLASSES)
    assert sum(printed.values()) == pytest.approx(1, abs=1e-3)
    with open(out_file) as f:
        written = json.load(f)
    assert written['toy_model'] is True
    result = written['results'][0]
    assert result['status'] == 'ok'
    assert result['frames_with_face'] == NUM_FRAMES
    probs = result['probabilities']
    assert list(probs.values()) == sorted(probs.values(), reverse=True)
    assert sum(probs.values()) == pytest.approx(1, abs=1e-9)
    assert result['top_class'] == next(iter(probs))
    assert f"top: {result['top_class']}" in out
    figure = osp.join(show, 'face.png')
    assert osp.getsize(figure) > 5000
    assert cv2.imread(figure) is not None


@pytest.mark.slow(6)
def test_no_face_is_a_message_not_a_crash(videos, checkpoint):
    # a real process: the exit status and no traceback
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONUNBUFFERED='1')
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/infer.py'), CONFIG,
         checkpoint, str(videos / 'flat.mp4'), '--cfg-options', *OPTIONS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'No face found in 12 frames' in proc.stdout
    assert 'Traceback' not in proc.stderr


def test_folder_to_csv(videos, checkpoint, tool, capsys, tmp_path):
    out_file = str(tmp_path / 'r.csv')
    code, out, err = run_infer(tool, capsys, checkpoint,
                               str(videos / 'clips'),
                               str(videos / 'broken.mp4'),
                               str(videos / 'missing.mp4'), '--out',
                               out_file)
    assert code == 0  # some inputs got a prediction
    assert "No such video or folder: '" in err and 'missing.mp4' in err
    assert "Cannot read video '" in out and 'broken.mp4' in out
    with open(out_file) as f:
        rows = {osp.basename(r['video']): r for r in csv.DictReader(f)}
    assert set(rows) == {'face.mp4', 'frames_clip', 'noise.mp4',
                         'broken.mp4'}
    assert rows['noise.mp4']['status'] == 'no_face'
    assert rows['broken.mp4']['status'] == 'error'
    for name in ('face.mp4', 'frames_clip'):
        row = rows[name]
        assert row['status'] == 'ok' and row['clip'] == 'video'
        probs = [float(row[f'p_{c}']) for c in CLASSES]
        assert sum(probs) == pytest.approx(1, abs=1e-5)
        assert row['top_class'] == CLASSES[int(np.argmax(probs))]
    # 10 frames at the assumed 25 fps
    assert float(rows['frames_clip']['end_s']) == pytest.approx(0.4)


def test_sliding_windows(videos, checkpoint, tool, capsys, tmp_path):
    out_file, show = str(tmp_path / 'w.json'), str(tmp_path / 'show')
    code, out, _ = run_infer(tool, capsys, checkpoint,
                             str(videos / 'clips' / 'face.mp4'),
                             '--window', '0.4', '--stride', '0.2', '--out',
                             out_file, '--show', show)
    assert code == 0
    with open(out_file) as f:
        result = json.load(f)['results'][0]
    windows = result['windows']
    # 1 s at 20 fps: 8-frame windows every 4 frames
    assert [(w['start_s'], w['end_s']) for w in windows] == [
        (0.0, 0.4), (0.2, 0.6), (0.4, 0.8), (0.6, 1.0)]
    for w in windows:
        assert sum(w['probabilities'].values()) == pytest.approx(1)
    assert [s['second'] for s in result['per_second']] == [0]
    assert '00:00.20-00:00.60' in out
    assert osp.getsize(osp.join(show, 'face.png')) > 5000
    assert window_ranges(25, 10, 1.0, 0.5) == [(0, 10), (5, 15), (10, 20),
                                               (15, 25)]
    assert window_ranges(23, 10, 1.0, 0.5)[-1] == (13, 23)
    assert window_ranges(5, 10, 1.0, 0.5) == [(0, 5)]


def test_clear_errors(videos, checkpoint, tool, capsys, tmp_path):
    code, _, err = run_infer(tool, capsys, checkpoint,
                             str(tmp_path / 'nothing.mp4'))
    assert code == 1 and 'nothing.mp4' in err
    code, _, err = run_infer(tool, capsys, str(tmp_path / 'no.pth'),
                             str(videos / 'flat.mp4'))
    assert code == 2 and "No such checkpoint: '" in err  # the user's input
    # a checkpoint of other shapes
    code, _, err = run_infer(tool, capsys, checkpoint,
                             str(videos / 'flat.mp4'),
                             options=TINY + ['test_dataloader.dataset.'
                                             'pipeline.2.size=32'])
    assert code == 2 and 'does not fit the config' in err


def test_what_a_config_needs():
    cfg = load_config(STAR_DAGGER)
    needs = model_needs(cfg)
    assert needs.face_maps and needs.description and needs.num_frames == 8
    assert needs.unknown_steps == ()
    # a caption field infer cannot write for a new video
    caption = load_config(STAR_DAGGER)
    caption.test_dataloader.dataset.pipeline[5]['key'] = 'caption'
    with pytest.raises(InferenceError, match="'caption'"):
        model_needs(caption)
    # a face-map branch the test pipeline never feeds
    no_maps = load_config(STAR_DAGGER)
    no_maps.test_dataloader.dataset.pipeline = [
        s for s in cfg.test_dataloader.dataset.pipeline
        if s['type'] not in ('LoadFaceMaps', 'RenderFaceMaps')]
    with pytest.raises(InferenceError, match='never loads them'):
        model_needs(no_maps)


def test_a_model_with_face_maps_and_descriptions(videos, tool, capsys,
                                                 tmp_path):
    # MediaPipe makes the face maps; an optional extra, required in CI
    if os.environ.get('CI') != 'true':
        pytest.importorskip('mediapipe')
    context = stretched_length(TINY_ARCH['text_cfg']['context_length'])
    # test pipeline: sample, decode, load maps, resize, render, tokenize,
    # pack
    options = TINY + [
        'model.branches.video.encoder.num_frames=4',
        'model.branches.face_maps.encoder.num_frames=4',
        f'model.branches.description.encoder.context_length={context}',
        'test_dataloader.dataset.pipeline.0.num_frames=4',
        'test_dataloader.dataset.pipeline.3.size=32',
        f'test_dataloader.dataset.pipeline.5.context_length={context}',
    ]
    ckpt = _save_checkpoint(STAR_DAGGER, options, str(tmp_path / 's.pth'))
    out_file, crops = str(tmp_path / 's.json'), str(tmp_path / 'crops')
    code, out, _ = run_infer(tool, capsys, ckpt,
                             str(videos / 'clips' / 'face.mp4'), '--out',
                             out_file, '--save-crops', crops,
                             config=STAR_DAGGER, options=options)
    assert code == 0, out
    with open(out_file) as f:
        result = json.load(f)['results'][0]
    assert sum(result['probabilities'].values()) == pytest.approx(1)
    assert result['description'] and 'warnings' not in result
    maps = np.load(osp.join(crops, 'face', 'face_maps', '0.npz'))
    assert maps['landmarks'].shape == (NUM_FRAMES, 68, 2)
    assert maps['face_found'].all()  # MediaPipe finds the cropped face


def test_pyav_reads_what_decord_cannot(videos, monkeypatch):
    from fineclip.datasets import video
    path = str(videos / 'clips' / 'face.mp4')
    by_decord = np.concatenate([f for _, f in FrameSource(path).chunks(8)])

    def no_decord(path):
        raise RuntimeError('decord cannot open this')

    # FrameSource reads through the datasets' one reader
    monkeypatch.setattr(video, '_decord_reader', no_decord)
    source = FrameSource(path)
    assert source.fps == pytest.approx(FPS)
    chunks = list(source.chunks(8))
    assert [start for start, _ in chunks] == [0, 8, 16]
    by_pyav = np.concatenate([f for _, f in chunks])
    assert by_pyav.shape == by_decord.shape == (NUM_FRAMES, 240, 320, 3)
    # both decode the same stream (up to decoder rounding)
    assert np.abs(by_pyav.astype(int) - by_decord).mean() < 2


def test_only_embedded_default_models_are_called_toys():
    from mmengine.config import Config

    from fineclip.apis.inference_model import is_embedded_default
    assert is_embedded_default(load_config(CONFIG))
    assert not is_embedded_default(load_config(
        osp.join(ROOT, 'configs/fineclip_dfew.py')))
    assert not is_embedded_default(Config(dict(embedded_default=None)))
