import numpy as np
import pytest

from skfourier.datasets import image_to_regression, load_sample_image


@pytest.fixture(scope="session")
def image32():
    """The china sample image at 32 x 32 as (X, y) with its shape."""
    img = load_sample_image("china", size=32)
    X, y = image_to_regression(img)
    return X, y, img.shape


@pytest.fixture
def rng():
    return np.random.RandomState(0)
