"""FineCLIPER: branches + PN label prompts + fusion on one frozen CLIP."""
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModel
from torch import nn

from fineclip.registry import (BRANCHES, ENCODERS, FUSIONS, LABEL_AUGMENTERS,
                               MODELS)
from fineclip.structures import DFERDataSample
from ..branches import BaseBranch
from ..label_augmenters import BaseLabelAugmenter
from ..similarity import class_probabilities, pn_similarity


def _check_part(part, base: type, what: str):
    """A built part must offer its base's methods, which FineCLIPER calls."""
    if not isinstance(part, base):
        raise TypeError(
            f'{what} is a {type(part).__name__}, which does not subclass '
            f'{base.__module__}.{base.__name__}: FineCLIPER calls the '
            'methods that class defines; subclass it.')
    return part


@MODELS.register_module()
class FineCLIPER(BaseModel):
    """The FineCLIPER family, composed from registered parts.

    The frozen CLIP is built once and registered here as ``clip``; the text
    encoder and every branch reference the towers they need, so a tower
    shared by two branches exists once in memory and in ``state_dict``.

    Args:
        clip (dict): Config of the CLIP builder (``ENCODERS``, e.g.
            ``dict(type='OpenCLIP', arch='ViT-B-16', pretrained='openai')``).
        branches (dict): ``{name: branch config}`` (``BRANCHES``, each a
            :class:`~fineclip.models.branches.BaseBranch`); the name
            ``video`` is the frames branch by convention.
        fusion (dict): Config of a fusion strategy (``FUSIONS``).
        label_augmenter (dict): Config of a label augmenter
            (``LABEL_AUGMENTERS``, a
            :class:`~fineclip.models.label_augmenters.BaseLabelAugmenter`):
            its ``groups`` name the text encoder's adapter stacks, its
            ``bind`` is called once here (a prompt learner sizes its
            parameters from the text tower), its ``encode`` gives the class
            features and its ``pn_features`` says which are ``t_p`` and
            ``t_n`` (see ``plugins/dfer_clip``).
        text_encoder (dict): Config of the text encoder (``ENCODERS``).
        temperature (float): ``tau`` of Eq 1 (0.01).
        class_names (Sequence[str], optional): Class names in label order.
            Usually left unset: ``ClassNamesHook`` takes them from the
            dataset of the loop that runs.
        data_preprocessor (dict, optional): Config of the data preprocessor.
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    def __init__(self,
                 clip: dict,
                 branches: Dict[str, dict],
                 fusion: dict = dict(type='AdaptiveFusion'),
                 label_augmenter: dict = dict(type='PNAugmenter'),
                 text_encoder: dict = dict(type='AdaptedTextEncoder'),
                 temperature: float = 0.01,
                 class_names: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not branches:
            raise ValueError('FineCLIPER needs at least one branch.')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.clip = ENCODERS.build(clip)
        self.label_augmenter = _check_part(
            LABEL_AUGMENTERS.build(label_augmenter), BaseLabelAugmenter,
            'model.label_augmenter')
        self.text_encoder = ENCODERS.build(
            text_encoder,
            default_args=dict(clip=self.clip,
                              stacks=self.label_augmenter.groups))
        # Before the optimiser exists: a prompt learner's parameters must
        # be created here to be trained.
        self.label_augmenter.bind(self.text_encoder)
        # a plugin's declared groups must name the prompts it writes: say
        # so now rather than at the first training step
        self.label_augmenter.check_groups(class_names)
        self.branches = nn.ModuleDict({
            name: _check_part(
                BRANCHES.build(cfg, default_args=dict(clip=self.clip)),
                BaseBranch, f'model.branches.{name}')
            for name, cfg in branches.items()
        })
        self.fusion = FUSIONS.build(fusion)
        self.temperature = temperature
        self.class_names = tuple(class_names) if class_names else None
        self._text_cache = None

    # --- class prompts ------------------------------------------------------
    def set_class_names(self, class_names: Sequence[str]) -> None:
        """Sets the classes the prompts describe, in label order."""
        class_names = tuple(class_names)
        if class_names != self.class_names:
            self.class_names = class_names
            self._text_cache = None

    def train(self, mode: bool = True) -> 'FineCLIPER':
        # Adapters change during training: cached text features go stale.
        self._text_cache = None
        return super().train(mode)

    def text_features(self) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Returns ``(t_p, t_n)``, each ``(C, D)``; ``t_n`` may be ``None``.

        In training the features are recomputed each step (the text adapters
        learn); in eval they cannot change between batches, so they are
        computed once, without autograd, and reused until ``train()``.
        """
        if self.class_names is None:
            raise RuntimeError(
                'FineCLIPER has no class names: set model.class_names in the '
                'config or run it through a Runner with ClassNamesHook.')
        if self.training:
            return self._encode_prompts()
        if self._text_cache is None:
            with torch.no_grad():
                self._text_cache = self._encode_prompts()
        return self._text_cache

    def _encode_prompts(self):
        augmenter = self.label_augmenter
        return augmenter.pn_features(
            augmenter.encode(self.class_names, self.text_encoder))

    # --- inputs -------------------------------------------------------------
    def input_keys(self, mode: str = 'predict') -> Tuple[str, ...]:
        """The entries of ``inputs`` the branches read in ``mode``.

        The one place to ask which modalities a model needs (to build a
        pipeline, random inputs for a benchmark, an inference batch): each
        branch's ``input_keys``, in branch order, without repeats.

        Args:
            mode: ``'loss'``, ``'predict'`` or ``'tensor'``; every branch
                runs in every mode here (a subclass may skip some).
        """
        return self._input_keys_of(self.branches.keys())

    def _input_keys_of(self, names) -> Tuple[str, ...]:
        keys = []
        for name in names:
            keys.extend(k for k in self.branches[name].input_keys
                        if k not in keys)
        return tuple(keys)

    # --- forward ------------------------------------------------------------
    def extract_feat(self, inputs: Dict[str, torch.Tensor],
                     skip: Sequence[str] = ()) -> Dict[str, torch.Tensor]:
        """Runs every branch not named in ``skip``: ``{name: (B, D)}``.

        Each branch gives its ``representations``: one, named by its key in
        ``branches``, or several (the face-map branch gives ``parsing`` and
        ``landmarks``), each of which the fusion weighs as a branch of its
        own.
        """
        features = {}
        for name, branch in self.branches.items():
            if name in skip:
                continue
            for key, feat in branch.representations(inputs, name).items():
                if key in features:
                    raise ValueError(
                        f"Two branches give a representation named '{key}'"
                        '; rename one of them in model.branches.')
                features[key] = feat
        return features

    def _fuse(self, inputs, features=None):
        positive, negative = self.text_features()
        similarity = partial(pn_similarity, positive=positive,
                             negative=negative)
        if features is None:
            features = self.extract_feat(inputs)
        fused, weights, sims = self.fusion(features, similarity)
        return similarity, fused, weights, sims

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: List[DFERDataSample]) -> Dict[str, torch.Tensor]:
        """Eq 11 on a batch, plus any branch's auxiliary losses (keys with
        ``loss`` in their name are summed by MMEngine)."""
        labels = torch.cat([s.gt_label for s in data_samples]).to(
            self.clip.logit_scale.device)
        features = self.extract_feat(inputs)
        _, _, weights, sims = self._fuse(inputs, features)
        losses = self.fusion.loss(sims, weights, labels, self.temperature)
        for name, branch in self.branches.items():
            losses.update(branch.auxiliary_losses(features, name))
        return losses

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[DFERDataSample]] = None
                ) -> List[DFERDataSample]:
        """Class probabilities from the fused representation (Eq 1, 10).

        Each data sample also gets ``branch_weights`` (``(M,)``, the fusion
        weights), ``branch_pred_labels`` (``{branch: class}``, what each
        representation alone predicts) and the metainfo ``classes`` (the
        class names of the score columns).
        """
        similarity, fused, weights, sims = self._fuse(inputs)
        scores = class_probabilities(similarity(fused), self.temperature)
        if data_samples is None:
            data_samples = [DFERDataSample() for _ in range(len(scores))]
        # What each branch alone would predict: lets the metric tell which
        # modality carries the fused prediction. One (B, M) read-back for
        # the batch: each .tolist() of a GPU tensor waits for the GPU.
        names = list(sims)
        per_branch = torch.stack([sims[n].argmax(dim=-1) for n in names],
                                 dim=1).tolist()
        branch_preds = {name: [row[m] for row in per_branch]
                        for m, name in enumerate(names)}
        pred_labels = scores.argmax(dim=-1, keepdim=True)
        for i, (sample, score, weight) in enumerate(
                zip(data_samples, scores, weights)):
            sample.set_pred_score(score)
            sample.set_pred_label(pred_labels[i])
            sample.set_field(weight, 'branch_weights')
            sample.set_field({name: preds[i] for name, preds in
                              branch_preds.items()}, 'branch_pred_labels')
            # Names the score columns, so a --dump file stands on its own.
            sample.set_metainfo(dict(classes=self.class_names))
        return data_samples

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[DFERDataSample]] = None,
                mode: str = 'tensor'):
        """MMEngine entry point.

        Args:
            inputs: ``{modality: batch tensor}`` from the data preprocessor.
            data_samples: per-clip annotations.
            mode: ``'loss'`` (dict of losses), ``'predict'`` (data samples
                with predictions) or ``'tensor'`` (``(B, C)`` logits
                ``s(f) / tau`` of the fused representation).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            similarity, fused, _, _ = self._fuse(inputs)
            return similarity(fused) / self.temperature
        raise ValueError(f"Invalid mode '{mode}': use 'loss', 'predict' or "
                         "'tensor'.")
