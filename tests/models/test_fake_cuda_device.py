"""Device hygiene without a GPU: every variant on a fake CUDA device.

Each model (FineCLIPER, *, †, *† and the DFER-CLIP plugin) is built on the
CPU from its real-data config (random CLIP weights, no download) and then
moved, inside ``torch._subclasses.fake_tensor.FakeTensorMode``, to
``cuda``: once at the config's real shapes (ViT-B/16 or B/32, 16 frames of
224 px) for the training forward and predict, and on the tiny CLIP (the
same structure, 2 layers) for the autocast and backward checks, which
would otherwise cost a minute more; ``FINECLIP_FAKE_DEVICE_REAL_SHAPES=1``
runs those at the real shapes too. Fake tensors
carry shapes, dtypes and devices but no data, so a whole ViT-B/16 step costs
about a second and no CUDA is needed. Any tensor the code makes inside a
forward, a loss, a fusion or the data preprocessor without saying where is
a fake *CPU* tensor, and mixing it with the model's fake CUDA tensors fails
exactly as on a real GPU ("Expected all tensors to be on the same device").
A real tensor that escaped the move (a plain tensor attribute, a cache
filled before ``.to``) fails too: the mode is built with
``allow_non_fake_inputs=False``.

Two things a CPU-only machine cannot fake, and what is done instead:

- The backward pass. The autograd engine of a CUDA build of torch asks the
  CUDA driver for the current stream of every CUDA device a graph touches
  (``GraphTask::stash_current_streams``), which fails without a driver. The
  backward check therefore runs on the ``meta`` device, also fake, which
  the engine treats as a plain device: a CPU tensor made in the backward
  (gradient checkpointing recomputes the forward there) fails the same
  way. Where fake CUDA backward works (a machine with a GPU), it uses
  ``cuda``.
- Values. The metric reads predictions back with ``int()``/``float()``;
  fake tensors have no values, so :class:`OnDevice` (a wrapper that
  reports ``cuda`` and holds CPU data) stands in for the predictions there.
"""
import contextlib
import inspect
import os
import os.path as osp

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import ShapeEnv
from torch.utils._pytree import tree_map

from fineclip.apis.benchmark import _build, _model_inputs
from fineclip.structures import DFERDataSample

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BATCH = 2

VARIANTS = [
    pytest.param('configs/fineclip_dfew.py', id='FineCLIPER'),
    pytest.param('configs/fineclip_star_dfew.py', id='FineCLIPER*'),
    pytest.param('configs/fineclip_dagger_dfew.py', id='FineCLIPER-dagger'),
    pytest.param('configs/fineclip_star_dagger_dfew.py',
                 id='FineCLIPER*-dagger'),
    pytest.param('configs/plugins/dfer_clip_dfew.py', id='DFER-CLIP'),
]


# --- the fake device -------------------------------------------------------
@contextlib.contextmanager
def fake_mode():
    """A FakeTensorMode that refuses real tensors.

    The shape environment lets ``.item()``/``.tolist()`` (``predict`` turns
    each branch's argmax into Python ints) return symbolic integers instead
    of failing for want of data.
    """
    mode = FakeTensorMode(allow_non_fake_inputs=False, shape_env=ShapeEnv())
    with mode:
        yield mode


def place(module: torch.nn.Module, mode: FakeTensorMode, device: str):
    """Moves a real ``module`` onto fake ``device`` the way a Runner does,
    with ``module.to(device)``; real tensors are let in only for the move.

    Fake parameters cannot be moved a second time (``_apply`` would swap
    tensors that the mode holds weak references to), hence one placement
    per copy of the model.
    """
    mode.allow_non_fake_inputs = True
    try:
        module.to(device)
    finally:
        mode.allow_non_fake_inputs = False
    return module


def stray_tensors(module: torch.nn.Module, device: str):
    """Tensors of ``module`` that are not on ``device``: parameters and
    buffers, and plain tensor attributes, which ``.to`` does not move."""
    found = [name for name, t in list(module.named_parameters())
             + list(module.named_buffers()) if t.device.type != device]
    for name, sub in module.named_modules():
        for attr, value in vars(sub).items():
            if isinstance(value, torch.Tensor) and \
                    value.device.type != device:
                found.append(f'{name}.{attr}')
    return found


def devices(tree):
    """Device types of every tensor in a nested structure of tensors."""
    found = set()
    tree_map(lambda t: found.add(t.device.type)
             if isinstance(t, torch.Tensor) else None, tree)
    return found


@pytest.fixture
def fake_cuda_autocast(monkeypatch):
    """Lets ``torch.autocast('cuda')`` switch on without a CUDA driver.

    autocast only asks whether CUDA is there (and can do bf16) before
    setting its thread-local state; the casts themselves are dispatcher
    rules that fake tensors follow.
    """
    monkeypatch.setattr(torch.cuda.amp.common,
                        'amp_definitely_not_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported',
                        lambda *args, **kwargs: True)


def backward_device() -> str:
    """``cuda`` where fake CUDA tensors can run backward, else ``meta``
    (see the module docstring)."""
    layer = torch.nn.Linear(2, 2)
    with fake_mode() as mode:
        place(layer, mode, 'cuda')
        try:
            layer(torch.randn(1, 2, device='cuda')).sum().backward()
        except RuntimeError as err:
            if 'hasPrimaryContext' not in str(err):
                raise
            return 'meta'
    return 'cuda'


# --- the models --------------------------------------------------------------
def build_on_cpu(config: str, cfg_options=None) -> torch.nn.Module:
    """The benchmark's build of ``config`` at its real shapes, on the CPU.

    The benchmark's builder grows options as the training defaults do; only
    the ones it has are passed.
    """
    options = dict(batch=BATCH, precision='config', max_memory_gb=None)
    accepted = inspect.signature(_build).parameters
    return _build(osp.join(ROOT, config), cfg_options, 'config', False,
                  torch.device('cpu'),
                  **{k: v for k, v in options.items() if k in accepted})[0]


def tiny_with_checkpointing(config: str) -> torch.nn.Module:
    """``config``'s model on the tiny CLIP (ViT-B/16's structure, 2 layers,
    32 px; 16 frames as configured), gradient checkpointing on wherever a
    part has it, as training may turn it on. A fake pass costs per op, not
    per element, and 2 layers have a sixth of the ops of 12; every variant
    also runs at its real shapes (the first test)."""
    tiny = {'model.clip.arch': 'fineclip-tiny'}
    if os.environ.get('FINECLIP_FAKE_DEVICE_REAL_SHAPES') == '1':
        tiny = None
    elif 'dagger' in config:
        # Long-CLIP's stretch of the tiny tower's 24 positions (keep 20)
        tiny['model.branches.description.encoder.context_length'] = 36
    model = build_on_cpu(config, tiny)
    for module in model.modules():
        if isinstance(getattr(module, 'grad_checkpointing', None), bool):
            module.grad_checkpointing = True
    return model


def clip_batch(model, num_classes: int) -> dict:
    """A batch as the dataloader gives it: per-clip CPU tensors (uint8
    images, int64 tokens) and data samples, made inside the fake mode."""
    inputs = _model_inputs(model, BATCH, 'cpu')
    clips = []
    for i in range(BATCH):
        clip = {}
        for key, value in inputs.items():
            value = value[i]
            if value.is_floating_point():  # images arrive as uint8
                value = value.clamp(0, 1).mul(255).to(torch.uint8)
            clip[key] = value
        clips.append(clip)
    samples = [DFERDataSample().set_gt_label(i % num_classes)
               for i in range(BATCH)]
    return dict(inputs=clips, data_samples=samples)


def check_predictions(samples, device):
    for sample in samples:
        for key in ('pred_score', 'pred_label', 'branch_weights'):
            assert sample.get(key).device.type == device, key
        assert sample.pred_score.dtype == torch.float32


# --- the variants ------------------------------------------------------------
@pytest.mark.parametrize('config', VARIANTS)
def test_train_and_predict_on_fake_cuda(config, monkeypatch):
    """Preprocessor -> loss forward -> parse_losses, and test_step predict,
    at the real shapes on the fake CUDA device."""
    # custom_imports (the DFER-CLIP plugin) resolve from the working folder
    monkeypatch.chdir(ROOT)
    model = build_on_cpu(config)
    with fake_mode() as mode:
        place(model, mode, 'cuda')
        assert stray_tensors(model, 'cuda') == []
        batch = clip_batch(model, len(model.class_names))

        model.train()
        data = model.data_preprocessor(batch, training=True)
        assert devices(data['inputs']) == {'cuda'}
        assert devices([s.gt_label for s in data['data_samples']]) == {
            'cuda'}
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        assert devices(losses) == {'cuda'} and loss.device.type == 'cuda'

        model.eval()
        with torch.no_grad():
            check_predictions(model.test_step(batch), 'cuda')


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16],
                         ids=['bf16', 'fp16'])
@pytest.mark.parametrize('config', VARIANTS)
def test_autocast_on_fake_cuda(config, dtype, fake_cuda_autocast,
                               monkeypatch):
    """Loss and predict under CUDA autocast, gradient checkpointing on, on
    the tiny CLIP (see :func:`tiny_with_checkpointing`)."""
    monkeypatch.chdir(ROOT)
    model = tiny_with_checkpointing(config)
    with fake_mode() as mode:
        place(model, mode, 'cuda')
        batch = clip_batch(model, len(model.class_names))
        model.train()
        data = model.data_preprocessor(batch, training=True)
        with torch.autocast('cuda', dtype=dtype):
            assert torch.is_autocast_enabled('cuda')
            losses = model(**data, mode='loss')
        assert devices(losses) == {'cuda'}
        # the PN similarities and the loss stay in fp32 (similarity.py)
        assert losses['loss'].dtype == torch.float32
        model.eval()
        with torch.no_grad(), torch.autocast('cuda', dtype=dtype):
            check_predictions(model.test_step(batch), 'cuda')


@pytest.mark.parametrize('config', VARIANTS)
def test_gradients_land_on_the_device(config, monkeypatch):
    """Loss backward with gradient checkpointing on: every trainable
    parameter gets a gradient on the device, no frozen one gets any. On the
    tiny CLIP, as the autocast test."""
    device = backward_device()
    monkeypatch.chdir(ROOT)
    model = tiny_with_checkpointing(config)
    with fake_mode() as mode:
        place(model, mode, device)
        model.train()
        data = model.data_preprocessor(
            clip_batch(model, len(model.class_names)), training=True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        loss.backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable
    missing = [n for n, p in trainable.items() if p.grad is None]
    assert missing == [], f'no gradient reached {missing[:5]}'
    elsewhere = [n for n, p in trainable.items()
                 if p.grad.device.type != device]
    assert elsewhere == []
    frozen = [n for n, p in model.named_parameters()
              if not p.requires_grad and p.grad is not None]
    assert frozen == []


# --- fusions and the metric ------------------------------------------------
@pytest.mark.parametrize('fusion', [
    dict(type='AdaptiveFusion'),
    dict(type='AdaptiveFusion', detach=False),
    dict(type='FixedFusion', alpha=0.6),
])
@pytest.mark.parametrize('branches', [1, 3])
def test_fusions_on_fake_cuda(fusion, branches, fake_cuda_autocast):
    from functools import partial

    from fineclip.models.similarity import pn_similarity
    from fineclip.registry import FUSIONS
    names = ['video', 'parsing', 'landmarks'][:branches]
    strategy = FUSIONS.build(fusion)
    with fake_mode():
        prompts = torch.randn(7, 16, device='cuda', requires_grad=True)
        similarity = partial(pn_similarity, positive=prompts,
                             negative=prompts.flip(0))
        labels = torch.arange(4, device='cuda') % 7
        for dtype in (None, torch.bfloat16, torch.float16):
            with torch.autocast('cuda', dtype=dtype or torch.float16,
                                enabled=dtype is not None):
                feats = {n: torch.randn(4, 16, device='cuda') for n in names}
                fused, weights, sims = strategy(feats, similarity)
                losses = strategy.loss(sims, weights, labels, 0.01)
            assert devices((fused, weights, sims, losses)) == {'cuda'}
            assert weights.shape == (4, branches)


class OnDevice(torch.Tensor):
    """Real CPU values that report a CUDA device.

    The metric needs values, which fake tensors lack. Like a real CUDA
    tensor this one meets only others of its kind (or 0-dim CPU scalars) in
    an op and cannot become a numpy array; ``int()``/``float()`` read its
    value as ``.item()`` would on a GPU.
    """

    @staticmethod
    def __new__(cls, data: torch.Tensor):
        return torch.Tensor._make_wrapper_subclass(
            cls, data.shape, dtype=data.dtype, device='cuda',
            strides=data.stride())

    def __init__(self, data: torch.Tensor):
        self.values = data

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        def unwrap(t):
            if isinstance(t, OnDevice):
                return t.values
            if isinstance(t, torch.Tensor) and t.dim() > 0:
                raise RuntimeError(f'{func}: a {t.device} tensor met a cuda '
                                   'tensor')
            return t

        out = func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs or {}))
        to_cpu = (func is torch.ops.aten._to_copy.default
                  and torch.device((kwargs or {}).get('device', 'cuda')).type
                  == 'cpu')
        return out if to_cpu else tree_map(
            lambda t: cls(t) if isinstance(t, torch.Tensor) else t, out)


def test_metric_reads_device_predictions():
    from fineclip.evaluation.metrics import DFERMetric
    # Indexing a CUDA tensor enters a CUDA device guard; without a driver
    # the no-op guard FakeTensorMode installs stands in (as in the tests
    # above, which enter the mode).
    torch._C._ensureCUDADeviceGuardSet()
    classes = ('Happy', 'Sad', 'Neutral')
    metric = DFERMetric(class_names=classes)
    preds, gts = [0, 1, 1, 2], [0, 1, 2, 2]
    samples = [dict(pred_label=OnDevice(torch.tensor([p])),
                    gt_label=OnDevice(torch.tensor([g])),
                    pred_score=OnDevice(torch.full((3,), 1 / 3)),
                    branch_pred_labels=dict(video=p, parsing=g),
                    branch_weights=OnDevice(torch.tensor([0.75, 0.25])))
               for p, g in zip(preds, gts)]
    assert samples[0]['pred_label'].device.type == 'cuda'
    metric.process(None, samples)
    metrics = metric.compute_metrics(metric.results)
    assert metrics['WAR'] == 0.75
    assert metrics['UAR'] == pytest.approx((1 + 1 + 0.5) / 3)
    assert metrics['UAR/parsing'] == 1.0
    assert metrics['weight/video'] == 0.75


# --- the check can fail ----------------------------------------------------
class _Leaky(torch.nn.Module):
    """Adds a tensor made on the CPU (no ``device=``) inside forward."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.linear(x) + torch.ones(3)


class _StaleAttribute(torch.nn.Module):
    """Keeps a tensor as a plain attribute, which ``.to`` leaves behind."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)
        self.offset = torch.ones(3)

    def forward(self, x):
        return self.linear(x) + self.offset


@pytest.mark.parametrize('device', ['cuda', 'meta'])
def test_a_cpu_tensor_in_forward_fails(device):
    model = _Leaky()  # real parameters, as a built model has
    with fake_mode() as mode:
        place(model, mode, device)
        x = torch.randn(2, 4, device=device)
        with pytest.raises(RuntimeError, match='device'):
            model(x)
        # the same module without the stray tensor runs
        assert model.linear(x).device.type == device


def test_a_tensor_left_behind_by_to_fails():
    model = _StaleAttribute()
    with fake_mode() as mode:
        place(model, mode, 'cuda')
        assert stray_tensors(model, 'cuda') == ['.offset']
        with pytest.raises(AssertionError, match='FakeTensor'):
            model(torch.randn(2, 4, device='cuda'))
