"""Clips listed in a plain text file, as many DFER repositories ship them."""
import os.path as osp

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

    @property
    def split_file(self) -> str:
        """The list file."""
        return self.ann_file

    def parse_line(self, line: str, where: str) -> dict:
        # Read from the right: the label is last, a frame count may come
        # before it, and the path (which may hold spaces) is the rest.
        fields = line.strip().rsplit(None, 2)
        if len(fields) < 2:
            raise ValueError(f"{where}: expected 'path [num_frames] label', "
                             f'got {line!r}')
        label = self.label_by_number(fields[-1], where, self.first_label)
        path = line.strip().rsplit(None, 1)[0]
        if len(fields) == 3 and fields[1].isdigit() and (
                not osp.isdir(osp.join(self.data_root, path))):
            path = fields[0]  # 'path num_frames label'
        folder = osp.join(self.data_root, path)
        return self.frame_clip(folder, path, label, where)
