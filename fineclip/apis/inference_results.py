"""What infer gives back: one video's result (:class:`VideoResult`, with
its sliding windows) and its reports: text, JSON, CSV and a figure.
"""
import csv
import json
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from fineclip.preprocessing.face_detectors.tracking import FaceTrack

__all__ = ['VideoResult', 'WindowResult', 'figure_names', 'format_result',
           'save_result_figure', 'write_results']


@dataclass
class WindowResult:
    """The prediction for frames ``[start_frame, end_frame)``."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    probs: np.ndarray


@dataclass
class VideoResult:
    """What infer found in one video.

    Attributes:
        path: The input.
        status: ``'ok'``, ``'no_face'`` or ``'error'`` (see ``message``).
        message: Why a video has no prediction; empty when ``'ok'``.
        classes: Class names, in the order of ``probs``.
        probs: ``(C,)`` probabilities for the whole video (T frames sampled
            over all of it, as the test pipeline samples a clip).
        windows: Sliding-window predictions, if asked for.
        num_frames: Frames read.
        fps: Frame rate used for times.
        fps_assumed: A frame folder, whose rate was not given.
        track: The face track.
        strip: ``(T, S, S, 3)`` crops of the frames the whole-video clip
            sampled, and ``strip_times`` their times in seconds.
        description: The whole video's description, when the model reads
            one.
        warnings: Things worth knowing that did not stop the run.
    """

    path: str
    status: str = 'ok'
    message: str = ''
    classes: Tuple[str, ...] = ()
    probs: Optional[np.ndarray] = None
    windows: List[WindowResult] = field(default_factory=list)
    num_frames: int = 0
    fps: float = 0.0
    fps_assumed: bool = False
    track: Optional[FaceTrack] = None
    strip: Optional[np.ndarray] = None
    strip_times: List[float] = field(default_factory=list)
    description: Optional[str] = None
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 'ok'

    def ranked(self, probs: Optional[np.ndarray] = None
               ) -> List[Tuple[str, float]]:
        """``(class, probability)`` pairs, most probable first."""
        probs = self.probs if probs is None else probs
        order = np.argsort(-np.asarray(probs), kind='stable')
        return [(self.classes[i], float(probs[i])) for i in order]

    @property
    def top_class(self) -> Optional[str]:
        return self.ranked()[0][0] if self.ok else None

    def per_second(self) -> List[Tuple[int, np.ndarray]]:
        """The window timeline resampled to whole seconds.

        Second ``s`` gets the mean of the windows that contain its middle
        ``s + 0.5`` (the nearest window when none does).
        """
        if not self.windows:
            return []
        duration = self.num_frames / self.fps
        starts = np.array([w.start_s for w in self.windows])
        ends = np.array([w.end_s for w in self.windows])
        out = []
        for second in range(max(1, math.ceil(duration - 1e-9))):
            mid = min(second + 0.5, duration)
            inside = (starts <= mid) & (mid <= ends)
            if not inside.any():
                centre = (starts + ends) / 2
                inside = np.abs(centre - mid) == np.abs(centre - mid).min()
            probs = np.mean([w.probs for w, keep in
                             zip(self.windows, inside) if keep], axis=0)
            out.append((second, probs))
        return out

    def to_dict(self) -> dict:
        """A JSON-ready summary (probabilities sorted, highest first)."""
        out = dict(video=self.path, status=self.status,
                   message=self.message, num_frames=self.num_frames,
                   fps=round(self.fps, 3), fps_assumed=self.fps_assumed)
        if self.track is not None:
            out.update(frames_with_face=self.track.num_detected,
                       frames_checked=self.track.num_checked)
        if self.warnings:
            out['warnings'] = list(self.warnings)
        if not self.ok:
            return out
        ranked = self.ranked()
        out.update(top_class=ranked[0][0], top_prob=ranked[0][1],
                   probabilities=dict(ranked))
        if self.description is not None:
            out['description'] = self.description
        if self.windows:
            out['windows'] = [
                dict(start_s=round(w.start_s, 3), end_s=round(w.end_s, 3),
                     start_frame=w.start_frame, end_frame=w.end_frame,
                     top_class=self.ranked(w.probs)[0][0],
                     probabilities=dict(self.ranked(w.probs)))
                for w in self.windows
            ]
            out['per_second'] = [
                dict(second=s, top_class=self.ranked(p)[0][0],
                     probabilities=dict(self.ranked(p)))
                for s, p in self.per_second()
            ]
        return out


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f'{int(minutes):02d}:{seconds:05.2f}'


def format_result(result: VideoResult, top: Optional[int] = None) -> str:
    """A readable report of one result (several lines)."""
    head = f'{result.path}'
    if result.num_frames:
        rate = f'{result.fps:.2f} fps' + (
            ' (assumed)' if result.fps_assumed else '')
        head += f' ({result.num_frames} frames, {rate}'
        if result.track is not None:
            head += (f', face in {result.track.num_detected}/'
                     f'{result.track.num_checked} checked frames')
        head += ')'
    lines = [head]
    if not result.ok:
        label = 'no face' if result.status == 'no_face' else 'error'
        lines.append(f'  {label}: {result.message}')
        return '\n'.join(lines)
    for warning in result.warnings:
        lines.append(f'  warning: {warning}')
    if result.description is not None:
        lines.append(f'  description: {result.description}')
    ranked = result.ranked()
    width = max(len(c) for c in result.classes)
    for name, prob in ranked[:top]:
        lines.append(f'  {name:<{width}}  {prob:.4f}')
    lines.append(f'  top: {ranked[0][0]} ({ranked[0][1]:.4f})')
    if result.windows:
        lines.append('  timeline (window: top class, then the next two):')
        for w in result.windows:
            best = result.ranked(w.probs)[:3]
            rest = ', '.join(f'{n} {p:.2f}' for n, p in best[1:])
            lines.append(f'    {_clock(w.start_s)}-{_clock(w.end_s)}  '
                         f'{best[0][0]} {best[0][1]:.2f}  ({rest})')
    return '\n'.join(lines)


def write_results(results: Sequence[VideoResult], out_file: str,
                  extra: Optional[dict] = None) -> None:
    """Writes results as JSON (everything) or CSV (one row per video, or
    per window when there are windows).

    Args:
        results: The videos' results.
        out_file: ``.json`` or ``.csv``.
        extra: More top-level JSON fields (config, checkpoint...).
    """
    ext = osp.splitext(out_file)[1].lower()
    if ext not in ('.json', '.csv'):
        raise ValueError(f"--out must end in .json or .csv, got "
                         f"'{out_file}'")
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    classes = next((r.classes for r in results if r.classes), ())
    if ext == '.json':
        payload = dict(extra or {}, classes=list(classes),
                       results=[r.to_dict() for r in results])
        with open(out_file, 'w') as f:
            json.dump(payload, f, indent=2)
        return
    # clip: 'video' for the whole video, 'window' for a sliding window
    header = ['video', 'status', 'message', 'clip', 'start_s', 'end_s',
              'top_class', 'top_prob'] + [f'p_{c}' for c in classes]
    with open(out_file, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in results:
            if not r.ok:
                writer.writerow([r.path, r.status, r.message] + [''] *
                                (len(header) - 3))
                continue
            duration = r.num_frames / r.fps
            rows = [('video', 0.0, duration, r.probs)] + [
                ('window', w.start_s, w.end_s, w.probs) for w in r.windows]
            for clip, start, end, probs in rows:
                best = r.ranked(probs)[0]
                writer.writerow(
                    [r.path, r.status, '', clip, f'{start:.3f}',
                     f'{end:.3f}', best[0], f'{best[1]:.6f}'] +
                    [f'{p:.6f}' for p in probs])


def save_result_figure(result: VideoResult, out_file: str) -> None:
    """A PNG: the face crops the model saw with their times, the top-3
    classes in the title, and with windows the probability of each class
    over time (drawn by
    :func:`fineclip.visualization.inference_timeline.plot_inference_timeline`).

    Raises:
        ValueError: a result without a prediction.
    """
    from fineclip.visualization.inference_timeline import \
        plot_inference_timeline
    if not result.ok or result.strip is None:
        raise ValueError(f'{result.path} has no prediction to show')
    top3 = ', '.join(f'{n} {p:.2f}' for n, p in result.ranked()[:3])
    windows = result.windows
    plot_inference_timeline(
        result.strip, result.strip_times,
        f'{osp.basename(osp.normpath(result.path))}: {top3}', out_file,
        class_names=result.classes,
        window_centres=[(w.start_s + w.end_s) / 2 for w in windows],
        window_probs=np.stack([w.probs for w in windows]) if windows
        else None,
        duration=result.num_frames / result.fps)


def figure_names(paths: Sequence[str]) -> Dict[str, str]:
    """A unique PNG name per input: its name without the extension, or
    with it (dot replaced) where two inputs share a stem."""
    bases = [osp.basename(osp.normpath(p)) for p in paths]
    stems = [osp.splitext(b)[0] for b in bases]
    return {
        p: (stem if stems.count(stem) == 1 else base.replace('.', '_'))
        + '.png'
        for p, base, stem in zip(paths, bases, stems)
    }
