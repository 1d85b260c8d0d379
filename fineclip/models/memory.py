"""Training-memory model: how many bytes one step of a model needs.

A training step holds the weights, the tunable parameters' gradients and
optimiser state, the inputs, and the activations autograd keeps for the
backward pass. The last grow with the batch and dominate: 16 frames of a
ViT-B/16 are 3,152 tokens of width 768 in each of 12 blocks, per clip and
per image modality.

Activations are modelled per *pass* of sequences through a stack of
transformer layers: ``bytes = sequences * tokens * width * 4 * (a * layers
+ b)``, with ``(a, b)`` per kind of pass, precision and gradient
checkpointing. The coefficients were measured with the profiler's
allocation records (``fineclip.apis.benchmark.peak_tensor_bytes``) on these
encoders at widths 128 and 256, depths 4 and 8, 197 tokens, on CPU; the
pair of depths separates the per-layer part ``a`` from the fixed part ``b``
(the recomputed block, the head), and the widths agree within 6%.
``tests/models/test_memory_model.py`` measures them again. With
checkpointing a layer keeps little more than its input (``a`` near 1) and
one layer's activations are rebuilt at a time (``b``).

Encoders and branches describe their passes (``memory_passes``); a plugin
branch that defines the same method is estimated too, one without it is
reported as not modelled.
"""
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

import torch
from torch import nn

#: ``(a, b)`` per (pass kind, half precision, gradient checkpointing), in
#: units of ``sequences * tokens * width * 4`` bytes; see the module
#: docstring. ``aim``: a frozen ViT block with AIM's T-, S- and MLP
#: adapters (the face-map encoder's T+MLP layout needs 7% less);
#: ``text``: a frozen text block + adapter (77 or 248 tokens, causal mask);
#: ``vit``: a fine-tuned ViT block (no checkpointing support).
COEFFICIENTS: Dict[Tuple[str, bool, bool], Tuple[float, float]] = {
    ('aim', False, False): (19.5, 10.0),
    ('aim', True, False): (13.4, 1.1),
    ('aim', False, True): (1.0, 28.2),
    ('aim', True, True): (1.15, 16.9),
    ('text', False, False): (11.5, 3.0),
    ('text', True, False): (9.1, 0.0),
    ('text', False, True): (1.0, 18.1),
    ('text', True, True): (1.25, 11.0),
    ('vit', False, False): (16.1, 6.1),
    ('vit', True, False): (9.2, 4.0),
}

#: Optimiser state per tunable parameter, in fp32 copies.
OPTIMIZER_STATES = {'SGD': 1, 'Adam': 2, 'AdamW': 2}


class ActivationPass(NamedTuple):
    """Sequences going through one stack of transformer layers.

    Attributes:
        kind: ``'aim'``, ``'text'`` or ``'vit'`` (see :data:`COEFFICIENTS`).
        sequences: How many sequences (images, prompts, texts).
        tokens: Tokens per sequence.
        width: Token width.
        layers: Layers in the stack.
        per_clip: ``sequences`` is per clip (``True``) or per step (the
            class prompts).
        checkpointable: Whether the encoder can recompute its layers.
    """

    kind: str
    sequences: int
    tokens: int
    width: int
    layers: int
    per_clip: bool = True
    checkpointable: bool = True

    def bytes(self, clips: int, half: bool, checkpointing: bool) -> int:
        """Activation bytes of this pass for ``clips`` clips."""
        recompute = checkpointing and self.checkpointable
        per_layer, fixed = COEFFICIENTS[(self.kind, half, recompute)]
        count = self.sequences * (clips if self.per_clip else 1)
        unit = count * self.tokens * self.width * 4
        return int(unit * (per_layer * self.layers + fixed))


def vit_tokens(visual: nn.Module) -> int:
    """Tokens per image of an open_clip ViT (patches + class token)."""
    size = visual.image_size
    patch = visual.patch_size
    rows = size[0] // patch[0] if isinstance(size, (tuple, list)) else (
        size // (patch[0] if isinstance(patch, (tuple, list)) else patch))
    cols = size[1] // patch[1] if isinstance(size, (tuple, list)) else rows
    return rows * cols + 1


def model_passes(model: nn.Module) -> Tuple[List[ActivationPass], List[str]]:
    """The passes of a FineCLIPER-style model (``branches``, a
    ``text_encoder`` and class names) in one training step.

    Returns:
        tuple: the passes, and the names of branches that do not describe
        theirs (``memory_passes``), which the estimate leaves out.
    """
    passes, unmodelled = [], []
    for name, branch in model.branches.items():
        describe = getattr(branch, 'memory_passes', None)
        if describe is None:
            unmodelled.append(name)
        else:
            passes.extend(describe())
    text = getattr(model, 'text_encoder', None)
    if text is not None and hasattr(text, 'memory_passes'):
        classes = len(model.class_names or ()) or 7
        passes.extend(text.memory_passes(classes))
    return passes, unmodelled


def _param_bytes(params: Iterable[torch.Tensor]) -> int:
    return sum(p.numel() * 4 for p in params)


def estimate_train_bytes(model: nn.Module, clips: int, half: bool,
                         checkpointing: bool,
                         optimizer: str = 'SGD',
                         passes: Optional[List[ActivationPass]] = None
                         ) -> Dict[str, int]:
    """Estimated peak tensor bytes of one training step of ``clips`` clips.

    Args:
        model: The model (on any device, ``meta`` included: only shapes are
            read).
        clips: Clips in the step (the micro-batch).
        half: bf16/fp16 autocast.
        checkpointing: Gradient checkpointing in every encoder that has it.
        optimizer: Optimiser type (its state per tunable parameter).
        passes: The model's passes (default :func:`model_passes`).

    Returns:
        dict: ``total`` and its parts ``weights``, ``tunable`` (gradients
        and optimiser state), ``activations`` and ``inputs``, in bytes.
    """
    if passes is None:
        passes, _ = model_passes(model)
    params = list(model.parameters())
    tunable = [p for p in params if p.requires_grad]
    weights = _param_bytes(params) + _param_bytes(model.buffers())
    if half:
        # autocast keeps a half copy of every weight it casts for a matmul
        weights += _param_bytes(params) // 2
    states = OPTIMIZER_STATES.get(optimizer, 2)
    tunable_bytes = _param_bytes(tunable) * (1 + states)
    activations = sum(p.bytes(clips, half, checkpointing) for p in passes)
    images = sum(p.sequences for p in passes
                 if p.per_clip and p.kind in ('aim', 'vit'))
    size = _image_size(model)
    inputs = clips * images * 3 * size * size * 4
    parts = dict(weights=weights, tunable=tunable_bytes,
                 activations=activations, inputs=inputs)
    parts['total'] = sum(parts.values())
    return parts


def _image_size(model: nn.Module) -> int:
    clip = getattr(model, 'clip', None)
    size = getattr(getattr(clip, 'visual', None), 'image_size', 224)
    return size[0] if isinstance(size, (tuple, list)) else size
