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
                         recursive=True) if '_base_' not in p)


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
