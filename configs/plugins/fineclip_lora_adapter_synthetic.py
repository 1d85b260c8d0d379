# The embedded default with the example plugin's LowRankAdapter (LoRA-style,
# rank 8) in place of the bottleneck Adapter, in the text tower and in the
# video encoder. The plugin is loaded only through custom_imports; every
# encoder builds its adapters from ADAPTERS, so swapping them is config.
_base_ = ['../synthetic/fineclip_synthetic.py']

custom_imports = dict(imports=['plugins.lora_adapter'],
                      allow_failed_imports=False)
# _delete_: the base's dict(type='Adapter', ratio=0.25) would otherwise be
# merged in, and LowRankAdapter takes no ratio.
model = dict(
    text_encoder=dict(
        adapter=dict(_delete_=True, type='LowRankAdapter', rank=8)),
    branches=dict(video=dict(encoder=dict(
        adapter=dict(_delete_=True, type='LowRankAdapter', rank=8)))))
