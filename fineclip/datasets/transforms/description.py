"""Per-clip descriptions (high semantic level) as token ids."""
from typing import Sequence

from open_clip.tokenizer import SimpleTokenizer
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS


@TRANSFORMS.register_module()
class TokenizeDescription(BaseTransform):
    """Tokenises the sample's ``description`` for the description branch.

    ``key='caption'`` reads the dataset's own per-clip caption instead
    (MAFW's English captions, ``MAFWDataset(captions=True)``).

    Tokenising in the data workers keeps it off the training process.
    Writes ``description_tokens``, a ``(context_length,)`` int64 array that
    ``PackDFERInputs`` packs as ``inputs['description']``. Longer texts are
    cut at the context length (CLIP's tokenizer keeps the end-of-text
    token).

    Args:
        context_length (int): Tokens per text: 248 for the Long-CLIP
            encoder, the CLIP's own (77) otherwise.
        key (str): The sample field holding the text.
    """

    def __init__(self, context_length: int = 248, key: str = 'description'):
        if context_length < 2:
            raise ValueError(f'context_length must be >= 2, got '
                             f'{context_length}')
        self.context_length = context_length
        self.key = key
        self.tokenizer = SimpleTokenizer(context_length=context_length)

    def transform(self, results: dict) -> dict:
        if self.key not in results:
            hint = ('set captions=True in the dataset config'
                    if self.key == 'caption' else
                    'set description_file in the dataset config')
            raise KeyError(
                f"TokenizeDescription: clip {results.get('clip_id')} has no "
                f"'{self.key}'; {hint}.")
        tokens = self.tokenizer([results[self.key]])[0]
        results['description_tokens'] = tokens.numpy()
        return results


def with_description(pipeline: Sequence[dict],
                     context_length: int = 248,
                     key: str = 'description') -> list:
    """Adds ``TokenizeDescription`` right before ``PackDFERInputs``.

    Args:
        pipeline: Transform configs with one ``PackDFERInputs``.
        context_length: Passed to ``TokenizeDescription``; must match the
            description encoder's.
        key: The sample field tokenised (``'caption'`` for MAFW captions).

    Returns:
        A new list of transform configs.
    """
    types = [step['type'] for step in pipeline]
    if types.count('PackDFERInputs') != 1:
        raise ValueError('with_description needs exactly one PackDFERInputs '
                         f'in the pipeline, got {types}')
    out = []
    for step in pipeline:
        if step['type'] == 'PackDFERInputs':
            out.append(dict(type='TokenizeDescription',
                            context_length=context_length, key=key))
        out.append(dict(step))
    return out
