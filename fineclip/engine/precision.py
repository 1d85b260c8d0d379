"""Training precision: which one a device gets, and the optimiser wrapper
that runs it.

``precision`` in a config (``'auto'``, ``'bf16'``, ``'fp16'`` or
``'fp32'``) is resolved per device by :func:`resolve_precision`:

* CUDA: bf16 where the GPU computes it natively (Ampere and later), fp16
  with dynamic loss scaling on older GPUs, whose bf16 is emulated and slow;
* CPU: bf16 where the processor has native bf16 instructions (AVX-512 BF16
  or AMX), where a FineCLIPER step runs about 3x faster than in fp32; fp32
  otherwise (CPU fp16 autocast has no fast kernels).

On CUDA, fp32 matmuls and convolutions (all of an fp32 run, the fp32 parts
of a mixed one) use TF32 unless the config sets ``tf32 = False``
(:func:`set_tf32`).

bf16 keeps fp32's exponent range, so it needs no loss scaling: it runs under
:class:`AutocastOptimWrapper` (plain backward and step, on any device).
fp16 runs under MMEngine's ``AmpOptimWrapper`` with its ``GradScaler``.
Master weights, gradients and optimiser state stay fp32 in both; the PN
logits and the loss are computed in fp32 (:mod:`fineclip.models.similarity`).
"""
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from fineclip.registry import OPTIM_WRAPPERS

PRECISIONS = ('auto', 'bf16', 'fp16', 'fp32')


def native_bf16(device_type: str, index: Optional[int] = None) -> bool:
    """Whether ``device_type`` computes bf16 natively (not emulated).

    For CUDA this is ``torch.cuda.is_bf16_supported(including_emulation=
    False)`` (bf16 tensor cores, compute capability 8.0 and later) on the
    current device, or on GPU ``index``: the default, which counts
    emulation, says yes on a V100 or T4, where emulated bf16 is much slower
    than fp16 with loss scaling. The tools ask after the process group has
    set each rank's GPU (:func:`fineclip.engine.distributed.
    setup_distributed`), so each rank asks about its own GPU and no rank
    opens a context on GPU 0.
    """
    if device_type == 'cuda':
        if not torch.cuda.is_available():
            return False
        if index is None:
            return torch.cuda.is_bf16_supported(including_emulation=False)
        with torch.cuda.device(index):
            return torch.cuda.is_bf16_supported(including_emulation=False)
    if device_type == 'cpu':
        cpu = getattr(torch, 'cpu', None)
        checks = ('_is_avx512_bf16_supported', '_is_amx_tile_supported')
        return any(getattr(cpu, name, lambda: False)() for name in checks)
    return False


def set_tf32(enabled: bool, device_type: str) -> bool:
    """Lets fp32 matmuls and convolutions run on TF32 tensor cores.

    On Ampere and later GPUs TF32 runs fp32 layers at up to 8x the IEEE
    rate with a 10-bit mantissa (fp16's precision, fp32's range); torch's
    default for matmuls is IEEE fp32. This sets the two CUDA switches
    (``torch.backends.cuda.matmul.allow_tf32``, ``torch.backends.cudnn.
    allow_tf32``), not ``torch.set_float32_matmul_precision``, which also
    switches oneDNN's CPU matmuls. On other devices nothing changes.

    Args:
        enabled: TF32 on (the default of the configs' ``tf32``) or off.
        device_type: ``'cuda'`` or ``'cpu'``.

    Returns:
        bool: whether TF32 is in use.
    """
    if device_type != 'cuda':
        return False
    torch.backends.cuda.matmul.allow_tf32 = bool(enabled)
    torch.backends.cudnn.allow_tf32 = bool(enabled)
    return bool(enabled)


def resolve_precision(requested: str, device_type: str,
                      index: Optional[int] = None) -> str:
    """The precision a run on ``device_type`` uses.

    Args:
        requested: ``'auto'``, ``'bf16'``, ``'fp16'`` or ``'fp32'``.
        device_type: ``'cuda'`` or ``'cpu'``.
        index: The GPU (default: the current one).

    Returns:
        str: ``'bf16'``, ``'fp16'`` or ``'fp32'``.

    Raises:
        ValueError: an unknown precision, or one the device cannot run.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"precision='{requested}' is not one of "
                         f'{PRECISIONS}.')
    if requested == 'auto':
        if device_type == 'cuda':
            return 'bf16' if native_bf16('cuda', index) else 'fp16'
        return 'bf16' if native_bf16(device_type) else 'fp32'
    if requested == 'fp16' and device_type != 'cuda':
        raise ValueError('precision=fp16 needs a CUDA GPU (loss-scaled fp16 '
                         "has no fast CPU kernels); use 'bf16' or 'fp32'.")
    return requested


def precision_optim_wrapper(optim_wrapper: dict, precision: str) -> dict:
    """A copy of an ``optim_wrapper`` config that trains in ``precision``.

    The optimiser, its parameter-wise settings, gradient clipping and
    accumulation are kept; only the wrapper type (and its precision
    arguments) change. A wrapper type other than MMEngine's plain
    ``OptimWrapper`` or those set here is the user's own choice and is
    refused rather than replaced.
    """
    cfg = dict(optim_wrapper)
    own = ('OptimWrapper', 'AmpOptimWrapper', 'AutocastOptimWrapper')
    if cfg.get('type', 'OptimWrapper') not in own:
        raise ValueError(
            f"optim_wrapper.type='{cfg['type']}' is not one the precision "
            'setting can change; set precision=None to keep it as it is.')
    for key in ('dtype', 'loss_scale'):
        cfg.pop(key, None)
    if precision == 'fp32':
        cfg['type'] = 'OptimWrapper'
    elif precision == 'bf16':
        cfg.update(type='AutocastOptimWrapper', dtype='bfloat16')
    elif precision == 'fp16':
        cfg.update(type='AmpOptimWrapper', dtype='float16',
                   loss_scale='dynamic')
    else:
        raise ValueError(f"Resolve precision '{precision}' first "
                         '(resolve_precision).')
    return cfg


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Trains under ``torch.autocast`` in bf16, on CPU or GPU.

    MMEngine's ``AmpOptimWrapper`` needs a GPU and always scales the loss;
    bf16 has fp32's exponent range, so a loss scale only costs time. This
    wrapper adds the autocast context to ``OptimWrapper`` (gradient
    accumulation and clipping included) on the device the model's
    parameters are on, and nothing else.

    Args:
        dtype (str): ``'bfloat16'`` (the only one that needs no scaling).
        **kwargs: ``OptimWrapper`` arguments (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        if dtype != 'bfloat16':
            raise ValueError(
                f"AutocastOptimWrapper runs bf16 only, got dtype='{dtype}': "
                'fp16 needs loss scaling (AmpOptimWrapper).')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model: nn.Module):
        device_type = _device_type(model)
        with super().optim_context(model), torch.autocast(
                device_type, dtype=self.cast_dtype):
            yield


def _device_type(model: nn.Module) -> str:
    param: Optional[torch.Tensor] = next(model.parameters(), None)
    return 'cpu' if param is None else param.device.type
