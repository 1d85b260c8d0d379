"""Checklist items for the weight files a config and its data steps read.

The model's own (every string ``pretrained``/``checkpoint`` entry of the
model config, as :func:`fineclip.apis.model_builder.null_weight_files`
finds them: CLIP, Long-CLIP, a plugin's), and those of the data steps that
still have work to do (FaceXFormer for the face maps, Video-LLaVA for the
descriptions). Each item names the file to download and the key to set.
"""
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

from fineclip.apis.model_builder import WEIGHT_KEYS, model_config

from .items import Item

LONG_CLIP_SOURCE = ("'longclip-B.pt' from the Hugging Face repository "
                    "'BeichenZhang/LongCLIP-B'")


def weight_entries(cfg: Config) -> Iterator[Tuple[str, str, str, dict]]:
    """``(config key, value, type of the part, the part's config)`` of each
    string ``pretrained``/``checkpoint`` entry of the model config."""

    def walk(node, key, part):
        if isinstance(node, dict):
            part = node if 'type' in node else part
            for name, value in node.items():
                path = f'{key}.{name}'
                if name in WEIGHT_KEYS and isinstance(value, str):
                    yield path, value, str(part.get('type', '')), part
                else:
                    yield from walk(value, path, part)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                yield from walk(value, f'{key}.{i}', part)

    yield from walk(model_config(cfg), 'model', {})


def _embedded_file(cfg: Config) -> Optional[str]:
    tiny = (cfg.get('embedded_default') or {}).get('tiny_clip') or {}
    return tiny.get('out_file')


def _set_key(key: str) -> str:
    return f'--cfg-options {key}=PATH'


def _clip_item(cfg: Config, key: str, value: str, part: dict) -> Item:
    name = f'CLIP ({key})'
    arch = part.get('arch')
    if osp.isfile(value):
        return Item('weights', name, 'present', value)
    if value == _embedded_file(cfg):
        return Item('weights', name, 'auto', value,
                    'the embedded default pretrains it on first use '
                    '(tools/train.py, or prepare.py --run)')
    if not isinstance(arch, str):
        return Item('weights', name, 'missing', f'{value}: no such file',
                    f'point {_set_key(key)} at the weights of this '
                    'architecture')
    import open_clip

    from fineclip.models.clip import builder
    pretrained_cfg = open_clip.get_pretrained_cfg(arch, value)
    if not pretrained_cfg:
        return Item('weights', name, 'missing',
                    f"'{value}' is neither a file nor an open_clip tag of "
                    f"'{arch}'", f'set {_set_key(key)}')
    cached = builder._cached_tag_file(pretrained_cfg)
    if cached:
        return Item('weights', name, 'present',
                    f"'{value}' ({arch}), cached at {cached}")
    if builder._hub_reachable():
        return Item('weights', name, 'auto',
                    f"'{value}' ({arch}): not cached yet",
                    'open_clip downloads it on first use')
    message = builder._missing_weights_message(arch, value, pretrained_cfg)
    return Item('weights', name, 'missing',
                f"'{value}' ({arch}): not on this machine, no network",
                message.split(' (no network, or HF_HUB_OFFLINE=1). ', 1)[-1])


def _long_clip_item(key: str, value: str) -> Item:
    name = f'Long-CLIP ({key})'
    if osp.isfile(value):
        return Item('weights', name, 'present', value)
    return Item('weights', name, 'missing', value,
                f'download {LONG_CLIP_SOURCE} to {value}, or set '
                f'{_set_key(key)} (or =None to stretch the CLIP text '
                'tower instead)')


def model_weight_items(cfg: Config) -> List[Item]:
    """One item per weight file the model reads."""
    items = []
    for key, value, part_type, part in weight_entries(cfg):
        if part_type == 'OpenCLIP' and key.endswith('.pretrained'):
            items.append(_clip_item(cfg, key, value, part))
        elif part_type == 'LongCLIPTextEncoder':
            items.append(_long_clip_item(key, value))
        elif osp.isfile(value):
            items.append(Item('weights', f'{part_type} ({key})', 'present',
                              value))
        elif value == _embedded_file(cfg):
            items.append(Item('weights', f'{part_type} ({key})', 'auto',
                              value, 'made on first use'))
        elif '/' in value or osp.splitext(value)[1]:
            items.append(Item('weights', f'{part_type} ({key})', 'missing',
                              f'{value}: no such file',
                              f'set {_set_key(key)}'))
    return items


def analyzer_item(analyzer: str, analyzer_cfg: dict,
                  needed: bool) -> Optional[Item]:
    """The face analyser's weights (FaceXFormer's checkpoint)."""
    if analyzer != 'FaceXFormerAnalyzer':
        return None
    from fineclip.preprocessing.face_analyzers.facexformer import (HF_FILE,
                                                                   HF_REPO)
    path = str(analyzer_cfg.get('checkpoint') or '')
    name = 'FaceXFormer (prepare.py --analyzer-cfg checkpoint=)'
    if osp.isfile(path):
        return Item('weights', name, 'present', path)
    if not needed:
        return Item('weights', name, 'skip', f'{path or "-"}: not needed, '
                    'the face maps are complete')
    return Item('weights', name, 'missing', path or 'no checkpoint given',
                f'huggingface-cli download {HF_REPO} {HF_FILE} --local-dir '
                f'checkpoints/facexformer (or pass --analyzer-cfg '
                'checkpoint=PATH; the offline alternative is --analyzer '
                'MediaPipeFaceAnalyzer)')


def describer_item(describer: str, describer_cfg: dict,
                   needed: bool) -> Optional[Item]:
    """The describer's weights (Video-LLaVA's, local or in the HF cache)."""
    if describer != 'VideoLlavaDescriber':
        return None
    from fineclip.preprocessing.describers.video_llava import DEFAULT_MODEL
    model = str(describer_cfg.get('model') or DEFAULT_MODEL)
    name = 'Video-LLaVA (prepare.py --describer-cfg model=)'
    if osp.isdir(model):
        return Item('weights', name, 'present', model)
    if _in_hub_cache(model):
        return Item('weights', name, 'present', f'{model} (Hugging Face '
                    'cache)')
    if not needed:
        return Item('weights', name, 'skip',
                    f'{model}: not needed, the descriptions are complete')
    from fineclip.models.clip.builder import _hub_reachable
    hub_id = model.count('/') == 1 and not model.startswith(('.', '/'))
    if hub_id and _hub_reachable():
        return Item('weights', name, 'auto', model,
                    'transformers downloads it (about 15 GB) on first use')
    return Item('weights', name, 'missing', model,
                f'huggingface-cli download {model} --local-dir '
                'checkpoints/Video-LLaVA-7B-hf, then pass --describer-cfg '
                'model=checkpoints/Video-LLaVA-7B-hf')


def _in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
        path = try_to_load_from_cache(repo_id, 'config.json')
    except Exception:  # not a repository id
        return False
    return isinstance(path, str) and osp.isfile(path)
