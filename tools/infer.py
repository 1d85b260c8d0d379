"""Recognise facial expressions in your own videos.

``python tools/infer.py CONFIG CHECKPOINT VIDEO|FOLDER [...]``

Finds and tracks the main face (MTCNN, ``pip install -e ".[infer]"``),
crops it, and runs the config's model through the config's own test
pipeline; prints each video's class probabilities and top class. A folder
gives all its videos and sub-folders of frames (or is itself one clip of
frames). The logic lives in :mod:`fineclip.apis.inference`.

Examples::

    python tools/infer.py configs/fineclip_dfew.py epoch_30.pth me.mp4
    python tools/infer.py CONFIG CKPT clips/ --out preds.csv --show figs/
    python tools/infer.py CONFIG CKPT talk.mp4 --window 2 --stride 1 \\
        --out timeline.json --show figs/

Exit status: 0 when at least one input got a prediction, 1 when none did
(missing file, unreadable video, no face), 2 when an option, the config or
the checkpoint cannot be used.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

USER_ERROR = 2  # the tools' status for an option or input that cannot work


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Facial expression recognition on your own videos')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='MMEngine checkpoint (.pth)')
    parser.add_argument('inputs', nargs='+', metavar='VIDEO|FOLDER',
                        help='video files, folders of videos, or folders '
                        'of frame images')
    parser.add_argument('--out', help='write all results to this .json or '
                        '.csv file')
    parser.add_argument('--show', metavar='DIR', help='write one PNG per '
                        'video: the face crops the model saw, the top-3 '
                        'classes, and the timeline with --window')
    parser.add_argument('--window', type=float, metavar='SECONDS',
                        help='also predict sliding windows of this length')
    parser.add_argument('--stride', type=float, metavar='SECONDS',
                        help='seconds between window starts (default 1, '
                        'or the window if shorter)')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' (default), 'cuda' or 'cuda:N'")
    parser.add_argument('--allow-other-classes', action='store_true',
                        help='use a checkpoint trained on other classes '
                        "than the config's dataset (its own are predicted)")
    parser.add_argument('--margin', type=float, default=1.25,
                        help='square crop side over the face box\'s longer '
                        'side (default 1.25)')
    parser.add_argument('--crop-size', type=int, default=224,
                        help='side of the face crops before the test '
                        'pipeline resizes them (default 224, as DFEW)')
    parser.add_argument('--fps', type=float,
                        help='frame rate for times (frame folders: 25 '
                        'unless given)')
    parser.add_argument('--detect-every', type=int, default=1, metavar='N',
                        help='detect faces in every N-th frame only and '
                        'interpolate the track between (default 1)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='clips per forward pass')
    parser.add_argument('--top', type=int, help='print only the top N '
                        'classes')
    parser.add_argument('--save-crops', metavar='DIR', help='keep the face '
                        'crops (and face maps) in DIR/<video name>')
    parser.add_argument(
        '--detector-cfg', nargs='+', action=DictAction, default={},
        help='face detector options, e.g. type=MTCNNFaceDetector '
        'min_face_size=20 max_side=960')
    parser.add_argument(
        '--track-cfg', nargs='+', action=DictAction, default={},
        help='tracking options (track_faces), e.g. smooth_sigma=3 '
        'min_score=0.8')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. model.clip.pretrained=/path/w.pt')
    # inputs may come before and after options
    return parser.parse_intermixed_args(argv)


def _fail(message: str, status: int = 1) -> int:
    print(f'error: {message}', file=sys.stderr)
    return status


def main(argv=None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from fineclip.apis.cli import enable_local_imports
    from fineclip.apis.inference import (InferenceError, figure_names,
                                         find_inputs, format_result,
                                         infer_video, load_recognizer,
                                         save_result_figure, write_results)
    from fineclip.apis.inference_model import (TOY_MODEL_NOTE,
                                               is_embedded_default)
    from fineclip.registry import FACE_DETECTORS
    from fineclip.utils.progress import progress_bar
    if args.out and not args.out.lower().endswith(('.json', '.csv')):
        return _fail(f"--out must end in .json or .csv, got '{args.out}'",
                     USER_ERROR)
    if (args.stride is not None and args.window is None) or \
            (args.window is not None and args.window <= 0) or \
            (args.stride is not None and args.stride <= 0):
        return _fail('--window must be > 0 seconds, and --stride (> 0) '
                     'needs --window', USER_ERROR)
    enable_local_imports()  # before the config imports its plugins
    # Inputs first: a typo in a path should not wait for the model.
    inputs = []
    for path in args.inputs:
        try:
            inputs += find_inputs(path)
        except (FileNotFoundError, InferenceError) as err:
            print(f'error: {err}', file=sys.stderr)
    if not inputs:
        return _fail('no input to run on')
    try:
        recognizer = load_recognizer(args.config, args.checkpoint,
                                     args.device, args.cfg_options,
                                     args.allow_other_classes)
        detector_cfg = dict(type='MTCNNFaceDetector', device=args.device)
        detector_cfg.update(args.detector_cfg)
        detector = FACE_DETECTORS.build(detector_cfg)
    except (FileNotFoundError, InferenceError, ImportError, KeyError,
            ValueError) as err:
        return _fail(str(err), USER_ERROR)

    if is_embedded_default(recognizer.cfg):
        print(TOY_MODEL_NOTE, file=sys.stderr)
    unknown = recognizer.needs.unknown_steps
    if unknown:
        print(f'warning: the test pipeline has steps infer does not know '
              f'({", ".join(unknown)}); they get the same sample as the '
              'others and may need more', file=sys.stderr)

    results, names = [], figure_names(inputs)
    bar = progress_bar(inputs, desc='videos', unit='video',
               disable=len(inputs) < 2)
    for path in bar:
        bar.set_postfix_str(osp.basename(osp.normpath(path)))
        try:
            result = infer_video(
                recognizer, path, detector=detector, margin=args.margin,
                crop_size=args.crop_size, window=args.window,
                stride=args.stride, fps=args.fps,
                detect_every=args.detect_every, track_cfg=args.track_cfg,
                batch_size=args.batch_size, crops_dir=args.save_crops,
                progress=True)
        except (InferenceError, ImportError) as err:
            # the config or an option, not this video: no use going on
            bar.close()
            return _fail(str(err), USER_ERROR)
        results.append(result)
        text = format_result(result, args.top)
        if args.show and result.ok:
            figure = osp.join(args.show, names[path])
            save_result_figure(result, figure)
            text += f'\n  figure: {figure}'
        tqdm.write(text)
    bar.close()
    if args.out:
        write_results(results, args.out,
                      dict(config=args.config, checkpoint=args.checkpoint,
                           toy_model=is_embedded_default(recognizer.cfg)))
        print(f'results written to {args.out}')
    failed = [r for r in results if not r.ok]
    if failed:
        print(f'{len(failed)} of {len(results)} input(s) got no prediction',
              file=sys.stderr)
    return 0 if len(failed) < len(inputs) else 1


if __name__ == '__main__':
    # here, not at the top: this tool imports the package lazily
    from fineclip.apis.error_boundary import run_main
    sys.exit(run_main(main))
