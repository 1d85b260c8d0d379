"""MAFW (single-label) in its official on-disk layout.

``Train & Test Set/single/no_caption/set_{k}/{train,test}.txt`` hold CRLF
lines ``03747.mp4 anger``; the ``with_caption`` variant is TAB-separated and
GBK-encoded: file, label, Chinese caption, English caption. Frames of clip
03747 live in ``data/faces/03747/``, its video in ``data/clips/03747.mp4``.
"""
import numbers
import os.path as osp
import re
from typing import List

from fineclip.registry import DATASETS
from fineclip.utils.errors import ConfigError

from .base import DFERBaseDataset, is_clip_number

MAFW_CLASSES = ('anger', 'disgust', 'fear', 'happiness', 'neutral',
                'sadness', 'surprise', 'contempt', 'anxiety', 'helplessness',
                'disappointment')


@DATASETS.register_module()
class MAFWDataset(DFERBaseDataset):
    """MAFW single-label (11 classes, 5-fold cross-validation).

    Labels are mapped by name. With ``captions=True`` the with-caption split
    files are read and each sample keeps its English ``caption`` (for
    caption-supervised and zero-shot training).

    Args:
        data_root (str): The unpacked MAFW folder.
        fold (int): Cross-validation fold, 1-5.
        split (str): ``'train'`` or ``'test'``.
        captions (bool): Read the with-caption split files.
        source (str): ``'frames'`` (``frame_dir``) or ``'video'``
            (``video_dir``, the ``.mp4`` files the split files name).
        frame_dir (str): Frame folder relative to ``data_root``.
        video_dir (str): Video folder relative to ``data_root``.
        ann_dir (str): Folder of the ``no_caption``/``with_caption`` split
            folders, relative to ``data_root``.
        **kwargs: See :class:`DFERBaseDataset`.
    """

    METAINFO = dict(classes=MAFW_CLASSES)
    #: The official cross-validation folds (checked in configs up front).
    NUM_FOLDS = 5

    def __init__(self, data_root: str, fold: int = 1, split: str = 'train',
                 captions: bool = False, source: str = 'frames',
                 frame_dir: str = 'data/faces', video_dir: str = 'data/clips',
                 ann_dir: str = 'Train & Test Set/single', **kwargs):
        if (not isinstance(fold, numbers.Integral)
                or not 1 <= fold <= self.NUM_FOLDS):
            raise ConfigError(f'MAFW fold must be 1-{self.NUM_FOLDS}, got '
                              f'{fold!r} (the dataset\'s fold key)')
        if source not in ('frames', 'video'):
            raise ValueError(f"source must be 'frames' or 'video', got "
                             f"'{source}'")
        self.source, self.video_dir = source, video_dir
        self.fold, self.captions = int(fold), captions
        # The with-caption files carry Chinese captions in GBK.
        self.ENCODING = 'gbk' if captions else 'utf-8-sig'
        self.frame_dir, self.ann_dir = frame_dir, ann_dir
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def split_file(self) -> str:
        """Path of this fold's split file."""
        return self._split_path(self.split)

    def _split_path(self, split: str) -> str:
        variant = 'with_caption' if self.captions else 'no_caption'
        return osp.join(self.data_root, self.ann_dir, variant,
                        f'set_{self.fold}', f'{split}.txt')

    def other_split_file(self) -> str:
        """The fold's file of the other split (overlaps are reported)."""
        return self._split_path('test' if self.split == 'train' else 'train')

    def clip_id_of(self, line: str):
        fields = line.split('\t') if self.captions else line.split()
        stem = osp.splitext(fields[0].strip())[0] if fields else ''
        return f'{int(stem):05d}' if is_clip_number(stem) else None

    def _fields(self, line: str, where: str) -> List[str]:
        if self.captions:
            fields = line.split('\t')
            if len(fields) != 4:
                raise ValueError(
                    f'{where}: expected 4 TAB-separated fields (file, label, '
                    f'Chinese caption, English caption), got {len(fields)}')
            return fields
        fields = re.split(r'\s+', line.strip())
        if len(fields) != 2:
            raise ValueError(f"{where}: expected '<file> <label>', got "
                             f'{line!r}')
        return fields

    def parse_line(self, line: str, where: str) -> dict:
        fields = self._fields(line, where)
        stem = osp.splitext(fields[0].strip())[0]
        if not is_clip_number(stem):
            raise ValueError(f'{where}: clip file {fields[0]!r} is not a '
                             'numbered clip (ASCII digits)')
        clip_id = f'{int(stem):05d}'
        label = self.label_by_name(fields[1], where)
        if self.source == 'video':
            path = osp.join(self.data_root, self.video_dir,
                            fields[0].strip())
            sample = self.video_clip(path, clip_id, label, where)
        else:
            folder = osp.join(self.data_root, self.frame_dir, clip_id)
            sample = self.frame_clip(folder, clip_id, label, where)
        if self.captions:
            sample['caption'] = fields[3].strip()
        return sample
