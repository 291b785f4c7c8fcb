"""The display helpers the notebooks draw with: what they compute, and that each publishes one
finished figure."""

import numpy as np
import pytest

from nst_utils import display as show


@pytest.fixture
def published(monkeypatch):
    """The (format, bytes) of every figure a helper publishes."""
    figures = []
    monkeypatch.setattr(show, "_publish", lambda fig, fmt="jpeg", dpi=show.GRID_DPI: figures.append(
        (fmt, show.figure_image(fig, fmt, dpi).data)))
    return figures


def test_neighbour_differences_are_the_size_of_the_right_and_lower_steps():
    image = np.zeros((3, 4, 3), dtype=np.uint8)
    image[:, 2:] = (3, 4, 0)  # a vertical edge between columns 1 and 2
    sizes = show.neighbour_differences(image)
    assert sizes.shape == (2, 3)
    np.testing.assert_allclose(sizes, [[0, 5, 0], [0, 5, 0]])


def test_difference_image_is_white_where_flat_and_black_at_the_scale():
    image = np.zeros((3, 4, 3), dtype=np.uint8)
    image[:, 2:] = (3, 4, 0)
    gray = show.difference_image(image)
    assert gray.dtype == np.uint8 and gray.shape == (2, 3, 3)
    assert gray[0, 0].tolist() == [255] * 3 and gray[0, 1].tolist() == [0] * 3
    assert show.difference_image(image, scale=10)[0, 1, 0] == 255 - 128  # half of the scale


def test_plot_terms_and_the_pipeline_each_publish_one_png(published):
    history = [{"iteration": n, "loss": 10.0 / n, "content": 1.0 * n, "style": 9.0 / n,
                "tv": 0.1} for n in range(1, 6)]
    show.plot_terms(history)
    show.show_pipeline()
    assert [fmt for fmt, _ in published] == ["png", "png"]
    assert all(data.startswith(b"\x89PNG") and len(data) > 5000 for _, data in published)
