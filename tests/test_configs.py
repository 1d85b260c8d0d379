"""Every config under configs/ loads and builds its model (offline)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from fineclip.apis import enable_local_imports
from fineclip.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p and 'ablations' not in p)
# Ablations are one-line changes of a main config; they are compared with
# it below instead of building 15 more ViT-B/16 models.
ABLATIONS = sorted(glob.glob(osp.join(ROOT, 'configs', 'ablations', '*.py')))


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds_its_model(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    enable_local_imports()
    cfg = Config.fromfile(path)
    cfg.model.clip.pretrained = None  # shapes only; weights are not here
    model = MODELS.build(cfg.model)
    tunable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert tunable > 0
    assert not any(p.requires_grad for p in model.clip.parameters())
    for key in ('train_dataloader', 'test_dataloader', 'test_evaluator'):
        assert key in cfg


def test_plugin_config_builds_the_plugin_part(monkeypatch):
    monkeypatch.chdir(ROOT)
    enable_local_imports()
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs/plugins/fineclip_uniform_fusion_synthetic.py'))
    cfg.model.clip.pretrained = None
    model = MODELS.build(cfg.model)
    assert type(model.fusion).__name__ == 'UniformFusion'
    assert type(model.fusion).__module__ == 'plugins.uniform_fusion'


def test_paper_parameter_budget_at_vit_b16():
    """FineCLIPER tunes about 13M parameters at ViT-B/16 (paper Tab 1)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs/fineclip_dfew.py'))
    cfg.model.clip.pretrained = None
    model = MODELS.build(cfg.model)
    tunable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert abs(tunable - 13e6) <= 0.2 * 13e6


def test_star_parameter_budget_at_vit_b16():
    """FineCLIPER* tunes about 19M parameters at ViT-B/16 (paper Tab 1)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs/fineclip_star_dfew.py'))
    cfg.model.clip.pretrained = None
    model = MODELS.build(cfg.model)
    tunable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert abs(tunable - 19e6) <= 0.2 * 19e6


def _without(cfg_dict, *paths):
    """``cfg_dict`` (plain dicts) with the keys at dotted ``paths`` dropped."""
    for path in paths:
        *parents, leaf = path.split('.')
        node = cfg_dict
        for key in parents:
            node = node[key]
        node.pop(leaf)
    return cfg_dict


@pytest.mark.parametrize('path', ABLATIONS,
                         ids=[osp.basename(p) for p in ABLATIONS])
def test_ablation_changes_only_what_it_names(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = Config.fromfile(path)
    base = Config.fromfile(osp.join(osp.dirname(path), _base_of(path)))
    name = osp.basename(path)
    if 'fixed_alpha' in name:
        alpha = int(name.split('alpha0')[1][0]) / 10
        assert cfg.model.fusion == dict(type='FixedFusion', alpha=alpha,
                                        primary='video')
        changed = ['model.fusion']
    else:
        modality = 'parsing' if 'parsing_only' in name else 'landmarks'
        assert cfg.model.branches.face_maps.modalities == (modality, )
        for loader in ('train_dataloader', 'test_dataloader'):
            render = [t for t in cfg[loader].dataset.pipeline
                      if t['type'] == 'RenderFaceMaps']
            assert render[0]['modalities'] == (modality, )
        changed = ['model.branches.face_maps.modalities',
                   'train_dataloader.dataset.pipeline',
                   'val_dataloader.dataset.pipeline',
                   'test_dataloader.dataset.pipeline', 'modalities']
    ours = _without(cfg.to_dict(), *changed)
    theirs = _without(base.to_dict(), *[c for c in changed
                                        if c != 'modalities'])
    assert ours == theirs


def _base_of(path):
    with open(path) as f:
        for line in f:
            if line.startswith('_base_'):
                return line.split("'")[1]
    raise AssertionError(f'{path} names no _base_')
