# Paper Tab 4, "High-level Only": descriptions without the frames branch.
# (Frames are still decoded by the pipeline; nothing uses them.)
_base_ = ['../fineclip_dagger_dfew.py']

model = dict(branches=dict(_delete_=True,
                           description=_base_.description_branch))
