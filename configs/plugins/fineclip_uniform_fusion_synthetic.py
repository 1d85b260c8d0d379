# The embedded default with the example plugin's UniformFusion instead of
# AdaptiveFusion. The plugin is loaded only through custom_imports; the
# fineclip package knows nothing of it.
_base_ = ['../synthetic/fineclip_synthetic.py']

custom_imports = dict(imports=['plugins.uniform_fusion'],
                      allow_failed_imports=False)
model = dict(fusion=dict(_delete_=True, type='UniformFusion'))
