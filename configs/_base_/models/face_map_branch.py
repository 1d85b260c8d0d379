# The middle semantic level of FineCLIPER*: parsing and landmark images
# through one encoder that shares the frozen CLIP ViT of the frames branch
# and has adapters of its own, then one projection per modality.
# Adapters: temporal + MLP (the spatial adapter is left out). With these the
# tunable count at ViT-B/16 is about 21M, near the paper's 19M; the paper
# does not list which adapters this encoder has.
face_map_branch = dict(
    type='FaceMapBranch',
    modalities=('parsing', 'landmarks'),
    encoder=dict(type='AIMVideoEncoder', num_frames=16, t_adapter=True,
                 s_adapter=False, mlp_adapter=True, mlp_scale=0.5,
                 adapter=dict(type='Adapter', ratio=0.25)))
# Face-map files: {data_root}/face_maps/{clip_id}.npz, written by
# tools/data/extract_face_maps.py.
face_map_dir = 'face_maps'
