"""Records the data a checkpoint was trained on, and says when a test reads
other data."""
import os.path as osp
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from fineclip.registry import HOOKS


def dataset_root(dataset) -> Optional[str]:
    """The ``data_root`` of a dataset, looking inside wrappers."""
    while dataset is not None:
        root = getattr(dataset, 'data_root', None)
        if root:
            return root
        dataset = getattr(dataset, 'dataset', None)
    return None


def _same_folder(a: str, b: str) -> bool:
    return osp.normpath(osp.abspath(a)) == osp.normpath(osp.abspath(b))


@HOOKS.register_module()
class DataRootHook(Hook):
    """Writes the training data's root into each checkpoint's meta
    (``meta['data_root']``, beside MMEngine's ``meta['dataset_meta']``
    with the class names), and warns when a test reads a checkpoint that
    was trained on data elsewhere: forgetting ``--data-root`` on
    ``tools/test.py`` would otherwise score the model on the config's
    default data without a word.
    """

    priority = 'LOW'

    def __init__(self):
        self._trained_on: Optional[str] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        root = dataset_root(getattr(runner.train_dataloader, 'dataset',
                                    None))
        if root:
            checkpoint.setdefault('meta', {})['data_root'] = root

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._trained_on = (checkpoint.get('meta') or {}).get('data_root')

    def before_test(self, runner) -> None:
        tested = dataset_root(runner.test_dataloader.dataset)
        if self._trained_on and tested and \
                not _same_folder(self._trained_on, tested):
            print_log(
                f"The checkpoint was trained on the data in "
                f"'{self._trained_on}'; this test reads '{tested}'. If the "
                'test data is elsewhere, give --data-root DIR.',
                logger='current', level=30)
