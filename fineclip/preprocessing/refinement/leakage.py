"""How much label information descriptions carry, before and after
refinement.

Two measures: the share of descriptions holding a lexicon word, and how
well a text-only classifier predicts the clip's label from the text, next
to chance level. The classifier is scored two ways: pooled (stratified,
seeded k-fold cross-validation over every labelled text) and train-to-test
(:func:`train_to_test`, :func:`fold_leakage`): fitted on the training
descriptions of a fold of the dataset's own protocol and scored on that
fold's test descriptions, which is the leak a model reading descriptions
at test time could exploit.

The classifier is scikit-learn's logistic regression, an optional
dependency (``pip install "fineclip[refine]"``), imported only when labels
are given: the lexicon share and refinement itself need nothing extra.
"""
import warnings
from collections import Counter
from dataclasses import asdict
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .refiner import RefinementStats
from .tokens import EmotionMatcher, tokenize

#: What to install when scikit-learn is missing.
SKLEARN_HINT = ('The leakage classifier of description refinement needs '
                'scikit-learn: pip install "fineclip[refine]" (or pip '
                'install scikit-learn)')

#: Inverse L2 strength of the classifier (scikit-learn's ``C``, on the
#: summed loss): weak, so that one word naming the label can carry the
#: prediction, which is the leak the check is there to see. 100 reproduces
#: the earlier hand-written classifier's figures most closely.
CLASSIFIER_C = 100.0


def bag_of_stems(text: str) -> List[str]:
    """Lowercase Porter stems of the alphabetic words of ``text``."""
    return [t.stem for t in tokenize(text) if t.lower.isalpha()]


def _sklearn() -> SimpleNamespace:
    """The scikit-learn pieces of the classifier, imported on first use so
    that refinement without labels runs without scikit-learn.

    Raises:
        ImportError: scikit-learn is not installed (the message says what
            to install).
    """
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import accuracy_score, balanced_accuracy_score
        from sklearn.model_selection import (StratifiedKFold,
                                             cross_val_predict)
        from sklearn.pipeline import make_pipeline
    except ImportError as err:
        raise ImportError(SKLEARN_HINT) from err
    return SimpleNamespace(
        TfidfVectorizer=TfidfVectorizer,
        LogisticRegression=LogisticRegression, accuracy=accuracy_score,
        balanced_accuracy=balanced_accuracy_score,
        StratifiedKFold=StratifiedKFold, cross_val_predict=cross_val_predict,
        make_pipeline=make_pipeline)


def require_scikit_learn() -> None:
    """Fails early, before any work, where the classifier could not run.

    Raises:
        ImportError: scikit-learn is not installed (the message says what
            to install).
    """
    _sklearn()


def _stems_as_given(doc: List[str]) -> List[str]:
    """Analyzer of the vectorizer: documents arrive already tokenised."""
    return doc


def _text_classifier(sk: SimpleNamespace):
    """Logistic regression on unit-length word-presence rows.

    Presence rather than counts, so a word repeated in one description
    does not dominate; unit length makes long and short texts weigh
    alike. Discriminative on purpose: naive Bayes counts every
    co-occurring movement word as separate evidence, so on small sets a
    few chance correlations outvote one perfectly leaking word.
    """
    vectorizer = sk.TfidfVectorizer(analyzer=_stems_as_given, binary=True,
                                    use_idf=False, norm='l2')
    return sk.make_pipeline(
        vectorizer, sk.LogisticRegression(C=CLASSIFIER_C, max_iter=1000))


def cross_validate(texts: Sequence[str], labels: Sequence[str], k: int = 5,
                   seed: int = 0) -> Dict[str, float]:
    """Stratified k-fold accuracy and UAR (balanced accuracy: mean
    per-class recall) of a text-only logistic regression predicting
    ``labels`` from ``texts``.

    Args:
        texts (Sequence[str]): One description per sample.
        labels (Sequence[str]): The label per sample.
        k (int): Folds (scikit-learn's ``StratifiedKFold``, shuffled).
        seed (int): Seed of the fold assignment.

    Returns:
        dict: ``accuracy``, ``uar``, ``majority_share`` (accuracy of always
        answering the commonest class), ``uniform_chance`` (1 / classes),
        ``num_samples``, ``num_classes``, ``folds``, ``seed``.

    Raises:
        ValueError: fewer samples than folds, or every class smaller than
            ``k``.
        ImportError: scikit-learn is not installed.
    """
    if len(labels) < k:
        raise ValueError(f'{k}-fold cross-validation needs at least {k} '
                         f'labelled samples, got {len(labels)}')
    sk = _sklearn()
    names = sorted(set(labels))
    y = np.array([names.index(label) for label in labels])
    counts = np.bincount(y, minlength=len(names))
    if len(names) > 1 and counts.max() < k:
        # StratifiedKFold refuses this too; say what to change.
        raise ValueError(
            f'{k}-fold stratified cross-validation needs a class with at '
            f'least {k} labelled samples; the largest has {counts.max()} '
            f'(use fewer folds)')
    if len(names) == 1:
        # Nothing to learn: every fold answers the one class.
        pred = y.copy()
    else:
        folds = sk.StratifiedKFold(n_splits=k, shuffle=True,
                                   random_state=seed)
        pred = sk.cross_val_predict(_text_classifier(sk),
                                    [bag_of_stems(t) for t in texts], y,
                                    cv=folds)
    return dict(accuracy=float(sk.accuracy(y, pred)),
                uar=float(sk.balanced_accuracy(y, pred)),
                majority_share=float(counts.max() / len(y)),
                uniform_chance=1.0 / len(names), num_samples=len(y),
                num_classes=len(names), folds=k, seed=seed)


def train_to_test(train_texts: Sequence[str], train_labels: Sequence[str],
                  test_texts: Sequence[str], test_labels: Sequence[str]
                  ) -> Dict[str, float]:
    """Accuracy and UAR on the test texts of the text-only classifier
    fitted on the training texts, beside chance.

    Returns:
        dict: ``accuracy``, ``uar``, ``majority_share`` (accuracy on the
        test texts of always answering the training set's commonest
        class), ``uniform_chance`` (1 / classes), ``num_train``,
        ``num_test``.

    Raises:
        ValueError: no training or no test text.
        ImportError: scikit-learn is not installed.
    """
    if not train_texts or not test_texts:
        raise ValueError(f'train-to-test leakage needs training and test '
                         f'texts, got {len(train_texts)} and '
                         f'{len(test_texts)}')
    sk = _sklearn()
    names = sorted(set(train_labels) | set(test_labels))
    y_train = np.array([names.index(label) for label in train_labels])
    y_test = np.array([names.index(label) for label in test_labels])
    majority = np.bincount(y_train).argmax()
    if len(set(y_train)) == 1:
        pred = np.full_like(y_test, y_train[0])
    else:
        model = _text_classifier(sk).fit(
            [bag_of_stems(t) for t in train_texts], y_train)
        pred = model.predict([bag_of_stems(t) for t in test_texts])
    with warnings.catch_warnings():
        # a class predicted but absent from a small test set is expected
        warnings.simplefilter('ignore', UserWarning)
        uar = float(sk.balanced_accuracy(y_test, pred))
    return dict(accuracy=float(sk.accuracy(y_test, pred)), uar=uar,
                majority_share=float(np.mean(y_test == majority)),
                uniform_chance=1.0 / len(names), num_train=len(y_train),
                num_test=len(y_test))


def fold_leakage(before: Dict[str, str], after: Optional[Dict[str, str]],
                 labels: Dict[str, Optional[str]],
                 splits: Sequence[Tuple[str, Sequence[str], Sequence[str]]]
                 ) -> List[dict]:
    """:func:`train_to_test` on each fold, before and after refinement.

    Args:
        before: ``{clip_id: text}`` as written.
        after: ``{clip_id: refined text}``, or ``None`` (no refinement:
            only the ``*_before`` figures).
        labels: ``{clip_id: label}``; clips without one are left out.
        splits: ``(fold name, training clip ids, test clip ids)``.

    Returns:
        One dict per fold: ``fold``, ``accuracy_before``, ``uar_before``
        (and ``_after``), ``majority_share``, ``uniform_chance``,
        ``num_train``, ``num_test``; a fold without training or test texts
        gives ``skipped`` (why) instead of figures.
    """
    rows = []
    for name, train_ids, test_ids in splits:
        train = [c for c in train_ids if c in before and labels.get(c)]
        test = [c for c in test_ids if c in before and labels.get(c)]
        row: dict = dict(fold=name)
        if not train or not test:
            row['skipped'] = (f'{len(train)} training and {len(test)} test '
                              'clips with a label and a description')
            rows.append(row)
            continue
        for when, texts in (('before', before), ('after', after)):
            if texts is None:
                continue
            res = train_to_test([texts[c] for c in train],
                                [labels[c] for c in train],
                                [texts[c] for c in test],
                                [labels[c] for c in test])
            row.update({f'accuracy_{when}': res['accuracy'],
                        f'uar_{when}': res['uar']})
            row.update({k: res[k] for k in ('majority_share',
                                            'uniform_chance', 'num_train',
                                            'num_test')})
        rows.append(row)
    return rows


def lexicon_share(texts: Sequence[str],
                  matcher: Optional[EmotionMatcher] = None
                  ) -> Tuple[float, Dict[str, int]]:
    """Share of ``texts`` holding an emotion word, and how many texts hold
    a word of each category."""
    matcher = matcher or EmotionMatcher()
    per_category: Counter = Counter()
    n_with = 0
    for text in texts:
        cats = {hit.category for hit in matcher.find(text)}
        n_with += bool(cats)
        per_category.update(cats)
    share = n_with / len(texts) if texts else 0.0
    return share, dict(sorted(per_category.items()))


def leakage_report(before: Sequence[str], after: Sequence[str],
                   labels: Optional[Sequence[Optional[str]]] = None,
                   stats: Optional[RefinementStats] = None,
                   k: int = 5, seed: int = 0,
                   matcher: Optional[EmotionMatcher] = None) -> dict:
    """Measures label leakage before and after refinement.

    Args:
        before (Sequence[str]): Original descriptions.
        after (Sequence[str]): Refined descriptions, same order.
        labels (Sequence[str | None], optional): Label per description
            (None: unlabelled, left out of the classifier). Without labels
            only the lexicon shares are reported (and scikit-learn is not
            needed).
        stats (RefinementStats, optional): Summed refinement statistics.
        k (int): Folds of the cross-validation.
        seed (int): Seed of the fold assignment.
        matcher (EmotionMatcher, optional): Emotion-word matcher.

    Returns:
        dict: ``num_descriptions``, ``lexicon`` (shares and per-category
        counts before/after), ``refinement`` (``stats``) and, with labels,
        ``classifier`` (before/after accuracy and UAR, chance levels,
        ``num_unlabelled``).

    Raises:
        ImportError: labels given and scikit-learn not installed.
    """
    if len(before) != len(after):
        raise ValueError('before and after differ in length')
    matcher = matcher or EmotionMatcher()
    share_b, cats_b = lexicon_share(before, matcher)
    share_a, cats_a = lexicon_share(after, matcher)
    report = dict(
        num_descriptions=len(before),
        lexicon=dict(share_before=share_b, share_after=share_a,
                     categories_before=cats_b, categories_after=cats_a),
        refinement=asdict(stats) if stats is not None else None)
    if labels is not None:
        report['classifier'] = _classifier_section(before, after, labels, k,
                                                   seed)
    return report


def _classifier_section(before, after, labels, k, seed) -> dict:
    """Cross-validates before and after on the same folds (the fold
    assignment depends only on the labels and the seed)."""
    keep = [i for i, label in enumerate(labels) if label is not None]
    ys = [labels[i] for i in keep]
    res_b = cross_validate([before[i] for i in keep], ys, k, seed)
    res_a = cross_validate([after[i] for i in keep], ys, k, seed)
    section = {key: res_b[key] for key in (
        'majority_share', 'uniform_chance', 'num_samples', 'num_classes',
        'folds', 'seed')}
    section.update(accuracy_before=res_b['accuracy'],
                   accuracy_after=res_a['accuracy'],
                   uar_before=res_b['uar'], uar_after=res_a['uar'],
                   num_unlabelled=len(labels) - len(keep))
    return section
