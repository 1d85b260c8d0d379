# Paper Tab 4, "Middle-level Only": face parsing + landmarks without the
# frames branch ("Low-level Only" is configs/fineclip_dfew.py).
_base_ = ['../fineclip_star_dfew.py']

model = dict(branches=dict(_delete_=True,
                           face_maps=_base_.face_map_branch))
