# Paper Tab 6, row 3: positive + negative prompts with text adapters, no
# video adapters.
_base_ = ['../fineclip_dfew.py']

model = dict(branches=dict(video=dict(encoder=dict(
    t_adapter=False, s_adapter=False, mlp_adapter=False))))
