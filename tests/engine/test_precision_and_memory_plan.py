"""Training precision (bf16 autocast without loss scaling) and the memory
plan (micro-batches with accumulation, then checkpointing) keep the
recipe: the same effective batch, the same update."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from torch import nn

from fineclip.engine.memory_plan import (ESTIMATE_MARGIN, apply_memory_plan,
                                         build_shape_model,
                                         enable_grad_checkpointing,
                                         plan_memory)
from fineclip.engine.precision import (AutocastOptimWrapper,
                                       precision_optim_wrapper,
                                       resolve_precision)
from fineclip.models.memory import estimate_train_bytes
from fineclip.registry import MODELS
from fineclip.structures import DFERDataSample
from tests.conftest import CLASSES, tiny_model_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_autocast_wrapper_runs_bf16_without_a_loss_scale():
    layer = nn.Linear(4, 4)
    optim = AutocastOptimWrapper(
        optimizer=torch.optim.SGD(layer.parameters(), lr=0.1))
    assert not hasattr(optim, 'loss_scaler')
    with optim.optim_context(layer):
        out = layer(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16
    before = layer.weight.detach().clone()
    optim.update_params(out.float().square().mean())
    assert layer.weight.dtype == torch.float32  # fp32 master weights
    assert not torch.equal(before, layer.weight)
    with pytest.raises(ValueError, match='loss scaling'):
        AutocastOptimWrapper(dtype='float16', optimizer=optim.optimizer)


def test_precision_settings_keep_the_optimiser_and_refuse_the_unknown():
    cfg = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=1e-3),
               clip_grad=dict(max_norm=20))
    bf16 = precision_optim_wrapper(cfg, 'bf16')
    assert bf16['type'] == 'AutocastOptimWrapper'
    assert bf16['optimizer'] == cfg['optimizer'] and bf16['clip_grad']
    assert precision_optim_wrapper(bf16, 'fp32')['type'] == 'OptimWrapper'
    with pytest.raises(ValueError, match='needs a CUDA GPU'):
        resolve_precision('fp16', 'cpu')
    with pytest.raises(ValueError, match='not one of'):
        resolve_precision('int8', 'cpu')
    with pytest.raises(ValueError, match='precision=None'):
        precision_optim_wrapper(dict(type='MyWrapper'), 'bf16')


def _batch(model, n):
    torch.manual_seed(1)
    frames = torch.randint(0, 255, (n, 4, 3, 32, 32), dtype=torch.uint8)
    samples = [DFERDataSample().set_gt_label(i % len(CLASSES))
               for i in range(n)]
    return model.data_preprocessor(
        dict(inputs=[dict(frames=f) for f in frames], data_samples=samples),
        training=True)


def _one_step(micro, counts):
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    for module in model.modules():  # adapters away from their zero init
        if hasattr(module, 'fc_up'):
            nn.init.normal_(module.fc_up.weight, std=0.1)
    model.train()
    optim = OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                        lr=1.0), accumulative_counts=counts)
    data = _batch(model, micro * counts)
    for start in range(0, micro * counts, micro):
        part = {k: v[start:start + micro] for k, v in data['inputs'].items()}
        losses = model(part, data['data_samples'][start:start + micro],
                       mode='loss')
        optim.update_params(losses['loss'])
    return {n: p.detach() for n, p in model.named_parameters()
            if p.requires_grad}


def test_micro_batches_with_accumulation_give_the_whole_batch_update():
    whole = _one_step(micro=8, counts=1)
    micro = _one_step(micro=2, counts=4)
    for name, value in whole.items():
        # fp32 sums taken in another order: measured up to 2.7e-6 apart on
        # an AVX-512 machine (updates of 0.1-1 at lr 1); a micro-batch lost
        # or weighted wrongly moves a weight by a share of its update.
        assert torch.allclose(value, micro[name], atol=2e-5, rtol=1e-4), name
    # the step moved the adapters (lr 1): the comparison is not vacuous
    torch.manual_seed(0)
    init = {n: p.detach() for n, p in MODELS.build(
        tiny_model_cfg()).named_parameters() if p.requires_grad}
    assert sum(not torch.allclose(init[n], whole[n]) for n in init) > 0


@pytest.fixture(scope='module')
def star_dagger_cfg():
    from fineclip.apis import load_config
    return load_config(osp.join(ROOT, 'configs',
                                'fineclip_star_dagger_dfew.py'))


def test_checkpointing_reaches_every_encoder_of_the_full_model(
        star_dagger_cfg):
    cfg = star_dagger_cfg.copy()
    switched = enable_grad_checkpointing(cfg.model)
    assert sorted(switched) == [
        'model.branches.description.encoder',
        'model.branches.face_maps.encoder', 'model.branches.video.encoder',
        'model.text_encoder']


def test_plan_splits_first_then_checkpoints_keeping_the_batch(
        star_dagger_cfg):
    model = build_shape_model(star_dagger_cfg.model, len(CLASSES))
    assert next(model.parameters()).is_meta  # shapes only, no weights

    def need(clips, ckpt):
        return estimate_train_bytes(model, clips, True, ckpt)['total'] * \
            ESTIMATE_MARGIN

    # the whole batch fits
    plan = plan_memory(model, 16, True, int(need(16, False)) + 1)
    assert (plan.micro_batch, plan.grad_checkpointing) == (16, False)
    # it does not, 4 clips do: 4 micro-batches of 4
    plan = plan_memory(model, 16, True, int(need(4, False)) + 1)
    assert (plan.micro_batch, plan.accumulative_counts,
            plan.grad_checkpointing) == (4, 4, False)
    # 4 clips do not either: checkpointing at the largest micro-batch
    budget = int(max(need(8, True), need(2, False))) + 1
    plan = plan_memory(model, 16, True, budget)
    assert plan.grad_checkpointing and plan.micro_batch == 8 and plan.fits
    # nothing fits: the smallest step, said so
    plan = plan_memory(model, 16, True, 1)
    assert not plan.fits and 'above the budget' in plan.describe()
    # the plan written into a config keeps the effective batch
    cfg = Config(dict(model=star_dagger_cfg.model.to_dict(),
                      train_dataloader=dict(batch_size=16),
                      optim_wrapper=dict(type='OptimWrapper',
                                         optimizer=dict(type='SGD', lr=1))))
    apply_memory_plan(cfg, plan_memory(model, 16, True, budget))
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.accumulative_counts == 2
    assert cfg.model.branches.face_maps.encoder.grad_checkpointing
    # MMEngine takes the result as it is
    wrapper = build_optim_wrapper(nn.Linear(2, 2), cfg.optim_wrapper)
    assert wrapper._accumulative_counts == 2
