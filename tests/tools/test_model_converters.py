"""tools/model_converters/dfer_clip.py on files in the official DFER-CLIP
layout that the tests write themselves.

The official training script saves ``{'epoch', 'state_dict' ('module.'
keys of its GenerateModel), 'best_acc', 'optimizer', 'recorder'}``. The
files here hold ViT-B/32 shapes with stride-0 tensors (a few kB on disk),
so the converted checkpoint is checked against the real configs' models,
built on the meta device, without 600 MB of weights.
"""
import builtins
import os
import os.path as osp

import numpy as np
import pytest
import torch
from open_clip.tokenizer import SimpleTokenizer

from fineclip.apis import build_model, enable_local_imports
from fineclip.engine.checkpoint_io import (ForeignCheckpointError,
                                           read_checkpoint)
from fineclip.engine.checkpoints import CheckpointError, load_weights
from tests.helpers import call_tool_main, run_tool_main

# loading into the meta-device model checks every key and shape, and then
# copies nothing, as PyTorch warns for each of the ~300 tensors
pytestmark = pytest.mark.filterwarnings(
    'ignore:for .*copying from a non-meta parameter')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = 'tools/model_converters/dfer_clip.py'
OFFICIAL = ('happiness', 'sadness', 'neutral', 'anger', 'surprise',
            'disgust', 'fear', 'contempt', 'anxiety', 'helplessness',
            'disappointment')
M, LENGTH = 8, 77  # context vectors, CLIP's text length
# official temporal-model names (models/Temporal_Model.py) -> FineCLIP's
TEMPORAL = {
    'cls_token': 'class_token', 'pos_embedding': 'position_embedding',
    'temporal_transformer.layers.0.0.fn.norm.weight':
    'layers.0.norm_attn.weight',
    'temporal_transformer.layers.0.0.fn.norm.bias':
    'layers.0.norm_attn.bias',
    'temporal_transformer.layers.0.0.fn.fn.to_qkv.weight':
    'layers.0.qkv.weight',
    'temporal_transformer.layers.0.0.fn.fn.to_out.0.weight':
    'layers.0.out.0.weight',
    'temporal_transformer.layers.0.0.fn.fn.to_out.0.bias':
    'layers.0.out.0.bias',
    'temporal_transformer.layers.0.1.fn.norm.weight':
    'layers.0.norm_mlp.weight',
    'temporal_transformer.layers.0.1.fn.norm.bias': 'layers.0.norm_mlp.bias',
    'temporal_transformer.layers.0.1.fn.fn.net.0.weight':
    'layers.0.mlp.0.weight',
    'temporal_transformer.layers.0.1.fn.fn.net.0.bias':
    'layers.0.mlp.0.bias',
    'temporal_transformer.layers.0.1.fn.fn.net.3.weight':
    'layers.0.mlp.3.weight',
    'temporal_transformer.layers.0.1.fn.fn.net.3.bias':
    'layers.0.mlp.3.bias',
}


class RecorderMeter:
    """Stands for the training script's recorder: a plain class pickled
    by reference, holding NumPy arrays."""

    def __init__(self, epochs):
        self.total_epoch = epochs
        self.epoch_accuracy = np.ones((epochs, 2), np.float32)


class RunsCode:
    """A pickle payload: loading it calls ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _flat(shape, value=0.):
    """A tensor of ``shape`` whose storage is one number (stride 0)."""
    return torch.tensor(float(value)).expand(shape)


def _meta_model(dataset):
    enable_local_imports()
    return build_model(
        osp.join(ROOT, f'configs/plugins/dfer_clip_{dataset}.py'),
        shapes_only=True, device='meta')


def official_file(path, dataset='dfew', recorder=None, texts=None,
                  bare=False):
    """Writes an official-layout checkpoint of the dataset's model shapes
    (``bare``: its ``state_dict`` alone).

    Token embedding row ``i`` is all ``i`` (stored as one ``arange``), the
    prompt buffers are those rows for each class's tokens, and official
    context row ``j`` is all ``j``.

    Returns:
        list: the class texts written, in official class order.
    """
    ours = _meta_model(dataset).state_dict()
    n = 11 if dataset == 'mafw' else 7
    texts = texts or [f'the face of {name}' for name in OFFICIAL[:n]]
    vocab, width = ours['clip.token_embedding.weight'].shape
    table = torch.arange(vocab, dtype=torch.float32)[:, None]
    tokenizer = SimpleTokenizer()
    ids = torch.zeros(n, LENGTH, dtype=torch.long)
    for c, text in enumerate(texts):
        row = ([tokenizer.sot_token_id] + tokenizer.encode(
            ' '.join(['X'] * M) + ' ' + text + '.') + [tokenizer.eot_token_id])
        ids[c, :len(row)] = torch.tensor(row)
    state = {}
    for key, value in ours.items():
        if key == 'clip.token_embedding.weight':
            value = table.expand(vocab, width)
        else:
            value = _flat(value.shape, 0.01)
        if key.startswith('clip.'):
            state['module.clip_model_.' + key[5:]] = value
        if key.startswith('clip.visual.'):
            state['module.image_encoder.' + key[12:]] = value
        if key.startswith(('clip.transformer.', 'clip.ln_final.')) or key in (
                'clip.positional_embedding', 'clip.text_projection'):
            state['module.text_encoder.' + key[5:]] = value
    for official, name in TEMPORAL.items():
        state['module.temporal_net.' + official] = _flat(
            ours['branches.video.temporal.' + name].shape)
    state['module.prompt_learner.ctx'] = torch.arange(
        n, dtype=torch.float32)[:, None, None].expand(n, M, width)
    rows = ids.float()[..., None].expand(n, LENGTH, width)
    state['module.prompt_learner.token_prefix'] = rows[:, :1]
    state['module.prompt_learner.token_suffix'] = rows[:, 1 + M:]
    if bare:
        torch.save(state, path)
        return texts
    torch.save({'epoch': 12, 'state_dict': state,
                'best_acc': torch.tensor(61.5),
                'optimizer': {'state': {}, 'param_groups': [{'lr': 0.01}]},
                'recorder': recorder or RecorderMeter(50)}, path)
    return texts


@pytest.mark.parametrize('dataset', ['dfew', 'mafw'])
def test_official_file_converts_and_loads_strictly(tmp_path, dataset):
    src, out = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    texts = official_file(src, dataset)
    log = run_tool_main(TOOL, [src, out, '--dataset', dataset])
    assert 'tools/test.py' in log and str(tmp_path / 'converted.py') in log
    model = _meta_model(dataset)
    meta = load_weights(model, str(out))  # strict: every key, every shape
    classes = meta['dataset_meta']['classes']
    assert tuple(classes) == model.class_names
    assert meta['converted_from']['file'] == str(src)
    assert meta['converted_from']['epoch'] == 12
    # class-specific contexts follow the dataset's class order: official
    # row j is all j, so row i holds the official index of class i
    context = torch.load(out, weights_only=True)['state_dict'][
        'label_augmenter.context']
    order = [int(row[0, 0]) for row in context]
    official = [OFFICIAL[j] for j in order]
    if dataset == 'mafw':  # MAFW's own order, not the official list's
        assert order[:4] == [3, 5, 6, 0]  # anger, disgust, fear, happiness
    assert [c.lower()[:3] for c in classes] == [o[:3] for o in official]
    # the class texts are read back from the prompt buffers and reordered
    assert meta['class_prompts'] == {
        name: texts[j] for name, j in zip(classes, order)}
    config = (tmp_path / 'converted.py').read_text()
    assert f'configs/plugins/dfer_clip_{dataset}.py' in config
    assert repr(texts[order[0]]) in config


def test_code_in_the_recorder_is_neutralised(tmp_path):
    marker = tmp_path / 'ran'
    payload = RunsCode(builtins.exec, f'open({str(marker)!r}, "w")')
    src, out = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    official_file(src, recorder=payload)
    run_tool_main(TOOL, [src, out, '--dataset', 'dfew'])
    assert not marker.exists()  # exec became an inert stand-in
    assert out.exists()


def test_code_from_a_blocked_module_is_refused(tmp_path):
    marker = tmp_path / 'ran'
    payload = RunsCode(os.system, f'touch {marker}')
    src, out = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    official_file(src, recorder=payload)
    run = call_tool_main(TOOL, [src, out, '--dataset', 'dfew'])
    assert run.returncode != 0
    assert 'was refused' in run.stderr and 'system' in run.stderr
    assert not marker.exists() and not out.exists()


def test_other_files_are_named_not_official(tmp_path):
    src = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.weight': torch.zeros(2)}}, src)
    run = call_tool_main(TOOL, [src, tmp_path / 'o.pth', '--dataset',
                                'dfew'])
    assert run.returncode != 0 and 'Not an official DFER-CLIP' in run.stderr
    run = call_tool_main(TOOL, [tmp_path / 'missing.pth', tmp_path / 'o.pth',
                                '--dataset', 'dfew'])
    assert run.returncode != 0 and 'No such checkpoint' in run.stderr


def test_the_dataset_must_fit_the_class_count(tmp_path):
    src = tmp_path / 'official.pth'
    official_file(src, 'dfew')  # 7 classes
    run = call_tool_main(TOOL, [src, tmp_path / 'o.pth', '--dataset',
                                'mafw'])
    assert run.returncode != 0
    assert 'prompts for 7 classes, the dataset 11' in run.stderr


def test_loaders_name_the_converter_for_official_files(tmp_path):
    src = tmp_path / 'official.pth'
    official_file(src)
    with pytest.raises(ForeignCheckpointError,
                       match='tools/model_converters/dfer_clip.py'):
        read_checkpoint(str(src))  # the released file, with its recorder
    bare = tmp_path / 'bare.pth'
    official_file(bare, bare=True)
    with pytest.raises(CheckpointError,
                       match='tools/model_converters/dfer_clip.py'):
        load_weights(_meta_model('dfew'), str(bare))
