"""Every config under configs/ loads and builds its model (offline).

The builds are ``build_model(path, shapes_only=True, device='meta')``, as
``tools/analysis/count_params.py`` builds: every weight file nulled, and
parameters with shapes but no storage (a ViT-B/16 model in 0.1 s instead
of 1 s of random initialisation). The CPU build at these shapes is
tests/models/test_fake_cuda_device.py's."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from fineclip.apis import build_model, enable_local_imports

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p and 'ablations' not in p and '_to_' not in p)
# Ablations are one-line changes of a main config; they are compared with
# it below instead of building 15 more ViT-B/16 models. So are the
# zero-shot targets: a source config with another test set.
ABLATIONS = sorted(glob.glob(osp.join(ROOT, 'configs', 'ablations', '*.py')))
ZERO_SHOT_TARGETS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'zeroshot', '*_to_*.py')))


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds_its_model(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    enable_local_imports()
    cfg = Config.fromfile(path)
    model = build_model(path, shapes_only=True, device='meta')
    assert all(p.is_meta for p in model.parameters())
    assert len(model.class_names) >= 7
    tunable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert tunable > 0
    # The CLIP is frozen but for the parts a config fine-tunes on purpose
    # (DFER-CLIP's image tower).
    trainable = cfg.model.clip.get('trainable', ())
    for name, param in model.clip.named_parameters():
        assert param.requires_grad == name.startswith(tuple(trainable)), name
    for key in ('train_dataloader', 'test_dataloader', 'test_evaluator'):
        assert key in cfg


def test_plugin_config_builds_the_plugin_part(monkeypatch):
    monkeypatch.chdir(ROOT)
    enable_local_imports()
    model = build_model(
        osp.join(ROOT, 'configs/plugins/fineclip_uniform_fusion_synthetic.py'),
        shapes_only=True, device='meta')
    assert type(model.fusion).__name__ == 'UniformFusion'
    assert type(model.fusion).__module__ == 'plugins.uniform_fusion'


@pytest.mark.parametrize('config, paper', [
    ('fineclip_dfew.py', 13e6), ('fineclip_star_dfew.py', 19e6),
    ('fineclip_dagger_dfew.py', 14e6), ('fineclip_star_dagger_dfew.py', 20e6)
])
def test_paper_parameter_budget_at_vit_b16(config, paper):
    """Tunable parameters at ViT-B/16 within 20% of the paper's Tab 1."""
    model = build_model(osp.join(ROOT, 'configs', config), shapes_only=True,
                        device='meta')
    tunable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert abs(tunable - paper) <= 0.2 * paper, tunable


def _flatten(value, prefix=''):
    """``{dotted.key: leaf}`` of a config dict (lists are leaves)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f'{prefix}.{key}' if prefix else key))
        return out
    return {prefix: value}


_PIPELINES = ['train_dataloader.dataset.pipeline',
              'val_dataloader.dataset.pipeline',
              'test_dataloader.dataset.pipeline']
# What each kind of ablation may change relative to the config it names as
# its base (dotted prefixes); anything else differing is a mistake.
ALLOWED_CHANGES = {
    'fixed_alpha': ['model.fusion'],
    'parsing_only': ['model.branches.face_maps.modalities', 'modalities',
                     *_PIPELINES],
    'landmarks_only': ['model.branches.face_maps.modalities', 'modalities',
                       *_PIPELINES],
    'tab6_': ['model.label_augmenter', 'model.text_encoder.stacks',
              'model.branches.video.encoder.t_adapter',
              'model.branches.video.encoder.s_adapter',
              'model.branches.video.encoder.mlp_adapter'],
    'tab7_': ['model.label_augmenter'],
    'tab9_': ['model.branches.video.encoder.mlp_scale'],
    'tab4_': ['model.branches', 'model.fusion'],
}


@pytest.mark.parametrize('path', ABLATIONS,
                         ids=[osp.basename(p) for p in ABLATIONS])
def test_ablation_changes_only_what_it_names(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = Config.fromfile(path)
    base = Config.fromfile(osp.join(osp.dirname(path), _base_of(path)))
    name = osp.basename(path)
    kinds = [k for k in ALLOWED_CHANGES if k in name]
    assert len(kinds) == 1, f'{name}: add its kind to ALLOWED_CHANGES'
    ours, theirs = _flatten(cfg.to_dict()), _flatten(base.to_dict())
    changed = {k for k in set(ours) | set(theirs)
               if ours.get(k, '<absent>') != theirs.get(k, '<absent>')}
    assert changed, f'{name} changes nothing'
    unexpected = [k for k in changed
                  if not k.startswith(tuple(ALLOWED_CHANGES[kinds[0]]))]
    assert not unexpected, f'{name} also changes {unexpected}'
    if 'fixed_alpha' in name:
        alpha = int(name.split('alpha0')[1][0]) / 10
        assert cfg.model.fusion == dict(type='FixedFusion', alpha=alpha,
                                        primary='video')
    if kinds[0] in ('parsing_only', 'landmarks_only'):
        modality = 'parsing' if 'parsing_only' in name else 'landmarks'
        assert cfg.model.branches.face_maps.modalities == (modality, )
        for loader in ('train_dataloader', 'test_dataloader'):
            render = [t for t in cfg[loader].dataset.pipeline
                      if t['type'] == 'RenderFaceMaps']
            assert render[0]['modalities'] == (modality, )


def _base_of(path):
    with open(path) as f:
        for line in f:
            if line.startswith('_base_'):
                return line.split("'")[1]
    raise AssertionError(f'{path} names no _base_')


@pytest.mark.parametrize('path', ZERO_SHOT_TARGETS,
                         ids=[osp.basename(p) for p in ZERO_SHOT_TARGETS])
def test_zero_shot_target_changes_only_the_test_set(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = Config.fromfile(path)
    base = Config.fromfile(osp.join(osp.dirname(path), _base_of(path)))
    ours, theirs = _flatten(cfg.to_dict()), _flatten(base.to_dict())
    changed = {k for k in set(ours) | set(theirs)
               if ours.get(k, '<absent>') != theirs.get(k, '<absent>')}
    unexpected = [k for k in changed
                  if not k.startswith(('test_dataloader.dataset',
                                       'embedded_default.synthetic_data',
                                       'allow_class_mismatch'))]
    assert not unexpected, f'{path} also changes {unexpected}'
    # tested on the target's classes on purpose (tools/test.py refuses a
    # checkpoint of other classes otherwise)
    assert cfg.allow_class_mismatch is True
    # the target named in the file name is the one tested
    target = osp.basename(path)[:-3].split('_to_')[1]
    assert cfg.test_dataloader.dataset.type.lower().startswith(target)
    assert cfg.test_dataloader.dataset.split == 'test'
    assert cfg.model.type == 'ZeroShotFineCLIPER'


def test_meta_builds_have_no_weights_to_load():
    config = osp.join(ROOT, 'configs/synthetic/fineclip_synthetic.py')
    with pytest.raises(ValueError, match='shapes_only=True'):
        build_model(config, device='meta')
    with pytest.raises(ValueError, match='no checkpoint'):
        build_model(config, ROOT + '/README.md', shapes_only=True,
                    device='meta')
