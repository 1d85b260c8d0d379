"""Convert a checkpoint of the official DFER-CLIP code to FineCLIP's.

``python tools/model_converters/dfer_clip.py SRC.pth OUT.pth --dataset dfew``

The official training script saves ``{'epoch', 'state_dict', 'best_acc',
'optimizer', 'recorder'}``: the weights of a ``DataParallel`` model (every
key prefixed ``module.``) and a pickled ``RecorderMeter`` of the script.
The file is read with ``torch.load(weights_only=True)``; the classes it
names that are not tensors or plain containers (the recorder, NumPy arrays
inside it) are replaced by inert stand-ins that only hold their pickled
state, so nothing in the file runs. PyTorch refuses outright a file that
names a blocked module (``os``, ``subprocess``, ...).

The weights are mapped onto ``configs/plugins/dfer_clip_{dataset}.py``'s
model (CLIP ViT-B/32, the temporal transformer, the prompt learner's
context), the class-specific contexts reordered from the official class
list to the dataset's class order. The class texts the checkpoint was
trained with are read back from its prompt-token buffers (exact rows of
CLIP's token embedding) and written, with the model's shape, into a config
beside the output (``OUT.py``, a child of the dataset's config), so that

``python tools/test.py OUT.py OUT.pth``

evaluates the official model. The checkpoint's ``meta`` names its classes
(``dataset_meta``), the class texts and the source file.
"""
import argparse
import io
import os.path as osp
import pickle
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

import torch
import torch.serialization as serialization

from fineclip.apis.error_boundary import run_main
from fineclip.engine.checkpoint_io import atomic_write_bytes
from fineclip.models.class_descriptions import canonical_class
from fineclip.utils.errors import UserInputError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The official code's class lists (its ``models/Text.py``), index = label.
OFFICIAL_CLASSES = ('happiness', 'sadness', 'neutral', 'anger', 'surprise',
                    'disgust', 'fear', 'contempt', 'anxiety', 'helplessness',
                    'disappointment')
DATASETS = ('dfew', 'ferv39k', 'mafw')
PREFIX = 'module.'  # DataParallel's
EOT_ID = 49407  # CLIP's end-of-text token
PERIOD = '.'

# official temporal-transformer key -> FineCLIP's (layer index kept)
_TEMPORAL = [
    (r'cls_token', 'class_token'),
    (r'pos_embedding', 'position_embedding'),
    (r'temporal_transformer\.layers\.(\d+)\.0\.fn\.norm\.(weight|bias)',
     r'layers.\1.norm_attn.\2'),
    (r'temporal_transformer\.layers\.(\d+)\.0\.fn\.fn\.to_qkv\.weight',
     r'layers.\1.qkv.weight'),
    (r'temporal_transformer\.layers\.(\d+)\.0\.fn\.fn\.to_out\.0\.'
     r'(weight|bias)', r'layers.\1.out.0.\2'),
    (r'temporal_transformer\.layers\.(\d+)\.1\.fn\.norm\.(weight|bias)',
     r'layers.\1.norm_mlp.\2'),
    (r'temporal_transformer\.layers\.(\d+)\.1\.fn\.fn\.net\.(0|3)\.'
     r'(weight|bias)', r'layers.\1.mlp.\2.\3'),
]


class ConversionError(UserInputError):
    """A file the converter cannot turn into a FineCLIP checkpoint."""


class InertStandIn:
    """What an unpickled object of a class outside the allow-list becomes.

    It runs nothing: construction keeps the arguments, ``__setstate__``
    keeps the state. ``source`` names the class the file asked for.
    """

    source = '?'

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        self.state = state

    def __repr__(self) -> str:
        return f'<inert stand-in for {self.source}>'


def read_foreign_checkpoint(path: str) -> dict:
    """Reads a checkpoint that pickles foreign objects, running none of them.

    ``torch.load(weights_only=True)`` with every global the file names that
    PyTorch does not allow by default (found by reading the pickle's
    opcodes, not by running it) mapped to its own :class:`InertStandIn`
    subclass. PyTorch still refuses globals from blocked modules (``os``,
    ``subprocess``, ``sys``...), whatever the allow-list says.

    Raises:
        ConversionError: no such file, not a PyTorch file, or refused.
    """
    if not osp.isfile(path):
        raise ConversionError(f"No such checkpoint: '{path}'")
    if not hasattr(serialization, 'get_unsafe_globals_in_checkpoint'):
        raise ConversionError(
            f'Converting needs torch >= 2.5 (this is {torch.__version__}): '
            'it lists what the pickle names before loading it. Upgrade '
            'torch in another environment for the conversion.')
    try:
        names = serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception as err:  # not a zip-format torch file
        raise ConversionError(
            f"'{path}' is not a PyTorch checkpoint this converter can read "
            f'(torch.save zip format): {err}') from err
    stand_ins = [(type('StandIn', (InertStandIn, ), {'source': name}), name)
                 for name in names]
    try:
        with serialization.safe_globals(stand_ins):
            return torch.load(path, map_location='cpu', weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise ConversionError(
            f"Cannot read '{path}': truncated or corrupt? "
            f'{str(err).strip()[:300]}') from err
    except pickle.UnpicklingError as err:
        reason = str(err).strip().splitlines()
        reason = next((line for line in reason if 'GLOBAL' in line),
                      reason[-1] if reason else '')
        raise ConversionError(
            f"'{path}' was refused: it asks to run code when loaded "
            f'({reason[:300]}). An official DFER-CLIP checkpoint holds '
            'tensors, plain containers and the training script\'s '
            'RecorderMeter only; get the file again from its source.'
        ) from err


def official_state(checkpoint) -> Dict[str, torch.Tensor]:
    """The official model's weights, without the ``module.`` prefix.

    Raises:
        ConversionError: not the official layout.
    """
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not any(
            k.split(PREFIX, 1)[-1].startswith('temporal_net.')
            for k in state):
        keys = sorted(state)[:5] if isinstance(state, dict) else type(state)
        raise ConversionError(
            'Not an official DFER-CLIP checkpoint: its state_dict has no '
            f'temporal_net.* weights (first keys: {keys}). This converter '
            'reads the files of the official main.py (save_checkpoint).')
    plain = OrderedDict()
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ConversionError(
                f"state_dict['{key}'] is a {type(value).__name__}, not a "
                'tensor: the file is not an official DFER-CLIP checkpoint.')
        plain[key[len(PREFIX):] if key.startswith(PREFIX) else key] = value
    return plain


def class_order(dataset_classes: Sequence[str]) -> List[int]:
    """For each dataset class, its index in the official class list.

    Raises:
        ConversionError: a dataset class the official list does not have.
    """
    official = [canonical_class(n) for n in OFFICIAL_CLASSES]
    order = []
    for name in dataset_classes:
        key = canonical_class(name)
        if key not in official:
            raise ConversionError(
                f"Class '{name}' is not in the official DFER-CLIP class "
                f'list {OFFICIAL_CLASSES}.')
        order.append(official.index(key))
    return order


def token_ids(rows: torch.Tensor, table: torch.Tensor) -> List:
    """The token id of each embedding row, up to the first end of text:
    the index of the table row it equals exactly (None if none does).

    Candidates are the rows whose first value matches; equality, not
    nearness, because the buffers are copies of the frozen table.
    """
    first, ids = table[:, 0], []
    for row in rows:
        found = None
        for index in torch.nonzero(first == row[0]).flatten().tolist():
            if torch.equal(table[index], row):
                found = index
                break
        ids.append(found)
        if found == EOT_ID:
            break
    return ids


def recover_class_texts(suffix: torch.Tensor, token_embedding: torch.Tensor
                        ) -> List[str]:
    """The class text of each prompt, read back from its token embeddings.

    The official prompt learner keeps the embeddings of the tokens after
    its context (``token_suffix``: class text, ``'.'``, end of text,
    padding); the text tower is frozen, so each row is exactly a row of
    CLIP's token embedding and gives its token id back.

    Returns:
        list: one text per prompt, without the closing ``'.'``.

    Raises:
        ConversionError: rows that are no token embedding, or a text that
            does not end with ``'.'`` (FineCLIP's prompts always do).
    """
    from open_clip.tokenizer import SimpleTokenizer
    tokenizer = SimpleTokenizer()
    period = tokenizer.encode(PERIOD)
    texts = []
    for row in suffix:
        ids = token_ids(row, token_embedding)
        if None in ids:
            raise ConversionError(
                "prompt_learner.token_suffix rows are not rows of CLIP's "
                'token embedding: the text tower was not frozen, or the '
                'file is not an official DFER-CLIP checkpoint.')
        if EOT_ID not in ids:
            raise ConversionError('A prompt has no end-of-text token.')
        end = ids.index(EOT_ID)
        ids = ids[:end]
        if ids[-len(period):] != period:
            raise ConversionError(
                f'A class text does not end with {PERIOD!r} '
                f'({tokenizer.decode(ids)!r}); FineCLIP\'s prompt layout '
                'always closes with it.')
        ids = ids[:-len(period)]
        text = tokenizer.decode(ids).strip()
        # decode() spaces out punctuation; the tokens are the same without
        tidy = re.sub(r' ([,.;:!?])', r'\1', text)
        text = tidy if tokenizer.encode(tidy) == ids else text
        if tokenizer.encode(text) != ids:
            raise ConversionError(f'Class text {text!r} does not encode '
                                  'back to the same tokens.')
        texts.append(text)
    return texts


def map_weights(state: Dict[str, torch.Tensor], order: Sequence[int]
                ) -> Tuple[OrderedDict, dict]:
    """Official weights -> FineCLIP ``state_dict`` and the model's shape.

    Returns:
        tuple: the mapped ``state_dict`` and ``dict(num_context,
        class_specific, depth, texts)`` (texts in the dataset's order).

    Raises:
        ConversionError: keys the mapping does not know, or a context for
            another number of classes than the dataset's.
    """
    out, unknown, depth = OrderedDict(), [], 0
    for key, value in state.items():
        if key.startswith('clip_model_.'):
            out['clip.' + key[len('clip_model_.'):]] = value
        elif key.startswith('image_encoder.'):
            # the same module as clip_model_.visual; it wins if they differ
            out['clip.visual.' + key[len('image_encoder.'):]] = value
        elif key.startswith('text_encoder.') or key in (
                'prompt_learner.token_prefix', 'prompt_learner.token_suffix',
                'prompt_learner.ctx'):
            continue  # aliases of CLIP's weights, or handled below
        elif key.startswith('temporal_net.'):
            rest = key[len('temporal_net.'):]
            for pattern, target in _TEMPORAL:
                if re.fullmatch(pattern, rest):
                    name = re.sub(pattern, target, rest)
                    out['branches.video.temporal.' + name] = value
                    layer = re.match(r'layers\.(\d+)\.', name)
                    if layer:
                        depth = max(depth, int(layer.group(1)) + 1)
                    break
            else:
                unknown.append(key)
        else:
            unknown.append(key)
    if unknown:
        raise ConversionError(f'Keys the official model does not have: '
                              f'{unknown[:8]}: not an official checkpoint.')
    for need in ('prompt_learner.ctx', 'prompt_learner.token_suffix',
                 'clip_model_.token_embedding.weight'):
        if need not in state:
            raise ConversionError(f"The checkpoint has no '{need}'.")
    suffix = state['prompt_learner.token_suffix']
    if suffix.shape[0] != len(OFFICIAL_CLASSES) and suffix.shape[0] != 7:
        raise ConversionError(f'The checkpoint has prompts for '
                              f'{suffix.shape[0]} classes; DFER-CLIP has '
                              '7 (DFEW, FERV39k) or 11 (MAFW).')
    if max(order) >= suffix.shape[0] or len(order) != suffix.shape[0]:
        raise ConversionError(
            f'The checkpoint has prompts for {suffix.shape[0]} classes, '
            f'the dataset {len(order)}: give the --dataset it was trained '
            'on.')
    texts = recover_class_texts(suffix,
                                state['clip_model_.token_embedding.weight'])
    context = state['prompt_learner.ctx']
    class_specific = context.dim() == 3
    # official row j is official class j; FineCLIP's row i its class i
    out['label_augmenter.context'] = (context[list(order)].clone()
                                      if class_specific else
                                      context.unsqueeze(0).clone())
    shape = dict(num_context=context.shape[-2], class_specific=class_specific,
                 depth=depth, texts=[texts[j] for j in order])
    return out, shape


def companion_config(base: str, classes: Sequence[str], shape: dict,
                     source: str) -> str:
    """Text of the config that builds the converted model: ``base`` with
    the checkpoint's class texts, context and depth."""
    texts = ''.join(f'            {name!r}: {text!r},\n'
                    for name, text in zip(classes, shape['texts']))
    return (f'# Made by tools/model_converters/dfer_clip.py from\n'
            f'# {source}:\n'
            f'# the class texts, context and depth that checkpoint was '
            f'trained with,\n# on {osp.relpath(base, ROOT)}.\n'
            f'_base_ = [{base!r}]\n\n'
            'model = dict(\n'
            '    label_augmenter=dict(\n'
            f"        num_context={shape['num_context']},\n"
            f"        class_specific={shape['class_specific']},\n"
            f'        descriptions={{\n{texts}        }}),\n'
            '    branches=dict(video=dict(temporal=dict('
            f"depth={shape['depth']}))))\n")


def dataset_classes(dataset: str) -> Tuple[str, ...]:
    """The FineCLIP class names (label order) of ``dataset``."""
    from fineclip.datasets import DFEW_CLASSES, FERV39K_CLASSES, MAFW_CLASSES
    return dict(dfew=DFEW_CLASSES, ferv39k=FERV39K_CLASSES,
                mafw=MAFW_CLASSES)[dataset]


def convert(src: str, out: str, dataset: str, config: str = None) -> dict:
    """Converts ``src`` to ``out`` and writes ``out``'s config beside it.

    Returns:
        dict: the written checkpoint's ``meta`` plus ``config``, the
        companion config's path.
    """
    classes = dataset_classes(dataset)
    config = osp.abspath(config or osp.join(
        ROOT, 'configs', 'plugins', f'dfer_clip_{dataset}.py'))
    checkpoint = read_foreign_checkpoint(src)
    state, shape = map_weights(official_state(checkpoint),
                               class_order(classes))
    best = checkpoint.get('best_acc') if isinstance(checkpoint, dict) \
        else None
    meta = dict(
        dataset_meta=dict(classes=list(classes)),
        class_prompts=dict(zip(classes, shape['texts'])),
        converted_from=dict(
            file=osp.abspath(src), format='DFER-CLIP official (main.py)',
            epoch=checkpoint.get('epoch'),
            best_acc=float(best) if isinstance(best, (int, float,
                                                       torch.Tensor))
            else None,
            official_classes=list(OFFICIAL_CLASSES[:len(classes)])))
    buffer = io.BytesIO()
    torch.save(dict(meta=meta, state_dict=state), buffer)
    atomic_write_bytes(buffer.getvalue(), out)
    config_out = osp.splitext(out)[0] + '.py'
    atomic_write_bytes(
        companion_config(config, classes, shape, osp.abspath(src)).encode(),
        config_out)
    return dict(meta, config=config_out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official DFER-CLIP checkpoint (.pth)')
    parser.add_argument('out', help='FineCLIP checkpoint to write (.pth); '
                        'its config goes beside it (.py)')
    parser.add_argument('--dataset', required=True, choices=DATASETS,
                        help='the data set the checkpoint was trained on')
    parser.add_argument('--config', help='config the companion config '
                        'inherits (default configs/plugins/'
                        'dfer_clip_{dataset}.py)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if osp.abspath(args.src) == osp.abspath(args.out):
        raise ConversionError('OUT must differ from SRC: the official file '
                              'is kept as it is.')
    info = convert(args.src, args.out, args.dataset, args.config)
    print(f"Converted {args.src} (epoch {info['converted_from']['epoch']}) "
          f'to {args.out}, classes '
          f"{', '.join(info['dataset_meta']['classes'])}.")
    print(f"Config: {info['config']}")
    print(f"Evaluate: python tools/test.py {info['config']} {args.out}")


if __name__ == '__main__':
    sys.exit(run_main(main))
