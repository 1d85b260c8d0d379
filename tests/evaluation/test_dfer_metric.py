import numpy as np
import pytest
import torch

from fineclip.evaluation import DFERMetric, confusion_matrix, uar_war


def test_uar_and_war_on_hand_made_predictions():
    # class 0: 3/4 right, class 1: 1/2 right, class 2: 0/1 right
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    preds = np.array([0, 0, 0, 1, 1, 0, 1])
    matrix = confusion_matrix(labels, preds, 3)
    assert matrix.tolist() == [[3, 1, 0], [1, 1, 0], [0, 1, 0]]
    stats = uar_war(matrix)
    assert stats['WAR'] == pytest.approx(4 / 7)
    assert stats['UAR'] == pytest.approx((3 / 4 + 1 / 2 + 0) / 3)


def test_absent_classes_do_not_count_towards_uar():
    stats = uar_war(confusion_matrix([0, 1], [0, 0], 3))
    assert np.isnan(stats['recall'][2])
    assert stats['UAR'] == pytest.approx(0.5)


def test_out_of_range_labels_are_rejected():
    with pytest.raises(ValueError, match='outside'):
        confusion_matrix([0, 3], [0, 0], 3)


def test_metric_processes_data_samples():
    metric = DFERMetric()
    metric.dataset_meta = dict(classes=('a', 'b'))
    samples = [dict(pred_label=torch.tensor([p]), gt_label=torch.tensor([g]))
               for p, g in [(0, 0), (1, 0), (1, 1), (1, 1)]]
    metric.process({}, samples)
    out = metric.evaluate(len(samples))
    assert out['UAR'] == pytest.approx(0.75)
    assert out['WAR'] == pytest.approx(0.75)
    assert out['recall/a'] == pytest.approx(0.5)
    assert metric.last_confusion_matrix['matrix'] == [[1, 1], [0, 2]]


def test_branch_uar_and_weights_for_multi_branch_models():

    metric = DFERMetric(class_names=('a', 'b'))
    samples = []
    for gt, fused, video, face in ((0, 0, 0, 1), (1, 1, 0, 1), (1, 1, 1, 1),
                                   (0, 0, 0, 0)):
        samples.append(dict(
            gt_label=torch.tensor([gt]), pred_label=torch.tensor(fused),
            branch_pred_labels=dict(video=video, face=face),
            branch_weights=torch.tensor([0.75, 0.25])))
    metric.process(None, samples)
    out = metric.compute_metrics(metric.results)
    assert out['UAR'] == 1.0
    # video: class a 2/2, class b 1/2; face: class a 1/2, class b 2/2
    assert out['UAR/video'] == pytest.approx(0.75)
    assert out['UAR/face'] == pytest.approx(0.75)
    assert out['weight/video'] == pytest.approx(0.75)
