"""FaceXFormer network, checkpoint loading and the analyser's I/O contract.

No test downloads anything: weights are random and saved to tmp files.
"""
import numpy as np
import pytest
import torch
from torchvision.models import swin_b

from fineclip.datasets.face_maps import FaceMaps
from fineclip.preprocessing.face_analyzers.facexformer import (
    CheckpointError, FaceXFormer, FaceXFormerAnalyzer, crop_to_input,
    expand_box, landmarks_to_frame, parsing_to_frame)
from fineclip.registry import FACE_ANALYZERS

# Same module layout as the release, a fraction of its width and depth.
SMALL = dict(backbone=dict(embed_dim=16, depths=(1, 1, 1, 1),
                           num_heads=(1, 1, 2, 2)),
             dim=32, num_heads=2, mlp_dim=64)

# (key, shape) facts of the released ``state_dict_backbone``: Swin-B
# stages of 128-1024 channels, a 256-wide decoder with 7 task tokens and
# 11 parsing tokens, 68 x 2 landmark outputs.
RELEASE_SHAPES = {
    'backbone.0.0.0.weight': (128, 3, 4, 4),
    'backbone.0.7.1.attn.qkv.weight': (3072, 1024),
    'backbone.1.weight': (1024,),
    'pe_layer.positional_encoding_gaussian_matrix': (2, 128),
    'linear_c.0.proj.weight': (256, 128),
    'linear_c.3.proj.weight': (256, 1024),
    'linear_fuse.weight': (256, 1024, 1, 1),
    'face_decoder.landmarks_token.weight': (1, 256),
    'face_decoder.race_token.weight': (1, 256),
    'face_decoder.mask_tokens.weight': (11, 256),
    'face_decoder.transformer.layers.1.self_attn.q_proj.weight': (256, 256),
    'face_decoder.transformer.layers.0.cross_attn_token_to_image.'
    'q_proj.weight': (128, 256),
    'face_decoder.transformer.layers.0.mlp.lin1.weight': (2048, 256),
    'face_decoder.transformer.final_attn_token_to_image.out_proj.weight':
        (256, 128),
    'face_decoder.output_upscaling.0.weight': (256, 64, 2, 2),
    'face_decoder.output_upscaling.1.weight': (64,),
    'face_decoder.output_upscaling.3.weight': (64, 32, 2, 2),
    'face_decoder.output_hypernetwork_mlps.layers.2.weight': (32, 256),
    'face_decoder.landmarks_prediction_head.layers.2.weight': (136, 256),
    'face_decoder.visibility_prediction_head.layers.2.weight': (29, 256),
}


class _Marker:
    """Unpickling this calls :func:`_mark` unless the loader refuses it."""

    called = False

    def __reduce__(self):
        return (_mark, ())


def _mark():
    _Marker.called = True
    return 'ran'


def _small_model(seed=0):
    torch.manual_seed(seed)
    return FaceXFormer(**SMALL).eval()


def _save(model, path):
    torch.save({'state_dict_backbone': model.state_dict()}, str(path))
    return str(path)


@pytest.fixture
def small_ckpt(tmp_path):
    model = _small_model()
    return model, _save(model, tmp_path / 'model.pt')


def _frames(n=3, h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def _swin_b_keys():
    """Keys the release's ``backbone`` gets from torchvision's Swin-B."""
    names = {'features': '0', 'norm': '1'}
    with torch.device('meta'):
        swin = swin_b(weights=None)
    keys = set()
    for key in swin.state_dict():
        child, rest = key.split('.', 1)
        if child != 'head':
            keys.add(f'backbone.{names[child]}.{rest}')
    return keys


def test_release_architecture_has_the_released_keys():
    with torch.device('meta'):         # shapes only: no init, no memory
        state = FaceXFormer().state_dict()
    for key, shape in RELEASE_SHAPES.items():
        assert tuple(state[key].shape) == shape, key
    backbone = {k for k in state if k.startswith('backbone.')}
    assert backbone == _swin_b_keys()
    # 36 keys per two-way block x 2, final attention and norm 10, 8 token
    # tables, upscaling 6, hypernetwork 6, 7 heads x 6; fusion 9; PE 1.
    assert len(state) - len(backbone) == 72 + 10 + 8 + 6 + 6 + 42 + 9 + 1


def test_release_architecture_loads_strictly(tmp_path):
    torch.manual_seed(0)
    model = FaceXFormer()
    path = _save(model, tmp_path / 'model.pt')
    analyzer = FaceXFormerAnalyzer(path)
    loaded = analyzer.model.state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_small_model_outputs():
    out = _small_model()(torch.randn(2, 3, 224, 224))
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == dict(landmarks=(2, 68, 2), pose=(2, 3),
                          attribute=(2, 40), visibility=(2, 29),
                          age=(2, 8), gender=(2, 2), race=(2, 5),
                          parsing=(2, 11, 224, 224))


def test_loaded_analyzer_matches_in_memory_model(small_ckpt):
    model, path = small_ckpt
    analyzer = FaceXFormerAnalyzer(path, model_cfg=SMALL, parsing_size=224)
    assert not analyzer.model.training
    assert not any(p.requires_grad for p in analyzer.model.parameters())
    for key, value in model.state_dict().items():
        torch.testing.assert_close(analyzer.model.state_dict()[key], value)

    frames = _frames(2, 224, 224)
    images = torch.stack([crop_to_input(f, (0, 0, 224, 224))
                          for f in frames])
    with torch.no_grad():
        ref = model(images)
    out = analyzer.analyze(frames)
    lm = ((ref['landmarks'].numpy() + 1) / 2).clip(0, 1)
    np.testing.assert_allclose(out['landmarks'], lm, atol=1e-5)
    np.testing.assert_array_equal(out['parsing'],
                                  ref['parsing'].argmax(1).numpy())


def test_analyze_contract_on_non_square_frames(small_ckpt):
    _, path = small_ckpt
    analyzer = FaceXFormerAnalyzer(path, model_cfg=SMALL, parsing_size=32,
                                   batch_size=2)
    out = analyzer.analyze(_frames(3, 48, 64))
    assert out['landmarks'].shape == (3, 68, 2)
    assert out['landmarks'].dtype == np.float32
    assert ((out['landmarks'] >= 0) & (out['landmarks'] <= 1)).all()
    assert out['face_found'].dtype == np.bool_ and out['face_found'].all()
    assert out['parsing'].shape == (3, 32, 32)
    assert out['parsing'].dtype == np.uint8 and out['parsing'].max() < 11
    FaceMaps(**out).validate()


def test_detector_crops_with_margin_and_flags_misses(small_ckpt):
    _, path = small_ckpt
    box = (16, 8, 48, 40)                  # 32 x 32 face in a 64 x 48 frame
    analyzer = FaceXFormerAnalyzer(
        path, model_cfg=SMALL, parsing_size=32,
        face_detector=lambda frames: [box, None][:len(frames)])
    out = analyzer.analyze(_frames(2, 48, 64))
    np.testing.assert_array_equal(out['face_found'], [True, False])
    # The crop is the box grown by 50 %: x 8..56, y 0..48 (clipped).
    x, y = out['landmarks'][0, :, 0] * 64, out['landmarks'][0, :, 1] * 48
    assert (x >= 8 - 1e-4).all() and (x <= 56 + 1e-4).all()
    assert (y >= 0).all() and (y <= 48 + 1e-4).all()
    # Cells left of x = 8 px (4 of 32 columns) lie outside the crop.
    assert (out['parsing'][0, :, :4] == 0).all()


def test_registry_builds_the_analyzer(small_ckpt):
    _, path = small_ckpt
    analyzer = FACE_ANALYZERS.build(dict(
        type='FaceXFormerAnalyzer', checkpoint=path, model_cfg=SMALL,
        parsing_size=16, batch_size=4))
    assert isinstance(analyzer, FaceXFormerAnalyzer)
    assert analyzer.batch_size == 4


def test_missing_checkpoint_names_the_download(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        FaceXFormerAnalyzer(str(tmp_path / 'nope.pt'))
    msg = str(err.value)
    assert 'kartiknarayan/facexformer' in msg and 'ckpts/model.pt' in msg
    assert 'checkpoint' in msg


def test_checkpoint_without_backbone_key(tmp_path):
    path = tmp_path / 'model.pt'
    torch.save({'state_dict': _small_model().state_dict()}, str(path))
    with pytest.raises(CheckpointError, match='state_dict_backbone'):
        FaceXFormerAnalyzer(str(path), model_cfg=SMALL)


def test_mismatched_weights_are_refused(tmp_path):
    state = _small_model().state_dict()
    state.pop('linear_fuse.weight')
    path = tmp_path / 'model.pt'
    torch.save({'state_dict_backbone': state}, str(path))
    with pytest.raises(CheckpointError, match='linear_fuse'):
        FaceXFormerAnalyzer(str(path), model_cfg=SMALL)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / 'model.pt'
    torch.save({'state_dict_backbone': _small_model().state_dict(),
                'extra': _Marker()}, str(path))
    _Marker.called = False
    with pytest.raises(CheckpointError, match='weights_only'):
        FaceXFormerAnalyzer(str(path), model_cfg=SMALL)
    assert not _Marker.called


def test_bad_face_detector_name(small_ckpt):
    _, path = small_ckpt
    with pytest.raises(ValueError, match='face_detector'):
        FaceXFormerAnalyzer(path, model_cfg=SMALL, face_detector='haar')


def test_expand_box_grows_by_half_and_clips():
    assert expand_box((20, 20, 60, 40), 100, 100) == (10, 15, 70, 45)
    assert expand_box((0, 0, 64, 48), 64, 48) == (0, 0, 64, 48)
    assert expand_box((5.7, 3.2, 5.9, 3.3), 10, 10, margin=0) == (5, 3, 6, 4)


def test_landmarks_map_crop_edges_to_box_edges():
    points = np.array([[[-1, -1], [1, 1], [0, 0]]], np.float32)
    out = landmarks_to_frame(points, [(16, 8, 48, 40)], 64, 48)
    np.testing.assert_allclose(
        out[0], [[16 / 64, 8 / 48], [48 / 64, 40 / 48], [0.5, 0.5]],
        atol=1e-6)
    far = landmarks_to_frame(np.full((1, 1, 2), 3.0), [(0, 0, 4, 4)], 4, 4)
    np.testing.assert_array_equal(far, [[[1.0, 1.0]]])


def test_parsing_is_warped_onto_the_frame_grid():
    labels = np.arange(16, dtype=np.uint8).reshape(1, 4, 4) % 11
    whole = parsing_to_frame(labels, [(0, 0, 8, 8)], 8, 8, 4)
    np.testing.assert_array_equal(whole, labels)
    # Right half of an 8 x 4 frame: left half of the grid is background.
    half = parsing_to_frame(np.full((1, 2, 2), 7, np.uint8), [(4, 0, 8, 4)],
                            8, 4, 4)
    np.testing.assert_array_equal(half[0, :, :2], 0)
    np.testing.assert_array_equal(half[0, :, 2:], 7)


# --------------------------------------------------------------------------
# The prepared (loader-worker) path against the earlier sequential one
# --------------------------------------------------------------------------
def _sequential_reference(model, frames, boxes, size):
    """The analyser as it was: per-frame PIL crop and numpy normalisation
    on the main thread, an fp32 forward, numpy post-processing."""
    from PIL import Image
    mean, std = torch.tensor((0.485, 0.456, 0.406)), torch.tensor(
        (0.229, 0.224, 0.225))
    images = []
    for frame, box in zip(frames, boxes):
        crop = Image.fromarray(frame).crop(box).resize((224, 224),
                                                       Image.BICUBIC)
        x = torch.from_numpy(np.asarray(crop, np.float32) / 255.0)
        images.append(((x - mean) / std).permute(2, 0, 1))
    with torch.no_grad():
        out = model(torch.stack(images))
    labels = out['parsing'].argmax(dim=1).to(torch.uint8).numpy()
    h, w = frames.shape[1:3]
    parsing = np.zeros((len(frames), size, size), np.uint8)
    centres = (np.arange(size) + 0.5) / size
    for n, (lab, (x0, y0, x1, y1)) in enumerate(zip(labels, boxes)):
        def cells(coords, start, stop, count):
            idx = np.floor((coords - start) / (stop - start) * count
                           ).astype(int)
            return np.where((idx >= 0) & (idx < count), idx, -1)
        cols = cells(centres * w, x0, x1, lab.shape[1])
        rows = cells(centres * h, y0, y1, lab.shape[0])
        inside = (rows >= 0)[:, None] & (cols >= 0)[None, :]
        picked = lab[rows.clip(0)[:, None], cols.clip(0)[None, :]]
        parsing[n] = np.where(inside, picked, 0)
    return landmarks_to_frame(out['landmarks'].numpy(), boxes, w, h), parsing


@pytest.mark.parametrize('detector', [False, True])
def test_prepared_path_equals_the_sequential_one_on_cpu(small_ckpt, detector):
    model, path = small_ckpt
    boxes = [(16, 8, 48, 40), None, (0, 0, 30, 20)]
    analyzer = FaceXFormerAnalyzer(
        path, model_cfg=SMALL, parsing_size=40, batch_size=2,
        face_detector=(lambda f: boxes[:len(f)]) if detector else None)
    assert analyzer.dtype == torch.float32  # 'auto' on a CPU
    frames = _frames(2, 48, 64)
    out = analyzer.analyze(frames)
    crops = ([expand_box(b, 64, 48) if b else (0, 0, 64, 48)
              for b in boxes[:2]] if detector else [(0, 0, 64, 48)] * 2)
    landmarks, parsing = _sequential_reference(model, frames, crops, 40)
    np.testing.assert_array_equal(out['landmarks'], landmarks)
    np.testing.assert_array_equal(out['parsing'], parsing)


def test_extraction_with_loader_workers_writes_the_sequential_files(
        small_ckpt, tmp_path):
    import cv2

    from fineclip.apis.face_map_extraction import (clips_from_folder,
                                                   extract_face_maps)
    from fineclip.datasets.face_maps import load_face_maps
    model, path = small_ckpt
    for c, n in (('a', 3), ('b', 2)):
        (tmp_path / 'clips' / c).mkdir(parents=True)
        for i, frame in enumerate(_frames(n, 40, 36, seed=n)):
            cv2.imwrite(str(tmp_path / 'clips' / c / f'{i:03d}.png'),
                        frame[..., ::-1])
    clips = clips_from_folder(str(tmp_path / 'clips'))
    analyzer = FaceXFormerAnalyzer(path, model_cfg=SMALL, parsing_size=24,
                                   batch_size=2)
    assert analyzer.batch_preparer() is not None
    out = str(tmp_path / 'maps')
    summary = extract_face_maps(analyzer, clips, out, progress=False,
                                num_workers=2)
    assert summary['extracted'] == 2
    for clip in clips:
        frames = clip.read_frames()
        parts = [_sequential_reference(model, frames[i:i + 2], [
            (0, 0, 36, 40)] * len(frames[i:i + 2]), 24)
                 for i in range(0, len(frames), 2)]  # the analyser's batches
        landmarks, parsing = (np.concatenate(p) for p in zip(*parts))
        got = load_face_maps(f'{out}/{clip.clip_id}.npz', len(frames))
        np.testing.assert_array_equal(got.parsing, parsing)
        np.testing.assert_array_equal(got.landmarks, landmarks)


def test_precision_choice_and_fp32_parsing_logits(small_ckpt):
    from fineclip.preprocessing.face_analyzers.facexformer import \
        resolve_precision
    assert resolve_precision('auto', torch.device('cuda', 1)) == \
        torch.float16
    assert resolve_precision('auto', torch.device('cpu')) == torch.float32
    assert resolve_precision('bfloat16', torch.device('cuda')) == \
        torch.bfloat16
    with pytest.raises(ValueError, match='precision must be one of'):
        resolve_precision('half', torch.device('cpu'))
    # under half-precision autocast the label logits stay float32
    model, path = small_ckpt
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(torch.randn(1, 3, 224, 224))
    assert out['parsing'].dtype == torch.float32
    assert out['landmarks'].dtype == torch.bfloat16
    analyzer = FaceXFormerAnalyzer(path, model_cfg=SMALL, parsing_size=16,
                                   precision='bfloat16')
    result = analyzer.analyze(_frames(1, 32, 32))
    assert result['landmarks'].dtype == np.float32
    assert result['parsing'].shape == (1, 16, 16)
