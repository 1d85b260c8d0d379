"""tools/data/generate_descriptions.py and the generation API behind it."""
import json
import os
import os.path as osp
import textwrap

import numpy as np
import pytest
from mmengine.config import Config

from fineclip.apis.description_generation import (
    description_clips_from_config, description_clips_from_folder,
    generate_descriptions, read_finished)
from fineclip.datasets.descriptions import read_descriptions
from fineclip.datasets.synthetic import generate_synthetic_dfew
from fineclip.preprocessing.describers import (BaseDescriber,
                                               LandmarkMotionDescriber,
                                               VideoLlavaDescriber,
                                               segment_middles)
from tests.preprocessing.test_describers import tiny_video_llava
from tests.helpers import run_tool_main


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('describe_tool'))
    generate_synthetic_dfew(root, num_clips=14, seed=5, image_size=32,
                            min_frames=6, max_frames=9, num_folds=2,
                            progress=False)
    # the generator writes its own descriptions; these tests write theirs
    os.remove(osp.join(root, 'descriptions.jsonl'))
    return root


def _clip_root(root):
    return osp.join(root, 'Clip', 'clip_224x224')


def _config(root, face_map_dir='face_maps'):
    return Config(dict(
        train_dataloader=dict(dataset=dict(
            type='DFEWDataset', data_root=root, fold=1, split='train',
            face_map_dir=face_map_dir)),
        test_dataloader=dict(dataset=dict(
            type='DFEWDataset', data_root=root, fold=1, split='test',
            face_map_dir=face_map_dir, description_file='absent.jsonl'))))


class RecordingDescriber(BaseDescriber):
    """Writes what it was given: frame count, landmarks' length, label."""

    num_frames = 4

    def __init__(self, needs_frames=True, needs_face_maps=False, **kwargs):
        super().__init__(**kwargs)
        self.needs_frames, self.needs_face_maps = needs_frames, \
            needs_face_maps
        self.batches, self.frames = [], {}

    def describe_batch(self, clips):
        self.batches.append([c.clip_id for c in clips])
        self.frames.update({c.clip_id: c.frames for c in clips})
        return [f'{None if c.frames is None else c.frames.shape} '
                f'{None if c.face_maps is None else c.face_maps.num_frames}'
                f' {c.label}' for c in clips]


def _lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_video_llava_writes_one_line_per_clip_and_resumes(synthetic_root,
                                                          tmp_path):
    model, processor = tiny_video_llava()
    describer = VideoLlavaDescriber.from_pretrained_objects(
        model, processor, max_new_tokens=3, batch_size=4, device='cpu')
    clips = description_clips_from_folder(_clip_root(synthetic_root))
    out = str(tmp_path / 'texts' / 'descriptions.jsonl')
    first = generate_descriptions(describer, clips, out, progress=False)
    assert first['described'] == 14 and first['skipped'] == 0
    texts = read_descriptions(out)
    assert sorted(texts) == [c.clip_id for c in clips]

    again = generate_descriptions(describer, clips, out, progress=False)
    assert again['described'] == 0 and again['skipped'] == 14
    assert len(_lines(out)) == 14

    kept = [line for line in _lines(out) if line['clip_id'] != '00006']
    with open(out, 'w') as f:
        f.writelines(json.dumps(line) + '\n' for line in kept)
    third = generate_descriptions(describer, clips, out, progress=False)
    assert third['described'] == 1 and third['skipped'] == 13
    lines = _lines(out)
    assert lines[-1]['clip_id'] == '00006'
    assert lines[-1]['text'] == texts['00006']  # greedy: same text again


def test_clips_go_in_batches_with_sampled_frames(synthetic_root, tmp_path):
    describer = RecordingDescriber(batch_size=4)
    clips = description_clips_from_folder(_clip_root(synthetic_root))
    out = str(tmp_path / 'd.jsonl')
    summary = generate_descriptions(describer, clips, out, progress=False)
    assert [len(b) for b in describer.batches] == [4, 4, 4, 2]
    assert read_descriptions(out)['00001'] == '(4, 32, 32, 3) None None'
    assert summary['mean_words'] == 6.0
    # only the segment middles were read, and they are the right frames
    every = clips[2].read_frames()
    wanted = segment_middles(len(every), 4)
    assert np.array_equal(describer.frames[clips[2].clip_id], every[wanted])


def test_an_interrupted_last_line_is_dropped_and_redone(tmp_path):
    path = tmp_path / 'd.jsonl'
    path.write_text('{"clip_id": "a", "text": "x"}\n'
                    '{"clip_id": "b", "text": "y"}\n'
                    '{"clip_id": "c", "te')
    assert read_finished(str(path)) == {'a', 'b'}
    assert path.read_text().endswith('"y"}\n')  # the file was repaired
    path.write_text('{"clip_id": "a", "text": "x"}\nnot json\n')
    with pytest.raises(ValueError, match='d.jsonl:2'):
        read_finished(str(path))
    assert read_finished(str(tmp_path / 'absent.jsonl')) == set()


def test_config_clips_carry_labels_and_face_maps(synthetic_root, tmp_path):
    clips = description_clips_from_config(_config(synthetic_root))
    assert len(clips) == 14
    describer = RecordingDescriber(needs_frames=False, needs_face_maps=True)
    out = str(tmp_path / 'd.jsonl')
    # by default no describer sees a label, whatever the clips carry
    generate_descriptions(describer, clips, out, progress=False)
    texts = read_descriptions(out)
    for clip in clips:
        n = len(clip.frame_names)
        assert texts[clip.clip_id] == f'None {n} None'
    assert all(line['label_given'] is False for line in _lines(out))
    # only the clips named in label_ids are handed theirs
    out = str(tmp_path / 'hinted.jsonl')
    hinted = {clips[0].clip_id, clips[3].clip_id}
    generate_descriptions(describer, clips, out, progress=False,
                          label_ids=hinted)
    texts = read_descriptions(out)
    for clip in clips:
        label = clip.label if clip.clip_id in hinted else None
        assert texts[clip.clip_id].endswith(f' {label}')
    assert {c.label for c in clips} <= {'Happy', 'Sad', 'Neutral', 'Angry',
                                        'Surprise', 'Disgust', 'Fear'}


def test_missing_face_maps_stop_with_the_clip_named(synthetic_root,
                                                    tmp_path):
    clips = description_clips_from_config(_config(synthetic_root, None))
    assert all(c.face_map_path is None for c in clips)
    out = str(tmp_path / 'd.jsonl')
    describer = LandmarkMotionDescriber(batch_size=3)
    with pytest.raises(ValueError, match='extract_face_maps') as info:
        generate_descriptions(describer, clips, out, progress=False)
    assert 'while describing clip(s)' in '\n'.join(info.value.__notes__)
    clips = description_clips_from_folder(
        _clip_root(synthetic_root), str(tmp_path / 'no_maps'))
    with pytest.raises(FileNotFoundError, match='extract_face_maps'):
        generate_descriptions(describer, clips, out, progress=False)


def test_command_line_on_a_config_then_a_folder(synthetic_root, tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text(textwrap.dedent(f'''
        train_dataloader = dict(dataset=dict(
            type='DFEWDataset', data_root={synthetic_root!r}, fold=1,
            split='train', face_map_dir='face_maps'))
        test_dataloader = dict(dataset=dict(
            type='DFEWDataset', data_root={synthetic_root!r}, fold=1,
            split='test', face_map_dir='face_maps'))
    '''))
    out = run_tool_main('tools/data/generate_descriptions.py', [
        str(config), '--describer', 'LandmarkMotionDescriber',
        '--describer-cfg', 'batch_size=5', '--limit', '4'])
    assert '4 clips described, 0 done before' in out
    default = osp.join(synthetic_root, 'descriptions.jsonl')
    assert len(_lines(default)) == 4

    folder_out = str(tmp_path / 'folder.jsonl')
    with open(default) as f:
        first_lines = f.read()
    with open(folder_out, 'w') as f:
        f.write(first_lines + '{"clip_id": "000')  # an interrupted run
    out = run_tool_main('tools/data/generate_descriptions.py', [
        _clip_root(synthetic_root), '--describer', 'LandmarkMotionDescriber',
        '--out', folder_out, '--face-map-dir',
        osp.join(synthetic_root, 'face_maps')])
    assert '10 clips described, 4 done before' in out and 'e.g. ' in out
    texts = read_descriptions(folder_out)
    assert len(texts) == 14
    # the same maps give the same texts, whichever way the clips came
    assert read_descriptions(default).items() <= texts.items()
