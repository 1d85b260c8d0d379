# Paper Tab 4, "High-level Only", on the embedded default: the movement
# descriptions without the frames branch (frames are decoded, unused).
_base_ = ['./fineclip_dagger_synthetic.py']

model = dict(branches=dict(_delete_=True,
                           description={{_base_.model.branches.description}}))
