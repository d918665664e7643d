import numpy as np
import pytest

from nnlib.metrics import accuracy, confusion_matrix, per_class_accuracy, precision_recall


def test_accuracy():
    assert accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    assert accuracy([], []) == 0.0
    with pytest.raises(ValueError, match="4 labels"):
        accuracy([1, 2, 3, 4], [1])


def test_confusion_matrix_rows_are_true_classes():
    cm = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    with pytest.raises(ValueError, match="0..2"):
        confusion_matrix([0, 3], [0, 1], 3)


def test_precision_recall_and_absent_classes():
    cm = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    precision, recall = precision_recall(cm)
    np.testing.assert_allclose(precision, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(recall, [0.5, 1.0, 2 / 3])
    p, r = precision_recall(np.array([[2, 0], [0, 0]]))
    assert p.tolist() == [1.0, 0.0] and r.tolist() == [1.0, 0.0]


def test_per_class_accuracy():
    np.testing.assert_allclose(per_class_accuracy([0, 0, 1, 1], [0, 1, 1, 1], 3), [0.5, 1.0, 0.0])
