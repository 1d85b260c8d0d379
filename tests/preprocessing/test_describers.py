"""Describers: the offline landmark describer on synthetic ground truth, and
Video-LLaVA on a tiny random model built in code (no download)."""
import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch

from fineclip.datasets.description_provenance import prompt_hash
from fineclip.datasets.face_maps import FaceMaps, load_face_maps
from fineclip.datasets.synthetic import ACTION_UNITS, generate_synthetic_dfew
from fineclip.datasets.synthetic.face_model import (canonical_landmarks,
                                                    sample_identity)
from fineclip.preprocessing.describers import (ClipInput,
                                               LandmarkMotionDescriber,
                                               VideoLlavaDescriber,
                                               describe_landmarks)
from fineclip.preprocessing.describers import landmark_motion as lmm
from fineclip.preprocessing.describers import segment_middles
from fineclip.preprocessing.describers import video_llava as vl
from fineclip.registry import DESCRIBERS

# Emotion words and the expressions that give one away.
EMOTION_WORDS = re.compile(
    r'happ|sad|ang(er|ry)|fear|afraid|scared|surpris|disgust|contempt|'
    r'anx|helpless|disappoint|neutral|smil|frown|grimac|scowl|joy|upset|'
    r'emotion|expression', re.IGNORECASE)
STRONG = 0.5  # a ground-truth action unit this large must be described


# --------------------------------------------------------------------------
# LandmarkMotionDescriber
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    """14 synthetic clips: ``[(clip_id, face maps, action units)]``."""
    root = str(tmp_path_factory.mktemp('describe_synthetic'))
    generate_synthetic_dfew(root, num_clips=14, seed=3, image_size=48,
                            min_frames=10, max_frames=16, num_folds=2,
                            progress=False)
    clips = []
    for path in sorted(glob.glob(osp.join(root, 'face_maps', '*.npz'))):
        with np.load(path) as data:
            units = data['action_units'].astype(np.float64)
        clips.append((osp.basename(path)[:-4], load_face_maps(path), units))
    return clips


@pytest.fixture(scope='module')
def synthetic_texts(synthetic):
    describer = DESCRIBERS.build(dict(type='LandmarkMotionDescriber',
                                      batch_size=5))
    texts = []
    for start in range(0, len(synthetic), describer.batch_size):
        batch = synthetic[start:start + describer.batch_size]
        texts += describer.describe([(cid, None, maps, None)
                                     for cid, maps, _ in batch])
    return texts


def _peak(units, name):
    """Signed value of an action unit where it is largest."""
    col = units[:, ACTION_UNITS.index(name)]
    return col[np.argmax(np.abs(col))]


# (action unit, sign) -> what the description must then say
EXPECTED = {
    ('lip_corner', 1): r'corners of the mouth \w+ pull up',
    ('lip_corner', -1): r'corners of the mouth \w+ turn down',
    ('mouth_open', 1): r'mouth \w+ opens',
    ('brow_raise', 1): r'eyebrows \w+ rise',
    ('brow_raise', -1): r'eyebrows \w+ (lower|draw together)',
    ('inner_brow_raise', 1): r'inner ends of the eyebrows \w+ lift',
    ('eye_open', 1): r'eyes \w+ widen',
    ('nose_wrinkle', 1): r'nose \w+ wrinkles',
    ('upper_lip_raise', 1): r'upper lip \w+ lifts',
}


def test_descriptions_agree_with_strong_ground_truth(synthetic,
                                                     synthetic_texts):
    checked = set()
    for (clip_id, _, units), text in zip(synthetic, synthetic_texts):
        for (name, sign), pattern in EXPECTED.items():
            if sign * _peak(units, name) >= STRONG:
                checked.add((name, sign))
                assert re.search(pattern, text), (clip_id, name, text)
    # the set is big enough to hold the brief's cases
    assert {('lip_corner', 1), ('mouth_open', 1), ('brow_raise', 1),
            ('brow_raise', -1)} <= checked


def test_descriptions_name_no_emotion(synthetic_texts):
    for text in synthetic_texts:
        assert not EMOTION_WORDS.search(text), text
        assert text[0].isupper() and text.endswith('.')


def test_still_ground_truth_gives_a_still_description(synthetic,
                                                      synthetic_texts):
    still = 0
    for (_, _, units), text in zip(synthetic, synthetic_texts):
        if np.abs(units[:, :-1]).max() < 0.1:  # blinks aside
            still += 1
            assert text in (lmm.STILL_TEXT, 'The eyes blink once.'), text
    assert still  # the neutral clips


def _track(au_rows, seed=0):
    """Landmarks ``(T, 68, 2)`` of a synthetic face following AU rows."""
    identity = sample_identity(np.random.default_rng(seed))
    return np.stack([canonical_landmarks(identity, np.asarray(row))
                     for row in au_rows]).astype(np.float32)


def _rows(num_frames, **tracks):
    """AU rows: each keyword is a ``(T,)`` track of that action unit."""
    rows = np.zeros((num_frames, len(ACTION_UNITS)))
    for name, values in tracks.items():
        rows[:, ACTION_UNITS.index(name)] = values
    return rows


def _ramp(num_frames, start, stop, height=1.0):
    t = np.arange(num_frames)
    return height * np.clip((t - start) / max(stop - start, 1), 0, 1)


def test_timing_and_intensity_words():
    n = 20
    rows = _rows(n, brow_raise=_ramp(n, 0, 3), eye_open=_ramp(n, 0, 3, 0.5),
                 mouth_open=_ramp(n, 12, 15, 0.3))
    text = describe_landmarks(_track(rows))
    assert text == ('Early in the clip, the eyebrows strongly rise and the '
                    'eyes clearly widen, then the mouth slightly opens.')
    late = describe_landmarks(_track(_rows(n, lip_corner=_ramp(n, 12, 16))))
    assert late.startswith('Later in the clip, the corners of the mouth '
                           'strongly pull up')


def test_pose_and_scale_do_not_change_the_description():
    n = 16
    lm = _track(_rows(n, brow_raise=-_ramp(n, 3, 8),
                      lip_stretch=_ramp(n, 3, 8, 0.6)), seed=1)
    angle = np.linspace(-0.2, 0.3, n)[:, None]  # head rolls as it moves
    cos, sin = np.cos(angle), np.sin(angle)
    x, y = lm[..., 0], lm[..., 1]
    scale = np.linspace(0.2, 0.3, n)[:, None]  # and comes closer
    moved = np.stack([cos * x - sin * y, sin * x + cos * y], -1)
    moved = moved * scale[..., None] + 0.5
    text = describe_landmarks(lm)
    assert describe_landmarks(moved) == text
    assert 'eyebrows strongly lower and draw together' in text


def test_a_blink_is_not_narrowing_eyes():
    n = 14
    blink = np.zeros(n)
    blink[6], blink[5], blink[7] = 1.0, 0.4, 0.4
    text = describe_landmarks(_track(_rows(n, blink=blink)))
    assert text == 'The eyes blink once.'


def test_landmark_jitter_alone_is_not_a_movement():
    rng = np.random.default_rng(0)
    lm = _track(_rows(24))
    iod = np.linalg.norm(lm[0, 36] - lm[0, 45])
    noisy = lm + rng.normal(0, 0.01 * iod, lm.shape).astype(np.float32)
    assert describe_landmarks(noisy) == lmm.STILL_TEXT


def test_frames_without_a_face_are_left_out():
    n = 12
    lm = _track(_rows(n, mouth_open=_ramp(n, 2, 6)))
    found = np.ones(n, bool)
    assert describe_landmarks(lm, ~found) == lmm.NO_FACE_TEXT
    found[8:] = False  # the tail carries copies: timing is unchanged
    assert 'mouth strongly opens' in describe_landmarks(lm, found)


def test_landmark_describer_needs_face_maps():
    describer = LandmarkMotionDescriber()
    assert not describer.needs_frames and describer.needs_face_maps
    with pytest.raises(ValueError, match='extract_face_maps.py'):
        describer.describe([('00007', None, None, 'Happy')])
    maps = FaceMaps(_track(_rows(3)), np.ones(3, bool),
                    np.zeros((3, 4, 4), np.uint8))
    assert describer.describe([('a', None, maps, None)]) == [lmm.STILL_TEXT]


def test_segment_middles():
    assert segment_middles(16, 8).tolist() == [1, 3, 5, 7, 9, 11, 13, 15]
    assert segment_middles(3, 8).tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    assert segment_middles(5, None).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        segment_middles(0, 8)


# --------------------------------------------------------------------------
# VideoLlavaDescriber on a tiny random model
# --------------------------------------------------------------------------
TINY_WORDS = ['<pad>', '<s>', '</s>', '<unk>', '<image>', '<video>', 'USER',
              ':', 'ASSISTANT', 'the', 'eyes', 'mouth', 'brows', 'lift',
              'open', 'close', 'slowly', '.']


def tiny_video_llava(seed=0):
    """A random VideoLlava (2-layer Llama, 2-layer CLIP vision tower on
    16 x 16 frames) with a word-level tokenizer built in code."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (PreTrainedTokenizerFast, VideoLlavaConfig,
                              VideoLlavaForConditionalGeneration,
                              VideoLlavaProcessor)
    from transformers.models.video_llava import (image_processing_video_llava,
                                                 video_processing_video_llava)
    vocab = {word: i for i, word in enumerate(TINY_WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token='<unk>'))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token='<s>', eos_token='</s>',
        pad_token='<pad>', unk_token='<unk>',
        additional_special_tokens=['<image>', '<video>'])
    side = dict(size={'shortest_edge': 16},
                crop_size={'height': 16, 'width': 16})
    processor = VideoLlavaProcessor(
        image_processor=image_processing_video_llava.VideoLlavaImageProcessor(
            **side),
        video_processor=video_processing_video_llava.VideoLlavaVideoProcessor(
            **side),
        tokenizer=tokenizer, patch_size=8)
    small = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                 num_attention_heads=2)
    config = VideoLlavaConfig(
        vision_config=dict(model_type='clip_vision_model', image_size=16,
                           patch_size=8, projection_dim=16, **small),
        text_config=dict(model_type='llama', num_key_value_heads=2,
                         vocab_size=len(TINY_WORDS),
                         max_position_embeddings=256, bos_token_id=1,
                         eos_token_id=2, pad_token_id=0, **small),
        image_token_index=vocab['<image>'], video_token_index=vocab['<video>'],
        vision_feature_layer=-1)
    torch.manual_seed(seed)
    return VideoLlavaForConditionalGeneration(config).eval(), processor


@pytest.fixture(scope='module')
def tiny_describer():
    model, processor = tiny_video_llava()
    return VideoLlavaDescriber.from_pretrained_objects(
        model, processor, max_new_tokens=6, batch_size=2, device='cpu')


def _clip(clip_id, frames=10, size=(20, 24), label=None, seed=0):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (frames, *size, 3), dtype=np.uint8)
    return (clip_id, pixels, None, label)


def test_prompt_is_the_papers_in_the_model_cards_chat_format():
    prompt = vl.build_prompt()
    assert prompt.startswith('USER: <video>\nYou are a facial expression '
                             'analyst. Identify emotions by analyzing')
    assert prompt.endswith('implied actions concisely. ASSISTANT:')
    labelled = vl.build_prompt(label='Happy')
    assert labelled.endswith('concisely. The expression in the video is '
                             'happy. ASSISTANT:')


def test_video_llava_describes_a_batch_greedily(tiny_describer):
    clips = [_clip('a', 10), _clip('b', 5, (16, 16), seed=1)]
    texts = tiny_describer.describe(clips)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    # greedy: the same clip alone gives the same text as in the batch
    assert tiny_describer.describe(clips[:1]) == texts[:1]
    assert tiny_describer.model.dtype == torch.float32  # CPU


def test_half_precision_model_gets_half_precision_pixels():
    model, processor = tiny_video_llava()
    describer = VideoLlavaDescriber.from_pretrained_objects(
        model, processor, dtype='bfloat16', max_new_tokens=2, device='cpu')
    assert describer.model.dtype == torch.bfloat16
    assert len(describer.describe([_clip('a')])[0].split()) <= 2


def test_only_the_generated_part_is_kept(tiny_describer):
    clip = _clip('a', 9)
    text, = tiny_describer.describe([clip])
    processor = tiny_describer.processor
    inputs = processor(text=[vl.build_prompt()],
                       videos=[tiny_describer.sample_frames(clip[1])],
                       return_tensors='pt')
    with torch.inference_mode():
        out = tiny_describer.model.generate(**inputs, max_new_tokens=6,
                                            do_sample=False)
    full = processor.batch_decode(out, skip_special_tokens=True)[0]
    new = out[0, inputs['input_ids'].shape[1]:]
    assert 1 <= len(new) <= 6
    assert text == ' '.join(processor.batch_decode(
        new[None], skip_special_tokens=True)[0].split())
    assert full.startswith('USER') and not text.startswith('USER')


def test_eight_segment_middle_frames(tiny_describer):
    frames = np.arange(20)[:, None, None, None] * np.ones((1, 2, 2, 3))
    picked = tiny_describer.sample_frames(frames.astype(np.uint8))
    assert picked[:, 0, 0, 0].tolist() == [1, 3, 6, 8, 11, 13, 16, 18]
    with pytest.raises(ValueError, match='RGB frames'):
        tiny_describer.sample_frames(frames[..., 0])


def test_with_label_hints_only_the_clips_handed_a_label():
    model, processor = tiny_video_llava()
    describer = VideoLlavaDescriber.from_pretrained_objects(
        model, processor, with_label=True, max_new_tokens=2, device='cpu')
    assert describer.prompt_for(ClipInput('a', None, None, 'Sad')) == \
        vl.build_prompt(label='Sad')
    # labels of different lengths: the batch is padded (on the left)
    clips = [_clip('a', label='Sad'), _clip('b', label='very very sad')]
    describer.batch_size = 2
    assert describer.describe(clips) == (describer.describe(clips[:1]) +
                                         describer.describe(clips[1:]))
    # a clip handed no label (an evaluated one) is described label-free
    assert describer.prompt_for(ClipInput(*_clip('b'))) == vl.build_prompt()
    given = describer.provenance(ClipInput('a', None, None, 'Sad'))
    free = describer.provenance(ClipInput(*_clip('b')))
    assert given['label_given'] and not free['label_given']
    # the hash is the template's: it cannot tell one class from another
    assert given == describer.provenance(ClipInput('c', None, None, 'Happy'))
    assert given['prompt_sha256'] != free['prompt_sha256']


def test_default_prompts_hold_no_label():
    model, processor = tiny_video_llava()
    describer = VideoLlavaDescriber.from_pretrained_objects(
        model, processor, max_new_tokens=2, device='cpu')
    assert describer.with_label is False
    for label in ('Sad', 'Happy', 'Contempt'):
        prompt = describer.prompt_for(ClipInput(*_clip('a', label=label)))
        assert prompt == vl.build_prompt()
        assert label.lower() not in prompt.lower()
        assert 'The expression in the video is' not in prompt
    record = describer.provenance(ClipInput(*_clip('a', label='Sad')))
    assert record == dict(
        describer='VideoLlavaDescriber', model=vl.DEFAULT_MODEL,
        prompt_sha256=prompt_hash(vl.CHAT_TEMPLATE.format(
            prompt=vl.PAPER_PROMPT)),
        label_given=False)
    # the offline describer never reads a label
    assert LandmarkMotionDescriber().provenance(
        ClipInput(*_clip('a', label='Sad'))) == dict(
            describer='LandmarkMotionDescriber', model=None,
            prompt_sha256=None, label_given=False)


@pytest.mark.parametrize('model', ['/nonexistent/video_llava',
                                   vl.DEFAULT_MODEL])
def test_missing_weights_say_what_to_download(model):
    # conftest sets HF_HUB_OFFLINE=1: the hub id is not in the cache
    with pytest.raises(vl.ModelUnavailableError) as info:
        VideoLlavaDescriber(model=model, device='cpu')
    message = str(info.value)
    assert 'hf download LanguageBind/Video-LLaVA-7B-hf' in message
    assert '--describer-cfg model=DIR' in message


class _RecordingNetwork:
    """Stands in for the 7B model: records how it was loaded and moved."""

    def __init__(self, dtype):
        self.dtype, self.moves = dtype, []

    def to(self, **kwargs):
        self.moves.append(kwargs)
        return self

    def eval(self):
        return self


def _mock_loading(monkeypatch, accelerate: bool):
    import transformers
    import transformers.utils
    calls = {}
    _, processor = tiny_video_llava()

    def network(name, **kwargs):
        calls['network'] = (name, kwargs)
        return _RecordingNetwork(kwargs.get('dtype'))

    def processor_from(name, **kwargs):
        calls['processor'] = name
        return processor
    monkeypatch.setattr(transformers.VideoLlavaForConditionalGeneration,
                        'from_pretrained', network)
    monkeypatch.setattr(transformers.VideoLlavaProcessor, 'from_pretrained',
                        processor_from)
    monkeypatch.setattr(transformers.utils, 'is_accelerate_available',
                        lambda: accelerate)
    return calls


def test_weights_load_straight_onto_the_ranks_gpu(monkeypatch):
    calls = _mock_loading(monkeypatch, accelerate=True)
    # a data tool under torchrun made GPU 3 this rank's current device
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'current_device', lambda: 3)
    describer = VideoLlavaDescriber(model='/weights/video_llava')
    assert describer.device == 'cuda:3' and describer.dtype == 'float16'
    name, kwargs = calls['network']
    assert name == '/weights/video_llava'
    assert kwargs == dict(dtype=torch.float16, device_map={'': 'cuda:3'})
    # already there in float16: the move afterwards copies nothing
    assert describer.model.moves == [dict(device='cuda:3',
                                          dtype=torch.float16)]
    explicit = VideoLlavaDescriber(model='m', device='cuda:1',
                                   dtype='bfloat16')
    assert calls['network'][1] == dict(dtype=torch.bfloat16,
                                       device_map={'': 'cuda:1'})
    assert explicit.device == 'cuda:1'


def test_without_accelerate_the_load_warns_that_it_goes_through_ram(
        monkeypatch):
    calls = _mock_loading(monkeypatch, accelerate=False)
    with pytest.warns(UserWarning, match='pip install accelerate'):
        VideoLlavaDescriber(model='m', device='cuda:0')
    assert calls['network'][1] == dict(dtype=torch.float16)


def test_a_saved_model_loads_with_these_arguments(tmp_path):
    """The real transformers loader takes :func:`loading_kwargs` (no mock;
    on this CPU machine without accelerate)."""
    model, processor = tiny_video_llava()
    model.save_pretrained(str(tmp_path))
    processor.save_pretrained(str(tmp_path))
    describer = VideoLlavaDescriber(model=str(tmp_path), device='cpu',
                                    dtype='bfloat16', max_new_tokens=2)
    assert describer.model.dtype == torch.bfloat16
    assert len(describer.describe([_clip('a')])[0].split()) <= 2
