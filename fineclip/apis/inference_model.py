"""The model side of infer: what a config's model reads
(:func:`model_needs`), and a model ready to predict (:class:`Recognizer`,
built by :func:`load_recognizer`, a thin wrapper over
:func:`fineclip.apis.model_builder.build_model`).
"""
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from fineclip.engine.checkpoint_classes import (ALLOW_KEY, check_classes,
                                                dataset_classes)
from fineclip.engine.checkpoint_io import resolve_checkpoint
from fineclip.engine.checkpoints import CheckpointError
from fineclip.engine.checkpoints import load_weights as _load_weights
from fineclip.utils.config import import_custom_modules, load_config
from .inference_inputs import InferenceError

__all__ = ['KNOWN_STEPS', 'ModelNeeds', 'Recognizer', 'class_names_from',
           'load_recognizer', 'load_weights', 'model_needs',
           'test_pipeline_cfg']

# Pipeline steps whose inputs infer provides.
KNOWN_STEPS = ('SampleFrameIndices', 'DecodeFrames', 'LoadFaceMaps',
               'RenderFaceMaps', 'TokenizeDescription', 'PackDFERInputs',
               'GroupResize', 'GroupRandomResizedCrop', 'GroupFlip',
               'GroupBrightness', 'GroupRotate')


@dataclass
class ModelNeeds:
    """What a config's test pipeline reads besides the frames.

    Attributes:
        face_maps: ``LoadFaceMaps`` reads a face-map file.
        description: ``TokenizeDescription`` reads a description.
        num_frames: Frames the pipeline samples per clip (T).
        unknown_steps: Pipeline steps infer does not know; they get the
            same sample the known ones do and may need more.
    """

    face_maps: bool = False
    description: bool = False
    num_frames: int = 16
    unknown_steps: Tuple[str, ...] = ()


#: What tools/infer.py says about a model of the embedded default.
TOY_MODEL_NOTE = (
    'note: this is a model of the embedded default, trained on synthetic '
    'cartoon faces with a tiny CLIP: a toy for trying the tools; its '
    'predictions on real faces mean nothing.')


def is_embedded_default(cfg: Config) -> bool:
    """Whether ``cfg`` is a config of the embedded default (synthetic data
    and the tiny CLIP): its models are toys, whatever they predict."""
    spec = cfg.get('embedded_default') or {}
    return bool(spec.get('tiny_clip') or spec.get('synthetic_data'))


def test_pipeline_cfg(cfg: Config) -> list:
    """The config's test pipeline (``test_dataloader``, else ``val_``)."""
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('dataset', {}).get('pipeline'):
            return list(loader['dataset']['pipeline'])
    raise InferenceError('The config has no test_dataloader.dataset.pipeline'
                         ': infer preprocesses clips with it.')


def model_needs(cfg: Config) -> ModelNeeds:
    """Reads from a config which inputs its model gets, and checks that
    infer can compute them.

    The test pipeline decides (a branch the pipeline never feeds, such as a
    zero-shot model's caption branch, is not run at test time), except that
    a ``FaceMapBranch`` with no ``LoadFaceMaps`` could not run at all.
    It reads the config only, so a config infer cannot feed is refused
    before any weight loads; the built model's own list
    (``BaseBranch.input_keys``) is kept in :attr:`Recognizer.input_keys`.

    Raises:
        InferenceError: the model needs something infer cannot compute.
    """
    from fineclip.models.branches import FaceMapBranch
    from fineclip.registry import BRANCHES
    pipeline = test_pipeline_cfg(cfg)
    types = [step.get('type') for step in pipeline]
    needs = ModelNeeds(face_maps='LoadFaceMaps' in types,
                       description='TokenizeDescription' in types)
    for needed in ('SampleFrameIndices', 'DecodeFrames', 'PackDFERInputs'):
        if needed not in types:
            raise InferenceError(
                f'The test pipeline {types} has no {needed}: infer hands it '
                'a folder of face crops to sample, decode and pack, as the '
                'datasets do.')
    for step in pipeline:
        if step.get('type') == 'SampleFrameIndices':
            needs.num_frames = int(step.get('num_frames', 16))
        key = step.get('key', 'description')
        if step.get('type') == 'TokenizeDescription' and \
                key != 'description':
            raise InferenceError(
                f"The test pipeline tokenises the samples' '{key}' field "
                "(a dataset's own captions); infer can only write a "
                "'description' of a new video (LandmarkMotionDescriber).")
    needs.unknown_steps = tuple(t for t in types if t not in KNOWN_STEPS)
    for name, branch in (cfg.model.get('branches') or {}).items():
        cls = branch.get('type')
        cls = BRANCHES.get(cls) if isinstance(cls, str) else cls
        if isinstance(cls, type) and issubclass(cls, FaceMapBranch) \
                and not needs.face_maps:
            raise InferenceError(
                f"model.branches.{name} reads face maps but the test "
                'pipeline never loads them (no LoadFaceMaps); add them with '
                'with_face_maps(test_pipeline), as the FineCLIPER* configs '
                'do.')
    return needs


def class_names_from(cfg: Config, meta: Optional[dict]) -> Tuple[str, ...]:
    """Class names for ``cfg``'s model (see
    :func:`fineclip.apis.model_builder.config_class_names`), with an
    :class:`InferenceError` where there are none."""
    from .model_builder import config_class_names
    try:
        return config_class_names(cfg, meta)
    except ValueError as err:
        raise InferenceError(str(err)) from err


def load_weights(model: torch.nn.Module, checkpoint: str) -> dict:
    """Loads a trained checkpoint into ``model`` (see
    :func:`fineclip.engine.checkpoints.load_weights`); returns its
    ``meta``."""
    try:
        return _load_weights(model, checkpoint)
    except CheckpointError as err:
        raise InferenceError(str(err)) from err


@dataclass
class Recognizer:
    """A model ready for inference, with what feeding it takes.

    Attributes:
        model: The recognizer in eval mode, with its class names set.
        cfg: The config it was built from.
        classes: Class names in label order.
        pipeline: The config's test pipeline (``Compose``).
        needs: What the pipeline reads besides frames.
        device: Where the model runs.
        input_keys: The model inputs its branches read when predicting
            (``model.input_keys('predict')``, e.g. ``('frames',
            'parsing', 'landmarks', 'description')``); named when one is
            missing.
    """

    model: torch.nn.Module
    cfg: Config
    classes: Tuple[str, ...]
    pipeline: object
    needs: ModelNeeds
    device: str = 'cpu'
    input_keys: Tuple[str, ...] = ()

    def predict(self, samples: Sequence[dict],
                batch_size: int = 8) -> np.ndarray:
        """Class probabilities of dataset-like samples.

        Args:
            samples: Dicts with ``frame_dir``, ``frame_names``,
                ``total_frames`` (and ``face_map_path`` / ``description``
                when :attr:`needs` says so).
            batch_size: Clips per forward pass.

        Returns:
            ``(len(samples), C)`` float64 probabilities.
        """
        from mmengine.dataset import pseudo_collate
        scores = []
        for start in range(0, len(samples), batch_size):
            packed = []
            for sample in samples[start:start + batch_size]:
                try:
                    packed.append(self.pipeline(dict(sample)))
                except (KeyError, TypeError) as err:
                    raise InferenceError(
                        f"The config's test pipeline failed on "
                        f"{sample.get('clip_id')}: {err!r}. infer provides "
                        f'{sorted(sample)}; a step needing more cannot run '
                        'on a new video.') from err
            try:
                with torch.no_grad():
                    outputs = self.model.test_step(pseudo_collate(packed))
            except KeyError as err:
                reads = (f" (its branches read {', '.join(self.input_keys)}"
                         ')' if self.input_keys else '')
                raise InferenceError(
                    f'The model needs an input infer does not compute: '
                    f'{err}{reads}') from err
            scores += [o.pred_score.double().cpu().numpy() for o in outputs]
        scores = np.stack(scores)
        # float32 softmax sums to one only within ~1e-7
        return scores / scores.sum(axis=1, keepdims=True)


def load_recognizer(config: Union[str, Config],
                    checkpoint: str,
                    device: str = 'cpu',
                    cfg_options: Optional[dict] = None,
                    allow_other_classes: bool = False) -> Recognizer:
    """Builds a config's model and loads a checkpoint into it.

    Args:
        config: Config file or loaded ``Config``.
        checkpoint: MMEngine checkpoint (``epoch_N.pth``): its
            ``state_dict`` must fit the model exactly; class names come
            from its ``meta.dataset_meta.classes`` when present.
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        cfg_options: Overrides, as ``--cfg-options`` gives them.
        allow_other_classes: Accept a checkpoint trained on other classes
            than the config's test set (also ``allow_class_mismatch`` in
            the config); refused otherwise.

    Returns:
        Recognizer: in eval mode on ``device``.

    Raises:
        FileNotFoundError: missing config or checkpoint.
        InferenceError: a config whose model needs inputs infer cannot
            compute, a checkpoint that does not fit or was trained on other
            classes, CUDA unavailable.
    """
    from mmengine.dataset import Compose

    from .model_builder import build_model, check_device
    try:
        check_device(device)
    except RuntimeError as err:
        raise InferenceError(str(err)) from err
    cfg = load_config(config, cfg_options)
    import_custom_modules(cfg)
    checkpoint = resolve_checkpoint(checkpoint)  # a work dir: its newest
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f"No such checkpoint: '{checkpoint}'")
    needs = model_needs(cfg)
    try:
        pipeline = Compose(test_pipeline_cfg(cfg))
    except (TypeError, KeyError, ValueError) as err:
        raise InferenceError(
            f"Cannot build the config's test pipeline: {err}") from err
    try:
        model = build_model(cfg, checkpoint, device=device)
    except (CheckpointError, ValueError) as err:
        raise InferenceError(str(err)) from err
    classes = tuple(model.class_names)  # the checkpoint's, when it has them
    if not (allow_other_classes or cfg.get(ALLOW_KEY)):
        try:
            check_classes(classes, dataset_classes(
                (cfg.get('test_dataloader') or {}).get('dataset')),
                f"'{checkpoint}'", "the config's test set")
        except CheckpointError as err:
            raise InferenceError(str(err)) from err
    # FineCLIPER models say which inputs their branches read (BaseBranch
    # .input_keys); another recognizer may not
    input_keys = getattr(model, 'input_keys', None)
    return Recognizer(model, cfg, classes, pipeline, needs, str(device),
                      tuple(input_keys('predict')) if input_keys else ())
