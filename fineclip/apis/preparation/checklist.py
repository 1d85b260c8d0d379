"""The checklist of a config: data, weights, face maps, descriptions."""
from mmengine.config import Config

from .commands import PrepareOptions, command_line, train_argv
from .data_items import description_items, face_map_items, scan_clips
from .items import Checklist
from .weights import analyzer_item, describer_item, model_weight_items


def build_checklist(cfg: Config, opts: PrepareOptions) -> Checklist:
    """Everything ``cfg`` needs before training, present or missing.

    Reads the split files (clip folders are listed, nothing is decoded:
    ``tools/data/check_dataset.py`` does that), looks for one face-map
    file per clip and one description per clip, and for every weight
    file the model reads and the data steps still to run need.

    Args:
        cfg: The loaded config, ``--cfg-options`` merged and its
            ``custom_imports`` imported.
        opts: The config path, overrides, analyser, describer and
            launcher the printed commands use.

    Returns:
        Checklist: items in the order data, weights, face maps,
        descriptions.
    """
    data, clips, sources = scan_clips(cfg, opts)
    waiting = not clips  # no clip list yet: nothing to count
    face_maps = face_map_items(cfg, opts, clips, sources, waiting)
    descriptions = description_items(cfg, opts, clips, sources, waiting)
    weights = model_weight_items(cfg)
    maps_needed = any(i.status != 'present' and i.status != 'auto'
                      for i in face_maps)
    texts_needed = any(i.step == 'descriptions' and i.status not in
                       ('present', 'auto') for i in descriptions)
    if face_maps:
        item = analyzer_item(opts.analyzer, opts.analyzer_cfg, maps_needed)
        weights += [item] if item else []
    if descriptions:
        item = describer_item(opts.describer, opts.describer_cfg,
                              texts_needed)
        weights += [item] if item else []
    return Checklist(opts.config, data + weights + face_maps + descriptions,
                     command_line('train', train_argv(opts), opts))
