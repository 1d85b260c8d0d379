# Paper Tab 9: MLP-adapter scale s = 0.7 in Eq 7 (configs/fineclip_dfew.py
# has the paper's 0.5).
_base_ = ['../fineclip_dfew.py']

model = dict(branches=dict(video=dict(encoder=dict(mlp_scale=0.7))))
