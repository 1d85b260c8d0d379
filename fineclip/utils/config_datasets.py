"""Where a config keeps its datasets: the dataloader sections and the
dataset configs inside wrappers. The one definition every layer walks."""
from typing import List

#: The dataloader sections of a Runner config.
LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def leaf_dataset_cfgs(ds_cfg: dict) -> List[dict]:
    """The dataset configs inside wrappers (ConcatDataset's ``datasets``,
    RepeatDataset's ``dataset``), or ``ds_cfg`` itself."""
    if 'datasets' in ds_cfg:
        return [leaf for sub in ds_cfg['datasets']
                for leaf in leaf_dataset_cfgs(sub)]
    if 'dataset' in ds_cfg:
        return leaf_dataset_cfgs(ds_cfg['dataset'])
    return [ds_cfg]
