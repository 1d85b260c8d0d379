"""Saves checkpoints without the frozen weights (adapter-only)."""
import json

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from fineclip.registry import HOOKS
from ..checkpoints import (check_shapes, check_variant, complete_state_dict,
                           strip_frozen)


def _frozen_sources(cfg) -> dict:
    """The config entries the frozen weights are built from, as plain
    types (the checkpoint is read back with ``weights_only=True``)."""
    model = cfg.get('model', {})
    sources = {}
    clip = model.get('clip') or {}
    sources['clip'] = {k: clip[k] for k in ('arch', 'pretrained',
                                            'quick_gelu') if k in clip}
    for name, branch in (model.get('branches') or {}).items():
        checkpoint = (branch.get('encoder') or {}).get('checkpoint')
        if checkpoint:
            sources[f'branches.{name}.encoder.checkpoint'] = checkpoint
    return json.loads(json.dumps(sources, default=str))


@HOOKS.register_module()
class AdapterCheckpointHook(Hook):
    """Keeps only what training changes in checkpoints.

    Before a checkpoint is saved, the frozen parameters leave its
    ``state_dict`` and their fingerprint and source (the config's
    ``model.clip`` and description-encoder checkpoint) go under
    ``frozen_weights``. After one is loaded (``load_from``, ``--resume``,
    ``tools/test.py``), the fingerprint is checked against the model just
    built and its frozen weights are filled back in, so loading is exact
    and a mismatched CLIP is refused. Checkpoints without
    ``frozen_weights`` (full ones) load as before.

    A model whose CLIP has no ``pretrained`` source (random weights, as in
    unit tests) keeps full checkpoints: nothing could rebuild its frozen
    weights.

    Args:
        enabled (bool): ``False`` saves full checkpoints (loading still
            accepts both kinds).
    """

    priority = 'VERY_LOW'  # after hooks that add to the checkpoint

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.enabled:
            return
        sources = _frozen_sources(runner.cfg)
        if not sources['clip'].get('pretrained'):
            # Random frozen weights cannot be rebuilt from a source: keep
            # them, or the checkpoint could not be loaded anywhere else.
            if not getattr(self, '_warned', False):
                runner.logger.info(
                    'AdapterCheckpointHook: model.clip.pretrained is None, '
                    'so checkpoints keep the (random) frozen weights.')
                self._warned = True
            return
        strip_frozen(checkpoint, self._model(runner), sources)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # another variant's checkpoint would load partially (MMEngine's
        # load_from is strict=False): refuse it first, naming both
        source = getattr(runner, '_load_from', None)
        where = f"'{source}'" if source else 'The checkpoint'
        check_variant(checkpoint, self._model(runner), where=where)
        check_shapes(checkpoint, self._model(runner), where=where)
        complete_state_dict(checkpoint, self._model(runner), where=where)
