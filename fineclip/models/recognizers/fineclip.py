"""FineCLIPER: branches + PN label prompts + fusion on one frozen CLIP."""
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModel
from torch import nn

from fineclip.registry import (BRANCHES, ENCODERS, FUSIONS, LABEL_AUGMENTERS,
                               MODELS)
from fineclip.structures import DFERDataSample
from ..similarity import class_probabilities, pn_similarity


@MODELS.register_module()
class FineCLIPER(BaseModel):
    """The FineCLIPER family, composed from registered parts.

    The frozen CLIP is built once and registered here as ``clip``; the text
    encoder and every branch reference the towers they need, so a tower
    shared by two branches exists once in memory and in ``state_dict``.

    Args:
        clip (dict): Config of the CLIP builder (``ENCODERS``, e.g.
            ``dict(type='OpenCLIP', arch='ViT-B-16', pretrained='openai')``).
        branches (dict): ``{name: branch config}`` (``BRANCHES``); the name
            ``video`` is the frames branch by convention.
        fusion (dict): Config of a fusion strategy (``FUSIONS``).
        label_augmenter (dict): Config of a label augmenter
            (``LABEL_AUGMENTERS``); its prompt groups name the text
            encoder's adapter stacks. A learnable one (a prompt learner, an
            ``nn.Module``) may define ``bind(text_encoder)``, called once
            here to size its parameters from the text tower, and
            ``encode(class_names, text_encoder)``, which then encodes the
            class prompts in its place (see ``plugins/dfer_clip``).
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
        self.label_augmenter = LABEL_AUGMENTERS.build(label_augmenter)
        self.text_encoder = ENCODERS.build(
            text_encoder,
            default_args=dict(clip=self.clip,
                              stacks=self.label_augmenter.groups))
        # Before the optimiser exists: a prompt learner's parameters must
        # be created here to be trained.
        bind = getattr(self.label_augmenter, 'bind', None)
        if bind is not None:
            bind(self.text_encoder)
        self.branches = nn.ModuleDict({
            name: BRANCHES.build(cfg, default_args=dict(clip=self.clip))
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
        encode = getattr(self.label_augmenter, 'encode', None)
        if encode is not None:  # a prompt learner encodes its own prompts
            feats = encode(self.class_names, self.text_encoder)
        else:
            prompts = self.label_augmenter(self.class_names)
            feats = self.text_encoder.encode_prompts(prompts)
        return feats['positive'], feats.get('negative')

    # --- forward ------------------------------------------------------------
    def extract_feat(self, inputs: Dict[str, torch.Tensor],
                     skip: Sequence[str] = ()) -> Dict[str, torch.Tensor]:
        """Runs every branch not named in ``skip``: ``{name: (B, D)}``.

        A branch returns one tensor (named by its key in ``branches``) or a
        dict of several representations (the face-map branch gives
        ``parsing`` and ``landmarks``), each of which the fusion weighs as a
        branch of its own.
        """
        features = {}
        for name, branch in self.branches.items():
            if name in skip:
                continue
            out = branch(inputs)
            parts = out if isinstance(out, dict) else {name: out}
            for key, feat in parts.items():
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
            if hasattr(branch, 'auxiliary_losses'):
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
        # modality carries the fused prediction.
        branch_preds = {name: s.argmax(dim=-1).tolist()
                        for name, s in sims.items()}
        for i, (sample, score, weight) in enumerate(
                zip(data_samples, scores, weights)):
            sample.set_pred_score(score)
            sample.set_pred_label(score.argmax())
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
