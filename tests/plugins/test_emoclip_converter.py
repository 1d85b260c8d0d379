"""An official-layout EmoCLIP checkpoint converts and loads strictly."""
import math

import pytest
import torch

from fineclip.apis import enable_local_imports
from fineclip.models.clip import build_clip
from tests.conftest import TINY_ARCH
from tests.helpers import ROOT, call_tool_main, run_tool_main

TOOL = 'tools/model_converters/emoclip.py'
WIDTH, HEADS, HEAD, MLP, DEPTH = 32, 4, 16, 64, 2


def official_state_dict():
    """What the official train.py saves for a VClip of these sizes: the
    DDP model's state dict, written here from the official names."""
    torch.manual_seed(0)
    sd = {f'module.backbone.{k}': v
          for k, v in build_clip(TINY_ARCH).state_dict().items()}
    inner = HEADS * HEAD
    sd['module.temporal.cls_token'] = torch.randn(1, 1, WIDTH)
    sd['module.temporal.pos_embedding'] = torch.randn(1, 1024, WIDTH)
    shapes = {
        '0.fn.norm.weight': (WIDTH, ), '0.fn.norm.bias': (WIDTH, ),
        '0.fn.fn.to_qkv.weight': (3 * inner, WIDTH),
        '0.fn.fn.to_out.0.weight': (WIDTH, inner),
        '0.fn.fn.to_out.0.bias': (WIDTH, ),
        '1.fn.norm.weight': (WIDTH, ), '1.fn.norm.bias': (WIDTH, ),
        '1.fn.fn.net.0.weight': (MLP, WIDTH), '1.fn.fn.net.0.bias': (MLP, ),
        '1.fn.fn.net.3.weight': (WIDTH, MLP), '1.fn.fn.net.3.bias': (WIDTH, ),
    }
    for i in range(DEPTH):
        for name, shape in shapes.items():
            key = f'module.temporal.temporal_transformer.layers.{i}.{name}'
            sd[key] = torch.randn(shape)
    sd['module.logit_scale'] = torch.tensor(math.log(42.))
    return sd


def test_official_checkpoint_converts_and_loads_strictly(tmp_path,
                                                        monkeypatch):
    official = official_state_dict()
    src, out = tmp_path / 'fold_1.pth', tmp_path / 'converted.pth'
    torch.save(official, src)
    log = run_tool_main(TOOL, [src, out], cwd=str(tmp_path))
    assert f'{len(official)} tensors' in log
    converted = torch.load(out, weights_only=True)
    assert converted['meta']['converted_from'] == str(src)

    monkeypatch.chdir(ROOT)
    enable_local_imports()
    from fineclip.registry import MODELS
    import plugins.emoclip  # noqa: F401
    model = MODELS.build(dict(
        type='EmoCLIP', clip=dict(type='OpenCLIP', arch=TINY_ARCH),
        branches=dict(
            video=dict(type='EmoCLIPVideoBranch',
                       temporal=dict(type='EmoCLIPTemporalTransformer',
                                     depth=DEPTH, heads=HEADS,
                                     head_width=HEAD, mlp_width=MLP)),
            caption=dict(type='EmoCLIPCaptionBranch')),
        class_names=['Happy', 'Sad']))
    model.load_state_dict(converted['state_dict'], strict=True)
    temporal = model.branches.video.temporal
    prefix = 'module.temporal.temporal_transformer.layers.1.'
    assert torch.equal(temporal.class_token,
                       official['module.temporal.cls_token'])
    assert torch.equal(temporal.layers[1].qkv.weight,
                       official[prefix + '0.fn.fn.to_qkv.weight'])
    assert torch.equal(temporal.layers[1].mlp[2].bias,
                       official[prefix + '1.fn.fn.net.3.bias'])
    assert model.logit_scale.item() == pytest.approx(math.log(42.))
    assert torch.equal(model.clip.visual.conv1.weight,
                       official['module.backbone.visual.conv1.weight'])


def test_a_file_of_another_model_is_refused_naming_its_keys(tmp_path):
    src = tmp_path / 'other.pth'
    torch.save({'module.head.weight': torch.zeros(2)}, src)
    run = call_tool_main(TOOL, [src, tmp_path / 'out.pth'])
    assert run.returncode != 0
    assert 'module.head.weight' in run.stderr
    assert 'module.temporal.*' in run.stderr
    assert not (tmp_path / 'out.pth').exists()
