"""Hands the dataset's class names to the model before each loop."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from fineclip.registry import HOOKS
from ..checkpoint_classes import ALLOW_KEY, check_classes, checkpoint_classes


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class ClassNamesHook(Hook):
    """Sets ``model.class_names`` from the dataset of the loop about to run.

    The class prompts are built from these names, so a test on another
    dataset (zero-shot) uses that dataset's classes. After a validation
    inside training, the training classes are put back.

    A checkpoint loaded by the Runner (``load_from``, ``--resume``,
    ``tools/test.py``) whose ``meta.dataset_meta.classes`` differ from the
    classes of the dataset it is loaded for (the training set when
    training, else the test set) is refused with both lists, unless the
    config sets ``allow_class_mismatch = True``.
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._train_names = None

    @staticmethod
    def _apply(runner, dataloader) -> tuple:
        meta = getattr(dataloader.dataset, 'metainfo', None) or {}
        names = meta.get('classes')
        if not names:
            raise ValueError(f'{type(dataloader.dataset).__name__} has no '
                             "'classes' in its metainfo; the model needs the "
                             'class names to build its prompts.')
        model = _unwrap(runner.model)
        if hasattr(model, 'set_class_names'):
            model.set_class_names(names)
        return tuple(names)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner.cfg.get(ALLOW_KEY):
            return
        for name in ('train', 'test', 'val'):  # the loop the load is for
            loop = getattr(runner, f'_{name}_loop', None)
            if isinstance(loop, BaseLoop):
                dataset = loop.dataloader.dataset
                break
        else:
            return
        expected = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        source = getattr(runner, '_load_from', None)
        check_classes(checkpoint_classes(checkpoint), expected,
                      f"'{source}'" if source else 'The checkpoint',
                      f'the {name} set ({type(dataset).__name__})')

    def before_train(self, runner) -> None:
        self._train_names = self._apply(runner, runner.train_dataloader)

    def before_val(self, runner) -> None:
        self._apply(runner, runner.val_dataloader)

    def after_val(self, runner) -> None:
        model = _unwrap(runner.model)
        if self._train_names and hasattr(model, 'set_class_names'):
            model.set_class_names(self._train_names)

    def before_test(self, runner) -> None:
        self._apply(runner, runner.test_dataloader)
