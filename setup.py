"""Installs the ``fineclip`` package (FineCLIPER on MMEngine)."""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    """Reads ``__version__`` from ``fineclip/version.py`` without importing it."""
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'fineclip', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='fineclip',
    version=read_version(),
    description='FineCLIPER and friends: dynamic facial expression '
    'recognition with adapted CLIP models, built on MMEngine.',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['fineclip', 'fineclip.*']),
    python_requires='>=3.9',
    install_requires=[
        # torch and torchvision must be a matching pair; install them first
        # (README) so pip does not pick a mismatched build.
        'torch>=2.1',
        'torchvision',
        'mmengine>=0.10.4,<0.11',
        'mmcv-lite>=2.0',
        'open_clip_torch>=2.24',
        'transformers>=4.40',
        # Description refinement: tokenisers and stemmers only (no corpora).
        'nltk>=3.8',
        'decord>=0.6',
        'av',  # PyAV: reads the videos decord cannot open
        'numpy',
        'opencv-python',
        'matplotlib',
        'tqdm',
        # mmengine 0.10 imports pkg_resources for package-prefixed configs.
        'setuptools<81',
    ],
    extras_require={
        # scikit-learn: the tests cover the refinement leakage classifier.
        # sphinx, myst-parser: tests/test_docs.py builds docs/ with -W.
        'dev': ['pytest', 'pytest-xdist>=3.5', 'scikit-learn>=1.3',
                'sphinx>=7.2', 'myst-parser>=2.0'],
        # tools/data/refine_descriptions.py's leakage classifier (only with
        # --config or --labels; refinement itself needs nothing extra).
        'refine': ['scikit-learn>=1.3'],
        # The offline face analyser. mediapipe itself must be installed with
        # --no-deps (its metadata pins numpy<2): see README, "Face maps".
        'mediapipe': ['protobuf>=4.25.3,<5', 'attrs>=19.1.0'],
        # tools/infer.py's face detector (MTCNN with bundled weights); 2.6
        # pins torch<2.3.
        'infer': ['facenet-pytorch==2.5.3'],
        # Video-LLaVA descriptions on a GPU: transformers needs accelerate
        # for device_map, which loads the 7B model straight onto the rank's
        # GPU instead of through 15 GB of host memory.
        'mllm': ['accelerate>=0.26'],
    },
    zip_safe=False,
)
