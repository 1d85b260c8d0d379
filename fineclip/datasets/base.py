"""What every DFER dataset shares: split-file reading, clip folders on disk,
errors that name the file and line."""
import errno
import os
import os.path as osp
import re
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from .descriptions import DescriptionIndex
from .splits import stratified_holdout
from .video import VIDEO_EXTENSIONS, video_length

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def _not_a_folder(path: str, head: str) -> OSError:
    """Why ``path`` is no folder: missing, a file, a broken link or a
    symlink loop (``head`` names it in the message)."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return NotADirectoryError(f'{head} is a symlink loop (it leads '
                                      'back to itself); fix the link')
        if osp.islink(path):
            return FileNotFoundError(f'{head} is a broken link to '
                                     f"'{os.readlink(path)}'")
        return FileNotFoundError(f'{head} is missing')
    return NotADirectoryError(f'{head} is a file, not a folder of frames')


def is_clip_number(text: str) -> bool:
    """Whether ``text`` is a clip number: ASCII digits only (``'²'`` and
    other Unicode digits pass ``str.isdigit`` but not ``int``)."""
    return text.isascii() and text.isdigit()


def natural_key(name: str):
    """Sort key that orders embedded numbers by value: ``2`` before ``10``."""
    return [
        int(tok) if tok.isdigit() else tok.lower()
        for tok in re.split(r'(\d+)', name)
    ]


def list_frames(folder: str) -> List[str]:
    """Image file names in ``folder``, naturally sorted.

    Hidden files are left out: macOS copies leave ``._0001.jpg`` resource
    forks next to the frames, which are no images.
    """
    names = [
        n for n in os.listdir(folder)
        if osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS
        and not n.startswith('.')
    ]
    # the name breaks ties ('2.jpg' and '02.jpg'): the order never depends
    # on the file system's listing order
    return sorted(names, key=lambda n: (natural_key(n), n))


class DFERBaseDataset(BaseDataset):
    """Base of the DFER datasets: each sample is one clip with one label.

    Subclasses name their classes in ``METAINFO``, say where their split
    file is (``split_file``, and ``HEADER``/``ENCODING`` if any) and turn one
    line into one sample in ``parse_line``, usually with :meth:`frame_clip`.
    Samples hold ``clip_id``, ``label`` (0-indexed), ``total_frames`` and
    either ``frame_dir`` + ``frame_names`` (a folder of frames) or
    ``video_path``; frames are counted from disk, never trusted from a list.

    A bad line or clip (malformed line, unknown label, missing or empty
    clip folder) raises an error naming the file and line. With
    ``on_bad_clip='skip'`` it is logged and left out instead, and the
    problems stay in ``bad_clips``; if more than ``max_bad_fraction`` of the
    listed clips are bad, loading stops all the same.

    DFEW and MAFW ship no validation split. ``holdout_fraction`` sets a
    stratified, seeded part of a split aside: ``holdout_keep='rest'`` gives
    the remainder (to train on), ``'held_out'`` the part set aside (to
    validate on); both views of one split with the same seed never overlap.

    Args:
        data_root (str): The unpacked dataset folder.
        split (str): ``'train'`` or ``'test'``.
        on_bad_clip (str): ``'raise'`` or ``'skip'``.
        max_bad_fraction (float): Largest share of bad clips ``'skip'``
            tolerates.
        holdout_fraction (float): Share of each class set aside (0: none).
        holdout_keep (str): ``'rest'`` or ``'held_out'``.
        holdout_seed (int): Seed of the held-out draw.
        face_map_dir (str, optional): Folder of the clips' face-map files
            (``{face_map_dir}/{clip_id}.npz``, relative to ``data_root``);
            samples then carry ``face_map_path``. Needed by FineCLIPER*.
        description_file (str, optional): JSONL of per-clip descriptions
            (relative to ``data_root``); samples then carry ``description``
            and a clip without one is a bad clip. Needed by FineCLIPER†.
        pipeline (Sequence[dict]): Transforms.
        test_mode (bool): MMEngine's flag; sampling transforms read it.
        **kwargs: Passed to ``mmengine.dataset.BaseDataset``.
    """

    SPLITS = ('train', 'test')
    HEADER = None
    ENCODING = 'utf-8-sig'

    def __init__(self, data_root: str, split: str = 'train',
                 on_bad_clip: str = 'raise', max_bad_fraction: float = 0.01,
                 holdout_fraction: float = 0.0, holdout_keep: str = 'rest',
                 holdout_seed: int = 0, face_map_dir: Optional[str] = None,
                 description_file: Optional[str] = None,
                 pipeline: Sequence[dict] = (), test_mode: bool = False,
                 **kwargs):
        name = type(self).__name__
        if split not in self.SPLITS:
            raise ValueError(f'{name} split must be one of {self.SPLITS}, '
                             f"got '{split}'")
        if on_bad_clip not in ('raise', 'skip'):
            raise ValueError("on_bad_clip must be 'raise' or 'skip', got "
                             f"'{on_bad_clip}'")
        if not 0 <= max_bad_fraction <= 1:
            raise ValueError('max_bad_fraction must be in [0, 1], got '
                             f'{max_bad_fraction}')
        if not 0 <= holdout_fraction < 1:
            raise ValueError('holdout_fraction must be in [0, 1), got '
                             f'{holdout_fraction}')
        if holdout_keep not in ('rest', 'held_out'):
            raise ValueError("holdout_keep must be 'rest' or 'held_out', got "
                             f"'{holdout_keep}'")
        self.on_bad_clip, self.max_bad_fraction = on_bad_clip, max_bad_fraction
        self.holdout = (holdout_fraction, holdout_keep, holdout_seed)
        self.face_map_dir = face_map_dir
        self.description_file = description_file
        self.bad_clips: List[str] = []
        if osp.isfile(data_root):
            raise NotADirectoryError(
                f"{name} data_root '{data_root}' is a file, not the "
                "dataset's folder; set train_dataloader.dataset.data_root "
                '(and the val/test ones) to the folder it unpacks to.')
        if not osp.isdir(data_root):
            raise FileNotFoundError(
                f"{name} data_root '{data_root}' does not exist. Unpack the "
                'dataset there or set train_dataloader.dataset.data_root '
                '(and the val/test ones).')
        self.split = split
        super().__init__(data_root=data_root, pipeline=list(pipeline),
                         test_mode=test_mode, **kwargs)

    @property
    def classes(self) -> Tuple[str, ...]:
        """Class names in label order."""
        return tuple(self.metainfo['classes'])

    def read_lines(self, path: str, encoding: str = 'utf-8-sig'
                   ) -> Iterator[Tuple[int, str]]:
        """Yields ``(line number, stripped line)`` of the non-empty lines.

        LF, CRLF and CR line ends all work, a UTF-8 byte-order mark is
        dropped; a folder where the file belongs is named as one. A line
        that is not in ``encoding`` raises a ``ValueError`` naming the
        file, line and byte (the file is decoded line by line, so the line
        number is exact).
        """
        if osp.isdir(path):
            raise IsADirectoryError(
                f"{type(self).__name__} split file '{path}' is a folder; "
                'the split file belongs there (check data_root and ann_dir)')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f"{type(self).__name__} split file '{path}' is missing.")
        with open(path, 'rb') as f:
            data = f.read()
        if data[:2] in (b'\xff\xfe', b'\xfe\xff'):
            raise ValueError(f"'{path}' is UTF-16-encoded; save it as UTF-8")
        if encoding.lower().replace('_', '-') == 'utf-8-sig':
            encoding = 'utf-8'
            data = data[3:] if data.startswith(b'\xef\xbb\xbf') else data
        lines = []
        # CRLF, LF and CR-only (old Mac) line ends; b'\r' and b'\n' never
        # occur inside a multi-byte character of UTF-8 or GBK
        data = data.replace(b'\r\n', b'\n').replace(b'\r', b'\n')
        for line_no, raw in enumerate(data.split(b'\n'), start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as err:
                raise ValueError(
                    f"{path}:{line_no}: not {encoding}-encoded (byte "
                    f'0x{raw[err.start]:02x} at column {err.start + 1}: '
                    f'{err.reason}); save the file as {encoding}') from err
            if line.strip():
                lines.append((line_no, line))
        return iter(lines)

    def label_by_name(self, name: str, where: str) -> int:
        """Index of a class given by name (case-insensitive)."""
        lowered = [c.lower() for c in self.classes]
        if name.strip().lower() not in lowered:
            raise ValueError(f"{where}: unknown label name '{name}'; "
                             f'classes are {list(self.classes)}')
        return lowered.index(name.strip().lower())

    def label_by_number(self, value: str, where: str, first: int) -> int:
        """0-based class index from a number counted from ``first``."""
        try:
            label = int(value) - first
        except ValueError:
            raise ValueError(f'{where}: label {value!r} is not an integer')
        if not 0 <= label < len(self.classes):
            raise ValueError(f'{where}: label {value} is outside '
                             f'{first}..{len(self.classes) - 1 + first}')
        return label

    def frame_clip(self, folder: str, clip_id: str, label: int,
                   where: str) -> dict:
        """A sample for a clip stored as a folder of frames."""
        head = f"{where}: clip {clip_id}'s frame folder '{folder}'"
        if not osp.isdir(folder):
            raise _not_a_folder(folder, head)
        try:
            names = list_frames(folder)
        except OSError as err:  # no permission to list it, mostly
            raise type(err)(f'{head} cannot be read: '
                            f'{err.strerror or err}') from err
        if not names:
            others = sorted({osp.splitext(n)[1].lower() or n
                             for n in os.listdir(folder)
                             if not n.startswith('.')})
            held = (f"; it holds {', '.join(others[:5])} files: convert them"
                    if others else ' (it is empty)')
            raise ValueError(
                f'{head} holds no images of a supported type '
                f"({', '.join(IMAGE_EXTENSIONS)}){held}")
        return dict(clip_id=clip_id, label=label, frame_dir=folder,
                    frame_names=names, total_frames=len(names))

    @property
    def split_file(self) -> str:
        """Path of the split file this dataset reads."""
        raise NotImplementedError

    def parse_line(self, line: str, where: str) -> dict:
        """Turns one split-file line into a sample; raises if it is bad."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """Reads the split file line by line (see the class docstring)."""
        path = self.split_file
        lines = self._skip_header(
            list(self.read_lines(path, encoding=self.ENCODING)), path)
        data_list, self.bad_clips, self.load_warnings = [], [], []
        descriptions = None
        if self.description_file is not None:
            descriptions = DescriptionIndex(
                osp.join(self.data_root, self.description_file))
        seen = {}  # clip id -> (line, label) of its first line
        for line_no, line in lines:
            where = f'{path}:{line_no}'
            try:
                sample = self.parse_line(line, where)
                if self._is_repeat(sample, seen, path, line_no):
                    continue
                self._attach_face_maps(sample, where)
                if descriptions is not None:
                    self._attach_description(sample, descriptions, where)
                data_list.append(sample)
            except (ValueError, OSError) as err:
                if self.on_bad_clip == 'raise':
                    raise
                self.bad_clips.append(str(err))
                print_log(f'Skipped: {err}', logger='current', level=30)
        self._warn_overlap(seen, path)
        return self._checked(data_list, path)

    def _warn(self, message: str) -> None:
        self.load_warnings.append(message)
        print_log(message, logger='current', level=30)

    def _skip_header(self, lines: list, path: str) -> list:
        """Drops the header line; case, spaces and quotes do not matter.

        A file whose first line already is a row (it starts with a clip
        number) has no header and is read whole.
        """
        if self.HEADER is None:
            return lines
        if not lines:
            raise ValueError(f"{path}:1: expected header '{self.HEADER}', "
                             'the file is empty')
        line_no, first = lines[0]
        # a trailing empty column (a spreadsheet's) is no part of it
        header = re.sub(r'[\s"\']', '', first).lower()
        if header.rstrip(',') == self.HEADER.lower():
            return lines[1:]
        if first.strip().strip('"').strip()[:1].isdigit():
            return lines
        raise ValueError(f"{path}:{line_no}: expected header "
                         f"'{self.HEADER}', got {first!r}")

    def _is_repeat(self, sample: dict, seen: dict, path: str,
                   line_no: int) -> bool:
        """True for a clip listed again with the same label (a warning;
        the repeat is left out). A different label is an error."""
        clip_id, label = sample['clip_id'], sample['label']
        if clip_id not in seen:
            seen[clip_id] = (line_no, label)
            return False
        first_line, first_label = seen[clip_id]
        if first_label != label:
            raise ValueError(
                f'{path}:{line_no}: clip {clip_id} is listed again with '
                f'label {self.classes[label]!r}; line {first_line} gives '
                f'{self.classes[first_label]!r}')
        self._warn(f'{path}:{line_no}: clip {clip_id} is listed again '
                   f'(first on line {first_line}); the repeat is left out')
        return True

    def other_split_file(self) -> Optional[str]:
        """The split file of the other half of this fold (``None``: none).

        Subclasses with train/test files return it, with
        :meth:`clip_id_of`, so a clip in both halves is reported.
        """
        return None

    def clip_id_of(self, line: str) -> Optional[str]:
        """The clip id of a split-file line, without touching the disk
        (``None`` if the line does not parse)."""
        return None

    def _warn_overlap(self, seen: dict, path: str) -> None:
        """Warns about clips listed in this split and the other one."""
        other = self.other_split_file()
        if other is None or not osp.isfile(other):
            return
        try:
            lines = self._skip_header(
                list(self.read_lines(other, encoding=self.ENCODING)), other)
        except ValueError:
            return  # that file's problems are reported when it is loaded
        both = [(clip_id, line_no) for line_no, line in lines
                if (clip_id := self.clip_id_of(line)) in seen]
        if both:
            listed = ', '.join(
                f'{c} ({path}:{seen[c][0]}, {other}:{n})'
                for c, n in both[:5])
            self._warn(f'{len(both)} clip(s) are in both the {self.split} '
                       f'and the other split of this fold: {listed}'
                       f"{' ...' if len(both) > 5 else ''}; the test "
                       'result is not a held-out one')

    def _attach_face_maps(self, sample: dict, where: str) -> None:
        """Adds ``face_map_path`` when the config names a face-map folder.

        The file must exist now (a missing one is a bad clip); its contents
        are checked against the clip when ``LoadFaceMaps`` reads it.
        """
        if self.face_map_dir is None:
            return
        path = osp.join(self.data_root, self.face_map_dir,
                        sample['clip_id'] + '.npz')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f"{where}: clip {sample['clip_id']}'s face-map file '{path}' "
                'is missing; run tools/data/extract_face_maps.py first')
        sample['face_map_path'] = path

    def _attach_description(self, sample: dict,
                            descriptions: 'DescriptionIndex',
                            where: str) -> None:
        sample['description'] = descriptions.text_of(sample['clip_id'],
                                                     where)

    def video_clip(self, path: str, clip_id: str, label: int,
                   where: str) -> dict:
        """A sample for a clip stored as a video file (its length is read
        now, so a missing or unreadable video is reported at start-up)."""
        if not osp.isfile(path):
            raise FileNotFoundError(f"{where}: clip {clip_id}'s video "
                                    f"'{path}' is missing")
        try:
            total = video_length(path)
        except OSError as err:
            raise OSError(f'{where}: {err}') from err
        return dict(clip_id=clip_id, label=label, video_path=path,
                    total_frames=total)

    def find_video(self, folder: str, clip_id: str, where: str) -> str:
        """The video of ``clip_id`` in ``folder``, whatever its extension."""
        for ext in VIDEO_EXTENSIONS:
            path = osp.join(folder, clip_id + ext)
            if osp.isfile(path):
                return path
        raise FileNotFoundError(
            f"{where}: no video of clip {clip_id} in '{folder}' (looked for "
            f"{', '.join(VIDEO_EXTENSIONS)})")

    def _checked(self, data_list: List[dict], path: str) -> List[dict]:
        """Reports skipped clips; refuses too many, or an empty split."""
        listed = len(data_list) + len(self.bad_clips)
        if self.bad_clips:
            share = len(self.bad_clips) / listed
            print_log(f"{type(self).__name__}: skipped "
                      f'{len(self.bad_clips)} of {listed} clips listed in '
                      f"'{path}' ({100 * share:.1f}%)", logger='current',
                      level=30)
            if share > self.max_bad_fraction:
                raise ValueError(
                    f"{len(self.bad_clips)} of {listed} clips in '{path}' are "
                    f'bad ({100 * share:.1f}% > max_bad_fraction '
                    f'{100 * self.max_bad_fraction:.1f}%); first: '
                    f'{self.bad_clips[0]}')
        if not data_list and self.bad_clips:
            # e.g. every clip's face-map file missing: say that, not "empty"
            raise ValueError(
                f"All {listed} clips listed in '{path}' are bad; first: "
                f'{self.bad_clips[0]} (python tools/data/check_dataset.py '
                'CONFIG lists them all)')
        if not data_list:
            raise ValueError(f"{type(self).__name__} split file '{path}' "
                             'lists no clips.')
        return self._apply_holdout(data_list)

    def _apply_holdout(self, data_list: List[dict]) -> List[dict]:
        """Keeps the rest or the held-out part (stratified by class)."""
        fraction, keep, seed = self.holdout
        if fraction == 0:
            return data_list
        labels = np.array([d['label'] for d in data_list])
        held_out = stratified_holdout(labels, fraction,
                                      np.random.RandomState(seed))
        want = keep == 'held_out'
        return [d for i, d in enumerate(data_list)
                if held_out[i] == want]

    def get_cat_ids(self, idx: int) -> List[int]:
        """Class of sample ``idx`` (for class-aware samplers)."""
        return [self.get_data_info(idx)['label']]

    def class_counts(self) -> List[int]:
        """Clips per class in this split."""
        counts = [0] * len(self.classes)
        for i in range(len(self)):
            counts[self.get_data_info(i)['label']] += 1
        return counts
