"""Video-LLaVA describer: the paper's fine-grained text (FineCLIPER+).

FineCLIPER asks Video-LLaVA (Lin et al., 2023) to describe the facial
movements of every clip with one fixed prompt (:data:`PAPER_PROMPT`, see
REFERENCE.md "MLLM prompt used by FineCLIPER"). Here the model runs through
``transformers`` (``VideoLlavaForConditionalGeneration`` and
``VideoLlavaProcessor``) in the chat layout of the Hugging Face model card,
``"USER: <video>\\n{prompt} ASSISTANT:"``, on 8 frames sampled uniformly
from the clip, with greedy decoding; only the generated part is kept.

The weights (``LanguageBind/Video-LLaVA-7B-hf``, about 15 GB in float16)
come from the Hugging Face hub or a local folder; ``transformers`` is
imported only when a describer is built.
"""
import os.path as osp
import re
import warnings
from typing import List, Optional

import numpy as np

from fineclip.datasets.description_provenance import make_provenance
from fineclip.registry import DESCRIBERS
from fineclip.utils.errors import UserInputError

from .base import BaseDescriber, ClipInput, segment_middles

DEFAULT_MODEL = 'LanguageBind/Video-LLaVA-7B-hf'
#: The paper's instruction to the MLLM, verbatim.
PAPER_PROMPT = (
    'You are a facial expression analyst. Identify emotions by analyzing '
    'the detailed movements of various facial features (mouth, chin, eyes, '
    'etc.) and implied actions (breathing rate, gaze direction) across a '
    'sequence. Provide a detailed description of the movements of various '
    'facial features and implied actions concisely.')
#: Sentence appended to the prompt when the label is given to the model
#: (``with_label=True``: the training clips of one fold only).
LABEL_HINT = 'The expression in the video is {label}.'
#: The chat layout of the Video-LLaVA-7B-hf model card.
CHAT_TEMPLATE = 'USER: <video>\n{prompt} ASSISTANT:'


class ModelUnavailableError(UserInputError, OSError):
    """The Video-LLaVA weights cannot be loaded (offline, not downloaded,
    or a folder that does not hold them)."""


def _unavailable_message(model: str, err: Exception) -> str:
    where = (f'the folder {model!r} does not hold them'
             if osp.isabs(model) or osp.exists(model) or model.startswith('.')
             else f'{model!r} is not in the local Hugging Face cache and '
             'the hub cannot be reached')
    return (
        f'Cannot load the Video-LLaVA weights: {where} ({err}). On a '
        f'machine with internet, download them with `hf download '
        f'{DEFAULT_MODEL} --local-dir DIR` (about 15 GB; or '
        '`huggingface-cli download`), copy DIR here and pass it as the '
        'describer\'s `model` argument: `--describer-cfg model=DIR` for '
        'tools/data/generate_descriptions.py.')


def build_prompt(prompt: str = PAPER_PROMPT,
                 label: Optional[str] = None) -> str:
    """The chat-formatted prompt of one clip.

    Args:
        prompt: The instruction (the paper's by default).
        label: If given, :data:`LABEL_HINT` with this class name (lower
            case) follows the instruction: a label-hint study only (the
            paper's prompt holds no label; docs/evaluation_protocol.md
            says where such a text may be used).

    Returns:
        str: ``'USER: <video>\\n{prompt} ASSISTANT:'``.
    """
    if label is not None:
        prompt = f'{prompt} {LABEL_HINT.format(label=label.lower())}'
    return CHAT_TEMPLATE.format(prompt=prompt)


def _default_device() -> str:
    """This process's current GPU (the data tools set it to the rank's,
    ``cuda:{LOCAL_RANK}``), or the CPU."""
    import torch
    if torch.cuda.is_available():
        return f'cuda:{torch.cuda.current_device()}'
    return 'cpu'


def loading_kwargs(device: str, dtype) -> dict:
    """``from_pretrained`` arguments that put the weights on ``device`` in
    ``dtype`` as they are read, instead of building the model in host
    memory (15 GB in float16) and copying it to the GPU afterwards.

    ``device_map={'': device}`` places every module on the one device (no
    offloading, so no accelerate hooks). transformers needs accelerate for
    any ``device_map``; without it the weights load on the CPU in
    ``dtype`` and are moved afterwards, with a warning when the device is
    a GPU. The dtype argument is ``dtype`` from transformers 4.56 on and
    ``torch_dtype`` before.
    """
    import transformers
    from packaging.version import Version
    from transformers.utils import is_accelerate_available
    new_name = Version(transformers.__version__) >= Version('4.56')
    kwargs = {('dtype' if new_name else 'torch_dtype'): dtype}
    if is_accelerate_available():
        kwargs['device_map'] = {'': str(device)}
    elif str(device).startswith('cuda'):
        warnings.warn(
            'accelerate is not installed: the Video-LLaVA weights are read '
            f'into host memory (about 15 GB in float16) and then copied to '
            f'{device}. `pip install accelerate` loads them straight onto '
            'the GPU.', stacklevel=3)
    return kwargs


@DESCRIBERS.register_module()
class VideoLlavaDescriber(BaseDescriber):
    """Describes clips with Video-LLaVA through ``transformers``.

    Args:
        model (str): Hub id or local folder of a Video-LLaVA checkpoint in
            the ``transformers`` layout (weights and processor files).
        prompt (str): The instruction (default: the paper's).
        with_label (bool): Append the class name of each clip that is
            handed one to the prompt (:data:`LABEL_HINT`). Off by default,
            as in the paper, whose prompt holds no label. The description
            tool hands labels only to the training clips of one fold, and
            only with this set (see docs/evaluation_protocol.md); a clip
            without a label is described label-free.
        num_frames (int): Frames sampled uniformly (segment middles) per
            clip; Video-LLaVA was trained on 8.
        max_new_tokens (int): Longest description, in tokens.
        batch_size (int): Clips per ``generate`` call.
        device (str, optional): ``'cuda'``, ``'cpu'``...; default this
            process's current GPU when there is one (under the data tools'
            launchers, the rank's own). The weights are loaded straight
            onto it (:func:`loading_kwargs`), not into host memory first.
        dtype (str, optional): ``'float16'``, ``'bfloat16'`` or
            ``'float32'``; default float16 on CUDA and float32 on CPU
            (half precision is slow or unsupported on CPUs). The model is
            loaded in, or cast to, this type.
        model_obj, processor_obj: An already-built model and processor
            (tests, notebooks); ``model`` is then not loaded. See
            :meth:`from_pretrained_objects`.
    """

    def __init__(self, model: str = DEFAULT_MODEL,
                 prompt: str = PAPER_PROMPT, with_label: bool = False,
                 num_frames: int = 8, max_new_tokens: int = 128,
                 batch_size: int = 1, device: Optional[str] = None,
                 dtype: Optional[str] = None, model_obj=None,
                 processor_obj=None):
        super().__init__(batch_size=batch_size)
        if num_frames < 1 or max_new_tokens < 1:
            raise ValueError('num_frames and max_new_tokens must be >= 1, '
                             f'got {num_frames} and {max_new_tokens}')
        if (model_obj is None) != (processor_obj is None):
            raise ValueError('Give both model_obj and processor_obj, or '
                             'neither.')
        self.model_name, self.prompt = model, prompt
        self.with_label, self.num_frames = with_label, num_frames
        self.max_new_tokens = max_new_tokens
        self.device = device or _default_device()
        self.dtype = dtype or ('float16' if self.device.startswith('cuda')
                               else 'float32')
        import torch
        if model_obj is None:
            model_obj, processor_obj = self._load(model)
        if getattr(model_obj, 'hf_device_map', None) is None:
            # built in memory, or loaded without a device map
            model_obj = model_obj.to(device=self.device,
                                     dtype=getattr(torch, self.dtype))
        self.model = model_obj.eval()
        self.processor = processor_obj
        # Decoder-only generation continues the last position of every row,
        # so a batch must be padded on the left.
        self.processor.tokenizer.padding_side = 'left'

    @classmethod
    def from_pretrained_objects(cls, model_obj, processor_obj,
                                **kwargs) -> 'VideoLlavaDescriber':
        """A describer around a model and processor already in memory.

        Args:
            model_obj: A ``VideoLlavaForConditionalGeneration``.
            processor_obj: Its ``VideoLlavaProcessor``.
            **kwargs: Other constructor arguments (``with_label``,
                ``max_new_tokens``...); ``model`` is only recorded.
        """
        return cls(model_obj=model_obj, processor_obj=processor_obj,
                   **kwargs)

    def _load(self, model: str):
        import torch
        from transformers import (VideoLlavaForConditionalGeneration,
                                  VideoLlavaProcessor)
        try:
            processor = VideoLlavaProcessor.from_pretrained(model)
            network = VideoLlavaForConditionalGeneration.from_pretrained(
                model, **loading_kwargs(self.device,
                                        getattr(torch, self.dtype)))
        except (OSError, ValueError) as err:
            raise ModelUnavailableError(
                _unavailable_message(model, err)) from err
        return network, processor

    def gives_label(self, clip: ClipInput) -> bool:
        """Whether ``clip``'s prompt holds its label: only with
        ``with_label`` and a label handed over."""
        return self.with_label and clip.label is not None

    def prompt_for(self, clip: ClipInput) -> str:
        """The chat prompt of one clip (with its label if
        :meth:`gives_label`)."""
        if not self.gives_label(clip):
            return build_prompt(self.prompt)
        return build_prompt(self.prompt, clip.label)

    def provenance(self, clip: ClipInput) -> dict:
        """This class, the model's id or folder, the hash of the prompt
        template (with the hint as ``{label}``, so that the hash does not
        tell the class) and whether the label was given."""
        given = self.gives_label(clip)
        template = (f'{self.prompt} {LABEL_HINT}' if given else self.prompt)
        return make_provenance(type(self).__name__, str(self.model_name),
                               CHAT_TEMPLATE.format(prompt=template), given)

    def sample_frames(self, frames: np.ndarray) -> np.ndarray:
        """``num_frames`` segment-middle frames of a clip."""
        if frames is None or frames.ndim != 4 or frames.shape[-1] != 3:
            shape = None if frames is None else frames.shape
            raise ValueError('Video-LLaVA needs (T, H, W, 3) RGB frames, '
                             f'got {shape}')
        return frames[segment_middles(len(frames), self.num_frames)]

    def describe_batch(self, clips: List[ClipInput]) -> List[str]:
        import torch
        inputs = self.processor(
            text=[self.prompt_for(c) for c in clips],
            videos=[self.sample_frames(c.frames) for c in clips],
            padding=True, return_tensors='pt')
        inputs = {k: (v.to(self.device, self.model.dtype)
                      if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items()}
        tokenizer = self.processor.tokenizer
        with torch.inference_mode():
            out = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens,
                do_sample=False, num_beams=1,
                pad_token_id=(tokenizer.pad_token_id
                              if tokenizer.pad_token_id is not None
                              else tokenizer.eos_token_id))
        # generate returns prompt + answer; keep only the answer
        answers = out[:, inputs['input_ids'].shape[1]:]
        texts = self.processor.batch_decode(answers,
                                            skip_special_tokens=True)
        return [re.sub(r'\s+', ' ', t).strip() for t in texts]
