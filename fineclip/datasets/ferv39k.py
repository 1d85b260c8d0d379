"""FERV39k in its official on-disk layout.

``4_setups/All_scenes/{train,test}_All.csv`` hold lines
``Scene/Emotion/NNNN Emotion``; the frames of that clip live in
``2_ClipsforFaceCrop/Scene/Emotion/NNNN/``. One train/test split, no folds.
"""
import os.path as osp
import re

from fineclip.registry import DATASETS
from .base import DFERBaseDataset

FERV39K_CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise',
                   'Disgust', 'Fear')


@DATASETS.register_module()
class FERV39kDataset(DFERBaseDataset):
    """FERV39k (7 classes; 31,088 train / 7,847 test clips).

    Labels are mapped by name, so a split file in any class order loads.

    Args:
        data_root (str): The unpacked FERV39k folder.
        split (str): ``'train'`` or ``'test'``.
        frame_dir (str): Frame folder relative to ``data_root``.
        ann_dir (str): Split-file folder relative to ``data_root``.
        **kwargs: See :class:`DFERBaseDataset`.
    """

    METAINFO = dict(classes=FERV39K_CLASSES)

    def __init__(self, data_root: str, split: str = 'train',
                 frame_dir: str = '2_ClipsforFaceCrop',
                 ann_dir: str = '4_setups/All_scenes', **kwargs):
        self.frame_dir, self.ann_dir = frame_dir, ann_dir
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def split_file(self) -> str:
        """Path of the split file."""
        return self._split_path(self.split)

    def _split_path(self, split: str) -> str:
        return osp.join(self.data_root, self.ann_dir, f'{split}_All.csv')

    def other_split_file(self) -> str:
        """The file of the other split (overlaps are reported)."""
        return self._split_path('test' if self.split == 'train' else 'train')

    @staticmethod
    def _split_row(line: str):
        # the label is the last field; the path before it may hold spaces
        match = re.match(r'^(.*?\S)[\s,]+(\S+)$', line.strip())
        if match is None or match.group(1).count('/') != 2:
            return None
        return match.group(1), match.group(2)

    def clip_id_of(self, line: str):
        row = self._split_row(line)
        return None if row is None else row[0]

    def parse_line(self, line: str, where: str) -> dict:
        row = self._split_row(line)
        if row is None:
            raise ValueError(f"{where}: expected 'Scene/Emotion/NNNN "
                             f"Emotion', got {line!r}")
        clip_path, name = row
        label = self.label_by_name(name, where)
        folder = osp.join(self.data_root, self.frame_dir, clip_path)
        return self.frame_clip(folder, clip_path, label, where)
