"""DFEW in its official on-disk layout.

``EmoLabel_DataSplit/{train,test}(single-labeled)/set_{k}.csv`` list
``video_name,label`` rows (5-digit clip id, 1-indexed label); frames live in
``Clip/clip_224x224/{clip_id}/``, one image per frame.
"""
import csv
import numbers
import os.path as osp

from fineclip.registry import DATASETS
from fineclip.utils.errors import ConfigError

from .base import DFERBaseDataset, is_clip_number

DFEW_CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust',
                'Fear')


@DATASETS.register_module()
class DFEWDataset(DFERBaseDataset):
    """DFEW (7 classes, 5-fold cross-validation).

    Args:
        data_root (str): The unpacked DFEW folder.
        fold (int): Cross-validation fold, 1-5.
        split (str): ``'train'`` or ``'test'``.
        source (str): ``'frames'`` (``frame_dir``) or ``'video'`` (one video
            per clip in ``video_dir``, named by its 5-digit id, any common
            extension).
        frame_dir (str): Frame folder relative to ``data_root``
            (``Clip/clip_224x224`` in the release).
        video_dir (str): Video folder relative to ``data_root``; set it to
            where your copy keeps the original clips.
        ann_dir (str): Split-file folder relative to ``data_root``.
        **kwargs: ``pipeline``, ``test_mode`` and the rest of
            :class:`DFERBaseDataset`.
    """

    METAINFO = dict(classes=DFEW_CLASSES)
    #: The official cross-validation folds (checked in configs up front).
    NUM_FOLDS = 5
    HEADER = 'video_name,label'

    def __init__(self, data_root: str, fold: int = 1, split: str = 'train',
                 source: str = 'frames', frame_dir: str = 'Clip/clip_224x224',
                 video_dir: str = 'Clip/original',
                 ann_dir: str = 'EmoLabel_DataSplit', **kwargs):
        if (not isinstance(fold, numbers.Integral)
                or not 1 <= fold <= self.NUM_FOLDS):
            raise ConfigError(f'DFEW fold must be 1-{self.NUM_FOLDS}, got '
                              f'{fold!r} (the dataset\'s fold key)')
        if source not in ('frames', 'video'):
            raise ValueError(f"source must be 'frames' or 'video', got "
                             f"'{source}'")
        self.source, self.video_dir = source, video_dir
        self.fold = int(fold)
        self.frame_dir, self.ann_dir = frame_dir, ann_dir
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def split_file(self) -> str:
        """Path of this fold's split file."""
        return self._split_path(self.split)

    def _split_path(self, split: str) -> str:
        return osp.join(self.data_root, self.ann_dir,
                        f'{split}(single-labeled)', f'set_{self.fold}.csv')

    def other_split_file(self) -> str:
        """The fold's file of the other split (overlaps are reported)."""
        return self._split_path('test' if self.split == 'train' else 'train')

    @staticmethod
    def _row(line: str) -> list:
        """The fields of a line, read as CSV (quoted fields; empty columns
        after the label, as spreadsheets write them, are dropped)."""
        fields = next(csv.reader([line], skipinitialspace=True), [])
        row = [field.strip() for field in fields]
        while len(row) > 2 and not row[-1]:
            row.pop()
        return row

    def clip_id_of(self, line: str):
        row = self._row(line)
        first = row[0] if row else ''
        return f'{int(first):05d}' if is_clip_number(first) else None

    def parse_line(self, line: str, where: str) -> dict:
        row = self._row(line)
        if len(row) != 2 or not is_clip_number(row[0]):
            raise ValueError(
                f"{where}: expected '<clip id>,<label>' with an ASCII-digit "
                f'clip id, got {line!r}')
        clip_id = f'{int(row[0]):05d}'
        label = self.label_by_number(row[1], where, first=1)
        if self.source == 'video':
            path = self.find_video(osp.join(self.data_root, self.video_dir),
                                   clip_id, where)
            return self.video_clip(path, clip_id, label, where)
        folder = osp.join(self.data_root, self.frame_dir, clip_id)
        return self.frame_clip(folder, clip_id, label, where)
