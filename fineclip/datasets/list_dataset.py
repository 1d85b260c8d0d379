"""Clips listed in a plain text file, as many DFER repositories ship them."""
import os.path as osp
import re
from typing import List

from fineclip.registry import DATASETS
from .base import DFERBaseDataset


@DATASETS.register_module()
class DFERListDataset(DFERBaseDataset):
    """A user's own split: lines ``path num_frames label`` or ``path label``.

    ``path`` is a frame folder relative to ``data_root`` (or absolute).
    A listed frame count is not trusted: frames are counted from disk.

    Args:
        data_root (str): Folder the listed paths are relative to.
        ann_file (str): The list file (relative to ``data_root`` or
            absolute).
        first_label (int): The number of the first class in the file (0 or
            1; lists in the wild use both, so it must be stated).
        metainfo (dict): Must give ``classes``, the class names in label
            order.
        **kwargs: See :class:`DFERBaseDataset`.
    """

    def __init__(self, data_root: str, ann_file: str, first_label: int,
                 metainfo: dict = None, **kwargs):
        if not metainfo or not metainfo.get('classes'):
            raise ValueError('DFERListDataset needs metainfo=dict(classes='
                             '(...)) naming the classes in label order.')
        if first_label not in (0, 1):
            raise ValueError(f'first_label must be 0 or 1, got {first_label}')
        self.first_label = first_label
        super().__init__(data_root=data_root, ann_file=ann_file,
                         metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        path = self.ann_file
        data_list = []
        for line_no, line in self.read_lines(path):
            where = f'{path}:{line_no}'
            fields = re.split(r'\s+', line.strip())
            if len(fields) not in (2, 3):
                raise ValueError(f"{where}: expected 'path [num_frames] "
                                 f"label', got {line!r}")
            label = self.label_by_number(fields[-1], where, self.first_label)
            folder = osp.join(self.data_root, fields[0])
            data_list.append(self.frame_clip(folder, fields[0], label, where))
        return self.finish(data_list, path)
