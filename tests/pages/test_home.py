"""The home page under AppTest: real counts and the sample grid of the picked dataset."""
from dashboard import state
from dashboard.thumbnails import captions_in, images_in
from nnlib.data import load_mnist
from tests.pages.helpers import app_test


def test_home_shows_mnist_counts_and_samples():
    at = app_test("app.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Dataset": "MNIST", "Training images": "60,000", "Test images": "10,000", "Classes": "10"}
    assert at.session_state[state.SIDEBAR_DATASET_WIDGET] == "MNIST"
    assert "MNIST" in at.selectbox(key=state.SIDEBAR_DATASET_WIDGET).options
    # The sample grid: two images of each class, captioned with the true label and index.
    grid = at.get("html")[0].proto.body
    captions = captions_in(grid)
    assert len(captions) == 20
    mnist = load_mnist()
    for caption, image in zip(captions, images_in(grid), strict=True):
        label, index = caption.split(" · #")
        assert mnist.y_train[int(index)] == int(label)
        assert (image == mnist.x_train[int(index)]).all()
    assert sorted(c.split(" ")[0] for c in captions) == sorted(list("0123456789") * 2)


def test_home_uses_an_uploaded_dataset():
    import numpy as np

    images = np.zeros((3, 784), dtype=int)
    rows = ["label," + ",".join(f"pixel{i}" for i in range(784))]
    rows += [f"{d}," + ",".join(map(str, images[i])) for i, d in enumerate([1, 2, 3])]
    payload = ("\n".join(rows) + "\n").encode()
    at = app_test("app.py")
    at.session_state[state.UPLOADED_DATASET] = {"name": "mine.csv", "digest": "abc", "bytes": payload}
    at.session_state[state.DATASET_NAME] = "Uploaded file"
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Dataset"] == "mine.csv" and metrics["Training images"] == "3" and metrics["Test images"] == "0"
