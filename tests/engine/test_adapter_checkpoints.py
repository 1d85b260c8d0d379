"""Adapter-only checkpoints: what they keep, how they load, what they
refuse."""
import pytest
import torch
from mmengine.registry import MODELS

from fineclip.engine.checkpoints import (CheckpointError, FROZEN_KEY,
                                         complete_state_dict, load_weights,
                                         strip_frozen)
from tests.conftest import tiny_model_cfg


def build(seed):
    torch.manual_seed(seed)
    return MODELS.build(tiny_model_cfg())


def test_strip_keeps_only_what_trains_and_complete_restores_it():
    model = build(0)
    full = model.state_dict()
    ckpt = strip_frozen({'state_dict': dict(full)}, model,
                        source={'clip': {'pretrained': 'x.pt'}})
    kept = ckpt['state_dict']
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable <= set(kept)
    assert not any(k.startswith('clip.') for k in kept)
    assert ckpt[FROZEN_KEY]['source'] == {'clip': {'pretrained': 'x.pt'}}
    assert ckpt[FROZEN_KEY]['num_params'] == sum(
        p.numel() for p in model.parameters() if not p.requires_grad)

    same = build(0)  # the same frozen weights, rebuilt from their "source"
    with torch.no_grad():  # adapters differ: they must come from the file
        for p in same.parameters():
            if p.requires_grad:
                p.add_(1.0)
    complete_state_dict(ckpt, same)
    same.load_state_dict(ckpt['state_dict'], strict=True)
    for name, tensor in same.state_dict().items():
        assert torch.equal(tensor, full[name]), name


def test_a_model_with_other_frozen_weights_is_refused(tmp_path):
    model = build(0)
    ckpt = strip_frozen({'state_dict': model.state_dict(), 'meta': {}},
                        model, source={'clip': {'pretrained': 'a.pt'}})
    with pytest.raises(RuntimeError, match='other frozen weights'):
        complete_state_dict(ckpt, build(1))
    path = str(tmp_path / 'adapters.pth')
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match='a.pt'):
        load_weights(build(1), path)
    assert load_weights(build(0), path) == {}


def test_full_checkpoints_load_unchanged(tmp_path):
    model = build(0)
    path = str(tmp_path / 'full.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'x': 1}}, path)
    other = build(1)
    assert load_weights(other, path) == {'x': 1}
    for name, tensor in other.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name


def test_safetensors_export_loads_like_the_checkpoint(tmp_path):
    from fineclip.engine.checkpoints import export_safetensors
    model = build(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.5)
    ckpt = strip_frozen({'state_dict': model.state_dict(),
                         'meta': {'dataset_meta': {'classes': ['a', 'b']}}},
                        model, source={'clip': {'pretrained': 'x.pt'}})
    out = str(tmp_path / 'adapters.safetensors')
    info = export_safetensors(ckpt, out)
    assert info['tensors'] == len(ckpt['state_dict'])
    fresh = build(0)
    meta = load_weights(fresh, out)
    assert meta == {'dataset_meta': {'classes': ['a', 'b']}}
    for name, tensor in fresh.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name
    with pytest.raises(CheckpointError, match='other frozen weights'):
        load_weights(build(1), out)
