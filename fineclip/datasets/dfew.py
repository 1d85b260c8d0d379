"""DFEW in its official on-disk layout.

``EmoLabel_DataSplit/{train,test}(single-labeled)/set_{k}.csv`` list
``video_name,label`` rows (5-digit clip id, 1-indexed label); frames live in
``Clip/clip_224x224/{clip_id}/``, one image per frame. Frames are counted
from disk, never trusted from a list, and sorted naturally (``2.jpg`` before
``10.jpg``).
"""
import csv
import os
import os.path as osp
import re
from typing import List, Sequence

from mmengine.dataset import BaseDataset

from fineclip.registry import DATASETS

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
DFEW_CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust',
                'Fear')


def natural_key(name: str):
    """Sort key that orders embedded numbers by value: ``2`` before ``10``."""
    return [
        int(tok) if tok.isdigit() else tok.lower()
        for tok in re.split(r'(\d+)', name)
    ]


def list_frames(folder: str) -> List[str]:
    """Image file names in ``folder``, naturally sorted."""
    names = [
        n for n in os.listdir(folder)
        if osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS
    ]
    return sorted(names, key=natural_key)


@DATASETS.register_module()
class DFEWDataset(BaseDataset):
    """DFEW (7 classes, 5-fold cross-validation).

    Each sample holds ``clip_id``, ``label`` (0-indexed), ``frame_dir``,
    ``frame_names`` and ``total_frames``.

    Args:
        data_root (str): The unpacked DFEW folder.
        fold (int): Cross-validation fold, 1-5.
        split (str): ``'train'`` or ``'test'``.
        frame_dir (str): Frame folder relative to ``data_root``
            (``Clip/clip_224x224`` in the release).
        ann_dir (str): Split-file folder relative to ``data_root``.
        pipeline (Sequence[dict]): Transforms.
        test_mode (bool): MMEngine's flag; sampling transforms read it.
        **kwargs: Passed to ``mmengine.dataset.BaseDataset``.
    """

    METAINFO = dict(classes=DFEW_CLASSES)

    def __init__(self,
                 data_root: str,
                 fold: int = 1,
                 split: str = 'train',
                 frame_dir: str = 'Clip/clip_224x224',
                 ann_dir: str = 'EmoLabel_DataSplit',
                 pipeline: Sequence[dict] = (),
                 test_mode: bool = False,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"DFEW split must be 'train' or 'test', got "
                             f"'{split}'")
        if not 1 <= int(fold) <= 5:
            raise ValueError(f'DFEW fold must be 1-5, got {fold}')
        if not osp.isdir(data_root):
            raise FileNotFoundError(
                f"DFEW data_root '{data_root}' does not exist. Unpack DFEW "
                'there or set train_dataloader.dataset.data_root (and the '
                'val/test ones).')
        self.fold, self.split = int(fold), split
        self.frame_dir, self.ann_dir = frame_dir, ann_dir
        super().__init__(
            data_root=data_root,
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs)

    @property
    def split_file(self) -> str:
        """Path of this fold's split file."""
        return osp.join(self.data_root, self.ann_dir,
                        f'{self.split}(single-labeled)',
                        f'set_{self.fold}.csv')

    def load_data_list(self) -> List[dict]:
        """Reads the split file and counts every clip's frames on disk."""
        path = self.split_file
        if not osp.isfile(path):
            raise FileNotFoundError(f"DFEW split file '{path}' is missing.")
        num_classes = len(self.metainfo['classes'])
        data_list = []
        with open(path, newline='', encoding='utf-8-sig') as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if header is None or [h.strip()
                                  for h in header] != ['video_name', 'label']:
                raise ValueError(
                    f"{path}:1: expected header 'video_name,label'"
                    f', got {header}')
            for line_no, row in enumerate(rows, start=2):
                if not row or not ''.join(row).strip():
                    continue
                data_list.append(
                    self._parse_row(row, path, line_no, num_classes))
        if not data_list:
            raise ValueError(f"DFEW split file '{path}' lists no clips.")
        return data_list

    def _parse_row(self, row: List[str], path: str, line_no: int,
                   num_classes: int) -> dict:
        where = f'{path}:{line_no}'
        if len(row) != 2 or not row[0].strip().isdigit():
            raise ValueError(f"{where}: expected '<clip id>,<label>', got "
                             f'{",".join(row)!r}')
        try:
            label = int(row[1]) - 1
        except ValueError:
            raise ValueError(f'{where}: label {row[1]!r} is not an integer')
        if not 0 <= label < num_classes:
            raise ValueError(f'{where}: label {row[1]} is outside '
                             f'1..{num_classes}')
        clip_id = f'{int(row[0]):05d}'
        folder = osp.join(self.data_root, self.frame_dir, clip_id)
        if not osp.isdir(folder):
            raise FileNotFoundError(f"{where}: clip {clip_id}'s frame folder "
                                    f"'{folder}' is missing")
        names = list_frames(folder)
        if not names:
            raise ValueError(f"{where}: clip {clip_id}'s frame folder "
                             f"'{folder}' holds no images")
        return dict(
            clip_id=clip_id,
            label=label,
            frame_dir=folder,
            frame_names=names,
            total_frames=len(names))

    def get_cat_ids(self, idx: int) -> List[int]:
        """Class of sample ``idx`` (for class-aware samplers)."""
        return [self.get_data_info(idx)['label']]

    def class_counts(self) -> List[int]:
        """Clips per class in this split."""
        counts = [0] * len(self.metainfo['classes'])
        for i in range(len(self)):
            counts[self.get_data_info(i)['label']] += 1
        return counts
