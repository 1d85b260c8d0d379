# Paper Tab 4, "Middle-level Only", on the embedded default: face parsing +
# landmark images without the frames branch.
_base_ = ['./fineclip_star_synthetic.py']

model = dict(branches=dict(_delete_=True,
                           face_maps={{_base_.model.branches.face_maps}}))
