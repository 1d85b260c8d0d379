# Appendix A.4: fixed fusion weights instead of the adaptive ones. The
# frames get alpha = 0.5, parsing and landmarks share 1 - alpha evenly.
_base_ = ['../fineclip_star_dfew.py']

model = dict(fusion=dict(_delete_=True, type='FixedFusion', alpha=0.5,
                         primary='video'))
